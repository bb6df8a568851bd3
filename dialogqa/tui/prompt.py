"""The chat input: several lines, the questions asked before, completion of commands.

Enter sends; Shift+Enter starts a new line, and so does Ctrl+J, for terminals that send
Shift+Enter as a plain Enter (many do, unless they speak the kitty keyboard protocol).
Alt+Enter only where the terminal reports it (kitty protocol): elsewhere Textual reads
ESC+CR as Enter (measured in tmux), so /help does not offer it. Up on the first line and Down on the last walk through the earlier inputs
(``InputHistory``: plain logic, tested without a terminal). Tab or Right takes the greyed
completion (complete.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from textual import events
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.widgets import TextArea

from dialogqa.tui.complete import suggest

NEWLINE_KEYS = ("shift+enter", "ctrl+j", "alt+enter")
HISTORY_KEPT = 500


class InputHistory:
    """Earlier inputs, oldest first, walked like a shell's: ``back`` from the newest, the
    text being typed kept as a draft that ``forward`` past the newest brings back."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.entries: list[str] = []
        for entry in entries:
            self.add(entry)
        self._at: int | None = None  # index of the entry shown; None: the draft
        self._draft = ""

    def add(self, text: str) -> None:
        """Remember ``text`` (sent); a repeat of the newest entry is kept once."""
        if text.strip() and (not self.entries or self.entries[-1] != text):
            self.entries.append(text)
            del self.entries[:-HISTORY_KEPT]
        self._at, self._draft = None, ""

    def back(self, current: str) -> str | None:
        """The entry before the one shown (``current``: what the input holds now, kept as
        the draft when leaving it); None at the oldest."""
        if not self.entries or self._at == 0:
            return None
        if self._at is None:
            self._draft = current
            self._at = len(self.entries)
        self._at -= 1
        return self.entries[self._at]

    def forward(self) -> str | None:
        """The entry after the one shown, the draft after the newest; None when on the draft."""
        if self._at is None:
            return None
        self._at += 1
        if self._at >= len(self.entries):
            self._at = None
            return self._draft
        return self.entries[self._at]


def _without_redo_on_ctrl_y(bindings) -> list[Binding]:
    """TextArea's keys, but Ctrl+Y stays the chat's "copy the last answer" (redo: Super+Y)."""
    out = []
    for b in bindings:
        b = b if isinstance(b, Binding) else Binding(*b)
        keys = [k for k in b.key.split(",") if k.strip() != "ctrl+y"]
        out.append(b if len(keys) == len(b.key.split(",")) else replace(b, key=",".join(keys)))
    return out


class PromptArea(TextArea, inherit_bindings=False):
    """The chat input. Posts ``Submitted`` on Enter; ``value`` is its text."""

    BINDINGS = [*ScrollableContainer.BINDINGS, *_without_redo_on_ctrl_y(TextArea.BINDINGS),
                Binding("tab", "complete", "Complete", show=False)]

    class Submitted(Message):
        def __init__(self, prompt: "PromptArea", value: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.value = value

        @property
        def control(self) -> "PromptArea":
            return self.prompt

    def __init__(self, themes: Callable[[], Iterable[str]] = tuple, **kwargs) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         highlight_cursor_line=False, **kwargs)
        self._theme_names = themes
        self.inputs = InputHistory()

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    def update_suggestion(self) -> None:
        """The completion of a command, shown greyed after the cursor when it is at the end."""
        text = self.text
        completed = suggest(text, self._theme_names) if self.selection.end == self.document.end else None
        self.suggestion = completed[len(text):] if completed and completed.startswith(text) else ""

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self.replace("\n", start, end, maintain_selection_offset=False)
            return
        await super()._on_key(event)

    def action_complete(self) -> None:
        if self.suggestion and self.selection.end == self.document.end:
            self.insert(self.suggestion)
        else:
            self.screen.focus_next()

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self._on_first_line():
            earlier = self.inputs.back(self.text)
            if earlier is not None:
                self.value = earlier
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self._on_last_line():
            later = self.inputs.forward()
            if later is not None:
                self.value = later
            return
        super().action_cursor_down(select)

    def _on_first_line(self) -> bool:  # visually: the first row of a wrapped first line
        return self.navigator.is_first_wrapped_line(self.selection.end)

    def _on_last_line(self) -> bool:
        return self.navigator.is_last_wrapped_line(self.selection.end)

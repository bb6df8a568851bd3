"""The pieces of the chat window: message bubbles, the streamed answer, evidence, focus.

Everything shown from the graph or the model goes through ``rich.text.Text`` objects, never
through markup strings: a label such as ``[bold]x[/]`` is data and must be shown as typed.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from dialogqa.kg.base import Fact

ABSTAIN_MARK = "∅ not in the graph"


class UserMessage(Static):
    """What the person typed."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(text))


class Note(Static):
    """A system message in the log: help, graph changes, one-line errors (class ``error``)."""

    def __init__(self, text: str | Text | Table, error: bool = False) -> None:
        super().__init__(Text(text) if isinstance(text, str) else text,
                         classes="error" if error else "")


class AnswerText(Static):
    """The bot's answer, filled piece by piece while the model generates."""

    def __init__(self) -> None:
        super().__init__(Text("…"))
        self.text = ""

    def append(self, piece: str) -> None:
        self.text += piece
        self.update(Text(self.text.lstrip() + "▌"))

    def finish(self, text: str) -> None:
        self.text = text
        self.update(Text(text.strip() or "(no answer)"))


class Evidence(Static):
    """Cited facts, one compact ``subject · predicate · object`` line each."""

    def __init__(self, facts: Sequence[Fact]) -> None:
        lines = Text()
        for i, fact in enumerate(facts):
            if i:
                lines.append("\n")
            lines.append("  ")
            lines.append(fact.s_label or str(fact.s), style="bold")
            lines.append(" · ")
            lines.append(fact.p_label or str(fact.p), style="italic")
            lines.append(" · ")
            lines.append(fact.o_label or str(fact.o), style="bold")
        super().__init__(lines)


class BotMessage(Vertical):
    """One answer: its text, a mark when the bot abstained, and its evidence below."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = AnswerText()
        self.border_title = "dialogqa"

    def compose(self):
        yield self.answer

    def append(self, piece: str) -> None:
        self.answer.append(piece)

    def finish(self, text: str, evidence: Sequence[Fact], abstained: bool,
               note: str = "") -> None:
        self.answer.finish(text)
        if abstained:
            self.add_class("abstained")
            self.border_title = ABSTAIN_MARK
        if evidence and not abstained:
            self.mount(Evidence(evidence))
        if note:
            self.border_subtitle = note


class FocusPanel(Static):
    """The entities the conversation is about, most recent first."""

    def __init__(self) -> None:
        super().__init__(Text("—", style="dim"), id="focus")
        self.border_title = "Focus"

    def show(self, labels: Sequence[str]) -> None:
        if not labels:
            self.update(Text("—", style="dim"))
            return
        self.update(Text("\n".join(f"• {label}" for label in labels)))

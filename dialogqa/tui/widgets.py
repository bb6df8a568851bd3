"""The pieces of the chat log: what the person typed, the bot's answers, system notices.

Everything shown from the graph goes through ``rich.text.Text`` objects, never through
markup strings: a label such as ``[bold]x[/]`` is data and must be shown as typed. Answers
are Markdown (the model may write lists or emphasis); Textual's Markdown widget renders them
as they stream, re-parsing only the last block on each piece (``Markdown.get_stream``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from dialogqa.records import Fact
from dialogqa.tui.answers import answer_markdown, group_facts
from dialogqa.visible import visible

ABSTAIN_MARK = "∅ not in the graph"
CLOSEST_SHOWN = 3  # closest facts under an abstention in the log (the panel shows more)


def fact_text(fact: Fact, indent: str = "  ") -> Text:
    """``subject · predicate · object`` from the fact's labels (the terms when unlabelled)."""
    text = Text(indent)
    text.append(visible(fact.s_label or str(fact.s)), style="bold")
    text.append(" · ")
    text.append(visible(fact.p_label or str(fact.p)), style="italic")
    text.append(" · ")
    text.append(visible(fact.o_label or str(fact.o)), style="bold")
    return text


class UserMessage(Static):
    """What the person typed."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(visible(text, newlines=True)))
        self.border_title = "you"


class Note(Static):
    """A system notice in the log: help, graph changes, tables, one-line errors (``error``)."""

    def __init__(self, text: str | Text | Table, error: bool = False) -> None:
        super().__init__(Text(visible(text, newlines=True)) if isinstance(text, str) else text,
                         classes="error" if error else "")


class Evidence(Static):
    """The facts an answer cites, one compact line each; the facts of one subject and
    predicate (a list answer's values) on one line: ``Norway · language · A, B, C``."""

    def __init__(self, facts: Sequence[Fact]) -> None:
        lines = []
        for group in group_facts(facts):
            line = fact_text(group[0])
            for fact in group[1:]:
                line.append(", ")
                line.append(fact.o_label or str(fact.o), style="bold")
            lines.append(line)
        super().__init__(Text("\n").join(lines))


class Closest(Static):
    """Under an abstention: the candidate facts that came closest, so the person sees what the
    graph does hold."""

    def __init__(self, facts: Sequence[Fact]) -> None:
        lines = [Text("closest facts found:", style="italic")]
        lines += [fact_text(f) for f in facts[:CLOSEST_SHOWN]]
        super().__init__(Text("\n").join(lines))


class BotMessage(Vertical):
    """One answer: Markdown streamed in while the model writes, then its evidence below
    (or, when the bot abstained, the mark and the closest facts). Click to select it: the
    evidence panel shows the selected answer."""

    class Selected(Message):
        def __init__(self, bubble: "BotMessage") -> None:
            super().__init__()
            self.bubble = bubble

    def __init__(self, question: str = "") -> None:
        super().__init__()
        self.question = question
        self.text = ""  # the answer as streamed so far, then as finished
        self.turn = None  # the finished Turn (None while streaming, or when it failed)
        self.focus: list[tuple[object, str]] = []  # (entity, label) after this turn
        self.replaces = None  # /retry: the Turn this answer takes the place of
        # links the model writes are text, not something a stray click should open
        self.body = Markdown("", open_links=False)
        self._stream: MarkdownStream | None = None
        self.border_title = "dialogqa"
        self.border_subtitle = "thinking…"

    def compose(self):
        yield self.body

    async def write(self, piece: str) -> None:
        if self._stream is None:
            piece = piece.lstrip()  # the first token usually starts with a space
            self._stream = Markdown.get_stream(self.body)
            self.border_subtitle = "writing…"
        if piece:
            self.text += piece
            await self._stream.write(visible(piece, newlines=True))

    async def finish(self, turn, focus: Sequence[tuple[object, str]] = (), note: str = "") -> None:
        """``turn``: the finished Turn, or None when the answer was stopped or failed."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.turn = turn
        self.focus = list(focus)
        final = turn.answer.strip() if turn is not None else self.text.strip()
        # a list answer ("A, B and C" citing three facts of one subject and predicate) as a list
        shown = answer_markdown(final, turn.evidence) if turn is not None and not turn.abstained else final
        if shown != self.text.strip() or not self.body.source:
            await self.body.update(visible(shown, newlines=True) or "*(no answer)*")
        self.text = final
        self.border_subtitle = note
        if turn is None:
            return
        if turn.abstained:
            self.add_class("abstained")
            self.border_title = ABSTAIN_MARK
            closest = turn.ranked or turn.facts
            if closest:
                await self.mount(Closest(closest))
        elif turn.evidence:
            await self.mount(Evidence(turn.evidence))

    def on_click(self) -> None:
        self.post_message(self.Selected(self))

"""The evidence panel beside the log: why the selected answer says what it says.

For the selected answer (the latest unless the person picked another): the cited facts as
readable labels with their scores (IRIs on demand), or for an abstention the closest facts
found; the conversation's focus entities after that turn, as a list to pick from; and the
neighbourhood (the graph's facts) of the entity picked. The panel only draws what it is
given: the graph lookups run in the app's workers.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from dialogqa.records import Fact
from dialogqa.tui.answers import group_facts
from dialogqa.tui.widgets import ABSTAIN_MARK, BotMessage
from dialogqa.visible import visible

PANEL_FACTS = 8  # closest facts listed for an abstention


def facts_text(facts: Sequence[Fact], iris: bool, scores: bool = True) -> Text:
    """One fact a line: ``0.91 Norway · capital · Oslo``, the three IRIs below when asked.
    Facts sharing subject and predicate (a list or count answer's values) come as a group:
    ``Norway · language · (3)`` and one value a line under it."""
    out = []
    for group in group_facts(facts):
        if len(group) == 1:
            out.append(_fact_line(group[0], iris, scores))
            continue
        first = group[0]
        line = Text()
        line.append(visible(first.s_label or str(first.s)), style="bold")
        line.append(" · ")
        line.append(visible(first.p_label or str(first.p)), style="italic")
        line.append(f" · ({len(group)})", style="dim")
        if iris:
            for term in (first.s, first.p):
                line.append("\n  ")
                line.append(visible(term.n3()), style="dim")
        for fact in group:
            line.append("\n  ")
            if scores:
                line.append(_score(fact), style="dim")
            line.append(visible(fact.o_label or str(fact.o)), style="bold")
            if iris:
                line.append("\n    ")
                line.append(visible(fact.o.n3()), style="dim")
        out.append(line)
    return Text("\n").join(out)


def _score(fact: Fact) -> str:
    """The model's relevance of a cited fact; a dash for one the engine fetched from the graph
    without the model reading it (the other side of a comparison, a counted value past the
    candidates)."""
    return f"{fact.score:.2f} " if fact.score else "  –  "


def _fact_line(fact: Fact, iris: bool, scores: bool) -> Text:
    line = Text()
    if scores:
        line.append(_score(fact), style="dim")
    line.append(visible(fact.s_label or str(fact.s)), style="bold")
    line.append(" · ")
    line.append(visible(fact.p_label or str(fact.p)), style="italic")
    line.append(" · ")
    line.append(visible(fact.o_label or str(fact.o)), style="bold")
    if iris:
        for term in fact.triple:
            line.append("\n  ")
            line.append(visible(term.n3()), style="dim")  # n3(): IRIs in <>, literals quoted
    return line


class EvidencePanel(VerticalScroll, can_focus=False):  # its entity list takes the focus
    def __init__(self) -> None:
        super().__init__(id="evidence")
        self.border_title = "Evidence"
        self.show_iris = False
        self.bubble: BotMessage | None = None
        self.entities: list[object] = []  # the focus entities, in the order of the list
        self._neighbourhood: tuple[str, list[Fact]] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("No answer yet.", style="dim"), id="ev-answer")
        yield Static("", id="ev-facts")
        yield Static(Text("Focus entities", style="bold underline"), id="ev-focus-title")
        yield OptionList(id="ev-focus")
        yield Static("", id="ev-neighbours")

    def on_mount(self) -> None:
        self.query_one("#ev-focus-title").display = False  # until there is an answer

    # ---- what the app calls -------------------------------------------------------------

    def show_answer(self, bubble: BotMessage | None, number: int = 0, total: int = 0) -> None:
        """Show ``bubble`` (answer ``number`` of ``total``); None clears the panel."""
        self.bubble = bubble
        self._neighbourhood = None
        self.query_one("#ev-neighbours", Static).update("")
        focus = self.query_one("#ev-focus", OptionList)
        focus.clear_options()
        self.entities = []
        self.query_one("#ev-focus-title").display = bubble is not None
        if bubble is None:
            self.query_one("#ev-answer", Static).update(Text("No answer yet.", style="dim"))
            self.query_one("#ev-facts", Static).update("")
            return
        title = Text(f"Answer {number} of {total}", style="bold")
        title.append("\n")
        title.append(bubble.question, style="italic")
        self.query_one("#ev-answer", Static).update(title)
        self._draw_facts()
        self.entities = [entity for entity, _ in bubble.focus]
        focus.add_options([Option(Text(visible(label))) for _, label in bubble.focus])
        self.border_subtitle = "Tab ↵ or click: facts" if bubble.focus else ""

    def show_neighbourhood(self, label: str, facts: list[Fact], error: str = "") -> None:
        self._neighbourhood = (label, facts)
        target = self.query_one("#ev-neighbours", Static)
        head = Text(f"Facts of {visible(label)}", style="bold underline")
        if error:
            target.update(head + Text(f"\n{visible(error)}", style="red"))
        elif not facts:
            target.update(head + Text("\nnone", style="dim"))
        else:
            target.update(head + Text("\n") + facts_text(facts, self.show_iris, scores=False))
        target.scroll_visible(animate=False)

    def set_iris(self, on: bool) -> None:
        self.show_iris = on
        self._draw_facts()
        if self._neighbourhood is not None:
            self.show_neighbourhood(*self._neighbourhood)

    # ---- drawing ------------------------------------------------------------------------

    def _draw_facts(self) -> None:
        target = self.query_one("#ev-facts", Static)
        bubble = self.bubble
        turn = bubble.turn if bubble is not None else None
        if turn is None:
            target.update(Text("(no finished answer)", style="dim") if bubble else "")
            return
        if turn.abstained:
            closest = (turn.ranked or turn.facts)[:PANEL_FACTS]
            text = Text(ABSTAIN_MARK, style="bold")
            text.append("\nclosest facts found:" if closest else "\nno facts found near the question",
                        style="italic")
            if closest:
                text.append("\n")
                text.append_text(facts_text(closest, self.show_iris))
        elif turn.evidence:
            text = Text("Cited facts (score)", style="bold underline")
            text.append("\n")
            text.append_text(facts_text(turn.evidence, self.show_iris))
        else:
            text = Text("no facts cited", style="dim")
        target.update(text)

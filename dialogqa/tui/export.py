"""A conversation as Markdown: each question, its answer, and the facts the answer cites
(labels, then the IRIs). ``/export`` in the chat and ``dialogqa sessions export`` share it.

Recorded transcripts store facts as IRIs only; ``label`` (a graph's ``label`` method) names
them, else an IRI's local name stands in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from rdflib.term import Node, URIRef

from dialogqa.dialogue.transcript import Conversation, answered
from dialogqa.records import Fact
from dialogqa.kg.labels import fallback_label
from dialogqa.tui.answers import answer_markdown, escape

Labeller = Callable[[Node], str]


def conversation_markdown(conv: Conversation, label: Labeller | None = None,
                          recorded_in: str = "", graph: Sequence[str] | None = None) -> str:
    """``graph``: the graph files to name (default: ``conv.kg``, relative to its recording)."""
    lines = [f"# dialogqa conversation {escape(conv.id)}", ""]
    graph = conv.kg if graph is None else graph
    if graph:
        lines.append("- graph: " + ", ".join(f"`{k}`" for k in graph))
    if recorded_in:
        lines.append(f"- recorded in: `{recorded_in}`")
    lines.append(f"- turns: {len(conv.turns)}")
    for number, turn in enumerate(conv.turns, 1):
        lines += ["", f"## {number}. {escape(' '.join(turn.user.split()))}", ""]
        if len(turn.user.splitlines()) > 1:  # a multi-line question: the heading joined it
            lines += [f"> {escape(line)}" if line.strip() else ">" for line in turn.user.splitlines()]
            lines.append("")
        if not answered(turn):
            lines.append("*(no answer)*")
            continue
        evidence = [_labelled(f, label) for f in turn.evidence]
        if turn.abstained:
            lines.append(f"*{turn.answer.strip() or 'Not in the graph.'}* (not in the graph)")
        else:
            lines.append(answer_markdown(turn.answer.strip(), evidence) or "*(empty answer)*")
        if evidence:
            lines += ["", "Cited facts:", ""]
            lines += [_fact_line(f) for f in evidence]
    return "\n".join(lines) + "\n"


def _fact_line(fact: Fact) -> str:
    labels = " · ".join(escape(x) for x in (fact.s_label, fact.p_label, fact.o_label))
    return f"- {labels}  \n  {' '.join(_term(t) for t in fact.triple)}"


def _term(term: Node) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"  # an autolink
    return "`" + str(term).replace("`", "'") + "`"  # a literal, as its lexical form


def _labelled(fact: Fact, label: Labeller | None) -> Fact:
    def name(current: str, term: Node) -> str:
        if current:
            return current
        if label is not None:
            try:
                return label(term) or fallback_label(term)
            except Exception:  # a label is decoration: the local name will do
                pass
        return fallback_label(term)

    return replace(fact, s_label=name(fact.s_label, fact.s), p_label=name(fact.p_label, fact.p),
                   o_label=name(fact.o_label, fact.o))

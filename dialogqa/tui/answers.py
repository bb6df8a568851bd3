"""How an answer is shown: a list answer as a Markdown list, its cited facts grouped.

Plain functions over the answer text and its ``Fact`` list, shared by the chat log, the
evidence panel and the Markdown export (``export.py``), so each reads a list answer alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dialogqa.records import Fact

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")


def escape(text: str) -> str:
    """``text`` shown as typed in Markdown (a label such as ``*x*`` is data, not emphasis)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def group_facts(facts: Sequence[Fact]) -> list[list[Fact]]:
    """Facts sharing subject and predicate together (the values of a list or count answer),
    groups in the order their first fact comes, facts in their own order."""
    groups: dict[tuple, list[Fact]] = {}
    for fact in facts:
        groups.setdefault((fact.s, fact.p), []).append(fact)
    return list(groups.values())


def label(term_label: str, term) -> str:
    return term_label or str(term)


def list_values(answer: str, evidence: Sequence[Fact]) -> list[tuple[int, str]] | None:
    """(position, value) of each value of a list answer, in the order the answer names them:
    the objects of two or more cited facts sharing subject and predicate, every one named in
    the answer. None when the answer is not such a list."""
    folded = answer.casefold()
    for group in group_facts(evidence):
        if len(group) < 2:
            continue
        values = [label(f.o_label, f.o) for f in group]
        found = [(folded.find(v.casefold()), v) for v in values]
        if all(pos >= 0 for pos, _ in found):
            return sorted(found)
    return None


def answer_markdown(answer: str, evidence: Sequence[Fact]) -> str:
    """The answer as shown: "The languages are A, B and C." with three cited facts of one
    subject and predicate becomes "The languages are:" and a bullet per value; any other
    answer is shown as written."""
    values = list_values(answer, evidence)
    if not values:
        return answer
    intro = answer[: values[0][0]].rstrip(" :,;-–—")
    items = "\n".join(f"- {escape(v)}" for _, v in values)
    return f"{intro}:\n\n{items}" if intro else items

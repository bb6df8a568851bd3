"""A turn of a conversation: what the user said, what the bot answered and on which facts.

The one record shared by the retriever (as history), the dialogue session, the transcript
writer (DESIGN.md format), replay, the TUI and training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib.term import Node

from dialogqa.kg.base import Fact


@dataclass
class Turn:
    user: str
    answer: str = ""
    evidence: list[Fact] = field(default_factory=list)  # cited facts, best first
    abstained: bool = False
    facts: list[Fact] = field(default_factory=list)  # the candidates the model saw, in prompt order
    focus: list[Node] = field(default_factory=list)  # focus entities after this turn, most recent first
    timings: dict[str, float] = field(default_factory=dict)  # retrieve_ms, prefill_ms, first_token_ms, total_ms
    # evaluation fields (from a transcript), left empty in live chat
    expected: list[str] = field(default_factory=list)
    expected_evidence: list[tuple[str, str, str]] = field(default_factory=list)
    unanswerable: bool = False
    # the candidate facts best first, each with its score (relevance from the model's head, else
    # the retriever's): what the chat shows as the closest facts of an abstention. Not part of
    # the transcript format (never written) and left out of comparisons.
    ranked: list[Fact] = field(default_factory=list, compare=False, repr=False)
    # the best-matching fact lines shown after the question (``Rendered.hint``): later turns show
    # the question with it again, so the previous turn stays a cached prefix. Not written either.
    hint: str = field(default="", compare=False, repr=False)

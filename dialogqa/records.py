"""The records every layer shares: a fact, an entity match, a query's result, a turn.

Ground floor: plain dataclasses that import nothing of the project, so no layer reaches up
for a type. Terms are rdflib terms (``URIRef``, ``Literal``, ``BNode``) whatever the backend,
so the retriever, the prompt renderer and the transcript writer never care where a fact
came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib.term import Node

Triple = tuple[Node, Node, Node]


def term_key(term: Node) -> str:
    """A term as the transcript format writes it: IRIs as themselves, literals as lexical form."""
    return str(term)


@dataclass(frozen=True)
class Fact:
    """One triple plus the labels it is shown with; ``score`` is the retriever's rank score."""

    s: Node
    p: Node
    o: Node
    s_label: str = ""
    p_label: str = ""
    o_label: str = ""
    score: float = 0.0
    # The retriever reached it from its object: the question asks for its subject ("Which
    # city is the capital of Norway?" -> Oslo . capital of . Norway). Not part of equality.
    inverse: bool = field(default=False, compare=False)

    @property
    def triple(self) -> Triple:
        return (self.s, self.p, self.o)

    def key(self) -> tuple[str, str, str]:
        """The triple as the transcript format stores it (``expected_evidence``/``evidence``)."""
        return (term_key(self.s), term_key(self.p), term_key(self.o))


@dataclass(frozen=True)
class Match:
    """An entity a text mentions: which one, how sure, which label matched where."""

    entity: Node
    score: float  # 1.0 exact label match, lower for fuzzy/partial
    label: str  # the label that matched
    start: int = -1  # character span in the text, -1 when unknown
    end: int = -1


@dataclass
class QueryResult:
    """A SELECT's rows (variables and terms) or an ASK's boolean."""

    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False  # the row cap was reached: there are more rows


@dataclass
class Turn:
    """A turn of a conversation: what the user said, what the bot answered and on which facts.

    Shared by the retriever (as history), the dialogue session, the transcript writer
    (DESIGN.md format), replay, the TUI and training.
    """

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
    type: str = ""  # what the turn asks for (single, list, count, boolean, comparison, ...)
    match_all: bool = False  # ``"match": "all"``: every expected string must occur
    reject: list[str] = field(default_factory=list)  # wrong when one occurs before the first expected
    intent: str = ""  # what the question head read (model/intent.py), written by replays
    # the candidate facts best first, each with its score (relevance from the model's head, else
    # the retriever's): what the chat shows as the closest facts of an abstention. Not part of
    # the transcript format (never written) and left out of comparisons.
    ranked: list[Fact] = field(default_factory=list, compare=False, repr=False)
    # the best-matching fact lines shown after the question (``Rendered.hint``): later turns show
    # the question with it again, so the previous turn stays a cached prefix. Not written either.
    hint: str = field(default="", compare=False, repr=False)
    # what the model itself wrote when the answer shown is a sentence composed from the graph
    # (dialogue/compose.py): later prompts show this, as the model was trained on and as its KV
    # cache holds it. Not written either.
    said: str = field(default="", compare=False, repr=False)
    # the entities a composed answer was about, the one asked about first ("Which has more
    # inhabitants, Croatia or Chile?" -> Croatia, Chile): "it" in the next question means the
    # first, whatever the answer named first. Empty: read from the evidence. Not written.
    topic: list = field(default_factory=list, compare=False, repr=False)

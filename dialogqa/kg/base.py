"""The one small protocol every knowledge-graph backend implements, and how to open one.

Terms are rdflib terms (``URIRef``, ``Literal``, ``BNode``) whatever the backend, so the
retriever, the prompt renderer and the transcript writer never care where a fact came from.

Backends are registered by name (``memory``, ``store``, ``endpoint``) and tested by one
contract suite (tests/test_kg_contract.py) parametrized over all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa.errors import UserError

if TYPE_CHECKING:
    from dialogqa.kg.sparql_guard import QueryLimits

Triple = tuple[Node, Node, Node]

DEFAULT_LANGS: tuple[str, ...] = ("en", "")  # "" = untagged


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


@runtime_checkable
class KnowledgeGraph(Protocol):
    """What the retriever, the dialogue engine and the ``kg`` commands need from a graph."""

    name: str  # short description for messages ("memory: world.ttl", "store: DIR", ...)
    langs: Sequence[str]

    def triples(
        self, s: Node | None = None, p: Node | None = None, o: Node | None = None,
        limit: int | None = None,
    ) -> Iterator[Triple]:
        """Triples matching a pattern (None = wildcard), at most ``limit``."""

    def count(self) -> int:
        """Number of triples."""

    def label(self, term: Node) -> str:
        """Best label by the language preferences; the IRI's local name split into words
        (camelCase, underscores) when it has none; a literal's lexical form."""

    def labels(self, term: Node) -> list[tuple[str, str]]:
        """All (label, language) pairs of a term, preferred first; language "" = untagged."""

    def search(self, text: str, limit: int = 10) -> list[Match]:
        """Entities the text mentions (entity linking), best first."""

    def neighbours(self, entity: Node, limit: int = 200) -> list[Triple]:
        """Out-edges then in-edges of an entity, at most ``limit`` of each, label triples left out."""

    def query(self, sparql: str, limits: "QueryLimits | None" = None) -> "QueryResult":
        """Run a read-only SPARQL SELECT or ASK (the ``kg query`` command) within ``limits``
        (sparql_guard.QueryLimits; None: its defaults, a row cap and a timeout, no SERVICE)."""

    def close(self) -> None: ...


@dataclass
class QueryResult:
    """A SELECT's rows (variables and terms) or an ASK's boolean."""

    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False  # the row cap was reached: there are more rows


def open_kg(
    files: Sequence[str] = (),
    store: str | None = None,
    endpoint: str | None = None,
    fmt: str | None = None,
    langs: Sequence[str] = DEFAULT_LANGS,
    progress: bool = False,
) -> KnowledgeGraph:
    """Open a graph from files (in memory), an on-disk store, or a SPARQL endpoint."""
    chosen = [x for x in (bool(files), store is not None, endpoint is not None) if x]
    if len(chosen) > 1:
        raise UserError("give only one of --kg FILE..., --store DIR, --endpoint URL")
    if endpoint is not None:
        from dialogqa.kg.endpoint import EndpointKG

        return EndpointKG(endpoint, langs=langs)
    if store is not None:
        from dialogqa.kg.store import StoreKG

        return StoreKG.open(store, langs=langs)
    if files:
        from dialogqa.kg.memory import MemoryKG

        return MemoryKG.from_files(files, fmt=fmt, langs=langs, progress=progress)
    raise UserError("no graph given: use --kg FILE..., --store DIR or --endpoint URL")


def is_entity(term: Node) -> bool:
    return isinstance(term, (URIRef, BNode))


def is_literal(term: Node) -> bool:
    return isinstance(term, Literal)


def iter_chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

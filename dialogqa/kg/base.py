"""The one small protocol every knowledge-graph backend implements, and how to open one.

Backends are registered by name (``memory``, ``store``, ``endpoint``) as "module:Class"
strings and imported only when first opened, the way rdflib's ``plugin.register`` loads
stores lazily: this module imports no backend, and a new backend is one ``register`` call.
They are tested by one contract suite (tests/test_kg_contract.py) parametrized over all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rdflib.term import Node

from dialogqa.errors import UserError
from dialogqa.kg.labels import DEFAULT_LANGS
from dialogqa.records import Match, QueryResult, Triple

if TYPE_CHECKING:
    from dialogqa.kg.loading import LoadReporter
    from dialogqa.kg.sparql_guard import QueryLimits

# The longest question a session takes, and the most of any text entity linking reads
# (``search``): a pasted megabyte is cut here, not searched.
MAX_QUESTION_CHARS = 1000


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

    def query(self, sparql: str, limits: "QueryLimits | None" = None) -> QueryResult:
        """Run a read-only SPARQL SELECT or ASK (the ``kg query`` command) within ``limits``
        (sparql_guard.QueryLimits; None: its defaults, a row cap and a timeout, no SERVICE)."""

    def tally(self) -> dict | None:
        """Counts of the whole graph from one pass (entities, predicates, namespaces, labelled
        subjects: what ``kg info`` shows), or None where only SPARQL can count."""

    def close(self) -> None: ...


# name -> "module:Class"; the class has ``open_source(source, fmt=, langs=, progress=)``
_BACKENDS: dict[str, str] = {}


def register(name: str, target: str) -> None:
    """Make a backend openable by ``name``; ``target`` is "module:Class", imported on first use."""
    _BACKENDS[name] = target


def backend(name: str) -> type:
    """The backend class registered as ``name`` (imported now if it was not yet)."""
    try:
        module_name, _, attr = _BACKENDS[name].partition(":")
    except KeyError:
        raise UserError(f"no knowledge-graph backend named {name!r} "
                        f"(known: {', '.join(sorted(_BACKENDS))})") from None
    return getattr(importlib.import_module(module_name), attr)


register("memory", "dialogqa.kg.memory:MemoryKG")  # RDF files parsed into an rdflib Graph
register("store", "dialogqa.kg.store:StoreKG")  # an on-disk store built by `kg load`
register("endpoint", "dialogqa.kg.endpoint:EndpointKG")  # a remote SPARQL 1.1 endpoint


def open_kg(
    files: Sequence[str] = (),
    store: str | None = None,
    endpoint: str | None = None,
    fmt: str | None = None,
    langs: Sequence[str] = DEFAULT_LANGS,
    progress: "LoadReporter | None" = None,
) -> KnowledgeGraph:
    """Open a graph from files (in memory), an on-disk store, or a SPARQL endpoint."""
    given = [(name, source) for name, source in
             (("memory", list(files)), ("store", store), ("endpoint", endpoint))
             if source not in (None, [])]
    if len(given) > 1:
        raise UserError("give only one of --kg FILE..., --store DIR, --endpoint URL")
    if not given:
        raise UserError("no graph given: use --kg FILE..., --store DIR or --endpoint URL")
    [(name, source)] = given
    return backend(name).open_source(source, fmt=fmt, langs=langs, progress=progress)

"""The in-memory backend: an rdflib ``Graph`` for graphs that fit comfortably in RAM."""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence

from rdflib import Dataset, Graph
from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa.errors import UserError
from dialogqa.records import QueryResult, Triple
from dialogqa.kg.labels import (
    DEFAULT_LANGS,
    LABEL_PREDICATE_RANK,
    LABEL_PREDICATE_TERMS,
    LOCAL_NAME_RANK,
    label_literal_parts,
    local_name,
    sort_labels,
)
from dialogqa.kg.iri import invalid_iris
from dialogqa.kg.linker import LabelIndex, entity_key, opaque_local_name
from dialogqa.kg.local import LocalGraph
from dialogqa.kg.loading import (
    LoadReporter,
    QUAD_FORMATS,
    base_iri,
    check_file,
    describe_parse_error,
    guess_format,
    has_line_number,
    locate_with_oxigraph,
    open_rdf,
)
from dialogqa.kg.sparql_guard import QueryLimits, check_query, run_with_timeout, take_rows
from dialogqa.kg.ntriples import PARSERS

_LABEL_PREDICATES = sorted(LABEL_PREDICATE_TERMS, key=lambda p: LABEL_PREDICATE_RANK[str(p)])


class MemoryKG(LocalGraph):
    """Any RDF file rdflib reads, held in an rdflib ``Graph`` (quads flattened to triples)."""

    def __init__(self, graph: Graph | None = None, langs: Sequence[str] = DEFAULT_LANGS,
                 name: str = "memory"):
        self.graph = graph if graph is not None else Graph()
        self.langs = tuple(langs)
        self.name = name
        self._index: LabelIndex | None = None
        # entity linking asks these of the same few entities over and over
        self._is_predicate = functools.lru_cache(maxsize=65536)(self._is_predicate)
        self._degree = functools.lru_cache(maxsize=65536)(self._degree)

    @classmethod
    def open_source(cls, files, fmt=None, langs=DEFAULT_LANGS, progress=None) -> "MemoryKG":
        """The registry's uniform opener (``open_kg``): ``files`` parsed into memory."""
        return cls.from_files(files, fmt=fmt, langs=langs, progress=progress)

    @classmethod
    def from_files(cls, files: Sequence[str | os.PathLike], fmt: str | None = None,
                   langs: Sequence[str] = DEFAULT_LANGS, progress: "LoadReporter | None" = None) -> "MemoryKG":
        kg = cls(langs=langs, name="memory: " + ", ".join(os.path.basename(str(f)) for f in files))
        for f in files:
            kg.add_file(f, fmt=fmt, progress=progress)
        return kg

    def add_file(self, path: str | os.PathLike, fmt: str | None = None, progress: "LoadReporter | None" = None) -> int:
        """Parse one file into the graph; returns the triples it added.  All or nothing: on
        bad RDF the graph keeps exactly what it held before and a ``UserError`` names the line."""
        check_file(path)
        syntax = guess_format(path, fmt)
        before = len(self.graph)
        # Parse straight into an empty graph; into a scratch graph otherwise, so a bad file
        # cannot leave half of itself behind in a graph that is in use.
        target = self.graph if before == 0 else Graph()
        parsed = Dataset() if syntax in QUAD_FORMATS else target
        with open_rdf(path, progress) as (stream, bar):
            bar.counter = lambda: len(parsed)
            try:
                with _quiet_rdflib():
                    # N-Triples/N-Quads: rdflib's parsers, reading lines in linear time;
                    # relative IRIs resolved against the file, as the on-disk store does
                    parsed.parse(source=stream, format=PARSERS.get(syntax, syntax),
                                 publicID=base_iri(path))
                if parsed is not target:
                    for s, p, o, _g in parsed.quads((None, None, None, None)):
                        target.add((s, p, o))
                _check_iris(target, parsed, drop=syntax == "json-ld")
            except (UserError, KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:  # rdflib raises many kinds of errors for bad input
                message = describe_parse_error(path, exc)
                if not has_line_number(message, path):
                    message = locate_with_oxigraph(path, syntax) or _line_of_iri(path, exc) or message
                if before == 0:
                    self.graph.remove((None, None, None))
                raise UserError(message) from None
            bar.add_triples(0, count=len(target))
        if target is not self.graph:
            self.graph += target
        self._index = None  # labels changed: rebuild on the next search
        self._is_predicate.cache_clear()
        self._degree.cache_clear()
        return len(self.graph) - before

    # -- the KnowledgeGraph protocol ------------------------------------------------------

    def triples(self, s: Node | None = None, p: Node | None = None, o: Node | None = None,
                limit: int | None = None) -> Iterator[Triple]:
        found = self.graph.triples((s, p, o))
        return itertools.islice(found, limit) if limit is not None else iter(found)

    def count(self) -> int:
        return len(self.graph)

    def labels(self, term: Node) -> list[tuple[str, str]]:
        if isinstance(term, Literal):
            return []
        rows = []
        for p in _LABEL_PREDICATES:
            rank = LABEL_PREDICATE_RANK[str(p)]
            for o in self.graph.objects(term, p):
                parts = label_literal_parts(o)
                if parts:
                    rows.append((parts[0], parts[1], rank))
        return sort_labels(rows, self.langs)

    def tally(self) -> dict:
        """The counts ``kg info`` and ``kg validate`` show, from one pass over the triples
        (the same keys a store's ``kg load`` counts)."""
        from dialogqa.kg.labels import namespace

        predicates: Counter = Counter()
        subjects, objects, labelled = set(), set(), set()
        for s, p, o in self.graph.triples((None, None, None)):
            predicates[p] += 1
            subjects.add(s)
            if isinstance(o, (URIRef, BNode)):
                objects.add(o)
            elif p in LABEL_PREDICATE_TERMS and isinstance(o, Literal):
                labelled.add(s)
        iris = (t for t in (subjects | objects | set(predicates)) if isinstance(t, URIRef))
        return {
            "entities": len(subjects | objects),
            "predicates": {str(p): n for p, n in predicates.most_common()},
            "namespaces": dict(Counter(map(namespace, map(str, iris))).most_common()),
            "subjects": len(subjects),
            "labelled_subjects": len(subjects & labelled),
            "labelled_predicates": len(set(predicates) & labelled),
            "unlabelled_examples": heapq.nsmallest(20, (str(x) for x in subjects - labelled)),
        }

    def query(self, sparql: str, limits: QueryLimits | None = None) -> QueryResult:
        limits = limits or QueryLimits()
        checked = check_query(sparql, limits)

        def evaluate() -> QueryResult:
            from rdflib.plugins.sparql.algebra import translateQuery

            try:
                # the checked parse itself runs: nothing is parsed a second time
                result = self.graph.query(translateQuery(checked.parsed))
                if checked.form == "ASK":
                    return QueryResult(boolean=bool(result.askAnswer))
                variables = [str(v) for v in (result.vars or [])]
                # rows are pulled one by one: a runaway join stops at the cap
                rows, truncated = take_rows((tuple(row) for row in result), limits.rows)
            except (UserError, MemoryError):
                raise
            except Exception as exc:  # evaluation errors (a type error in a FILTER, ...)
                raise UserError(f"SPARQL error: {exc}") from None
            return QueryResult(variables=variables, rows=rows, truncated=truncated)

        return run_with_timeout(evaluate, limits.timeout)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    # -- entity linking -------------------------------------------------------------------

    @property
    def index(self) -> LabelIndex:
        if self._index is None:
            self._index = LabelIndex.in_memory(self._label_rows())
        return self._index

    def _label_rows(self) -> Iterator[tuple[str, str, str, int]]:
        labelled: set[Node] = set()
        for p in _LABEL_PREDICATES:
            rank = LABEL_PREDICATE_RANK[str(p)]
            for s, o in self.graph.subject_objects(p):
                parts = label_literal_parts(o)
                if parts:
                    labelled.add(s)
                    yield entity_key(s), parts[0], parts[1], rank, self._degree(s)
        # Subjects with no label are still found by their IRI's local name ("ex:NewYork").
        for s in self.graph.subjects(unique=True):
            if isinstance(s, URIRef) and s not in labelled:
                name = local_name(str(s))
                if not opaque_local_name(name):
                    yield str(s), name, "", LOCAL_NAME_RANK, self._degree(s)

    def _is_predicate(self, term: Node) -> bool:
        return next(iter(self.graph.triples((None, term, None))), None) is not None

    def _degree(self, term: Node) -> int:
        return sum(1 for _ in itertools.islice(self.graph.triples((term, None, None)), 25))


class BadIRI(ValueError):
    """An IRI the on-disk store would refuse (kg/iri.py), in a file rdflib parsed."""

    def __init__(self, iri: str, problem: str):
        super().__init__(f"not a valid IRI <{iri}>: {problem}")
        self.iri = iri


def _check_iris(graph: Graph, parsed: Graph, drop: bool = False) -> None:
    """Raise ``BadIRI`` for the first invalid IRI in ``graph`` or among ``parsed``'s named
    graphs: the one rule every loader keeps (kg/iri.py).  ``drop``: remove the triples
    whose subject, predicate or object is one instead, as JSON-LD's conversion to RDF does
    (pyoxigraph's too; a bad datatype is an error there as well)."""
    names = (c.identifier for c in parsed.graphs()) if isinstance(parsed, Dataset) else ()
    found = list(invalid_iris(itertools.chain(_distinct_terms(graph), names)))
    refused = [bad for bad in found if not drop or isinstance(bad[0], Literal)]
    if refused:
        raise BadIRI(*refused[0][1:])
    for term in {term for term, _, _ in found}:
        for pattern in ((term, None, None), (None, term, None), (None, None, term)):
            graph.remove(pattern)


def _distinct_terms(graph: Graph) -> Iterator[Node]:
    """Each subject, predicate and object of ``graph`` (repeats allowed).  rdflib's Memory
    store keys its indexes by them: reading the keys costs nothing next to iterating the
    triples (three passes took 0.75 s for kb/world.ttl, 15% of its load)."""
    indexes = [getattr(graph.store, f"_Memory__{name}", None) for name in ("spo", "pos", "osp")]
    if all(isinstance(index, dict) for index in indexes) and len(graph.store) == len(graph):
        return itertools.chain(*indexes)
    return itertools.chain(graph.subjects(unique=True), graph.predicates(unique=True),
                           graph.objects(unique=True))


def _line_of_iri(path, exc: BaseException) -> str | None:
    """For a ``BadIRI`` pyoxigraph did not place: FILE:LINE of the first line that holds
    the IRI as written."""
    if not isinstance(exc, BadIRI):
        return None
    needle = exc.iri.encode("utf-8")
    with open_rdf(path) as (stream, _):
        for number, line in enumerate(stream, 1):
            if needle in line:
                return f"{path}:{number}: {exc}"
    return None


class _quiet_rdflib:
    """rdflib logs a warning per odd literal it meets; a load reports its own errors."""

    def __enter__(self):
        self.logger = logging.getLogger("rdflib")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)

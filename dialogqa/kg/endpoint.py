"""The remote backend: a SPARQL 1.1 endpoint over HTTP (Virtuoso, Fuseki, QLever, ...).

Read-only by construction: only SELECT and ASK are sent, as ``query=`` (never ``update=``),
and a person's own query only in the canonical form sparql_guard checked.  Every query
carries a LIMIT and every request a timeout.  User text reaches a query only
through ``sparql_literal``.  Query parameters in the URL (``?default-graph-uri=...``) are
sent with every request, which is how one graph of a shared endpoint is chosen.

Entity linking: a graph small enough (``INDEX_MAX_LABELS``) has its labels fetched once
into the same sqlite index the local backends use, so search is just as forgiving; a big
one is asked for exact labels (case variants) of the text's n-grams.
"""

from __future__ import annotations

import functools
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence

from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa import jsonio
from dialogqa.errors import UserError
from dialogqa.records import QueryResult, Triple
from dialogqa.kg.base import MAX_QUESTION_CHARS
from dialogqa.kg.labels import (
    DEFAULT_LANGS,
    LABEL_PREDICATE_RANK,
    LABEL_PREDICATES,
    LOCAL_NAME_RANK,
    fallback_label,
    local_name,
    sort_labels,
)
from dialogqa.kg.linker import (
    NEVER_A_MENTION,
    Hit,
    LabelIndex,
    longest_first,
    normalise,
    opaque_local_name,
    to_matches,
    word_spans,
)
from dialogqa.kg.sparql_guard import QueryLimits, check_query, take_rows, with_row_cap
from dialogqa.kg.sparql_text import sparql_iri, sparql_literal, sparql_term

PAGE = 10_000  # rows per request: Virtuoso's default ResultSetMaxRows
MAX_ROWS = 10_000  # LIMIT added to a SELECT that has none when no row cap is given
INDEX_MAX_LABELS = 200_000  # more label triples than this: search by exact labels instead
MAX_NGRAM_WORDS = 6
_LABEL_VALUES = " ".join(sparql_iri(p) for p in LABEL_PREDICATES)
_NOT_LABEL = f"FILTER(?p NOT IN ({', '.join(sparql_iri(p) for p in LABEL_PREDICATES)}))"


class EndpointKG:
    def __init__(self, url: str, langs: Sequence[str] = DEFAULT_LANGS, timeout: float = 30.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UserError(f"--endpoint {url}: expected an http:// or https:// URL")
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self.params = urllib.parse.parse_qsl(parts.query)  # e.g. default-graph-uri
        self.langs = tuple(langs)
        self.timeout = timeout
        self.name = f"endpoint: {url}"
        self._index: LabelIndex | None = None
        self._exact_search: bool | None = None
        self._labels: dict[Node, list[tuple[str, str, int]]] = {}
        self._count: int | None = None
        # entity linking asks these of the same few entities over and over
        self._is_predicate = functools.lru_cache(maxsize=65536)(self._is_predicate)
        self._degree = functools.lru_cache(maxsize=65536)(self._degree)
        self.ask("ASK { ?s ?p ?o }")  # unreachable or not SPARQL: say so now, not mid-chat

    @classmethod
    def open_source(cls, url, fmt=None, langs=DEFAULT_LANGS, progress=False) -> "EndpointKG":
        """The registry's uniform opener (``open_kg``); an endpoint has no format or progress."""
        return cls(url, langs=langs)

    # -- HTTP -----------------------------------------------------------------------------

    def _request(self, sparql: str, timeout: float | None = None) -> dict:
        body = urllib.parse.urlencode([("query", sparql), *self.params]).encode()
        request = urllib.request.Request(self.url, data=body, headers={
            "Accept": "application/sparql-results+json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "dialogqa",
        })
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = " ".join(exc.read(400).decode("utf-8", "replace").split())
            raise UserError(f"SPARQL error from {self.url}: HTTP {exc.code} {detail}".strip()) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UserError(f"cannot reach SPARQL endpoint {self.url}: {reason}") from None
        try:
            return jsonio.loads(payload)
        except jsonio.BadJSON:
            raise UserError(f"{self.url} did not answer with SPARQL JSON results; is it a SPARQL endpoint?") from None

    def select(self, sparql: str, timeout: float | None = None) -> tuple[list[str], list[tuple[Node | None, ...]]]:
        data = self._request(sparql, timeout)
        variables = data.get("head", {}).get("vars", [])
        rows = [tuple(_term(b.get(v)) for v in variables)
                for b in data.get("results", {}).get("bindings", [])]
        return variables, rows

    def ask(self, sparql: str, timeout: float | None = None) -> bool:
        data = self._request(sparql, timeout)
        if "boolean" in data:
            return bool(data["boolean"])
        # Virtuoso 7.2 answers ASK as a SELECT of one variable, one row when true.
        rows = data.get("results", {}).get("bindings", [])
        return bool(rows) and next(iter(rows[0].values()), {}).get("value") not in ("0", "false")

    # -- the KnowledgeGraph protocol ------------------------------------------------------

    def triples(self, s: Node | None = None, p: Node | None = None, o: Node | None = None,
                limit: int | None = None) -> Iterator[Triple]:
        terms = [s, p, o]
        written = [sparql_term(t) if t is not None else f"?{v}" for t, v in zip(terms, "spo")]
        if any(w is None for w in written):  # a blank node the endpoint cannot be asked about
            return iter(())
        wanted = [f"?{v}" for t, v in zip(terms, "spo") if t is None]
        pattern = " ".join(written)
        if not wanted:
            return iter([(s, p, o)] if self.ask(f"ASK {{ {pattern} }}") else [])
        found = self._paged(f"SELECT {' '.join(wanted)} WHERE {{ {pattern} }}", limit)

        def fill(row):
            it = iter(row)
            return tuple(t if t is not None else next(it) for t in terms)

        return (fill(row) for row in found)

    def _paged(self, select: str, limit: int | None) -> Iterator[tuple]:
        """Rows of a SELECT, page by page, never more than ``limit``."""
        offset = 0
        while limit is None or offset < limit:
            size = PAGE if limit is None else min(PAGE, limit - offset)
            _, rows = self.select(f"{select} LIMIT {size} OFFSET {offset}")
            yield from rows
            if len(rows) < size:
                return
            offset += size

    def count(self) -> int:
        if self._count is None:
            _, rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } LIMIT 1")
            self._count = int(rows[0][0]) if rows and rows[0][0] is not None else 0
        return self._count

    def labels(self, term: Node) -> list[tuple[str, str]]:
        if isinstance(term, Literal):
            return []
        rows = self._labels.get(term)
        if rows is None:
            written = sparql_term(term)
            rows = []
            if written is not None:
                _, found = self.select(f"SELECT ?p ?l WHERE {{ {written} ?p ?l VALUES ?p {{ {_LABEL_VALUES} }} "
                                       "FILTER(isLiteral(?l)) } LIMIT 200")
                rows = [(" ".join(str(l).split()), l.language or "", LABEL_PREDICATE_RANK[str(p)])
                        for p, l in found if str(l).strip()]
            if len(self._labels) > 50_000:  # a long chat should not grow without bound
                self._labels.clear()
            self._labels[term] = rows
        return sort_labels(rows, self.langs)

    def label(self, term: Node) -> str:
        found = self.labels(term)
        return found[0][0] if found else fallback_label(term)

    def search(self, text: str, limit: int = 10) -> list:
        if self._exact_search is None:
            _, rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?l "
                                  f"VALUES ?p {{ {_LABEL_VALUES} }} }} LIMIT 1")
            n_labels = int(rows[0][0]) if rows and rows[0][0] is not None else 0
            self._exact_search = n_labels > INDEX_MAX_LABELS
        if self._exact_search:
            hits = self._search_exact(text, limit * 3)
        else:
            hits = self._label_index().search(text, limit=limit * 3)
        return to_matches(hits, self._is_predicate, limit, degree=self._degree)

    def neighbours(self, entity: Node, limit: int = 200) -> list[Triple]:
        e = sparql_term(entity)
        if e is None or isinstance(entity, Literal):
            return []
        _, out = self.select(f"SELECT ?p ?o WHERE {{ {e} ?p ?o {_NOT_LABEL} }} LIMIT {int(limit)}")
        _, into = self.select(f"SELECT ?s ?p WHERE {{ ?s ?p {e} {_NOT_LABEL} }} LIMIT {int(limit)}")
        return [(entity, p, o) for p, o in out] + [(s, p, entity) for s, p in into]

    def tally(self) -> None:
        return None  # counting would read the whole endpoint: kg info asks it in SPARQL instead

    def query(self, sparql: str, limits: QueryLimits | None = None) -> QueryResult:
        limits = limits or QueryLimits()
        checked = check_query(sparql, limits)  # the canonical text is what is sent
        if checked.form == "ASK":
            return QueryResult(boolean=self.ask(checked.text, limits.timeout))
        cap = limits.rows if limits.rows is not None else MAX_ROWS
        variables, rows = self.select(with_row_cap(checked, cap), limits.timeout)
        rows, truncated = take_rows(iter(rows), cap)
        return QueryResult(variables=list(variables), rows=rows, truncated=truncated)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    # -- entity linking -------------------------------------------------------------------

    def _label_index(self) -> LabelIndex:
        if self._index is None:
            self._index = LabelIndex.in_memory(self._label_rows())
        return self._index

    def _label_rows(self) -> Iterator[tuple[str, str, str, int]]:
        labelled: set[str] = set()
        rows = self._paged("SELECT ?s ?p ?l WHERE { ?s ?p ?l "
                           f"VALUES ?p {{ {_LABEL_VALUES} }} FILTER(isLiteral(?l)) }} ORDER BY ?s ?p ?l",
                           INDEX_MAX_LABELS)
        for s, p, lit in rows:
            key = _key(s)
            if key is not None and str(lit).strip():
                labelled.add(key)
                yield key, " ".join(str(lit).split()), lit.language or "", LABEL_PREDICATE_RANK[str(p)]
        subjects = self._paged("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) } ORDER BY ?s",
                               INDEX_MAX_LABELS)
        for (s,) in subjects:
            if str(s) not in labelled and not opaque_local_name(name := local_name(str(s))):
                yield str(s), name, "", LOCAL_NAME_RANK

    def _search_exact(self, text: str, limit: int) -> list[Hit]:
        """Labels equal to one of the text's n-grams, as typed, lower case, Title Case or
        capitalised, untagged or in a preferred language: one VALUES query of literals.
        Reads the first ``MAX_QUESTION_CHARS`` characters, as the label index does."""
        words = word_spans(text[:MAX_QUESTION_CHARS])
        spans: dict[str, list[tuple[int, int]]] = {}
        literals: set[str] = set()
        for i in range(len(words)):
            for n in range(1, min(MAX_NGRAM_WORDS, len(words) - i) + 1):
                span = words[i:i + n]
                if all(w in NEVER_A_MENTION for w, _, _ in span) or (n == 1 and len(span[0][0]) < 2):
                    continue
                typed = text[span[0][1]:span[-1][2]]
                spans.setdefault(normalise(typed), []).append((i, n))
                for variant in {typed, typed.lower(), typed.title(), typed[:1].upper() + typed[1:]}:
                    for lang in {*self.langs, ""}:
                        literals.add(sparql_literal(variant, lang))
        if not literals:
            return []
        _, rows = self.select(f"SELECT ?s ?p ?l WHERE {{ VALUES ?l {{ {' '.join(sorted(literals))} }} "
                              f"?s ?p ?l VALUES ?p {{ {_LABEL_VALUES} }} }} LIMIT 500")
        hits = []
        for s, p, lit in rows:
            key = _key(s)
            for i, n in spans.get(normalise(str(lit)), []) if key else []:
                hits.append(Hit(key, 1.0, str(lit), words[i][1], words[i + n - 1][2], n,
                                LABEL_PREDICATE_RANK[str(p)]))
        return longest_first(hits, limit)

    def _is_predicate(self, term: Node) -> bool:
        written = sparql_term(term)
        return written is not None and self.ask(f"ASK {{ ?s {written} ?o }}")

    def _degree(self, term: Node) -> int:
        written = sparql_term(term)
        if written is None:
            return 0
        _, rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT ?o WHERE {{ {written} ?p ?o }} LIMIT 25 }}")
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _key(term: Node | None) -> str | None:
    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, BNode) and str(term).startswith("nodeID://"):
        return str(term)  # Virtuoso names its blank nodes so they can be asked about again
    return None


def _term(binding: dict | None) -> Node | None:
    """One value of the SPARQL 1.1 JSON results format as an rdflib term."""
    if binding is None:
        return None
    kind, value = binding.get("type"), binding.get("value", "")
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if "xml:lang" in binding:
        return Literal(value, lang=binding["xml:lang"])
    datatype = binding.get("datatype")
    if datatype and datatype != "http://www.w3.org/2001/XMLSchema#string":
        return Literal(value, datatype=URIRef(datatype))
    return Literal(value)


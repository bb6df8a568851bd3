"""The on-disk backend: a pyoxigraph (RocksDB) store plus the sqlite label index, in one
directory.  Built once by ``dialogqa kg load FILES --store DIR``, reopened in well under a
second by ``--store DIR``.

Loading streams the files through pyoxigraph's parser once: the quads go to the store in
large batches (``bulk_extend``) and the label triples are picked off on the way, so the
label index needs no second pass over the graph.
"""

from __future__ import annotations

import itertools
import json
import operator
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa.errors import UserError
from dialogqa.kg.base import DEFAULT_LANGS, QueryResult, Triple
from dialogqa.kg.labels import (
    LABEL_PREDICATE_RANK,
    LOCAL_NAME_RANK,
    fallback_label,
    is_label_predicate,
    local_name,
    sort_labels,
)
from dialogqa.kg.linker import LabelIndex, entity_key, opaque_local_name, to_matches
from dialogqa.kg.stats import namespace
from dialogqa.kg.loading import (
    OXIGRAPH_FORMATS,
    QUAD_FORMATS,
    check_file,
    describe_parse_error,
    guess_format,
    open_rdf,
)

META = "dialogqa-store.json"
OXIGRAPH_DIR = "oxigraph"
LABELS_DB = "labels.sqlite"
FORMAT_VERSION = 3
_BATCH = 200_000  # quads per bulk_extend: big enough to be fast, small enough to stay lean

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


# -- terms between pyoxigraph and rdflib ---------------------------------------------------

def to_rdflib(term) -> Node | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        return Literal(term.value) if dt == XSD_STRING else Literal(term.value, datatype=URIRef(dt))
    raise TypeError(f"unsupported term {term!r}")  # RDF-star triple terms


def to_oxigraph(term: Node | None):
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported term {term!r}")


class StoreKG:
    """A graph in a directory: ``StoreKG.load(files, dir)`` once, ``StoreKG.open(dir)`` after."""

    def __init__(self, path: Path, store: ox.Store, index: LabelIndex, meta: dict,
                 langs: Sequence[str] = DEFAULT_LANGS):
        self.path = path
        self.store = store
        self.index = index
        self.meta = meta
        self.langs = tuple(langs)
        self.name = f"store: {path}"
        self.predicates = frozenset(URIRef(p) for p in index.predicates())

    # -- opening and building -------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike, langs: Sequence[str] = DEFAULT_LANGS) -> "StoreKG":
        p = Path(path)
        meta_path = p / META
        if not meta_path.is_file():
            what = "does not exist" if not p.exists() else "holds no dialogqa store"
            raise UserError(f"--store {path}: {what}; build one with `dialogqa kg load FILE... --store {path}`")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"{meta_path}: unreadable store description ({exc})") from None
        if meta.get("version") != FORMAT_VERSION:
            raise UserError(f"--store {path}: made by another dialogqa version; rebuild it with `dialogqa kg load`")
        try:
            # read-only: a chat and a `kg info` can share one store
            store = ox.Store.read_only(str(p / OXIGRAPH_DIR))
        except OSError as exc:
            raise UserError(f"--store {path}: cannot open the store ({exc})") from None
        return cls(p, store, LabelIndex(str(p / LABELS_DB)), meta, langs)

    @classmethod
    def load(cls, files: Sequence[str | os.PathLike], path: str | os.PathLike, fmt: str | None = None,
             langs: Sequence[str] = DEFAULT_LANGS, progress: bool = False,
             force: bool = False) -> "StoreKG":
        """Build a store in ``path`` from RDF files.  Built beside the target and moved into
        place at the end, so a bad file leaves whatever was at ``path`` untouched."""
        target = Path(path)
        if target.exists() and not (target.is_dir() and not any(target.iterdir())):
            if not force:
                raise UserError(f"--store {path}: already exists; give --force to replace it")
            if not (target / META).is_file():
                raise UserError(f"--store {path}: exists and is not a dialogqa store; not replacing it")
        for f in files:  # fail before any work on a missing file or unknown syntax
            check_file(f)
            guess_format(f, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.loading-", dir=target.parent))
        try:
            meta = _build(files, work, fmt, progress)
            if target.exists():
                shutil.rmtree(target)
            os.replace(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return cls.open(target, langs)

    # -- the KnowledgeGraph protocol ------------------------------------------------------

    def triples(self, s: Node | None = None, p: Node | None = None, o: Node | None = None,
                limit: int | None = None) -> Iterator[Triple]:
        try:
            quads = self.store.quads_for_pattern(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o))
        except TypeError:
            return iter(())
        found = ((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)) for q in quads)
        return itertools.islice(found, limit) if limit is not None else found

    def count(self) -> int:
        return int(self.meta["triples"])

    def labels(self, term: Node) -> list[tuple[str, str]]:
        if isinstance(term, Literal):
            return []
        return sort_labels(
            (r for r in self.index.labels(entity_key(term)) if r[2] < LOCAL_NAME_RANK), self.langs)

    def label(self, term: Node) -> str:
        found = self.labels(term)
        return found[0][0] if found else fallback_label(term)

    def search(self, text: str, limit: int = 10) -> list:
        hits = self.index.search(text, limit=limit * 3)
        return to_matches(hits, self.predicates.__contains__, limit)

    def neighbours(self, entity: Node, limit: int = 200) -> list[Triple]:
        out = (t for t in self.triples(entity, None, None) if not is_label_predicate(t[1]))
        into = (t for t in self.triples(None, None, entity) if not is_label_predicate(t[1]))
        return list(itertools.islice(out, limit)) + list(itertools.islice(into, limit))

    def query(self, sparql: str) -> QueryResult:
        try:
            result = self.store.query(sparql, use_default_graph_as_union=True)
            if isinstance(result, ox.QueryBoolean):
                return QueryResult(boolean=bool(result))
            if isinstance(result, ox.QueryTriples):
                raise UserError("only SELECT and ASK queries are supported, got CONSTRUCT/DESCRIBE")
            variables = [v.value for v in result.variables]
            rows = [tuple(to_rdflib(sol[v]) for v in result.variables) for sol in result]
        except (SyntaxError, OSError, ValueError) as exc:
            raise UserError(f"SPARQL error: {' '.join(str(exc).split())}") from None
        return QueryResult(variables=variables, rows=rows)

    def close(self) -> None:
        self.index.close()
        del self.store



# -- loading --------------------------------------------------------------------------------



class _Tally:
    """What one streaming pass learns besides the quads: labels, and the counts behind
    ``kg info`` / ``kg validate``, so those never rescan a million triples."""

    def __init__(self):
        self.labels: list[tuple[str, str, str, int]] = []
        self.labelled: set[str] = set()
        self.degree: Counter[str] = Counter()  # out-edges per subject: ranks same-named entities
        self.predicates: Counter[str] = Counter()
        self.objects: set[str] = set()  # IRIs in object position
        self.parsed = 0

    def add(self, batch: list) -> None:
        # map/Counter/compress keep the per-quad work in C; each attribute access makes a
        # new Python object, so every one is made once and dropped at once.
        self.parsed += len(batch)
        self.degree.update(map(_value, map(_subject, batch)))  # blank nodes too: harmless
        predicates = list(map(_value, map(_predicate, batch)))
        self.predicates.update(predicates)
        named = ox.NamedNode
        self.objects.update(o.value for o in map(_object, batch) if type(o) is named)
        for q in itertools.compress(batch, map(LABEL_PREDICATE_RANK.__contains__, predicates)):
            subject, obj = q.subject, q.object
            if isinstance(obj, ox.Literal) and (text := " ".join(obj.value.split())):
                key = subject.value if isinstance(subject, named) else f"_:{subject.value}"
                self.labels.append((key, text, obj.language or "", LABEL_PREDICATE_RANK[q.predicate.value]))
                self.labelled.add(key)

    def stats(self, store: ox.Store, total: int) -> dict:
        predicates = self.predicates
        if total != self.parsed:  # the files repeat triples: count the stored ones instead
            predicates = Counter({s["p"].value: int(s["n"].value) for s in store.query(
                "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p",
                use_default_graph_as_union=True)})
        subjects = set(self.degree)
        iris = {t for t in subjects if ":" in t} | self.objects | set(predicates)
        return {
            "entities": len(subjects | self.objects),
            "predicates": dict(predicates.most_common()),
            "namespaces": dict(Counter(namespace(t) for t in iris).most_common()),
            "subjects": len(subjects),
            "labelled_subjects": len(subjects & self.labelled),
            "labelled_predicates": len(set(predicates) & self.labelled),
            "unlabelled_examples": sorted(subjects - self.labelled)[:10],
        }


def _build(files: Sequence[str | os.PathLike], work: Path, fmt: str | None, progress: bool) -> dict:
    started = time.perf_counter()
    store = ox.Store(str(work / OXIGRAPH_DIR))
    tally = _Tally()
    for f in files:
        _load_file(store, f, guess_format(f, fmt), progress, tally)
    store.flush()
    total = len(store)  # distinct triples: a file may repeat some, or several files overlap
    stats = tally.stats(store, total)
    del store
    degree, labelled = tally.degree, tally.labelled
    rows = itertools.chain(
        ((key, text, lang, rank, degree[key]) for key, text, lang, rank in tally.labels),
        ((iri, name, "", LOCAL_NAME_RANK, n) for iri, n in degree.items()
         if iri not in labelled and ":" in iri  # IRIs, not blank nodes
         and not opaque_local_name(name := local_name(iri))))
    index = LabelIndex(str(work / LABELS_DB))
    n_labels = index.build(rows, tally.predicates)
    index.close()
    meta = {"version": FORMAT_VERSION, "triples": total, "labels": n_labels,
            "files": [os.path.abspath(f) for f in files],
            "load_seconds": round(time.perf_counter() - started, 2), "stats": stats}
    (work / META).write_text(json.dumps(meta, indent=2))
    return meta


def _load_file(store: ox.Store, path, syntax: str, progress: bool, tally: _Tally) -> int:
    """Stream one file into the store in large batches; per-quad work stays in C where it
    can (islice, map, Counter)."""
    rdf_format = getattr(ox.RdfFormat, OXIGRAPH_FORMATS[syntax])
    flatten = syntax in QUAD_FORMATS  # one graph: named graphs' triples join the default one
    n = 0
    with open_rdf(path, progress) as (stream, bar):
        parser = ox.parse(stream, format=rdf_format, base_iri=Path(path).resolve().as_uri())
        try:
            while batch := list(itertools.islice(parser, _BATCH)):
                if flatten:
                    batch = [ox.Quad(q.subject, q.predicate, q.object) for q in batch]
                store.bulk_extend(batch)
                n += len(batch)
                bar.add_triples(0, count=n)
                tally.add(batch)
        except SyntaxError as exc:
            raise UserError(describe_parse_error(path, exc)) from None
    return n


_subject = operator.attrgetter("subject")
_predicate = operator.attrgetter("predicate")
_object = operator.attrgetter("object")
_value = operator.attrgetter("value")

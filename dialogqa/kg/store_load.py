"""Building a store directory: the quads into pyoxigraph, the labels and counts into the
sqlite index, from one read of each file per process.

Two processes share the work when a second core is idle: this one streams the quads into
the store (``bulk_extend`` holds the GIL, so a thread would not help), a forked helper
parses the same files for the labels, builds the label index and counts what ``kg info``
and ``kg validate`` show.  The second parse costs CPU but no wall time.  Without an idle
core one pass here does both: two would only compete for the same core.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import operator
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox

from dialogqa.errors import UserError
from dialogqa.kg.labels import LABEL_PREDICATE_RANK, LOCAL_NAME_RANK, local_name
from dialogqa.kg.linker import LabelIndex, opaque_local_name
from dialogqa.kg.loading import (
    OXIGRAPH_FORMATS,
    QUAD_FORMATS,
    describe_parse_error,
    guess_format,
    open_rdf,
)
from dialogqa.kg.stats import namespace

META = "dialogqa-store.json"
OXIGRAPH_DIR = "oxigraph"
LABELS_DB = "labels.sqlite"
FORMAT_VERSION = 3
_BATCH = 200_000  # quads per bulk_extend: big enough to be fast, small enough to stay lean

_subject = operator.attrgetter("subject")
_predicate = operator.attrgetter("predicate")
_object = operator.attrgetter("object")
_value = operator.attrgetter("value")


def build_store(files: Sequence[str | os.PathLike], work: Path, fmt: str | None, progress: bool) -> dict:
    """Fill the empty directory ``work``; returns the store description written to META."""
    started = time.perf_counter()
    syntaxes = [guess_format(f, fmt) for f in files]
    helper = _start_helper(files, syntaxes, work / LABELS_DB)
    tally = None if helper else _Tally()  # no helper: count and collect labels on the way
    try:
        store = ox.Store(str(work / OXIGRAPH_DIR))
        for f, syntax in zip(files, syntaxes):
            _store_file(store, f, syntax, progress, tally)
        store.flush()
        total = len(store)  # distinct triples: a file may repeat some, or several files overlap
        if progress:
            print("indexing labels ...", file=sys.stderr, flush=True)
        result = helper.result() if helper else tally.finish(work / LABELS_DB)
        if "error" in result:
            raise UserError(result["error"])
        stats = result["stats"]
        if total != result["parsed"]:  # the files repeat triples: count the stored ones
            stats["predicates"] = dict(Counter({s["p"].value: int(s["n"].value) for s in store.query(
                "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p",
                use_default_graph_as_union=True)}).most_common())
        del store
    finally:
        if helper:
            helper.stop()
    meta = {"version": FORMAT_VERSION, "triples": total, "labels": result["labels"],
            "files": [os.path.abspath(f) for f in files],
            "load_seconds": round(time.perf_counter() - started, 2), "stats": stats}
    (work / META).write_text(json.dumps(meta, indent=2))
    return meta


def _store_file(store: ox.Store, path, syntax: str, progress: bool, tally: _Tally | None) -> None:
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
                if tally is not None:
                    tally.add(batch)
        except SyntaxError as exc:
            raise UserError(describe_parse_error(path, exc)) from None


# -- the label and counting pass ------------------------------------------------------------

class _Tally:
    """What a pass over the quads learns: labels, out-degrees, predicate counts, the
    IRIs in object position."""

    def __init__(self):
        self.labels: list[tuple[str, str, str, int]] = []
        self.labelled: set[str] = set()
        self.degree: Counter[str] = Counter()  # out-edges per subject: ranks same-named entities
        self.predicates: Counter[str] = Counter()
        self.objects: set[str] = set()
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

    def stats(self) -> dict:
        subjects = set(self.degree)
        iris = {t for t in subjects if ":" in t} | self.objects | set(self.predicates)
        return {
            "entities": len(subjects | self.objects),
            "predicates": dict(self.predicates.most_common()),
            "namespaces": dict(Counter(namespace(t) for t in iris).most_common()),
            "subjects": len(subjects),
            "labelled_subjects": len(subjects & self.labelled),
            "labelled_predicates": len(set(self.predicates) & self.labelled),
            "unlabelled_examples": sorted(subjects - self.labelled)[:10],
        }

    def finish(self, db_path: Path) -> dict:
        """Build the label index; the counts for META."""
        index = LabelIndex(str(db_path))
        n_labels = index.build(self._index_rows(), self.predicates)
        index.close()
        return {"parsed": self.parsed, "labels": n_labels, "stats": self.stats()}

    def _index_rows(self):
        degree, labelled = self.degree, self.labelled
        yield from ((key, text, lang, rank, degree[key]) for key, text, lang, rank in self.labels)
        for iri, n in degree.items():  # unlabelled subjects go by their IRI's local name
            if iri not in labelled and ":" in iri and not opaque_local_name(name := local_name(iri)):
                yield iri, name, "", LOCAL_NAME_RANK, n


def _index_pass(files, syntaxes, db_path: Path) -> dict:
    """Parse the files for labels and counts and build the label index at ``db_path``."""
    tally = _Tally()
    for path, syntax in zip(files, syntaxes):
        rdf_format = getattr(ox.RdfFormat, OXIGRAPH_FORMATS[syntax])
        with open_rdf(path) as (stream, _):
            parser = ox.parse(stream, format=rdf_format, base_iri=Path(path).resolve().as_uri())
            try:
                while batch := list(itertools.islice(parser, _BATCH)):
                    tally.add(batch)
            except SyntaxError as exc:
                return {"error": describe_parse_error(path, exc)}
    return tally.finish(db_path)


def _helper_main(conn, files, syntaxes, db_path) -> None:
    try:
        conn.send(_index_pass(files, syntaxes, db_path))
    except UserError as exc:
        conn.send({"error": str(exc)})
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, which raises it
        conn.send({"error": f"building the label index failed: {type(exc).__name__}: {exc}"})
    finally:
        conn.close()


class _Helper:
    def __init__(self, process, conn):
        self.process, self.conn = process, conn

    def result(self) -> dict:
        try:
            return self.conn.recv()
        except EOFError:  # it died without a word (killed, out of memory)
            return {"error": f"the label-index process died (exit status {self.process.exitcode})"}

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.conn.close()


def _start_helper(files, syntaxes, db_path: Path) -> _Helper | None:
    """A forked process for the label pass, or None where it would not pay (no idle core:
    two passes then only compete for one) or forking is not safe (not Linux)."""
    workers = os.environ.get("DIALOGQA_LOAD_WORKERS", "auto")
    idle = (os.cpu_count() or 1) - os.getloadavg()[0]
    if workers == "1" or (workers == "auto" and idle < 1.0) or not sys.platform.startswith("linux"):
        return None
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_helper_main, args=(child, [str(f) for f in files], syntaxes, db_path),
                          daemon=True, name="dialogqa-label-index")
    process.start()
    child.close()
    return _Helper(process, parent)

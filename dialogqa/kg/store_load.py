"""Building a store directory: the quads into pyoxigraph, the labels and counts into the
sqlite index, from one read of each file.

Writing the store is most of the work, and pyoxigraph's ``bulk_load`` does it in Rust
without the GIL, so a writer thread bulk-loads N-Triples bytes while this thread counts
what ``kg info`` shows and collects the labels, then builds the label index.

N-Triples files (the usual form of large dumps) go to the writer as they are, in chunks of
whole lines; its strict parse is the check that the file is well formed (errors name the
file's line).  Here a regular expression reads subject, predicate and IRI object off each
line, cheaper than building Python objects for a million quads, and another the labels
off the lines with a label predicate (a label with escapes is parsed).  A chunk the
expressions cannot vouch for (a line they do not match, an escaped IRI) is parsed and
counted quad by quad instead.  Other syntaxes are parsed here (strictly)
and handed over re-serialised as N-Triples.

``bulk_load`` renames blank nodes (per call), so a chunk that mentions one goes in as
Python quads through ``bulk_extend``, which keeps their labels: the same node in two
chunks stays one node, and the label index names it as the store does.
"""

from __future__ import annotations

import heapq
import itertools
import json
import operator
import os
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox

from dialogqa.errors import UserError
from dialogqa.kg.labels import LABEL_PREDICATE_RANK, LOCAL_NAME_RANK, local_name
from dialogqa.kg.linker import LabelIndex, opaque_local_name
from dialogqa.kg.loading import (
    LoadReporter,
    OXIGRAPH_FORMATS,
    QUAD_FORMATS,
    base_iri,
    describe_parse_error,
    guess_format,
    locate_with_oxigraph,
    open_rdf,
)

META = "dialogqa-store.json"
OXIGRAPH_DIR = "oxigraph"
LABELS_DB = "labels.sqlite"
FORMAT_VERSION = 4
_BATCH = 200_000  # parsed quads per batch (syntaxes other than N-Triples)
# Bytes of N-Triples per chunk: a third of the file, so that a file of up to 3 x _CHUNK
# makes at most 3 files per RocksDB column family, which stay as they are (RocksDB
# compacts from 4, about 0.8 s of CPU per million triples); larger batches cost more per
# triple and memory (a 64 MB chunk: about 500 MB while it is written), smaller ones less.
_CHUNK = 64 << 20
_MIN_CHUNK = 8 << 20

# subject IRI, predicate IRI and object (<IRI>, "_:" for a blank node, empty for a literal)
# off one N-Triples line; the rest of the line is skipped at once, not tried for a match
# at every character
_NT_LINE = re.compile(rb"^[ \t]*<([^>]*)>[ \t]*<([^>]*)>[ \t]*(<[^>]*>|_:)?[^\n]*", re.M)
_NT_NOT_TRIPLE = re.compile(rb"^[ \t]*(?:#[^\n]*)?\r?$", re.M)  # blank and comment lines
_LABEL_NEEDLES = [f"<{p}>".encode() for p in LABEL_PREDICATE_RANK]
# subject, label predicate, text (unless it has escapes) and language of a label line
_NT_LABEL = re.compile(
    rb'^[ \t]*<([^>]*)>[ \t]*<(' + b"|".join(re.escape(p.encode()) for p in LABEL_PREDICATE_RANK)
    + rb')>[ \t]*"([^"\\\n]*)"(?:@([A-Za-z0-9-]+))?', re.M)

_subject = operator.attrgetter("subject")
_predicate = operator.attrgetter("predicate")
_object = operator.attrgetter("object")
_value = operator.attrgetter("value")
_first, _second, _third, _fourth = (operator.itemgetter(i) for i in range(4))
_LABEL_RANK_BYTES = {p.encode(): rank for p, rank in LABEL_PREDICATE_RANK.items()}
_NAMESPACE = re.compile(r"^.*[/#:]", re.M)  # as labels.namespace: up to the last "/", "#" or ":"


def _decode(raw) -> Iterator[str]:
    """Decode each of ``raw`` (bytes); "replace": a file that is not UTF-8 fails in the
    writer, which names the line."""
    return map(bytes.decode, raw, itertools.repeat("utf-8"), itertools.repeat("replace"))


def build_store(files: Sequence[str | os.PathLike], work: Path, fmt: str | None, progress: "LoadReporter | None") -> dict:
    """Fill the empty directory ``work``; returns the store description written to META."""
    started = time.perf_counter()
    syntaxes = [guess_format(f, fmt) for f in files]
    tally = _Tally()
    store = ox.Store(str(work / OXIGRAPH_DIR))
    writer = _Writer(store)
    try:
        for f, syntax in zip(files, syntaxes):
            read = _read_ntriples if syntax == "nt" else _read_parsed
            read(f, syntax, progress, tally, writer)
        if progress:
            progress.note("indexing labels ...")
        result = tally.finish(work / LABELS_DB)  # while the writer finishes the last batches
    except BaseException:
        writer.close(check=False)  # the reader's error is the one to report
        raise
    writer.close()
    store.flush()
    total = len(store)  # distinct triples: a file may repeat some, or several files overlap
    stats = result["stats"]
    if total != result["parsed"]:  # the files repeat triples: count the stored ones
        _recount(store, work / LABELS_DB, stats)
    del store
    meta = {"version": FORMAT_VERSION, "triples": total, "labels": result["labels"],
            "files": [os.path.abspath(f) for f in files],
            "load_seconds": round(time.perf_counter() - started, 2), "stats": stats}
    (work / META).write_text(json.dumps(meta, indent=2))
    return meta


def _recount(store: ox.Store, db_path: Path, stats: dict) -> None:
    """Predicate counts and degrees from the store, for files that repeat triples (the
    tally counted each time a triple was given)."""
    def counts(var: str) -> dict[str, int]:
        query = f"SELECT ?{var} (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }} GROUP BY ?{var}"
        return {(t.value if isinstance(t := row[var], ox.NamedNode) else f"_:{t.value}"): int(row["n"].value)
                for row in store.query(query, use_default_graph_as_union=True)}

    stats["predicates"] = dict(Counter(counts("p")).most_common())
    index = LabelIndex(str(db_path))
    with index.db:
        index.db.executemany("UPDATE labels SET degree = ? WHERE entity = ?",
                             ((n, s) for s, n in counts("s").items()))
    index.close()


def _read_ntriples(path, syntax: str, progress: "LoadReporter | None", tally: _Tally, writer: _Writer) -> None:
    n = 0
    line = 1  # of the chunk's first line in the file
    gz = str(path).lower().endswith(".gz")
    size = min(_CHUNK, max(_MIN_CHUNK, os.path.getsize(path) * (8 if gz else 1) // 3 + 1))  # gzip: ~8x
    with open_rdf(path, progress) as (stream, bar), open(path, "rb") as ahead:
        while True:
            if gz:
                chunk = stream.read(size)
                if chunk and not chunk.endswith(b"\n"):
                    chunk += stream.readline()  # whole lines only
            else:  # where the chunk's last line ends, found ahead: the chunk is read, not copied
                start = ahead.tell()
                ahead.seek(size - 1, os.SEEK_CUR)
                ahead.readline()
                chunk = stream.read(ahead.tell() - start)
            if not chunk:
                break
            newlines = chunk.count(b"\n")
            n += _ntriples_chunk(chunk, newlines, path, line, tally, writer)
            line += newlines
            bar.add_triples(0, count=n)


def _ntriples_chunk(chunk: bytes, newlines: int, path, line: int, tally: _Tally, writer: _Writer) -> int:
    """Hand one chunk of whole lines to the writer and count it; returns its triples."""
    rows = _NT_LINE.findall(chunk)
    statements = newlines + (not chunk.endswith(b"\n"))
    if len(rows) != statements:
        statements -= len(_NT_NOT_TRIPLE.findall(chunk))
    objects = set(map(_third, rows))
    if len(rows) != statements or b"_:" in objects:
        # a line the expression does not read (a blank node subject, odd spacing) or a
        # blank node object: parse, and keep blank nodes' names (see above)
        return _parsed_chunk(chunk, path, line, tally, writer, blank_nodes=b"_:" in chunk)
    # an escape in an IRI would make the text read here differ from the store's; "<<" in
    # an object: an RDF 1.2 triple term
    if b"<<" in b"".join(objects) or (b"\\" in chunk and b"\\" in b"".join(
            itertools.chain(map(_first, rows), map(_second, rows), objects))):
        return _parsed_chunk(chunk, path, line, tally, writer, blank_nodes=False)
    writer.put((chunk, path, line))  # its strict parse is the check of the file
    predicates = tally.add_rows(rows, objects)
    lines = [found for needle in _LABEL_NEEDLES if needle[1:-1] in predicates
             for found in _lines_with(chunk, needle)]
    if lines:
        tally.add_label_rows(_NT_LABEL.findall(b"\n".join(lines)))
        escaped = [text for text in lines if b"\\" in text]
        if escaped:  # labels with escapes, which the expression leaves out: parse them
            tally.add_labels(_parse_chunk(b"\n".join(escaped), path, line, chunk))
    return len(rows)


def _parsed_chunk(chunk: bytes, path, line: int, tally: _Tally, writer: _Writer, blank_nodes: bool) -> int:
    quads = _parse_chunk(chunk, path, line)
    writer.put(quads if blank_nodes else (chunk, path, line))
    tally.add(quads)
    return len(quads)


def _lines_with(chunk: bytes, needle: bytes) -> list[bytes]:
    """The lines of ``chunk`` that contain ``needle``."""
    found = []
    find, rfind = chunk.find, chunk.rfind
    i = find(needle)
    while i >= 0:
        end = find(b"\n", i)
        end = len(chunk) if end < 0 else end
        found.append(chunk[rfind(b"\n", 0, i) + 1:end])
        i = find(needle, end)
    return found


def _parse_chunk(data: bytes, path, line: int, whole: bytes | None = None) -> list:
    """The quads of N-Triples ``data`` starting at ``line`` of ``path``; for a bad line, an
    error naming it (in ``whole``, the chunk ``data`` was cut from, when given)."""
    try:
        return list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    except SyntaxError as exc:
        if whole is not None:
            _parse_chunk(whole, path, line)  # raises, with the right line number
        raise UserError(_located(path, line, exc)) from None


def _located(path, line: int, exc: SyntaxError) -> str:
    if getattr(exc, "lineno", None):
        exc.lineno += line - 1
    return describe_parse_error(path, exc)


def _read_parsed(path, syntax: str, progress: "LoadReporter | None", tally: _Tally, writer: _Writer) -> None:
    rdf_format = getattr(ox.RdfFormat, OXIGRAPH_FORMATS[syntax])
    flatten = syntax in QUAD_FORMATS  # one graph: named graphs' triples join the default one
    n = 0
    with open_rdf(path, progress) as (stream, bar):
        parser = ox.parse(stream, format=rdf_format, base_iri=base_iri(path))
        try:
            while batch := list(itertools.islice(parser, _BATCH)):
                if flatten:
                    batch = [ox.Quad(q.subject, q.predicate, q.object) for q in batch]
                data = ox.serialize(batch, format=ox.RdfFormat.N_TRIPLES)
                writer.put(batch if b"_:" in data else data)  # "_:" in a literal: only slower
                del data
                tally.add(batch)
                n += len(batch)
                bar.add_triples(0, count=n)
        except SyntaxError as exc:
            # no line in the error (RDF/XML): read again a line at a time to find it
            located = None if getattr(exc, "lineno", None) else locate_with_oxigraph(path, syntax)
            raise UserError(located or describe_parse_error(path, exc)) from None


class _Writer:
    """A thread writing into the store: ``(N-Triples bytes, file, first line)`` through a
    strict ``bulk_load`` (its errors name the file's line), N-Triples bytes serialised from
    quads parsed here through a lenient one (both without the GIL), lists of quads through
    ``bulk_extend``.  One item waits while another is written, so the reader runs at most
    one chunk ahead."""

    def __init__(self, store: ox.Store):
        self.store = store
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, name="dialogqa-store-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        nt = ox.RdfFormat.N_TRIPLES
        while (item := self.queue.get()) is not None:
            if self.error is not None:
                continue  # failed: drain until told to stop
            try:
                if isinstance(item, tuple):
                    data, path, line = item
                    try:
                        self.store.bulk_load(input=data, format=nt)
                    except SyntaxError as exc:
                        self.error = _located(path, line, exc)
                elif isinstance(item, bytes):
                    self.store.bulk_load(input=item, format=nt, lenient=True)
                else:
                    self.store.bulk_extend(item)
            except BaseException as exc:  # noqa: BLE001 - raised in the reader by _check
                self.error = f"writing the store failed: {type(exc).__name__}: {' '.join(str(exc).split())}"

    def put(self, item) -> None:
        self._check()
        self.queue.put(item)

    def close(self, check: bool = True) -> None:
        """Wait for what was given so far to be written; raise what went wrong."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if check:
            self._check()

    def _check(self) -> None:
        if self.error is not None:
            raise UserError(self.error)


# -- the label and counting pass ------------------------------------------------------------

class _Tally:
    """What a pass over the triples learns: labels, out-degrees, predicate counts, the IRIs
    in object position.  Entities are keyed as in the label index: an IRI as itself, a
    blank node as "_:id"."""

    def __init__(self):
        self.labels: list[tuple[str, str, str, int]] = []
        self.labelled: set[str] = set()
        self.degree: Counter[str] = Counter()  # out-edges per subject: ranks same-named entities
        self.predicates: Counter[str] = Counter()
        self.objects: set[str] = set()
        self.raw_objects: set[bytes] = set()  # "<IRI>" as read off N-Triples lines, decoded at the end
        self.blank_subjects: set[str] = set()
        self.parsed = 0

    def add(self, batch: list) -> None:
        """Count parsed quads (labels included)."""
        # map/Counter/compress keep the per-quad work in C; each attribute access makes a
        # new Python object, so every one is made once and dropped at once.
        self.parsed += len(batch)
        named = ox.NamedNode
        subjects = [s.value if type(s) is named else f"_:{s.value}" for s in map(_subject, batch)]
        self.degree.update(subjects)
        self.blank_subjects.update(s for s in subjects if s.startswith("_:"))
        predicates = list(map(_value, map(_predicate, batch)))
        self.predicates.update(predicates)
        self.objects.update(o.value for o in map(_object, batch) if type(o) is named)
        self.add_labels(itertools.compress(batch, map(LABEL_PREDICATE_RANK.__contains__, predicates)))

    def add_rows(self, rows: list[tuple[bytes, ...]], objects: set[bytes]) -> Counter[bytes]:
        """Count (subject, predicate, object or b"", ...) IRIs read off N-Triples lines,
        ``objects`` the set of their objects; returns the predicates' counts (labels are
        added by ``add_label_rows``)."""
        self.parsed += len(rows)
        # each distinct IRI decoded once per chunk
        counts = Counter(map(_first, rows))
        self.degree.update(dict(zip(_decode(counts), counts.values())))
        predicates = Counter(map(_second, rows))
        self.predicates.update(dict(zip(_decode(predicates), predicates.values())))
        self.raw_objects |= objects
        return predicates

    def add_label_rows(self, rows: list[tuple[bytes, bytes, bytes, bytes]]) -> None:
        """Keep (subject, label predicate, text, language) read off N-Triples lines."""
        keys = list(_decode(map(_first, rows)))
        texts = list(map(" ".join, map(str.split, _decode(map(_third, rows)))))
        langs = map(str.lower, _decode(map(_fourth, rows)))
        ranks = map(_LABEL_RANK_BYTES.__getitem__, map(_second, rows))
        self.labels += itertools.compress(zip(keys, texts, langs, ranks), texts)  # no empty labels
        self.labelled.update(itertools.compress(keys, texts))

    def add_labels(self, quads) -> None:
        """Keep the labels among ``quads`` (other quads are skipped, not counted)."""
        named, literal = ox.NamedNode, ox.Literal
        for q in quads:
            obj = q.object
            rank = LABEL_PREDICATE_RANK.get(q.predicate.value)
            if rank is not None and type(obj) is literal and (text := " ".join(obj.value.split())):
                s = q.subject
                key = s.value if type(s) is named else f"_:{s.value}"
                self.labels.append((key, text, obj.language or "", rank))
                self.labelled.add(key)

    def stats(self) -> dict:
        self.raw_objects.discard(b"")
        self.objects.update(_decode(map(operator.itemgetter(slice(1, -1)), self.raw_objects)))
        self.raw_objects = set()
        subjects = set(self.degree)
        iris = (subjects - self.blank_subjects) | self.objects | set(self.predicates)
        namespaces = Counter(_NAMESPACE.findall("\n".join(iris)))  # an IRI has a ":" at least
        return {
            "entities": len(subjects | self.objects),
            "predicates": dict(self.predicates.most_common()),
            "namespaces": dict(namespaces.most_common()),
            "subjects": len(subjects),
            "labelled_subjects": len(subjects & self.labelled),
            "labelled_predicates": len(set(self.predicates) & self.labelled),
            "unlabelled_examples": heapq.nsmallest(10, subjects - self.labelled),
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
            if iri not in labelled and not iri.startswith("_:") and not opaque_local_name(name := local_name(iri)):
                yield iri, name, "", LOCAL_NAME_RANK, n

"""The on-disk backend: a pyoxigraph (RocksDB) store plus the sqlite label index, in one
directory.  Built once by ``dialogqa kg load FILES --store DIR``, reopened in well under a
second by ``--store DIR``.

How a directory is filled (``bulk_load`` on a writer thread, labels and counts read off
the file on the way) is in ``store_load.py``; this file reads it.
"""

from __future__ import annotations

import itertools
import json
import os
import selectors
import shutil
import subprocess
import sys
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox
from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa.errors import UserError
from dialogqa.records import QueryResult, Triple
from dialogqa.kg.labels import DEFAULT_LANGS, LOCAL_NAME_RANK, sort_labels
from dialogqa.kg.linker import LabelIndex, entity_key
from dialogqa.kg.local import LocalGraph
from dialogqa.kg.loading import LoadReporter, check_file, guess_format
from dialogqa.kg.sparql_guard import QueryLimits, check_query, take_rows, timeout_error
from dialogqa.kg.store_load import FORMAT_VERSION, LABELS_DB, META, OXIGRAPH_DIR, build_store

_WORKER = str(Path(__file__).with_name("store_query_worker.py"))
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


# -- work folders of loads ----------------------------------------------------------------
# A load builds ".NAME.loading-PID@HOST-XXXX" beside the store and renames it into place;
# a load that is killed leaves it behind.  The next load into NAME removes those whose
# process is gone (PID no longer runs on this HOST).  Never removed: the folder of a load
# still running, or of one on another machine (its process cannot be checked from here).
# A folder whose process cannot be checked at all (named before PID@HOST, or on a system
# without POSIX signals) goes once it is STALE_UNCHECKED_SECONDS old.

STALE_UNCHECKED_SECONDS = 24 * 3600


def _loading_prefix(target: Path) -> str:
    return f".{target.name}.loading-"


def remove_stale_loads(target: Path) -> list[Path]:
    """Remove the work folders interrupted loads into ``target`` left; returns them."""
    prefix = _loading_prefix(target)
    removed = []
    for folder in target.parent.iterdir():
        if folder.name.startswith(prefix) and folder.is_dir() and _stale(folder, folder.name[len(prefix):]):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _stale(folder: Path, suffix: str) -> bool:
    owner, _, _ = suffix.rpartition("-")  # mkdtemp's random part has no "-"
    pid, at, host = owner.partition("@")
    if at and pid.isdigit() and os.name == "posix":
        return host == socket.gethostname() and not _running(int(pid))
    try:
        return time.time() - folder.stat().st_mtime > STALE_UNCHECKED_SECONDS
    except OSError:
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM) or unknown: keep its folder
        return True
    return True


class StoreKG(LocalGraph):
    """A graph in a directory: ``StoreKG.load(files, dir)`` once, ``StoreKG.open(dir)`` after."""

    def __init__(self, path: Path, store: ox.Store, index: LabelIndex, meta: dict,
                 langs: Sequence[str] = DEFAULT_LANGS):
        self.path = path
        self.store = store
        self.index = index
        self.meta = meta
        self.langs = tuple(langs)
        self.name = f"store: {path}"
        self.stale_removed: list[Path] = []  # what ``load`` cleared of interrupted loads
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
    def open_source(cls, path, fmt=None, langs=DEFAULT_LANGS, progress=None) -> "StoreKG":
        """The registry's uniform opener (``open_kg``); a store has no format or progress."""
        return cls.open(path, langs=langs)

    @classmethod
    def load(cls, files: Sequence[str | os.PathLike], path: str | os.PathLike, fmt: str | None = None,
             langs: Sequence[str] = DEFAULT_LANGS, progress: "LoadReporter | None" = None,
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
        removed = remove_stale_loads(target)
        owner = f"{os.getpid()}@{socket.gethostname()}-"
        work = Path(tempfile.mkdtemp(prefix=_loading_prefix(target) + owner, dir=target.parent))
        try:
            build_store(files, work, fmt, progress)
            if target.exists():
                shutil.rmtree(target)
            os.replace(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        kg = cls.open(target, langs)
        kg.stale_removed = removed
        return kg

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

    def _is_predicate(self, term: Node) -> bool:
        return term in self.predicates

    def tally(self) -> dict:
        return self.meta.get("stats")  # counted by `kg load`

    def query(self, sparql: str, limits: QueryLimits | None = None) -> QueryResult:
        limits = limits or QueryLimits()
        checked = check_query(sparql, limits)
        if limits.timeout is not None:
            return self._query_in_child(checked, limits)
        try:
            result = self.store.query(checked.text, use_default_graph_as_union=True)
            if isinstance(result, ox.QueryBoolean):
                return QueryResult(boolean=bool(result))
            variables = [v.value for v in result.variables]
            rows, truncated = take_rows(
                (tuple(to_rdflib(sol[v]) for v in result.variables) for sol in result), limits.rows)
        except (SyntaxError, OSError, ValueError) as exc:
            raise UserError(f"SPARQL error: {' '.join(str(exc).split())}") from None
        return QueryResult(variables=variables, rows=rows, truncated=truncated)

    def _query_in_child(self, checked, limits: QueryLimits) -> QueryResult:
        """The query in a child process (store_query_worker.py), killed at the timeout or
        once it has sent one row past the cap."""
        request = {"store": str(self.path / OXIGRAPH_DIR), "query": checked.text, "rows": limits.rows}
        child = subprocess.Popen([sys.executable, _WORKER], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            child.stdin.write(json.dumps(request).encode())
            child.stdin.close()
            lines = (json.loads(line) for line in _lines(child.stdout, limits.timeout))
            head = next(lines, None)
            if head is None:
                child.wait()
                detail = " ".join(child.stderr.read(400).decode("utf-8", "replace").split()[-12:])
                raise UserError(f"SPARQL error: the query process ended without an answer ({detail})")
            if "error" in head:
                raise UserError(f"SPARQL error: {head['error']}")
            if "boolean" in head:
                return QueryResult(boolean=bool(head["boolean"]))
            rows, truncated = take_rows((tuple(_from_json(t) for t in row) for row in lines), limits.rows)
            return QueryResult(variables=head["variables"], rows=rows, truncated=truncated)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            child.stdout.close()
            child.stderr.close()

    def close(self) -> None:
        self.index.close()
        del self.store


def _from_json(t: list | None) -> Node | None:
    """A term as store_query_worker.py writes it."""
    if t is None:
        return None
    kind, value, language, datatype = t
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if language:
        return Literal(value, lang=language)
    return Literal(value) if datatype == XSD_STRING else Literal(value, datatype=URIRef(datatype))


def _lines(stream, timeout: float) -> Iterator[bytes]:
    """Lines of a child's output as they come; a UserError once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                yield line
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise timeout_error(timeout)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                if buffer:
                    yield buffer
                return
            buffer += chunk

"""Reading RDF files: syntax from the extension (``--format`` overrides), gzip, progress,
and errors that name the file and line.

Shared by the in-memory backend (rdflib parses) and the on-disk store (pyoxigraph parses).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from dialogqa.errors import UserError

# Canonical names are rdflib's plugin names; aliases are what people type.
FORMATS = ("turtle", "nt", "nquads", "trig", "xml", "json-ld", "n3")
QUAD_FORMATS = frozenset({"nquads", "trig"})
_ALIASES = {
    "ttl": "turtle", "turtle": "turtle",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "nt11": "nt",
    "nq": "nquads", "nquads": "nquads", "n-quads": "nquads",
    "trig": "trig",
    "xml": "xml", "rdf": "xml", "rdfxml": "xml", "rdf/xml": "xml", "owl": "xml", "pretty-xml": "xml",
    "json-ld": "json-ld", "jsonld": "json-ld", "json": "json-ld",
    "n3": "n3",
}
_EXTENSIONS = {
    ".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".ntriples": "nt", ".nq": "nquads",
    ".nquads": "nquads", ".trig": "trig", ".rdf": "xml", ".owl": "xml", ".xml": "xml",
    ".rdfxml": "xml", ".jsonld": "json-ld", ".json": "json-ld", ".n3": "n3",
}
PROGRESS_MIN_BYTES = 4 << 20  # smaller files load before a bar would be worth drawing


def canonical_format(fmt: str) -> str:
    name = _ALIASES.get(fmt.strip().lower())
    if name is None:
        raise UserError(f"unknown RDF format {fmt!r} for --format: use one of {', '.join(FORMATS)}")
    return name


def guess_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The syntax of a file: ``fmt`` when given, else from its extension (``.gz`` ignored)."""
    if fmt:
        return canonical_format(fmt)
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    found = _EXTENSIONS.get(os.path.splitext(name)[1])
    if found is None:
        raise UserError(
            f"{path}: cannot tell the RDF syntax from the file name; give --format "
            f"({', '.join(FORMATS)})"
        )
    return found


def check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file")
    if p.is_dir():
        raise UserError(f"{path}: is a directory, expected an RDF file")
    if not os.access(p, os.R_OK):
        raise UserError(f"{path}: cannot read the file (permission denied)")
    return p


class ProgressReader(io.RawIOBase):
    """A binary file that reports how many (compressed) bytes were read so far."""

    def __init__(self, raw, on_read: Callable[[int], None]):
        super().__init__()
        self.raw = raw
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.on_read(n)
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


class LoadReporter(Protocol):
    """Where a load reports its progress. The core only calls it; the commands draw it (a
    bar on the terminal, commands/progress.py), the chat passes none."""

    def start(self, name: str, total_bytes: int) -> None: ...

    def update(self, new_bytes: int, triples: int) -> None: ...

    def finish(self, triples: int, seconds: float) -> None: ...

    def note(self, text: str) -> None: ...


class LoadProgress:
    """Bytes read and triples loaded of one file, told to a ``LoadReporter`` for files worth it."""

    def __init__(self, path: Path, reporter: LoadReporter | None):
        self.size = path.stat().st_size
        self.triples = 0
        self.started = time.perf_counter()
        self.counter: Callable[[], int] | None = None  # how many triples so far, if known
        self._shown = 0.0
        self.reporter = reporter if reporter and self.size >= PROGRESS_MIN_BYTES else None
        if self.reporter is not None:
            self.reporter.start(path.name, self.size)

    def read(self, n: int) -> None:
        if self.reporter is not None:
            now = time.perf_counter()
            if self.counter is not None and now - self._shown > 0.5:
                self._shown = now
                self.triples = self.counter()
            self.reporter.update(n, self.triples)

    def add_triples(self, n: int, count: int | None = None) -> None:
        self.triples = count if count is not None else self.triples + n
        if self.reporter is not None:
            self.reporter.update(0, self.triples)

    def close(self) -> None:
        if self.reporter is not None:
            self.reporter.finish(self.triples, time.perf_counter() - self.started)


@contextmanager
def open_rdf(path: str | os.PathLike, progress: "LoadReporter | None" = None) -> Iterator[tuple[io.BufferedIOBase, LoadProgress]]:
    """The file's bytes (decompressed when it ends in .gz) and its progress reporter."""
    p = check_file(path)
    bar = LoadProgress(p, progress)
    raw = ProgressReader(open(p, "rb"), bar.read)
    stream: io.BufferedIOBase = io.BufferedReader(raw, buffer_size=1 << 20)
    if p.name.lower().endswith(".gz"):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    try:
        yield stream, bar
    except (EOFError, gzip.BadGzipFile, OSError) as exc:  # truncated or not really gzip
        raise UserError(f"{path}: cannot read the file ({exc})") from None
    finally:
        stream.close()
        bar.close()


# -- turning parser errors into "FILE:LINE: what was wrong" --------------------------------

_AT_LINE = re.compile(r"(?:at|on) line (\d+)")
_SAX_PLACE = re.compile(r"^\S*:(\d+):\d+: ")  # rdflib's RDF/XML errors: "SYSTEM-ID:LINE:COLUMN: what"


def describe_parse_error(path: str | os.PathLike, exc: BaseException) -> str:
    """One line naming file, line (when the parser says) and what was wrong."""
    line: int | None = None
    what = ""
    name = type(exc).__name__
    if name == "BadSyntax":  # rdflib's Turtle/TriG/N3 parser
        m = _AT_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
        what = f"bad syntax ({getattr(exc, '_why', '') or 'unexpected input'})"
    elif hasattr(exc, "getLineNumber"):  # xml.sax.SAXParseException
        line = exc.getLineNumber()
        what = f"bad RDF/XML ({exc.getMessage()})"
    elif name == "ParserError" and (m := _SAX_PLACE.match(str(exc))):  # rdflib's RDF/XML parser
        line = int(m.group(1))
        what = f"bad RDF/XML ({str(exc)[m.end():]})"
    elif getattr(exc, "lineno", None):  # json.JSONDecodeError, pyoxigraph's SyntaxError
        line = exc.lineno
        what = getattr(exc, "msg", None) or str(exc)
        what = re.sub(r"^Parser error (at line \d+ )?", "", what)
    else:
        what = str(exc)
        m = _AT_LINE.search(what)
        line = int(m.group(1)) if m else None
    what = " ".join(what.split())
    if len(what) > 200:
        what = what[:197] + "..."
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: {what or name}"


def has_line_number(message: str, path: str | os.PathLike) -> bool:
    return re.match(re.escape(str(path)) + r":\d+: ", message) is not None


def base_iri(path: str | os.PathLike) -> str:
    """What relative IRIs in a file are resolved against, whichever parser reads it."""
    return Path(path).resolve().as_uri()


def locate_with_oxigraph(path: str | os.PathLike, fmt: str) -> str | None:
    """Where a file is broken, as pyoxigraph's parser reports it (it gives line numbers for
    N-Triples/N-Quads, where rdflib's parser gives none); None when it finds no error.
    Where pyoxigraph gives no line (RDF/XML), the line it had read up to when it stopped."""
    import pyoxigraph

    ox_format = OXIGRAPH_FORMATS.get(fmt)
    if ox_format is None:
        return None
    lines = None
    try:
        with open_rdf(path) as (stream, _):
            lines = _LineByLine(stream)
            for _quad in pyoxigraph.parse(lines, format=getattr(pyoxigraph.RdfFormat, ox_format),
                                          base_iri=base_iri(path)):
                pass
    except SyntaxError as exc:
        if not getattr(exc, "lineno", None) and lines is not None and lines.line:
            exc.lineno = lines.line
        return describe_parse_error(path, exc)
    except Exception:  # noqa: BLE001 - this is only a second opinion on an error already raised
        return None
    return None


class _LineByLine(io.RawIOBase):
    """A binary file given to a parser at most a line per read: a parser that stops at an
    error has read up to the end of the line it stopped in (pyoxigraph's RDF/XML parser
    reads an element to its end, then checks it), so that line is where the error is."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.line = 0  # of the last byte read
        self._ended = True  # that byte ends its line

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.readline(len(buffer))
        if data:
            self.line += self._ended
            self._ended = data.endswith(b"\n")
            buffer[:len(data)] = data
        return len(data)


OXIGRAPH_FORMATS = {
    "turtle": "TURTLE", "nt": "N_TRIPLES", "nquads": "N_QUADS", "trig": "TRIG",
    "xml": "RDF_XML", "json-ld": "JSON_LD", "n3": "N3",
}

"""A person's own SPARQL (``kg query``, the chat's /sparql), made safe for every backend:
read-only decided by a real parse, SERVICE refused unless allowed, rows capped, a timeout.

What is checked is what runs.  The text is first rewritten into a canonical form with no
comments and with every string literal and IRI written afresh by ``sparql_text`` (only
ECHAR escapes, no raw line breaks, no ``\\u`` escape a parser might expand first).  Parsers
disagree on the dropped parts: the SPARQL grammar ends a ``#`` comment at a carriage return,
rdflib only at a line feed, so ``#\\rINSERT ...`` is a comment to rdflib and an update to
Virtuoso.  rdflib then parses the canonical text; that parse decides the query form and
finds SERVICE, and the canonical text is what the endpoint, oxigraph or rdflib runs.

The backends' ``query(sparql, limits)`` share ``check_query``, ``take_rows`` and
``run_with_timeout`` from here.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from dialogqa.errors import UserError
from dialogqa.kg.sparql_text import sparql_iri, sparql_literal

DEFAULT_ROWS = 1000
DEFAULT_TIMEOUT = 30.0  # seconds; the endpoint's request timeout was already 30 s


@dataclass(frozen=True)
class QueryLimits:
    """How far a query may go: ``rows`` (None: all), ``timeout`` in seconds (None: none),
    and whether SERVICE may reach other endpoints over the network."""

    rows: int | None = DEFAULT_ROWS
    timeout: float | None = DEFAULT_TIMEOUT
    allow_service: bool = False

    def __post_init__(self):
        if self.rows is not None and self.rows < 1:
            raise UserError(f"--limit must be at least 1, got {self.rows}")
        if self.timeout is not None and not 0 < self.timeout < 1e7:  # also NaN and inf
            raise UserError(f"--timeout must be more than 0 seconds (and finite), got {self.timeout:g}")


# The project's own fixed queries (graph statistics): every row, no clock; still no SERVICE.
UNLIMITED = QueryLimits(rows=None, timeout=None)


@dataclass(frozen=True)
class CheckedQuery:
    form: str  # "SELECT" or "ASK"
    text: str  # the canonical text: what runs
    parsed: Any  # rdflib's parse of ``text`` (ParseResults), for rdflib to run without re-parsing
    limit: int | None  # the query's own top-level LIMIT


def check_query(sparql: str, limits: QueryLimits) -> CheckedQuery:
    """The canonical text of a read-only SELECT or ASK; a UserError for anything else."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    text = canonical_query(sparql)
    if not text.strip():
        raise UserError("SPARQL error: only SELECT and ASK queries are supported; the query is empty")
    try:
        parsed = parseQuery(text)
    except ParseException as exc:
        try:
            parseUpdate(text)
        except Exception:
            raise UserError(f"SPARQL error: {exc}") from None
        raise UserError("SPARQL error: only SELECT and ASK queries are supported (read-only), "
                        "got an update") from None
    except ValueError as exc:  # a code point rdflib cannot expand
        raise UserError(f"SPARQL error: {exc}") from None
    except RecursionError:
        raise UserError("SPARQL error: the query nests too deeply to parse") from None
    body = parsed[1]
    form = {"SelectQuery": "SELECT", "AskQuery": "ASK"}.get(body.name)
    if form is None:
        got = body.name.replace("Query", "").upper()
        raise UserError(f"SPARQL error: only SELECT and ASK queries are supported (read-only), got {got}")
    if not limits.allow_service and _has_service_safely(parsed):
        raise UserError("SPARQL error: SERVICE (a query to another endpoint over the network) is "
                        "refused; `kg query --allow-service` allows it")
    limit = None
    if "limitoffset" in body and "limit" in body["limitoffset"]:
        limit = int(body["limitoffset"]["limit"])
    return CheckedQuery(form, text, parsed, limit)


def _has_service_safely(parsed: Any) -> bool:
    try:
        return _has_service(parsed)
    except RecursionError:
        raise UserError("SPARQL error: the query nests too deeply to check") from None


def _has_service(node: Any) -> bool:
    if getattr(node, "name", None) == "ServiceGraphPattern":
        return True
    if isinstance(node, dict):
        return any(_has_service(v) for v in node.values())
    if isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        return any(_has_service(v) for v in node)
    return False


# -- the canonical text ------------------------------------------------------------------

_PLAIN = re.compile(r"[^#'\"<\\\r]+")
_COMMENT = re.compile(r"#[^\r\n]*")  # the grammar ends a comment at CR or LF
_IRIREF = re.compile(r'<((?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*)>')
_STRINGS = (  # the grammar's four forms, long ones first; escapes are checked when decoded
    re.compile(r"'''((?:(?:'|'')?(?:[^'\\]|\\.))*)'''", re.DOTALL),
    re.compile(r'"""((?:(?:"|"")?(?:[^"\\]|\\.))*)"""', re.DOTALL),
    re.compile(r"'((?:[^'\\\n\r]|\\.)*)'"),
    re.compile(r'"((?:[^"\\\n\r]|\\.)*)"'),
)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def canonical_query(sparql: str) -> str:
    """The query with comments dropped (ended by CR or LF, as the grammar says), string
    literals and IRIs re-written with only safe escapes, and CR as LF.  A backslash anywhere
    else (``\\u`` escapes between tokens, escaped prefixed names) is refused: parsers differ
    on whether it is expanded before the rest is read."""
    out: list[str] = []
    i, n = 0, len(sparql)
    while i < n:
        m = _PLAIN.match(sparql, i)
        if m:
            out.append(m.group())
            i = m.end()
            continue
        c = sparql[i]
        if c == "#":  # a comment: up to the end of the line, which stays
            i = _COMMENT.match(sparql, i).end()
        elif c in "'\"":
            m = next((m for p in _STRINGS if (m := p.match(sparql, i))), None)
            if m is None:
                raise UserError(f"SPARQL error: unterminated string literal at line {_line(sparql, i)}")
            out.append(sparql_literal(_unescape(m.group(1), sparql, i)))
            i = m.end()
        elif c == "<" and (m := _IRIREF.match(sparql, i)):
            out.append(sparql_iri(_unescape(m.group(1), sparql, i, echar=False)))
            i = m.end()
        elif c == "<":
            out.append(c)  # less-than
            i += 1
        elif c == "\r":
            out.append("\n")
            i += 1
        else:  # a backslash between tokens
            raise UserError(f"SPARQL error: a backslash at line {_line(sparql, i)} outside a string "
                            "or <IRI>; write the character itself or the full <IRI>")
    return "".join(out)


def _unescape(body: str, sparql: str, at: int, echar: bool = True) -> str:
    def one(m: re.Match) -> str:
        code = m.group(1) or m.group(2)
        if code is not None:
            cp = int(code, 16)
            if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                raise UserError(f"SPARQL error: \\u{code} at line {_line(sparql, at)} is not a character")
            return chr(cp)
        if echar and m.group(3) in _ECHAR:
            return _ECHAR[m.group(3)]
        raise UserError(f"SPARQL error: unknown escape \\{m.group(3)} at line {_line(sparql, at)}")

    return _ESCAPE.sub(one, body)


def _line(text: str, at: int) -> int:
    return len(re.findall(r"\r\n?|\n", text[:at])) + 1


_FINAL_LIMIT = re.compile(r"(\bLIMIT\s+)(\d+)((?:\s+OFFSET\s+\d+)?\s*)$"
                          r"|(\bOFFSET\s+\d+\s+LIMIT\s+)(\d+)(\s*)$", re.IGNORECASE)


def with_row_cap(checked: CheckedQuery, rows: int) -> str:
    """The text to send a remote endpoint: a SELECT that returns at most ``rows`` + 1 rows
    (one past the cap says there are more), its own LIMIT lowered when it asks for more."""
    want = rows + 1
    if checked.form != "SELECT" or (checked.limit is not None and checked.limit <= want):
        return checked.text
    if checked.limit is None:
        return f"{checked.text}\nLIMIT {want}"
    # No comment or string can follow the final LIMIT of the canonical text; a LIMIT
    # followed by VALUES is left as it is, and its rows are cut after they arrive.
    return _FINAL_LIMIT.sub(lambda m: (m.group(1) or m.group(4)) + str(want) + (m.group(3) or m.group(6) or ""),
                            checked.text, count=1)


# -- rows and time -----------------------------------------------------------------------

def take_rows(rows: Iterable, limit: int | None) -> tuple[list, bool]:
    """At most ``limit`` rows and whether more were there, pulling one row past the cap
    and no further (the rest is never computed)."""
    if limit is None:
        return list(rows), False
    taken = list(itertools.islice(rows, limit + 1))
    return taken[:limit], len(taken) > limit


def timeout_error(timeout: float) -> UserError:
    return UserError(f"SPARQL query stopped after {timeout:g} s (the timeout; "
                     "`kg query --timeout SECONDS` allows more)")


T = TypeVar("T")


class _Stopped(BaseException):
    """Raised inside a query thread to end it (BaseException: rdflib catches Exception)."""


def run_with_timeout(work: Callable[[], T], timeout: float | None) -> T:
    """``work()`` on a worker thread, stopped at ``timeout``: rdflib evaluates in pure
    Python, so an exception raised into the thread ends it at its next bytecode (a blocking
    socket read, as in an allowed SERVICE, ends only when the socket gives up)."""
    if timeout is None:
        return work()
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = work()
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="sparql-query", daemon=True)
    thread.start()
    try:
        thread.join(timeout)
    except BaseException:  # Ctrl+C while waiting: stop the query too
        _stop(thread)
        raise
    if thread.is_alive():
        _stop(thread)
        raise timeout_error(timeout)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _stop(thread: threading.Thread) -> None:
    import ctypes  # 20 ms to import: only when a query has to be stopped

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stopped))

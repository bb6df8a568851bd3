"""Writing SPARQL safely: terms as SPARQL syntax, user text only ever as an escaped literal,
and the checks that keep ``kg query`` read-only and bounded on a remote endpoint."""

from __future__ import annotations

import re

from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa.errors import UserError

_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LANG = re.compile(r"[a-zA-Z]+(-[a-zA-Z0-9]+)*")


def sparql_literal(text: str, lang: str = "", datatype: str | None = None) -> str:
    """``text`` as a SPARQL string literal that cannot end early: backslash first, then
    quotes and line breaks as ECHAR escapes; other control characters become spaces.
    SPARQL expands ``\\u`` escapes before parsing, even right after an escaped backslash,
    so a "u" that follows a backslash is itself written ``\\U00000075``: a text holding
    ``\\u0022`` stays that text instead of becoming a quote."""
    out = []
    previous = ""
    for c in str(text):
        if previous == "\\" and c in "uU":
            # 8-digit form: a 4-digit one could run on into hex digits that follow it
            out.append("\\U00000075" if c == "u" else "\\U00000055")
        elif c in _ECHAR:
            out.append(_ECHAR[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(" ")
        else:
            out.append(c)
        previous = c
    body = '"' + "".join(out) + '"'
    if lang:
        if not _LANG.fullmatch(lang):
            raise UserError(f"not a language tag: {lang!r}")
        return f"{body}@{lang}"
    if datatype:
        return f"{body}^^{sparql_iri(datatype)}"
    return body


def sparql_iri(iri: str) -> str:
    if _IRI_FORBIDDEN.search(iri):
        raise UserError(f"not an IRI that can be written in SPARQL: {iri!r}")
    return f"<{iri}>"


def sparql_term(term: Node) -> str | None:
    """A term as SPARQL syntax; None for a blank node the endpoint cannot be asked about
    (only Virtuoso's ``nodeID://`` blank nodes can be named in a later query)."""
    if isinstance(term, URIRef):
        return sparql_iri(str(term))
    if isinstance(term, Literal):
        dt = str(term.datatype) if term.datatype is not None and not term.language else None
        return sparql_literal(str(term), term.language or "", dt)
    if isinstance(term, BNode):
        return sparql_iri(str(term)) if str(term).startswith("nodeID://") else None
    raise TypeError(f"unsupported term {term!r}")


# -- user queries ---------------------------------------------------------------------------

_PROLOGUE = re.compile(
    r"(?:\s+|#[^\n]*(?:\n|$)|BASE\s*<[^>]*>|PREFIX\s+[^\s:]*:\s*<[^>]*>)*", re.IGNORECASE)
_FORM = re.compile(r"[A-Za-z]+")
_HAS_LIMIT = re.compile(r"\bLIMIT\s+\d+\s*(?:OFFSET\s+\d+\s*)?$|\bOFFSET\s+\d+\s*LIMIT\s+\d+\s*$",
                        re.IGNORECASE)


def query_form(sparql: str) -> str:
    """SELECT, ASK, CONSTRUCT, DESCRIBE, or an update keyword: the first word after the prologue."""
    rest = sparql[_PROLOGUE.match(sparql).end():]
    m = _FORM.match(rest)
    return m.group().upper() if m else ""


def read_only_query(sparql: str, max_rows: int) -> tuple[str, str]:
    """(form, query to send): SELECT and ASK only, and a SELECT without its own final
    LIMIT gets one, so no query can pull a whole remote graph."""
    form = query_form(sparql)
    if form not in ("SELECT", "ASK"):
        raise UserError(f"only SELECT and ASK queries are supported (read-only), got {form or 'no query'}")
    if form == "SELECT" and not _HAS_LIMIT.search(_strip_trailing_comment(sparql)):
        sparql = f"{sparql}\nLIMIT {int(max_rows)}"
    return form, sparql


def _strip_trailing_comment(sparql: str) -> str:
    lines = sparql.rstrip().split("\n")
    while lines and lines[-1].lstrip().startswith("#"):
        lines.pop()
    return "\n".join(lines).rstrip()

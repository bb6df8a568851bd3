"""Writing SPARQL safely: terms as SPARQL syntax, user text only ever as an escaped literal.
The checks that keep a person's own query read-only and bounded are in sparql_guard.py."""

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

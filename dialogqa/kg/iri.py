"""What is a valid IRI: one rule, whichever way a graph is loaded.

The rule is pyoxigraph's (an absolute IRI as RFC 3987 defines it, after resolving a
relative one against the file): its parsers apply it while ``kg load`` builds a store,
and ``first_bad_iri`` applies the same check to what rdflib parsed for the in-memory
backend (``--kg``, ``kg validate``), which on its own keeps "http://x/a b" or "#x".
"""

from __future__ import annotations

from collections.abc import Iterable

from pyoxigraph import NamedNode
from rdflib.term import Literal, URIRef


def iri_problem(iri: str) -> str | None:
    """Why ``iri`` is not a valid IRI, or None when it is."""
    try:
        NamedNode(iri)
    except ValueError as exc:
        return " ".join(str(exc).split())
    return None


def first_bad_iri(terms: Iterable) -> tuple[str, str] | None:
    """(IRI, what is wrong) for the first invalid IRI among rdflib ``terms`` (a literal's
    datatype counts), or None."""
    for term in terms:
        if isinstance(term, Literal):
            term = term.datatype
        if isinstance(term, URIRef) and (problem := iri_problem(str(term))):
            return str(term), problem
    return None

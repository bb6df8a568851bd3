"""What is a valid IRI: one rule, whichever way a graph is loaded.

The rule is pyoxigraph's (an absolute IRI as RFC 3987 defines it, after resolving a
relative one against the file): its parsers apply it while ``kg load`` builds a store,
and ``invalid_iris`` applies the same check to what rdflib parsed for the in-memory
backend (``--kg``, ``kg validate``), which on its own keeps "http://x/a b" or "#x".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyoxigraph import NamedNode
from rdflib.term import Literal, URIRef


def iri_problem(iri: str) -> str | None:
    """Why ``iri`` is not a valid IRI, or None when it is."""
    try:
        NamedNode(iri)
    except ValueError as exc:
        return " ".join(str(exc).split())
    return None


def invalid_iris(terms: Iterable) -> Iterator[tuple[object, str, str]]:
    """(term, IRI, what is wrong) for each rdflib term among ``terms`` that is or holds an
    invalid IRI: an IRI, or a literal whose datatype is one."""
    for term in terms:
        iri = term.datatype if isinstance(term, Literal) else term
        if isinstance(iri, URIRef) and (problem := iri_problem(str(iri))):
            yield term, str(iri), problem

"""Counts behind ``kg info`` and ``kg validate``.

A local backend counts in one pass of its own (``tally()``: memory when asked, a store when
it was loaded); an endpoint is asked with SPARQL aggregates, so the counting happens where
the data is.
"""

from __future__ import annotations

from collections import Counter

from rdflib.term import URIRef

from dialogqa.kg.labels import LABEL_PREDICATES
from dialogqa.kg.sparql_guard import UNLIMITED  # the graph's own statistics: every row, no clock

_LABEL_VALUES = " ".join(f"<{p}>" for p in LABEL_PREDICATES)


def graph_stats(kg, top: int = 15) -> dict:
    tally = kg.tally()  # None: the backend counts nothing itself, ask it in SPARQL
    if tally is not None:
        entities = tally["entities"]
        n_predicates = len(tally["predicates"])
        top_predicates = sorted(((URIRef(p), n) for p, n in tally["predicates"].items()),
                                key=lambda kv: (-kv[1], str(kv[0])))[:top]
        ns = Counter(tally["namespaces"])
    else:
        entities = _scalar(kg, "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { "
                               "{ ?e ?p ?o } UNION { ?s ?p ?e FILTER(!isLiteral(?e)) } }")
        n_predicates = _scalar(kg, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }")
        res = kg.query("SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p "
                       f"ORDER BY DESC(?n) ?p LIMIT {int(top)}", UNLIMITED)
        top_predicates = [(row[0], int(row[1])) for row in res.rows]
        res = kg.query("SELECT ?ns (COUNT(DISTINCT ?t) AS ?n) WHERE { "
                       "{ ?t ?p ?o } UNION { ?s ?t ?o } UNION { ?s ?p ?t } "
                       "FILTER(isIRI(?t)) BIND(REPLACE(STR(?t), \"[^/#:]+$\", \"\") AS ?ns) } "
                       "GROUP BY ?ns ORDER BY DESC(?n) ?ns LIMIT 20", UNLIMITED)
        ns = Counter({str(row[0]): int(row[1]) for row in res.rows})
    return {
        "name": kg.name,
        "triples": kg.count(),
        "entities": entities,
        "predicates": n_predicates,
        "top_predicates": [{"iri": str(p), "label": kg.label(p), "triples": n}
                           for p, n in top_predicates],
        "namespaces": [{"namespace": k, "terms": v}
                       for k, v in sorted(ns.items(), key=lambda kv: (-kv[1], kv[0]))[:20]],
    }


def label_coverage(kg, examples: int = 10) -> dict:
    """How many entities (subjects) and predicates carry a label a person can read."""
    tally = kg.tally()  # None: the backend counts nothing itself, ask it in SPARQL
    if tally is not None:
        n_entities, n_labelled = tally["subjects"], tally["labelled_subjects"]
        n_predicates, n_labelled_predicates = len(tally["predicates"]), tally["labelled_predicates"]
        unlabelled = tally["unlabelled_examples"][:examples]
    else:
        n_entities = _scalar(kg, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")
        n_labelled = _scalar(kg, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?lp ?l "
                                 f"VALUES ?lp {{ {_LABEL_VALUES} }} FILTER(isLiteral(?l)) }}")
        n_predicates = _scalar(kg, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }")
        n_labelled_predicates = _scalar(
            kg, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { { SELECT DISTINCT ?p WHERE { ?s ?p ?o } } "
                f"?p ?lp ?l VALUES ?lp {{ {_LABEL_VALUES} }} }}")
        res = kg.query("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER NOT EXISTS { ?s ?lp ?l "
                       f"VALUES ?lp {{ {_LABEL_VALUES} }} }} }} LIMIT {int(examples)}", UNLIMITED)
        unlabelled = [str(row[0]) for row in res.rows]
    return {
        "name": kg.name,
        "triples": kg.count(),
        "entities": n_entities,
        "labelled": n_labelled,
        "coverage": n_labelled / n_entities if n_entities else 1.0,
        "predicates": n_predicates,
        "labelled_predicates": n_labelled_predicates,
        "unlabelled_examples": sorted(unlabelled),
    }


def _scalar(kg, sparql: str) -> int:
    res = kg.query(sparql, UNLIMITED)
    return int(res.rows[0][0]) if res.rows and res.rows[0][0] is not None else 0

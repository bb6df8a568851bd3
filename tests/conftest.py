"""Shared fixtures: one small graph that every knowledge-graph backend is tested on."""

from __future__ import annotations

from pathlib import Path

import pytest

# Small but covers what the backends must agree on: every label predicate, language tags,
# an accented label, multi-word labels nested in each other ("New York City" / "York"),
# entities with no label (local-name fallback), a predicate with a label, a literal object.
SMALL_TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
@prefix schemas: <https://schema.org/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Sweden rdfs:label "Sweden"@en, "Suède"@fr, "Sverige" ;
    ex:capital ex:Stockholm ;
    ex:population "10400000"^^xsd:integer ;
    ex:neighbour ex:Norway .
ex:Norway rdfs:label "Norway"@en, "Norvège"@fr ; ex:capital ex:Oslo .
ex:Stockholm rdfs:label "Stockholm"@en ; ex:country ex:Sweden .
ex:Oslo skos:prefLabel "Oslo" ; ex:country ex:Norway .
ex:NewYorkCity skos:prefLabel "New York City"@en ; skos:altLabel "NYC"@en ; ex:country ex:USA .
ex:York rdfs:label "York"@en ; ex:country ex:UK .
ex:USA schema:name "United States of America" .
ex:UK schemas:name "United Kingdom" .
ex:IvoryCoast foaf:name "Côte d'Ivoire" ; ex:capital ex:Yamoussoukro .
ex:capital rdfs:label "capital"@en .
ex:Yamoussoukro ex:country ex:IvoryCoast .
ex:French_Guiana ex:officialLanguage ex:frenchLanguage .
"""
SMALL_TRIPLES = 25


@pytest.fixture
def small_ttl(tmp_path: Path) -> Path:
    path = tmp_path / "small.ttl"
    path.write_text(SMALL_TTL, encoding="utf-8")
    return path

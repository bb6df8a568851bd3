"""Classes in retrieval: the answer-type word names the answer's class ("Which *bands* is Tess
in?"), and a fact between two things the question names is what it asks ("Is Tess a
musician?"), whatever the relation's label; no word of either question is in it."""

import pytest
from rdflib import Graph

from dialogqa.kg import retriever as R
from dialogqa.kg.memory import MemoryKG
from dialogqa.kg.retriever import Retriever

TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Band rdfs:label "band" . ex:Musician rdfs:label "musician" . ex:Album rdfs:label "album" .
ex:Instrument rdfs:label "instrument" .
ex:tess a ex:Musician ; rdfs:label "Tess Okafor" ; ex:memberOf ex:copper, ex:nightjar ;
    ex:plays ex:drums ; ex:birthYear 1983 .
ex:copper a ex:Band ; rdfs:label "Copper Meridian" ; ex:origin ex:leeds .
ex:nightjar a ex:Band ; rdfs:label "Nightjar Assembly" .
ex:lanterns a ex:Album ; rdfs:label "Paper Lanterns" ; ex:albumBy ex:copper ; ex:label ex:halcyon .
ex:halcyon rdfs:label "Halcyon Records" .
ex:leeds rdfs:label "Leeds" .
ex:drums a ex:Instrument ; rdfs:label "Drums" .
ex:memberOf rdfs:label "member of" . ex:plays rdfs:label "instrument" .
ex:birthYear rdfs:label "birth year" . ex:origin rdfs:label "origin city" .
ex:albumBy rdfs:label "album by" . ex:label rdfs:label "record label" .
"""
EX = "http://example.org/"


@pytest.fixture(scope="module")
def kg():
    return MemoryKG(Graph().parse(data=TTL, format="turtle"))


def _top(kg, question, n=2):
    return [(f.s_label, f.p_label, f.o_label) for f in Retriever(kg).retrieve(question, [])[:n]]


def test_the_answer_type_word_names_the_class_of_the_answer(kg):
    top = _top(kg, "Which bands is Tess Okafor in?")
    assert sorted(top) == [("Tess Okafor", "member of", "Copper Meridian"),
                           ("Tess Okafor", "member of", "Nightjar Assembly")]
    # ... read from the other end as well: the albums whose band is named
    assert _top(kg, "Which albums did Copper Meridian make?", 1) == [
        ("Paper Lanterns", "album by", "Copper Meridian")]


def test_class_match_is_what_lifts_them(kg, monkeypatch):
    def member_scores():
        facts = Retriever(kg).retrieve("Which bands is Tess Okafor in?", [])
        return sorted(f.score for f in facts if f.p_label == "member of")

    with_class = member_scores()
    monkeypatch.setattr(R, "CLASS_MATCH", 0.0)
    without = member_scores()
    assert len(with_class) == len(without) == 2
    assert all(b > a for a, b in zip(without, with_class))


def test_a_class_named_as_the_answer_type_is_not_the_topic(kg):
    # "band" is a linked label too, but the question is about Tess
    anchors, _ = Retriever(kg)._anchors("Which bands is Tess Okafor in?", [])
    weights = {str(e): a.weight for e, a in anchors}
    assert weights[EX + "Band"] <= R.TYPE_LINK_DISCOUNT * weights[EX + "tess"] + 1e-9


def test_the_fact_between_two_named_things_comes_first(kg, monkeypatch):
    def scores(question):
        return {(f.p_label, f.o_label): f.score for f in Retriever(kg).retrieve(question, [])}

    asked = ("Does Tess Okafor belong to Nightjar Assembly?", ("member of", "Nightjar Assembly"))
    typed = ("Is Tess Okafor a musician?", ("type", "musician"))
    before = {q: scores(q) for q, _ in (asked, typed)}
    for q, fact in (asked, typed):
        assert max(before[q], key=before[q].get) == fact
    # the type fact has no other way up: its label is "type", its object a class
    monkeypatch.setattr(R, "BOTH_NAMED", 0.0)
    assert scores(typed[0])[typed[1]] < before[typed[0]][typed[1]]


def test_the_class_named_after_a_definite_article_is_the_one_talked_about(kg):
    from dialogqa.records import Fact, Turn
    from rdflib import URIRef

    r = Retriever(kg)
    copper, origin = URIRef(EX + "copper"), URIRef(EX + "origin")
    leeds = URIRef(EX + "leeds")
    history = [Turn("Where are Copper Meridian from?", answer="Leeds",
                    evidence=[Fact(copper, origin, leeds, "Copper Meridian", "origin city", "Leeds")])]
    # "the band" is Copper Meridian: no entity of its own, its weight on the band in focus
    assert r.linked("Who is in the band?") == []
    facts = r.retrieve("Who is in the band?", history)
    assert facts[0].s == copper or facts[0].o == copper
    assert all(f.s != URIRef(EX + "Band") for f in facts[:3])
    # a plural or an indefinite article names the class; so does the answer's type word
    assert URIRef(EX + "Band") in r.linked("Is Tess Okafor in any of the bands?")
    assert URIRef(EX + "Band") in r.linked("Is Copper Meridian a band?")
    assert URIRef(EX + "Album") in r.linked("Which album is the album by Copper Meridian?")

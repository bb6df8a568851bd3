"""The answer-type word ("Which *countries* border Chile?") names what is asked for, not
the relation: it must not pull in the many facts whose predicate happens to be named like it."""

import pytest
from rdflib import Graph, URIRef

from dialogqa.records import Fact
from dialogqa.kg.memory import MemoryKG
from dialogqa.kg.retriever import Question, Retriever
from dialogqa.records import Turn

EX = "http://example.org/"
CITIES = ["Valparaiso", "Concepcion", "Antofagasta", "Temuco", "Rancagua", "Talca", "Arica",
          "Iquique", "Puente Alto", "Chillan", "Osorno", "Calama"]
TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Chile rdfs:label "Chile"@en ; ex:capital ex:Santiago ; ex:currency ex:CLP ;
    ex:sharesBorderWith ex:Argentina, ex:Bolivia, ex:Peru ;
    ex:population "18729160"^^xsd:integer ; ex:areaKm2 "756950"^^xsd:integer ;
    ex:language ex:Spanish, ex:Mapudungun, ex:Quechua .
ex:Argentina rdfs:label "Argentina"@en ; ex:capital ex:BuenosAires .
ex:Bolivia rdfs:label "Bolivia"@en .
ex:Peru rdfs:label "Peru"@en ; ex:sharesBorderWith ex:Ecuador .
ex:Ecuador rdfs:label "Ecuador"@en .
ex:Santiago rdfs:label "Santiago"@en ; ex:country ex:Chile ; ex:capitalOf ex:Chile .
ex:BuenosAires rdfs:label "Buenos Aires"@en ; ex:country ex:Argentina .
ex:CLP rdfs:label "Chilean peso"@en .
ex:Djibouti rdfs:label "Djibouti"@en ; ex:capital ex:DjiboutiCity ; ex:currency ex:DJF .
ex:DjiboutiCity rdfs:label "Djibouti"@en ; ex:country ex:Djibouti .
ex:DJF rdfs:label "Djiboutian franc"@en .
ex:capital rdfs:label "capital"@en .
ex:capitalOf rdfs:label "capital of"@en .
ex:currency rdfs:label "currency"@en .
ex:country rdfs:label "country"@en .
ex:sharesBorderWith rdfs:label "shares border with"@en .
ex:population rdfs:label "population"@en .
ex:areaKm2 rdfs:label "area in km2"@en .
ex:language rdfs:label "language"@en .
""" + "".join(f'ex:City{i} rdfs:label "{name}"@en ; ex:country ex:Chile .\n'
              for i, name in enumerate(CITIES))


def ex(name):
    return URIRef(EX + name)


@pytest.fixture(scope="module")
def kg():
    return MemoryKG(Graph().parse(data=TTL, format="turtle"))


def borders_lead(facts, country="Chile"):
    """Every border fact of ``country`` comes before any city -> country fact."""
    kinds = [f.p for f in facts if f.p in (ex("sharesBorderWith"), ex("country"))]
    borders = [f for f in facts if f.p == ex("sharesBorderWith") and ex(country) in (f.s, f.o)]
    assert borders, [f.triple for f in facts]
    assert kinds[:len(borders)] == [ex("sharesBorderWith")] * len(borders), \
        [(f.s_label, f.p_label, f.o_label) for f in facts[:8]]


def test_answer_type_word_is_found():
    cases = {
        "Which countries border Chile?": "countries",
        "Which two countries border Mongolia?": "countries",
        "Name the countries that border it.": "countries",
        "How many people live there?": "people",
        "What kind of food is it?": "food",
        "In what city?": "city",
    }
    for text, word in cases.items():
        q = Question.parse(text)
        assert q.answer_type, text
        assert q.answer_type <= q.content
        assert Question.parse(text.replace(word, "zzz")).answer_type == {"zzz"}, text
    # no noun after the question word: nothing is the answer type
    for text in ("What is the capital of Chile?", "Where is it?", "Which is bigger?"):
        assert not Question.parse(text).answer_type, text
    # "kind" still asks for a relation ("instance of"), only the noun after it is a type
    kind = Question.parse("What kind of food is it?")
    assert {"kind", "instanc"} <= kind.content - kind.answer_type


def test_a_word_both_type_and_relation_stays_relation():
    q = Question.parse("What languages do people speak in Canada?")
    # "speak" also stands for "language": the stem is a relation word too
    assert "languag" in q.content and "languag" not in q.answer_type


@pytest.mark.parametrize("question", ["Which countries border Chile?",
                                      "Which countries neighbour Chile?",
                                      "Which two countries border Chile?",
                                      "Name the countries that border Chile."])
def test_border_facts_outrank_cities_of_the_country(kg, question):
    facts = Retriever(kg).retrieve(question, [])
    assert facts[0].p == ex("sharesBorderWith") and ex("Chile") in (facts[0].s, facts[0].o)
    borders_lead(facts)


def capital_turn(kg):
    fact = Fact(ex("Chile"), ex("capital"), ex("Santiago"), "Chile", "capital", "Santiago")
    return Turn(user="What is the capital of Chile?", answer="Santiago", evidence=[fact])


def test_a_pronoun_after_a_capital_question(kg):
    # Santiago (the last answer) is in focus and its own "country" fact is read forward,
    # but its answer would be Chile, which the question names: borders still lead
    facts = Retriever(kg).retrieve("Which countries border Chile?", [capital_turn(kg)])
    borders_lead(facts)
    # with a pronoun nothing is named: Santiago's own fact may come first (its answer, Chile,
    # is a country), but none of the other cities' facts come before the borders
    facts = Retriever(kg).retrieve("Which countries does it border?", [capital_turn(kg)])
    borders_lead([f for f in facts if f.s != ex("Santiago")])
    assert ex("sharesBorderWith") in {f.p for f in facts[:2]}


def test_the_type_word_counts_when_it_names_the_answer(kg):
    # "country" names the object of "country": read from the city, the answer is a country
    facts = Retriever(kg).retrieve("Which country is Valparaiso in?", [])
    assert facts[0].triple == (ex("City0"), ex("country"), ex("Chile"))
    # a label ending in "of" names its subject: "Which capital ..." asks for the subject
    r = Retriever(kg)
    assert r._names_subject(ex("capitalOf")) and not r._names_subject(ex("capital"))
    facts = r.retrieve("Which capital belongs to Chile?", [])
    assert {facts[0].triple, facts[1].triple} == {(ex("Santiago"), ex("capitalOf"), ex("Chile")),
                                                  (ex("Chile"), ex("capital"), ex("Santiago"))}


def test_a_type_word_that_is_part_of_the_relation(kg):
    # "What *shares* border with ..." is parsed with "shares" as the type word; since
    # "border" matches the same label, both directions of the relation count alike
    facts = Retriever(kg).retrieve("What shares border with Peru?", [])
    scores = {f.triple: f.score for f in facts}
    inverse = scores[(ex("Chile"), ex("sharesBorderWith"), ex("Peru"))]
    forward = scores[(ex("Peru"), ex("sharesBorderWith"), ex("Ecuador"))]
    assert facts[0].score == max(inverse, forward)
    assert inverse >= forward - 0.5  # only the crowd damping of Chile's edges differs


def test_both_ends_named_by_the_same_word(kg):
    # the country and its capital share a name: the question names both, the type word
    # "capital" still fits the country -> capital reading
    facts = Retriever(kg).retrieve("Tell me the capital of Djibouti.", [])
    assert facts[0].triple == (ex("Djibouti"), ex("capital"), ex("DjiboutiCity"))


def test_more_question_words_pointing_at_a_predicate_win(kg):
    # "languages" and "speak" point at "language", only "people" at "population" (and a
    # single population fact is not damped like Chile's three languages)
    facts = Retriever(kg).retrieve("What languages do people speak in Chile?", [])
    assert facts[0].p == ex("language")
    facts = Retriever(kg).retrieve("How big is Chile in square kilometres?", [])
    assert facts[0].triple[:2] == (ex("Chile"), ex("areaKm2"))

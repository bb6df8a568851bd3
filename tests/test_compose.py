"""Composed answers (dialogue/compose.py): the graph computes lists, counts, yes/no,
comparisons, superlatives and paths; every value a sentence names is a cited fact's."""

import re

import pytest
import torch
from rdflib import RDF, URIRef

from dialogqa.dialogue.compose import Composer, Intent
from dialogqa.dialogue.matching import matches
from dialogqa.dialogue.session import open_session
from dialogqa.kg.memory import MemoryKG
from dialogqa.model.intent import IntentHead, OPS
from dialogqa.records import Fact
from tests.scripted import ScriptedModel

TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:Norway rdfs:label "Norway"@en ; ex:border ex:Sweden, ex:Finland, ex:Russia ; ex:population 5550203 ;
    ex:area 385207 ; ex:capital ex:Oslo ; ex:continent ex:Europe ; ex:founded "0872-01-01"^^xsd:date .
ex:Sweden rdfs:label "Sweden"@en ; ex:border ex:Norway, ex:Finland ; ex:population 10500000 ; ex:area 450295 ;
    ex:capital ex:Stockholm ; ex:continent ex:Europe ; ex:founded "1523-06-06"^^xsd:date .
ex:Finland rdfs:label "Finland"@en ; ex:border ex:Sweden, ex:Norway, ex:Russia ; ex:population 5540720 ;
    ex:area 338424 ; ex:capital ex:Helsinki ; ex:continent ex:Europe .
ex:Russia rdfs:label "Russia"@en ; ex:population 146000000 ; ex:continent ex:Europe .
ex:Oslo rdfs:label "Oslo"@en . ex:Stockholm rdfs:label "Stockholm"@en . ex:Helsinki rdfs:label "Helsinki"@en .
ex:Europe rdfs:label "Europe"@en . ex:Asia rdfs:label "Asia"@en . ex:Japan rdfs:label "Japan"@en ; ex:continent ex:Asia .
ex:border rdfs:label "shares border with" . ex:population rdfs:label "population" .
ex:area rdfs:label "area" . ex:capital rdfs:label "capital" . ex:continent rdfs:label "continent" .
ex:founded rdfs:label "founding date" .
"""
EX = "http://example.org/"


def U(name):
    return URIRef(EX + name)


@pytest.fixture(scope="module")
def kg(tmp_path_factory):
    path = tmp_path_factory.mktemp("g") / "g.ttl"
    path.write_text(TTL, encoding="utf-8")
    return MemoryKG.from_files([str(path)])


def fact(kg, s, p, o, inverse=False):
    s, p, o = U(s), U(p), U(o) if isinstance(o, str) else o
    return Fact(s, p, o, kg.label(s), kg.label(p), kg.label(o), inverse=inverse)


def values_cited(answer: str, evidence) -> bool:
    """Every number in the answer is the lexical form of a cited fact's value."""
    cited = {str(f.o) for f in evidence} | {f.o_label for f in evidence}
    return all(n in cited or n.isdigit() and int(n) <= len(evidence) for n in re.findall(r"\d+", answer))


def test_a_list_names_and_cites_every_value(kg):
    c = Composer(kg).compose(Intent("lookup"), "Which countries border Norway?",
                             fact(kg, "Norway", "border", "Sweden"), [], [U("Norway")], [])
    for name in ("Sweden", "Finland", "Russia"):
        assert matches(name, c.answer)
    assert {f.o for f in c.evidence} == {U("Sweden"), U("Finland"), U("Russia")}
    assert c.answer.startswith("Norway shares border with")


def test_a_count_is_the_number_of_facts_cited(kg):
    c = Composer(kg).compose(Intent("count"), "How many neighbours does it have?",
                             fact(kg, "Norway", "border", "Finland"), [], [], [U("Norway")])
    assert c.answer.startswith("3")
    assert len(c.evidence) == 3


def test_how_many_of_a_number_valued_fact_is_its_value(kg):
    f = Fact(U("Norway"), U("population"), next(kg.triples(U("Norway"), U("population"), None))[2],
             "Norway", "population", "5550203")
    c = Composer(kg).compose(Intent("count"), "How many people live there?", f, [], [], [U("Norway")])
    assert "5550203" in c.answer and c.evidence == [f]
    # where the model also scores groups to count, the number it answered from stays the answer
    members = lambda question, options: [1.0 if o in ("Sweden", "Finland", "Russia") else 0.0 for o in options]
    c = Composer(kg, members=members).compose(Intent("count"), "How many people live there?", f, [], [],
                                              [U("Norway")])
    assert "5550203" in c.answer and c.evidence == [f]


def test_an_it_that_may_mean_either_focus_entity_cites_both_when_they_agree(kg):
    # after Norway and Sweden: "What continent is it in?" is Europe whichever "it" means
    c = Composer(kg).compose(Intent("lookup"), "What continent is it in?",
                             fact(kg, "Norway", "continent", "Europe"), [], [], [U("Norway"), U("Sweden")])
    assert c.answer == "The continent of Norway and Sweden is Europe."
    assert {(f.s, f.o) for f in c.evidence} == {(U("Norway"), U("Europe")), (U("Sweden"), U("Europe"))}
    assert c.topic == [U("Norway")]  # the conversation stays on the entity the model chose


def test_an_it_whose_readings_disagree_names_the_chosen_entity_alone(kg):
    # Japan is in Asia; a named entity leaves nothing ambiguous; a list is not a shared value
    c = Composer(kg).compose(Intent("lookup"), "What continent is it in?",
                             fact(kg, "Norway", "continent", "Europe"), [], [], [U("Norway"), U("Japan")])
    assert c.answer == "The continent of Norway is Europe." and len(c.evidence) == 1
    c = Composer(kg).compose(Intent("lookup"), "What continent is Norway in?",
                             fact(kg, "Norway", "continent", "Europe"), [], [U("Norway")], [U("Norway"), U("Sweden")])
    assert len(c.evidence) == 1
    c = Composer(kg).compose(Intent("lookup"), "Which countries does it border?",
                             fact(kg, "Norway", "border", "Sweden"), [], [], [U("Norway"), U("Finland")])
    assert {f.s for f in c.evidence} == {U("Norway")}


def test_reverse_lookup_lists_the_subjects(kg):
    c = Composer(kg).compose(Intent("lookup"), "Which countries border Russia?",
                             fact(kg, "Norway", "border", "Russia", inverse=True), [], [U("Russia")], [],
                             answer="Norway")
    assert matches("Norway", c.answer) and matches("Finland", c.answer)
    assert {f.s for f in c.evidence} == {U("Norway"), U("Finland")}


def test_yes_when_a_fact_of_the_chosen_predicate_links_them(kg):
    chosen = fact(kg, "Norway", "border", "Sweden")
    c = Composer(kg).compose(Intent("lookup", polar=True), "Does it border Finland?", chosen, [chosen],
                             [U("Finland")], [U("Norway")])
    assert c.answer.startswith("The answer is yes")
    assert c.evidence[0].key() == (EX + "Norway", EX + "border", EX + "Finland")


def test_no_when_none_does_with_what_the_graph_says_instead(kg):
    chosen = fact(kg, "Norway", "continent", "Europe")
    c = Composer(kg).compose(Intent("lookup", polar=True), "Is it in Asia?", chosen, [chosen],
                             [U("Asia")], [U("Norway")])
    assert c.answer.startswith("The answer is no") and matches("Europe", c.answer)


def test_which_has_more_names_the_winner_first(kg):
    ranked = [Fact(U("Sweden"), U("population"), next(kg.triples(U("Sweden"), U("population"), None))[2])]
    c = Composer(kg).compose(Intent("compare"), "Which has more inhabitants, Norway or Sweden?", None, ranked,
                             [U("Norway"), U("Sweden")], [])
    assert c.answer.startswith("Sweden") and "10500000" in c.answer and "5550203" in c.answer
    assert values_cited(c.answer, c.evidence)
    less = Composer(kg).compose(Intent("compare", less=True), "Which has fewer inhabitants, Norway or Sweden?",
                                None, ranked, [U("Norway"), U("Sweden")], [])
    assert less.answer.startswith("Norway")


def test_is_it_larger_than_compares_the_focus(kg):
    ranked = [Fact(U("Norway"), U("area"), next(kg.triples(U("Norway"), U("area"), None))[2])]
    c = Composer(kg).compose(Intent("compare", polar=True), "Is it larger than Finland?", None, ranked,
                             [U("Finland")], [U("Norway")])
    assert c.answer.startswith("The answer is yes") and "385207" in c.answer
    c = Composer(kg).compose(Intent("compare", polar=True), "Is it larger than Sweden?", None, ranked,
                             [U("Sweden")], [U("Norway")])
    assert c.answer.startswith("The answer is no")


def test_dates_compare_as_dates(kg):
    ranked = [Fact(U("Norway"), U("founded"), next(kg.triples(U("Norway"), U("founded"), None))[2])]
    c = Composer(kg).compose(Intent("compare", less=True), "Which was founded earlier, Sweden or Norway?",
                             None, ranked, [U("Sweden"), U("Norway")], [])
    assert c.answer.startswith("Norway")


def test_a_time_comparison_compares_dates_only(kg):
    # the question head reads "older" as a comparison of dates: the populations (ranked
    # first here) are not what is asked
    ranked = [Fact(U("Sweden"), U("population"), next(kg.triples(U("Sweden"), U("population"), None))[2])]
    c = Composer(kg).compose(Intent("compare", less=True, date=True), "Which is older, Sweden or Norway?",
                             None, ranked, [U("Sweden"), U("Norway")], [])
    assert c.answer.startswith("Norway") and "0872-01-01" in c.answer
    assert {f.p for f in c.evidence} == {U("founded")}
    # a size question never compares founding dates, even where the model ranks them first
    dates = [Fact(U("Norway"), U("founded"), next(kg.triples(U("Norway"), U("founded"), None))[2])]
    c = Composer(kg).compose(Intent("compare", date=False), "Which is bigger, Sweden or Norway?",
                             None, dates, [U("Sweden"), U("Norway")], [])
    assert U("founded") not in {f.p for f in c.evidence}


def test_a_time_comparison_without_dates_is_not_in_the_graph(kg):
    # Finland has no founding date: nothing to compare "older" on, so the bot abstains
    # rather than compare populations
    from dialogqa.dialogue.compose import NOT_IN_GRAPH

    c = Composer(kg).compose(Intent("compare", date=True), "Which is older, Finland or Norway?",
                             None, [], [U("Finland"), U("Norway")], [])
    assert c is NOT_IN_GRAPH
    # an old head that does not read dates compares what there is
    c = Composer(kg).compose(Intent("compare"), "Which is older, Finland or Norway?",
                             None, [], [U("Finland"), U("Norway")], [])
    assert c is not NOT_IN_GRAPH and c.answer


def test_superlative_among_the_last_answer(kg):
    from dialogqa.records import Turn

    last = Turn(user="Which countries border Norway?", answer="Norway shares border with Sweden, Finland and Russia.",
                evidence=[fact(kg, "Norway", "border", x) for x in ("Sweden", "Finland", "Russia")])
    ranked = [Fact(U("Sweden"), U("population"), next(kg.triples(U("Sweden"), U("population"), None))[2])]
    c = Composer(kg).compose(Intent("superlative"), "Which of them has the most people?", None, ranked, [], [],
                             [last])
    assert c.answer.startswith("Russia")
    c = Composer(kg).compose(Intent("superlative", less=True), "Which of them has the fewest people?", None,
                             ranked, [], [], [last])
    assert c.answer.startswith("Finland")


def test_path_is_the_shortest_chain_of_cited_facts(kg):
    c = Composer(kg).compose(Intent("path"), "How is Oslo connected to Finland?", None, [],
                             [U("Oslo"), U("Finland")], [])
    assert len(c.evidence) == 2  # Norway capital Oslo; Norway shares border with Finland
    ends = [{f.s, f.o} for f in c.evidence]
    assert U("Oslo") in ends[0] and U("Finland") in ends[1] and U("Norway") in ends[0] & ends[1]


def test_nothing_to_compare_leaves_the_model_answer(kg):
    assert Composer(kg).compose(Intent("compare"), "Which is bigger?", None, [], [], []) is None


class FixedHead:
    """A question head that reads every question the same way."""

    def __init__(self, op="lookup", polar=False, less=False):
        self.answer = (op, polar, less, {})

    def predict(self, x):
        return self.answer


class HeadedModel(ScriptedModel):
    def __init__(self, intent, **kw):
        super().__init__(**kw)
        self.intent = intent

    def read(self, ids):
        return torch.zeros(len(ids), 8)


def test_the_session_answers_a_list_from_the_graph(kg):
    model = HeadedModel(FixedHead("lookup"))
    model.enqueue("Sweden", relevance={"Sweden": 0.9})
    session = open_session(kg, model)
    turn = session.ask("Which countries border Norway?")
    assert all(matches(x, turn.answer) for x in ("Sweden", "Finland", "Russia"))
    assert len(turn.evidence) == 3 and turn.intent == "lookup"


def test_the_session_answers_yes_no(kg):
    model = HeadedModel(FixedHead("lookup", polar=True))
    model.enqueue("Sweden", relevance={"Sweden": 0.9})
    session = open_session(kg, model)
    turn = session.ask("Does Norway border Sweden?")
    assert turn.answer.startswith("The answer is yes") and not turn.abstained


def test_an_intent_head_fits_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(200, 16)
    labels = []
    for row in x:
        op = OPS[int(row[0] > 0) + 2 * int(row[1] > 0.5)]
        labels.append((op, bool(row[2] > 0), bool(row[3] > 0)))
    head = IntentHead(16)
    ops = torch.tensor([OPS.index(o) for o, _, _ in labels])
    head.fit(x, ops, torch.tensor([p for _, p, _ in labels]), torch.tensor([l for _, _, l in labels]),
             torch.ones(200))
    right = sum(head.predict(r)[:3] == l for r, l in zip(x, labels))
    assert right >= 180
    head.save(tmp_path)
    again = IntentHead.load(tmp_path)
    assert [again.predict(r)[:3] for r in x[:20]] == [head.predict(r)[:3] for r in x[:20]]
    assert IntentHead.load(tmp_path / "none") is None


def test_no_without_a_chosen_fact_says_what_the_graph_holds_on_that_kind_of_value(kg):
    # Asia is some country's continent (no schema needed): the answer cites Norway's continent
    c = Composer(kg).compose(Intent("lookup", polar=True), "Is it in Asia?", None, [], [U("Asia")],
                             [U("Norway")])
    assert c.answer.startswith("The answer is no") and matches("Europe", c.answer)
    assert c.evidence[0].key() == (EX + "Norway", EX + "continent", EX + "Europe")


def test_a_refutation_cites_the_entity_asked_about_not_the_chosen_facts_subject(kg):
    chosen = fact(kg, "Finland", "border", "Russia")  # the model looked at a neighbour's fact
    c = Composer(kg).compose(Intent("lookup", polar=True), "Does it border Russia?", chosen, [chosen],
                             [U("Russia")], [U("Sweden")])
    assert c.answer.startswith("The answer is no")
    assert {f.s for f in c.evidence} == {U("Sweden")}


class QueuedHead:
    """A question head reading each question as the next queued intent."""

    def __init__(self, *intents):
        self.intents = list(intents)

    def predict(self, x):
        return self.intents.pop(0) + ({},)


def test_it_after_a_comparison_is_the_entity_asked_about_not_the_winner(kg):
    model = HeadedModel(QueuedHead(("compare", False, False), ("lookup", True, False)))
    model.enqueue("Sweden", relevance={"population": 0.9})
    model.enqueue("Sweden", relevance={"border": 0.9})
    session = open_session(kg, model)
    first = session.ask("Which has more inhabitants, Norway or Sweden?")
    assert first.answer.startswith("Sweden") and first.topic[0] == U("Norway")
    second = session.ask("Does it border Russia?")
    assert second.answer.startswith("The answer is yes")  # Norway does; Sweden does not
    assert second.evidence[0].s == U("Norway")


def test_a_relation_stated_both_ways_is_answered_from_the_topic(kg):
    chosen = fact(kg, "Finland", "border", "Sweden", inverse=True)  # reached from its object
    c = Composer(kg).compose(Intent("lookup"), "Which countries does Sweden share a border with?", chosen,
                             [chosen], [U("Sweden")], [])
    assert {f.s for f in c.evidence} == {U("Sweden")} and c.answer.startswith("Sweden shares border with")


def test_yes_needs_the_chosen_predicate_not_any_link(kg):
    chosen = fact(kg, "Norway", "capital", "Oslo")
    c = Composer(kg).compose(Intent("lookup", polar=True), "Is Europe the capital of Norway?", chosen, [chosen],
                             [U("Europe"), U("Norway")], [])
    assert c.answer.startswith("The answer is no") and matches("Oslo", c.answer)


def test_a_value_written_in_the_question_is_checked_on_the_entity_asked_about(kg):
    # the model looked at another country's population: the value is Norway's all the same
    chosen = Fact(U("Sweden"), U("population"), next(kg.triples(U("Sweden"), U("population"), None))[2],
                  "Sweden", "population", "10500000")
    c = Composer(kg).compose(Intent("lookup", polar=True), "Is the population of Norway 5550203?", chosen,
                             [chosen], [U("Norway")], [U("Sweden")])
    assert c.answer.startswith("The answer is yes") and "5550203" in c.answer
    assert c.evidence[0].key()[:2] == (EX + "Norway", EX + "population")
    # unnamed: the conversation's entity; a value it lacks is refuted with the one it has
    c = Composer(kg).compose(Intent("lookup", polar=True), "Is its population 42?", chosen, [chosen], [],
                             [U("Norway")])
    assert c.answer.startswith("The answer is no")
    c = Composer(kg).compose(Intent("lookup", polar=True), "Does it have 385207 as its area?", chosen,
                             [chosen], [], [U("Norway")])
    assert c.answer.startswith("The answer is yes") and "385207" in c.answer


def test_a_class_the_question_names_is_not_an_entity_asked_about(tmp_path):
    path = tmp_path / "c.ttl"
    path.write_text("""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:ana a ex:Person ; rdfs:label "Ana" ; ex:dept ex:ops . ex:ops a ex:Department ; rdfs:label "Operations" ;
    ex:head ex:bo . ex:bo rdfs:label "Bo" . ex:Department rdfs:label "department" .
ex:dept rdfs:label "department" . ex:head rdfs:label "head of department" .
""", encoding="utf-8")
    g = MemoryKG.from_files([str(path)])
    chosen = Fact(U("ops"), U("head"), U("bo"), "Operations", "head of department", "Bo")
    # the question names the linking predicate (the retriever's lexical match stands in here)
    named = lambda question, p: 1.0 if p == U("dept") else 0.0
    c = Composer(g, predicate_score=named).compose(
        Intent("lookup", polar=True), "Is Operations its department?", chosen, [chosen],
                            [U("ops"), U("Department")], [U("ana")])
    assert c.answer.startswith("The answer is yes")
    assert c.evidence[0].key() == (EX + "ana", EX + "dept", EX + "ops")


def test_a_text_value_counts_on_the_predicate_the_question_names(tmp_path):
    path = tmp_path / "t.ttl"
    path.write_text("""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:ana rdfs:label "Ana" ; ex:title "director" ; ex:motto "be a director" ; ex:boss ex:bo .
ex:bo rdfs:label "Bo" ; ex:title "analyst" .
ex:title rdfs:label "job title" . ex:motto rdfs:label "motto" . ex:boss rdfs:label "manager" .
""", encoding="utf-8")
    g = MemoryKG.from_files([str(path)])
    names = lambda question, p: 1.0 if p == U("title") and "job title" in question else 0.0
    composer = Composer(g, predicate_score=names)
    # no fact chosen; "it" is Ana, though Bo (the last answer) is the foremost entity
    c = composer.compose(Intent("lookup", polar=True), "Does it have director as job title?", None, [], [],
                         [U("bo"), U("ana")])
    assert c.answer.startswith("The answer is yes")
    assert c.evidence[0].key() == (EX + "ana", EX + "title", "director")
    # a text that only some other predicate holds is no value of the one asked about
    assert composer.compose(Intent("lookup", polar=True), "Is its boss a director?", None, [], [],
                            [U("ana")]) is None


def test_a_count_is_about_the_entity_not_the_class_the_question_names(tmp_path):
    path = tmp_path / "d.ttl"
    path.write_text("""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:ana a ex:Person ; rdfs:label "Ana" ; ex:dept ex:ops . ex:cy a ex:Person ; rdfs:label "Cy" ; ex:dept ex:ops .
ex:bo a ex:Person ; rdfs:label "Bo" ; ex:dept ex:ops .
ex:ops a ex:Department ; rdfs:label "Operations" ; ex:head ex:bo . ex:Department rdfs:label "department" .
ex:dept rdfs:label "department" . ex:head rdfs:label "head of department" .
""", encoding="utf-8")
    g = MemoryKG.from_files([str(path)])
    chosen = Fact(U("ops"), U("head"), U("bo"), "Operations", "head of department", "Bo")  # the model's pick
    members = lambda question, options: [0.0] * len(options)
    c = Composer(g, members=members).compose(
        Intent("count", many=True), "How many employees share the department Operations?", chosen, [chosen],
        [U("Department"), U("ops")], [])
    assert c.answer.startswith("3") and {f.s for f in c.evidence} == {U("ana"), U("bo"), U("cy")}


def test_a_count_counts_the_topics_own_values_of_the_property_the_question_names(tmp_path):
    """"How many skills does Lisa have?" counts her skills, not the people she manages, even
    where the model's reading of the members prefers the people; a property reached backwards
    ("the manager of" Bo and Cy) is not named by the question's words."""
    path = tmp_path / "c.ttl"
    path.write_text("""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:lisa rdfs:label "Lisa" ; ex:skill ex:py, ex:stats .
ex:bo rdfs:label "Bo" ; ex:manager ex:lisa . ex:cy rdfs:label "Cy" ; ex:manager ex:lisa .
ex:al rdfs:label "Al" ; ex:manager ex:lisa .
ex:py rdfs:label "Python" . ex:stats rdfs:label "Statistics" .
ex:skill rdfs:label "skill" . ex:manager rdfs:label "manager" .
""", encoding="utf-8")
    g = MemoryKG.from_files([str(path)])
    chosen = Fact(U("bo"), U("manager"), U("lisa"), "Bo", "manager", "Lisa", inverse=True)  # the model's pick
    people_first = lambda question, options: [1.0 if o in ("Bo", "Cy", "Al") else 0.0 for o in options]
    c = Composer(g, members=people_first, predicate_score=lambda q, p: 1.0 if p == U("skill") else 0.0).compose(
        Intent("count"), "How many skills does Lisa have?", chosen, [chosen], [U("lisa")], [])
    assert c.answer.startswith("2") and {f.o for f in c.evidence} == {U("py"), U("stats")}
    # a question naming no property of hers leaves the choice to the model's reading
    c = Composer(g, members=people_first, predicate_score=lambda q, p: 0.0).compose(
        Intent("count"), "How many people report to Lisa?", chosen, [chosen], [U("lisa")], [])
    assert c.answer.startswith("3")


YEARS = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:Larks rdfs:label "The Velvet Larks" ; ex:formed "1998"^^xsd:gYear ; ex:tracks 11 .
ex:Foxes rdfs:label "The Paper Foxes" ; ex:formed "2004"^^xsd:gYear ; ex:tracks 9 .
ex:Harriet rdfs:label "Harriet Quayle" ; ex:born 1978 ; ex:height 170 .
ex:Dominic rdfs:label "Dominic Ashworth" ; ex:born 1971 ; ex:height 182 .
ex:formed rdfs:label "formed in" . ex:born rdfs:label "birth year" .
ex:tracks rdfs:label "number of tracks" . ex:height rdfs:label "height" .
"""


def test_years_compare_as_dates(tmp_path):
    from dialogqa.dialogue.compose import comparable, is_date

    path = tmp_path / "y.ttl"
    path.write_text(YEARS, encoding="utf-8")
    kg = MemoryKG.from_files([str(path)])
    formed = next(kg.triples(U("Larks"), U("formed"), None))[2]
    assert is_date(formed) and comparable(formed) < comparable(next(kg.triples(U("Foxes"), U("formed"), None))[2])
    # "Which band has been around longer?": an xsd:gYear is a date; the earlier one wins
    c = Composer(kg).compose(Intent("compare", less=True, date=True), "Which has been around longer, "
                             "The Paper Foxes or The Velvet Larks?", None, [], [U("Foxes"), U("Larks")], [])
    assert c.answer.startswith("The Velvet Larks") and {f.p for f in c.evidence} == {U("formed")}
    # "Who is older?" where the graph keeps a birth year as a plain number: the number that
    # reads as a year is compared, not the height
    c = Composer(kg).compose(Intent("compare", less=True, date=True), "Who is older, Harriet Quayle or "
                             "Dominic Ashworth?", None, [], [U("Harriet"), U("Dominic")], [])
    assert c.answer.startswith("Dominic Ashworth") and {f.p for f in c.evidence} == {U("born")}


BAND = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Album rdfs:label "album" . ex:Musician rdfs:label "musician" .
ex:Larks rdfs:label "The Velvet Larks" .
ex:Harriet a ex:Musician ; rdfs:label "Harriet Quayle" ; ex:memberOf ex:Larks .
ex:Dominic a ex:Musician ; rdfs:label "Dominic Ashworth" ; ex:memberOf ex:Larks .
ex:Nell a ex:Musician ; rdfs:label "Nell Fairbairn" ; ex:memberOf ex:Larks .
ex:Lanterns a ex:Album ; rdfs:label "Paper Lanterns" ; ex:albumBy ex:Larks .
ex:Weather a ex:Album ; rdfs:label "Glass Weather" ; ex:albumBy ex:Larks .
ex:memberOf rdfs:label "member of" . ex:albumBy rdfs:label "album by" .
"""


def test_a_count_counts_the_group_whose_class_the_question_names(tmp_path):
    path = tmp_path / "band.ttl"
    path.write_text(BAND, encoding="utf-8")
    kg = MemoryKG.from_files([str(path)])
    # the model's pick (here a member) and its own scoring of the groups both say "people":
    # the class the question names wins
    chosen = Fact(U("Harriet"), U("memberOf"), U("Larks"), "Harriet Quayle", "member of",
                  "The Velvet Larks", inverse=True)
    composer = Composer(kg, members=lambda question, labels: [1.0 if "Quayle" in x else 0.0 for x in labels])
    c = composer.compose(Intent("count"), "How many albums have The Velvet Larks made?", chosen, [chosen],
                         [U("Larks")], [])
    assert c.answer.startswith("2") and {f.p for f in c.evidence} == {U("albumBy")}
    # no class named: the model's scoring decides, as before
    c = composer.compose(Intent("count"), "How many people are in The Velvet Larks?", chosen, [chosen],
                         [U("Larks")], [])
    assert c.answer.startswith("3") and {f.p for f in c.evidence} == {U("memberOf")}


def test_yes_no_on_what_kind_of_thing_it_is(tmp_path):
    path = tmp_path / "k.ttl"
    path.write_text("""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:kofi a ex:Nurse ; rdfs:label "Kofi" ; ex:ward ex:heron ; ex:boss ex:owen .
ex:owen a ex:Consultant ; rdfs:label "Owen" ; ex:ward ex:heron .
ex:heron a ex:Ward ; rdfs:label "Heron Ward" .
ex:Nurse rdfs:label "nurse" . ex:Doctor rdfs:label "doctor" . ex:Ward rdfs:label "ward" .
ex:Consultant rdfs:label "consultant" ; rdfs:subClassOf ex:Senior . ex:Senior rdfs:subClassOf ex:Doctor .
ex:ward rdfs:label "works in" . ex:boss rdfs:label "supervisor" .
""", encoding="utf-8")
    g = MemoryKG.from_files([str(path)])
    composer = Composer(g, predicate_score=lambda question, p: 0.0)
    polar = Intent("lookup", polar=True)
    # the model chose a fact linking Owen with the ward in focus: not what is asked
    chosen = Fact(U("owen"), U("ward"), U("heron"), "Owen", "works in", "Heron Ward")
    c = composer.compose(polar, "Is Owen one of the nurses?", chosen, [chosen], [U("owen"), U("Nurse")],
                         [U("heron")])
    assert c.answer.startswith("The answer is no") and "consultant" in c.answer
    assert [f.key() for f in c.evidence] == [(EX + "owen", str(RDF.type), EX + "Consultant")]
    # a subclass's member is a member
    c = composer.compose(polar, "Is Owen a doctor?", None, [], [U("owen"), U("Doctor")], [])
    assert c.answer.startswith("The answer is yes")
    # "he": the conversation's foremost entity
    c = composer.compose(polar, "Is he a nurse?", None, [], [U("Nurse")], [U("kofi"), U("heron")])
    assert c.answer.startswith("The answer is yes") and c.evidence[0].o == U("Nurse")
    # two things named: a link between them is asked for, as before
    c = composer.compose(polar, "Does Kofi report to Owen, the doctor?", None, [], [U("kofi"), U("owen"), U("Doctor")], [])
    assert c is not None and c.evidence[0].p == U("boss")
    # a question naming a relation of the one in focus asks for that relation
    names = Composer(g, predicate_score=lambda question, p: 1.0 if p == U("ward") else 0.0)
    c = names.compose(polar, "Is Heron Ward his ward?", None, [], [U("heron"), U("Ward")], [U("kofi")])
    assert c.answer.startswith("The answer is yes") and c.evidence[0].p == U("ward")


def test_a_count_or_list_keeps_the_members_of_the_class_the_question_names(tmp_path):
    path = tmp_path / "w.ttl"
    path.write_text("""@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:kofi a ex:Nurse ; rdfs:label "Kofi" ; ex:ward ex:heron .
ex:ana a ex:Nurse ; rdfs:label "Ana" ; ex:ward ex:heron .
ex:owen a ex:Doctor ; rdfs:label "Owen" ; ex:ward ex:heron .
ex:heron a ex:Ward ; rdfs:label "Heron Ward" .
ex:Nurse rdfs:label "nurse" . ex:Doctor rdfs:label "doctor" . ex:Ward rdfs:label "ward" .
ex:ward rdfs:label "works in" .
""", encoding="utf-8")
    g = MemoryKG.from_files([str(path)])
    chosen = Fact(U("owen"), U("ward"), U("heron"), "Owen", "works in", "Heron Ward", inverse=True)
    composer = Composer(g)
    c = composer.compose(Intent("count"), "How many nurses work in Heron Ward?", chosen, [chosen],
                         [U("Nurse"), U("heron")], [])
    assert c.answer.startswith("2") and {f.s for f in c.evidence} == {U("kofi"), U("ana")}
    c = composer.compose(Intent("lookup", many=True), "Which doctors work in Heron Ward?", chosen, [chosen],
                         [U("Doctor"), U("heron")], [])
    assert [f.s for f in c.evidence] == [U("owen")]
    # no class named: every one
    c = composer.compose(Intent("count"), "How many people work in Heron Ward?", chosen, [chosen], [U("heron")], [])
    assert c.answer.startswith("3")


def test_a_noun_before_of_is_said_with_is():
    # "capital of", "part of": a noun relating its subject ("Oslo is capital of Norway."); a
    # verb before "of" says it itself ("consists of"), as a verb phrase does ("shares border with")
    from dialogqa.lexicon import relational

    assert relational("capital of") == relational("part of") == "participle"
    assert relational("located in") == "participle"
    assert relational("consists of") == relational("shares border with") == "relation"
    assert relational("capital") is None and relational("country of origin") is None

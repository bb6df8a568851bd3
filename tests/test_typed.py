"""Typed turns: the transcript fields (type, match, reject), how they are scored, and the
typed-dialogue generator (datasets/typed.py) whose gold answers come from the graph."""

import json

from rdflib import URIRef

from dialogqa.datasets.typed import TypedConfig, synthesize_typed
from dialogqa.dialogue.compose import parse_intent
from dialogqa.dialogue.matching import answer_correct
from dialogqa.dialogue.replay import compute_metrics
from dialogqa.dialogue.transcript import Conversation, conversation_from_dict, dumps
from dialogqa.kg.memory import MemoryKG
from tests.test_compose import EX, TTL


def test_match_all_needs_every_expected_string():
    assert answer_correct(["Sweden", "Finland"], "Sweden and Finland.", match_all=True)
    assert not answer_correct(["Sweden", "Finland"], "Sweden.", match_all=True)
    assert answer_correct(["Sweden", "Finland"], "Sweden.")


def test_a_reject_string_before_the_expected_one_makes_it_wrong():
    assert answer_correct(["no"], "The answer is no.", reject=["yes"])
    assert not answer_correct(["no"], "No, it does not.", reject=["yes"])  # two letters: case counts
    assert not answer_correct(["no"], "Yes. There is no doubt.", reject=["yes"])
    assert not answer_correct(["Nepal"], "Senegal has fewer than Nepal.", reject=["Senegal"])
    assert answer_correct(["Nepal"], "Nepal: more than Senegal.", reject=["Senegal"])


def test_typed_fields_round_trip_and_bad_ones_are_refused():
    d = {"id": "a", "turns": [{"user": "Is it in Asia?", "expected": ["no"], "type": "boolean",
                               "reject": ["yes"]},
                              {"user": "Which?", "expected": ["A", "B"], "match": "all", "type": "list"}]}
    conv = conversation_from_dict(d, "x")
    assert conv.turns[0].reject == ["yes"] and conv.turns[1].match_all
    again = json.loads(dumps(conv))
    assert again["turns"][1]["match"] == "all" and again["turns"][0]["type"] == "boolean"
    import pytest
    from dialogqa.dialogue.transcript import _Bad

    with pytest.raises(_Bad, match="match"):
        conversation_from_dict({"turns": [{"user": "q", "match": "some"}]}, "x")
    with pytest.raises(_Bad, match="reject"):
        conversation_from_dict({"turns": [{"user": "q", "reject": [1]}]}, "x")


def test_replay_metrics_report_accuracy_per_type():
    conv = conversation_from_dict({"id": "a", "turns": [
        {"user": "q1", "expected": ["yes"], "reject": ["no"], "type": "boolean", "answer": "Yes.", "abstained": False},
        {"user": "q2", "expected": ["3"], "type": "count", "answer": "2", "abstained": False},
        {"user": "q3", "unanswerable": True, "type": "unanswerable", "answer": "x", "abstained": True}]}, "a")
    m = compute_metrics([conv])
    assert m["by_type"]["boolean"]["accuracy"] == 1.0
    assert m["by_type"]["count"]["accuracy"] == 0.0
    assert m["by_type"]["unanswerable"]["accuracy"] == 1.0


def test_typed_dialogues_carry_gold_answers_the_graph_holds(tmp_path):
    path = tmp_path / "g.ttl"
    path.write_text(TTL, encoding="utf-8")
    kg = MemoryKG.from_files([str(path)])
    convs = list(synthesize_typed(kg, TypedConfig(conversations=40, seed=3, turns=6)))
    again = list(synthesize_typed(kg, TypedConfig(conversations=40, seed=3, turns=6)))
    assert convs == again  # the seed decides
    turns = [t for c in convs for t in c["turns"]]
    types = {t["type"] for t in turns}
    assert {"single", "boolean", "comparison", "count"} <= types
    for t in turns:
        op, polar, less, date, many = parse_intent(t["intent"])
        if t["type"] == "boolean":
            assert polar and t["expected"] in (["yes"], ["no"]) and t["reject"] != t["expected"]
        if t["type"] == "count":
            assert op == "count" and t["expected"][0].isdigit()
        if t["type"] == "comparison":
            # "@": the compared values are dates (what the question head learns to read)
            founded = "http://example.org/founded"
            assert date == all(e[1] == founded for e in t["expected_evidence"])
        if t["type"] == "list":
            assert t["match"] == "all" and len(t["expected"]) >= 2
            assert op == "lookup" and many  # "*": every value is asked for
        elif t["type"] in ("single", "reverse", "chain"):
            assert not many
        if t["type"] == "comparison":
            assert op == "compare" and t["reject"] and t["reject"] != t["expected"]
    # every fact a list, count, yes/no, reverse or comparison answer uses is cited, and the
    # graph holds it; a list's and a count's evidence is one fact per value counted
    for t in turns:
        if t["type"] in ("list", "count", "boolean", "reverse", "comparison", "single"):
            assert t["expected_evidence"], t
            for s, p, o in t["expected_evidence"]:
                hits = [x for x in kg.triples(URIRef(s), URIRef(p), None) if str(x[2]) == o]
                assert hits, (t["user"], s, p, o)
        if t["type"] == "count":
            assert len(t["expected_evidence"]) == int(t["expected"][0])
        if t["type"] == "list":
            assert len(t["expected_evidence"]) == len(t["expected"])
        if t["type"] == "comparison":
            assert len(t["expected_evidence"]) == 2
    # a count of neighbours is what the graph holds
    for t in turns:
        if t["type"] == "count" and "Norway" in t["user"] and "border" in t["user"]:
            assert t["expected"] == ["3"]
    Conversation  # the format's reader accepts every line
    for c in convs:
        conversation_from_dict(c, "x")


def test_comparisons_of_dates_are_marked(tmp_path):
    # "@" in the intent: the question compares dates (the question head learns to read it, so
    # that "Which is older?" never compares populations)
    path = tmp_path / "g.ttl"
    path.write_text(TTL + 'ex:Finland ex:founded "1917-12-06"^^xsd:date .\n', encoding="utf-8")
    kg = MemoryKG.from_files([str(path)])
    convs = synthesize_typed(kg, TypedConfig(conversations=60, seed=4, turns=4, types=("comparison",)))
    compared = [t for c in convs for t in c["turns"] if t["type"] == "comparison"]
    founded = "http://example.org/founded"
    dated = [t for t in compared if parse_intent(t["intent"])[3]]
    assert dated and len(dated) < len(compared)
    for t in compared:
        assert parse_intent(t["intent"])[3] == all(e[1] == founded for e in t["expected_evidence"])


def test_the_head_does_not_learn_that_a_number_lookup_is_not_a_count(tmp_path):
    # "How many people live there?" looks up one number, which a count also answers: such a
    # turn labels nothing; a real lookup and a count do
    import json

    from dialogqa.train.intent import labelled_questions

    path = tmp_path / "t.jsonl"
    turns = [{"user": "How many people live there?", "expected": ["5314336"]},
             {"user": "What is its capital?", "expected": ["Oslo"]},
             {"user": "How many neighbours has it?", "expected": ["3"], "intent": "count"}]
    path.write_text(json.dumps({"id": "c", "turns": turns}) + "\n", encoding="utf-8")
    assert dict(labelled_questions([path])) == {"What is its capital?": "lookup",
                                                "How many neighbours has it?": "count"}


def test_intent_text_round_trips():
    from dialogqa.dialogue.compose import format_intent

    for text in ("compare?<@", "compare<", "superlative@", "lookup*", "lookup?", "count", "path"):
        assert format_intent(*parse_intent(text)) == text
    # direction and dates say nothing of a lookup, every value nothing of a comparison
    assert format_intent("lookup", less=True, date=True) == "lookup"
    assert format_intent("compare", many=True) == "compare"


def test_time_comparisons_are_also_asked_with_a_verb_and_an_adverb(tmp_path):
    # "Who started first, A or B?", "Which has been around longer?": no property named, the
    # adverb says which way (first, earlier, longer: the earlier date wins)
    from dialogqa.datasets.typed import TIME_LESS, TIME_MORE

    path = tmp_path / "g.ttl"
    path.write_text(TTL + 'ex:Finland ex:founded "1917-12-06"^^xsd:date .\n', encoding="utf-8")
    kg = MemoryKG.from_files([str(path)])
    convs = synthesize_typed(kg, TypedConfig(conversations=120, seed=5, turns=4, types=("comparison",)))
    dated = [t for c in convs for t in c["turns"]
             if t["type"] == "comparison" and parse_intent(t["intent"])[3] and not parse_intent(t["intent"])[1]]
    verbs = [t for t in dated if "founding" not in t["user"] and any(
        f" {adv}," in t["user"] or t["user"].endswith(f" {adv}?") for adv in TIME_LESS + TIME_MORE + ("longer",))]
    assert verbs
    dates = {"Norway": "0872-01-01", "Sweden": "1523-06-06", "Finland": "1917-12-06"}
    for t in verbs:
        less = parse_intent(t["intent"])[2]
        earlier = any(w in t["user"] for w in (" first", " earlier", " sooner", " longer"))
        assert less == earlier, t["user"]
        # the gold winner is the earlier date exactly when the question asks for it
        winner, loser = t["expected"][0], t["reject"][0]
        assert (dates[winner] < dates[loser]) == less, t["user"]


def test_single_lookups_are_also_asked_the_graph_s_way(tmp_path):
    """A predicate's dqa:question phrasings ("Which city runs …?": no word of "capital") phrase
    some single lookups, with the subject's name or "it"; they are annotations, never facts to
    ask about; a graph without them gives the dialogues it gave before."""
    path = tmp_path / "g.ttl"
    path.write_text(TTL, encoding="utf-8")
    plain = list(synthesize_typed(MemoryKG.from_files([str(path)]), TypedConfig(conversations=80, seed=3, turns=6)))
    asks = tmp_path / "asks.ttl"
    asks.write_text("""\
@prefix ex: <http://example.org/> .
@prefix dqa: <https://dialogqa.dev/ns#> .
ex:capital dqa:question "Which city runs …?"@en, "From where is …'s government run?"@en .
""", encoding="utf-8")
    kg = MemoryKG.from_files([str(path), str(asks)])
    convs = list(synthesize_typed(kg, TypedConfig(conversations=80, seed=3, turns=6)))
    turns = [t for c in convs for t in c["turns"]]
    phrased = [t for t in turns if t["user"].startswith(("Which city runs", "From where is"))]
    assert phrased and all(t["type"] == "single" for t in phrased)
    for t in phrased:
        (s, p, o), = t["expected_evidence"]
        assert p == "http://example.org/capital"
        assert "…" not in t["user"] and "it's" not in t["user"]
        assert t["user"].endswith(("runs it?", "its government run?")) or kg.label(URIRef(s)) in t["user"]
    assert {"runs it?" in t["user"] or "its government" in t["user"] for t in phrased} == {True, False}
    assert not any("question" in t["user"] for t in turns)  # dqa:question is asked about nowhere
    assert [t["user"] for c in plain for t in c["turns"]] != [t["user"] for t in turns]
    again = list(synthesize_typed(MemoryKG.from_files([str(path)]), TypedConfig(conversations=80, seed=3, turns=6)))
    assert again == plain


def test_lists_counts_and_reverse_lookups_are_also_asked_the_graph_s_way(tmp_path):
    """dqa:question phrasings also ask for every value of a relation ("Who lives next to …?"
    for Norway's three neighbours) and, from "Which <noun> …?", count them ("How many
    countries …"); dqa:inverseQuestion phrasings ("Which countries neighbour …?", the object
    in the slot) ask for the subjects, as a list, a count or a reverse lookup. Gold answers and
    evidence are the graph's, as for any other phrasing."""
    path = tmp_path / "g.ttl"
    path.write_text(TTL, encoding="utf-8")
    asks = tmp_path / "asks.ttl"
    asks.write_text("""\
@prefix ex: <http://example.org/> .
@prefix dqa: <https://dialogqa.dev/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:border dqa:question "Who lives next to …?"@en, "Which countries touch …?"@en ;
    dqa:inverseQuestion "Which countries neighbour …?"@en .
ex:continent dqa:inverseQuestion "Which countries lie in …?"@en, "What is found in …?"@en .
ex:Norway a ex:Country . ex:Sweden a ex:Country . ex:Finland a ex:Country . ex:Russia a ex:Country .
ex:Japan a ex:Country ; ex:population 124000000 . ex:Country rdfs:label "country"@en .
ex:China a ex:Country ; rdfs:label "China"@en ; ex:continent ex:Asia ; ex:population 1410000000 .
""", encoding="utf-8")
    kg = MemoryKG.from_files([str(path), str(asks)])
    turns = [t for c in synthesize_typed(kg, TypedConfig(conversations=150, seed=3, turns=6)) for t in c["turns"]]
    border, continent = EX + "border", EX + "continent"

    def phrased(typ, start):
        return [t for t in turns if t["type"] == typ and t["user"].startswith(start)]

    # every value of the relation, asked the graph's way, with the subject's name or "it"
    listed = phrased("list", "Who lives next to") + phrased("list", "Which countries touch")
    assert listed and {t["user"].endswith(" it?") for t in listed} == {True, False}
    for t in listed:
        assert {p for _s, p, _o in t["expected_evidence"]} == {border}
        assert len(t["expected"]) == len(t["expected_evidence"]) >= 2
    # "Which countries touch …?" counted; "Who lives next to …?" names no noun to count
    counted = phrased("count", "How many countries touch")
    assert counted and not phrased("count", "How many lives")
    for t in counted:
        assert int(t["expected"][0]) == len(t["expected_evidence"]) >= 2
    # the subjects, from the object: listed, counted or looked up
    inverse = [t for t in turns if "neighbour" in t["user"] or "lie in" in t["user"] or "found in" in t["user"]]
    assert {t["type"] for t in inverse} >= {"list", "count", "reverse"}
    assert any(t["type"] == "reverse" and len(t["expected"]) > 1 for t in inverse)
    for t in inverse:
        (_s, p, o), *_ = t["expected_evidence"]
        assert p in (border, continent) and kg.label(URIRef(o)) in t["user"], t
        assert "…" not in t["user"]
        if t["type"] == "count":
            assert t["user"].startswith("How many countries") and int(t["expected"][0]) == len(t["expected_evidence"])
        # worded as the list of subjects is, a reverse lookup with several answers is read as one
        if t["type"] == "reverse" and len(t["expected"]) > 1:
            assert parse_intent(t["intent"])[4], t

"""Synthetic dialogues: deterministic, gold that exists in the graph, every kind of turn."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rdflib import URIRef

from dialogqa.commands.cli import main
from dialogqa.errors import UserError
from dialogqa.kg.memory import MemoryKG
from dialogqa.datasets import synth
from dialogqa.datasets.synth import SynthConfig, Templates, kind_counts, synthesize

KGCONV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kgconv"

TTL = """
@prefix ex: <http://example.org/> .
@prefix wd: <http://www.wikidata.org/prop/direct/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .

ex:capital rdfs:label "capital" .  ex:population rdfs:label "population" .
ex:border rdfs:label "shares border with" .  ex:country rdfs:label "country" .
ex:currency rdfs:label "currency" .  ex:mayor rdfs:label "mayor" .
ex:Country rdfs:label "country" .
ex:blurb rdfs:label "description" .

ex:norway rdfs:label "Norway" ; a ex:Country ; ex:capital ex:oslo ; ex:population 5314336 ;
    ex:border ex:sweden, ex:finland ; ex:currency ex:nok ;
    ex:blurb "A long description that nobody would ever give as the answer to a question about this country." .
ex:sweden rdfs:label "Sweden" ; a ex:Country ; ex:capital ex:stockholm ; ex:population 10183175 ;
    ex:border ex:norway, ex:finland ; ex:currency ex:sek .
ex:finland rdfs:label "Finland" ; a ex:Country ; ex:capital ex:helsinki ; ex:population 5518050 ;
    ex:border ex:norway, ex:sweden ; ex:currency ex:eur .
ex:germany rdfs:label "Germany" ; a ex:Country ; ex:capital ex:berlin ; ex:population 82927922 ;
    ex:currency ex:eur .
ex:oslo rdfs:label "Oslo" ; ex:country ex:norway ; ex:population 1082575 ; ex:mayor ex:anne .
ex:stockholm rdfs:label "Stockholm" ; ex:country ex:sweden ; ex:population 1515017 .
ex:helsinki rdfs:label "Helsinki" ; ex:country ex:finland ; ex:population 658864 .
ex:berlin rdfs:label "Berlin" ; ex:country ex:germany ; ex:population 3426354 .
ex:bergen rdfs:label "Bergen" ; ex:country ex:norway ; ex:population 294029 .
ex:nok rdfs:label "Norwegian Krone" .  ex:sek rdfs:label "Swedish Krona" .  ex:eur rdfs:label "Euro" .
ex:anne rdfs:label "Anne Lindboe" .
ex:Q999 ex:population 12 .
"""


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "small.ttl"
    path.write_text(TTL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kg(graph_file) -> MemoryKG:
    return MemoryKG.from_files([graph_file])


@pytest.fixture(scope="module")
def dialogues(kg) -> list[dict]:
    return list(synthesize(kg, SynthConfig(conversations=150, seed=3)))


def _term(text: str):
    return URIRef(text) if text.startswith("http") else text


def test_same_seed_same_dialogues_other_seed_others(kg, dialogues):
    again = list(synthesize(kg, SynthConfig(conversations=150, seed=3)))
    assert json.dumps(again) == json.dumps(dialogues)
    other = list(synthesize(kg, SynthConfig(conversations=150, seed=4)))
    assert json.dumps(other) != json.dumps(dialogues)


def test_every_gold_triple_exists_and_expected_is_its_answer(kg, dialogues):
    for conv in dialogues:
        assert 4 <= len(conv["turns"]) <= 7
        for turn in conv["turns"]:
            if turn.get("unanswerable"):
                assert turn["expected"] == [] and "expected_evidence" not in turn
                continue
            assert turn["expected"] and turn["expected_evidence"], turn
            ends = set()
            for s, p, o in turn["expected_evidence"]:
                s, p = URIRef(s), URIRef(p)
                found = [x for x in kg.triples(s, p, None) if str(x[2]) == o]
                assert found, (turn["user"], s, p, o)
                ends |= {kg.label(found[0][2]), kg.label(s)}
            assert set(turn["expected"]) <= ends, turn


def test_all_kinds_of_turn_are_present(dialogues):
    counts = kind_counts(dialogues)
    assert set(counts) == {"first", "pronoun", "ellipsis", "chain", "switch", "inverse", "unanswerable"}
    assert counts["first"] == 150
    assert all(conv["turns"][0]["kind"] == "first" for conv in dialogues)


def test_follow_ups_lean_on_context(dialogues):
    for conv in dialogues:
        turns = conv["turns"]
        for prev, turn in zip(turns, turns[1:]):
            if turn["kind"] == "ellipsis":  # same predicate, another subject, no predicate named
                assert turn["expected_evidence"][0][1] == prev_predicate(turns, turn)
                assert "population" not in turn["user"] and "capital" not in turn["user"]
            if turn["kind"] == "chain":  # the previous answer is the new subject
                answer_end = 0 if prev["kind"] == "inverse" else 2
                assert turn["expected_evidence"][0][0] == prev["expected_evidence"][0][answer_end]
                assert prev["kind"] != "unanswerable"


def prev_predicate(turns, turn):
    i = turns.index(turn)
    answered = [t for t in turns[:i] if t.get("expected_evidence")]
    return answered[-1]["expected_evidence"][0][1]


def test_unanswerable_turns_ask_what_the_graph_lacks(kg, dialogues):
    users = [t["user"] for c in dialogues for t in c["turns"] if t["kind"] == "unanswerable"]
    assert users
    # "mayor" is a predicate of this graph, so it is never used as an absent attribute
    index = synth.GraphIndex(kg, max_values=6, max_scan=10_000)
    assert "mayor" not in index.absent and "national anthem" in index.absent


def test_long_literals_unlabelled_entities_and_types_are_not_asked(dialogues):
    text = json.dumps(dialogues)
    assert "nobody would ever give" not in text
    assert "Q999" not in text
    assert "22-rdf-syntax-ns#type" not in text


def test_values_are_asked_with_what_not_which(dialogues):
    for conv in dialogues:
        for turn in conv["turns"]:
            if "population" in turn["user"]:
                assert not turn["user"].startswith("Which"), turn["user"]


def test_verb_phrase_labels_read_as_questions():
    rng = random.Random(0)
    asked = {synth.ask_named("shares border with", "Norway", rng) for _ in range(30)}
    assert "What does Norway share border with?" in asked
    assert all("the shares border with" not in q for q in asked)
    assert synth.ask_inverse("shares border with", "Norway", None, rng) == "What shares border with Norway?"
    assert synth.ask_inverse("located in", "Norway", None, rng) == "What is located in Norway?"
    assert synth._verb_questions("part of", "it")[0] == "What is it part of?"


def test_kgconv_style_templates_are_used_for_wikidata_properties(tmp_path):
    library = [
        {"template_key": {"p": "P36", "hash": 1},
         "templates": [{"left": "which city is the capital of ", "right": "?"},
                       {"left": "what is the seat of government of the island ", "right": "?"}]},
        {"template_key": {"p": "P36", "hash": 2},
         "templates": [{"left": "which city is the capital of ", "right": "?"}]},
        {"template_key": {"p": "-P36", "hash": 3},
         "templates": [{"left": "", "right": " is the capital of which country?"}]},
    ]
    path = tmp_path / "library.json"
    path.write_text(json.dumps(library))
    t = Templates.load(path)
    # the island-only template was written for one kind of subject: dropped
    assert t.forward["P36"] == [("which city is the capital of ", "?")]
    wd = URIRef("http://www.wikidata.org/prop/direct/P36")
    rng = random.Random(0)
    assert t.phrase(t.forward, wd, "Norway", rng) == "Which city is the capital of Norway?"
    assert t.phrase(t.inverse, wd, "Oslo", rng) == "Oslo is the capital of which country?"
    assert t.phrase(t.forward, URIRef("http://example.org/capital"), "Norway", rng) is None


def test_bad_template_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such templates file"):
        Templates.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"template_key": {}}]')
    with pytest.raises(UserError, match="record 0"):
        Templates.load(bad)


@pytest.mark.skipif(not (KGCONV / "template_library.json").exists(), reason="KGConv data absent")
def test_the_real_kgconv_library_loads():
    t = Templates.load(KGCONV / "template_library.json")
    assert len(t.forward) > 200 and "P36" in t.forward and "P36" in t.inverse


def test_a_graph_without_facts_is_a_user_error(tmp_path):
    empty = tmp_path / "labels.ttl"
    empty.write_text('<http://example.org/a> <http://www.w3.org/2000/01/rdf-schema#label> "A" .\n')
    with pytest.raises(UserError, match="no facts to ask about"):
        list(synthesize(MemoryKG.from_files([empty])))


def test_config_errors_name_the_flag():
    with pytest.raises(UserError, match="--conversations"):
        SynthConfig(conversations=0)
    with pytest.raises(UserError, match="--unanswerable-rate"):
        SynthConfig(unanswerable_rate=2)


def test_command_writes_transcripts_the_engine_reads(graph_file, tmp_path, capsys):
    from dialogqa.dialogue.transcript import read_transcripts

    out = tmp_path / "out" / "dialogs.jsonl"
    assert main(["data", "synth", "--kg", str(graph_file), "--out", str(out),
                 "--conversations", "12", "--seed", "5"]) == 0
    assert "12 conversations" in capsys.readouterr().err
    conversations = read_transcripts(out)
    assert len(conversations) == 12
    assert conversations[0].kg_paths()[0].resolve() == graph_file.resolve()
    assert main(["data", "synth", "--kg", str(graph_file), "--out", str(out),
                 "--templates", str(tmp_path / "nope.json")]) == 2


def test_unanswerable_predicates_come_from_like_entities(kg):
    synthesizer = synth.DialogueSynthesizer(kg, SynthConfig(conversations=1))
    rng = random.Random(0)
    ex = "http://example.org/"
    asked_germany, asked_bergen = [], []
    for _ in range(60):
        asked_germany.append(synthesizer._unanswerable(synth._State(URIRef(ex + "germany")), rng)["user"])
        asked_bergen.append(synthesizer._unanswerable(synth._State(URIRef(ex + "bergen")), rng)["user"])
    # Germany has no border in this graph while the other countries do; Bergen has no mayor
    assert any("border" in q for q in asked_germany)
    assert any("mayor" in q for q in asked_bergen)
    # a city is never asked for a country's attributes, nor a country for a city's
    assert not any(w in q for q in asked_bergen for w in ("capital", "currency", "border"))
    assert not any("mayor" in q for q in asked_germany)


def test_common_attributes_get_everyday_phrasings():
    rng = random.Random(0)
    asked = {synth.ask_named("population", "Oslo", rng, literal=True) for _ in range(60)}
    assert "How many people live in Oslo?" in asked and "What is the population of Oslo?" in asked
    follow_ups = {synth.ask_pronoun("population", rng, literal=True) for _ in range(60)}
    assert "How many people live there?" in follow_ups

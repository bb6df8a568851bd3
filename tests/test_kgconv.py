"""The KGConv importer: gold facts (inverse properties flipped), labels, transcripts, bad files."""

import json

import pytest
from rdflib import RDFS, XSD, Graph, Literal, URIRef

from dialogqa.commands.cli import main
from dialogqa.datasets.kgconv import to_term

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"

THEME = {
    "c1": [
        {"triple": ["Q20", "P36", "Q585"],
         "out-of-context questions": ["What is the capital of Norway?"],
         "in-context questions": [{"question": "What is the capital of Norway?", "subject ref": "Norway"}],
         "synthetic-in-context questions": ["What is the capital of Norway?", "Norway's capital?"],
         "answer": "Oslo"},
        {"triple": ["Q20", "-P1376", "Q585"],
         "out-of-context questions": ["Which city is capital of Norway?"],
         "in-context questions": [{"question": "Which city is capital of it?", "subject ref": "it"}],
         "synthetic-in-context questions": ["Which city is the capital?"],
         "answer": "Oslo"},
        {"triple": ["Q585", "P571", "+1040-00-00T00:00:00Z"],
         "out-of-context questions": ["When was Oslo founded?"],
         "in-context questions": [],
         "synthetic-in-context questions": ["When was it founded?"],
         "answer": "1040"},
    ]
}
LABELS = {"Q20": "Norway", "Q585": "Oslo", "P36": "capital", "P1376": "capital of", "P571": "inception"}


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "test").mkdir()
    theme = tmp_path / "test" / "country.json"
    theme.write_text(json.dumps(THEME))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps(LABELS))
    return theme, labels


def _import(theme, labels, out, *extra):
    return main(["import", "kgconv", str(theme), "--labels", str(labels), "--out", str(out), *extra])


def test_graph_holds_flipped_gold_facts_with_labels(corpus, tmp_path):
    theme, labels = corpus
    assert _import(theme, labels, tmp_path / "out") == 0
    g = Graph().parse(tmp_path / "out" / "kgconv.ttl")
    norway, oslo = URIRef(WD + "Q20"), URIRef(WD + "Q585")
    assert (norway, URIRef(WDT + "P36"), oslo) in g
    # ["Q20", "-P1376", "Q585"] asks about Norway for the subject of "capital of": (Oslo, P1376, Norway)
    assert (oslo, URIRef(WDT + "P1376"), norway) in g
    assert (norway, URIRef(WDT + "P1376"), oslo) not in g
    assert (oslo, URIRef(WDT + "P571"), Literal("1040", datatype=XSD.gYear)) in g
    for term, text in [(norway, "Norway"), (oslo, "Oslo"), (URIRef(WDT + "P1376"), "capital of"),
                       (URIRef(WDT + "P571"), "inception")]:
        assert g.value(term, RDFS.label) == Literal(text, lang="en")
    assert len([t for t in g if t[1] != RDFS.label]) == 3


def test_transcripts_follow_the_design_format(corpus, tmp_path):
    theme, labels = corpus
    assert _import(theme, labels, tmp_path / "out") == 0
    lines = (tmp_path / "out" / "test-country.jsonl").read_text().splitlines()
    assert len(lines) == 1
    conv = json.loads(lines[0])
    assert conv["id"] == "test-country-c1" and conv["kg"] == ["kgconv.ttl"]
    first, second, third = conv["turns"]
    assert first["user"] == "What is the capital of Norway?" and first["expected"] == ["Oslo"]
    assert second["user"] == "Which city is the capital?"  # synthetic form by default
    assert second["expected"] == ["Oslo"]
    assert second["expected_evidence"] == [[WD + "Q585", WDT + "P1376", WD + "Q20"]]
    assert third["expected_evidence"] == [[WD + "Q585", WDT + "P571", "1040"]]


def test_question_forms(corpus, tmp_path):
    theme, labels = corpus
    assert _import(theme, labels, tmp_path / "o", "--questions", "in-context") == 0
    turns = json.loads((tmp_path / "o" / "test-country.jsonl").read_text())["turns"]
    assert turns[1]["user"] == "Which city is capital of it?"
    assert turns[2]["user"] == "When was it founded?"  # no in-context variant: falls back


def test_literal_values():
    assert to_term("+1990-05-17T00:00:00Z") == Literal("1990-05-17", datatype=XSD.date)
    assert to_term("+1990-05-00T00:00:00Z") == Literal("1990-05", datatype=XSD.gYearMonth)
    assert to_term("+5367580") == Literal("5367580", datatype=XSD.integer)
    assert to_term("left") == Literal("left")
    assert to_term("Q5") == URIRef(WD + "Q5")


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"c": [{"triple": ["Q1", "X9", "Q2"], "answer": "a", "out-of-context questions": ["q"]}]}',
     "not a Wikidata property"),
    ('{"c": [{"triple": ["Q1", "P9"], "answer": "a"}]}', "conversation c, turn 1"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"c": [{"triple": ["Q1", "P9", "Q2"], "answer": NaN}]}', "NaN is not a JSON number"),
    ('{"c": [{"triple": ["Q1", "P9", "Q2"], "answer": "\\udc00"}]}', "a lone surrogate"),
])
def test_bad_theme_files_exit_2_naming_the_problem(corpus, tmp_path, capsys, content, message):
    _, labels = corpus
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert _import(bad, labels, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert message in err and "bad.json" in err and len(err.strip().splitlines()) == 1


def test_missing_file_exits_2(corpus, tmp_path, capsys):
    theme, _ = corpus
    assert _import(theme, tmp_path / "nope.json", tmp_path / "out") == 2
    assert "nope.json: no such file" in capsys.readouterr().err


TEMPLATES = [
    {"template_key": {"p": "P36", "s_types": ["Q6256"]},
     "templates": [{"left": "what is the capital of ", "right": "?"},
                   {"left": "Which city is the seat of government of ", "right": "?"}]},
    {"template_key": {"p": "P36", "s_types": ["Q107390"]},  # same property, other subject type
     "templates": [{"left": "what is the capital of ", "right": "?"}]},
    {"template_key": {"p": "-P1376"}, "templates": [{"left": "Which city is the capital of ", "right": "?"}]},
    {"template_key": {"p": "P999"}, "templates": [{"left": "not in the graph ", "right": "?"}]},
]


def test_templates_become_question_phrasings_of_the_graphs_properties(corpus, tmp_path):
    from dialogqa.kg.labels import INVERSE_QUESTION, QUESTION

    theme, labels = corpus
    library = tmp_path / "template_library.json"
    library.write_text(json.dumps(TEMPLATES))
    assert _import(theme, labels, tmp_path / "out", "--templates", str(library)) == 0
    g = Graph().parse(tmp_path / "out" / "kgconv.ttl")
    capital, capital_of = URIRef(WDT + "P36"), URIRef(WDT + "P1376")
    assert set(g.objects(capital, QUESTION)) == {
        Literal("what is the capital of … ?", lang="en"),  # once, though two entries hold it
        Literal("Which city is the seat of government of … ?", lang="en")}
    # "-P1376" asks for the subject of "capital of": an inverse phrasing
    assert set(g.objects(capital_of, INVERSE_QUESTION)) == {
        Literal("Which city is the capital of … ?", lang="en")}
    assert not list(g.objects(capital_of, QUESTION))
    assert not list(g.subjects(QUESTION, Literal("not in the graph … ?", lang="en")))
    # phrasings are not facts: the importer's fact count leaves them out
    assert len([t for t in g if t[1] not in (RDFS.label, QUESTION, INVERSE_QUESTION)]) == 3


def test_bad_template_library_exits_2(corpus, tmp_path, capsys):
    theme, labels = corpus
    library = tmp_path / "templates.json"
    library.write_text(json.dumps([{"templates": []}]))
    assert _import(theme, labels, tmp_path / "out", "--templates", str(library)) == 2
    err = capsys.readouterr().err
    assert "templates.json" in err and "template library" in err and len(err.strip().splitlines()) == 1

"""``dialogqa kg recall`` on a small fixture: the metrics, gold history, graph sources, bad input."""

import json

import pytest

from dialogqa.commands.cli import main

EX = "http://example.org/"
TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Norway rdfs:label "Norway"@en ; ex:capital ex:Oslo ; ex:currency ex:NOK .
ex:Sweden rdfs:label "Sweden"@en ; ex:capital ex:Stockholm ; ex:currency ex:SEK .
ex:Oslo rdfs:label "Oslo"@en ; ex:mayor ex:Anne .
ex:Stockholm rdfs:label "Stockholm"@en .
ex:Anne rdfs:label "Anne Lindboe"@en .
ex:NOK rdfs:label "Norwegian krone"@en .
ex:SEK rdfs:label "Swedish krona"@en .
ex:capital rdfs:label "capital"@en .
ex:currency rdfs:label "currency"@en .
ex:mayor rdfs:label "mayor"@en .
"""


def t(s, p, o):
    return [EX + s, EX + p, EX + o]


CONVERSATIONS = [
    {"id": "norway", "kg": ["small.ttl"], "turns": [
        {"user": "What is the capital of Norway?", "expected": ["Oslo"],
         "expected_evidence": [t("Norway", "capital", "Oslo")]},
        # needs the gold history: "its" is the previous turn's answer
        {"user": "Who is its mayor?", "expected": ["Anne Lindboe"],
         "expected_evidence": [t("Oslo", "mayor", "Anne")]},
        {"user": "And the currency?", "expected": [], "unanswerable": True},
        {"user": "And Sweden?", "expected": ["Swedish krona"],
         "expected_evidence": [t("Sweden", "currency", "SEK")]},
    ]},
    {"id": "sweden", "kg": ["small.ttl"], "turns": [
        {"user": "What is the capital of Sweden?", "expected": ["Stockholm"],
         "expected_evidence": [t("Sweden", "capital", "Stockholm")]},
    ]},
]


@pytest.fixture
def fixture(tmp_path):
    (tmp_path / "small.ttl").write_text(TTL)
    path = tmp_path / "convs.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CONVERSATIONS))
    return path


def test_recall_json_keys_and_values(fixture, tmp_path, capsys):
    out = tmp_path / "recall.json"
    assert main(["kg", "recall", str(fixture), "--k", "5", "--json", str(out)]) == 0
    m = json.loads(out.read_text())
    assert {"recall", "turns", "k", "files"} <= set(m)
    assert m["turns"] == 4 and m["k"] == 5 and m["skipped"] == 1  # the unanswerable turn
    assert m["recall"] == 1.0
    assert m["files"][str(fixture)]["turns"] == 4
    assert set(m["latency_ms"]) == {"p50", "p95"}
    table = capsys.readouterr().out
    assert "recall@5" in table and "all" in table


def test_k_cuts_the_list(fixture, tmp_path):
    # with one fact per turn, "Who is its mayor?" must rank Oslo's only fact first, and
    # "And Sweden?" the carried currency predicate first: recall@1 still finds them all
    out = tmp_path / "r.json"
    assert main(["kg", "recall", str(fixture), "--k", "1", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["recall"] == 1.0


def test_the_graph_from_the_command_line(fixture, tmp_path):
    out = tmp_path / "r.json"
    assert main(["kg", "recall", str(fixture), "--kg", str(tmp_path / "small.ttl"),
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["turns"] == 4


def test_a_miss_is_counted(tmp_path):
    (tmp_path / "small.ttl").write_text(TTL)
    conv = {"kg": ["small.ttl"], "turns": [
        {"user": "What is the capital of Norway?", "expected": ["Oslo"],
         "expected_evidence": [t("Norway", "capital", "Bergen")]}]}
    path = tmp_path / "miss.jsonl"
    path.write_text(json.dumps(conv) + "\n")
    out = tmp_path / "r.json"
    assert main(["kg", "recall", str(path), "--json", str(out)]) == 0
    m = json.loads(out.read_text())
    assert m["recall"] == 0.0 and m["turns"] == 1 and m["found"] == 0


def test_bad_transcript_line_names_file_and_line(fixture, capsys):
    with fixture.open("a") as f:
        f.write('{"turns": [{"expected": ["x"]}]}\n')
    assert main(["kg", "recall", str(fixture)]) == 2
    err = capsys.readouterr().err
    assert f"{fixture}:3:" in err and "'user'" in err


@pytest.mark.parametrize("line", ["[" * 100_000 + "]" * 100_000,
                                  '{"turns": [{"user": "q", "latency_ms": ' + "9" * 5000 + "}]}",
                                  '{"turns": [{"user": "Capital of \\ud800?"}]}'])
def test_unreadable_json_is_a_file_line_error_not_a_traceback(fixture, capsys, line):
    with fixture.open("a") as f:
        f.write(line + "\n")
    assert main(["kg", "recall", str(fixture)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dialogqa: error: {fixture}:3: ") and err.count("\n") == 1


def test_an_empty_transcript_file_is_an_error_naming_it(fixture, capsys):
    """The same rule as replay and replay --score (read_transcripts): not a row of 0 turns."""
    empty = fixture.parent / "empty.jsonl"
    empty.write_text("")
    assert main(["kg", "recall", str(fixture), str(empty)]) == 2
    assert capsys.readouterr().err == (f"dialogqa: error: {empty}: empty transcript file: "
                                       "expected one conversation a line (JSON)\n")


def test_no_graph_anywhere(tmp_path, capsys):
    path = tmp_path / "nokg.jsonl"
    path.write_text(json.dumps({"turns": [{"user": "Hi?", "expected_evidence": [t("a", "b", "c")]}]}) + "\n")
    assert main(["kg", "recall", str(path)]) == 2
    assert "names no graph" in capsys.readouterr().err


def test_bad_k(fixture, capsys):
    assert main(["kg", "recall", str(fixture), "--k", "0"]) == 2
    assert "--k must be at least 1" in capsys.readouterr().err

import io
import json
from pathlib import Path

import pytest
from rdflib import URIRef

from dialogue_fixtures import EX, open_graph, write_graph
from dialogqa.commands.cli import main
from dialogqa.commands import dialogue as commands
from dialogqa.dialogue.replay import compute_metrics, percentile, replay
from dialogqa.dialogue.report import compare_table, markdown_report
from dialogqa.dialogue.session import DialogueSession
from dialogqa.dialogue.transcript import Conversation, read_transcripts
from dialogqa.records import Fact
from scripted import ScriptedModel
from dialogqa.records import Turn

CAPITAL = [EX + "Norway", EX + "capital", EX + "Oslo"]
POPULATION = [EX + "Norway", EX + "population", "5550203"]


def conv_line(cid, turns, kg=("tiny.ttl",)):
    return {"id": cid, "kg": list(kg), "turns": turns}


NORWAY = conv_line("norway", [
    {"user": "What is the capital of Norway?", "expected": ["Oslo"], "expected_evidence": [CAPITAL]},
    {"user": "How many people live there?", "expected": ["5,550,203"], "expected_evidence": [POPULATION]},
    {"user": "What is its national anthem?", "unanswerable": True},
])
SWEDEN = conv_line("sweden", [
    {"user": "What is the capital of Sweden?", "expected": ["Stockholm"],
     "expected_evidence": [[EX + "Sweden", EX + "capital", EX + "Stockholm"]]},
])


def answer_from_facts(lines):
    """A stand-in 'model': the object of the fact line whose predicate the prompt asks for."""
    return lines[0].split(" | ")[-1].strip('"') + "." if lines else "I don't find that in the graph."


@pytest.fixture
def workdir(tmp_path):
    write_graph(tmp_path)
    return tmp_path


def write_jsonl(path, lines):
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


@pytest.fixture
def scripted(monkeypatch):
    model = ScriptedModel()
    monkeypatch.setattr(commands, "load_model", lambda args: model)
    return model


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5], 95) == 5
    assert percentile(list(range(1, 101)), 50) == 50 and percentile(list(range(1, 101)), 95) == 95
    assert percentile([10, 1, 3, 2], 50) == 2


def test_metrics_from_handmade_turns():
    cap = Fact(URIRef(CAPITAL[0]), URIRef(CAPITAL[1]), URIRef(CAPITAL[2]))
    turns_a = [
        Turn("q1", "It is Oslo.", [cap], expected=["Oslo"], expected_evidence=[tuple(CAPITAL)],
             timings={"total_ms": 100, "first_token_ms": 10}),
        Turn("q2", "About 5 million.", [cap], expected=["5,550,203"], expected_evidence=[tuple(POPULATION)],
             timings={"total_ms": 300, "first_token_ms": 30}),
        Turn("q3", "I don't find that in the graph.", abstained=True, unanswerable=True,
             timings={"total_ms": 200, "first_token_ms": 20}),
    ]
    turns_b = [Turn("q4", "I don't find that in the graph.", abstained=True, expected=["Stockholm"],
                    timings={"total_ms": 400, "first_token_ms": 40}),
               Turn("q5", "Sure.", unanswerable=True, timings={"total_ms": 50, "first_token_ms": 5})]
    m = compute_metrics([Conversation("a", turns_a), Conversation("b", turns_b)])
    assert (m["conversations"], m["turns"]) == (2, 5)
    assert m["answer_accuracy"] == 0.3333 and m["scored_turns"] == 3
    assert m["evidence_recall"] == 0.5 and m["evidence_turns"] == 2
    assert m["abstention"] == 0.5 and m["unanswerable_turns"] == 2
    assert m["false_abstention"] == 0.3333
    assert m["latency_ms"]["p50"] == 200 and m["latency_ms"]["p95"] == 400
    assert m["first_token_ms"]["p50"] == 20
    a, b = m["per_conversation"]
    assert a["id"] == "a" and a["answer_accuracy"] == 0.5 and a["correct"] == [True, False, None]
    assert b["answer_accuracy"] == 0.0 and b["abstention"] == 0.0


def test_replay_uses_own_answers_as_history(workdir):
    kg = open_graph(workdir / "tiny.ttl")
    model = ScriptedModel()
    model.enqueue("The capital is Bergen.").enqueue("About 709,037 people.")
    [conv] = read_transcripts(write_jsonl(workdir / "t.jsonl", [NORWAY]))
    [done] = replay([conv], lambda c: DialogueSession(kg, model))
    assert "The capital is Bergen." in model.calls[1].prompt  # its own (wrong) answer, not the gold one
    assert [t.answer for t in done.turns][:2] == ["The capital is Bergen.", "About 709,037 people."]
    assert done.turns[0].expected == ["Oslo"] and done.turns[2].unanswerable
    m = compute_metrics([done])
    assert m["answer_accuracy"] == 0.0 and m["abstention"] == 1.0  # nothing retrieved for the anthem


def test_replay_command_writes_transcripts_metrics_and_report(workdir, scripted, capsys):
    scripted.fallback = answer_from_facts
    scripted.enqueue("The capital of Norway is Oslo.").enqueue("About 5550203 people.")
    scripted.enqueue("Sorry, I don't know.")
    sets = workdir / "sets"
    sets.mkdir()
    t = write_jsonl(sets / "t.jsonl", [conv_line("norway", NORWAY["turns"], kg=["../tiny.ttl"])])
    out, met, rep = workdir / "out" / "replayed.jsonl", workdir / "m.json", workdir / "r.md"
    code = main(["replay", str(t), "--out", str(out), "--json", str(met), "--report", str(rep), "--no-progress"])
    assert code == 0
    [conv] = read_transcripts(out)
    assert conv.kg == ["../tiny.ttl"] and conv.kg_paths()[0].resolve() == (workdir / "tiny.ttl").resolve()
    assert conv.turns[0].evidence[0].key() == tuple(CAPITAL) and conv.turns[2].abstained
    assert all("total_ms" in t.timings for t in conv.turns)
    metrics = json.loads(met.read_text())
    assert metrics["answer_accuracy"] == 1.0 and metrics["evidence_recall"] == 1.0
    assert metrics["abstention"] == 1.0 and metrics["run"]["skipped_lines"] == 0
    report = rep.read_text()
    assert "| answer accuracy | 1.000 |" in report and "| norway | 3 |" in report
    assert "answer accuracy | 1.000" in capsys.readouterr().out


def test_malformed_line_reported_and_others_replayed(workdir, scripted, capsys):
    scripted.fallback = answer_from_facts
    t = write_jsonl(workdir / "t.jsonl", [NORWAY, '{"id": "broken", "turns": [{"user": 3}]}', SWEDEN])
    out = workdir / "replayed.jsonl"
    assert main(["replay", str(t), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{t}:2: turn 1: 'user' must be a non-empty string" in err
    assert "1 malformed transcript line(s) skipped" in err
    assert [c.id for c in read_transcripts(out)] == ["norway", "sweden"]
    assert main(["replay", str(t), "--strict", "--no-progress"]) == 2
    assert f"{t}:2:" in capsys.readouterr().err


def test_graph_flag_overrides_transcript_kg_and_limit(workdir, scripted, tmp_path):
    scripted.fallback = answer_from_facts
    t = write_jsonl(workdir / "t.jsonl", [conv_line("x", NORWAY["turns"], kg=["missing.ttl"]), SWEDEN])
    met = workdir / "m.json"
    assert main(["replay", str(t), "--kg", str(workdir / "tiny.ttl"), "--limit", "1",
                 "--json", str(met), "--no-progress"]) == 0
    assert json.loads(met.read_text())["conversations"] == 1


def test_missing_graph_is_a_clear_error(workdir, scripted, capsys):
    t = write_jsonl(workdir / "t.jsonl", [conv_line("x", NORWAY["turns"], kg=["missing.ttl"])])
    assert main(["replay", str(t), "--no-progress"]) == 2
    assert "t.jsonl:1: graph file" in capsys.readouterr().err
    t = write_jsonl(workdir / "u.jsonl", [conv_line("x", NORWAY["turns"], kg=[])])
    assert main(["replay", str(t), "--no-progress"]) == 2
    assert "names no graph" in capsys.readouterr().err


def test_closed_book_baseline_shows_no_facts(workdir, scripted):
    scripted.enqueue("Oslo.")
    t = write_jsonl(workdir / "t.jsonl", [conv_line("n", NORWAY["turns"][:1], kg=[])])
    assert main(["replay", str(t), "--baseline", "closed-book", "--no-progress"]) == 0
    assert scripted.calls[0].fact_lines == [] and "Facts:" not in scripted.calls[0].prompt


def test_baseline_refuses_an_adapter(workdir, capsys):
    t = write_jsonl(workdir / "t.jsonl", [NORWAY])
    assert main(["replay", str(t), "--baseline", "zero-shot", "--adapter", "x", "--no-progress"]) == 2
    assert "drop --adapter" in capsys.readouterr().err


def test_compare_prints_two_runs_side_by_side(workdir, capsys):
    a = {"conversations": 2, "turns": 10, "answer_accuracy": 0.5, "latency_ms": {"p50": 100, "p95": 200}}
    b = {"conversations": 2, "turns": 10, "answer_accuracy": 0.75, "latency_ms": {"p50": 80, "p95": 150}}
    (workdir / "zs.json").write_text(json.dumps(a))
    (workdir / "ft.json").write_text(json.dumps(b))
    assert main(["replay", "--compare", str(workdir / "zs.json"), str(workdir / "ft.json")]) == 0
    out = capsys.readouterr().out
    assert "| metric | zs | ft | B − A |" in out
    assert "| answer accuracy | 0.500 | 0.750 | +0.250 |" in out
    assert "| latency p95 (ms) | 200 | 150 | -50 |" in out
    (workdir / "bad.json").write_text("[1]")
    assert main(["replay", "--compare", str(workdir / "zs.json"), str(workdir / "bad.json")]) == 2
    assert main(["replay"]) == 2


def test_report_marks_each_turn():
    m = compute_metrics([Conversation("c", [Turn("q", "Oslo", expected=["Oslo"]), Turn("q", "no", expected=["X"]),
                                            Turn("q", "I don't find that in the graph.", abstained=True,
                                                 unanswerable=True)])])
    assert "| c | 3 | 0.500 | – | 1.000 | ✓✗· |" in markdown_report(m)
    assert compare_table(m, m).count("+0.000") == 4 - 1  # accuracy, abstention, false abstention


def test_ask_reads_a_conversation_from_stdin(workdir, scripted, monkeypatch, capsys):
    scripted.enqueue("The capital of Norway is Oslo.").enqueue("About 5550203 people.")
    monkeypatch.setattr("sys.stdin", io.StringIO("What is the capital of Norway?\n\nHow many people live there?\n"))
    assert main(["ask", "--kg", str(workdir / "tiny.ttl")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The capital of Norway is Oslo.\n  [evidence] Norway | capital | Oslo\n")
    assert "About 5550203 people.\n  [evidence] Norway | population | 5550203\n" in out


def test_ask_json_prints_the_transcript_format(workdir, scripted, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    scripted.enqueue("Oslo.")
    assert main(["ask", "What is the capital of Norway?", "--kg", "tiny.ttl", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["kg"] == ["tiny.ttl"] and record["turns"][0]["answer"] == "Oslo."
    assert record["turns"][0]["evidence"][0] == CAPITAL and record["turns"][0]["abstained"] is False


def test_ask_rejects_an_empty_question(workdir, scripted, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n  \n"))
    assert main(["ask", "--kg", str(workdir / "tiny.ttl")]) == 2
    assert "no question on stdin" in capsys.readouterr().err
    assert main(["ask", "--kg", str(workdir / "tiny.ttl"), "--k", "0", "q"]) == 2


def test_score_rates_recorded_answers_without_the_bot(workdir, capsys):
    """--score pools already-answered transcripts (a replay split over processes, a recorded
    chat) into one score, and refuses a turn nobody answered, naming its line."""
    answered = [
        conv_line("a", [
            {"user": "What is the capital of Norway?", "expected": ["Oslo"], "expected_evidence": [CAPITAL],
             "answer": "Oslo", "evidence": [CAPITAL], "abstained": False, "latency_ms": 100},
            {"user": "How many people live there?", "expected": ["5,550,203"],
             "expected_evidence": [POPULATION], "answer": "Oslo", "evidence": [CAPITAL],
             "abstained": False, "latency_ms": 300},
        ]),
        conv_line("b", [
            {"user": "What is its national anthem?", "unanswerable": True,
             "answer": "I don't find that in the graph.", "evidence": [], "abstained": True},
        ]),
    ]
    (workdir / "part1.jsonl").write_text(json.dumps(answered[0]) + "\n")
    (workdir / "part2.jsonl").write_text(json.dumps(answered[1]) + "\n")
    rc = main(["replay", "--score", str(workdir / "part1.jsonl"), str(workdir / "part2.jsonl"),
               "--json", str(workdir / "m.json")])
    assert rc == 0
    m = json.loads((workdir / "m.json").read_text())
    assert (m["conversations"], m["turns"]) == (2, 3)
    assert (m["answer_accuracy"], m["evidence_recall"], m["abstention"]) == (0.5, 0.5, 1.0)
    assert m["latency_ms"]["p95"] == 300.0
    assert "| answer accuracy | 0.500 |" in capsys.readouterr().out

    (workdir / "fresh.jsonl").write_text(json.dumps(answered[0]) + "\n" + json.dumps(NORWAY) + "\n")
    assert main(["replay", "--score", str(workdir / "fresh.jsonl"), "--json", str(workdir / "n.json")]) == 2
    err = capsys.readouterr().err
    assert "fresh.jsonl:2: turn 1 of conversation 'norway' has no answer" in err
    assert "Traceback" not in err and not (workdir / "n.json").exists()


def strict_json(text):
    """json.loads that refuses NaN and Infinity, as any other JSON reader would."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("latency", ["NaN", "Infinity", "1e999"])
def test_score_refuses_a_latency_that_is_not_a_finite_number(workdir, capsys, latency):
    turn = ('{"user": "What is the capital of Norway?", "answer": "Oslo", "evidence": [], '
            f'"abstained": false, "latency_ms": {latency}}}')
    path = workdir / "lat.jsonl"
    path.write_text('{"id": "a", "turns": [' + turn + ']}\n')
    metrics = workdir / "m.json"
    assert main(["replay", "--score", str(path), "--strict", "--json", str(metrics)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dialogqa: error: {path}:1: ") and err.count("\n") == 1
    assert "Traceback" not in err and not metrics.exists()


def test_score_metrics_json_is_strict_json(workdir, capsys):
    turn = {"user": "What is the capital of Norway?", "expected": ["Oslo"], "answer": "Oslo",
            "evidence": [], "abstained": False, "latency_ms": 1e300}
    path = write_jsonl(workdir / "ok.jsonl", [conv_line("a", [turn]), conv_line("b", [dict(turn, latency_ms=5)])])
    assert main(["replay", "--score", str(path), "--json", str(workdir / "m.json")]) == 0
    assert strict_json((workdir / "m.json").read_text())["answer_accuracy"] == 1.0


def test_an_empty_transcript_is_an_error_for_replay_and_score(workdir, scripted, capsys):
    empty = workdir / "empty.jsonl"
    empty.write_text("")
    full = write_jsonl(workdir / "t.jsonl", [NORWAY])
    for argv in (["replay", "--score", str(empty)], ["replay", str(full), str(empty), "--no-progress"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"dialogqa: error: {empty}: empty transcript file: expected one conversation a line (JSON)\n"


def test_compare_refuses_nan_in_a_metrics_file(workdir, capsys):
    (workdir / "a.json").write_text('{"turns": 3, "answer_accuracy": NaN}')
    assert main(["replay", "--compare", str(workdir / "a.json"), str(workdir / "a.json")]) == 2
    err = capsys.readouterr().err
    assert "a.json: not a metrics JSON file" in err and "NaN is not a JSON number" in err


def test_ask_refuses_undecodable_bytes_in_the_question(workdir, scripted, capsys, monkeypatch):
    # Python hands undecodable argv bytes over as lone surrogates ('surrogateescape')
    assert main(["ask", "What is the capital of Norway\udcff?", "--kg", str(workdir / "tiny.ttl")]) == 2
    err = capsys.readouterr().err
    assert err == ("dialogqa: error: the question: not UTF-8 text (byte 0xff at column 30): give the "
                   "question in UTF-8 (is the terminal's locale UTF-8?)\n")
    stdin = io.TextIOWrapper(io.BytesIO(b"What is the capital of Norway?\nAnd Sw\xffeden?\n"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["ask", "--kg", str(workdir / "tiny.ttl")]) == 2
    out, err = capsys.readouterr()
    assert err == "dialogqa: error: <stdin>:2: not UTF-8 text (byte 0xff at column 7): give questions in UTF-8\n"
    assert out == ""  # refused before any question is answered


def test_ask_escapes_control_and_bidi_characters_but_json_keeps_them(tmp_path, scripted, capsys, monkeypatch):
    evil = "Oslo\x1b]0;owned\x07\x1b[2J\u202eolsO"
    write_graph(tmp_path, text=(
        "@prefix ex: <http://example.org/> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'ex:Norway rdfs:label "Norway" ; ex:capital ex:Oslo .\nex:capital rdfs:label "capital" .\n'
        'ex:Oslo rdfs:label "' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in evil) + '" .\n'))
    monkeypatch.chdir(tmp_path)
    scripted.enqueue(f"It is {evil}.\nDone.")
    assert main(["ask", "What is the capital of Norway?", "--kg", "tiny.ttl"]) == 0
    out = capsys.readouterr().out
    shown = "Oslo\\x1b]0;owned\\x07\\x1b[2J\\u202eolsO"
    assert out == f"It is {shown}.\nDone.\n  [evidence] Norway | capital | {shown}\n"
    scripted.enqueue(f"It is {evil}.")
    assert main(["ask", "What is the capital of Norway?", "--kg", "tiny.ttl", "--json"]) == 0
    turn = json.loads(capsys.readouterr().out)["turns"][0]
    assert turn["answer"] == f"It is {evil}." and turn["evidence"][0][2] == EX + "Oslo"


def test_replay_keeps_few_graphs_open_and_reopens_one_needed_again(workdir, scripted, monkeypatch):
    from dialogue_fixtures import OTHER_TTL

    scripted.fallback = answer_from_facts
    write_graph(workdir, "other.ttl", OTHER_TTL)
    write_graph(workdir, "copy.ttl")
    finland = conv_line("finland", [{"user": "What is the capital of Finland?", "expected": ["Helsinki"]}],
                        kg=["other.ttl"])
    lines = [NORWAY, finland, conv_line("copy", SWEDEN["turns"], kg=["copy.ttl"]), SWEDEN]
    t = write_jsonl(workdir / "t.jsonl", lines)
    from dialogqa.dialogue.graphs import GraphCache

    opened = []
    get = GraphCache.get

    def counting_get(self, files=(), where=""):
        if tuple(str(Path(f).resolve()) for f in files) not in self.opened:
            opened.append(Path(files[0]).stem)
        return get(self, files, where)

    monkeypatch.setattr(GraphCache, "get", counting_get)
    met = workdir / "m.json"
    assert main(["replay", str(t), "--json", str(met), "--no-progress"]) == 0
    metrics = json.loads(met.read_text())
    # at most two graphs open: tiny.ttl was closed for copy.ttl and is opened again for Sweden
    assert opened == ["tiny", "other", "copy", "tiny"]
    correct = {c["id"]: c["correct"] for c in metrics["per_conversation"]}
    assert correct["finland"] == [True] and correct["copy"] == [True] and correct["sweden"] == [True]
    assert metrics["run"]["graph"].count("tiny.ttl") == 1 and "other.ttl" in metrics["run"]["graph"]

import json

import pytest
from rdflib import Literal, URIRef

from dialogqa.dialogue.transcript import (
    Conversation, TranscriptRecorder, read_transcripts, relative_kg, term_from_key,
    write_transcripts,
)
from dialogqa.errors import UserError
from dialogqa.records import Fact
from dialogqa.records import Turn

Q20, P36, Q585 = ("http://www.wikidata.org/entity/Q20", "http://www.wikidata.org/prop/direct/P36",
                  "http://www.wikidata.org/entity/Q585")
DESIGN_EXAMPLE = {
    "id": "norway-1", "kg": ["world.ttl"],
    "turns": [
        {"user": "What is the capital of Norway?", "expected": ["Oslo"],
         "expected_evidence": [[Q20, P36, Q585]],
         "answer": "The capital of Norway is Oslo.", "evidence": [[Q20, P36, Q585]],
         "abstained": False, "latency_ms": 412},
        {"user": "What is its national anthem?", "expected": [], "unanswerable": True},
    ],
}


def write_lines(path, lines):
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def test_design_example_round_trips(tmp_path):
    src = write_lines(tmp_path / "t.jsonl", [DESIGN_EXAMPLE])
    [conv] = read_transcripts(src)
    assert conv.id == "norway-1" and conv.line == 1 and conv.kg_paths() == [tmp_path / "world.ttl"]
    first, second = conv.turns
    assert first.expected == ["Oslo"] and first.expected_evidence == [(Q20, P36, Q585)]
    assert first.evidence[0].key() == (Q20, P36, Q585) and first.timings == {"total_ms": 412.0}
    assert second.unanswerable and not second.answer
    out = tmp_path / "out.jsonl"
    write_transcripts(out, [conv])
    back = json.loads(out.read_text())
    expected = json.loads(json.dumps(DESIGN_EXAMPLE))
    del expected["turns"][1]["expected"]  # empty lists are left out
    assert back == expected


def test_malformed_line_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [DESIGN_EXAMPLE, "", '{"id": "x", "turns": [{"user": ""}]}'])
    with pytest.raises(UserError, match=r"bad\.jsonl:3: turn 1: 'user' must be a non-empty string"):
        read_transcripts(path)


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"turns": []}', "'turns' must be a non-empty list"),
        ('{"turns": [{"user": "q", "expected": 5}]}', "'expected' must be a list of strings"),
        ('{"turns": [{"user": "q", "expected_evidence": [["a", "b"]]}]}', "'expected_evidence' must be"),
        ('{"turns": [{"user": "q", "unanswerable": "yes"}]}', "'unanswerable' must be true or false"),
        ('{"turns": [{"user": "q", "latency_ms": "fast"}]}', "'latency_ms' must be a number"),
        ('{"kg": 3, "turns": [{"user": "q"}]}', "'kg' must be a list"),
        ('{"turns": ["q"]}', "turn 1: expected an object"),
        # what json.loads alone lets through or raises as a traceback
        ("[" * 100_000 + "]" * 100_000, r"nested too deeply \(more than 64 levels\)"),
        ('{"turns": [{"user": "q", "x": ' + "[" * 70 + "]" * 70 + "}]}", "nested too deeply"),
        ('{"turns": [{"user": "q", "latency_ms": ' + "9" * 5000 + "}]}", "an integer of more than 4300 digits"),
        ('{"turns": [{"user": "q", "latency_ms": NaN}]}', "NaN is not a JSON number"),
        ('{"turns": [{"user": "q", "latency_ms": -Infinity}]}', "-Infinity is not a JSON number"),
        ('{"turns": [{"user": "q", "latency_ms": 1e999}]}', "number 1e999 is too large"),
        ('{"turns": [{"user": "Capital \\ud800 of Norway?"}]}', r"a lone surrogate \\ud800"),
        ('{"turns": [{"user": "q"}], "\\udfff": 1}', r"a lone surrogate \\udfff"),
    ],
)
def test_each_kind_of_bad_line(tmp_path, line, message):
    path = write_lines(tmp_path / "t.jsonl", [line])
    with pytest.raises(UserError, match=rf"t\.jsonl:1: .*{message}"):
        read_transcripts(path)


def test_bad_lines_skipped_with_warning_others_kept(tmp_path):
    path = write_lines(tmp_path / "t.jsonl", ["{oops", DESIGN_EXAMPLE, '{"turns": 1}', {"turns": [{"user": "q"}]}])
    (tmp_path / "t.jsonl").open("ab").write(b'{"turns": [{"user": "\xff"}]}\n')
    warnings = []
    convs = read_transcripts(path, warn=warnings.append)
    assert [c.id for c in convs] == ["norway-1", "t-4"]  # default id: file stem and line
    assert [w.split(": ")[0] for w in warnings] == [f"{path}:1", f"{path}:3", f"{path}:5"]
    assert all(w.endswith("(line skipped)") for w in warnings)


def test_surrogate_pairs_and_big_floats_are_fine(tmp_path):
    path = write_lines(tmp_path / "t.jsonl", ['{"turns": [{"user": "Emoji \\ud83d\\ude00?", "latency_ms": 1e300}]}'])
    [conv] = read_transcripts(path)
    assert conv.turns[0].user == "Emoji \U0001F600?" and conv.turns[0].timings == {"total_ms": 1e300}


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_an_empty_transcript_file_is_an_error_naming_it(tmp_path, text):
    path = tmp_path / "empty.jsonl"
    path.write_text(text)
    for warn in (None, [].append):  # skipping bad lines does not make an empty file fine
        with pytest.raises(UserError, match=rf"^{path}: empty transcript file"):
            read_transcripts(path, warn=warn)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(UserError, match="no such transcript file"):
        read_transcripts(tmp_path / "nope.jsonl")
    with pytest.raises(UserError, match="is a directory"):
        read_transcripts(tmp_path)


def test_terms_from_keys():
    assert term_from_key(Q20) == URIRef(Q20)
    assert term_from_key("urn:x:1") == URIRef("urn:x:1")
    assert term_from_key("5550203") == Literal("5550203")
    assert term_from_key("Note: spaces mean a literal") == Literal("Note: spaces mean a literal")
    assert term_from_key("12:30") == Literal("12:30")


def test_recorder_keeps_earlier_lines_and_each_turn(tmp_path):
    path = write_lines(tmp_path / "rec.jsonl", [DESIGN_EXAMPLE])
    rec = TranscriptRecorder(path)
    conv = Conversation(id="live-1", turns=[])
    rec.save(conv)  # nothing said yet: nothing added
    assert [c.id for c in read_transcripts(path)] == ["norway-1"]
    fact = Fact(URIRef(Q20), URIRef(P36), URIRef(Q585))
    conv.turns.append(Turn("Capital of Norway?", "Oslo.", [fact], timings={"total_ms": 12.4}))
    rec.save(conv)
    conv.turns.append(Turn("Anthem?", "I don't find that in the graph.", abstained=True, timings={"total_ms": 3}))
    rec.save(conv)
    convs = read_transcripts(path)
    assert [c.id for c in convs] == ["norway-1", "live-1"] and len(convs[1].turns) == 2
    assert convs[1].turns[0].evidence[0].key() == (Q20, P36, Q585) and convs[1].turns[1].abstained
    rec.finish(conv)
    rec.save(Conversation(id="live-2", turns=[Turn("q", "a", timings={"total_ms": 1})]))
    assert [c.id for c in read_transcripts(path)] == ["norway-1", "live-1", "live-2"]
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_recorder_resume_replaces_the_continued_conversation(tmp_path):
    other = {"id": "other", "turns": [{"user": "q"}]}
    path = write_lines(tmp_path / "rec.jsonl", [DESIGN_EXAMPLE, other])
    [conv, _] = read_transcripts(path)
    rec = TranscriptRecorder(path, resume="norway-1")
    conv.turns.append(Turn("And Sweden?", "Stockholm.", timings={"total_ms": 5}))
    rec.save(conv)
    convs = read_transcripts(path)
    assert [c.id for c in convs] == ["other", "norway-1"] and len(convs[1].turns) == 3


def test_relative_kg(tmp_path):
    (tmp_path / "kb").mkdir()
    assert relative_kg([tmp_path / "kb" / "w.ttl"], tmp_path / "sets" / "t.jsonl") == ["../kb/w.ttl"]

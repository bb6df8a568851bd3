"""The evaluation sets written apart from the project (transcripts/independent, over
kb/independent): every transcript line reads, its graph loads, and every gold fact and value
is in the graph, so a replay's score measures the bot, not the set."""

from pathlib import Path

import pytest
from rdflib import URIRef

from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.kg.base import open_kg

ROOT = Path(__file__).resolve().parents[1]
SETS = sorted((ROOT / "transcripts" / "independent").glob("*.jsonl"))


@pytest.mark.parametrize("path", SETS, ids=[p.stem for p in SETS])
def test_gold_facts_are_in_the_graph(path):
    conversations = read_transcripts(path)
    assert len(conversations) >= 10
    kg_path = conversations[0].kg_paths()[0]
    kg = open_kg(files=[str(kg_path)])
    types, checked = set(), 0
    for conv in conversations:
        for turn in conv.turns:
            types.add(turn.type)
            for s, p, o in turn.expected_evidence:
                found = list(kg.triples(URIRef(s), URIRef(p), None))
                assert any(str(x[2]) == o for x in found), (conv.id, turn.user, o)
                checked += 1
            if turn.type == "unanswerable":
                assert not turn.expected
    assert checked > 40
    assert {"single", "list", "count", "boolean", "comparison", "reverse", "chain", "unanswerable"} <= types


def test_there_are_four_sets():
    assert [p.stem for p in SETS] == ["hospital", "music", "transit", "university"]

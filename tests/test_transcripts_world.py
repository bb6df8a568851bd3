"""transcripts/world.jsonl checked against the graph it is written for.

Every gold triple must exist in kb/world.ttl, and every expected answer must be the label
(or lexical form) of a gold triple's answer end, so that a replay score measures the bot
and not a typo in the set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS

ROOT = Path(__file__).resolve().parents[1]
WORLD_SET = ROOT / "transcripts" / "world.jsonl"


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    out = []
    for n, line in enumerate(WORLD_SET.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                pytest.fail(f"{WORLD_SET.name}:{n}: not JSON: {exc}")
    return out


@pytest.fixture(scope="module")
def graph(conversations) -> Graph:
    kg_files = {f for c in conversations for f in c["kg"]}
    assert len(kg_files) == 1, kg_files
    path = (WORLD_SET.parent / kg_files.pop()).resolve()
    assert path == (ROOT / "kb" / "world.ttl").resolve()
    return Graph().parse(path, format="turtle")


def _term(text: str):
    """An IRI, or a literal's lexical form (matched against the stored literals below)."""
    return URIRef(text) if text.startswith(("https://", "http://")) else text


def _objects_with_lexical(graph: Graph, s, p, lexical: str) -> list[Literal]:
    return [o for o in graph.objects(s, p) if isinstance(o, Literal) and str(o) == lexical]


def _label(graph: Graph, term) -> str:
    if isinstance(term, URIRef):
        value = graph.value(term, RDFS.label)
        assert value is not None, f"{term} has no rdfs:label"
        return str(value)
    return str(term)


def test_shape(conversations):
    assert len(conversations) >= 30
    ids = [c["id"] for c in conversations]
    assert len(ids) == len(set(ids)), "conversation ids repeat"
    for c in conversations:
        assert len(c["turns"]) >= 4, c["id"]
        for t in c["turns"]:
            assert t["user"].strip(), c["id"]
            if t.get("unanswerable"):
                assert t["expected"] == [] and not t.get("expected_evidence"), (c["id"], t["user"])
            else:
                assert t["expected"] and t["expected_evidence"], (c["id"], t["user"])


def test_gold_triples_exist_and_expected_strings_are_their_answers(conversations, graph):
    problems = []
    for c in conversations:
        for t in c.get("turns", []):
            answer_labels = set()
            for s_text, p_text, o_text in t.get("expected_evidence", []):
                s, p = URIRef(s_text), URIRef(p_text)
                o = _term(o_text)
                if isinstance(o, URIRef):
                    found = [o] if (s, p, o) in graph else []
                else:
                    found = _objects_with_lexical(graph, s, p, o)
                if not found:
                    problems.append(f"{c['id']}: {t['user']!r}: no triple {s_text} {p_text} {o_text}")
                    continue
                answer_labels |= {_label(graph, found[0]).casefold(), _label(graph, s).casefold()}
            for expected in t.get("expected", []):
                if expected.casefold() not in answer_labels:
                    problems.append(f"{c['id']}: {t['user']!r}: {expected!r} is not the label of "
                                    f"a gold triple's end ({sorted(answer_labels)})")
    assert problems == []


def test_the_set_holds_the_follow_up_kinds_it_claims(conversations):
    users = [t["user"] for c in conversations for t in c["turns"]]
    pronoun = [u for u in users if re.search(r"\b(it|its|there|they|that city|that country)\b", u, re.I)]
    ellipsis = [u for u in users if re.match(r"(and|what about)\b", u, re.I) and len(u.split()) <= 5]
    unanswerable = [t for c in conversations for t in c["turns"] if t.get("unanswerable")]
    assert len(pronoun) >= 20 and len(ellipsis) >= 15 and len(unanswerable) >= 15
    # entity switches: a conversation whose gold subjects span several entities
    switches = [c for c in conversations
                if len({e[0] for t in c["turns"] for e in t.get("expected_evidence", [])}) >= 3]
    assert len(switches) >= 20

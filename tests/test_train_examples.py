"""Training examples hold exactly what the engine shows the model at inference."""

from __future__ import annotations

import random

import pytest
from rdflib import URIRef

from dialogqa.dialogue.render import ABSTAIN_TEXT, render
from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.records import Fact
from dialogqa.kg.memory import MemoryKG
from dialogqa.kg.retriever import Retriever
from dialogqa.train.examples import (Example, training_graphs, build_examples, conversation_examples,
                                     expand, lookup_fact, mix_epoch, split_heldout, target_answer)
from dialogqa.records import Turn
from dialogqa.errors import UserError
from train_fixtures import EX, tiny_tokenizer, write_data


@pytest.fixture(scope="module")
def tok():
    return tiny_tokenizer()


@pytest.fixture
def data(tmp_path):
    transcripts, graph = write_data(tmp_path)
    return read_transcripts(transcripts), MemoryKG.from_files([str(graph)])


def test_prompts_equal_what_the_engine_renders(tok, data):
    conversations, kg = data
    conv = conversations[0]  # capital, population (pronoun), currency (ellipsis), unanswerable
    examples, stats = conversation_examples(conv, kg, Retriever(kg, k=8), tok, 1024, random.Random(0))
    assert stats.examples == len(conv.turns) == 4 and stats.gold_inserted == 0
    retriever, history = Retriever(kg, k=8), []
    for turn, ex in zip(conv.turns, examples):
        facts = retriever.retrieve(turn.user, history)
        prompt = render(tok, turn.user, facts, history, max_tokens=1024)  # as the session renders it
        assert ex.input_ids[: prompt.prompt_len] == prompt.input_ids
        assert ex.fact_ends == prompt.fact_ends and ex.query_pos == prompt.prompt_len - 1
        gold = {tuple(t) for t in turn.expected_evidence}
        assert ex.fact_labels == [float(f.key() in gold) for f in prompt.facts]
        answer = target_answer(turn)
        assert tok.decode([t for t, m in zip(ex.input_ids, ex.loss_mask) if m]) == answer + "<|im_end|>"
        # the next turn sees this one as a perfect bot would have left it (the gold facts as
        # the graph holds them: the retriever's ranking reads their labels), and as the session
        # records it: the prompt order of its facts and the hint it was asked with
        gold_facts = [lookup_fact(kg, t) for t in turn.expected_evidence]
        assert prompt.hint
        history.append(Turn(user=turn.user, answer=answer, evidence=gold_facts,
                            abstained=turn.unanswerable, facts=prompt.facts, hint=prompt.hint))
    assert examples[-1].input_ids[: examples[-1].query_pos].count(tok.encode("Best-matching")[0]) >= 1


def test_gold_line_is_labelled_and_moves(tok, data):
    conversations, kg = data
    examples, _ = build_examples(conversations, training_graphs(k=8), tok, 512, seed=0)
    answerable = [ex for ex in examples if any(ex.fact_labels)]
    assert len(answerable) == 15  # 3 x 3 + 3 x 2 answerable turns
    for ex in answerable:
        assert sum(ex.fact_labels) == 1
    positions = {ex.fact_labels.index(1.0) for ex in answerable}
    assert len(positions) > 2  # the gold fact is not always on the same line


def test_unanswerable_turn_teaches_abstention(tok, data):
    conversations, kg = data
    examples, stats = conversation_examples(conversations[0], kg, Retriever(kg, k=8), tok, 512,
                                            random.Random(0))
    last = examples[-1]
    assert stats.unanswerable == 1
    assert last.fact_labels and not any(last.fact_labels)
    assert tok.decode([t for t, m in zip(last.input_ids, last.loss_mask) if m]) == ABSTAIN_TEXT + "<|im_end|>"


def test_gold_removed_turns_answerable_turns_into_abstentions(tok, data):
    conversations, kg = data
    conv = conversations[0]
    plain, _ = conversation_examples(conv, kg, Retriever(kg, k=8), tok, 1024, random.Random(0))
    got, stats = conversation_examples(conv, kg, Retriever(kg, k=8), tok, 1024, random.Random(0),
                                       gold_removed=0.9999)
    assert stats.gold_removed == 3 and stats.unanswerable == 4 and len(got) == 4
    abstain = ABSTAIN_TEXT + "<|im_end|>"
    for ex in got:
        assert tok.decode([t for t, m in zip(ex.input_ids, ex.loss_mask) if m]) == abstain
        assert not any(ex.fact_labels)
    # first turn (same history as without removal): the gold line is gone, the next-ranked
    # fact fills its place where there is one
    assert len(got[0].fact_labels) in (len(plain[0].fact_labels) - 1, 8)
    for ex, turn in zip(got, conv.turns):
        gold = [lookup_fact(kg, t) for t in turn.expected_evidence]
        prompt = tok.decode(ex.input_ids[: ex.query_pos + 1])
        assert all(f"| {g.p_label} | {g.o_label}\n" not in prompt.split("<|im_end|>")[0]
                   for g in gold if g)
    assert [len(e) for e in plain] != [len(e) for e in got]
    # the rate is a share: at 0 nothing changes
    again, stats = conversation_examples(conv, kg, Retriever(kg, k=8), tok, 1024, random.Random(0),
                                         gold_removed=0.0)
    assert stats.gold_removed == 0 and [e.input_ids for e in again] == [e.input_ids for e in plain]


class _MissingRetriever:
    """Returns only the population facts: the gold fact of a capital question is missing."""

    def __init__(self, kg, k=3):
        self.kg, self.k = kg, k

    def retrieve(self, question, history=()):
        facts = []
        for country in ("Norway", "Sweden", "Finland"):
            s, p = URIRef(EX + country), URIRef(EX + "population")
            for _, _, o in self.kg.triples(s, p, None):
                facts.append(Fact(s, p, o, country, "population", str(o)))
        return facts[: self.k]


def test_missing_gold_fact_is_inserted_or_skipped(tok, data):
    conversations, kg = data
    conv = conversations[0]
    conv.turns = conv.turns[:1]  # "What is the capital of Norway?"
    got, stats = conversation_examples(conv, kg, _MissingRetriever(kg), tok, 512, random.Random(0),
                                       gold_missing="insert")
    assert stats.gold_inserted == 1 and len(got) == 1
    assert len(got[0].fact_labels) == 3 and sum(got[0].fact_labels) == 1  # still K facts
    gold_line = tok.decode(got[0].input_ids[: got[0].fact_ends[got[0].fact_labels.index(1.0)] + 1])
    assert gold_line.splitlines()[-1].endswith("Norway | capital | Oslo")
    got, stats = conversation_examples(conv, kg, _MissingRetriever(kg), tok, 512, random.Random(0),
                                       gold_missing="skip")
    assert got == [] and stats.skipped == 1


def test_target_answer():
    assert target_answer(Turn(user="q", expected=["Oslo"])) == "Oslo"
    assert target_answer(Turn(user="q", answer="The capital is Oslo.", expected=["Oslo"])) == "The capital is Oslo."
    assert target_answer(Turn(user="q", unanswerable=True)) == ABSTAIN_TEXT
    assert target_answer(Turn(user="q")) is None
    # a count or a yes/no is composed by the engine from the fact the model names: the target
    # names that fact's far end; a comparison's words are the engine's alone
    n = URIRef(EX + "Norway")
    border = [Fact(n, URIRef(EX + "borders"), URIRef(EX + x), "Norway", "borders", x)
              for x in ("Sweden", "Finland")]
    assert target_answer(Turn(user="How many countries does Norway border?", type="count",
                              expected=["2"]), border) == "Sweden"
    into = Fact(URIRef(EX + "Sweden"), URIRef(EX + "borders"), n, "Sweden", "borders", "Norway")
    assert target_answer(Turn(user="How many countries border Norway?", type="count",
                              expected=["1"]), [into]) == "Sweden"
    assert target_answer(Turn(user="Does Norway border Sweden?", type="boolean",
                              expected=["yes"]), border) == "Sweden"
    assert target_answer(Turn(user="How many?", type="count", expected=["2"])) is None
    assert target_answer(Turn(user="Which is larger, Norway or Sweden?", type="comparison",
                              expected=["Sweden"]), border) is None


def test_heldout_split_is_whole_conversations_and_fixed(data):
    conversations, _ = data
    train, val = split_heldout(conversations, 0.34, seed=3)
    assert len(val) == 2 and len(train) == 4
    assert {c.id for c in train}.isdisjoint({c.id for c in val})
    again = split_heldout(list(reversed(conversations)), 0.34, seed=3)[1]
    assert {c.id for c in again} == {c.id for c in val}  # by id and seed, not file order
    assert split_heldout(conversations, 0.0, seed=3) == (conversations, [])


def _exs(n, tag):
    return [Example([i], [0], [], [], source=tag) for i in range(n)]


def test_mixing_weights():
    by_source = {"a": _exs(10, "a"), "b": _exs(4, "b"), "c": _exs(6, "c")}
    rng = random.Random(0)
    mixed = mix_epoch(by_source, {"a": 0.5, "b": 2.0, "c": 0.0}, 0, rng)
    counts = {t: sum(e.source == t for e in mixed) for t in "abc"}
    assert counts == {"a": 5, "b": 8, "c": 0}
    assert sorted(e.input_ids[0] for e in mixed if e.source == "b") == sorted(list(range(4)) * 2)
    scaled = mix_epoch(by_source, {"a": 1.0, "b": 1.0, "c": 1.0}, 10, rng)
    counts = {t: sum(e.source == t for e in scaled) for t in "abc"}
    assert counts == {"a": 5, "b": 2, "c": 3}


def test_missing_transcript_files(tmp_path):
    with pytest.raises(UserError, match="no transcript file matches"):
        expand([str(tmp_path / "*.jsonl")], "sources.0.transcripts")
    with pytest.raises(UserError, match="no transcript file matches"):
        expand([str(tmp_path / "x.jsonl")], "sources.0.transcripts")


def test_missing_graph_names_the_conversation(tmp_path, tok):
    transcripts, graph = write_data(tmp_path)
    graph.unlink()
    with pytest.raises(UserError, match=r"dialogues.jsonl:1: graph file .*graph.ttl does not exist"):
        build_examples(read_transcripts(transcripts), training_graphs(k=8), tok, 512, seed=0)

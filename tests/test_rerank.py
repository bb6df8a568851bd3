"""The rerank pass (model/rerank.py): the model reads the question, then each of the
retriever's best facts' properties, and a head rescores them."""

from __future__ import annotations

import pytest
import torch
from rdflib import URIRef

from dialogqa.errors import UserError
from dialogqa.model.fast import FastChatModel
from dialogqa.model.hf import HFChatModel
from dialogqa.model.rerank import RerankHead, branch_text, prompt_text, read_candidates, rerank
from dialogqa.records import Fact
from tiny_llama import tiny_llama

EX = "http://example.org/"


def facts():
    props = ["capital", "population", "currency", "continent"]
    return [Fact(URIRef(EX + "Norway"), URIRef(EX + p), URIRef(EX + f"v{i}"), "Norway", p, f"v{i}",
                 score=3.0 - 0.5 * i) for i, p in enumerate(props)]


def test_the_branch_reader_reads_what_a_whole_read_reads(tok, model):
    """The fast side pass reads the question once and each property after it; the same states
    and log-probabilities as reading question and property together with transformers."""
    fast, ref = FastChatModel(model, tok, weights="f32"), HFChatModel(model, tok)
    a_states, a_pmi = read_candidates(fast, "What is the capital?", facts(), "Where is Oslo?")
    b_states, b_pmi = read_candidates(ref, "What is the capital?", facts(), "Where is Oslo?")
    assert a_states.shape == (4, model.config.hidden_size)
    assert torch.allclose(a_states, b_states, atol=1e-3) and torch.allclose(a_pmi, b_pmi, atol=1e-3)
    # the previous question is read: the states differ without it
    c_states, _ = read_candidates(fast, "What is the capital?", facts())
    assert not torch.allclose(a_states, c_states, atol=1e-3)


def test_an_inverse_fact_reads_as_asked_from_its_object():
    f = facts()[0]
    assert branch_text(f) == "capital"
    from dataclasses import replace

    assert branch_text(replace(f, inverse=True)) == "capital of it"
    # user text is read as data, on one line each
    assert prompt_text("What is\nits capital?", "Tell me\nabout Norway") == \
        "Previous question: Tell me about Norway\nQuestion: What is its capital?\nThe answer is its"


def synthetic(n=120, dim=8, seed=0):
    """Turns whose gold candidate's state has a +1 in dimension 0, whose retriever score is
    not the best: only the state tells which one is gold."""
    g = torch.Generator().manual_seed(seed)
    turns = []
    for _ in range(n):
        states = torch.randn(5, dim, generator=g)
        gold_i = int(torch.randint(1, 5, (1,), generator=g))
        states[:, 0] = 0.0
        states[gold_i, 0] = 3.0
        scores = torch.linspace(2.0, 1.0, 5)
        gold = torch.zeros(5, dtype=torch.bool)
        gold[gold_i] = True
        turns.append((states, torch.zeros(5), scores, gold))
    return turns


def test_the_head_learns_what_the_retriever_misses_and_saves(tmp_path):
    turns = synthetic()
    head = RerankHead(8)
    head.fit(turns[:100], epochs=200, batch=20)
    right = sum(bool(gold[int((scores + head(states, pmi)).argmax())]) for states, pmi, scores, gold in turns[100:])
    assert right >= 18  # of 20 held out; the retriever alone: 0
    head.save(tmp_path)
    again = RerankHead.load(tmp_path, hidden_size=8)
    states, pmi, _, _ = turns[100]
    assert torch.allclose(head(states, pmi), again(states, pmi))
    with pytest.raises(UserError, match="another base model"):
        RerankHead.load(tmp_path, hidden_size=16)
    config = (tmp_path / "rerank_head.json")
    config.write_text(config.read_text().replace("Previous question", "Earlier"))
    with pytest.raises(UserError, match="fit it again"):
        RerankHead.load(tmp_path)
    assert RerankHead.load(tmp_path / "none") is None


class Favour(torch.nn.Module):
    """A head that adds 10 to one position's score."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def forward(self, states, pmi):
        out = torch.zeros(states.shape[0])
        out[self.index] = 10.0
        return out


def test_rerank_resorts_the_best_and_keeps_the_rest_below(tok, model):
    fast = FastChatModel(model, tok, weights="f32")
    many = facts() + [Fact(URIRef(EX + "Norway"), URIRef(EX + "anthem"), URIRef(EX + "x"), "Norway", "anthem", "x",
                           score=2.9)]
    out = rerank(fast, Favour(2), "What currency?", many, top=3)
    assert [f.p_label for f in out[:3]] == ["currency", "capital", "population"]
    # the head's favourite first, at the retriever's best score (abstention stays calibrated)
    assert out[0].score == pytest.approx(3.0) and out[1].score == pytest.approx(3.0 - 9.0)
    # beyond the facts read again, none scores above them
    assert all(f.score <= out[2].score for f in out[3:]) and len(out) == len(many)


def test_a_session_reranks_before_it_answers(tok):
    from tests.test_compose import TTL
    from dialogqa.dialogue.session import DialogueSession
    from dialogqa.kg.memory import MemoryKG
    import tempfile, pathlib

    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "g.ttl"
        path.write_text(TTL, encoding="utf-8")
        kg = MemoryKG.from_files([str(path)])
    fast = FastChatModel(tiny_llama(len(tok), max_position_embeddings=1024), tok, weights="f32")
    session = DialogueSession(kg, fast, max_new_tokens=2)
    plain = session.retriever.retrieve("What is the population of Norway?", [])
    fast.rerank = Favour(3)
    turn = session.ask("What is the population of Norway?")
    assert turn.ranked[0].key() == plain[3].key()  # the head's favourite, not the retriever's
    assert "rerank_ms" in turn.timings

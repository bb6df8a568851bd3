"""The cross rerank (model/cross.py): the model's top layers, with their own LoRA, read the
question and then each candidate fact whole; trained listwise against abstaining."""

from __future__ import annotations

import json

import pytest
import torch
from rdflib import URIRef

from dialogqa.errors import UserError
from dialogqa.model.cross import CONFIG_FILE, CrossRerank, cross_rerank, fact_text, read_lower
from dialogqa.model.fast import FastChatModel
from dialogqa.records import Fact
from dialogqa.train.cross import CrossTurn, evaluate, fit, turn_loss

EX = "http://example.org/"


def facts():
    props = ["capital", "population", "currency", "continent"]
    return [Fact(URIRef(EX + "Norway"), URIRef(EX + p), URIRef(EX + f"v{i}"), "Norway", p, f"v{i}",
                 score=1.0) for i, p in enumerate(props)]


@pytest.fixture
def chat(tok, model):
    return FastChatModel(model, tok, weights="f32")


def test_its_layers_read_what_the_whole_model_reads(chat):
    """Lower layers in the side pass, the top ones again here (own LoRA still zero): the same
    final state as the fast forward reading question and fact line together."""
    cross = CrossRerank(chat.net, top=1)
    stop = chat.net.config.n_layers - 1
    prefix = chat.tokenizer("Question: What is the capital?\nFact:", add_special_tokens=False)["input_ids"]
    lines = [chat.tokenizer(fact_text(f), add_special_tokens=False)["input_ids"] for f in facts()[:2]]
    low_prefix, low_lines = chat.read_lower(prefix, lines, stop)
    states = cross.encode(low_prefix, low_lines)
    for line, state in zip(lines, states):
        whole = chat.net.side(128).forward(prefix + line, 0)[-1]
        assert torch.allclose(state, whole, atol=1e-4)


def test_a_fact_line_never_sees_another(chat):
    """Each line attends to the question and itself: a line's state does not depend on which
    other lines are read beside it."""
    cross = CrossRerank(chat.net, top=1)
    prefix, lines = read_lower(chat, 1, "What is the capital?", facts())
    both = cross.encode(prefix, lines)
    alone = cross.encode(prefix, lines[2:3])
    assert torch.allclose(both[2], alone[0], atol=1e-5)


def test_training_puts_the_gold_fact_first_and_over_abstaining(chat):
    torch.manual_seed(0)
    cross = CrossRerank(chat.net, top=1, rank=4)
    prefix, lines = read_lower(chat, 1, "What is the capital?", facts())
    gold = torch.tensor([False, False, True, False])
    turn = CrossTurn("What is the capital?", "", [fact_text(f) for f in facts()], torch.ones(4), gold,
                     "toy", prefix, lines)
    before = evaluate(cross, [turn], 4.0, 7.5)["toy"]
    assert before["cross"] == 0  # ties at 4 x 1.0 < 7.5: abstains
    fit(cross, [turn] * 40, 4.0, 7.5, lr=1e-2, batch=4)
    after = evaluate(cross, [turn], 4.0, 7.5)["toy"]
    assert after["cross_first"] == 1 and after["cross"] == 1


def test_the_loss_wants_abstaining_when_no_candidate_is_gold():
    z = torch.tensor([8.0, 1.0])
    none = torch.tensor([False, False])
    assert turn_loss(z, none, 7.5) > turn_loss(torch.tensor([5.0, 1.0]), none, 7.5)
    assert turn_loss(z, torch.tensor([True, False]), 7.5) < turn_loss(z, none, 7.5)


def test_saved_and_loaded_it_scores_the_same(chat, tmp_path):
    torch.manual_seed(1)
    cross = CrossRerank(chat.net, top=1, rank=4)
    for p in cross.parameters():
        torch.nn.init.normal_(p, std=0.05)
    cross.save(tmp_path)
    loaded = CrossRerank.load(tmp_path, chat.net)
    prefix, lines = read_lower(chat, 1, "What is the capital?", facts())
    assert torch.allclose(cross(prefix, lines), loaded(prefix, lines))
    ranked = cross_rerank(chat, loaded, "What is the capital?", facts() + [facts()[0]], top=4)
    assert [f.score for f in ranked] == sorted((f.score for f in ranked), reverse=True)
    assert ranked[-1].score <= min(f.score for f in ranked[:4])
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    config["prompt"] = "something else"
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(UserError, match="fit it again"):
        CrossRerank.load(tmp_path, chat.net)


def test_no_cross_saved_is_none(chat, tmp_path):
    assert CrossRerank.load(tmp_path, chat.net) is None


# -- the question head on top layers of its own (model/intent.py, train/intent.py) --------

def test_question_head_trained_through_its_own_top_layers(chat, tmp_path):
    from dialogqa.model.intent import IntentHead, read_question
    from dialogqa.train.intent import fit_through_layers, read_features

    questions = ["How many rivers are there?", "Which is larger, A or B?", "What is the capital?",
                 "Does it border B?"] * 4
    intents = ["count", "compare", "lookup", "lookup?"] * 4
    cache: dict = {}
    head = fit_through_layers(chat, questions, intents, top=1, rank=4, epochs=20, lr=1e-2, batch=4, cache=cache)
    assert head.layers is not None and len(cache) == 4  # each question read once below
    x = read_features(chat, head, questions[:4], cache)
    assert [head.predict(row)[0] for row in x] == ["count", "compare", "lookup", "lookup"]
    assert head.predict(x[3])[1]  # polar
    head.save(tmp_path)
    loaded = IntentHead.load(tmp_path, net=chat.net)
    chat.intent = loaded
    # in the session the side pass reads the question, the head's own layers read it again
    assert torch.allclose(read_question(chat, questions[1]), x[1], atol=1e-4)
    assert IntentHead.load(tmp_path) is None  # its layers run on the fast forward only

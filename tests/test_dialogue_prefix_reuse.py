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
    assert stats["computed_tokens"] < fact_block_end / 2  # only the new lines, history, question

"""A long conversation on a 2-layer model built here: the prompt shows a bounded window of
earlier turns, and the focus ("there", "its") still comes from the whole conversation."""

import pytest

from dialogue_fixtures import EX, open_graph, write_graph
from dialogqa.dialogue.session import HISTORY_STEP, HISTORY_TURNS, DialogueSession, history_start

fast = pytest.importorskip("dialogqa.model.fast")
tiny = pytest.importorskip("tiny_llama")

QUESTIONS = ["What is the capital of Norway?", "How many people live there?",
             "What is the capital of Sweden?", "And its population?", "What currency does Norway use?"]


def test_history_window_moves_in_steps():
    assert [history_start(n) for n in range(HISTORY_TURNS + 1)] == [0] * (HISTORY_TURNS + 1)
    shown = [n - history_start(n) for n in range(HISTORY_TURNS + 1, 200)]
    assert min(shown) == HISTORY_TURNS - HISTORY_STEP and max(shown) < HISTORY_TURNS
    # the start only moves every HISTORY_STEP turns: the turns between reuse the cached history
    moves = [n for n in range(HISTORY_TURNS + 1, 200) if history_start(n + 1) != history_start(n)]
    assert {b - a for a, b in zip(moves, moves[1:])} == {HISTORY_STEP}


def test_prompt_stays_bounded_and_focus_survives_many_turns(tmp_path):
    tok = tiny.tiny_tokenizer()
    model = fast.FastChatModel(tiny.tiny_llama(vocab_size=len(tok), max_position_embeddings=8192),
                               tok, weights="f32")
    session = DialogueSession(open_graph(write_graph(tmp_path)), model, max_new_tokens=4)
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    prompt_turns, prompt_tokens = [], []
    for i in range(2 * HISTORY_TURNS + HISTORY_STEP):
        session.ask(QUESTIONS[i % len(QUESTIONS)])
        # system + 2 blocks per earlier turn + the question's user and assistant blocks
        prompt_turns.append((model._ids.count(im_start) - 3) // 2)
        prompt_tokens.append(model.last_prefill["reused_tokens"] + model.last_prefill["computed_tokens"])
    assert len(session.history) == 2 * HISTORY_TURNS + HISTORY_STEP  # the conversation itself keeps every turn
    assert max(prompt_turns) == HISTORY_TURNS
    assert prompt_turns[-HISTORY_STEP:] == [HISTORY_TURNS - HISTORY_STEP + j for j in range(HISTORY_STEP)]
    assert max(prompt_tokens[-3 * HISTORY_STEP:]) <= max(prompt_tokens[: HISTORY_TURNS + 1])

    # "there" after many turns: Norway's focus carries over, its population is a candidate
    session.ask("What is the capital of Norway?")
    assert EX + "Norway" in {str(e) for e in session.focus}
    follow = session.ask("How many people live there?")
    assert (EX + "Norway", EX + "population") in {(str(f.s), str(f.p)) for f in follow.facts}

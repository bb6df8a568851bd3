"""The fast CPU forward against the transformers forward, on a 2-layer model built here."""

from __future__ import annotations

import pytest
import torch

from dialogqa.model.fast import FastChatModel, FastLlama, UnsupportedModel, common_prefix
from dialogqa.model.hf import HFChatModel
from dialogqa.model.relevance import RelevanceHead
from tiny_llama import tiny_llama


def prompt(n: int = 40, seed: int = 1) -> list[int]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, 320, (n,), generator=g).tolist()


def hf_logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0]


@pytest.mark.parametrize("kv_heads", [4, 2])  # plain multi-head and grouped-query attention
def test_f32_forward_matches_transformers(kv_heads):
    model = tiny_llama(320, num_key_value_heads=kv_heads)
    ids = prompt(100)  # past SMALL_ATTENTION_ROWS: the SDPA path
    net = FastLlama.from_hf(model, weights="f32")
    logits = net.logits(net.forward(ids, 0))
    torch.testing.assert_close(logits, hf_logits(model, ids), atol=1e-4, rtol=1e-4)
    ids = ids[:40]  # the bmm path
    logits = net.logits(net.forward(ids, 0))
    torch.testing.assert_close(logits, hf_logits(model, ids), atol=1e-4, rtol=1e-4)


def test_prefill_in_pieces_and_steps_match_one_prefill(model):
    ids = prompt(120)
    net = FastLlama.from_hf(model, weights="f32")
    whole = net.forward(ids, 0)
    # a cached prefix, then a long tail (SDPA path), a short tail (bmm path), then decode steps
    parts = [net.forward(ids[:10], 0), net.forward(ids[10:90], 10),
             net.forward(ids[90:95], 90)] + [net.step(t, i) for i, t in enumerate(ids[95:], 95)]
    torch.testing.assert_close(torch.cat(parts), whole, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("weights", ["bf16", "int8"])
def test_low_precision_weights_stay_close(model, weights):
    ids = prompt(40)
    ref = hf_logits(model, ids)
    net = FastLlama.from_hf(model, weights=weights)
    logits = net.logits(net.forward(ids, 0))
    cos = torch.nn.functional.cosine_similarity(logits, ref, dim=-1)
    assert cos.min() > 0.995, cos.min()


def snap_to_q4_grid(model):
    """Round every projection to 4 bits in groups of 32, as a GGUF Q4_1 file holds them."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and "layers" in name:
                w = module.weight
                g = w.view(w.shape[0], -1, 32)
                low, high = g.amin(-1, keepdim=True), g.amax(-1, keepdim=True)
                scale = (high - low) / 15
                w.copy_((torch.round((g - low) / scale) * scale + low).view_as(w))
    return model


def test_int4_reproduces_weights_already_on_the_4bit_grid():
    model = snap_to_q4_grid(tiny_llama(320, seed=3))
    ids = prompt(40)
    ref = hf_logits(model, ids)
    net = FastLlama.from_hf(model, weights="int4")
    assert net.layers[0].qkv.fmt == "int4"
    logits = net.logits(net.forward(ids[:30], 0))
    logits = torch.cat([logits] + [net.logits(net.step(t, i)) for i, t in enumerate(ids[30:], 30)])
    cos = torch.nn.functional.cosine_similarity(logits, ref, dim=-1)
    assert cos.min() > 0.995, cos.min()
    assert (logits.argmax(-1) == ref.argmax(-1)).float().mean() >= 0.9


def test_exact_rescoring_keeps_the_greedy_choice(model):
    net = FastLlama.from_hf(model, weights="bf16")  # LM head in int4, its top 32 rescored in fp32
    hidden = net.forward(prompt(40), 0)
    exact = hidden @ model.lm_head.weight.detach().T
    approx = net.lm_head(hidden.to(torch.bfloat16)).float()
    logits = net.logits(hidden)
    assert not torch.allclose(approx, exact, atol=1e-3)  # the head alone is approximate
    top = exact.argmax(-1, keepdim=True)
    torch.testing.assert_close(logits.gather(1, top), exact.gather(1, top), atol=1e-4, rtol=1e-4)
    assert torch.equal(logits.argmax(-1), exact.argmax(-1))


def greedy_hf(model, ids, n):
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    return out[0, len(ids):].tolist()


def test_greedy_tokens_identical_to_transformers_generate(tok, model):
    ids = prompt(30)
    chat = FastChatModel(model, tok, weights="f32")
    chat.stop_ids = set()  # generate() above is told not to stop either
    chat.prefill(ids, [])
    assert list(chat.generate_ids(20)) == greedy_hf(model, ids, 20)


def test_fast_and_reference_chat_models_agree(tok, model):
    head = RelevanceHead(model.config.hidden_size)
    torch.nn.init.normal_(head.proj.weight, std=0.5)
    ids = tok("Norway | capital | Oslo\nSweden | capital | Stockholm\nWhat is the capital?")["input_ids"]
    ends = [5, 12, len(ids) - 1]
    fast, ref = FastChatModel(model, tok, head, weights="f32"), HFChatModel(model, tok, head)
    scores_fast, scores_ref = fast.prefill(ids, ends), ref.prefill(ids, ends)
    assert len(scores_fast) == 3 and all(0 < s < 1 for s in scores_fast)
    assert scores_fast == pytest.approx(scores_ref, abs=1e-5)
    assert "".join(fast.decode(16)) == "".join(ref.decode(16))


def test_prefix_cache_reuse_gives_the_same_answer_as_a_fresh_prefill(tok, model):
    head = RelevanceHead(model.config.hidden_size)
    torch.nn.init.normal_(head.proj.weight, std=0.5)
    first = prompt(40, seed=2)
    cached = FastChatModel(model, tok, head, weights="f32")
    cached.stop_ids = set()
    cached.prefill(first, [5, 20])
    answer = list(cached.generate_ids(8))
    # the follow-up prompt: the old prompt, the answer, a new question; fact 5 and 20 are in
    # the reused part, 50 in the new part
    follow = first + answer + prompt(12, seed=3)
    scores = cached.prefill(follow, [5, 20, 50])
    assert cached.last_prefill["reused_tokens"] >= len(first)
    assert cached.last_prefill["computed_tokens"] == len(follow) - cached.last_prefill["reused_tokens"]
    tokens = list(cached.generate_ids(10))

    fresh = FastChatModel(model, tok, head, weights="f32")
    fresh.stop_ids = set()
    assert scores == pytest.approx(fresh.prefill(follow, [5, 20, 50]), abs=1e-5)
    assert fresh.last_prefill["reused_tokens"] == 0
    assert tokens == list(fresh.generate_ids(10))


def test_prompt_that_diverges_early_or_is_a_prefix_is_recomputed(tok, model):
    chat = FastChatModel(model, tok, weights="f32")
    chat.stop_ids = set()
    ids = prompt(30)
    chat.prefill(ids, [])
    expected = list(chat.generate_ids(5))
    chat.prefill(ids[:1] + prompt(29, seed=9), [])  # shares one token
    assert chat.last_prefill["reused_tokens"] == 1
    chat.prefill(ids, [])  # back to the first prompt: same answer
    assert list(chat.generate_ids(5)) == expected
    chat.prefill(ids, [])  # the same prompt again: only the last token is re-read
    assert chat.last_prefill["computed_tokens"] == 1
    assert list(chat.generate_ids(5)) == expected


def test_decode_stops_at_end_of_turn_and_streams_text(tok, model):
    chat = FastChatModel(model, tok, weights="f32")
    chat.prefill(prompt(20), [])
    tokens = list(chat.generate_ids(30))
    end = tok.convert_tokens_to_ids("<|im_end|>")
    assert end in chat.stop_ids
    chat.stop_ids = {tokens[3]}  # pretend the 4th token ends the turn
    chat.prefill(prompt(20), [])
    assert list(chat.generate_ids(30)) == tokens[:tokens.index(tokens[3])]
    chat.stop_ids = set()
    chat.prefill(prompt(20), [])
    text = "".join(chat.decode(12))
    assert text == tok.decode(tokens[:12], skip_special_tokens=True)


def test_bad_calls_are_refused(tok, model):
    chat = FastChatModel(model, tok, weights="f32", context_length=64)
    with pytest.raises(RuntimeError):
        list(chat.decode(3))
    with pytest.raises(ValueError, match="context length"):
        chat.prefill(prompt(64), [])
    with pytest.raises(ValueError, match="fact_ends"):
        chat.prefill(prompt(10), [10])
    with pytest.raises(ValueError, match="weights"):
        FastLlama.from_hf(model, weights="int3")


def test_decode_never_runs_past_the_context(tok, model):
    chat = FastChatModel(model, tok, weights="f32", context_length=24)
    chat.stop_ids = set()
    chat.prefill(prompt(20), [])
    assert len(list(chat.generate_ids(50))) <= 24 - 20 + 1


def test_unsupported_architecture_is_named(model):
    class Odd:
        config = model.config
    with pytest.raises(UnsupportedModel):
        FastLlama.from_hf(Odd())


def test_common_prefix():
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([1, 2], [1, 2]) == 2


def test_sampling_is_seeded_and_reset_forgets_the_cache(tok, model):
    def sample(seed):
        chat = FastChatModel(model, tok, weights="f32", temperature=1.0, seed=seed)
        chat.stop_ids = set()
        chat.prefill(prompt(20), [])
        return chat, list(chat.generate_ids(12))

    chat, first = sample(1)
    assert first == sample(1)[1]
    assert first != sample(2)[1]  # 12 draws over 320 near-flat logits: practically never equal
    chat.reset()
    chat.prefill(prompt(20), [])
    assert chat.last_prefill["reused_tokens"] == 0


@pytest.mark.parametrize("weights", ["f32", "int4"])
def test_prompt_lookup_decoding_gives_the_plain_greedy_tokens(tok, model, weights):
    """Drafts copied from the context are verified in one pass: the tokens are those of one
    step at a time, and with a repetitive prompt most drafts are accepted."""
    accepted = 0
    for seed in range(4):
        base = prompt(12, seed=seed)
        ids = base * 4  # the model's greedy continuation tends to copy a repeated pattern
        plain = FastChatModel(model, tok, weights=weights, lookup=0)
        ahead = FastChatModel(model, tok, weights=weights)
        for chat in (plain, ahead):
            chat.stop_ids = set()
            chat.prefill(ids, [])
        want, got = list(plain.generate_ids(40)), list(ahead.generate_ids(40))
        assert got == want and len(got) == 40
        assert plain.lookup_stats["drafted"] == 0
        accepted += ahead.lookup_stats["accepted"]
        # the cache holds what was read: the prompt and the answer (the last token too when
        # a draft pass read it), so a follow-up reuses it as after plain steps
        assert ahead._ids[: len(plain._ids)] == plain._ids and len(ahead._ids) - len(plain._ids) <= 1
    assert accepted > 0


def test_prompt_lookup_respects_max_new_tokens_stop_and_context(tok, model):
    ids = prompt(12, seed=5) * 3
    for limit in (1, 2, 5, 9):
        plain, ahead = (FastChatModel(model, tok, weights="f32", lookup=n) for n in (0, 8))
        for chat in (plain, ahead):
            chat.stop_ids = set()
            chat.prefill(ids, [])
        assert list(ahead.generate_ids(limit)) == list(plain.generate_ids(limit))
    # a stop token inside a draft ends the answer there
    plain, ahead = (FastChatModel(model, tok, weights="f32", lookup=n) for n in (0, 8))
    for chat in (plain, ahead):
        chat.stop_ids = set()
        chat.prefill(ids, [])
    stream = list(plain.generate_ids(30))
    stop = stream[10]
    for chat in (plain, ahead):
        chat.stop_ids = {stop}
        chat.prefill(ids, [])
    assert list(ahead.generate_ids(30)) == list(plain.generate_ids(30)) == stream[: stream.index(stop)]
    # the context is never exceeded
    small = FastChatModel(model, tok, weights="f32", context_length=len(ids) + 6)
    small.stop_ids = set()
    small.prefill(ids, [])
    assert len(list(small.generate_ids(40))) <= 7 and len(small._ids) <= len(ids) + 6


def test_the_side_read_matches_the_reference_and_leaves_the_cache_alone(tok, model):
    """The question head's side pass: same states and log-probabilities as transformers, and
    the conversation's cached prompt is reused untouched afterwards."""
    fast, ref = FastChatModel(model, tok, weights="f32"), HFChatModel(model, tok)
    q = tok("What is the capital of Sweden?")["input_ids"]
    assert fast.read(q) == pytest.approx(ref.read(q), abs=1e-4)
    assert fast.read_logprobs(q) == pytest.approx(ref.read_logprobs(q), abs=1e-3)
    ids = prompt(40)
    fast.prefill(ids, [])
    first = "".join(fast.decode(8))
    fast.read(q)  # between two turns
    fast.prefill(ids, [])
    assert fast.last_prefill["reused_tokens"] == len(ids) - 1
    assert "".join(fast.decode(8)) == first


def test_option_scores_rank_by_the_model(tok, model):
    from dialogqa.model.intent import option_scores

    fast, ref = FastChatModel(model, tok, weights="f32"), HFChatModel(model, tok)
    options = ["capital", "population"]
    a, b = option_scores(fast, "What is the capital?", options), option_scores(ref, "What is the capital?", options)
    assert a == pytest.approx(b, abs=1e-3) and len(a) == 2

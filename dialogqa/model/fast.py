"""A lean CPU forward for Llama-family models, and the ChatModel built on it.

Why not ``model.generate()``: at batch size 1 on two cores a 135M model spends each step
reading fp32 weights and in framework overhead (cache objects, masks, hooks, logits
processors). Here:

- weights are packed once (dialogqa.model.quant: int4 by default, the GGUF's own 4-bit grid)
  and cached on disk by the loader; a LoRA adapter runs beside them, unmerged;
- q/k/v and gate/up projections are fused into one matmul each; the attention scale is
  folded into the q rows (1/sqrt(64) is a power of two, so exact); the residual stream,
  norms, RoPE and attention stay fp32;
- a preallocated KV cache: a follow-up prompt reuses the keys and values of its longest
  common prefix with what the model has already read (system text, facts, history, even the
  previous answer), so only the new tail is computed;
- decoding one token (``step``) is ~20 torch calls per layer and no Python objects;
- logits only for the decoded position, from a 4-bit LM head whose top 32 candidates are
  rescored with the fp32 embedding rows (greedy decoding picks the full-precision argmax).

Measured with benchmarks/chat_bench.py. Correctness is tested against the transformers
forward on a 2-layer model (tests/test_model_fast.py) and on the real model (slow tier).
"""

from __future__ import annotations

import copy

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from dialogqa.model.detok import stream_text
from dialogqa.model.quant import FORMATS, Linear, act_dtype, fuse_lora

# Up to this many new tokens attention is computed with bmm + softmax, beyond with SDPA.
SMALL_ATTENTION_ROWS = 64
# Candidates of the low-precision LM head rescored exactly (see FastLlama.logits).
RESCORE_TOP = 32
# Prompt-lookup decoding (see FastChatModel.generate_ids): draft tokens verified per pass, and
# the longest n-gram matched against the context to find them.
LOOKUP_DRAFT = 8
LOOKUP_NGRAM = 3

# decode()'s guide: (answer ids so far, next-token logits) -> the logits to pick from
Guide = Callable[[Sequence[int], torch.Tensor], torch.Tensor]


class UnsupportedModel(ValueError):
    """The model is not a plain Llama-style decoder this forward knows."""


PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class FastConfig:
    """What the forward needs to know of the model, saved beside its packed weights."""

    n_layers: int
    n_heads: int
    n_kv: int
    head_dim: int
    hidden_size: int
    eps: float
    max_positions: int
    weights: str
    eos_ids: list[int] = field(default_factory=list)
    tied: bool = True


def _check_supported(model: Any) -> None:
    cfg = model.config
    base = getattr(model, "model", None)
    if base is None or not hasattr(base, "layers") or not hasattr(model, "lm_head"):
        raise UnsupportedModel(f"{type(model).__name__}: expected model.layers and lm_head")
    if getattr(cfg, "hidden_act", "silu") != "silu" or getattr(cfg, "mlp_bias", False):
        raise UnsupportedModel("only SiLU-gated MLPs without bias are supported")
    if getattr(cfg, "sliding_window", None) and getattr(cfg, "use_sliding_window", True):
        raise UnsupportedModel("sliding-window attention is not supported")
    if getattr(model.lm_head, "bias", None) is not None:
        raise UnsupportedModel("an LM head with bias is not supported")
    layer = base.layers[0]
    if not all(hasattr(layer.self_attn, n) for n in PROJECTIONS[:4]) or hasattr(layer.self_attn, "q_norm"):
        raise UnsupportedModel("attention must be plain q/k/v/o projections")
    if not all(hasattr(layer.mlp, n) for n in PROJECTIONS[4:]):
        raise UnsupportedModel("MLP must have gate/up/down projections")


def _eos_ids(model: Any) -> list[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config):
        eos = getattr(source, "eos_token_id", None)
        ids.update([eos] if isinstance(eos, int) else (eos or []))
    return sorted(ids)


def pack_hf_model(model: Any, weights: str = "int4") -> tuple[FastConfig, dict[str, torch.Tensor]]:
    """The tensors the fast forward runs on, from a transformers Llama-style model."""
    if weights not in FORMATS:
        raise ValueError(f"weights must be one of {FORMATS}, got {weights!r}")
    _check_supported(model)
    cfg, base = model.config, model.model
    n_heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_heads
    config = FastConfig(
        n_layers=len(base.layers), n_heads=n_heads,
        n_kv=getattr(cfg, "num_key_value_heads", None) or n_heads, head_dim=head_dim,
        hidden_size=cfg.hidden_size, eps=float(cfg.rms_norm_eps),
        max_positions=int(cfg.max_position_embeddings), weights=weights, eos_ids=_eos_ids(model),
        tied=model.lm_head.weight.data_ptr() == base.embed_tokens.weight.data_ptr())
    # 1/sqrt(head_dim) folded into the q rows (a power of two for head_dim 64: exact)
    q_scale = 1.0 / math.sqrt(head_dim)
    state: dict[str, torch.Tensor] = {}

    def w(module, scale=1.0):
        return module.weight.detach().float() * scale

    def b(module, scale=1.0):
        return None if module.bias is None else module.bias.detach().float() * scale

    with torch.no_grad():
        for i, layer in enumerate(base.layers):
            att, mlp = layer.self_attn, layer.mlp
            q, k, v = att.q_proj, att.k_proj, att.v_proj
            biases = [b(q, q_scale), b(k), b(v)]
            qkv_bias = None
            if any(x is not None for x in biases):
                qkv_bias = torch.cat([x if x is not None else torch.zeros(m.out_features)
                                      for x, m in zip(biases, (q, k, v))])
            parts = {
                "qkv": Linear.quantize(torch.cat([w(q, q_scale), w(k), w(v)]), qkv_bias, weights),
                "o": Linear.quantize(w(att.o_proj), b(att.o_proj), weights),
                "gate_up": Linear.quantize(torch.cat([w(mlp.gate_proj), w(mlp.up_proj)]), None, weights),
                "down": Linear.quantize(w(mlp.down_proj), None, weights),
            }
            for name, linear in parts.items():
                state.update(linear.state(f"layers.{i}.{name}"))
            state[f"layers.{i}.ln1"] = layer.input_layernorm.weight.detach().float().contiguous()
            state[f"layers.{i}.ln2"] = layer.post_attention_layernorm.weight.detach().float().contiguous()
        state["embed"] = base.embed_tokens.weight.detach().float().contiguous()
        state["norm"] = base.norm.weight.detach().float().contiguous()
        # The LM head (vocab x hidden, 49152 x 576 for SmolLM2) is the largest matrix read on
        # every token: stored in 4 bits it costs half of int8. Its top candidates are then
        # rescored with the fp32 rows (see FastLlama.logits).
        if weights != "f32":
            state.update(Linear.quantize(model.lm_head.weight, None, "int4").state("lm_head"))
        elif not config.tied:
            state["lm_head.f32.weight"] = model.lm_head.weight.detach().float().contiguous()
        if not config.tied:
            state["exact_head"] = model.lm_head.weight.detach().float().contiguous()
        # cos/sin for every position from the model's own rotary module (any rope variant)
        positions = torch.arange(config.max_positions)[None]
        cos, sin = base.rotary_emb(state["embed"][:1][None], position_ids=positions)
        state["cos"] = cos[0].float().contiguous()
        state["sin"] = sin[0].float().contiguous()
    return config, state


class _Layer:
    def __init__(self, state: dict[str, torch.Tensor], i: int):
        self.qkv = Linear.from_state(state, f"layers.{i}.qkv")
        self.o = Linear.from_state(state, f"layers.{i}.o")
        self.gate_up = Linear.from_state(state, f"layers.{i}.gate_up")
        self.down = Linear.from_state(state, f"layers.{i}.down")
        self.ln1 = state[f"layers.{i}.ln1"]
        self.ln2 = state[f"layers.{i}.ln2"]


class FastLlama:
    """Batch-size-1 forward with a static KV cache. ``forward(ids, start)`` reads tokens at
    positions start.. and writes their keys and values into the cache there; ``step`` is the
    same for one token, leaner."""

    def __init__(self, config: FastConfig, state: dict[str, torch.Tensor],
                 context_length: int | None = None):
        self.config = config
        self.state = state
        self.n_heads, self.n_kv, self.head_dim = config.n_heads, config.n_kv, config.head_dim
        self.hidden_size = config.hidden_size
        self.eps = config.eps
        self.act = act_dtype(config.weights)
        self.context_length = min(context_length or config.max_positions, config.max_positions)
        self.layers = [_Layer(state, i) for i in range(config.n_layers)]
        self.embed = state["embed"]
        self.norm = state["norm"]
        # f32 with tied embeddings: the head is the embedding matrix itself
        tied_f32 = config.weights == "f32" and config.tied
        self.lm_head = Linear("f32", {"weight": self.embed}) if tied_f32 else Linear.from_state(state, "lm_head")
        self.exact_head = None
        if config.weights != "f32":
            self.exact_head = self.embed if config.tied else state["exact_head"]
        half = self.head_dim // 2
        self.cos = state["cos"][: self.context_length]
        # rotate_half(x) = swap halves, first half negated: the sign goes into sin
        sign = torch.cat([-torch.ones(half), torch.ones(half)])
        self.sin = (state["sin"][: self.context_length] * sign).contiguous()
        # x @ _swap exchanges the two halves of a head
        self._swap = torch.roll(torch.eye(self.head_dim), half, dims=0)
        shape = (config.n_layers, self.n_kv, self.context_length, self.head_dim)
        # torch.empty: pages are only touched (and counted as memory) as the cache fills.
        # fp32: CPU bmm is much faster in fp32 than bf16 here, and the cache is small
        # (46 KB a token for SmolLM2-135M).
        self.k_cache = torch.empty(shape, dtype=torch.float32)
        self.v_cache = torch.empty(shape, dtype=torch.float32)
        self._k_layers, self._v_layers = list(self.k_cache), list(self.v_cache)
        self.intermediate = self.layers[0].gate_up.out_features // 2

    @classmethod
    def from_hf(cls, model: Any, weights: str = "int4", context_length: int | None = None,
                lora: dict | None = None) -> FastLlama:
        config, state = pack_hf_model(model, weights)
        net = cls(config, state, context_length)
        if lora:
            net.set_lora(lora)
        return net

    def set_lora(self, factors: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Run a LoRA adapter beside the weights. ``factors`` maps a projection's module name
        (``model.layers.3.self_attn.q_proj``) to (A: r x in, B: out x r, scaling in B)."""
        known = {f"model.layers.{i}.{'self_attn' if p in PROJECTIONS[:4] else 'mlp'}.{p}"
                 for i in range(len(self.layers)) for p in PROJECTIONS}
        unknown = sorted(set(factors) - known)
        if unknown:
            raise UnsupportedModel(f"LoRA on modules the fast forward does not run: {unknown[:3]}")
        q_scale = 1.0 / math.sqrt(self.head_dim)
        nh, nkv, hd = self.n_heads, self.n_kv, self.head_dim
        for i, layer in enumerate(self.layers):
            def get(part, proj, scale=1.0):
                f = factors.get(f"model.layers.{i}.{part}.{proj}")
                return None if f is None else (f[0], f[1] * scale)

            fused = {
                "qkv": fuse_lora([(nh * hd, get("self_attn", "q_proj", q_scale)),
                                  (nkv * hd, get("self_attn", "k_proj")), (nkv * hd, get("self_attn", "v_proj"))]),
                "o": get("self_attn", "o_proj"),
                "gate_up": fuse_lora([(layer.gate_up.out_features // 2, get("mlp", "gate_proj")),
                                      (layer.gate_up.out_features // 2, get("mlp", "up_proj"))]),
                "down": get("mlp", "down_proj"),
            }
            for name, f in fused.items():
                linear = getattr(layer, name)
                linear.clear_lora()
                if f is None:
                    continue
                a, b = f
                if b.shape[0] != linear.out_features or a.shape[1] != linear.in_features or a.shape[0] != b.shape[1]:
                    raise ValueError(f"LoRA factors of layer {i} {name}: A {tuple(a.shape)}, B {tuple(b.shape)} "
                                     f"for a ({linear.out_features} x {linear.in_features}) projection")
                linear.set_lora(a, b)

    def side(self, length: int) -> "FastLlama":
        """The same network (weights and LoRA shared) with its own small KV cache of
        ``length`` positions: a short side read (the question head's) leaves this one's cache,
        and so the conversation's cached prompt, untouched."""
        other = copy.copy(self)
        other.context_length = min(length, self.context_length)
        shape = (self.config.n_layers, self.n_kv, other.context_length, self.head_dim)
        other.k_cache = torch.empty(shape, dtype=torch.float32)
        other.v_cache = torch.empty(shape, dtype=torch.float32)
        other._k_layers, other._v_layers = list(other.k_cache), list(other.v_cache)
        other.cos, other.sin = self.cos[: other.context_length], self.sin[: other.context_length]
        return other

    @torch.inference_mode()
    def forward(self, ids: Sequence[int] | torch.Tensor, start: int, stop: int | None = None,
                positions: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Final (normed) hidden states, fp32, shape (len(ids), hidden). ``stop``: the
        residual stream entering layer ``stop`` instead (not normed; the cache is written for
        the layers below it only): what the cross rerank's own top layers read.
        ``positions`` (len(ids),) and ``mask`` (len(ids), start + len(ids)), bool, True where a
        token may look): several short texts read at once after a shared prefix, each at the
        positions it would have alone (the cache slots stay start..); default causal."""
        ids = torch.as_tensor(ids, dtype=torch.long)
        n = ids.shape[0]
        end = start + n
        if end > self.context_length:
            raise ValueError(f"{end} tokens exceed the context length {self.context_length}")
        nh, nkv, hd = self.n_heads, self.n_kv, self.head_dim
        qk_heads, q_dim, kv_dim = nh + nkv, nh * hd, nkv * hd
        at = slice(start, end) if positions is None else positions
        cos = self.cos[at, None]
        sin = self.sin[at, None]
        group = nh // nkv
        if mask is None and n > 1:  # causal, offset by the cached prefix
            mask = torch.arange(end)[None, :] <= torch.arange(start, end)[:, None]
        if mask is not None:
            small_mask = ~mask.repeat(group, 1)  # rows of the stacked (group * n) queries
        packed = positions is not None
        act, eps, hs = self.act, self.eps, (self.hidden_size,)
        x = self.embed[ids]
        for i, layer in enumerate(self.layers):
            if i == stop:
                return x.float()
            h = F.rms_norm(x, hs, layer.ln1, eps).to(act)
            qkv = layer.qkv(h).float()  # rope and attention in fp32
            qk = qkv[:, :q_dim + kv_dim].view(n, qk_heads, hd)
            qk = torch.addcmul(qk * cos, qk.view(n, qk_heads, 2, hd // 2).flip(2).view(n, qk_heads, hd), sin)
            self.k_cache[i, :, start:end] = qk[:, nh:].transpose(0, 1)
            self.v_cache[i, :, start:end] = qkv[:, q_dim + kv_dim:].view(n, nkv, hd).transpose(0, 1)
            k = self.k_cache[i, :, :end]
            v = self.v_cache[i, :, :end]
            if n <= SMALL_ATTENTION_ROWS:
                # Few queries: plain batched matmuls per kv head beat the fused kernel's setup
                # cost. Query heads sharing a kv head are stacked as extra rows (GQA).
                q = qk[:, :nh].reshape(n, nkv, group, hd).permute(1, 2, 0, 3).reshape(nkv, group * n, hd)
                scores = torch.bmm(q, k.transpose(1, 2))
                if mask is not None:
                    scores = scores.masked_fill(small_mask, float("-inf"))
                att = torch.bmm(torch.softmax(scores, dim=-1), v)
                att = att.view(nkv, group, n, hd).permute(2, 0, 1, 3).reshape(n, q_dim)
            else:
                q = qk[:, :nh].transpose(0, 1)[None]  # (1, heads, n, hd)
                # scale=1: the 1/sqrt(head_dim) is already folded into the q weights. From
                # position 0 the built-in causal mask is faster than an explicit one.
                att = F.scaled_dot_product_attention(
                    q, k[None], v[None], attn_mask=None if start == 0 and not packed else mask,
                    is_causal=start == 0 and not packed,
                    scale=1.0, enable_gqa=nkv != nh)[0].transpose(0, 1).reshape(n, q_dim)
            x = x + layer.o(att.to(act))
            h = F.rms_norm(x, hs, layer.ln2, eps).to(act)
            gu = layer.gate_up(h)
            inter = gu.shape[1] // 2
            x = x + layer.down(F.silu(gu[:, :inter]) * gu[:, inter:])
        return F.rms_norm(x, hs, self.norm, eps)

    @torch.inference_mode()
    def step(self, token: int, pos: int) -> torch.Tensor:
        """One decode step, the hot loop: the final hidden state (1, hidden) of ``token`` read
        at position ``pos``. Same maths as ``forward`` with fewer, cheaper torch calls."""
        if not 0 <= pos < self.context_length:
            raise ValueError(f"position {pos} outside the context length {self.context_length}")
        nh, nkv, hd, group = self.n_heads, self.n_kv, self.head_dim, self.n_heads // self.n_kv
        q_dim, end, inter = nh * hd, pos + 1, self.intermediate
        act, eps, hs = self.act, self.eps, (self.hidden_size,)
        # RoPE at one position is a fixed (hd x hd) matrix: build it once for all layers, then
        # rotating q and k is a single small matmul per layer.
        rot = torch.addcmul(torch.diag(self.cos[pos]), self._swap, self.sin[pos])
        x = self.embed[token:token + 1]
        for layer, k_cache, v_cache in zip(self.layers, self._k_layers, self._v_layers):
            h = F.rms_norm(x, hs, layer.ln1, eps).to(act)
            qkv = layer.qkv.one(h).float().view(-1, hd)  # (q heads + 2 kv heads, hd)
            qk = torch.mm(qkv[:nh + nkv], rot)
            k_cache[:, pos] = qk[nh:]
            v_cache[:, pos] = qkv[nh + nkv:]
            scores = torch.bmm(qk[:nh].view(nkv, group, hd), k_cache[:, :end].transpose(1, 2))
            att = torch.bmm(torch.softmax(scores, dim=-1), v_cache[:, :end])
            x = x + layer.o.one(att.view(1, q_dim).to(act))
            gu = layer.gate_up.one(F.rms_norm(x, hs, layer.ln2, eps).to(act))
            x = x + layer.down.one(F.silu(gu[:, :inter]) * gu[:, inter:])
        return F.rms_norm(x, hs, self.norm, eps)

    @torch.inference_mode()
    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """fp32 logits for hidden states (rows, hidden): approximate (the low-precision head)
        except for the top candidates of each row, which are recomputed exactly."""
        approx = self.lm_head(hidden.to(self.act)).float()
        if self.exact_head is None:
            return approx
        top = approx.topk(min(RESCORE_TOP, approx.shape[-1]), dim=-1).indices  # (rows, k)
        if hidden.shape[0] == 1:  # decoding: index_select + mv beat advanced indexing + einsum
            exact = torch.mv(self.exact_head.index_select(0, top[0]), hidden[0].float())[None]
        else:
            exact = torch.einsum("rkh,rh->rk", self.exact_head[top], hidden.float())
        return approx.scatter_(-1, top, exact)


def biased(logits: torch.Tensor, bias: Mapping[int, float]) -> torch.Tensor:
    """A copy of ``logits`` with ``bias`` (token id -> value) added."""
    out = logits.clone()
    for token, value in bias.items():
        if 0 <= token < out.shape[-1]:
            out[token] += value
    return out


def stop_token_ids(eos_ids: Sequence[int] | Any, tokenizer: Any) -> set[int]:
    """End-of-turn ids: the model's configured eos ids (or a model to read them from) plus
    the chat markers the vocabulary has."""
    ids = set(_eos_ids(eos_ids) if hasattr(eos_ids, "config") else eos_ids)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    for marker in ("<|im_end|>", "<|endoftext|>", "<|im_start|>", "<|eot_id|>", "<end_of_turn>"):
        if marker in vocab:
            ids.add(vocab[marker])
    return ids


class _NgramIndex:
    """Where each n-gram (n = 1..LOOKUP_NGRAM) of the context last occurred with a token after
    it; ``draft`` proposes what followed the longest n-gram ending in the newest token."""

    def __init__(self, ids: list[int]):
        self.ids = ids  # the model's context list, extended in place by the decode loop
        self.seen: dict[tuple[int, ...], int] = {}  # n-gram -> index just after it
        self.done = 0  # ids[:done] are indexed (as n-gram ends with a following token)
        self.extend()

    def extend(self) -> None:
        """Index what the context gained since the last call."""
        ids, seen = self.ids, self.seen
        for end in range(max(self.done, 1), len(ids)):  # n-grams ending before ids[end]
            for n in range(1, min(LOOKUP_NGRAM, end) + 1):
                seen[tuple(ids[end - n:end])] = end
        self.done = max(self.done, len(ids))

    def draft(self, token: int, limit: int) -> list[int]:
        tail = self.ids[-(LOOKUP_NGRAM - 1):] + [token] if LOOKUP_NGRAM > 1 else [token]
        for n in range(len(tail), 0, -1):
            at = self.seen.get(tuple(tail[-n:]))
            if at is not None:
                return self.ids[at:at + limit]
        return []


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


SIDE_LENGTH = 128  # positions of the side pass's own cache (a question)


class FastChatModel:
    """ChatModel over FastLlama, keeping the KV cache of everything it has read."""

    def __init__(self, net: FastLlama | Any, tokenizer: Any, head: Any = None, *,
                 weights: str = "int4", context_length: int | None = None,
                 lora: dict | None = None, temperature: float = 0.0, seed: int = 0,
                 lookup: int = LOOKUP_DRAFT):
        """``net``: a FastLlama, or a transformers model to pack (with ``weights``,
        ``context_length`` and ``lora`` as in FastLlama.from_hf). ``lookup``: draft tokens
        proposed from the context per greedy decoding pass (0: one token a step)."""
        if not isinstance(net, FastLlama):
            net = FastLlama.from_hf(net, weights, context_length, lora)
        self.tokenizer = tokenizer
        self.net = net
        self.context_length = net.context_length
        self.head = head
        self.stop_ids = stop_token_ids(net.config.eos_ids, tokenizer)
        self.temperature = temperature
        self._generator = torch.Generator().manual_seed(seed)
        self._ids: list[int] = []  # tokens whose keys/values are in the cache, in order
        # final hidden states of those tokens, for relevance reads inside a reused prefix
        self._hidden = torch.empty(self.context_length, self.net.hidden_size) if head is not None else None
        self._next_logits: torch.Tensor | None = None
        self.last_prefill: dict[str, float] = {}
        self.lookup = lookup
        self.lookup_stats = {"drafted": 0, "accepted": 0}
        # set by the loader: torch threads chosen before each turn (model/threads.py)
        self.threads = None
        self.intent = None  # the question head (model/intent.py), set by the loader
        self.rerank = None  # the rerank head (model/rerank.py), set by the loader
        self.cross = None  # the cross rerank (model/cross.py), set by the loader
        self._side: FastLlama | None = None

    def read(self, ids: Sequence[int]) -> torch.Tensor:
        """Final hidden states (len(ids), hidden) of a short text read on its own (the
        question head's side pass), without touching the conversation's KV cache."""
        if self._side is None:
            self._side = self.net.side(SIDE_LENGTH)
        ids = [int(t) for t in ids][:SIDE_LENGTH]
        return self._side.forward(ids, 0)

    def read_branches(self, prefix: Sequence[int], branches: Sequence[Sequence[int]]
                      ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Read ``prefix`` once in the side pass, then each branch after it (each overwrites
        the last one's positions): (the prefix's last final state (hidden,), each branch's
        final states (len, hidden)). The rerank pass (model/rerank.py)."""
        if self._side is None:
            self._side = self.net.side(SIDE_LENGTH)
        prefix = [int(t) for t in prefix][: SIDE_LENGTH // 2]
        first = self._side.forward(prefix, 0)[-1]
        room = SIDE_LENGTH - len(prefix)
        return first, [self._side.forward([int(t) for t in ids][:room], len(prefix)) for ids in branches]

    def read_lower(self, prefix: Sequence[int], branches: Sequence[Sequence[int]], stop: int
                   ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """As ``read_branches``, the residual streams entering layer ``stop``: (prefix's
        (len, hidden), each branch's (len, hidden)). The cross rerank (model/cross.py)."""
        if self._side is None:
            self._side = self.net.side(SIDE_LENGTH)
        prefix = [int(t) for t in prefix][: SIDE_LENGTH // 2]
        first = self._side.forward(prefix, 0, stop)
        p = len(prefix)
        lines = [[int(t) for t in ids][: SIDE_LENGTH - p] for ids in branches]
        out: list[torch.Tensor] = []
        i = 0
        while i < len(lines):  # as many lines at once as the side cache holds
            group, used = [], 0
            while i < len(lines) and (not group or used + len(lines[i]) <= SIDE_LENGTH - p):
                group.append(lines[i])
                used += len(lines[i])
                i += 1
            sizes = [len(x) for x in group]
            positions = torch.cat([torch.arange(p, p + k) for k in sizes])
            owner = torch.cat([torch.full((k,), j) for j, k in enumerate(sizes)])
            own = (owner[None, :] == owner[:, None]) & (positions[None, :] <= positions[:, None])
            mask = torch.cat([torch.ones(used, p, dtype=torch.bool), own], 1)
            x = self._side.forward([t for ids in group for t in ids], p, stop, positions, mask)
            out += list(torch.split(x, sizes))
        return first, out

    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """fp32 next-token logits for final states (rows, hidden)."""
        return self.net.logits(hidden)

    def read_logprobs(self, ids: Sequence[int]) -> torch.Tensor:
        """Log-probabilities (len(ids) - 1,) of each token after the first, read in the side
        pass: how likely the model finds a short text (the question head's option scoring)."""
        hidden = self.read(ids)
        ids_t = torch.as_tensor([int(t) for t in ids][:SIDE_LENGTH], dtype=torch.long)
        logp = torch.log_softmax(self.net.logits(hidden[:-1]), dim=-1)
        return logp.gather(1, ids_t[1:, None])[:, 0]

    def reset(self) -> None:
        """Forget the cached prefix (the next prefill reads the whole prompt)."""
        self._ids = []
        self._next_logits = None

    def prefill(self, input_ids: Sequence[int], fact_ends: Sequence[int]) -> list[float] | None:
        ids = [int(t) for t in input_ids]
        if not ids:
            raise ValueError("prefill needs at least one token")
        if len(ids) >= self.context_length:
            raise ValueError(f"prompt of {len(ids)} tokens does not fit the context "
                             f"length {self.context_length}: trim the history")
        bad = [e for e in fact_ends if not 0 <= e < len(ids)]
        if bad:
            raise ValueError(f"fact_ends {bad} outside the prompt of {len(ids)} tokens")
        if self.threads is not None:  # this turn's prompt and answer: the cores free now
            self.threads.apply()
        t0 = time.perf_counter()
        # Re-read at least the last token: its logits start the answer.
        start = min(common_prefix(self._ids, ids), len(ids) - 1)
        self._ids = self._ids[:start]  # drop the stale tail first, in case forward fails
        hidden = self.net.forward(ids[start:], start)
        self._ids = ids
        self._next_logits = self.net.logits(hidden[-1:])[0]
        scores = None
        if self.head is not None:
            self._hidden[start:len(ids)] = hidden
            scores = self.head.scores(self._hidden[:len(ids)], list(fact_ends))
        self.last_prefill = {"reused_tokens": start, "computed_tokens": len(ids) - start,
                             "ms": (time.perf_counter() - t0) * 1000}
        return scores

    def _pick(self, logits: torch.Tensor) -> int:
        if self.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / self.temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=self._generator))

    def generate_ids(self, max_new_tokens: int = 48,
                     first_bias: Mapping[int, float] | None = None,
                     guide: Guide | None = None) -> Iterator[int]:
        """Token ids of the answer, stopping at end of turn (the stop token is not yielded).
        ``guide(answer_ids_so_far, logits) -> logits`` reshapes each step's logits (grounded
        decoding); guided answers are a few tokens long and step one token at a time.

        Greedy decoding looks ahead in the prompt (prompt-lookup decoding, Saxena 2023): an
        answer here mostly copies a fact's words ("Oslo", a population figure) or the
        abstention sentence of the system text. When the last tokens also occur earlier in the
        context, the tokens that followed them there are a draft; one forward pass reads the
        picked token and the draft together, and every draft token the model would have picked
        itself is accepted, so several tokens cost about one step. The output is the same
        greedy sequence; sampling (temperature > 0) steps one token at a time."""
        if self._next_logits is None:
            raise RuntimeError("decode() before prefill()")
        if first_bias:
            self._next_logits = biased(self._next_logits, first_bias)
        lookup = self.lookup if self.temperature <= 0 and guide is None else 0
        index: _NgramIndex | None = None  # built after the first token: not on its clock
        produced = 0
        answer: list[int] = []
        while True:
            logits = self._next_logits if guide is None else guide(answer, self._next_logits)
            token = self._pick(logits)
            answer.append(token)
            if token in self.stop_ids:
                return
            yield token
            produced += 1
            pos = len(self._ids)
            if produced >= max_new_tokens or pos >= self.context_length:
                return
            # draft tokens may be yielded (max_new_tokens) and must fit the cache after token
            room = min(lookup, max_new_tokens - produced, self.context_length - pos - 1)
            if lookup and index is None:
                index = _NgramIndex(self._ids)
            draft = index.draft(token, room) if index is not None and room > 0 else []
            if not draft:
                hidden = self.net.step(token, pos)
                self._append([token], hidden, index)
                self._next_logits = self.net.logits(hidden)[0]
                continue
            hidden = self.net.forward([token] + draft, pos)
            logits = self.net.logits(hidden)
            picks = logits.argmax(-1).tolist()
            accepted = 0
            while (accepted < len(draft) and picks[accepted] == draft[accepted]
                   and draft[accepted] not in self.stop_ids):  # a stop is picked, never read
                accepted += 1
            self._append([token] + draft[:accepted], hidden[:accepted + 1], index)
            self.lookup_stats["drafted"] += len(draft)
            self.lookup_stats["accepted"] += accepted
            self._next_logits = logits[accepted]
            for t in draft[:accepted]:
                yield t
                produced += 1
            if produced >= max_new_tokens or len(self._ids) >= self.context_length:
                return

    def _append(self, tokens: list[int], hidden: torch.Tensor, index: "_NgramIndex | None") -> None:
        """Tokens read into the cache at the end of the context (their hidden rows kept)."""
        start = len(self._ids)
        self._ids.extend(tokens)
        if self._hidden is not None:
            self._hidden[start:start + len(tokens)] = hidden[: len(tokens)]
        if index is not None:
            index.extend()

    def decode(self, max_new_tokens: int = 48, first_bias: Mapping[int, float] | None = None,
               guide: Guide | None = None) -> Iterator[str]:
        return stream_text(self.tokenizer, self.generate_ids(max_new_tokens, first_bias, guide))

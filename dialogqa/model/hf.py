"""The plain transformers ChatModel: the reference the fast path is checked against, and the
fallback for model families dialogqa.model.fast does not support.

No prefix reuse: every prefill reads the whole prompt.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch

from dialogqa.model.detok import stream_text
from dialogqa.model.fast import Guide, biased, stop_token_ids


class HFChatModel:
    def __init__(self, model: Any, tokenizer: Any, head: Any = None, *,
                 context_length: int | None = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.head = head
        limit = model.config.max_position_embeddings
        self.context_length = min(context_length or limit, limit)
        self.stop_ids = stop_token_ids(model, tokenizer)
        # transformers 5 renamed past_key_values to cache (the old name warns, then goes away)
        self._cache_kw = ("cache" if "cache" in inspect.signature(model.model.forward).parameters
                          else "past_key_values")
        self._cache = None
        self._next_logits: torch.Tensor | None = None
        self._length = 0
        self.last_prefill: dict[str, float] = {}
        self.intent = None  # the question head (model/intent.py), set by the loader
        self.rerank = None  # the rerank head (model/rerank.py), set by the loader

    @torch.inference_mode()
    def read(self, ids: Sequence[int]) -> torch.Tensor:
        """Final hidden states (len(ids), hidden) of a short text read on its own."""
        out = self.model.model(input_ids=torch.tensor([[int(t) for t in ids]]), use_cache=False)
        return out.last_hidden_state[0].float()

    @torch.inference_mode()
    def lm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """fp32 next-token logits for final states (rows, hidden)."""
        head = self.model.get_output_embeddings()
        return head(hidden.to(head.weight.dtype)).float()

    @torch.inference_mode()
    def read_logprobs(self, ids: Sequence[int]) -> torch.Tensor:
        """Log-probabilities (len(ids) - 1,) of each token after the first."""
        ids_t = torch.tensor([[int(t) for t in ids]])
        logits = self.model(input_ids=ids_t, use_cache=False).logits[0, :-1].float()
        return torch.log_softmax(logits, -1).gather(1, ids_t[0, 1:, None])[:, 0]

    @torch.inference_mode()
    def prefill(self, input_ids: Sequence[int], fact_ends: Sequence[int]) -> list[float] | None:
        ids = [int(t) for t in input_ids]
        if not ids or len(ids) >= self.context_length:
            raise ValueError(f"prompt of {len(ids)} tokens: needs 1 to {self.context_length - 1}")
        t0 = time.perf_counter()
        out = self.model.model(input_ids=torch.tensor([ids]), use_cache=True)
        hidden = out.last_hidden_state[0]
        self._cache = _cache_of(out)
        self._next_logits = self.model.lm_head(hidden[-1:]).float()[0]
        self._length = len(ids)
        self.last_prefill = {"reused_tokens": 0, "computed_tokens": len(ids),
                             "ms": (time.perf_counter() - t0) * 1000}
        return None if self.head is None else self.head.scores(hidden, list(fact_ends))

    def generate_ids(self, max_new_tokens: int = 48,
                     first_bias: Mapping[int, float] | None = None,
                     guide: Guide | None = None) -> Iterator[int]:
        if self._next_logits is None:
            raise RuntimeError("decode() before prefill()")
        if first_bias:
            self._next_logits = biased(self._next_logits, first_bias)
        answer: list[int] = []
        for step in range(max_new_tokens):
            logits = self._next_logits if guide is None else guide(answer, self._next_logits)
            token = int(torch.argmax(logits))
            answer.append(token)
            if token in self.stop_ids:
                return
            yield token
            if step == max_new_tokens - 1 or self._length >= self.context_length:
                return
            with torch.inference_mode():
                out = self.model(input_ids=torch.tensor([[token]]), use_cache=True,
                                 logits_to_keep=1, **{self._cache_kw: self._cache})
            self._cache = _cache_of(out)
            self._length += 1
            self._next_logits = out.logits[0, -1].float()

    def decode(self, max_new_tokens: int = 48, first_bias: Mapping[int, float] | None = None,
               guide: Guide | None = None) -> Iterator[str]:
        return stream_text(self.tokenizer, self.generate_ids(max_new_tokens, first_bias, guide))


def _cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)

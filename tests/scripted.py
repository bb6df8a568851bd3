"""A scripted chat model for tests: replies are queued, nothing is learned or downloaded.

Follows simonw/llm's ``MockModel``: ``model.enqueue("Oslo is the capital.", relevance={...})``
queues the next reply; ``prefill`` records the prompt and returns the queued relevance
scores, ``decode`` streams the queued text word by word. The session, replay, the TUI and
their tests drive it exactly like the real model (same ``ChatModel`` contract, a real
transformers tokenizer that speaks ChatML).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

IM_START, IM_END = "<|im_start|>", "<|im_end|>"


@lru_cache(maxsize=1)
def tiny_tokenizer():
    """A byte-level tokenizer (one token per UTF-8 byte, no merges) with the ChatML special
    tokens: lossless for any text, built in memory in a few milliseconds."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    core = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=IM_END, additional_special_tokens=[IM_START, IM_END]
    )


Relevance = Sequence[float] | Mapping[str, float] | Callable[[list[str]], Sequence[float]] | None


@dataclass
class Reply:
    text: str
    relevance: Relevance = None


@dataclass
class PrefillCall:
    input_ids: list[int]
    fact_ends: list[int]
    fact_lines: list[str]  # the text of each fact line, as the tokenizer decodes it
    prompt: str = field(repr=False, default="")


class ScriptedModel:
    """``enqueue`` replies, then use it wherever a ``ChatModel`` goes.

    ``relevance`` of a reply may be a list (one score per fact line, in prompt order), a mapping
    ``{substring: score}`` (a line scores the first matching substring's value, else
    ``default_relevance``) or a function of the fact lines. With no relevance the model behaves
    like a base model without a trained head (``prefill`` returns None). When the queue is
    empty ``fallback(fact_lines)`` answers (default: the abstention sentence).
    """

    def __init__(
        self,
        tokenizer=None,
        context_length: int = 4096,
        token_delay: float = 0.0,
        default_relevance: float = 0.0,
        fallback: Callable[[list[str]], str] | None = None,
    ):
        self.tokenizer = tokenizer if tokenizer is not None else tiny_tokenizer()
        self.context_length = context_length
        self.token_delay = token_delay  # seconds between streamed pieces, to exercise UIs
        self.default_relevance = default_relevance
        self.fallback = fallback
        self.queue: deque[Reply] = deque()
        self.calls: list[PrefillCall] = []
        self.first_biases: list[dict[int, float]] = []  # decode()'s first_bias, one per call
        self.guides: list = []  # decode()'s guide, one per call
        self._current: Reply | None = None

    def enqueue(self, text: str, relevance: Relevance = None) -> "ScriptedModel":
        self.queue.append(Reply(text, relevance))
        return self

    # -- ChatModel contract -------------------------------------------------------------
    def prefill(self, input_ids: Sequence[int], fact_ends: Sequence[int]) -> list[float] | None:
        ids = list(input_ids)
        lines = self._fact_lines(ids, list(fact_ends))
        self.calls.append(PrefillCall(ids, list(fact_ends), lines, self.tokenizer.decode(ids)))
        if self.queue:
            self._current = self.queue.popleft()
        else:
            from dialogqa.dialogue.render import ABSTAIN_TEXT

            self._current = Reply(self.fallback(lines) if self.fallback else ABSTAIN_TEXT)
        return self._scores(self._current.relevance, lines)

    def decode(self, max_new_tokens: int = 48, first_bias=None, guide=None) -> Iterator[str]:
        """The enqueued reply word by word (``first_bias`` and ``guide`` are recorded, the
        reply is scripted)."""
        self.first_biases.append(dict(first_bias or {}))
        self.guides.append(guide)
        reply, self._current = self._current, None
        if reply is None:
            raise RuntimeError("ScriptedModel.decode() called without a prefill")
        # one piece per word (with its leading space), at most max_new_tokens of them
        for piece in re.findall(r"\s*\S+", reply.text)[:max_new_tokens]:
            if self.token_delay:
                time.sleep(self.token_delay)
            yield piece

    # -- helpers ------------------------------------------------------------------------
    def _fact_lines(self, ids: list[int], ends: list[int]) -> list[str]:
        lines, prev = [], 0
        for end in ends:
            text = self.tokenizer.decode(ids[prev : end + 1])
            parts = [x for x in text.split("\n") if x.strip()]
            lines.append(parts[-1] if parts else "")
            prev = end + 1
        return lines

    def _scores(self, relevance: Relevance, lines: list[str]) -> list[float] | None:
        if relevance is None:
            return None
        if callable(relevance):
            scores = [float(x) for x in relevance(lines)]
        elif isinstance(relevance, Mapping):
            scores = [
                next((float(v) for k, v in relevance.items() if k in line), self.default_relevance)
                for line in lines
            ]
        else:
            scores = [float(x) for x in relevance]
        if len(scores) != len(lines):
            raise ValueError(f"ScriptedModel: {len(scores)} relevance scores for {len(lines)} fact lines")
        return scores

"""Incremental detokenization: turn a growing list of token ids into streamed text pieces.

A byte-level BPE token can hold part of a multi-byte character, and some tokenizers change
how a token prints depending on its left neighbour. So a piece is emitted only once the text
decoded from a short window of recent tokens is stable (no trailing U+FFFD), and it is the
difference against the same window without the newest tokens (the approach of Hugging Face's
text-generation-inference).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


class IncrementalDecoder:
    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self._prefix = 0  # start of the window re-decoded for context
        self._read = 0  # tokens before this index have been emitted

    def _decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False)

    def push(self, token_id: int) -> str:
        """Add one token; return the text it completes (maybe empty)."""
        self.ids.append(int(token_id))
        before = self._decode(self.ids[self._prefix:self._read])
        after = self._decode(self.ids[self._prefix:])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return after[len(before):]
        return ""

    def flush(self) -> str:
        """Whatever is still held back at the end (an incomplete character stays as U+FFFD)."""
        before = self._decode(self.ids[self._prefix:self._read])
        after = self._decode(self.ids[self._prefix:])
        self._prefix = self._read = len(self.ids)
        return after[len(before):] if len(after) > len(before) else ""

    @property
    def text(self) -> str:
        return self._decode(self.ids)


def stream_text(tokenizer: Any, token_ids: Iterable[int]) -> Iterator[str]:
    """The text pieces of a stream of generated token ids, as soon as each is stable."""
    text = IncrementalDecoder(tokenizer)
    for token in token_ids:
        piece = text.push(token)
        if piece:
            yield piece
    rest = text.flush()
    if rest:
        yield rest

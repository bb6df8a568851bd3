"""The narrow contract between the dialogue engine and a language model.

The engine renders a prompt (token ids plus the index of the last token of each fact line),
calls ``prefill`` once (relevance scores for the fact lines, and the model keeps the KV cache
ready to decode), then streams the answer with ``decode``. Anything that implements this
works: the transformers model with a LoRA adapter and relevance head, or the scripted model
the tests enqueue replies on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol


class ChatModel(Protocol):
    tokenizer: Any  # a transformers tokenizer: render() uses it to build input ids
    context_length: int  # most tokens a prompt plus its answer may use

    def prefill(self, input_ids: Sequence[int], fact_ends: Sequence[int]) -> list[float] | None:
        """Read the prompt; return one relevance probability per fact line (``fact_ends`` are the
        token indices of each fact line's last token), or None when the model has no trained
        relevance head (the engine then falls back to retrieval rank)."""

    def decode(self, max_new_tokens: int = 48, first_bias: Mapping[int, float] | None = None,
               guide: Any = None) -> Iterator[str]:
        """Continue from the last prefill: yield answer text pieces as they are generated,
        stop at end of turn. ``first_bias``: token id -> value added to its logit for the
        first answer token only (the session's abstention bias). ``guide``: called as
        ``guide(answer_ids_so_far, logits) -> logits`` before each pick (grounded decoding,
        dialogue/grounding.py); the session passes one only to a model with ``stop_ids``."""


def default_adapter_dir() -> Path | None:
    """The adapter shipped inside the package (dialogqa/adapters/default), if there is one."""
    path = Path(__file__).resolve().parents[1] / "adapters" / "default"
    return path if (path / "adapter_config.json").is_file() else None

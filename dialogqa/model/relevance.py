"""The relevance head: one logit per fact line, read from the model's hidden states.

Its input is the FINAL hidden state (after the last RMSNorm: what the LM head sees, i.e.
``model.model(...).last_hidden_state`` in transformers, or ``output_hidden_states[-1]``) at
the last token of each fact line. Training (binary cross-entropy on those logits) and
inference (sigmoid of them) must read the same state, so both go through ``fact_logits``.

Saved beside the LoRA adapter as ``relevance_head.safetensors`` plus a small
``relevance_head.json`` that says what it reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dialogqa.errors import UserError

WEIGHTS_FILE = "relevance_head.safetensors"
CONFIG_FILE = "relevance_head.json"
INPUT = "final_norm_hidden_state@fact_line_last_token"


class RelevanceHead(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        if hidden_size <= 0:
            raise ValueError(f"hidden_size must be > 0, got {hidden_size}")
        self.hidden_size = hidden_size
        self.proj = nn.Linear(hidden_size, 1)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """Logits for hidden states of shape (..., hidden) -> (...)."""
        return self.proj(states.to(self.proj.weight.dtype)).squeeze(-1)

    def fact_logits(self, hidden: torch.Tensor, fact_ends: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Logits of the fact lines of one sequence: ``hidden`` is (seq, hidden)."""
        index = torch.as_tensor(fact_ends, dtype=torch.long, device=hidden.device)
        return self(hidden.index_select(0, index))

    def scores(self, hidden: torch.Tensor, fact_ends: Sequence[int]) -> list[float]:
        """Relevance probabilities of the fact lines, as the engine wants them."""
        with torch.no_grad():
            return torch.sigmoid(self.fact_logits(hidden, fact_ends).float()).tolist()

    def save(self, directory: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().float().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(tensors, str(out / WEIGHTS_FILE))
        (out / CONFIG_FILE).write_text(json.dumps(
            {"hidden_size": self.hidden_size, "input": INPUT, "format": 1}, indent=1) + "\n")

    @classmethod
    def load(cls, directory: str | os.PathLike, hidden_size: int | None = None) -> RelevanceHead | None:
        """The head saved in ``directory``, or None when there is none."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(directory)
        if not (path / WEIGHTS_FILE).is_file():
            return None
        try:
            config = json.loads((path / CONFIG_FILE).read_text())
            size = int(config["hidden_size"])
            head = cls(size)
            head.load_state_dict(load_file(str(path / WEIGHTS_FILE)))
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
            raise UserError(f"{path / WEIGHTS_FILE}: not a relevance head ({exc})") from exc
        if config.get("input", INPUT) != INPUT:
            raise UserError(f"{path / CONFIG_FILE}: head reads {config['input']!r}, expected {INPUT!r}")
        if hidden_size is not None and size != hidden_size:
            raise UserError(f"{path / WEIGHTS_FILE}: head expects hidden size {size}, "
                            f"the model has {hidden_size}: was it trained on another base model?")
        return head.eval()

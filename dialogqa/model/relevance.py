"""The relevance head: one logit per fact line, read from the model's hidden states.

It reads FINAL hidden states (after the last RMSNorm: what the LM head sees, i.e.
``model.model(...).last_hidden_state`` in transformers):

- at the last token of each fact line (the fact), and
- at the last token of the prompt (the query): fact lines come before the question, so under
  causal attention a fact line's state cannot know what is asked; the last prompt token has
  seen the facts and the question.

``logit = w.f + b + (U f).(V q) / sqrt(d)``: a fact-only prior plus a low-rank bilinear match
between fact and question. Training (binary cross-entropy on these logits, through
``pair_logits``) and inference (sigmoid, through ``scores``) read the same states.

Saved beside the LoRA adapter as ``relevance_head.safetensors`` plus a small
``relevance_head.json`` that says what it reads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dialogqa.errors import UserError
from dialogqa.model.headfiles import read_head, save_head

WEIGHTS_FILE = "relevance_head.safetensors"
CONFIG_FILE = "relevance_head.json"
INPUT = "final_norm_hidden_state@fact_line_last_token"
QUERY = "final_norm_hidden_state@last_prompt_token"


class RelevanceHead(nn.Module):
    def __init__(self, hidden_size: int, pair_dim: int = 64):
        super().__init__()
        if hidden_size <= 0:
            raise ValueError(f"hidden_size must be > 0, got {hidden_size}")
        if pair_dim < 0:
            raise ValueError(f"pair_dim must be >= 0, got {pair_dim}")
        self.hidden_size = hidden_size
        self.pair_dim = pair_dim
        self.threshold: float | None = None  # abstain below this score; None: the session's 0.5
        # subtracted from the abstention sentence's first-token logit (calibrated; 0: none)
        self.abstain_bias: float = 0.0
        self.grounding: dict | None = None  # grounded decoding's weights (dialogue/grounding.py)
        self.proj = nn.Linear(hidden_size, 1)
        if pair_dim:
            self.fact_key = nn.Linear(hidden_size, pair_dim, bias=False)
            self.query_key = nn.Linear(hidden_size, pair_dim, bias=False)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """Fact-only logits for hidden states of shape (..., hidden) -> (...)."""
        return self.proj(states.to(self.proj.weight.dtype)).squeeze(-1)

    def pair_logits(self, facts: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Logits for fact states (n, hidden) given the query state of each: (n, hidden) or
        one (hidden,) shared by all."""
        logits = self(facts)
        if self.pair_dim:
            dtype = self.proj.weight.dtype
            match = self.fact_key(facts.to(dtype)) * self.query_key(query.to(dtype))
            logits = logits + match.sum(-1) / math.sqrt(self.pair_dim)
        return logits

    def fact_logits(self, hidden: torch.Tensor, fact_ends: Sequence[int] | torch.Tensor,
                    query_index: int = -1) -> torch.Tensor:
        """Logits of the fact lines of one sequence: ``hidden`` is (seq, hidden) and the query
        is read at ``query_index`` (default: the last row, the end of the prompt)."""
        index = torch.as_tensor(fact_ends, dtype=torch.long, device=hidden.device)
        return self.pair_logits(hidden.index_select(0, index), hidden[query_index])

    def scores(self, hidden: torch.Tensor, fact_ends: Sequence[int]) -> list[float]:
        """Relevance probabilities of the fact lines of a prompt whose hidden states (up to
        and including its last token) are ``hidden``: what the engine wants."""
        if len(fact_ends) == 0:
            return []
        with torch.no_grad():
            return torch.sigmoid(self.fact_logits(hidden, fact_ends).float()).tolist()

    def save(self, directory: str | os.PathLike) -> None:
        config = {"hidden_size": self.hidden_size, "pair_dim": self.pair_dim, "input": INPUT,
                  "query": QUERY, "format": 2}
        if self.threshold is not None:
            config["threshold"] = self.threshold  # calibrated abstention threshold (calibrate.py)
        if self.abstain_bias:
            config["abstain_bias"] = self.abstain_bias
        if self.grounding:
            config["grounding"] = dict(self.grounding)
        save_head(self, directory, WEIGHTS_FILE, CONFIG_FILE, config)

    @classmethod
    def load(cls, directory: str | os.PathLike, hidden_size: int | None = None) -> RelevanceHead | None:
        """The head saved in ``directory``, or None when there is none."""
        path = Path(directory)

        def build(config: dict) -> RelevanceHead:
            head = cls(int(config["hidden_size"]), pair_dim=int(config.get("pair_dim", 0)))
            threshold = config.get("threshold")
            head.threshold = None if threshold is None else float(threshold)
            head.abstain_bias = float(config.get("abstain_bias", 0.0))
            head.grounding = config.get("grounding")
            return head

        read = read_head(path, WEIGHTS_FILE, CONFIG_FILE, build, "a relevance head")
        if read is None:
            return None
        head, config = read
        size = head.hidden_size
        if config.get("input", INPUT) != INPUT:
            raise UserError(f"{path / CONFIG_FILE}: head reads {config['input']!r}, expected {INPUT!r}")
        if hidden_size is not None and size != hidden_size:
            raise UserError(f"{path / WEIGHTS_FILE}: head expects hidden size {size}, "
                            f"the model has {hidden_size}: was it trained on another base model?")
        return head.eval()

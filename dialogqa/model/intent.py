"""The question head: which operation a question asks for, read by the fine-tuned model.

The model reads the question alone (``question_ids``: a short side pass with its own small
KV cache, so the conversation's cached prompt is untouched) and the head reads its final
hidden state at the question's last token, standardised, then one linear layer: a softmax
over the operations (``lookup``, ``count``, ``compare``, ``superlative``, ``path``) and three
yes/no logits, ``polar`` (the question wants yes or no), ``less`` (a comparison or superlative
asks for the smaller or earlier value), ``date`` (the values it compares are dates: "Which is
older, A or B?" compares no population) and ``many`` (a lookup asks for every value: "List
its skills."). A head fitted before ``date`` and ``many`` existed has fewer flags.

It is the sequence-classification fine-tuning of the seed model, kept small so that it fits in
minutes on two cores: ``fit`` trains it on typed questions synthesised from several graphs
(dialogqa/datasets/typed.py; ``dialogqa intent fit``). Saved beside the adapter as
``intent_head.safetensors`` plus ``intent_head.json`` (the operations, what it reads).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dialogqa.errors import UserError
from dialogqa.model.headfiles import read_head, save_head

WEIGHTS_FILE = "intent_head.safetensors"
CONFIG_FILE = "intent_head.json"
OPS = ("lookup", "count", "compare", "superlative", "path")
INPUT = "final_norm_hidden_state@last_token of the question side pass"
INPUT_LAYERS = INPUT + ", its top layers read again with the head's own LoRA"
MAX_QUESTION_TOKENS = 96
PREFIX = "Question: "
FLAGS = ("polar", "less", "date", "many")


def question_ids(tokenizer, question: str) -> list[int]:
    ids = tokenizer(PREFIX + question, add_special_tokens=False)["input_ids"]
    return list(ids[:MAX_QUESTION_TOKENS])


def features(hidden: torch.Tensor) -> torch.Tensor:
    """(tokens, hidden) final states -> (hidden,): the last token's, which has read the whole
    question. Not the mean over the tokens: that carries the entities' names, and which
    operation a question asks for does not depend on them (with the mean, "Which has more
    inhabitants, Panama or Liechtenstein?" read as asking for the smaller value)."""
    return hidden[-1].float()


class _NeedsNet(Exception):
    """A head with layers of its own, loaded without the fast forward they run on."""


class IntentHead(nn.Module):
    """``layers``: the chat model's top layers with a LoRA of the head's own
    (model/cross.py ``TopLayers``), trained with the head (``train/intent.py``
    ``fit_through_layers``); the features are then their final state at the question's last
    token. None: the chat model's own final state, frozen."""

    def __init__(self, dim: int, ops: Sequence[str] = OPS, flags: Sequence[str] = FLAGS, layers=None):
        super().__init__()
        self.ops = tuple(ops)
        self.flags = tuple(flags)
        self.dim = dim
        self.layers = layers
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.linear = nn.Linear(dim, len(self.ops) + len(self.flags))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((x.float() - self.mean) / self.scale)

    def predict(self, x: torch.Tensor) -> tuple[str, bool, bool, dict[str, float]]:
        """(operation, polar, less, probabilities) for one feature vector; the probabilities
        hold each flag's too (``date`` where the head has it)."""
        with torch.no_grad():
            out = self(x[None])[0]
        n = len(self.ops)
        probs = torch.softmax(out[:n], -1)
        flags = dict(zip(self.flags, torch.sigmoid(out[n:]).tolist()))
        scores = {op: round(float(p), 4) for op, p in zip(self.ops, probs)}
        scores.update({k: round(v, 4) for k, v in flags.items()})
        return self.ops[int(probs.argmax())], flags["polar"] > 0.5, flags["less"] > 0.5, scores

    # -- training -------------------------------------------------------------------------
    def fit(self, x: torch.Tensor, ops: torch.Tensor, polar: torch.Tensor, less: torch.Tensor,
            less_mask: torch.Tensor, date: torch.Tensor | None = None, many: torch.Tensor | None = None,
            many_mask: torch.Tensor | None = None, epochs: int = 300, lr: float = 0.05,
            weight_decay: float = 1e-2) -> float:
        """Full-batch training on features ``x`` (n, dim) with labels; returns the last loss.
        ``less_mask``: the examples whose ``less`` and ``date`` labels mean something
        (comparisons and superlatives); ``many_mask``: those whose ``many`` label does (lookups
        that do not want yes or no)."""
        self.mean.copy_(x.mean(0))
        self.scale.copy_(x.std(0).clamp_min(1e-4))
        opt = torch.optim.Adam(self.parameters(), lr=lr, weight_decay=weight_decay)
        n = len(self.ops)
        ce, bce = nn.CrossEntropyLoss(), nn.BCEWithLogitsLoss(reduction="none")
        loss = torch.tensor(0.0)
        for _ in range(epochs):
            opt.zero_grad()
            out = self(x)
            loss = ce(out[:, :n], ops) + bce(out[:, n], polar.float()).mean()
            if less_mask.any():
                loss = loss + (bce(out[:, n + 1], less.float()) * less_mask).sum() / less_mask.sum()
                if date is not None and "date" in self.flags:
                    loss = loss + (bce(out[:, n + 2], date.float()) * less_mask).sum() / less_mask.sum()
            if many is not None and many_mask is not None and many_mask.any() and "many" in self.flags:
                i = n + self.flags.index("many")
                loss = loss + (bce(out[:, i], many.float()) * many_mask).sum() / many_mask.sum()
            loss.backward()
            opt.step()
        return float(loss.detach())

    # -- files ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, extra: dict | None = None) -> None:
        config = {"dim": self.dim, "ops": list(self.ops), "flags": list(self.flags),
                  "input": INPUT if self.layers is None else INPUT_LAYERS, "prefix": PREFIX}
        if self.layers is not None:
            config["layers"] = self.layers.config()
        save_head(self, directory, WEIGHTS_FILE, CONFIG_FILE, {**config, **(extra or {})})

    @classmethod
    def load(cls, directory: str | os.PathLike, hidden_size: int | None = None, net=None) -> IntentHead | None:
        """The head saved in ``directory``, or None when there is none. A head with layers of
        its own runs on the fast forward ``net`` (the chat model's lower layers read for it):
        without one, None."""
        from dialogqa.model.cross import TopLayers

        path = Path(directory)

        def build(c: dict) -> IntentHead:
            layers = None
            if "layers" in c:
                if net is None:
                    raise _NeedsNet
                layers = TopLayers(net, int(c["layers"]["top"]), int(c["layers"]["rank"]),
                                   float(c["layers"]["alpha"]))
            return cls(int(c["dim"]), c["ops"], c.get("flags", FLAGS[:2]), layers)

        try:
            read = read_head(path, WEIGHTS_FILE, CONFIG_FILE, build, "a question head")
        except _NeedsNet:
            return None
        if read is None:
            return None
        head, config = read
        expected = INPUT if head.layers is None else INPUT_LAYERS
        if config.get("input") != expected:
            raise UserError(f"{path / CONFIG_FILE}: head reads {config.get('input')!r}, expected {expected!r}: "
                            "fit it again (dialogqa intent fit)")
        if hidden_size is not None and head.dim != hidden_size:
            raise UserError(f"{path / WEIGHTS_FILE}: expects features of {head.dim}, the model gives "
                            f"{hidden_size}: was it fitted on another base model?")
        unknown = (set(head.ops) - set(OPS)) | (set(head.flags) - set(FLAGS))
        if unknown or head.flags[:2] != FLAGS[:2]:
            raise UserError(f"{path / CONFIG_FILE}: unknown operations {sorted(unknown)}")
        return head.eval()


def read_question(model, question: str) -> torch.Tensor:
    """The feature vector of one question, from the chat model's side pass (and the
    question head's own top layers where it has them)."""
    ids = question_ids(model.tokenizer, question)
    layers = getattr(getattr(model, "intent", None), "layers", None)
    if layers is None:
        return features(model.read(ids))
    prefix, last = read_question_lower(model, ids, layers.stop)
    with torch.inference_mode():
        return layers.encode(prefix, [last])[0]


def read_question_lower(model, ids: Sequence[int], stop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The residual streams entering layer ``stop``: (the question but its last token, its last
    token), for a head with top layers of its own."""
    prefix, lines = model.read_lower(ids[:-1], [ids[-1:]], stop)
    return prefix, lines[0]


OPTION_PROMPT = "{question}\nTo answer, compare their"


MEMBER_PROMPT = "{question}\nOne of them is"


def option_scores(model, question: str, options: Sequence[str], prompt: str | None = None) -> list[float]:
    """How well each option (a predicate's label) fits the question, by the model: the
    log-probability of the option's tokens after the question, less their log-probability
    after an empty question (pointwise mutual information, so a label that is easy to write
    whatever was asked does not win). The model, not a word list, decides which property
    "Which has more inhabitants?" compares."""
    prompt = prompt or OPTION_PROMPT
    return [_option_logp(model, question, o, prompt) - _option_logp(model, "", o, prompt) for o in options]


def _option_logp(model, question: str, option: str, prompt: str) -> float:
    cache = getattr(model, "_option_prior", None)
    if cache is None:
        cache = model._option_prior = {}
    key = (question, option, prompt)
    if not question and key in cache:
        return cache[key]
    tok = model.tokenizer
    prefix = tok(prompt.format(question=question), add_special_tokens=False)["input_ids"]
    prefix = list(prefix[-(MAX_QUESTION_TOKENS - 16):])
    ids = tok(" " + option.strip(), add_special_tokens=False)["input_ids"][:16]
    if not ids:
        return float("-inf")
    value = float(model.read_logprobs(prefix + list(ids))[-len(ids):].sum())
    if not question:
        if len(cache) > 4096:
            cache.clear()
        cache[key] = value
    return value

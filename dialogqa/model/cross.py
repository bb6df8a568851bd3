"""The cross rerank: the model's top layers, with a LoRA of their own trained with gradients,
read the question and then each of the retriever's best facts, whole.

The frozen-state rerank (model/rerank.py) put a linear head on what the chat model's final
state says after a property; a 135M model's frozen reading of a property after a question is
not a reliable match, and the head learned which properties its training graphs ask for.
Here the reading itself is trained:

- the chat model's own layers below ``top`` (the fast forward, int4, its LoRA) read
  ``Previous question: ...\\nQuestion: ...\\nFact:`` once, then each candidate fact line
  (`` Oslo | capital of | Norway``) after it, in a side pass (the conversation's cache is
  untouched); their residual streams entering layer ``n - top`` are what the cross reads;
- the last ``top`` layers run again here, in fp32 with autograd: the chat model's weights
  (its LoRA merged), plus a LoRA of the cross's own; every fact line attends to the question
  and to itself, never to another fact (one packed sequence, a block mask);
- a linear head on each fact line's last final state gives a correction in the retriever's
  units: the fact's new score is ``retriever score + correction``.

It is trained listwise with the grounding prior's own softmax (``retrieval_weight`` x score
for each fact, ``abstain_logit`` for abstaining; dialogqa/dialogue/grounding.py): the gold
fact against the other candidates and against abstaining, and on turns the graph cannot
answer (or whose gold fact was taken away) abstaining against all of them. So the new scores
are on the scale the calibrated abstention reads: a fact the question asks for, whose
property the question words differently ("Which competition did Ireland win?" ->
``Eurovision Song Contest 1996 | winner | Ireland``), can rise above abstaining, and one it
does not ask for can fall below.

Saved beside the adapter as ``cross_rerank.safetensors`` plus ``cross_rerank.json``; the
frozen weights are not saved (they are the chat model's, read back at load).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from dialogqa.model.headfiles import read_head, save_head
from dialogqa.records import Fact

WEIGHTS_FILE = "cross_rerank.safetensors"
CONFIG_FILE = "cross_rerank.json"
PROMPT = "Question: {question}\nFact:"
PREVIOUS = "Previous question: {previous}\n"  # before PROMPT after the first turn
TOP = 10  # the retriever's best facts read again
MAX_PREFIX_TOKENS = 64
MAX_FACT_TOKENS = 32
PARTS = ("qkv", "o", "gate_up", "down")


def fact_text(fact: Fact) -> str:
    """A candidate as the cross reads it: the whole triple, labels only."""
    def label(text: str) -> str:
        return " ".join(str(text).split())[:60]
    return f" {label(fact.s_label or fact.s)} | {label(fact.p_label or fact.p)} | {label(fact.o_label or fact.o)}"


def prompt_text(question: str, previous: str = "") -> str:
    """What the pass reads before the facts (user text is data here, as in the chat prompt)."""
    previous = " ".join(previous.split())[:300]
    question = " ".join(question.split())[:300]
    return (PREVIOUS.format(previous=previous) if previous else "") + PROMPT.format(question=question)


def read_lower(model, top: int, question: str, facts: Sequence[Fact], previous: str = ""
               ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The residual streams entering the cross's layers: (prefix (p, hidden), one
    (len, hidden) per fact), from the chat model's side pass."""
    tok = model.tokenizer
    prefix = tok(prompt_text(question, previous), add_special_tokens=False)["input_ids"][-MAX_PREFIX_TOKENS:]
    lines = [tok(fact_text(f), add_special_tokens=False)["input_ids"][:MAX_FACT_TOKENS] or [tok.eos_token_id or 0]
             for f in facts]
    stop = model.net.config.n_layers - top
    return model.read_lower(prefix, lines, stop)


class TopLayers(nn.Module):
    """The top ``top`` layers of the chat model (fp32, its LoRA merged, not saved) and a LoRA
    of their own (saved): they read again what the chat model's lower layers read
    (``read_lower``), with gradients. The cross rerank and the question head run on them."""

    def __init__(self, net, top: int = 3, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        cfg = net.config
        self.top, self.rank, self.alpha = top, rank, alpha
        self.n_heads, self.n_kv, self.head_dim, self.eps = cfg.n_heads, cfg.n_kv, cfg.head_dim, cfg.eps
        self.hidden = cfg.hidden_size
        self.stop = cfg.n_layers - top  # the first layer run here
        frozen = {}
        for j, layer in enumerate(net.layers[self.stop:]):
            for part in PARTS:
                linear = getattr(layer, part)
                w = linear.dense().float()
                if linear.lora is not None:  # the chat model's LoRA, merged
                    a, b = linear.lora
                    w = w + b.float() @ a.float()
                frozen[f"{j}.{part}"] = w.contiguous()
            frozen[f"{j}.ln1"] = layer.ln1.float()
            frozen[f"{j}.ln2"] = layer.ln2.float()
        frozen["norm"] = net.norm.float()
        self.frozen = frozen  # not parameters, not saved
        self.cos, self.sin = net.cos, net.sin
        self.lora_a = nn.ParameterDict()
        self.lora_b = nn.ParameterDict()
        for j in range(top):
            for part in PARTS:
                out_f, in_f = frozen[f"{j}.{part}"].shape
                a = torch.empty(rank, in_f)
                nn.init.kaiming_uniform_(a, a=math.sqrt(5))
                self.lora_a[f"{j}_{part}"] = nn.Parameter(a)
                self.lora_b[f"{j}_{part}"] = nn.Parameter(torch.zeros(out_f, rank))

    def config(self) -> dict:
        return {"top": self.top, "rank": self.rank, "alpha": self.alpha}

    def _linear(self, x: torch.Tensor, j: int, part: str) -> torch.Tensor:
        y = x @ self.frozen[f"{j}.{part}"].t()
        a, b = self.lora_a[f"{j}_{part}"], self.lora_b[f"{j}_{part}"]
        return y + (x @ a.t()) @ b.t() * (self.alpha / self.rank)

    def encode(self, prefix: torch.Tensor, lines: Sequence[torch.Tensor]) -> torch.Tensor:
        """The final (normed) state at each fact line's last token: (n, hidden)."""
        p = prefix.shape[0]
        sizes = [int(x.shape[0]) for x in lines]
        x = torch.cat([prefix.float()] + [t.float() for t in lines])
        n = x.shape[0]
        pos = torch.cat([torch.arange(p)] + [torch.arange(p, p + s) for s in sizes])
        owner = torch.cat([torch.full((p,), -1)] + [torch.full((s,), i) for i, s in enumerate(sizes)])
        causal = pos[None, :] <= pos[:, None]
        same = (owner[None, :] == owner[:, None]) | (owner[None, :] == -1)
        mask = causal & same
        nh, nkv, hd = self.n_heads, self.n_kv, self.head_dim
        q_dim, kv_dim, group = nh * hd, nkv * hd, nh // nkv
        cos, sin = self.cos[pos][:, None], self.sin[pos][:, None]
        hs = (self.hidden,)
        for j in range(self.top):
            h = F.rms_norm(x, hs, self.frozen[f"{j}.ln1"], self.eps)
            qkv = self._linear(h, j, "qkv")
            qk = qkv[:, :q_dim + kv_dim].view(n, nh + nkv, hd)
            qk = qk * cos + qk.view(n, nh + nkv, 2, hd // 2).flip(2).view(n, nh + nkv, hd) * sin
            q = qk[:, :nh].transpose(0, 1)
            k = qk[:, nh:].transpose(0, 1).repeat_interleave(group, 0)
            v = qkv[:, q_dim + kv_dim:].view(n, nkv, hd).transpose(0, 1).repeat_interleave(group, 0)
            att = F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=mask, scale=1.0)[0]
            x = x + self._linear(att.transpose(0, 1).reshape(n, q_dim), j, "o")
            h = F.rms_norm(x, hs, self.frozen[f"{j}.ln2"], self.eps)
            gu = self._linear(h, j, "gate_up")
            inter = gu.shape[1] // 2
            x = x + self._linear(F.silu(gu[:, :inter]) * gu[:, inter:], j, "down")
        ends = torch.tensor([p + sum(sizes[: i + 1]) - 1 for i in range(len(sizes))])
        return F.rms_norm(x[ends], hs, self.frozen["norm"], self.eps)


class CrossRerank(nn.Module):
    """``TopLayers`` and a scoring head on each fact line's last state."""

    def __init__(self, net, top: int = 3, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        self.layers = TopLayers(net, top, rank, alpha)
        self.top = top
        self.head = nn.Linear(self.layers.hidden, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, prefix: torch.Tensor, lines: Sequence[torch.Tensor]) -> torch.Tensor:
        """Corrections (n,), retriever units, for the fact lines read after ``prefix``."""
        return self.head(self.encode(prefix, lines))[:, 0]

    def encode(self, prefix: torch.Tensor, lines: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.layers.encode(prefix, lines)

    # -- files ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, extra: dict | None = None) -> None:
        save_head(self, directory, WEIGHTS_FILE, CONFIG_FILE,
                  {**self.layers.config(), "candidates": TOP,
                   "prompt": PREVIOUS + PROMPT, **(extra or {})})

    @classmethod
    def load(cls, directory: str | os.PathLike, net) -> CrossRerank | None:
        """The cross saved in ``directory`` on top of ``net`` (the fast forward), or None."""
        def build(config: dict) -> CrossRerank:
            if config.get("prompt") != PREVIOUS + PROMPT:
                raise ValueError(f"reads {config.get('prompt')!r}: fit it again (dialogqa rerank cross)")
            return cls(net, int(config["top"]), int(config["rank"]), float(config["alpha"]))

        read = read_head(directory, WEIGHTS_FILE, CONFIG_FILE, build, "a cross rerank for this model")
        return None if read is None else read[0].eval()


def cross_rerank(model, cross: CrossRerank, question: str, facts: Sequence[Fact],
                 previous: str = "", top: int = TOP) -> list[Fact]:
    """``facts`` with the best ``top`` rescored (retriever score + the cross's correction)
    and resorted; the rest stay after them, no higher than the lowest rescored."""
    head = list(facts[:top])
    if not head:
        return list(facts)
    prefix, lines = read_lower(model, cross.top, question, head, previous)
    with torch.inference_mode():
        corr = cross(prefix, lines).tolist()
    scored = sorted((replace(f, score=round(f.score + c, 4)) for f, c in zip(head, corr)),
                    key=lambda f: -f.score)
    floor = scored[-1].score
    return scored + [replace(f, score=min(f.score, floor)) for f in facts[top:]]

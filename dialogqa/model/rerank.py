"""Relevance that reads the question: a second, short pass over the retriever's best facts.

In the chat prompt the fact lines come before the question (so a follow-up reuses the cached
fact block), and under causal attention a fact line's state cannot know what is asked. This
pass reads the other way round: the conversation's previous question and this one first, then
one candidate's property, as a short branch after them ("Previous question: Who founded
Acme?\\nQuestion: And when?\\nThe answer is its" + " founding year"). For each of the
retriever's ``TOP`` best facts it takes

- the final hidden state at the branch's last token (it has read the question, then the
  property: a question-aware state), and
- how much likelier the question makes the branch: log p(branch | question) less
  log p(branch | an empty question), pointwise mutual information, so a label that is easy to
  write whatever was asked does not win;

and the head gives the fact a new score in the retriever's units:
``retriever score + w_pmi * pmi + linear(standardised state)``. The head is fitted with a
listwise softmax over each turn's candidates (the gold fact against the others) on dialogues
over several graphs (``dialogqa rerank fit``), so it learns which property a question asks for
from the model's reading of it, not from a word list; the LoRA weights are untouched. Saved
beside the adapter as ``rerank_head.safetensors`` plus ``rerank_head.json``.

The model's side pass (its own small KV cache) reads the question once and each branch after
it, so the conversation's cached prompt is untouched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from dialogqa.errors import UserError
from dialogqa.model.headfiles import read_head, save_head
from dialogqa.records import Fact

WEIGHTS_FILE = "rerank_head.safetensors"
CONFIG_FILE = "rerank_head.json"
PROMPT = "Question: {question}\nThe answer is its"
PREVIOUS = "Previous question: {previous}\n"  # before PROMPT after the first turn
INPUT = "final_norm_hidden_state@branch_last_token after PREVIOUS + PROMPT, plus pmi"
TOP = 10  # the retriever's best facts read again
MAX_PREFIX_TOKENS = 90
MAX_BRANCH_TOKENS = 24


def branch_text(fact: Fact) -> str:
    """What a fact's branch says: its property, "of it" when the question asks for its subject."""
    return (fact.p_label or str(fact.p)).strip() + (" of it" if fact.inverse else "")


class RerankHead(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.linear = nn.Linear(dim, 1)
        self.w_pmi = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, pmi: torch.Tensor) -> torch.Tensor:
        """The correction added to the retriever's score: (n, dim), (n,) -> (n,)."""
        return self.linear((x.float() - self.mean) / self.scale)[:, 0] + self.w_pmi * pmi.float()

    # -- training -------------------------------------------------------------------------
    def fit(self, turns: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]],
            epochs: int = 60, lr: float = 3e-3, weight_decay: float = 1e-2, batch: int = 64,
            seed: int = 0) -> float:
        """``turns``: (states (n, dim), pmi (n,), retriever scores (n,), gold mask (n,)) per
        turn, each with at least one gold candidate. Listwise: the softmax of the new scores
        over a turn's candidates puts its mass on the gold ones. Returns the last epoch's loss."""
        generator = torch.Generator().manual_seed(seed)
        x = torch.cat([t[0] for t in turns]).float()
        self.mean.copy_(x.mean(0))
        self.scale.copy_(x.std(0).clamp_min(1e-4))
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        total = 0.0
        for _ in range(epochs):
            total = 0.0
            order = torch.randperm(len(turns), generator=generator).tolist()
            for i in range(0, len(order), batch):
                opt.zero_grad()
                loss = torch.zeros(())
                for j in order[i:i + batch]:
                    states, pmi, score, gold = turns[j]
                    s = score.float() + self(states, pmi)
                    loss = loss - (torch.logsumexp(s[gold], 0) - torch.logsumexp(s, 0))
                loss = loss / len(order[i:i + batch]) + weight_decay * self.linear.weight.pow(2).sum()
                loss.backward()
                opt.step()
                total += float(loss.detach())
        return total

    # -- files ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, extra: dict | None = None) -> None:
        save_head(self, directory, WEIGHTS_FILE, CONFIG_FILE,
                  {"dim": self.dim, "input": INPUT, "prompt": PREVIOUS + PROMPT, "top": TOP, **(extra or {})})

    @classmethod
    def load(cls, directory: str | os.PathLike, hidden_size: int | None = None) -> RerankHead | None:
        """The head saved in ``directory``, or None when there is none."""
        path = Path(directory)
        read = read_head(path, WEIGHTS_FILE, CONFIG_FILE, lambda c: cls(int(c["dim"])), "a rerank head")
        if read is None:
            return None
        head, config = read
        if config.get("input") != INPUT or config.get("prompt") != PREVIOUS + PROMPT:
            raise UserError(f"{path / CONFIG_FILE}: head reads {config.get('input')!r} after "
                            f"{config.get('prompt')!r}: fit it again (dialogqa rerank fit)")
        if hidden_size is not None and head.dim != hidden_size:
            raise UserError(f"{path / WEIGHTS_FILE}: expects features of {head.dim}, the model gives "
                            f"{hidden_size}: was it fitted on another base model?")
        return head.eval()


# -- reading ------------------------------------------------------------------------------
def read_candidates(model, question: str, facts: Sequence[Fact],
                    previous: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """(states (n, hidden), pmi (n,)) of ``facts`` for ``question`` (after ``previous``, the
    conversation's last question), from the model's side pass."""
    tok = model.tokenizer
    texts = [branch_text(f) for f in facts]
    states, logp = _branches(model, tok, prompt_text(question, previous), texts)
    cache = getattr(model, "_rerank_prior", None)
    if cache is None:
        cache = model._rerank_prior = {}
    need = [t for t in dict.fromkeys(texts) if t not in cache]
    if need:
        if len(cache) > 4096:
            cache.clear()
        for t, lp in zip(need, _branches(model, tok, prompt_text("", ""), need)[1].tolist()):
            cache[t] = lp
    prior = torch.tensor([cache[t] for t in texts])
    return states, logp - prior


def prompt_text(question: str, previous: str = "") -> str:
    """What the pass reads before the branches (user text is data here, as in the chat prompt)."""
    previous = " ".join(previous.split())[:300]
    question = " ".join(question.split())[:300]
    return (PREVIOUS.format(previous=previous) if previous else "") + PROMPT.format(question=question)


def _branches(model, tok, prompt: str, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = tok(prompt, add_special_tokens=False)["input_ids"][-MAX_PREFIX_TOKENS:]
    branches = [tok(" " + t, add_special_tokens=False)["input_ids"][:MAX_BRANCH_TOKENS] or [tok.eos_token_id or 0]
                for t in texts]
    read = getattr(model, "read_branches", None)
    if read is not None:
        first, hidden = read(prefix, branches)
    else:  # a model without a branch reader reads each branch with the prefix again
        hidden, first = [], None
        for ids in branches:
            h = model.read(list(prefix) + list(ids))
            first = h[len(prefix) - 1]
            hidden.append(h[len(prefix):])
    states, logps = [], []
    for ids, h in zip(branches, hidden):
        rows = torch.cat([first[None], h[:-1]])  # the state before each branch token
        lp = torch.log_softmax(model.lm_logits(rows), -1).gather(1, torch.tensor(ids)[:, None]).sum()
        states.append(h[-1].float())
        logps.append(float(lp))
    return torch.stack(states), torch.tensor(logps)


def rerank(model, head: RerankHead, question: str, facts: Sequence[Fact], previous: str = "",
           top: int = TOP) -> list[Fact]:
    """``facts`` with the best ``top`` rescored by the head (retriever units, shifted so that
    the best keeps the retriever's best score) and resorted; the rest keep their place after
    them. ``previous``: the conversation's last question."""
    head_facts = list(facts[:top])
    if len(head_facts) < 2:
        return list(facts)
    states, pmi = read_candidates(model, question, head_facts, previous)
    with torch.no_grad():
        new = [f.score + e for f, e in zip(head_facts, head(states, pmi).tolist())]
    # the order is the head's; the level stays the retriever's (the best fact keeps the best
    # retriever score), so abstention, calibrated on the retriever's scores, is unchanged
    shift = max(f.score for f in head_facts) - max(new)
    scored = [replace(f, score=round(z + shift, 4)) for f, z in zip(head_facts, new)]
    scored.sort(key=lambda f: -f.score)
    floor = scored[-1].score  # the rest stay below the facts read again
    return scored + [replace(f, score=min(f.score, floor)) for f in facts[top:]]

"""Fit the rerank head (model/rerank.py) on dialogues over several graphs.

Each transcript turn with ``expected_evidence`` is replayed through the retriever with the
gold earlier turns as history (as ``dialogqa kg recall`` does, so the candidates are the ones
a right conversation would see); its best ``TOP`` facts are read by the model after the
question, and turns whose gold fact is among them train the head. ``accuracy`` reports how
often the gold fact comes first, by the retriever alone and after reranking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from dialogqa.dialogue.recall import gold_history_turn
from dialogqa.model.rerank import TOP, RerankHead, branch_text, read_candidates


@dataclass
class Candidates:
    """One turn: the retriever's best facts, read after the question."""

    question: str
    previous: str  # the conversation's last question ("" on the first turn)
    keys: list[tuple[str, str, str]]
    texts: list[str]
    scores: torch.Tensor  # the retriever's
    gold: torch.Tensor  # bool: which are gold
    states: torch.Tensor | None = None
    pmi: torch.Tensor | None = None
    facts: list | None = None  # the facts themselves, until they are read


def candidate_turns(conversations: Iterable, graphs, top: int = TOP) -> list[Candidates]:
    """Every answerable turn whose gold fact the retriever ranks in its best ``top``."""
    out = []
    for conv in conversations:
        retriever = graphs.of(conv)[1]
        history = []
        for turn in conv.turns:
            if turn.expected_evidence and not turn.unanswerable:
                facts = retriever.retrieve(turn.user, history)[:top]
                gold = {tuple(t) for t in turn.expected_evidence}
                mask = torch.tensor([f.key() in gold for f in facts], dtype=torch.bool)
                if len(facts) >= 2 and mask.any():
                    previous = history[-1].user if history else ""
                    out.append(Candidates(turn.user, previous, [f.key() for f in facts], [branch_text(f) for f in facts],
                                          torch.tensor([float(f.score) for f in facts]), mask, facts=facts))
            history.append(gold_history_turn(turn))
    return out


def read_all(model, turns: Sequence[Candidates], cache: dict,
             progress: Callable[[int], None] | None = None) -> None:
    """Fill each turn's states and pmi (from ``cache`` where the same question and texts
    were read before with the same model)."""
    for t in turns:
        key = (t.previous, t.question, tuple(t.texts))
        if key not in cache:
            cache[key] = read_candidates(model, t.question, t.facts, t.previous)
        t.states, t.pmi = cache[key]
        t.facts = None
        if progress:
            progress(1)


def fit_head(turns: Sequence[Candidates], seed: int = 0) -> RerankHead:
    torch.manual_seed(seed)
    head = RerankHead(turns[0].states.shape[1])
    head.fit([(t.states, t.pmi, t.scores, t.gold) for t in turns], seed=seed)
    return head.eval()


def accuracy(head: RerankHead, turns: Sequence[Candidates]) -> dict:
    """How often the gold fact is first: by the retriever, and by the head's scores."""
    first = reranked = 0
    with torch.no_grad():
        for t in turns:
            first += bool(t.gold[int(t.scores.argmax())])
            reranked += bool(t.gold[int((t.scores + head(t.states, t.pmi)).argmax())])
    n = max(1, len(turns))
    return {"turns": len(turns), "retriever_first": round(first / n, 4), "reranked_first": round(reranked / n, 4)}

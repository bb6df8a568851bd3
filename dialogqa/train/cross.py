"""Train the cross rerank (model/cross.py) on dialogues over several graphs.

Each transcript turn is replayed through the retriever with the gold earlier turns as
history (as ``dialogqa kg recall`` does). An answerable turn whose gold fact is among the
retriever's best ``TOP`` trains the cross to put it first and above abstaining; a turn the
graph cannot answer, and a share of answerable turns shown without their gold fact (as the
chat adapter's training does, ``gold_removed``), train it to leave every candidate below
abstaining. The chat model's lower layers read each turn once (``read_all``; a cache keeps
what they read); the training itself runs the top layers only.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch

from dialogqa.dialogue.recall import gold_history_turn
from dialogqa.model.cross import TOP, CrossRerank, fact_text, read_lower


@dataclass
class CrossTurn:
    question: str
    previous: str
    texts: list[str]
    scores: torch.Tensor  # the retriever's
    gold: torch.Tensor  # bool per candidate; none set: abstaining is right
    source: str = ""
    prefix: torch.Tensor | None = None
    lines: list[torch.Tensor] | None = None
    facts: list | None = None


def cross_turns(conversations: Iterable, graphs, gold_removed: float = 0.15, seed: int = 0,
                source: str = "", top: int = TOP) -> list[CrossTurn]:
    rng = random.Random(seed)
    out = []
    for conv in conversations:
        retriever = graphs.of(conv)[1]
        history = []
        for turn in conv.turns:
            previous = history[-1].user if history else ""
            facts = retriever.retrieve(turn.user, history)
            gold = {tuple(t) for t in turn.expected_evidence}
            if turn.unanswerable or not turn.expected:
                keep = facts[:top]
            elif gold and rng.random() < gold_removed:
                keep = [f for f in facts if f.key() not in gold][:top]
            elif gold and any(f.key() in gold for f in facts[:top]):
                keep = facts[:top]
            else:
                keep = []
            if len(keep) >= 2:
                mask = torch.tensor([f.key() in gold for f in keep], dtype=torch.bool)
                out.append(CrossTurn(turn.user, previous, [fact_text(f) for f in keep],
                                     torch.tensor([float(f.score) for f in keep]), mask, source, facts=keep))
            history.append(gold_history_turn(turn))
    return out


def read_all(model, top: int, turns: Sequence[CrossTurn], cache: dict,
             progress: Callable[[int], None] | None = None) -> None:
    for t in turns:
        key = (t.previous, t.question, tuple(t.texts))
        if key not in cache:
            prefix, lines = read_lower(model, top, t.question, t.facts, t.previous)
            cache[key] = (prefix.to(torch.bfloat16), [x.to(torch.bfloat16) for x in lines])
        t.prefix, t.lines = cache[key]
        t.facts = None
        if progress:
            progress(1)


def turn_loss(z: torch.Tensor, gold: torch.Tensor, abstain: float) -> torch.Tensor:
    """Listwise: z (n,) fact logits plus abstaining at ``abstain``; the right options' mass."""
    allz = torch.cat([z, torch.tensor([abstain])])
    right = torch.cat([gold, torch.tensor([not bool(gold.any())])])
    return -(torch.logsumexp(allz[right], 0) - torch.logsumexp(allz, 0))


def fit(cross: CrossRerank, turns: Sequence[CrossTurn], retrieval_weight: float, abstain_logit: float,
        epochs: int = 1, lr: float = 2e-4, batch: int = 8, seed: int = 0,
        log: Callable[[str], None] | None = None, max_minutes: float | None = None) -> None:
    rng = random.Random(seed)
    params = [p for p in cross.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    steps = max(1, epochs * (len(turns) + batch - 1) // batch)
    warmup = min(20, steps // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, cosine to 0
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    cross.train()
    start, step, running = time.time(), 0, 0.0
    for _ in range(epochs):
        order = list(range(len(turns)))
        rng.shuffle(order)
        for i in range(0, len(order), batch):
            opt.zero_grad()
            loss = torch.zeros(())
            for j in order[i:i + batch]:
                t = turns[j]
                z = retrieval_weight * (t.scores + cross(t.prefix, t.lines))
                loss = loss + turn_loss(z, t.gold, abstain_logit)
            (loss / len(order[i:i + batch])).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            running = 0.95 * running + 0.05 * float(loss.detach()) / len(order[i:i + batch]) if step > 1 else float(loss.detach()) / len(order[i:i + batch])
            if log and step % 25 == 0:
                log(f"step {step}/{steps} loss {running:.3f} {(time.time() - start) / 60:.1f} min")
            if max_minutes and time.time() - start > 60 * max_minutes:
                cross.eval()
                return
    cross.eval()


def evaluate(cross: CrossRerank | None, turns: Sequence[CrossTurn], retrieval_weight: float,
             abstain_logit: float) -> dict:
    """Per source: answerable turns whose gold fact comes first and above abstaining, and
    turns without one where abstaining wins: by the retriever alone and with the cross."""
    out: dict[str, dict] = {}
    with torch.no_grad():
        for t in turns:
            row = out.setdefault(t.source, {"answerable": 0, "abstain_turns": 0, "retriever": 0, "cross": 0,
                                            "retriever_first": 0, "cross_first": 0,
                                            "retriever_abstains": 0, "cross_abstains": 0})
            corr = cross(t.prefix, t.lines) if cross is not None else torch.zeros(len(t.texts))
            for name, s in (("retriever", t.scores), ("cross", t.scores + corr)):
                best = int(s.argmax())
                abstains = abstain_logit >= retrieval_weight * float(s[best])
                if t.gold.any():
                    row[f"{name}_first"] += bool(t.gold[best])
                    row[name] += bool(t.gold[best]) and not abstains
                else:
                    row[f"{name}_abstains"] += abstains
            if t.gold.any():
                row["answerable"] += 1
            else:
                row["abstain_turns"] += 1
    return out

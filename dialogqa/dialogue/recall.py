"""How often is the gold fact among the retriever's top K? (``dialogqa kg recall``)

Replays transcripts turn by turn through the retriever alone (no model), giving each turn
the *gold* earlier turns as history (their ``expected`` answer and ``expected_evidence``), so
the number measures retrieval, not the errors of earlier answers. A turn counts as found
when any of its gold triples is among the top K; turns without ``expected_evidence``
(unanswerable ones) are left out of the share and reported as ``skipped``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

CUTOFFS = (1, 5, 10)  # recall at these ranks too, to see how good the ordering is


@dataclass
class RecallStats:
    k: int
    turns: int = 0
    found: int = 0
    skipped: int = 0
    at: dict[int, int] = field(default_factory=dict)  # cutoff -> turns found within it
    reciprocal: float = 0.0  # sum of 1/rank of the first gold fact (0 when missed)
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, rank: int | None, latency_ms: float) -> None:
        self.turns += 1
        self.latencies_ms.append(latency_ms)
        if rank is None:
            return
        self.found += 1
        self.reciprocal += 1.0 / (rank + 1)
        for cut in CUTOFFS:
            if rank < cut:
                self.at[cut] = self.at.get(cut, 0) + 1

    def metrics(self) -> dict:
        n = self.turns or 1
        return {
            "recall": round(self.found / n, 4) if self.turns else 0.0,
            "turns": self.turns,
            "k": self.k,
            "found": self.found,
            "skipped": self.skipped,
            "recall_at": {str(c): round(self.at.get(c, 0) / n, 4) for c in CUTOFFS if c < self.k},
            "mrr": round(self.reciprocal / n, 4),
            "latency_ms": {"p50": _percentile(self.latencies_ms, 50),
                           "p95": _percentile(self.latencies_ms, 95)},
        }


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 3)


def gold_history_turn(turn):
    """An earlier turn as a perfect bot would have left it: gold answer, gold evidence."""
    from dialogqa.dialogue.transcript import fact_from_key
    from dialogqa.records import Turn

    return Turn(user=turn.user, answer=turn.expected[0] if turn.expected else "",
                evidence=[fact_from_key(t) for t in turn.expected_evidence],
                abstained=turn.unanswerable)


def replay_recall(retriever, conversations, stats: RecallStats, misses: list | None = None) -> None:
    """Add every turn of ``conversations`` to ``stats`` (and the misses to ``misses``)."""
    for conv in conversations:
        history = []
        for turn in conv.turns:
            if turn.expected_evidence:
                start = time.perf_counter()
                facts = retriever.retrieve(turn.user, history)
                elapsed = (time.perf_counter() - start) * 1000
                gold = {tuple(t) for t in turn.expected_evidence}
                rank = next((i for i, f in enumerate(facts) if f.key() in gold), None)
                stats.add(rank, elapsed)
                if rank is None and misses is not None:
                    misses.append((conv.id, turn.user, turn.expected_evidence[0],
                                   [f.key() for f in facts[:3]]))
            else:
                stats.skipped += 1
            history.append(gold_history_turn(turn))

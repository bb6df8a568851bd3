"""Replay transcripts through the dialogue engine and score what it did.

Every conversation runs turn by turn through a fresh ``DialogueSession``, with the bot's own
answers as history, as in a real chat (not the gold answers: errors compound, as they do for
a user). Scores per DESIGN.md:

- ``answer_accuracy``: turns with ``expected`` answers (and not unanswerable) whose answer
  matches one of them (``matching.answer_correct``);
- ``evidence_recall``: turns with ``expected_evidence`` whose cited evidence holds a gold triple;
- ``abstention``: share of ``unanswerable`` turns the bot abstained on;
- ``false_abstention``: share of answerable turns it abstained on (the other side of that coin);
- ``latency_ms`` / ``first_token_ms``: p50 and p95 over turns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dialogqa.dialogue.matching import answer_correct
from dialogqa.dialogue.transcript import Conversation
from dialogqa.errors import UserError
from dialogqa.records import Turn


@dataclass
class TurnScore:
    correct: bool | None  # None: nothing expected (or unanswerable)
    evidence_hit: bool | None  # None: no gold evidence
    abstained_right: bool | None  # None: answerable turn
    false_abstention: bool | None  # None: unanswerable turn


def score_turn(turn: Turn) -> TurnScore:
    if turn.unanswerable:
        return TurnScore(None, None, bool(turn.abstained), None)
    cited = {f.key() for f in turn.evidence}
    gold = {tuple(t) for t in turn.expected_evidence}
    return TurnScore(
        correct=(False if turn.abstained and turn.expected else
                 answer_correct(turn.expected, turn.answer, turn.match_all, turn.reject)),
        evidence_hit=bool(cited & gold) if gold else None,
        abstained_right=None,
        false_abstention=bool(turn.abstained),
    )


def turn_type(turn: Turn) -> str:
    """The turn's ``type``; untyped turns count as ``single`` (or ``unanswerable``)."""
    return turn.type or ("unanswerable" if turn.unanswerable else "single")


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (no interpolation: a reported p95 is a latency that happened)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _share(flags: Iterable[bool | None]) -> tuple[float | None, int]:
    scored = [f for f in flags if f is not None]
    return (round(sum(scored) / len(scored), 4) if scored else None), len(scored)


def _summary(turns: Sequence[Turn]) -> dict:
    scores = [score_turn(t) for t in turns]
    acc, n_acc = _share(s.correct for s in scores)
    rec, n_rec = _share(s.evidence_hit for s in scores)
    abst, n_un = _share(s.abstained_right for s in scores)
    false_abst, _ = _share(s.false_abstention for s in scores)
    return {
        "turns": len(turns),
        "answer_accuracy": acc, "scored_turns": n_acc,
        "evidence_recall": rec, "evidence_turns": n_rec,
        "abstention": abst, "unanswerable_turns": n_un,
        "false_abstention": false_abst,
    }


def _latency(turns: Sequence[Turn], key: str) -> dict:
    values = [t.timings[key] for t in turns if key in t.timings]
    out = {"p50": percentile(values, 50), "p95": percentile(values, 95)}
    out["mean"] = sum(values) / len(values) if values else None
    return {k: (round(v, 1) if v is not None else None) for k, v in out.items()}


def compute_metrics(conversations: Sequence[Conversation]) -> dict:
    """Metrics of replayed conversations (turns with ``answer``/``evidence``/``abstained`` set)."""
    turns = [t for c in conversations for t in c.turns]
    metrics = {"conversations": len(conversations), **_summary(turns)}
    types = sorted({turn_type(t) for t in turns})
    if len(types) > 1 or any(t.type for t in turns):
        metrics["by_type"] = {}
        for typ in types:
            chosen = [t for t in turns if turn_type(t) == typ]
            scores = [score_turn(t) for t in chosen]
            right = [s.correct if s.correct is not None else s.abstained_right for s in scores]
            acc, n = _share(right)
            metrics["by_type"][typ] = {"accuracy": acc, "turns": n}
    metrics["latency_ms"] = _latency(turns, "total_ms")
    metrics["first_token_ms"] = _latency(turns, "first_token_ms")
    metrics["per_conversation"] = [
        {"id": c.id, **_summary(c.turns),
         "correct": [score_turn(t).correct for t in c.turns]}
        for c in conversations
    ]
    return metrics


class ReplayProgress(Protocol):
    """Where a replay reports: each turn's outcome (right, wrong, or None when unscored), a
    turn that could not be asked, the end. The commands draw it (dialogqa/progress.py)."""

    def turn(self, ok: bool | None) -> None: ...

    def warn(self, message: str) -> None: ...

    def close(self) -> None: ...


def replay(
    conversations: Sequence[Conversation],
    make_session: Callable[[Conversation], object],
    progress: Callable[[int], ReplayProgress] | None = None,
    on_conversation: Callable[[Conversation], None] | None = None,
) -> list[Conversation]:
    """Replay each conversation through ``make_session(conv)`` (a fresh ``DialogueSession``);
    returns the replayed conversations (gold fields kept, bot fields filled in). ``progress``:
    makes the reporter for the number of turns (none: the replay is silent)."""
    bar = progress(sum(len(c.turns) for c in conversations)) if progress else None
    out: list[Conversation] = []
    try:
        for conv in conversations:
            session = make_session(conv)
            turns = []
            for gold in conv.turns:
                try:
                    turn = session.ask(gold.user)
                except UserError as exc:  # e.g. a question that is only control characters
                    turn = Turn(user=gold.user, answer="", abstained=True, timings={})
                    if bar:
                        bar.warn(f"{conv.id}: {exc}")
                turn.expected = list(gold.expected)
                turn.expected_evidence = list(gold.expected_evidence)
                turn.unanswerable = gold.unanswerable
                turn.type, turn.match_all, turn.reject = gold.type, gold.match_all, list(gold.reject)
                turns.append(turn)
                if bar:
                    s = score_turn(turn)
                    bar.turn(s.correct if s.correct is not None else s.abstained_right)
            done = Conversation(id=conv.id, turns=turns, kg=list(conv.kg), extra=dict(conv.extra),
                                source=conv.source, line=conv.line)
            out.append(done)
            if on_conversation:
                on_conversation(done)
    finally:
        if bar:
            bar.close()
    return out

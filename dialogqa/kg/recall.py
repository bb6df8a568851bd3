"""``dialogqa kg recall``: how often is the gold fact among the retriever's top K?

Replays transcripts turn by turn through the retriever alone (no model), giving each turn
the *gold* earlier turns as history (their ``expected`` answer and ``expected_evidence``), so
the number measures retrieval, not the errors of earlier answers. A turn counts as found
when any of its gold triples is among the top K; turns without ``expected_evidence``
(unanswerable ones) are left out of the share and reported as ``skipped``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dialogqa.errors import UserError
from dialogqa.visible import visible

CUTOFFS = (1, 5, 10)  # recall at these ranks too, to see how good the ordering is


def register_recall(kg_subparsers) -> None:
    from dialogqa.cli import add_graph_args

    p = kg_subparsers.add_parser(
        "recall", help="share of transcript turns whose gold fact the retriever ranks in the top K",
        description="Replay transcripts through the retriever (gold earlier turns as history) and "
                    "report the share of turns whose gold triple (expected_evidence) is among "
                    "the top K facts. The graph comes from --kg/--store/--endpoint, or else "
                    "from each conversation's 'kg' files.",
        epilog="example: dialogqa kg recall transcripts/kgconv/test-*.jsonl --k 30 --json recall.json "
               "(give the transcripts before --kg FILE..., which takes every file after it)")
    p.add_argument("transcripts", nargs="+", metavar="TRANSCRIPTS.jsonl", help="transcript files")
    add_graph_args(p)
    p.add_argument("--k", type=int, default=30, metavar="N", help="facts retrieved per turn (default 30)")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="also write the metrics as JSON to OUT")
    p.add_argument("--misses", type=int, default=0, metavar="N",
                   help="print the first N turns whose gold fact was not found")
    p.set_defaults(handler=cmd_recall)


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
    from dialogqa.turn import Turn

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


def cmd_recall(args: argparse.Namespace) -> int:
    from dialogqa.cli import langs_from_args, open_graph_from_args
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.kg.base import open_kg
    from dialogqa.kg.retriever import Retriever

    if args.k < 1:
        raise UserError(f"--k must be at least 1, got {args.k}")
    files = {path: read_transcripts(path) for path in args.transcripts}  # all errors before any work
    explicit = bool(args.kg or args.store or args.endpoint)
    graphs: dict[tuple[str, ...], object] = {}
    retrievers: dict[tuple[str, ...], Retriever] = {}

    def retriever_for(conv) -> Retriever:
        key = () if explicit else tuple(str(p) for p in conv.kg_paths())
        if key not in retrievers:
            if explicit:
                graphs[key] = open_graph_from_args(args)
            elif not key:
                raise UserError(f"{conv.source}:{conv.line}: conversation {conv.id} names no graph "
                                "('kg'): give one with --kg FILE..., --store DIR or --endpoint URL")
            else:
                graphs[key] = open_kg(files=key, fmt=args.rdf_format, langs=langs_from_args(args))
            retrievers[key] = Retriever(graphs[key], k=args.k)
        return retrievers[key]

    total = RecallStats(args.k)
    per_file = {}
    misses: list = []
    for path, conversations in files.items():
        stats = RecallStats(args.k)
        for conv in conversations:
            replay_recall(retriever_for(conv), [conv], stats, misses)
        per_file[path] = stats
        total.turns += stats.turns
        total.found += stats.found
        total.skipped += stats.skipped
        total.reciprocal += stats.reciprocal
        total.latencies_ms += stats.latencies_ms
        for cut, n in stats.at.items():
            total.at[cut] = total.at.get(cut, 0) + n
    for kg in graphs.values():
        kg.close()

    result = total.metrics()
    result["files"] = {path: stats.metrics() for path, stats in per_file.items()}
    _print_table(result, per_file)
    for conv_id, question, gold, top in misses[: args.misses]:
        print(visible(f"miss {conv_id}: {question!r} gold={gold} top3={top}"))
    if args.json_out:
        try:
            Path(args.json_out).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--json {args.json_out}: cannot write ({exc.strerror})") from None
    return 0


def _print_table(result: dict, per_file: dict) -> None:
    k = result["k"]
    cut_cols = list(result["recall_at"])
    header = ["file", "turns", f"recall@{k}"] + [f"@{c}" for c in cut_cols] + ["MRR", "p50 ms", "p95 ms"]
    rows = []
    for path, stats in list(per_file.items()) + [("all", None)]:
        m = result if stats is None else stats.metrics()
        rows.append([visible(path), str(m["turns"]), f"{m['recall']:.4f}"]
                    + [f"{m['recall_at'].get(c, 0):.3f}" for c in cut_cols]
                    + [f"{m['mrr']:.3f}", f"{m['latency_ms']['p50']:.2f}", f"{m['latency_ms']['p95']:.2f}"])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if result["skipped"]:
        print(f"({result['skipped']} turns without expected_evidence left out)", file=sys.stderr)

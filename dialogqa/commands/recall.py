"""``dialogqa kg recall``: the share of transcript turns whose gold fact the retriever ranks
in the top K (the measurement itself is dialogqa.dialogue.recall)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dialogqa.commands.options import add_graph_args, graph_files_given, langs_from_args, open_graph_from_args
from dialogqa.dialogue.recall import RecallStats, replay_recall
from dialogqa.errors import UserError
from dialogqa.visible import visible


def register_recall(kg_subparsers) -> None:
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



def cmd_recall(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.kg.base import open_kg
    from dialogqa.dialogue.graphs import GraphCache

    if args.k < 1:
        raise UserError(f"--k must be at least 1, got {args.k}")
    files = {path: read_transcripts(path) for path in args.transcripts}  # all errors before any work
    graphs = GraphCache(k=args.k, fixed=open_graph_from_args(args) if graph_files_given(args) else None,
                        opener=lambda files: open_kg(files=files, fmt=args.rdf_format,
                                                     langs=langs_from_args(args)),
                        hint="give one with --kg FILE..., --store DIR or --endpoint URL")

    total = RecallStats(args.k)
    per_file = {}
    misses: list = []
    for path, conversations in files.items():
        stats = RecallStats(args.k)
        for conv in conversations:
            replay_recall(graphs.of(conv)[1], [conv], stats, misses)
        per_file[path] = stats
        total.turns += stats.turns
        total.found += stats.found
        total.skipped += stats.skipped
        total.reciprocal += stats.reciprocal
        total.latencies_ms += stats.latencies_ms
        for cut, n in stats.at.items():
            total.at[cut] = total.at.get(cut, 0) + n
    graphs.close()

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

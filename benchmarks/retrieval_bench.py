#!/usr/bin/env python
"""What the sentence encoder costs the retriever: the questions of transcripts retrieved with
words only and with the encoder (kg/semantic.py), side by side, each in its own subprocess so
its peak memory is its own.

    python benchmarks/retrieval_bench.py                       # world.jsonl and company-typed
    python benchmarks/retrieval_bench.py transcripts/world.jsonl --threads 1

Each conversation is replayed as `dialogqa kg recall` replays it (dialogue/recall.py: gold
answers and evidence as history, no model), so only retrieval runs; unanswerable turns are
left out. The first pass over the questions is timed (labels embedded as they are met, as in
a fresh chat); then a second pass over the same questions (labels cached).

  recall@1       the gold fact ranked first
  load s         opening the graphs, plus loading the encoder where used
  p50/p95 ms     one retrieve() call, first pass
  again p50 ms   the same questions again
  peak MB        the subprocess's high-water mark (VmHWM)

The machine is shared: numbers are noisy, compare rows of the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["transcripts/world.jsonl", "transcripts/domains/company-typed.jsonl"]


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(files: list[str], semantic: bool, threads: int) -> dict:
    import torch

    from dialogqa.dialogue.recall import RecallStats, replay_recall
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.kg.base import open_kg
    from dialogqa.kg.retriever import Retriever

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    encoder = None
    if semantic:
        from dialogqa.kg.semantic import default_encoder

        encoder = default_encoder()
    by_graph: dict[tuple[str, ...], list] = {}
    for f in files:
        for conv in read_transcripts(f):
            by_graph.setdefault(tuple(str(p) for p in conv.kg_paths()), []).append(conv)
    retrievers = {key: Retriever(open_kg(files=list(key)), encoder=encoder) for key in by_graph}
    load = time.perf_counter() - t0

    def one_pass() -> dict:
        stats = RecallStats(k=30)
        for key, conversations in by_graph.items():
            replay_recall(retrievers[key], conversations, stats)
        return stats.metrics()

    first, again = one_pass(), one_pass()
    return {"retrieval": "words + encoder" if semantic else "words only", "questions": first["turns"],
            "recall@1": first["recall_at"]["1"], "load s": round(load, 2),
            "p50 ms": round(first["latency_ms"]["p50"], 1), "p95 ms": round(first["latency_ms"]["p95"], 1),
            "again p50 ms": round(again["latency_ms"]["p50"], 1), "peak MB": round(_peak_mb())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", default=DEFAULT, help="transcripts naming their graphs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    ap.add_argument("--child", choices=["words", "encoder"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.files, args.child == "encoder", args.threads)))
        return
    rows = []
    for mode in ("words", "encoder"):
        out = subprocess.run([sys.executable, __file__, *args.files, "--threads", str(args.threads),
                              "--child", mode], capture_output=True, text=True, cwd=ROOT, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()

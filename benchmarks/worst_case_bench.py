#!/usr/bin/env python
"""Worst cases of loading and linking: one huge literal, one huge word.

    python benchmarks/worst_case_bench.py                      # 1/2/5/10 MB, 1k/10k/40k chars
    python benchmarks/worst_case_bench.py --mb 1,2 --words 1000 --formats nt
    python benchmarks/worst_case_bench.py --code /work/main    # another checkout's code

Each step runs in a fresh subprocess (peak memory = that process's ru_maxrss):

  load    a file of three triples, one of them a literal of N MB, into the in-memory
          backend (``--kg``: MemoryKG.from_files) and into an on-disk store (``kg load``)
  search  entity linking (MemoryKG.search) over a small graph, of a text that is one word
          of N random letters (each one-letter deletion a different word), as
          ``dialogqa kg search WORD`` does

A step still running after --timeout seconds is stopped and shown as ">N".  Prints a table;
--json writes every number.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tables import print_table  # benchmarks/tables.py

EX = "http://bench.dialogqa.dev/"
SMALL_GRAPH = "".join(
    f'<{EX}{name.replace(" ", "_")}> <http://www.w3.org/2000/01/rdf-schema#label> "{name}"@en .\n'
    f'<{EX}{name.replace(" ", "_")}> <{EX}near> <{EX}Sweden> .\n'
    for name in ("Sweden", "Norway", "Stockholm", "Oslo", "New York City", "Côte d'Ivoire"))


def literal_file(path: Path, mb: int) -> None:
    value = ("lorem ipsum dolor sit amet " * (mb * 40_000))[: mb << 20]
    triple = f'<{EX}a> <{EX}text> "{value}"@en .\n'
    path.write_text(f"<{EX}a> <{EX}b> <{EX}c> .\n{triple}<{EX}c> <{EX}b> <{EX}a> .\n", encoding="utf-8")


# -- workers (each runs in its own process) ---------------------------------------------------

def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(kind: str, args: list[str]) -> dict:
    if kind == "load-memory":
        from dialogqa.kg.memory import MemoryKG

        t = time.perf_counter()
        kg = MemoryKG.from_files([args[0]])
        return {"s": time.perf_counter() - t, "triples": kg.count(), "peak_mb": _peak_mb()}
    if kind == "load-store":
        from dialogqa.kg.store import StoreKG

        t = time.perf_counter()
        kg = StoreKG.load([args[0]], args[1], force=True)
        result = {"s": time.perf_counter() - t, "triples": kg.count()}
        kg.close()
        return result | {"peak_mb": _peak_mb()}
    if kind == "search":
        from dialogqa.kg.memory import MemoryKG

        kg = MemoryKG.from_files([args[0]])
        kg.search("Sweden")  # the label index is built on the first search
        before = _peak_mb()
        rnd = random.Random(int(args[1]))
        word = "".join(rnd.choice(string.ascii_lowercase) for _ in range(int(args[1])))
        t = time.perf_counter()
        hits = kg.search(word)
        return {"s": time.perf_counter() - t, "hits": len(hits), "before_mb": before, "peak_mb": _peak_mb()}
    raise SystemExit(f"unknown worker {kind}")


def run_worker(code: Path, timeout: float, kind: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code))
    try:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", kind, *args],
                              capture_output=True, text=True, cwd=code, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timed_out": timeout}
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the benchmark ----------------------------------------------------------------------------

def _cell(result: dict, key: str, fmt: str) -> str:
    if "timed_out" in result:
        return f">{result['timed_out']:.0f} s" if key == "s" else "-"
    return fmt.format(result[key])


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", default="1,2,5,10", help="literal sizes in MB (default 1,2,5,10)")
    parser.add_argument("--formats", default="nt,ttl", help="file syntaxes (default nt,ttl)")
    parser.add_argument("--words", default="10,1000,10000,40000", help="word lengths searched")
    parser.add_argument("--code", default=str(Path(__file__).resolve().parent.parent),
                        help="the checkout whose dialogqa is measured (default: this one)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a step is stopped")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    args = parser.parse_args()
    code = Path(args.code).resolve()
    data = Path(tempfile.mkdtemp(prefix="worst-case-bench-"))
    results: dict = {"load": [], "search": []}
    rows = []
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        for mb in [int(m) for m in args.mb.split(",") if m.strip()]:
            path = data / f"literal-{mb}mb.{fmt}"
            literal_file(path, mb)
            print(f"[{fmt} {mb} MB] in memory ...", file=sys.stderr)
            memory = run_worker(code, args.timeout, "load-memory", str(path))
            print(f"[{fmt} {mb} MB] store ...", file=sys.stderr)
            store = run_worker(code, args.timeout, "load-store", str(path), str(data / "store"))
            results["load"].append({"format": fmt, "mb": mb, "memory": memory, "store": store})
            rows.append([fmt, str(mb), _cell(memory, "s", "{:.2f}"), _cell(memory, "peak_mb", "{:,.0f}"),
                         _cell(store, "s", "{:.2f}"), _cell(store, "peak_mb", "{:,.0f}")])
            path.unlink()
    print_table(["syntax", "literal MB", "--kg load s", "--kg peak MB", "kg load s", "kg load peak MB"], rows)
    graph = data / "small.nt"
    graph.write_text(SMALL_GRAPH, encoding="utf-8")
    rows = []
    for n in [int(w) for w in args.words.split(",") if w.strip()]:
        print(f"[search {n:,} letters] ...", file=sys.stderr)
        found = run_worker(code, args.timeout, "search", str(graph), str(n))
        results["search"].append({"letters": n} | found)
        rows.append([f"{n:,}", _cell(found, "s", "{:.3f}"), _cell(found, "before_mb", "{:,.0f}"),
                     _cell(found, "peak_mb", "{:,.0f}")])
    print()
    print_table(["word letters", "search s", "peak MB before", "peak MB after"], rows)
    print(f"(code: {code}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end)")
    if args.json:
        Path(args.json).write_text(json.dumps({"code": str(code), "results": results}, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

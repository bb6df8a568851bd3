#!/usr/bin/env python
"""A person's own SPARQL on the memory and store backends: what the row cap, the SERVICE
refusal and the timeout cost, on the shipped world graph (or any --kg FILE).

    python benchmarks/sparql_guard_bench.py                  # kb/world.ttl
    python benchmarks/sparql_guard_bench.py --kg big.nt.gz --timeout 5 --json out.json

For each backend: a cross product that never ends without the cap (rows, seconds), a SERVICE
to a listener that never answers (seconds to refuse), a COUNT over a three-way cross product
(seconds to stop at --timeout), an ordinary query (median seconds over 5 runs, check and
child process included), and this process's resident memory after each (MB, from
/proc/self/statm).  A silent listener on 127.0.0.1 stands in for the remote service.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialogqa.errors import UserError  # noqa: E402
from dialogqa.kg.sparql_guard import QueryLimits  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(kg, query, limits):
    start = time.perf_counter()
    try:
        res = kg.query(query, limits)
        outcome = f"{len(res.rows)} rows{' (capped)' if res.truncated else ''}" if res.boolean is None \
            else f"ASK {res.boolean}"
    except UserError as exc:
        outcome = str(exc)[:48]
    return time.perf_counter() - start, outcome


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kg", default=str(Path(__file__).resolve().parents[1] / "kb" / "world.ttl"))
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()

    from dialogqa.kg.memory import MemoryKG
    from dialogqa.kg.store import StoreKG

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts into the backlog, never answers
    service = f"http://127.0.0.1:{listener.getsockname()[1]}/x"

    cases = [
        ("cross product, default cap", "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", QueryLimits()),
        ("SERVICE to a silent listener", f"SELECT * WHERE {{ SERVICE <{service}> {{ ?s ?p ?o }} }}",
         QueryLimits()),
        (f"COUNT of a 3-way cross product, --timeout {args.timeout:g}",
         "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", QueryLimits(timeout=args.timeout)),
        ("ordinary query (median of 5)", "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p "
         "ORDER BY DESC(?n) LIMIT 5", QueryLimits()),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("memory", lambda: MemoryKG.from_files([args.kg])),
                    ("store", lambda: StoreKG.load([args.kg], Path(tmp) / "store"))]
        for backend, opener in backends:
            kg = opener()
            for name, query, limits in cases:
                runs = [timed(kg, query, limits) for _ in range(5 if name.startswith("ordinary") else 1)]
                seconds = statistics.median(r[0] for r in runs)
                results.append({"backend": backend, "case": name, "seconds": round(seconds, 3),
                                "outcome": runs[0][1], "rss_mb": round(rss_mb(), 1)})
            kg.close()
    listener.close()

    print(f"{'backend':8} {'case':44} {'seconds':>8} {'RSS MB':>7}  outcome")
    for r in results:
        print(f"{r['backend']:8} {r['case']:44} {r['seconds']:8.3f} {r['rss_mb']:7.1f}  {r['outcome']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"kg": args.kg, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

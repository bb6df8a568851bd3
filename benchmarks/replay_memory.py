"""Peak memory of `dialogqa replay` for few and many conversations: does it grow with them?

    python benchmarks/replay_memory.py                               # this checkout, 10 and 80
    python benchmarks/replay_memory.py --code /tmp/old --code .      # old vs new, alternating

Runs ``python -m dialogqa replay FILE --limit N --no-progress`` under ``/usr/bin/time -v`` in
each checkout (its own dialogqa first on sys.path) and prints the maximum resident set size
and the wall time for every N. Goal (issue 16): max RSS at 80 conversations <= max RSS at 10
+ 150 MB. The default file is KGConv's dev-food set (convert it first:
``sh transcripts/kgconv/convert.sh``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
DEFAULT = HERE / "transcripts" / "kgconv" / "dev-food.jsonl"


def run(code: Path, transcripts: Path, n: int) -> tuple[float, float]:
    """(max RSS in MB, wall seconds) of one replay of the first ``n`` conversations."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "dialogqa", "replay", str(transcripts),
               "--limit", str(n), "--no-progress", "--json", str(Path(tmp) / "m.json")]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=code, capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(code)))
        wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode != 0 or m is None:
        raise SystemExit(f"{code}: replay failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(m.group(1)) / 1024, wall


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--code", action="append", metavar="DIR", help="checkout to run (repeat to compare)")
    p.add_argument("--transcripts", default=str(DEFAULT), metavar="FILE")
    p.add_argument("--counts", default="10,80", help="conversation counts to replay (default 10,80)")
    args = p.parse_args(argv)
    transcripts = Path(args.transcripts).resolve()
    if not transcripts.is_file():
        p.error(f"{transcripts} not found: run sh transcripts/kgconv/convert.sh first")
    if not Path("/usr/bin/time").is_file():
        p.error("/usr/bin/time not found (GNU time: apt-get install time)")
    counts = [int(x) for x in args.counts.split(",") if x.strip()]
    codes = [Path(c).resolve() for c in (args.code or [HERE])]
    rows = []
    for n in counts:
        for code in codes:  # old and new one after the other, same conditions
            print(f"{code}: {n} conversations ...", file=sys.stderr, flush=True)
            rss, wall = run(code, transcripts, n)
            rows.append((str(code), n, rss, wall))
    print(f"{transcripts.name}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    width = max(len(r[0]) for r in rows)
    print(f"{'code':<{width}}  {'conversations':>13}  {'max RSS (MB)':>12}  {'wall (s)':>8}")
    for code, n, rss, wall in rows:
        print(f"{code:<{width}}  {n:>13}  {rss:>12.0f}  {wall:>8.0f}")
    if len(counts) >= 2:
        for code in map(str, codes):
            by_n = {n: rss for c, n, rss, _ in rows if c == code}
            lo, hi = min(counts), max(counts)
            print(f"{code}: {hi} conversations - {lo} = {by_n[hi] - by_n[lo]:+.0f} MB (goal <= 150)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

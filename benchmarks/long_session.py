"""A long conversation: does a turn stay as fast, and the process as small, at turn 1,000?

    python benchmarks/long_session.py                      # 1,000 turns, this checkout
    python benchmarks/long_session.py --turns 150 --code /work/main --code .   # old vs new

One ``DialogueSession`` (the real model, shipped adapter, kb/world.ttl) asked the questions of
transcripts/world.jsonl over and over, as one conversation. Prints, at turns 10, 100, 500 and
1,000 (those within --turns), the p50 latency of the 10 turns up to there and the RSS after
it; then the goal lines: p50 of the last 100 turns against turns 10-20, RSS growth after turn
20. After the last turn it asks "What is the capital of Norway?" then "How many people live
there?": the follow-up must still resolve "there" (the focus holds Oslo).

Each --code DIR runs in its own process with that checkout first on sys.path, one after the
other (a 1,000-turn run takes a while; compare at --turns 150 or so).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
CHECKPOINTS = (10, 20, 100, 500, 1000)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def questions(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out += [t["user"] for t in json.loads(line)["turns"]]
    return out


def worker(args) -> dict:
    sys.path.insert(0, str(Path(args.worker).resolve()))
    from dialogqa.dialogue.session import DialogueSession
    from dialogqa.kg.base import open_kg
    from dialogqa.model.loading import load_chat_model

    import dialogqa
    assert Path(dialogqa.__file__).resolve().is_relative_to(Path(args.worker).resolve()), dialogqa.__file__
    kg = open_kg(files=[str(HERE / "kb" / "world.ttl")])
    model = load_chat_model(adapter_dir=Path(args.worker).resolve() / "dialogqa" / "adapters" / "default")
    session = DialogueSession(kg, model)
    latency, rss = [], []
    for i, q in zip(range(args.turns), itertools.cycle(questions(HERE / "transcripts" / "world.jsonl"))):
        t0 = time.perf_counter()
        session.ask(q)
        latency.append((time.perf_counter() - t0) * 1000)
        rss.append(rss_mb())
        if (i + 1) % 50 == 0:
            print(f"  turn {i + 1}: {latency[-1]:.0f} ms, {rss[-1]:.0f} MB", file=sys.stderr, flush=True)
    session.ask("What is the capital of Norway?")
    follow = session.ask("How many people live there?")
    oslo = [str(e) for e in session.history[-2].focus[:1]]
    return {"latency_ms": latency, "rss_mb": rss, "prompt_turns": _shown(session),
            "follow_up": follow.answer, "focus_before_follow_up": oslo,
            "follow_up_evidence": [f.s_label for f in follow.evidence]}


def _shown(session) -> int:
    shown = getattr(session, "shown_history", None)
    return len(shown()) if shown else len(session.history)


def p50(xs):
    return statistics.median(xs) if xs else float("nan")


def summary(name: str, r: dict) -> list[str]:
    lat, rss = r["latency_ms"], r["rss_mb"]
    n = len(lat)
    lines = [f"== {name}: {n} turns; prompt shows {r['prompt_turns']} earlier turns at the end",
             f"{'turn':>6}  {'p50 of 10 turns up to it (ms)':>30}  {'RSS (MB)':>9}"]
    for c in CHECKPOINTS:
        if c <= n:
            lines.append(f"{c:>6}  {p50(lat[max(0, c - 10):c]):>30.0f}  {rss[c - 1]:>9.0f}")
    if n >= 20:
        early = p50(lat[9:20])
        last = p50(lat[-100:])
        lines.append(f"p50 turns 10-20: {early:.0f} ms; last {min(100, n)} turns: {last:.0f} ms "
                     f"({last / early:.2f}x; goal <= 1.5x)")
        lines.append(f"RSS at turn 20: {rss[19]:.0f} MB; at turn {n}: {rss[-1]:.0f} MB; max "
                     f"{max(rss):.0f} MB (growth {max(rss[19:]) - rss[19]:+.0f} MB; goal < 150)")
    lines.append(f"follow-up 'How many people live there?' after 'What is the capital of Norway?': "
                 f"{r['follow_up']!r} (focus {r['focus_before_follow_up']}, evidence about "
                 f"{r['follow_up_evidence']})")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--turns", type=int, default=1000)
    p.add_argument("--code", action="append", metavar="DIR",
                   help="a checkout to run (repeat to compare; default: this one)")
    p.add_argument("--json", metavar="FILE", help="write every turn's numbers here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.turns < 1:
        p.error(f"--turns must be >= 1, got {args.turns}")
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    results = {}
    for code in args.code or [str(HERE)]:
        print(f"{code}: {args.turns} turns ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, __file__, "--worker", code, "--turns", str(args.turns)],
                              stdout=subprocess.PIPE, text=True, cwd=HERE)
        if done.returncode != 0:
            print(f"{code} failed", file=sys.stderr)
            continue
        results[code] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for code, r in results.items():
        print("\n".join(summary(code, r)))
    if args.json:
        Path(args.json).write_text(json.dumps(results) + "\n")
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())

"""Side by side: proxy runs against a base run, per transcript file.

    python training/analysis/proxy_compare.py BASE.jsonl RUN.jsonl...

Columns: gold fact first (answerable turns), and unanswerable turns whose best fact scores at
or above the abstention level (the shipped grounding's abstain_logit / retrieval_weight,
7.5 / 4), as differences from the base."""
import collections
import json
import sys

from grounding_sim import shipped_weights

LEVEL = shipped_weights()["abstain_logit"] / shipped_weights()["retrieval_weight"]


def summary(path: str) -> collections.Counter:
    out = collections.Counter()
    for row in map(json.loads, open(path, encoding="utf-8")):
        name = row["set"].removesuffix(".jsonl")
        if row["unans"]:
            out[name + " unans>=level"] += (row["s"][0] if row["s"] else 0.0) >= LEVEL
        else:
            out[name] += row["rank"] == 0
    return out


def main(base_path: str, runs: list[str]) -> None:
    base = summary(base_path)
    keys = sorted(base)
    width = max(len(k) for k in keys) + 2
    print(f"{'run':28s}" + "".join(f"{k:>{width}s}" for k in keys))
    print(f"{base_path[-28:]:28s}" + "".join(f"{base[k]:>{width}d}" for k in keys))
    for path in runs:
        run = summary(path)
        print(f"{path[-28:]:28s}" + "".join(f"{run[k] - base[k]:>+{width}d}" for k in keys))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

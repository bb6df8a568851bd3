"""The grounding choice re-run offline from a ``grounding_dump.py`` dump, under other weights.

    python training/analysis/grounding_sim.py GOLD.jsonl REPLAYED.jsonl DUMP [--score PATH]

Counts turns whose top candidate is right (answerable: score.py's matching; unanswerable: the
abstention sentence), over the dumped turns of single-answer types (lists, counts, yes/no and
comparisons are composed elsewhere). Rows: the shipped weights (which give the replay's own
choice), the relevance head at other weights, and the head as a tie-breaker among the
candidates within ``d`` of the best. Session 27 (training/README.md)."""
import argparse
import functools
import importlib.util
import json

from rdflib import Literal, URIRef

from dialogqa.dialogue import grounding
from dialogqa.records import Fact

SINGLE = ("single", "unanswerable", "chain", "reverse")


def scorer(path):
    spec = importlib.util.spec_from_file_location("score", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(gold_path, replayed_path, dump_path):
    """(gold turn, dump row, facts) for every dumped turn, aligned by the question's text."""
    replayed = {c["id"]: c for c in map(json.loads, open(replayed_path, encoding="utf-8"))}
    dumps = [json.loads(line) for line in open(dump_path, encoding="utf-8")]
    rows, d = [], 0
    for conv in map(json.loads, open(gold_path, encoding="utf-8")):
        for turn, _ in zip(conv["turns"], replayed[conv["id"]]["turns"]):
            if d < len(dumps) and dumps[d]["q"] == turn["user"]:
                row, d = dumps[d], d + 1
                if turn.get("type", "single") in SINGLE:
                    facts = [Fact(URIRef(k[0]), URIRef(k[1]), Literal(k[2]) if lit else URIRef(k[2]),
                                  sl, pl, ol, score, bool(inv))
                             for k, sl, pl, ol, score, inv, lit in row["f"]]
                    rows.append((turn, row, facts))
    return rows


@functools.cache
def shipped_weights():
    """The shipped adapter's grounding, as a single-answer turn uses it (no list mass): for
    dumps written before the weights in use were (session 27's first ones)."""
    from pathlib import Path

    import dialogqa

    with open(Path(dialogqa.__file__).parent / "adapters/default/relevance_head.json", encoding="utf-8") as f:
        return {**json.load(f)["grounding"], "group_mass": 0.0}


def top_choice(row, facts, overrides, tie=(0.0, 0.0)):
    weights = {**(row.get("g") or shipped_weights()), **overrides}
    g = grounding.Grounding.from_json(weights)
    options = [tuple(o) for o in row["opts"]]
    grounding.answer_options = lambda q, f, c=(): options  # the options the replay had
    ranked = g.candidates(row["q"], row["rel"], facts, row["abst"])
    best = ranked[0][0]
    width, weight = tie
    if width > 0 and best != row["abst"]:
        head = {}
        for text, i, _ in options:
            head[text] = max(head.get(text, -1e9), grounding.logit(row["rel"][i]))
        close = [(p + weight * head.get(t, -20.0), t) for t, p in ranked
                 if t != row["abst"] and p >= ranked[0][1] - width]
        best = max(close)[1]
    return best


def count(rows, score, overrides, tie=(0.0, 0.0)):
    right = 0
    for turn, row, facts in rows:
        best = top_choice(row, facts, overrides, tie)
        if turn.get("unanswerable"):
            right += best == row["abst"]
        else:
            right += best != row["abst"] and score.right_answer(best, turn)
    return right


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold"), ap.add_argument("replayed"), ap.add_argument("dump")
    ap.add_argument("--score", default="../shared/tools/score.py")
    args = ap.parse_args()
    score = scorer(args.score)
    rows = load(args.gold, args.replayed, args.dump)
    print(f"{len(rows)} turns")
    print("shipped", count(rows, score, {}))
    for hw in (0.25, 0.5, 1.0):
        print(f"head weight {hw}", count(rows, score, {"head_weight": hw}))
    for ab in (5.5, 6.5, 8.5):
        print(f"abstain logit {ab}", count(rows, score, {"abstain_logit": ab}))
    for width, weight in ((0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (2.0, 1.0)):
        print(f"head breaks ties within {width} (weight {weight})", count(rows, score, {}, (width, weight)))


if __name__ == "__main__":
    main()

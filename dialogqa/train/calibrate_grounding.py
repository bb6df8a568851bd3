"""Calibrate grounded decoding (dialogqa/dialogue/grounding.py) for an adapter on held-out
dialogues, and write the weights into its relevance_head.json.

1. Replay the dialogues with free decoding, keeping each turn's candidate facts (with the
   retriever's scores) and the relevance head's probabilities.
2. Grid-search the prior's weights (head, retrieval, abstention logit, near-end penalty) for
   the best turn accuracy when the answer is the candidate of highest prior: a right answer
   on an answerable turn, the abstention sentence on an unanswerable one. Each file counts
   the same (the mean of their turn accuracies), so a small set is not drowned by a big one.
3. Replay again with grounded decoding at each ``--prior-weights`` value (how much the prior
   counts against the model's own logits) and keep the best.
4. At that prior weight, replay at each ``--near-penalties`` value and keep the best. The
   grid of step 2 cannot choose it: its best-prior answer already takes the far end of a tie,
   so every penalty scores alike there, while in decoding the model pulls toward the near
   end (the conversation's topic, "Switzerland" for "What is the name of the public holiday
   associated with it?") and only a large enough penalty holds it back.

    python -m dialogqa.train.calibrate_grounding ADAPTER_DIR DIALOGS.jsonl... [--write]

Never calibrate on evaluation sets: use held-out development dialogues
(training/dev_sets.sh builds the two the shipped adapter uses). `dialogqa calibrate`
(dialogqa/train/calibration.py) runs steps 1-2 and a bias sweep; this module adds the
prior-weight and near-penalty sweeps.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

HEAD_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0)
RETRIEVAL_WEIGHTS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
ABSTAIN_LOGITS = tuple(x / 2 for x in range(-4, 17))
# Never 0: a fact's two labels would tie, which the best-prior score below breaks for the far
# end, but decoding leaves to the model, and it often copies the near end, the topic it read
# about ("Norway" for "What is the lowest point?").
NEAR_PENALTIES = (0.5, 1.0, 2.0, 4.0)


def turn_right(turn) -> bool:
    """Right answer on an answerable turn, abstention on an unanswerable one."""
    from dialogqa.dialogue.matching import answer_correct

    if turn.unanswerable:
        return bool(turn.abstained)
    return bool(turn.expected) and not turn.abstained and bool(answer_correct(turn.expected, turn.answer))


def turn_accuracy(replayed) -> float:
    """The share of a replay's turns that ``turn_right`` counts right."""
    turns = [t for conv in replayed for t in conv.turns]
    return sum(turn_right(t) for t in turns) / max(len(turns), 1)


def table_row(label: str, shares: list[float]) -> str:
    """One line of the replay tables: the label, each file's accuracy, their mean."""
    return f"{label:>12}  " + "  ".join(f"{s:.3f}" for s in shares) + f"  {sum(shares) / len(shares):.3f}"


def prepare(sample) -> tuple:
    """One recorded turn, (question, relevance, facts, the keys of the facts the previous turn
    cited, expected, unanswerable), as arrays the grid search scores fast: head logits and
    retrieval scores per fact, and per candidate answer (what ``Grounding.candidates`` offers)
    its fact, whether it is the near end's label and whether it is right."""
    import numpy as np

    from dialogqa.dialogue.grounding import answer_options, logit
    from dialogqa.dialogue.matching import answer_correct

    question, relevance, facts, cited, expected, unanswerable = sample
    options = answer_options(question, facts, cited)
    idx = [i for _, i, _ in options]
    near = [is_near for _, _, is_near in options]
    right = [bool(expected) and bool(answer_correct(expected, text)) for text, _, _ in options]
    return (np.array([logit(p) for p in relevance], dtype=float),
            np.array([f.score for f in facts], dtype=float),
            np.array(idx, dtype=int), np.array(near, dtype=float), np.array(right, dtype=bool),
            bool(unanswerable))


def prior_outcome(grounding, files: list[list[tuple]]) -> tuple[float, float | None]:
    """(mean over files of the turn accuracy when the answer is the candidate of highest
    prior, the share of unanswerable samples, all files pooled, on which it abstains: None
    without any) on ``prepare``d samples; abstaining wins ties, as it is listed first."""
    import numpy as np

    shares = []
    abstained = unanswerable_n = 0
    for samples in files:
        right = 0
        for head, retrieval, idx, near, correct, unanswerable in samples:
            if len(idx):
                z = grounding.head_weight * head + grounding.retrieval_weight * retrieval
                cand = z[idx] - grounding.near_penalty * near
                top = cand.max()
                # ties as Grounding.candidates breaks them: far-end labels, then prompt order
                best = min(np.flatnonzero(cand == top), key=lambda j: (near[j], idx[j]))
                abstains = grounding.abstain_logit >= top
            else:
                abstains = True
            right += abstains if unanswerable else (not abstains and bool(correct[best]))
            if unanswerable:
                unanswerable_n += 1
                abstained += bool(abstains)
        shares.append(right / max(len(samples), 1))
    return sum(shares) / max(len(shares), 1), (abstained / unanswerable_n if unanswerable_n else None)


def prior_score(grounding, files: list[list[tuple]]) -> float:
    """``prior_outcome``'s turn accuracy."""
    return prior_outcome(grounding, files)[0]


def fit_prior(files: list[list[tuple]], min_abstention: float = 0.0):
    """The grid's best Grounding (prior weight 1) and its score, on ``prepare``d samples.
    ``min_abstention``: only priors that abstain on at least this share of the unanswerable
    samples (where none does, the one abstaining most, best score first)."""
    from dialogqa.dialogue.grounding import Grounding

    best = None
    for a, b, c, d in itertools.product(HEAD_WEIGHTS, RETRIEVAL_WEIGHTS, ABSTAIN_LOGITS, NEAR_PENALTIES):
        g = Grounding(head_weight=a, retrieval_weight=b, abstain_logit=c, near_penalty=d)
        score, abstention = prior_outcome(g, files)
        meets = abstention is None or abstention >= min_abstention - 1e-9
        # rounded, so that float noise does not break a tie: the earlier grid point keeps it
        key = (True, round(score, 9)) if meets else (False, round(abstention, 9), round(score, 9))
        if best is None or key > best[2]:
            best = (g, score, key)
    return best[0], best[1]


def sweep(grounding, weights, penalties, replay_all):
    """Steps 3 and 4: replay ``grounding`` at each prior weight, then at the best of them at
    each near penalty. ``replay_all(g) -> [turn accuracy per file]``. Returns the rows of
    both sweeps, each (mean, Grounding, shares), and the best row (ties keep the earlier)."""
    def row(g):
        shares = replay_all(g)
        return (sum(shares) / len(shares), g, shares)

    by_weight = [row(replace(grounding, prior_weight=w)) for w in weights]
    best = max(by_weight, key=lambda r: r[0])
    by_penalty = []
    if penalties:
        by_penalty = [best] + [row(replace(best[1], near_penalty=p)) for p in penalties
                               if p != best[1].near_penalty]
        best = max(by_penalty, key=lambda r: r[0])
    return by_weight, by_penalty, best


class Recorder:
    """Wraps a session: keeps, per question asked, (question, relevance, facts, the keys of
    the facts the previous turn cited), what ``prepare`` needs with the turn's outcome."""

    def __init__(self, session, samples: list):
        self._session = session
        self._samples = samples

    def __getattr__(self, name):
        return getattr(self._session, name)

    def ask(self, text):
        session = self._session
        session.last_scored = None
        cited = session.previously_cited(text)
        try:
            return session.ask(text)
        finally:
            relevance, facts = session.last_scored or ([], [])
            self._samples.append((text, relevance, facts, cited))


def with_outcomes(samples: list[tuple], replayed) -> list[tuple]:
    """``Recorder`` samples completed with each turn's expected answers and unanswerability."""
    turns = [t for conv in replayed for t in conv.turns]
    return [s + (list(t.expected), t.unanswerable) for s, t in zip(samples, turns)]


def replay_file(model, graphs, path: str, grounding, limit: int | None, record: bool):
    """Replay one file; returns (replayed conversations, samples when ``record``)."""
    from dialogqa.dialogue.replay import replay
    from dialogqa.progress import replay_bar
    from dialogqa.dialogue.session import DialogueSession
    from dialogqa.dialogue.transcript import read_transcripts

    conversations = read_transcripts(path)[: limit or None]
    samples: list[tuple] = []

    def make_session(conv):
        kg, retriever = graphs.of(conv)
        session = DialogueSession(kg, model, retriever=retriever, grounding=grounding)
        session.free_decoding = False  # the model's own free answers, unchecked (what is fitted)
        return Recorder(session, samples) if record else session

    replayed = replay(conversations, make_session, progress=replay_bar())
    return replayed, with_outcomes(samples, replayed) if record else samples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialogqa.train.calibrate_grounding",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("adapter")
    parser.add_argument("transcripts", nargs="+", help="held-out development dialogues (one set a file)")
    parser.add_argument("--prior-weights", default="1,3,10",
                        help="prior weights to replay end to end, comma-separated (default 1,3,10)")
    parser.add_argument("--near-penalties", default="",
                        help="near-end penalties to replay end to end at the best prior weight, "
                             "comma-separated (default: only the grid's)")
    parser.add_argument("--limit", type=int, default=None, help="first N conversations of each file")
    parser.add_argument("--write", action="store_true", help="save the best into relevance_head.json")
    args = parser.parse_args(argv)

    from dialogqa.model.loading import load_chat_model
    from dialogqa.model.relevance import CONFIG_FILE

    model = load_chat_model(adapter_dir=args.adapter)
    if getattr(model, "head", None) is None:
        print(f"{args.adapter}: no relevance head; grounded decoding needs one", file=sys.stderr)
        return 2
    from dialogqa.dialogue.graphs import GraphCache

    graphs = GraphCache(k=30)
    files, free = [], []
    for path in args.transcripts:
        replayed, samples = replay_file(model, graphs, path, False, args.limit, record=True)
        files.append([prepare(x) for x in samples])
        free.append(turn_accuracy(replayed))
    grounding, prior = fit_prior(files)
    print(f"prior fit: {grounding.to_json()} -> mean turn accuracy {prior:.3f} (answer = best prior)")

    def replay_all(g) -> list[float]:
        return [turn_accuracy(replay_file(model, graphs, path, g, args.limit, record=False)[0])
                for path in args.transcripts]

    weights = [float(x) for x in args.prior_weights.split(",") if x.strip()]
    penalties = [float(x) for x in args.near_penalties.split(",") if x.strip()]
    names = "  ".join(Path(p).name for p in args.transcripts)
    by_weight, by_penalty, best = sweep(grounding, weights, penalties, replay_all)
    print(f"prior weight  {names}  mean")
    for _, g, shares in by_weight:
        print(table_row(f"{g.prior_weight:g}", shares))
    print(table_row("free", free))
    if by_penalty:
        print(f"near penalty  {names}  mean   (prior weight {best[1].prior_weight:g})")
        for _, g, shares in sorted(by_penalty, key=lambda r: r[1].near_penalty):
            print(table_row(f"{g.near_penalty:g}", shares))
    chosen = best[1]
    print(f"best: {chosen.to_json()} (mean turn accuracy {best[0]:.3f})")
    if args.write:
        path = Path(args.adapter) / CONFIG_FILE
        config = json.loads(path.read_text())
        config["grounding"] = chosen.to_json()
        path.write_text(json.dumps(config, indent=1) + "\n")
        print(f"wrote grounding into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Calibrate an adapter on held-out dialogues of the graphs it will answer on: grounded
decoding's prior and the abstention bias, the settings saved in its relevance_head.json.

1. One replay with free decoding records each turn's candidate facts, the relevance head's
   probabilities and the retriever's scores (``calibrate_grounding.Recorder``).
2. The grid of train/calibrate_grounding.py fits the prior on them (answer = the candidate of
   highest prior; every file counts the same). On a graph of its own the starting prior is
   often far off: on kb/domains/company.ttl the shipped one abstained on most lists and counts
   though the relevance head ranked the right fact first.
3. Replays compare the starting calibration with the fitted prior at the starting bias and
   around it (``BIAS_STEPS``); the best mean turn accuracy wins, ties keep the start.

`dialogqa adapt` runs this on its calibration dialogues; `dialogqa calibrate ADAPTER FILES...`
runs it on any held-out dialogues (never the evaluation sets) and writes the choice with
``--write``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

BIAS_STEPS = (-1.0, 2.0)  # biases tried with the fitted prior, around the starting one
PRIOR_WEIGHT = 10.0  # the fitted prior against the model's own logits, where none is given


@dataclass
class Option:
    name: str  # "start" or "fitted"
    grounding: object  # Grounding, or None: the adapter's own (none: free decoding)
    bias: float

    @property
    def key(self) -> str:
        return f"{self.name} bias {self.bias:g}"


@dataclass
class Calibration:
    chosen: Option
    tried: dict[str, list[float]] = field(default_factory=dict)  # option key -> accuracy per file
    prior_fit: dict = field(default_factory=dict)
    abstention: dict = field(default_factory=dict)  # option key -> share of unanswerable turns abstained

    def summary(self) -> dict:
        g = self.chosen.grounding
        return {"abstain_bias": float(self.chosen.bias), "grounding": g.to_json() if g else None,
                "chosen": self.chosen.key, "prior_fit": self.prior_fit,
                "tried": {k: round(_mean(v), 4) for k, v in self.tried.items()},
                "abstention": self.abstention}


def abstention(replayed_files) -> float | None:
    """Share of unanswerable turns, all files pooled, on which the bot abstained (None: none),
    scored as replay scores them."""
    from dialogqa.dialogue.replay import score_turn

    flags = [score_turn(t).abstained_right for conversations in replayed_files for c in conversations
             for t in c.turns]
    flags = [f for f in flags if f is not None]
    return sum(flags) / len(flags) if flags else None


def turn_accuracy(conversations) -> float:
    """Right turns over scored turns: the answer on answerable ones, abstaining on the rest."""
    from dialogqa.dialogue.replay import score_turn

    flags = []
    for conv in conversations:
        for t in conv.turns:
            s = score_turn(t)
            flags.append(s.correct if s.correct is not None else s.abstained_right)
    flags = [f for f in flags if f is not None]
    return sum(flags) / len(flags) if flags else 0.0


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def replay_files(model, graphs, files: Sequence[Path], settings, name: str = "",
                 save: Path | None = None, wrap: Callable | None = None,
                 progress: bool = True) -> list[list]:
    """Replay each file (own answers as history) with ``settings``; returns the replayed
    conversations of each. ``save``: a folder for NAME-FILE.replayed.jsonl and its metrics."""
    from dialogqa.dialogue.replay import compute_metrics, replay
    from dialogqa.dialogue.session import open_session
    from dialogqa.dialogue.transcript import atomic_write, dumps, read_transcripts
    from dialogqa.progress import replay_bar

    out = []
    for path in files:
        def make_session(conv):
            kg, retriever = graphs.of(conv)
            session = open_session(kg, model, settings, retriever)
            return wrap(session) if wrap else session

        replayed = replay(read_transcripts(path), make_session,
                          progress=replay_bar(progress and sys.stderr.isatty()))
        if save is not None:
            stem = f"{name}-{Path(path).stem}" if len(files) > 1 else name
            atomic_write(save / f"{stem}.replayed.jsonl", "".join(dumps(c) + "\n" for c in replayed))
            atomic_write(save / f"{stem}.json",
                         json.dumps(compute_metrics(replayed), indent=1, allow_nan=False) + "\n")
        out.append(replayed)
    return out


def calibrate(model, graphs, files: Sequence[Path], start_bias: float, start_grounding,
              k: int = 30, steps: Sequence[float] = BIAS_STEPS, save: Path | None = None,
              say: Callable[[str], None] = lambda text: None, progress: bool = True,
              min_abstention: float = 0.0) -> Calibration:
    """Steps 1-3 of the module doc on ``files`` (each a set of dialogues; ``graphs`` a
    dialogue/graphs.GraphCache). ``min_abstention``: the share of unanswerable turns the bot
    must abstain on, in the grid and in the replays (where no option does, the one that
    abstains most). Returns the choice and what each option scored."""
    from dialogqa.dialogue.session import SessionSettings
    from dialogqa.train.calibrate_grounding import Recorder, fit_prior, prepare, prior_score, with_outcomes

    samples: list[list[tuple]] = []

    def recording(session):
        session.free_decoding = False  # the model's own answers, unchecked (what is fitted)
        samples.append([])
        return Recorder(session, samples[-1])

    free = replay_files(model, graphs, files, SessionSettings(k=k, grounding=False), "calibration-free",
                        save, recording, progress)
    # one Recorder per conversation, in replay order: regroup the samples by file
    prepared, i = [], 0
    for replayed in free:
        mine = [s for chunk in samples[i: i + len(replayed)] for s in chunk]
        i += len(replayed)
        prepared.append([prepare(x) for x in with_outcomes(mine, replayed)])
    fitted, fitted_score = fit_prior(prepared, min_abstention)
    start_score = prior_score(replace(start_grounding, prior_weight=1.0), prepared) if start_grounding else 0.0
    fitted = replace(fitted, prior_weight=start_grounding.prior_weight if start_grounding else PRIOR_WEIGHT,
                     group_mass=start_grounding.group_mass if start_grounding else 0.0)  # not fitted: kept
    say(f"prior fit (answer = best prior): fitted {fitted_score:.3f}, starting {start_score:.3f}; "
        f"fitted prior {fitted.to_json()}")
    options = [Option("start", start_grounding, start_bias)]
    if fitted_score > start_score + 1e-9:
        options += [Option("fitted", fitted, max(0.0, start_bias + d)) for d in (0.0, *steps)]
    else:
        options += [Option("start", start_grounding, max(0.0, start_bias + d)) for d in steps]
    tried: dict[str, list[float]] = {}
    abstained: dict[str, float | None] = {}
    by_key = {}
    for option in options:
        if option.key in tried:
            continue
        settings = SessionSettings(k=k, abstain_bias=option.bias, grounding=option.grounding)
        replayed = replay_files(model, graphs, files, settings, f"calibration-{option.key.replace(' ', '-')}",
                                save, progress=progress)
        tried[option.key] = [turn_accuracy(r) for r in replayed]
        abstained[option.key] = abstention(replayed)
        by_key[option.key] = option
        say(f"{option.key}: " + "  ".join(f"{a:.3f}" for a in tried[option.key])
            + (f"  mean {_mean(tried[option.key]):.3f}" if len(files) > 1 else "")
            + (f"  abstention {abstained[option.key]:.3f}" if abstained[option.key] is not None else ""))
    start_key = options[0].key

    def rank(key):
        a = abstained[key]
        meets = a is None or a >= min_abstention - 1e-9
        return (meets, round(_mean(tried[key]), 9) if meets else round(a, 9), key == start_key)

    best = max(tried, key=rank)
    return Calibration(by_key[best], tried, {"start": round(start_score, 4), "fitted": round(fitted_score, 4),
                                             "fitted_grounding": fitted.to_json(),
                                             "min_abstention": min_abstention},
                       {k: (None if v is None else round(v, 4)) for k, v in abstained.items()})


def starting_point(adapter: Path) -> tuple[dict, float, object]:
    """relevance_head.json of an adapter, its abstention bias and its Grounding (or None)."""
    from dialogqa.dialogue.grounding import Grounding
    from dialogqa.model.relevance import CONFIG_FILE

    saved = json.loads((Path(adapter) / CONFIG_FILE).read_text(encoding="utf-8"))
    grounding = Grounding.from_json(saved["grounding"]) if saved.get("grounding") else None
    return saved, float(saved.get("abstain_bias", 0.0) or 0.0), grounding


def write(adapter: Path, calibration: Calibration) -> Path:
    """Save the chosen bias and prior into the adapter's relevance_head.json."""
    from dialogqa.dialogue.transcript import atomic_write
    from dialogqa.model.relevance import CONFIG_FILE

    saved, _, _ = starting_point(adapter)
    saved["abstain_bias"] = float(calibration.chosen.bias)
    if calibration.chosen.grounding is not None:
        saved["grounding"] = calibration.chosen.grounding.to_json()
    path = Path(adapter) / CONFIG_FILE
    atomic_write(path, json.dumps(saved, indent=1) + "\n")
    return path

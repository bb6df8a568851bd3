"""``dialogqa calibrate``: fit an adapter's grounded decoding and abstention bias on held-out
dialogues (dialogqa/train/calibration.py), the same step `dialogqa adapt` runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit an adapter's grounded decoding and abstention bias on held-out dialogues",
        description="Replay held-out dialogues (never the evaluation sets) with free decoding, fit "
                    "grounded decoding's prior on the recorded candidates, then replay the "
                    "adapter's own calibration against the fitted prior at abstention biases "
                    "around its own, and print each one's turn accuracy per file. Each file "
                    "counts the same. --write saves the best into the adapter's relevance_head.json.",
        epilog="example: dialogqa calibrate runs/default/best runs/data/calib-world2.jsonl "
               "runs/data/kgconv-dev/val-heldout.jsonl --write")
    p.add_argument("adapter", metavar="ADAPTER_DIR")
    p.add_argument("dialogues", nargs="+", metavar="FILE.jsonl",
                   help="held-out dialogues, one set a file (each names its graph, 'kg')")
    p.add_argument("--steps", default="-1,2", metavar="D,D",
                   help="abstention bias steps tried with the fitted prior, around the adapter's "
                        "bias (default -1,2)")
    p.add_argument("--min-abstention", type=float, default=0.0, metavar="P",
                   help="abstain on at least this share of the unanswerable turns (0-1; default 0: "
                        "turn accuracy alone decides)")
    p.add_argument("--k", type=int, default=30, help="candidate facts shown to the model (default 30)")
    p.add_argument("--model", metavar="DIR", help="base model directory (default: SmolLM2-135M-Instruct)")
    p.add_argument("--out", metavar="DIR", help="keep each replay (transcript and metrics) here")
    p.add_argument("--write", action="store_true", help="save the best into ADAPTER_DIR/relevance_head.json")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from dialogqa.model.relevance import CONFIG_FILE

    adapter = Path(args.adapter)
    if not (adapter / CONFIG_FILE).is_file():
        raise UserError(f"{adapter}: no relevance head ({CONFIG_FILE}): calibration needs a trained adapter")
    for name in args.dialogues:
        if not Path(name).is_file():
            raise UserError(f"{name}: no such file")
    try:
        steps = [float(x) for x in args.steps.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--steps {args.steps!r}: expected numbers separated by commas, e.g. -1,2") from None
    if not 0.0 <= args.min_abstention <= 1.0:
        raise UserError(f"--min-abstention must be between 0 and 1, got {args.min_abstention}")
    if args.k < 1:
        raise UserError(f"--k must be >= 1, got {args.k}")
    from dialogqa.dialogue.graphs import GraphCache
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.model.loading import load_chat_model
    from dialogqa.train.calibration import calibrate, starting_point, write

    graphs = GraphCache(k=args.k, hint="calibration dialogues must name their graph ('kg')", max_open=4)
    for name in args.dialogues:  # bad lines and missing graphs fail now, before the model loads
        for conv in read_transcripts(name):
            graphs.of(conv)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    _, bias, grounding = starting_point(adapter)
    model = load_chat_model(model_dir=args.model, adapter_dir=adapter)
    say = lambda text: print(text, flush=True)  # noqa: E731
    say("files: " + "  ".join(Path(p).name for p in args.dialogues))
    result = calibrate(model, graphs, [Path(p) for p in args.dialogues], bias, grounding, k=args.k,
                       steps=steps, save=out, say=say, progress=not args.no_progress,
                       min_abstention=args.min_abstention)
    say(f"best: {result.chosen.key}" + (f", prior {result.chosen.grounding.to_json()}"
                                         if result.chosen.grounding else ", free decoding"))
    if args.write:
        path = write(adapter, result)
        say(f"wrote abstain_bias and grounding into {path}")
    else:
        print("(not written: give --write to save it into the adapter)", file=sys.stderr)
    return 0

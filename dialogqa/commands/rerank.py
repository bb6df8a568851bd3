"""``dialogqa rerank fit``: the rerank head (the model reads the question, then each of the
retriever's best facts, and rescores them)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rerank", help="the rerank head: the model rescores the retriever's best facts, question first",
        description="The rerank head rescores the retriever's best facts from the model's reading "
                    "of the question followed by each fact's property (model/rerank.py).")
    sub = p.add_subparsers(dest="rerank_command", metavar="RERANK_COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])

    f = sub.add_parser("fit", help="fit the head on transcripts with gold evidence and save it with the adapter",
                       description="Replay transcripts through the retriever (gold earlier turns as "
                                   "history), read each turn's best facts after its question, fit the "
                                   "head on the turns whose gold fact is among them and save it into the "
                                   "adapter folder (rerank_head.safetensors). Each conversation's graph "
                                   "comes from its 'kg' files.")
    _dialogue_arguments(f)
    f.add_argument("--per-file", type=int, default=None, metavar="N",
                   help="conversations read per training file at most (default all)")
    f.add_argument("--cache", metavar="FILE.pt",
                   help="keep what the model read here: a refit with the same base model and LoRA "
                        "weights reads only new turns")
    f.set_defaults(handler=cmd_fit)

    c = sub.add_parser("cross", help="train the cross rerank (the model's top layers, own LoRA) and save it with the adapter",
                       description="Replay transcripts through the retriever (gold earlier turns as "
                                   "history), read each turn's best facts after its question with the chat "
                                   "model's lower layers, train the top layers' own LoRA and a scoring head "
                                   "listwise against the calibrated abstention (model/cross.py), and save "
                                   "them into the adapter folder (cross_rerank.safetensors).")
    _dialogue_arguments(c)
    c.add_argument("--top", type=int, default=3, help="top layers run again with the cross's LoRA (default 3)")
    c.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    c.add_argument("--epochs", type=int, default=1)
    c.add_argument("--lr", type=float, default=2e-4)
    c.add_argument("--gold-removed", type=float, default=0.15,
                   help="share of answerable turns shown without their gold fact (abstaining is right)")
    c.add_argument("--max-minutes", type=float, default=None, help="stop training after this long")
    c.add_argument("--cache", metavar="FILE.pt", help="keep what the lower layers read here")
    c.add_argument("--no-save", action="store_true", help="report only")
    c.set_defaults(handler=cmd_cross)


def _dialogue_arguments(p: argparse.ArgumentParser) -> None:
    """What both reranks train on and into: dialogues with gold evidence, an adapter."""
    p.add_argument("--data", nargs="+", required=True, metavar="FILE.jsonl", help="training transcripts")
    p.add_argument("--eval", nargs="*", default=[], metavar="FILE.jsonl",
                   help="held-out transcripts (another graph) to report on")
    p.add_argument("--skip", nargs="*", default=[], metavar="ID", help="conversation ids left out of training")
    p.add_argument("--adapter", required=True, metavar="DIR", help="adapter folder: read with it, save into it")
    p.add_argument("--model", metavar="DIR", help="base model directory (default: SmolLM2-135M-Instruct)")
    p.add_argument("--seed", type=int, default=0)


def cmd_fit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from dialogqa.commands.intent import load_cache, reader_key, save_cache
    from dialogqa.dialogue.graphs import GraphCache
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.model.loading import load_chat_model
    from dialogqa.train.rerank import accuracy, candidate_turns, fit_head, read_all

    if not Path(args.adapter).is_dir():
        raise UserError(f"--adapter {args.adapter}: no such folder")
    skip = set(args.skip)
    train_convs = [c for path in args.data for c in
                   [c for c in read_transcripts(path) if c.id not in skip][: args.per_file]]
    held_convs = [c for path in args.eval for c in read_transcripts(path)]
    graphs = GraphCache(k=30, max_open=4, hint="the transcript must name its graph files ('kg')")
    train = candidate_turns(train_convs, graphs)
    held = candidate_turns(held_convs, graphs)
    graphs.close()
    if not train:
        raise UserError("--data: no turn whose gold fact the retriever finds (do the transcripts "
                        "have expected_evidence?)")
    model = load_chat_model(model_dir=args.model, adapter_dir=args.adapter, question_head=False)
    key = reader_key(args.model, args.adapter)
    cache = load_cache(args.cache, key, "read")  # another reader's is stale: read again
    with tqdm(total=len(train) + len(held), desc="reading turns", unit="turn",
              disable=not sys.stderr.isatty()) as progress:
        read_all(model, train + held, cache, progress.update)
    save_cache(args.cache, key, "read", cache)
    head = fit_head(train, args.seed)
    report = {"train": accuracy(head, train)}
    if held:
        report["held_out"] = accuracy(head, held)
    head.save(args.adapter, extra={"fitted_on": [str(p) for p in args.data],
                                   "held_out": [str(p) for p in args.eval], "report": report})
    print(json.dumps(report, indent=1))
    return 0


def cmd_cross(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from dialogqa.commands.intent import load_cache, reader_key, save_cache
    from dialogqa.dialogue.graphs import GraphCache
    from dialogqa.dialogue.grounding import Grounding
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.model.cross import CrossRerank
    from dialogqa.model.loading import load_chat_model
    from dialogqa.train.cross import cross_turns, evaluate, fit, read_all

    if not Path(args.adapter).is_dir():
        raise UserError(f"--adapter {args.adapter}: no such folder")
    try:
        config = json.loads((Path(args.adapter) / "relevance_head.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--adapter {args.adapter}: no calibrated grounding to train against ({exc})") from exc
    grounding = Grounding.from_json(config.get("grounding") or {})
    rw, al = grounding.retrieval_weight, grounding.abstain_logit
    skip = set(args.skip)
    graphs = GraphCache(k=30, max_open=4, hint="the transcript must name its graph files ('kg')")
    train, held = [], []
    for path in args.data:
        convs = [c for c in read_transcripts(path) if c.id not in skip]
        train += cross_turns(convs, graphs, args.gold_removed, args.seed, source=Path(path).stem)
    for path in args.eval:
        held += cross_turns(read_transcripts(path), graphs, 0.0, args.seed, source=Path(path).stem)
    graphs.close()
    if not train:
        raise UserError("--data: no turn to train on (do the transcripts have expected_evidence?)")
    model = load_chat_model(model_dir=args.model, adapter_dir=args.adapter, question_head=False)
    key = (reader_key(args.model, args.adapter), args.top)
    cache = load_cache(args.cache, key, "read")  # another reader's is stale: read again
    with tqdm(total=len(train) + len(held), desc="reading turns", unit="turn",
              disable=not sys.stderr.isatty()) as progress:
        read_all(model, args.top, train + held, cache, progress.update)
    save_cache(args.cache, key, "read", cache)
    del cache
    torch.manual_seed(args.seed)
    cross = CrossRerank(model.net, top=args.top, rank=args.rank)
    print(f"{len(train)} training turns ({sum(not t.gold.any() for t in train)} abstain), {len(held)} held out",
          file=sys.stderr)
    fit(cross, train, rw, al, epochs=args.epochs, lr=args.lr, seed=args.seed,
        log=lambda m: print(m, file=sys.stderr, flush=True), max_minutes=args.max_minutes)
    report = {"held_out": evaluate(cross, held, rw, al), "train": evaluate(cross, train[:2000], rw, al)}
    if not args.no_save:
        cross.save(args.adapter, extra={"fitted_on": [str(p) for p in args.data],
                                        "held_out": [str(p) for p in args.eval], "report": report})
    print(json.dumps(report, indent=1))
    return 0

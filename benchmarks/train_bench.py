"""Training throughput: the recipe's step against a naive LoRA step, same data, same run.

    python benchmarks/train_bench.py                       # real base model, training/default.toml data
    python benchmarks/train_bench.py --steps 3 --json benchmarks/out/train_bench.json

Variants (each a fresh LoRA model on the same base weights, the same examples):

- ``naive``: LoRA on every layer, logits over the whole sequence (49,152 words x every
  position) and the loss masked to the answer tokens, batches in random order (padding),
  fp32: what a straightforward transformers + peft loop does.
- ``recipe fp32``: the recipe's step (dialogqa.train.multitask) with the preset's LoRA
  layers, logits at answer positions only, bucketed batches, in fp32.
- ``recipe``: the same in the preset's precision (bf16 autocast where the CPU has it).

Both tasks (answer CE and relevance BCE) are computed in every variant. The variants run
interleaved, one batch each in turn, so load from other processes on the machine hits them
alike; tokens are real (non-pad) tokens; "per CPU-s" divides by this process's CPU time,
which is steadier than wall time on a shared machine. Prints a table, optionally writes JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "training" / "default.toml"),
                    help="preset whose data, LoRA layers and precision the recipe uses")
    ap.add_argument("--model", help="base model directory (default: the preset's, i.e. SmolLM2)")
    ap.add_argument("--examples", type=int, default=48, help="examples drawn from the preset's data")
    ap.add_argument("--batch-tokens", type=int, default=2048, help="padded tokens per batch")
    ap.add_argument("--steps", type=int, default=4, help="timed batches per variant (after 1 warm-up)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from dialogqa.model.loading import load_base_for_training
    from dialogqa.model.relevance import RelevanceHead
    from dialogqa.train.batching import collate, make_batches, padded_tokens
    from dialogqa.train.config import build_config
    from dialogqa.train.data import load_data
    from dialogqa.train.multitask import MultiTask, add_lora, train_step

    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    sets = ["val_fraction=0", "val_conversations=0", f"batch_tokens={max(args.batch_tokens, 1024)}",
            "max_tokens=1024"]
    cfg = build_config(args.config, sets, {"model": args.model})
    base, tokenizer = load_base_for_training(cfg.model or None)
    data = load_data(cfg, tokenizer, lambda text: print(text, file=sys.stderr))
    pool = [ex for items in data.train.values() for ex in items]
    examples = random.Random(0).sample(pool, min(args.examples, len(pool)))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def variant(name, lora_layers, bucket, bf16, naive):
        c = copy.copy(cfg)
        c.lora_layers = lora_layers
        torch.manual_seed(0)
        peft_model = add_lora(copy.deepcopy(base), c)
        head = RelevanceHead(base.config.hidden_size)
        mt = MultiTask(peft_model, head, c).train()
        params = [p for p in mt.parameters() if p.requires_grad]
        batches = make_batches(examples, args.batch_tokens, random.Random(1), bucket=bucket)
        return {"name": name, "mt": mt, "opt": torch.optim.AdamW(params, lr=1e-4), "naive": naive,
                "batches": batches, "bf16": bf16, "tokens": 0, "wall": 0.0, "cpu": 0.0,
                "padding": 1 - padded_tokens(batches)[0] / padded_tokens(batches)[1]}

    bf16 = cfg.uses_bf16("cpu")
    variants = [
        variant("naive (all layers, full logits, fp32)", 0, False, False, True),
        variant(f"recipe fp32 (top {cfg.lora_layers} layers)", cfg.lora_layers, True, False, False),
    ]
    if bf16:
        variants.append(variant(f"recipe bf16 (top {cfg.lora_layers} layers)", cfg.lora_layers,
                                True, True, False))

    def naive_step(mt, batch):
        # the straightforward loop: full-sequence hidden -> full logits -> masked CE
        ids = batch["input_ids"]
        hidden = mt.decoder(input_ids=ids, use_cache=False).last_hidden_state
        logits = mt.lm_head(hidden).float()  # (batch, seq, 49152)
        labels = torch.full_like(ids, -100).view(-1)
        labels[batch["answer_index"] + 1] = batch["answer_targets"]
        shifted = labels.view(ids.shape)[:, 1:]
        answer = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), shifted.reshape(-1),
                                 ignore_index=-100)
        flat = hidden.reshape(-1, hidden.shape[-1])
        rel = mt.fact_logits(flat, batch)
        relevance = F.binary_cross_entropy_with_logits(rel, batch["fact_labels"])
        (answer + relevance).backward()

    def run(v, batch):
        mt = v["mt"]
        ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if v["bf16"] else nullcontext
        if v["naive"]:
            naive_step(mt, batch)
        else:
            train_step(mt, batch, 0.0, autocast=ctx)
        v["opt"].step()
        v["opt"].zero_grad(set_to_none=True)

    for step in range(args.steps + 1):
        for v in variants:
            batch = collate(v["batches"][step % len(v["batches"])], pad)
            w0, c0 = time.perf_counter(), time.process_time()
            run(v, batch)
            if step > 0:  # the first batch warms up allocators and kernels
                v["wall"] += time.perf_counter() - w0
                v["cpu"] += time.process_time() - c0
                v["tokens"] += batch["tokens"]
            print(f"  step {step} {v['name']}: {time.perf_counter() - w0:.1f} s", file=sys.stderr)

    naive = variants[0]
    rows = []
    for v in variants:
        rate, per_cpu = v["tokens"] / v["wall"], v["tokens"] / v["cpu"]
        rows.append({"variant": v["name"], "tokens": v["tokens"], "tokens_per_s": round(rate, 1),
                     "tokens_per_cpu_s": round(per_cpu, 1), "padding": round(v["padding"], 3),
                     "speedup": round(rate / (naive["tokens"] / naive["wall"]), 2),
                     "speedup_cpu": round(per_cpu / (naive["tokens"] / naive["cpu"]), 2)})
    print(f"\ntraining throughput, {len(examples)} examples, {args.batch_tokens}-token batches, "
          f"{torch.get_num_threads()} threads, {args.steps} timed batches per variant "
          f"(load average at the end: {os.getloadavg()[0]:.1f})\n")
    print(f"| {'variant':44} | tokens/s | speedup | tokens/CPU-s | speedup (CPU) | padding |")
    print(f"|{'-' * 46}|---------:|--------:|-------------:|--------------:|--------:|")
    for r in rows:
        print(f"| {r['variant']:44} | {r['tokens_per_s']:8.1f} | {r['speedup']:6.2f}x | "
              f"{r['tokens_per_cpu_s']:12.1f} | {r['speedup_cpu']:12.2f}x | {100 * r['padding']:6.1f}% |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"rows": rows, "examples": len(examples),
                                               "batch_tokens": args.batch_tokens,
                                               "threads": torch.get_num_threads(),
                                               "steps": args.steps}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

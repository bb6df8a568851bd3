"""``dialogqa train``: multi-task LoRA fine-tuning, as one straight-line recipe.

    setup     config, processes, seeds, base model + LoRA on the top layers + relevance head
    data      transcripts -> retrieved candidates -> render() -> examples; held-out dialogues
    loop      bucketed batches; answer CE (answer tokens only) + lambda x relevance BCE
              (fact lines); optional FGM and layer-wise unfreezing; warmup + cosine LR
    evaluate  each epoch (and every --eval-every steps): teacher-forced accuracy on held-out
              examples and a replay of held-out dialogues through the real engine
    save      OUT/last (resumable) and OUT/best (best validation score): peft adapter +
              relevance head + full config + state + loss/accuracy plot

Runs the same alone or under ``torchrun --nproc_per_node=N`` (see dialogqa.train.ddp).
Heavy imports stay inside functions so ``dialogqa --help`` does not load torch.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

from dialogqa.errors import UserError
from dialogqa.train.config import TrainConfig, flag

# Settings a resumed run must share with its checkpoint: they fix the adapter's shape.
SHAPE_KEYS = ("model", "lora_rank", "lora_alpha", "lora_targets", "lora_layers")


def train(cfg: TrainConfig, kg=None) -> dict:
    """Run the recipe; returns a summary (steps, best score, paths, tokens/s). ``kg``: one open
    graph every source's dialogues are about (a store or an endpoint; default: their files)."""
    import random
    from contextlib import nullcontext

    import warnings

    import torch

    # peft calls a transformers property deprecated in 5.x: noise in a training log
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    from dialogqa.model.loading import load_base_for_training
    from dialogqa.model.relevance import RelevanceHead
    from dialogqa.train import ddp
    from dialogqa.train.batching import collate, make_batches, padded_tokens
    from dialogqa.train.checkpoint import load_checkpoint, load_weights, save_checkpoint
    from dialogqa.train.data import load_data
    from dialogqa.train.examples import mix_epoch
    from dialogqa.train.multitask import LayerSchedule, MultiTask, add_lora, train_step

    # ---------------------------------------------------------------- setup
    d = ddp.setup()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    torch.set_num_threads(cfg.threads or max(1, cores // d.local_world))
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # same on every rank: LoRA and head start identical
    out = Path(cfg.out)
    log = _Log(out, d.main)
    started = time.perf_counter()

    hf_model, tokenizer = load_base_for_training(cfg.model or None)
    n_layers = hf_model.config.num_hidden_layers
    peft_model = add_lora(hf_model, cfg)
    head = RelevanceHead(hf_model.config.hidden_size)
    mt = MultiTask(peft_model, head, cfg).to(d.device)
    mt.train()
    schedule = LayerSchedule(peft_model, n_layers, cfg)
    bf16 = cfg.uses_bf16(d.device.type)
    autocast = (lambda: torch.autocast(d.device.type, dtype=torch.bfloat16)) if bf16 else nullcontext
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    lora_params = [p for n, p in peft_model.named_parameters() if "lora_" in n]
    head_params = list(head.parameters())
    trainable = lora_params + head_params
    if cfg.init_adapter and not cfg.resume:  # continue from an adapter (dialogqa adapt)
        if (Path(cfg.init_adapter) / "train_config.toml").is_file():
            _check_resumable(cfg, Path(cfg.init_adapter), "--init-adapter")
        load_weights(Path(cfg.init_adapter), peft_model, head)
    ddp.broadcast_parameters(d, trainable)
    log.info(f"model: {n_layers} layers, LoRA r={cfg.lora_rank} on layers "
             f"{schedule.layers[0]}-{schedule.layers[-1]} ({sum(p.numel() for p in lora_params):,} "
             f"weights) + relevance head; {'bf16' if bf16 else 'fp32'}, "
             f"{torch.get_num_threads()} threads x {d.world} process(es)")

    # ---------------------------------------------------------------- data
    data = load_data(cfg, tokenizer, log.info, kg)
    weights = {s.name: s.weight for s in cfg.sources}

    def epoch_plan(epoch: int):
        rng = random.Random(cfg.seed * 1009 + epoch)
        examples = mix_epoch(data.train, weights, cfg.examples_per_epoch, rng)
        batches = make_batches(examples, cfg.batch_tokens, rng)
        per_rank = len(batches) // d.world
        if per_rank == 0:
            raise UserError(f"only {len(batches)} batches for {d.world} processes: add data or "
                            f"lower {flag('batch_tokens')}")
        return batches[d.rank::d.world][:per_rank]

    plans = [epoch_plan(e) for e in range(cfg.epochs)]
    steps_per_epoch = [math.ceil(len(p) / cfg.grad_accum) for p in plans]
    total_steps = sum(steps_per_epoch)
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    real, padded = padded_tokens(plans[0])
    log.info(f"epoch 1: {len(plans[0]) * d.world} batches, {real:,} tokens per process "
             f"({100 * (1 - real / padded):.1f}% padding); {total_steps} optimizer steps in all")

    # ---------------------------------------------------------------- optimizer
    optimizer = torch.optim.AdamW([
        {"params": lora_params, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"params": head_params, "lr": cfg.head_lr, "weight_decay": 0.0},
    ])

    # With a time budget the cosine follows whichever runs out first, steps or minutes, so a
    # run cut short by a slow (or shared) machine still ends on a small learning rate.
    clock = {"fraction": 0.0}

    def lr_factor(step: int) -> float:  # linear warmup, cosine decay to 10%
        if step < cfg.warmup_steps:
            return (step + 1) / (cfg.warmup_steps + 1)
        progress = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
        progress = max(progress, clock["fraction"])
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)

    state = {"step": 0, "epoch": 0, "next_batch": 0, "best_score": None, "best_step": None,
             "metrics": None, "tokens": 0, "train_seconds": 0.0, "eval_seconds": 0.0}
    history: list[dict] = []
    if cfg.resume:
        _check_resumable(cfg, Path(cfg.resume))
        saved = load_checkpoint(Path(cfg.resume), peft_model, head, optimizer, scheduler)
        history = saved.pop("history", [])
        state.update({k: saved[k] for k in state if k in saved})
        log.info(f"resumed from {cfg.resume} at step {state['step']} (epoch {state['epoch'] + 1})")

    def snapshot() -> dict:
        return dict(state, history=history)

    # ---------------------------------------------------------------- evaluate + save
    window = {"answer": 0.0, "relevance": 0.0, "n": 0, "tokens": 0, "t0": time.perf_counter()}

    def evaluate_and_save(final: bool = False) -> None:
        from dialogqa.train.evaluate import evaluate

        t_eval = time.perf_counter()
        if d.main:
            save_checkpoint(out / "last", peft_model, head, cfg, snapshot(), history,
                            optimizer, scheduler)
        ddp.barrier(d)
        mt.eval()
        metrics = evaluate(cfg, d, mt, data, tokenizer, pad_id, autocast, out / "last", log.info)
        mt.train()
        if metrics is None:  # no held-out data: the last checkpoint is the one to keep
            metrics = {}
        state["metrics"] = metrics
        history.append({"kind": "eval", "step": state["step"], **metrics})
        score = metrics.get("score")
        better = score is not None and (state["best_score"] is None or score > state["best_score"])
        if better:
            state["best_score"], state["best_step"] = score, state["step"]
        if d.main:
            save_checkpoint(out / "last", peft_model, head, cfg, snapshot(), history,
                            optimizer, scheduler)
            if better or (final and not (out / "best").exists()):
                _copy_best(out / "last", out / "best")
            log.event({"kind": "eval", "step": state["step"], **metrics})
            if metrics:
                log.info("eval @ step {}: {}".format(state["step"], ", ".join(
                    f"{k}={v:.3f}" for k, v in metrics.items() if isinstance(v, float))))
        ddp.barrier(d)
        state["eval_seconds"] += time.perf_counter() - t_eval
        window["t0"] = time.perf_counter()  # tokens/s counts training time only

    # ---------------------------------------------------------------- loop
    from tqdm import tqdm

    bar = tqdm(total=total_steps, initial=state["step"], unit="step", desc="train",
               disable=not (d.main and cfg.progress and sys.stderr.isatty()),
               dynamic_ncols=True, file=sys.stderr)
    window["t0"] = time.perf_counter()
    stop = False
    loop_start = time.perf_counter() - state["train_seconds"]
    for epoch in range(state["epoch"], cfg.epochs):
        batches = plans[epoch]
        first = state["next_batch"] if epoch == state["epoch"] else 0
        for i in range(first, len(batches)):
            if schedule.apply(state["step"]) and d.main and schedule.enabled:
                log.info(f"step {state['step']}: training LoRA layers {schedule.current}")
            batch = collate(batches[i], pad_id, d.device)
            accum = min(cfg.grad_accum, len(batches) - (i - i % cfg.grad_accum))
            losses = train_step(mt, batch, cfg.fgm_epsilon, scale=1.0 / accum, autocast=autocast)
            window["answer"] += losses.answer
            window["relevance"] += losses.relevance
            window["n"] += 1
            window["tokens"] += batch["tokens"]
            if (i + 1) % cfg.grad_accum and i + 1 < len(batches):
                continue
            # -- optimizer step
            ddp.average_gradients(d, trainable)
            if cfg.max_grad_norm:
                torch.nn.utils.clip_grad_norm_([p for p in trainable if p.grad is not None],
                                               cfg.max_grad_norm)
            optimizer.step()
            state["train_seconds"] = time.perf_counter() - loop_start
            if cfg.max_minutes:  # rank 0's clock decides, so every process agrees
                state["train_seconds"] = float(ddp.broadcast_object(d, state["train_seconds"]))
                clock["fraction"] = state["train_seconds"] / (cfg.max_minutes * 60)
                stop = clock["fraction"] >= 1.0
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["epoch"], state["next_batch"] = epoch, i + 1
            bar.update(1)
            if state["step"] % cfg.log_every == 0 or state["step"] == total_steps:
                _log_window(d, window, state, total_steps, scheduler, bar, log, history)
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                stop = True
            if stop:
                break
            if cfg.eval_every and state["step"] % cfg.eval_every == 0:
                evaluate_and_save()
            elif cfg.save_every and state["step"] % cfg.save_every == 0 and d.main:
                save_checkpoint(out / "last", peft_model, head, cfg, snapshot(), history,
                                optimizer, scheduler)
        if stop:
            break
        state["epoch"], state["next_batch"] = epoch + 1, 0
        if epoch + 1 < cfg.epochs:
            evaluate_and_save()
    bar.close()
    if window["n"]:
        _log_window(d, window, state, total_steps, scheduler, None, log, history)
    seconds = state["train_seconds"] - state["eval_seconds"]  # training only, evaluations excluded
    evaluate_and_save(final=True)
    ddp.cleanup(d)
    summary = {
        "steps": state["step"], "best_score": state["best_score"], "best_step": state["best_step"],
        "metrics": state["metrics"], "out": str(out), "best": str(out / "best"),
        "train_seconds": round(seconds, 1), "wall_seconds": round(time.perf_counter() - started, 1),
        "tokens_per_second": round(state["tokens"] / seconds, 1) if seconds else None,
    }
    if d.main:
        log.event({"kind": "summary", **summary})
        log.info(f"done: {summary['steps']} steps in {seconds / 60:.1f} min "
                 f"({summary['tokens_per_second']} tokens/s); best: {out / 'best'}")
    return summary


def _log_window(d, window, state, total_steps, scheduler, bar, log, history) -> None:
    from dialogqa.train import ddp

    now = time.perf_counter()
    summed = ddp.sum_values(d, {k: window[k] for k in ("answer", "relevance", "n", "tokens")})
    n = max(1.0, summed["n"])
    rate = summed["tokens"] / max(1e-9, now - window["t0"])
    state["tokens"] += int(summed["tokens"])
    entry = {"kind": "train", "step": state["step"], "loss_answer": round(summed["answer"] / n, 4),
             "loss_relevance": round(summed["relevance"] / n, 4),
             "tokens_per_s": round(rate, 1), "lr": scheduler.get_last_lr()[0]}
    history.append(entry)
    left = (total_steps - state["step"]) * state["train_seconds"] / max(1, state["step"])
    if bar is not None and not bar.disable:
        bar.set_postfix(ans=f"{entry['loss_answer']:.3f}", rel=f"{entry['loss_relevance']:.3f}",
                        tok_s=f"{rate:.0f}", refresh=False)
    elif d.main:
        log.info(f"step {state['step']}/{total_steps}: answer {entry['loss_answer']:.3f}, "
                 f"relevance {entry['loss_relevance']:.3f}, {rate:.0f} tokens/s, "
                 f"ETA {left / 60:.1f} min")
    if d.main:
        log.event(entry)
    window.update(answer=0.0, relevance=0.0, n=0, tokens=0, t0=now)


def _check_resumable(cfg: TrainConfig, directory: Path, flag_name: str = "--resume") -> None:
    from dialogqa.train.config import load_saved_config

    saved = load_saved_config(directory)
    for key in SHAPE_KEYS:
        if getattr(saved, key) != getattr(cfg, key):
            raise UserError(f"{flag_name} {directory}: the checkpoint was trained with {flag(key)} "
                            f"{getattr(saved, key)!r}, this run asks for {getattr(cfg, key)!r}")


def _copy_best(last: Path, best: Path) -> None:
    tmp = best.with_name(f".{best.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(last, tmp, ignore=shutil.ignore_patterns("optimizer.pt"))
    shutil.rmtree(best, ignore_errors=True)
    tmp.rename(best)


class _Log:
    """Lines for people on stderr (rank 0), events as JSON Lines in OUT/log.jsonl."""

    def __init__(self, out: Path, main: bool):
        self.main = main
        self.path = out / "log.jsonl"
        if main:
            out.mkdir(parents=True, exist_ok=True)

    def info(self, text: str) -> None:
        if self.main:
            from tqdm import tqdm

            tqdm.write(f"dialogqa train: {text}", file=sys.stderr)

    def event(self, entry: dict) -> None:
        if self.main:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

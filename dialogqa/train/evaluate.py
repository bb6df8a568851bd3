"""Validation during training: teacher-forced scores and a replay through the real engine.

- Teacher-forced (every process, its share of the held-out examples): answer exact match
  (every answer token is the model's top choice), token accuracy, gold fact ranked first by
  the relevance head, unanswerable turns with every fact below 0.5, and the two losses.
- Replay (rank 0, ``--val-mode replay``): the checkpoint just written is loaded the way the
  chat loads an adapter (``load_chat_model``: merged LoRA, relevance head) and the held-out
  dialogues are replayed with ``dialogqa.dialogue.replay`` (own answers as history), scored
  exactly as ``dialogqa replay`` scores them.

``score`` (what picks the best checkpoint) is the mean of the replay's turn accuracy (answerable
turns answered right and unanswerable ones abstained, each turn counted once) and its evidence
recall; without a replay, the mean of the teacher-forced answer exact match and relevance top-1.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from pathlib import Path

from dialogqa.train import ddp
from dialogqa.train.batching import collate, make_batches
from dialogqa.train.multitask import eval_counts


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def teacher_forced(cfg, d, mt, examples, pad_id, autocast) -> dict:
    mine = examples[d.rank::d.world]
    totals: dict[str, float] = {}
    for batch in make_batches(mine, cfg.batch_tokens, random.Random(0)):
        for key, value in eval_counts(mt, collate(batch, pad_id, d.device), autocast).items():
            totals[key] = totals.get(key, 0.0) + value
    keys = ("loss_answer", "loss_relevance", "examples", "answers_exact", "answer_tokens",
            "answer_tokens_right", "fact_lines", "relevance_answerable", "relevance_top1",
            "unanswerable", "abstain_right")
    c = ddp.sum_values(d, {k: totals.get(k, 0.0) for k in keys})
    return {
        "tf_answer_exact": _ratio(c["answers_exact"], c["examples"]),
        "tf_token_accuracy": _ratio(c["answer_tokens_right"], c["answer_tokens"]),
        "tf_relevance_top1": _ratio(c["relevance_top1"], c["relevance_answerable"]),
        "tf_abstain": _ratio(c["abstain_right"], c["unanswerable"]),
        "val_loss_answer": _ratio(c["loss_answer"], c["answer_tokens"]),
        "val_loss_relevance": _ratio(c["loss_relevance"], c["fact_lines"]),
    }


def replay_scores(cfg, data, adapter_dir: Path) -> dict:
    """Replay the held-out dialogues through the engine with the checkpoint in ``adapter_dir``.

    The replay runs with the abstention threshold at 0 (every turn answered, its best
    relevance recorded), then picks the threshold that maximises turn accuracy on these turns,
    exactly as ``python -m dialogqa.train.calibrate`` does; ``threshold`` comes back with the
    scores, and the recipe stores it with the head, so a saved checkpoint is calibrated."""
    from dialogqa.dialogue.replay import compute_metrics, replay
    from dialogqa.dialogue.session import SessionSettings, open_session
    from dialogqa.model.loading import load_chat_model
    from dialogqa.train.calibrate import best_threshold, turn_samples

    model = load_chat_model(cfg.model or None, adapter_dir=adapter_dir)
    files = {id(conv): kg for conv, kg in data.val}

    def make_session(conv):
        kg, retriever = data.graph_of(conv, files[id(conv)])
        settings = SessionSettings(k=cfg.k, max_new_tokens=cfg.max_new_tokens, relevance_threshold=0.0)
        return open_session(kg, model, settings, retriever)

    replayed = replay([conv for conv, _ in data.val], make_session)
    m = compute_metrics(replayed)
    samples = turn_samples(replayed)
    model = None  # the closure above holds it: drop it before the caller's next step
    gc.collect()
    out = {key: m.get(key) for key in ("answer_accuracy", "evidence_recall", "abstention",
                                        "false_abstention")}
    # every scored turn counts once: answerable ones right, unanswerable ones abstained,
    # at the calibrated threshold
    threshold, accuracy = best_threshold(samples)
    out["threshold"] = round(threshold, 4)
    out["turn_accuracy"] = round(accuracy, 4) if samples else None
    return out


def evaluate(cfg, d, mt, data, tokenizer, pad_id, autocast, adapter_dir: Path,
             info: Callable[[str], None]) -> dict | None:
    if not data.val:
        return None
    metrics = teacher_forced(cfg, d, mt, data.val_examples, pad_id, autocast)
    replayed: dict = {}
    if cfg.val_mode == "replay" and d.main:
        replayed = replay_scores(cfg, data, adapter_dir)
    replayed = ddp.broadcast_object(d, replayed)
    metrics.update(replayed)
    if replayed.get("threshold") is not None:  # saved with the head from now on
        mt.head.threshold = replayed["threshold"]
    parts = [replayed.get(k) for k in ("turn_accuracy", "evidence_recall")]
    parts = [p for p in parts if p is not None]
    if not parts:
        parts = [metrics[k] for k in ("tf_answer_exact", "tf_relevance_top1") if metrics[k] is not None]
    metrics["score"] = round(sum(parts) / len(parts), 4) if parts else None
    return metrics

"""Checkpoints: a loadable adapter directory plus what it takes to resume and to judge it.

A checkpoint directory is what ``dialogqa chat --adapter DIR`` loads, plus its provenance::

    adapter_config.json, adapter_model.safetensors   standard peft LoRA adapter
    relevance_head.safetensors, relevance_head.json  the relevance head (dialogqa.model.relevance)
    train_config.toml, train_config.json             the full config of the run
    trainer_state.json                               step, epoch, best score, last metrics
    training_curves.png                              loss per task and validation accuracy
    optimizer.pt                                     (``last`` only) optimizer, schedule, RNG

``OUT/last`` is rewritten at every save, ``OUT/best`` when validation improves. Both are
written to a temporary directory and renamed into place, so an interrupted save never leaves
a half-written checkpoint where ``--resume`` or the chat would read it.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch

from dialogqa.errors import UserError
from dialogqa.train.config import save_config

STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
PLOT_FILE = "training_curves.png"


def save_checkpoint(directory: Path, peft_model, head, cfg, state: dict[str, Any],
                    history: list[dict], optimizer=None, scheduler=None) -> None:
    directory = Path(directory)
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    peft_model.save_pretrained(str(tmp))
    (tmp / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
    head.save(tmp)
    save_config(cfg, tmp)
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    if optimizer is not None:
        torch.save({
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng_python": random.getstate(),
            "rng_torch": torch.get_rng_state(),
        }, tmp / OPTIMIZER_FILE)
    plot_history(history, tmp / PLOT_FILE)
    old = directory.with_name(f".{directory.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(directory: Path, peft_model, head, optimizer=None, scheduler=None) -> dict:
    """Load weights (and the optimizer state, when saved) from a checkpoint; its state dict."""
    directory = Path(directory)
    if not (directory / STATE_FILE).is_file():
        raise UserError(f"--resume {directory}: not a checkpoint of `dialogqa train` "
                        f"(needs adapter_model.safetensors and {STATE_FILE})")
    load_weights(directory, peft_model, head, "--resume")
    state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    opt_file = directory / OPTIMIZER_FILE
    if optimizer is not None and opt_file.is_file():
        saved = torch.load(opt_file, weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None and saved.get("scheduler") is not None:
            scheduler.load_state_dict(saved["scheduler"])
        random.setstate(saved["rng_python"])
        torch.set_rng_state(saved["rng_torch"])
        state["optimizer_restored"] = True
    return state


def load_weights(directory: Path, peft_model, head, flag_name: str = "--init-adapter") -> None:
    """The LoRA weights and relevance head of an adapter folder, into a model of the same shape."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    directory = Path(directory)
    weights = directory / "adapter_model.safetensors"
    if not weights.is_file():
        raise UserError(f"{flag_name} {directory}: no adapter_model.safetensors there")
    result = set_peft_model_state_dict(peft_model, load_file(str(weights)))
    unexpected = getattr(result, "unexpected_keys", None) or []
    if unexpected:
        raise UserError(f"{flag_name} {directory}: adapter does not fit this model/LoRA config "
                        f"({len(unexpected)} unexpected weights, e.g. {unexpected[0]})")
    from dialogqa.model.relevance import RelevanceHead

    saved_head = RelevanceHead.load(directory, hidden_size=head.hidden_size)
    if saved_head is not None:
        head.load_state_dict(saved_head.state_dict())


def plot_history(history: list[dict], path: Path) -> None:
    """Loss per task (training) and validation accuracy against steps, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [h for h in history if h.get("kind") == "train"]
    evals = [h for h in history if h.get("kind") == "eval"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, label in (("loss_answer", "answer CE"), ("loss_relevance", "relevance BCE")):
        pts = [(h["step"], h[key]) for h in train if key in h]
        if pts:
            ax1.plot(*zip(*pts), label=label)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_title("loss per task")
    ax1.grid(alpha=0.3)
    if ax1.get_lines():
        ax1.legend()
    for key, label in (("turn_accuracy", "turn accuracy (replay)"),
                       ("answer_accuracy", "answer accuracy (replay)"),
                       ("evidence_recall", "evidence recall (replay)"),
                       ("abstention", "abstention (replay)"),
                       ("tf_answer_exact", "answer exact (teacher-forced)"),
                       ("tf_relevance_top1", "gold fact ranked first")):
        pts = [(h["step"], h[key]) for h in evals if h.get(key) is not None]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=label)
    ax2.set_xlabel("step")
    ax2.set_ylabel("validation")
    ax2.set_ylim(0, 1.02)
    ax2.set_title("validation")
    ax2.grid(alpha=0.3)
    if ax2.get_lines():
        ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)

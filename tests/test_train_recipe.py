"""The recipe end to end on a 2-layer model: checkpoints the chat can load, resume, seeds, CLI."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from dialogqa.errors import UserError  # noqa: E402
from dialogqa.train.config import TrainConfig, load_saved_config  # noqa: E402
from dialogqa.commands.train import register_train  # noqa: E402
from dialogqa.train.recipe import train  # noqa: E402
from train_fixtures import tiny_config, write_model  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("tiny-model"))


def adapter_weights(directory):
    from safetensors.torch import load_file

    return load_file(str(directory / "adapter_model.safetensors"))


def test_end_to_end_writes_a_loadable_adapter(tmp_path, model_dir):
    cfg = tiny_config(tmp_path, model_dir, val_mode="replay", epochs=2, max_new_tokens=4)
    summary = train(cfg)
    out = tmp_path / "run"
    assert summary["steps"] == 10 and summary["best_step"] in (5, 10)  # 5 batches an epoch
    best = out / "best"
    for name in ("adapter_config.json", "adapter_model.safetensors", "relevance_head.safetensors",
                 "relevance_head.json", "train_config.toml", "train_config.json",
                 "trainer_state.json", "training_curves.png"):
        assert (best / name).is_file(), name
    assert not (best / "optimizer.pt").exists() and (out / "last" / "optimizer.pt").is_file()
    assert (best / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_saved_config(best) == cfg  # the full config travels with the checkpoint
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds.count("eval") == 2 and kinds.count("train") >= 6 and kinds[-1] == "summary"
    evals = [e for e in events if e["kind"] == "eval"]
    # validation replayed held-out dialogues through the engine, and teacher-forced scores
    assert all(e["answer_accuracy"] is not None and e["tf_relevance_top1"] is not None for e in evals)
    adapter = json.loads((best / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and adapter["layers_to_transform"] == [1]

    # the chat loads it: merged LoRA plus the trained relevance head
    from dialogqa.model.loading import load_chat_model

    model = load_chat_model(model_dir, adapter_dir=best, backend="hf")
    assert model.head is not None
    from dialogqa.model.relevance import RelevanceHead

    saved = RelevanceHead.load(best)
    assert torch.equal(model.head.proj.weight, saved.proj.weight)
    assert any(k.startswith("base_model.model.model.layers.1.") for k in adapter_weights(best))


def test_training_lowers_the_loss(tmp_path, model_dir):
    cfg = tiny_config(tmp_path, model_dir, epochs=12, lr=5e-3, head_lr=1e-2, lora_layers=2,
                      val_fraction=0.0)
    train(cfg)
    events = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    losses = [e for e in events if e["kind"] == "train"]
    first, last = losses[0], losses[-1]
    assert last["loss_answer"] < 0.7 * first["loss_answer"]
    assert last["loss_relevance"] < first["loss_relevance"]
    assert (tmp_path / "run" / "best" / "adapter_model.safetensors").is_file()  # no validation: last


def test_fixed_seed_reproduces_the_adapter(tmp_path, model_dir):
    a = train(tiny_config(tmp_path / "a", model_dir, val_fraction=0.0))
    b = train(tiny_config(tmp_path / "b", model_dir, val_fraction=0.0))
    wa, wb = adapter_weights(tmp_path / "a" / "run" / "last"), adapter_weights(tmp_path / "b" / "run" / "last")
    assert a["steps"] == b["steps"] == 6
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = train(tiny_config(tmp_path / "c", model_dir, val_fraction=0.0, seed=1))
    wc = adapter_weights(tmp_path / "c" / "run" / "last")
    assert c["steps"] >= 1 and not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_resume_continues_exactly(tmp_path, model_dir, monkeypatch):
    settings = dict(val_fraction=0.0, batch_tokens=512, lora_dropout=0.1, save_every=2)
    straight = tiny_config(tmp_path / "straight", model_dir, **settings)
    steps = train(straight)["steps"]
    assert steps == 14

    import dialogqa.train.multitask as multitask

    real_step, calls = multitask.train_step, []

    def crash_at_third(*args, **kwargs):  # the process dies during step 3
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(multitask, "train_step", crash_at_third)
    crashed = tiny_config(tmp_path / "crash", model_dir, **settings)
    with pytest.raises(KeyboardInterrupt):
        train(crashed)
    monkeypatch.setattr(multitask, "train_step", real_step)
    last = tmp_path / "crash" / "run" / "last"
    assert json.loads((last / "trainer_state.json").read_text())["step"] == 2
    resumed = tiny_config(tmp_path / "crash", model_dir, resume=str(last), **settings)
    assert train(resumed)["steps"] == steps
    a = adapter_weights(tmp_path / "straight" / "run" / "last")
    b = adapter_weights(last)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_resume_refuses_another_lora_shape(tmp_path, model_dir):
    train(tiny_config(tmp_path, model_dir, val_fraction=0.0, max_steps=1))
    last = tmp_path / "run" / "last"
    with pytest.raises(UserError, match="trained with --lora-rank 4, this run asks for 8"):
        train(tiny_config(tmp_path, model_dir, val_fraction=0.0, resume=str(last), lora_rank=8))


def test_time_budget_stops_early_on_an_annealed_rate(tmp_path, model_dir):
    cfg = tiny_config(tmp_path, model_dir, val_fraction=0.0, max_minutes=1e-6)
    summary = train(cfg)
    assert summary["steps"] == 1
    assert (tmp_path / "run" / "best" / "adapter_model.safetensors").is_file()
    events = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    lrs = [e["lr"] for e in events if e["kind"] == "train"]
    assert lrs and lrs[-1] == pytest.approx(0.1 * cfg.lr)  # the cosine followed the clock to its end


def _parser():
    parser = argparse.ArgumentParser(prog="dialogqa")
    register_train(parser.add_subparsers(dest="command"))
    return parser


def test_command_line_config_and_overrides(tmp_path, model_dir):
    base = tiny_config(tmp_path, model_dir, val_fraction=0.0)
    preset = tmp_path / "preset.toml"
    from dialogqa.train.config import to_toml

    preset.write_text(to_toml(base.to_dict()))
    args = _parser().parse_args(["train", "--config", str(preset), "--max-steps", "2",
                                 "--set", "sources.0.weight=2", "--lora-rank", "2"])
    assert args.handler(args) == 0
    saved = load_saved_config(tmp_path / "run" / "last")
    assert (saved.max_steps, saved.lora_rank, saved.sources[0].weight) == (2, 2, 2.0)
    # --resume alone continues with the checkpoint's own settings
    shutil.copytree(tmp_path / "run" / "last", tmp_path / "ckpt")
    args = _parser().parse_args(["train", "--resume", str(tmp_path / "ckpt"), "--max-steps", "3",
                                 "--out", str(tmp_path / "run2")])
    assert args.handler(args) == 0
    state = json.loads((tmp_path / "run2" / "last" / "trainer_state.json").read_text())
    assert state["step"] == 3


def test_command_line_errors_are_one_line(tmp_path, capsys):
    from dialogqa.commands.cli import build_parser, main

    if "train" not in build_parser().format_help():
        pytest.skip("the train command is registered by dialogqa.commands.train")
    assert main(["train", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such config file" in capsys.readouterr().err
    preset = tmp_path / "p.toml"
    preset.write_text('[[sources]]\ntranscripts = ["x.jsonl"]\n')
    assert main(["train", "--config", str(preset), "--lora-rank", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "dialogqa: error: --lora-rank must be > 0, got 0"
    empty = tmp_path / "empty.toml"
    empty.write_text("lr = 1e-4\n")
    assert main(["train", "--config", str(empty)]) == 2
    assert "no training data" in capsys.readouterr().err
    assert main(["train", "--config", str(preset), "--out", str(tmp_path / "o")]) == 2
    assert "no transcript file matches 'x.jsonl'" in capsys.readouterr().err


def test_config_defaults_are_valid():
    assert TrainConfig().lora_layers == 8

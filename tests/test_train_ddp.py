"""``torchrun --nproc_per_node=2`` on CPU (gloo): the recipe runs unchanged, and two processes
averaging gradients land on the same weights as one process accumulating the same batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from dialogqa.train.config import to_toml  # noqa: E402
from dialogqa.train.recipe import train  # noqa: E402
from train_fixtures import tiny_config, write_model  # noqa: E402



# Two fresh Python processes importing torch: ~15 s on 2 cores, so it stays in the fast tier.
def test_two_processes_match_one_with_gradient_accumulation(tmp_path):
    from safetensors.torch import load_file

    model_dir = write_model(tmp_path / "model")
    settings = dict(val_fraction=0.0, batch_tokens=700, lora_dropout=0.0, threads=1)
    ddp_cfg = tiny_config(tmp_path / "ddp", model_dir, **settings)
    preset = tmp_path / "ddp.toml"
    preset.write_text(to_toml(ddp_cfg.to_dict()))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "dialogqa", "train", "--config", str(preset),
         "--word-match"],  # retrieves as the one process below does (the fast tier: words only)
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "x 2 process(es)" in result.stderr
    events = [json.loads(line) for line in (tmp_path / "ddp" / "run" / "log.jsonl").read_text().splitlines()]
    summary = events[-1]
    assert summary["kind"] == "summary" and summary["steps"] == 5  # 10 batches over 2 processes

    # one process, accumulating the same pairs of batches
    single = train(tiny_config(tmp_path / "one", model_dir, grad_accum=2, **settings))
    assert single["steps"] == 5
    a = load_file(str(tmp_path / "ddp" / "run" / "last" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "one" / "run" / "last" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)

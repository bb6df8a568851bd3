"""TrainConfig: validation names the flag, TOML + --set + flags layer up, saved configs re-run."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from dialogqa.errors import UserError
from dialogqa.train.config import (CONFIG_JSON, CONFIG_TOML, Source, TrainConfig, add_config_flags,
                                   build_config, load_saved_config, save_config, to_toml)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kwargs, message", [
    ({"lora_rank": 0}, "--lora-rank must be > 0, got 0"),
    ({"lr": -1.0}, "--lr must be > 0, got -1.0"),
    ({"lora_dropout": 1.0}, "--lora-dropout must be in [0, 1), got 1.0"),
    ({"fgm_epsilon": -0.1}, "--fgm-epsilon must be >= 0"),
    ({"precision": "fp8"}, "--precision must be one of auto, bf16, fp32, got 'fp8'"),
    ({"max_tokens": 2048, "batch_tokens": 1024}, "--batch-tokens must be >= --max-tokens (2048)"),
    ({"epochs": 1.5}, "--epochs must be an integer, got 1.5"),
    ({"layerwise": "yes"}, "--layerwise must be true or false"),
    ({"lora_targets": []}, "--lora-targets must name at least one module"),
    ({"answer_weight": 0.0, "relevance_weight": 0.0}, "nothing to train"),
    ({"sources": [{"transcripts": []}]}, "sources.0.transcripts must list at least one"),
    ({"sources": [{"transcripts": ["a.jsonl"], "weight": -1}]}, "sources.0.weight must be >= 0"),
    ({"sources": [{"transcripts": ["a.jsonl"], "wieght": 1}]}, "sources.0: unknown key 'wieght'"),
    ({"sources": [{"transcripts": ["a.jsonl"], "weight": 0}]}, "every data source has weight 0"),
])
def test_bad_values_name_the_flag(kwargs, message):
    with pytest.raises(UserError) as err:
        TrainConfig(**kwargs)
    assert message in str(err.value)


def test_ints_become_floats_and_single_strings_lists():
    cfg = TrainConfig(lr=1, lora_targets="q_proj", sources=[{"transcripts": "x.jsonl", "weight": 2}])
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.lora_targets == ["q_proj"]
    assert cfg.sources == [Source(transcripts=["x.jsonl"], weight=2.0, name="x")]


def test_precedence_defaults_toml_set_flags(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('lr = 1e-4\nlora_rank = 4\nepochs = 3\n'
                    '[[sources]]\ntranscripts = ["a.jsonl"]\n[[sources]]\ntranscripts = ["b.jsonl"]\n')
    cfg = build_config(path, ["lora_rank=8", "sources.1.weight=0.5", 'lora_targets=["q_proj"]',
                              "out=runs/x"], {"epochs": 5, "lr": None})
    assert cfg.lr == 1e-4  # from the file (flag not given)
    assert cfg.lora_rank == 8  # --set beats the file
    assert cfg.epochs == 5  # a flag beats both
    assert cfg.sources[1].weight == 0.5 and cfg.sources[0].weight == 1.0
    assert cfg.lora_targets == ["q_proj"] and cfg.out == "runs/x"
    assert cfg.k == TrainConfig().k  # untouched default


@pytest.mark.parametrize("toml_text, sets, message", [
    ("lora_rnak = 4\n", [], "unknown setting 'lora_rnak' (did you mean lora_rank?)"),
    ("lr = \n", [], "not valid TOML"),
    ("", ["lr"], "expected KEY=VALUE"),
    ("", ["sources.3.weight=1"], "there are 0 data sources"),
    ("", ["lr.x=1"], "only sources.N.KEY may be dotted"),
    ("", ["lr=fast"], "--lr must be a number, got 'fast'"),
])
def test_bad_config_input(tmp_path, toml_text, sets, message):
    path = tmp_path / "c.toml"
    path.write_text(toml_text)
    with pytest.raises(UserError) as err:
        build_config(path, sets)
    assert message in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="no such config file"):
        build_config(tmp_path / "nope.toml")


def test_saved_config_round_trips(tmp_path):
    cfg = TrainConfig(sources=[{"transcripts": ['we"ird.jsonl'], "kg": ["g.ttl"], "weight": 2}],
                      lr=3e-5, layerwise=True, fgm_epsilon=0.5, out="ü/run")
    save_config(cfg, tmp_path)
    assert load_saved_config(tmp_path) == cfg
    assert tomllib.loads((tmp_path / CONFIG_TOML).read_text())["lr"] == 3e-5
    assert '"layerwise": true' in (tmp_path / CONFIG_JSON).read_text()
    assert to_toml(cfg.to_dict()).startswith("# written by `dialogqa train`")


def test_every_field_has_a_flag():
    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    args = parser.parse_args(["--lora-rank", "8", "--no-progress", "--lora-targets", "q_proj", "v_proj",
                              "--fgm-epsilon", "0.3", "--layerwise"])
    assert (args.lora_rank, args.progress, args.lora_targets, args.fgm_epsilon, args.layerwise) == \
        (8, False, ["q_proj", "v_proj"], 0.3, True)
    assert args.lr is None  # not given: the config file's value stands
    with pytest.raises(SystemExit):
        parser.parse_args(["--lora-rank", "eight"])


def test_shipped_preset_is_valid():
    cfg = build_config(ROOT / "training" / "default.toml")
    assert cfg.sources and cfg.lora_layers > 0 and cfg.max_minutes <= 60
    header = (ROOT / "training" / "default.toml").read_text().splitlines()[:15]
    assert any("dialogqa train --config training/default.toml" in line for line in header)


def test_every_preset_is_valid_and_says_how_it_runs():
    for path in sorted((ROOT / "training").glob("*.toml")):
        cfg = build_config(path)
        assert cfg.sources and cfg.max_minutes <= 60, path
        header = path.read_text().splitlines()[:15]
        assert any(f"--config training/{path.name}" in line for line in header), path

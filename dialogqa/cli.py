"""The ``dialogqa`` console command: one parser, subcommands registered by their modules.

Each command module exposes ``register(subparsers)`` and keeps heavy imports (torch,
transformers, textual) inside its handlers, so ``dialogqa --help`` stays instant.
Bad input surfaces as ``UserError``: one line on stderr, exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dialogqa.errors import UserError

# Order = order in --help.
COMMAND_MODULES = (
    "dialogqa.kg.commands",  # kg ...
    "dialogqa.kg.import_commands",  # import kgconv
    "dialogqa.dialogue.commands",  # ask, replay
    "dialogqa.tui.commands",  # chat
    "dialogqa.tui.sessions_cli",  # sessions
    "dialogqa.train.commands",  # data, train
)


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


def open_graph_from_args(args: argparse.Namespace, default_world: bool = False):
    """Open the graph the arguments name; with ``default_world`` fall back to the shipped world graph."""
    from dialogqa.kg.base import open_kg

    files = list(getattr(args, "files", None) or []) + list(getattr(args, "kg", None) or [])
    store = getattr(args, "store", None)
    endpoint = getattr(args, "endpoint", None)
    if default_world and not files and store is None and endpoint is None:
        from dialogqa.kg.world import default_world_path

        files = [str(default_world_path())]
    return open_kg(files=files, store=store, endpoint=endpoint,
                   fmt=getattr(args, "rdf_format", None), langs=langs_from_args(args),
                   progress=sys.stderr.isatty())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialogqa",
        description="Chat with a knowledge graph: multi-turn question answering over RDF.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _version() -> str:
    from dialogqa import __version__

    return f"dialogqa {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"dialogqa: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("dialogqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``dialogqa`` console command: one parser, subcommands registered by their modules.

Each command module exposes ``register(subparsers)`` and keeps heavy imports (torch,
transformers, textual) inside its handlers, so ``dialogqa --help`` stays instant.
Bad input surfaces as ``UserError``: one line on stderr, exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dialogqa.commands import adapt, calibrate, chat, dialogue, encoder, imports, intent, kg, rerank, sessions, train
from dialogqa.errors import UserError
from dialogqa.visible import visible

# Order = order in --help.
COMMAND_MODULES = (
    kg,  # kg ...
    imports,  # import kgconv
    dialogue,  # ask, replay
    chat,  # chat
    sessions,  # sessions list/show/search/export
    train,  # data, train
    intent,  # intent fit/show
    encoder,  # encoder fit: the retriever's sentence encoder
    rerank,  # rerank fit
    calibrate,  # calibrate: grounded decoding and abstention bias on held-out dialogues
    adapt,  # adapt: the whole recipe on one graph
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialogqa",
        description="Chat with a knowledge graph: multi-turn question answering over RDF.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _version() -> str:
    from dialogqa import __version__

    return f"dialogqa {__version__}"


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a message comes (tests swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _show_library_messages() -> None:
    """What the library logs (e.g. a one-time model conversion) as "dialogqa: ..." on stderr."""
    logger = logging.getLogger("dialogqa")
    if not logger.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("dialogqa: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    _show_library_messages()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if getattr(args, "word_match", False):
        from dialogqa.kg.semantic import use_encoder

        use_encoder(False)
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"dialogqa: error: {visible(exc)}", file=sys.stderr)  # messages echo graph and user text
        return exc.exit_status
    except KeyboardInterrupt:
        print("dialogqa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

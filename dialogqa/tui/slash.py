"""Slash commands typed into the chat input: parsed here, carried out by the app.

Kept apart from the widgets so the parsing rules (names, arguments, errors) are plain
functions a test can call without starting a terminal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from dialogqa.errors import UserError


@dataclass(frozen=True)
class Spec:
    usage: str
    help: str
    min_args: int = 0
    max_args: int | None = 0  # None = any number


COMMANDS: dict[str, Spec] = {
    "help": Spec("/help", "show these commands and keys"),
    "kg": Spec("/kg load FILE... | /kg info", "load RDF files as the graph | describe it", 1, None),
    "sparql": Spec("/sparql QUERY", "run a read-only SPARQL SELECT or ASK on the graph", 1, None),
    "store": Spec("/store DIR", "open an on-disk store built by `dialogqa kg load`", 1, 1),
    "endpoint": Spec("/endpoint URL", "query a remote SPARQL endpoint", 1, 1),
    "reset": Spec("/reset", "start a new conversation (the old one stays recorded)"),
    "save": Spec("/save [FILE]", "write the conversation to FILE (default: flush the recording)", 0, 1),
    "export": Spec("/export [FILE.md]", "write the conversation as Markdown, cited facts under each answer", 0, 1),
    "retry": Spec("/retry", "ask the last question again (after /kg load, say): the new answer replaces it"),
    "sessions": Spec("/sessions [TEXT]", "list the recorded conversations, or those that say TEXT", 0, None),
    "open": Spec("/open ID", "continue a recorded conversation (ids: /sessions)", 1, 1),
    "record": Spec("/record FILE", "record the conversation into FILE from now on", 1, 1),
    "replay": Spec("/replay FILE", "replay a transcript with this model and graph; show the score", 1, 1),
    "model": Spec("/model", "which model and adapter answer"),
    "evidence": Spec("/evidence", "show or hide the evidence panel and the cited facts"),
    "iris": Spec("/iris", "show or hide IRIs in the evidence panel"),
    "theme": Spec("/theme [NAME]", "switch light/dark, or to a named theme", 0, 1),
    "quit": Spec("/quit", "leave (also Ctrl+Q)"),
}

KG_SUBCOMMANDS = ("load", "info")
# commands whose arguments are file paths (the input completes them from the disk)
FILE_ARGS = {"kg load", "store", "save", "record", "replay", "export"}


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


def is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


def parse_command(text: str) -> Command:
    """``/kg a.ttl "my file.nt"`` -> Command("kg", ("a.ttl", "my file.nt")); UserError when bad."""
    body = text.strip()[1:]
    head, _, rest = body.partition(" ")
    if head.lower() == "sparql":  # the query is the rest of the line as typed, quotes and all
        if not rest.strip():
            raise UserError(f"/sparql needs an argument: {COMMANDS['sparql'].usage}")
        return Command("sparql", (rest.strip(),))
    try:
        words = shlex.split(body)
    except ValueError as exc:  # unbalanced quotes
        raise UserError(f"cannot read the command: {exc}") from None
    if not words:
        raise UserError("empty command: type /help for the list")
    name, args = words[0].lower(), tuple(words[1:])
    spec = COMMANDS.get(name)
    if spec is None:
        raise UserError(f"unknown command /{name}: type /help for the list")
    if len(args) < spec.min_args:
        raise UserError(f"/{name} needs an argument: {spec.usage}")
    if spec.max_args is not None and len(args) > spec.max_args:
        raise UserError(f"too many arguments for /{name}: {spec.usage}")
    if name == "kg":
        return _kg_command(args)
    return Command(name, args)


def _kg_command(args: tuple[str, ...]) -> Command:
    """``/kg load FILE...``, ``/kg info``; ``/kg FILE...`` stays a synonym of ``/kg load``."""
    sub = args[0].lower()
    if sub == "info":
        if len(args) > 1:
            raise UserError("too many arguments for /kg info: /kg info")
        return Command("kg", ("info",))
    files = args[1:] if sub == "load" else args
    if not files:
        raise UserError("/kg load needs a file: /kg load FILE...")
    return Command("kg", ("load", *files))


def help_lines() -> list[tuple[str, str]]:
    lines = []
    for name, spec in COMMANDS.items():
        if name == "kg":  # two forms: one line each, so the usage column stays narrow
            lines += [("/kg load FILE...", "load RDF files as the graph (the conversation is kept)"),
                      ("/kg info", "describe the graph")]
        else:
            lines.append((spec.usage, spec.help))
    return lines

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
    "help": Spec("/help", "show these commands"),
    "kg": Spec("/kg FILE...", "load RDF files as the graph (the conversation is kept)", 1, None),
    "store": Spec("/store DIR", "open an on-disk store built by `dialogqa kg load`", 1, 1),
    "endpoint": Spec("/endpoint URL", "query a remote SPARQL endpoint", 1, 1),
    "reset": Spec("/reset", "forget the conversation and its focus"),
    "evidence": Spec("/evidence", "show or hide the cited facts under answers"),
    "record": Spec("/record FILE", "append the conversation to a transcript (JSON Lines)", 1, 1),
    "quit": Spec("/quit", "leave (also Ctrl+Q or Ctrl+C)"),
}


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


def is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


def parse_command(text: str) -> Command:
    """``/kg a.ttl "my file.nt"`` -> Command("kg", ("a.ttl", "my file.nt")); UserError when bad."""
    body = text.strip()[1:]
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
    return Command(name, args)


def help_lines() -> list[tuple[str, str]]:
    return [(spec.usage, spec.help) for spec in COMMANDS.values()]

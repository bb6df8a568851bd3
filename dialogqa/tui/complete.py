"""Completion in the chat input: command names, ``/kg`` subcommands, theme names, file paths.

Textual's ``Input`` shows a suggestion greyed after the cursor and takes it with Right (the
chat's input also takes it with Tab). Questions get no suggestion: only text that starts
with ``/`` is completed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from textual.suggester import Suggester

from dialogqa.tui import slash

MAX_LISTED = 500  # entries of a folder looked at: a huge folder must not stall the typing


class CommandSuggester(Suggester):
    """``themes`` returns the theme names (the app knows them; read when needed)."""

    def __init__(self, themes: Callable[[], Iterable[str]] = tuple) -> None:
        # no cache: the files on disk change, and a lookup is cheap
        super().__init__(use_cache=False, case_sensitive=True)
        self._themes = themes

    async def get_suggestion(self, value: str) -> str | None:
        return suggest(value, self._themes)


def suggest(value: str, themes: Callable[[], Iterable[str]] = tuple) -> str | None:
    """The whole input line completed, or None (a plain function, so tests call it directly)."""
    if not value.startswith("/") or "\n" in value:
        return None
    head, sep, rest = value[1:].partition(" ")
    if not sep:  # still typing the command name
        return _first(f"/{name}" for name in slash.COMMANDS if name.startswith(head.lower()))
    name = head.lower()
    if name == "kg":
        sub, sep2, files = rest.partition(" ")
        if not sep2:
            return _first(f"/{head} {s}" for s in slash.KG_SUBCOMMANDS if s.startswith(sub) and s != sub)
        if sub != "load":
            return None
        name, prefix, rest = "kg load", f"/{head} {sub} ", files
    else:
        prefix = f"/{head} "
    if name == "theme":
        return _first(prefix + t for t in sorted(themes()) if t.startswith(rest) and t != rest)
    if name not in slash.FILE_ARGS:
        return None
    # complete the last word as a path; earlier words (other files of /kg load) stay as typed
    before, _, word = rest.rpartition(" ")
    if not word:  # nothing typed yet: no guess (the first file of the folder is noise)
        return None
    completed = _complete_path(word)
    if completed is None:
        return None
    return prefix + (before + " " if before else "") + completed


def _complete_path(word: str) -> str | None:
    if word.startswith(("'", '"')):  # quoted names: leave them to the person
        return None
    folder, sep, stem = word.rpartition("/")
    typed_dir = folder + sep  # "kb/", "/", "~/data/" or "" (the current folder)
    try:
        names = []
        with os.scandir(os.path.expanduser(typed_dir) or ".") as it:
            for i, entry in enumerate(it):
                if i >= MAX_LISTED:
                    break
                hidden = entry.name.startswith(".") and not stem.startswith(".")
                if entry.name.startswith(stem) and entry.name != stem and not hidden:
                    names.append(entry.name + ("/" if entry.is_dir() else ""))
    except OSError:
        return None
    names = [n for n in sorted(names) if " " not in n]  # the command line splits on spaces
    return typed_dir + names[0] if names else None


def _first(items: Iterable[str]) -> str | None:
    return next(iter(items), None)

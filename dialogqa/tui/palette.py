"""Ctrl+P: Textual's command palette, with the chat's slash commands and keys in it.

A command that needs no argument runs when picked; one that does is put in the input to be
completed (``/export `` then a file name). A key's entry runs its action. Textual's own
entries (theme, keys, screenshot, quit) stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from dialogqa.tui import slash


@dataclass(frozen=True)
class Entry:
    text: str  # what the palette lists and matches: "/export [FILE.md]", "new conversation"
    help: str  # the line under it: what the command does, or the key ("key: Ctrl+N")
    command: str = ""  # a slash command line to send ("/help") or to type on ("/export ")
    action: str = ""  # an app action for a key ("new_conversation")
    ready: bool = False  # the command line runs as it is


def entries(keys: list[tuple[str, str, str]]) -> list[Entry]:
    """The slash commands (slash.COMMANDS), then the keys: (key, help, action) with an action."""
    out = []
    for name, spec in slash.COMMANDS.items():
        takes_args = spec.min_args > 0 or spec.max_args != 0
        out.append(Entry(spec.usage, spec.help, f"/{name}" + (" " if takes_args else ""),
                         ready=spec.min_args == 0 and spec.max_args == 0))
    out += [Entry(help_, f"key: {key}", action=action) for key, help_, action in keys if action]
    return out


class ChatCommands(Provider):
    """The app gives ``palette_keys`` and ``run_palette_entry(entry)``."""

    def _entries(self) -> list[Entry]:
        return entries(self.app.palette_keys())

    def _run(self, entry: Entry):
        return self.app.run_palette_entry(entry)

    async def discover(self) -> Hits:
        for entry in self._entries():
            yield DiscoveryHit(Content(entry.text), partial(self._run, entry), text=entry.text,
                               help=entry.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for entry in self._entries():
            score = max(matcher.match(entry.text), matcher.match(entry.help) * 0.8)
            if score > 0:
                yield Hit(score, _highlight(matcher, entry.text), partial(self._run, entry),
                          text=entry.text, help=entry.help)


def _highlight(matcher, text: str) -> Content:
    """``matcher.highlight`` reads its text as markup, and "/export [FILE.md]" is not."""
    content = Content(text)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content

"""The recorded conversations of the sessions folder: list them, find one by id, search them.

``dialogqa sessions list|show|search|export`` and the chat's ``/sessions`` and ``/open`` read
the folder through these plain functions (sessions.py says where the folder is). A bad line
in a session file is skipped: the other conversations stay reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dialogqa.dialogue.transcript import Conversation, answered, read_transcripts
from dialogqa.errors import UserError

SNIPPET = 70  # characters of a search hit shown around the match


@dataclass
class Recorded:
    """A conversation as recorded: where (file, line) and when (the file's last write)."""

    conversation: Conversation
    path: Path
    line: int
    modified: float

    @property
    def id(self) -> str:
        return self.conversation.id

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.modified).strftime("%Y-%m-%d %H:%M")

    @property
    def first_question(self) -> str:
        turns = self.conversation.turns
        return " ".join(turns[0].user.split()) if turns else ""


@dataclass
class Hit:
    recorded: Recorded
    turn: int  # 1-based
    who: str  # "you" or "bot"
    snippet: str


def recorded_conversations(folder: Path) -> list[Recorded]:
    """Every conversation of the folder's session files, newest first (file, then line)."""
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob("*.jsonl"):
        try:
            modified = path.stat().st_mtime
        except OSError:  # removed meanwhile
            continue
        for conv in read_transcripts(path, warn=lambda _: None):
            out.append(Recorded(conv, path, conv.line, modified))
    out.sort(key=lambda r: (r.modified, str(r.path), r.line), reverse=True)
    return out


def find_conversation(folder: Path, ident: str) -> Recorded:
    """The conversation whose id is ``ident``, or the one id that starts with it or holds it
    (``a1b2c3`` for ``chat-20261203-150102-a1b2c3``). A conversation saved in several files
    (a /save copy in the folder): the newest."""
    ident = ident.strip()
    every = recorded_conversations(folder)
    for test in (lambda i: i == ident, lambda i: i.startswith(ident), lambda i: ident in i):
        found: dict[str, Recorded] = {}
        for rec in every:
            if test(rec.id):
                found.setdefault(rec.id, rec)
        if len(found) == 1:
            return next(iter(found.values()))
        if len(found) > 1:
            names = ", ".join(sorted(found)[:5]) + (" ..." if len(found) > 5 else "")
            raise UserError(f"{ident!r} matches {len(found)} conversations ({names}): give more of the id")
    if not every:
        raise UserError(f"no recorded conversation in {folder}")
    raise UserError(f"no conversation {ident!r} in {folder} (`dialogqa sessions list` shows them)")


def search(folder: Path, text: str) -> list[Hit]:
    """Turns whose question or answer holds every word of ``text`` (case-insensitive),
    newest conversation first."""
    words = text.casefold().split()
    if not words:
        raise UserError("search needs some text: sessions search TEXT")
    hits = []
    for rec in recorded_conversations(folder):
        for number, turn in enumerate(rec.conversation.turns, 1):
            for who, said in (("you", turn.user), ("bot", turn.answer if answered(turn) else "")):
                flat = " ".join(said.split())
                if flat and all(w in flat.casefold() for w in words):
                    hits.append(Hit(rec, number, who, snippet(flat, flat.casefold().find(words[0]))))
    return hits


def snippet(text: str, at: int, width: int = SNIPPET) -> str:
    """About ``width`` characters of ``text`` around position ``at``, cut ends marked with …"""
    if len(text) <= width:
        return text
    start = max(0, min(at - width // 3, len(text) - width))
    out = text[start:start + width]
    return ("…" if start else "") + out + ("…" if start + width < len(text) else "")

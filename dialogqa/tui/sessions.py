"""Where chat conversations are recorded, and which one ``dialogqa chat --resume`` continues.

Every window records into its own transcript file (DESIGN.md format) in the sessions folder:
``--sessions-dir``, else ``$DIALOGQA_SESSIONS``, else ``$XDG_DATA_HOME/dialogqa/sessions``
(``~/.local/share/dialogqa/sessions`` when that is unset). The session's recorder rewrites the
file atomically after every turn, so the folder always holds what was said.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from dialogqa.dialogue.transcript import Conversation, read_transcripts
from dialogqa.errors import UserError

ENV_VAR = "DIALOGQA_SESSIONS"


def sessions_dir(flag: str | os.PathLike | None = None) -> Path:
    """The folder chats are recorded in: the flag, else the environment, else the data dir."""
    if flag:
        return Path(flag).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "dialogqa" / "sessions"


def new_session_file(folder: Path) -> Path:
    """A fresh file name for this window's recording (the folder is created)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--sessions-dir {folder}: cannot create it: {exc.strerror}") from None
    # short names (the status row shows them): the time, and a suffix only when taken
    stem = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stem}.jsonl"
    while path.exists():
        path = folder / f"{stem}-{uuid.uuid4().hex[:4]}.jsonl"
    return path


def last_conversation(folder: Path) -> tuple[Path, Conversation]:
    """The most recently recorded conversation: the last line of the newest session file."""
    files = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    for path in reversed(files):
        try:
            conversations = read_transcripts(path, warn=lambda _: None)  # a bad line: try the rest
        except UserError:  # an empty (or unreadable) session file: nothing to resume there
            continue
        if conversations:
            return path, conversations[-1]
    raise UserError(f"--resume: no recorded conversation in {folder} (start one without --resume)")

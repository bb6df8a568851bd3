"""Transcripts: the one conversation format (DESIGN.md), JSON Lines, one conversation a line.

Recorded chats, evaluation sets, training data and replay output all use it. Reading checks
every field and names ``FILE:LINE`` and what is wrong; with a ``warn`` callback bad lines are
reported and skipped so the other conversations still replay. Writing is atomic (a temporary
file renamed over the target), and ``TranscriptRecorder`` rewrites the file that way after
each turn, so a crash never loses a turn already said nor leaves a half-written line.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib.term import Literal, Node, URIRef

from dialogqa import jsonio
from dialogqa.errors import UserError
from dialogqa.records import Fact
from dialogqa.records import Turn

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


@dataclass
class Conversation:
    id: str
    turns: list[Turn]
    kg: list[str] = field(default_factory=list)  # graph files, relative to the transcript file
    extra: dict[str, Any] = field(default_factory=dict)  # other top-level keys, kept as they were
    source: Path | None = None  # the transcript file it came from
    line: int = 0  # its line number there

    def kg_paths(self) -> list[Path]:
        """``kg`` resolved against the transcript file's folder."""
        base = self.source.parent if self.source else Path.cwd()
        return [(base / p) if not Path(p).is_absolute() else Path(p) for p in self.kg]


def term_from_key(text: str) -> Node:
    """A transcript triple element back to a term: IRIs look like ``scheme:rest``, the rest are literals."""
    return URIRef(text) if _IRI.match(text) else Literal(text)


def fact_from_key(triple: Sequence[str]) -> Fact:
    s, p, o = (term_from_key(x) for x in triple)
    return Fact(s, p, o)


# -- reading -----------------------------------------------------------------------------

_Bad = jsonio.BadJSON  # what is wrong with a line; read_transcripts adds FILE:LINE


def _triples(value: Any, key: str, where: str) -> list[tuple[str, str, str]]:
    ok = isinstance(value, list) and all(
        isinstance(t, list) and len(t) == 3 and all(isinstance(x, str) for x in t) for t in value
    )
    if not ok:
        raise _Bad(f"{where}'{key}' must be a list of [subject, predicate, object] string triples")
    return [tuple(t) for t in value]


def _turn_from_dict(d: Any, n: int) -> Turn:
    where = f"turn {n}: "
    if not isinstance(d, dict):
        raise _Bad(f"{where}expected an object with a 'user' question")
    user = d.get("user")
    if not isinstance(user, str) or not user.strip():
        raise _Bad(f"{where}'user' must be a non-empty string")
    expected = d.get("expected", [])
    if isinstance(expected, str):
        expected = [expected]
    if not isinstance(expected, list) or not all(isinstance(x, str) for x in expected):
        raise _Bad(f"{where}'expected' must be a list of strings")
    for key in ("unanswerable", "abstained"):
        if key in d and not isinstance(d[key], bool):
            raise _Bad(f"{where}'{key}' must be true or false")
    answer = d.get("answer", "")
    if not isinstance(answer, str):
        raise _Bad(f"{where}'answer' must be a string")
    typ = d.get("type", "")
    if not isinstance(typ, str):
        raise _Bad(f"{where}'type' must be a string")
    match = d.get("match", "any")
    if match not in ("any", "all"):
        raise _Bad(f"{where}'match' must be \"all\" or \"any\"")
    reject = d.get("reject", [])
    if isinstance(reject, str):
        reject = [reject]
    if not isinstance(reject, list) or not all(isinstance(x, str) for x in reject):
        raise _Bad(f"{where}'reject' must be a list of strings")
    latency = d.get("latency_ms")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, (int, float))):
        raise _Bad(f"{where}'latency_ms' must be a number")
    if latency is not None and not math.isfinite(latency):  # NaN or inf would make invalid metrics JSON
        raise _Bad(f"{where}'latency_ms' must be a finite number")
    return Turn(
        user=user,
        answer=answer,
        evidence=[fact_from_key(t) for t in _triples(d.get("evidence", []), "evidence", where)],
        abstained=d.get("abstained", False),
        timings={"total_ms": float(latency)} if latency is not None else {},
        expected=list(expected),
        expected_evidence=_triples(d.get("expected_evidence", []), "expected_evidence", where),
        unanswerable=d.get("unanswerable", False),
        type=typ,
        match_all=match == "all",
        reject=list(reject),
    )


def conversation_from_dict(d: Any, default_id: str) -> Conversation:
    if not isinstance(d, dict):
        raise _Bad("expected a JSON object with 'turns'")
    turns = d.get("turns")
    if not isinstance(turns, list) or not turns:
        raise _Bad("'turns' must be a non-empty list")
    kg = d.get("kg", [])
    if isinstance(kg, str):
        kg = [kg]
    if not isinstance(kg, list) or not all(isinstance(x, str) for x in kg):
        raise _Bad("'kg' must be a list of graph file paths")
    cid = d.get("id", default_id)
    if not isinstance(cid, (str, int)) or isinstance(cid, bool):
        raise _Bad("'id' must be a string")
    extra = {k: v for k, v in d.items() if k not in ("id", "kg", "turns")}
    return Conversation(id=str(cid), kg=list(kg), extra=extra,
                        turns=[_turn_from_dict(t, i) for i, t in enumerate(turns, 1)])


def read_transcripts(path: str | os.PathLike, warn: Callable[[str], None] | None = None) -> list[Conversation]:
    """All conversations of a transcript file. A malformed line raises ``UserError("FILE:LINE:
    what")``; with ``warn`` it is reported through ``warn`` and skipped instead. A file without
    a single line (empty or blank) raises ``UserError`` naming it, ``warn`` or not."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UserError(f"{path}: no such transcript file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a .jsonl transcript file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    out: list[Conversation] = []
    lines = 0  # lines that are not blank, good or bad
    with handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                if not text.strip():
                    continue
                lines += 1
                conv = conversation_from_dict(jsonio.loads(text), default_id=f"{path.stem}-{lineno}")
            except (_Bad, UnicodeDecodeError) as exc:
                msg = f"{path}:{lineno}: {exc if isinstance(exc, _Bad) else 'not UTF-8 text'}"
                if warn is None:
                    raise UserError(msg) from None
                warn(f"{msg} (line skipped)")
                continue
            conv.source, conv.line = path, lineno
            out.append(conv)
    if not lines:  # the one rule for every command that reads transcripts (replay, kg recall, train)
        raise UserError(f"{path}: empty transcript file: expected one conversation a line (JSON)")
    return out


# -- writing -----------------------------------------------------------------------------

def answered(turn: Turn) -> bool:
    """Whether the bot's side of a turn is filled in (recorded or replayed): only then does a
    transcript line carry ``answer``, ``evidence`` and ``abstained``."""
    return bool(turn.answer or turn.abstained or turn.timings)


def turn_to_dict(turn: Turn) -> dict[str, Any]:
    d: dict[str, Any] = {"user": turn.user}
    if turn.expected:
        d["expected"] = list(turn.expected)
    if turn.expected_evidence:
        d["expected_evidence"] = [list(t) for t in turn.expected_evidence]
    if turn.unanswerable:
        d["unanswerable"] = True
    if turn.type:
        d["type"] = turn.type
    if turn.match_all:
        d["match"] = "all"
    if turn.reject:
        d["reject"] = list(turn.reject)
    if answered(turn):
        d["answer"] = turn.answer
        d["evidence"] = [list(f.key()) for f in turn.evidence]
        d["abstained"] = bool(turn.abstained)
        if "total_ms" in turn.timings:
            d["latency_ms"] = round(turn.timings["total_ms"])
        if turn.intent:
            d["intent"] = turn.intent
    return d


def conversation_to_dict(conv: Conversation) -> dict[str, Any]:
    d: dict[str, Any] = {"id": conv.id}
    if conv.kg:
        d["kg"] = list(conv.kg)
    d.update(conv.extra)
    d["turns"] = [turn_to_dict(t) for t in conv.turns]
    return d


def dumps(conv: Conversation) -> str:
    return json.dumps(conversation_to_dict(conv), ensure_ascii=False, allow_nan=False)


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """Transcript lines (dicts) to ``path``, one JSON object a line, atomically."""
    atomic_write(path, "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in rows))


def graph_paths_for(files: Iterable[str | os.PathLike], folder: str | os.PathLike) -> list[str]:
    """Graph files as the "kg" of a transcript in ``folder`` names them: relative to it."""
    return [os.path.relpath(Path(f).resolve(), Path(folder).resolve()) for f in files]


def write_transcripts(path: str | os.PathLike, conversations: Iterable[Conversation]) -> None:
    atomic_write(path, "".join(dumps(c) + "\n" for c in conversations))


def relative_kg(files: Sequence[str | os.PathLike], transcript: str | os.PathLike) -> list[str]:
    """Graph file paths as a transcript stores them: relative to the transcript's folder."""
    base = Path(transcript).resolve().parent
    return [os.path.relpath(Path(f).resolve(), base) for f in files]


def _line_id(line: str) -> str | None:
    try:
        data = jsonio.loads(line)
    except jsonio.BadJSON:
        return None
    return str(data.get("id")) if isinstance(data, dict) else None


class TranscriptRecorder:
    """Records a live conversation into a transcript file, turn by turn.

    The file keeps whatever it held before (earlier conversations) plus one line for each
    conversation recorded here; after every turn the whole file is rewritten atomically, so
    it is always valid JSON Lines and a crash loses nothing already said. Chat session files
    are small, so rewriting beats the complexity of patching the last line in place.
    """

    def __init__(self, path: str | os.PathLike, resume: str | None = None):
        """``resume``: id of a conversation in the file that is being continued; its old line
        is replaced by the continued conversation (written last)."""
        self.path = Path(path)
        try:
            before = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{self.path}: cannot record into this file: {exc}") from None
        lines = [x + "\n" for x in before.splitlines() if x.strip()]
        if resume is not None:
            lines = [x for x in lines if _line_id(x) != resume]
        self._before = "".join(lines)
        self._done: list[str] = []  # lines of conversations finished in this recorder

    def save(self, conv: Conversation) -> None:
        """Write ``conv`` (the conversation in progress) after everything recorded before."""
        current = dumps(conv) + "\n" if conv.turns else ""
        atomic_write(self.path, self._before + "".join(self._done) + current)

    def finish(self, conv: Conversation) -> None:
        """Close ``conv``: later saves go on a new line."""
        if conv.turns:
            self._done.append(dumps(conv) + "\n")


class Recording:
    """A session's conversation kept in a transcript file, rewritten after every turn: the
    chat attaches one (``session.recording = Recording(path)``); the session writes nothing.
    Graph paths are stored relative to the transcript file (DESIGN.md)."""

    def __init__(self, path: str | os.PathLike, resume: str | None = None):
        self.recorder = TranscriptRecorder(path, resume=resume)
        self.path = self.recorder.path

    def __call__(self, event: str, conv: Conversation, kg_files: Sequence[Path]) -> None:
        if event == "turn":
            conv.kg = relative_kg(kg_files, self.path)
            self.recorder.save(conv)
        elif event == "end":
            self.recorder.finish(conv)


def save_copy(conv: Conversation, kg_files: Sequence[Path], path: str | os.PathLike) -> None:
    """Write ``conv`` into ``path`` (its other conversations kept, this one's line replaced),
    graph files relative to it (the chat's ``/save FILE``)."""
    from dataclasses import replace

    TranscriptRecorder(path, resume=conv.id).save(replace(conv, kg=relative_kg(kg_files, path)))

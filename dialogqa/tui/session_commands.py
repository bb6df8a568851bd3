"""The slash commands that act on the session (/kg, /store, /endpoint, /sparql, /reset,
/record, /save, /replay, /model), kept apart from the window: each takes the session and
returns what the log shows. The app runs them in a worker thread, one job at a time, so they
may take their time (open a graph, replay a transcript) and may raise: the app shows the
error as one line and the session stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogqa.errors import UserError
from dialogqa.tui import tables


@dataclass
class Outcome:
    shown: Any  # str, rich Text or Table for the log
    graph_line: str | None = None  # the header's new graph description, when the graph changed
    clear: bool = False  # a new conversation: clear the log
    opened: bool = False  # /open: the log shows the session's history again


class Stopped(Exception):
    """Raised by ``cancelled`` to end a long command (Esc during /replay)."""


@dataclass
class CommandContext:
    session: Any
    open_graph: Callable[..., Any]  # open_kg(files=..., store=..., endpoint=...)
    model_info: str = ""
    progress: Callable[[str], None] = lambda message: None
    stop_requested: Callable[[], bool] = lambda: False
    sessions_folder: Path | None = None  # where chats are recorded (/sessions, /open)


def graph_line(kg: Any) -> str:
    name = getattr(kg, "name", "graph")
    try:
        return f"{name} · {kg.count():,} triples"
    except Exception:  # an endpoint may refuse to count: the name is enough
        return name


def run(name: str, args: tuple[str, ...], ctx: CommandContext) -> Outcome:
    session = ctx.session
    if name == "kg" and args == ("info",):
        return Outcome(tables.graph_info(session.kg, [str(f) for f in session.kg_files]))
    if name in ("kg", "store", "endpoint"):
        return _switch_graph(name, args, ctx)
    if name == "sparql":  # the person's own query, run read-only by the graph's query()
        return Outcome(tables.sparql_table(session.kg.query(args[0]), session.kg))
    if name == "reset":
        session.reset()
        return Outcome("new conversation", clear=True)
    if name == "record":
        from dialogqa.dialogue.transcript import Recording

        session.record_with(Recording(args[0]))  # the turns so far, then each new one
        return Outcome(f"recording to {args[0]}")
    if name == "save":
        return Outcome(_save(session, args[0] if args else None))
    if name == "replay":
        return Outcome(_replay(args[0], ctx))
    if name == "model":
        return Outcome(tables.model_table(session.model, ctx.model_info, session))
    if name == "export":
        return Outcome(_export(session, args[0] if args else None))
    if name in ("sessions", "open"):
        return _sessions(name, args, ctx)
    raise UserError(f"/{name} is not handled here")  # slash.COMMANDS and this list drifted


def _switch_graph(name: str, args: tuple[str, ...], ctx: CommandContext) -> Outcome:
    """Open the new graph first: if that fails the old one stays, untouched."""
    session = ctx.session
    files: list[str] = []  # the recording names the graph files it was made on
    if name == "kg":
        files = list(args[1:])  # ("load", FILE...)
        kg = ctx.open_graph(files=files)
    elif name == "store":
        kg = ctx.open_graph(store=args[0])
    else:
        kg = ctx.open_graph(endpoint=args[0])
    old = session.kg
    session.set_graph(kg, kg_files=files)
    if old is not kg and hasattr(old, "close"):
        old.close()
    line = graph_line(kg)
    return Outcome(f"graph: {line} (conversation kept)", graph_line=line)


def _save(session: Any, path: str | None) -> str:
    from dialogqa.dialogue.transcript import save_copy

    if path is not None:
        save_copy(session.conversation, session.kg_files, path)
        return f"saved to {path}"
    recording = session.recording
    if getattr(recording, "path", None) is None:
        raise UserError("this chat is not recorded: give a file, /save FILE")
    if session.history:  # the recording already wrote every turn; this only makes sure
        recording.recorder.save(session.conversation)
    return f"saved: {recording.path}"


def _replay(path: str, ctx: CommandContext):
    """Every conversation of the transcript through a fresh session on the same graph and
    model (dialogqa.dialogue.replay, as `dialogqa replay` does); the live one is untouched."""
    from dialogqa.dialogue.replay import compute_metrics, replay
    from dialogqa.dialogue.session import open_session
    from dialogqa.dialogue.transcript import read_transcripts

    live = ctx.session
    conversations = read_transcripts(path)
    done = 0

    def fresh(_conv):
        return open_session(live.kg, live.model, live.settings, retriever=live.retriever)

    def after_each(_conv) -> None:
        nonlocal done
        done += 1
        if ctx.stop_requested():
            raise Stopped()
        ctx.progress(f"/replay: {done} of {len(conversations)} conversations  (Esc stops)")

    replayed = replay(conversations, fresh, on_conversation=after_each)
    return tables.replay_table(path, compute_metrics(replayed))


def _export(session: Any, path: str | None) -> str:
    from dialogqa.dialogue.transcript import atomic_write
    from dialogqa.tui.export import conversation_markdown

    conv = session.conversation
    if not conv.turns:
        raise UserError("nothing to export yet: ask a question first")
    target = Path(path or f"{conv.id}.md").expanduser()
    recorded_in = getattr(session.recording, "path", None)
    text = conversation_markdown(conv, label=session.kg.label,
                                 recorded_in=str(recorded_in) if recorded_in else "",
                                 graph=[str(f) for f in session.kg_files])
    try:
        atomic_write(target, text)
    except OSError as exc:
        raise UserError(f"/export {target}: cannot write it: {exc.strerror or exc}") from None
    return f"exported {len(conv.turns)} turns to {target.resolve()}"


def _sessions(name: str, args: tuple[str, ...], ctx: CommandContext) -> Outcome:
    from dialogqa.tui import history
    from dialogqa.tui.sessions import sessions_dir

    folder = ctx.sessions_folder or sessions_dir()
    if name == "sessions":
        if args:
            text = " ".join(args)
            return Outcome(tables.hits_table(history.search(folder, text), text))
        return Outcome(tables.sessions_table(history.recorded_conversations(folder), folder))
    found = history.find_conversation(folder, args[0])
    session = ctx.session
    # recorded chats go on in the conversation's own file; an unrecorded one stays unrecorded
    recorded = session.recording is not None
    session.open_conversation(found.conversation)
    if recorded:
        from dialogqa.dialogue.transcript import Recording

        session.recording = Recording(found.path, resume=found.conversation.id)
    turns = len(found.conversation.turns)
    return Outcome(f"opened conversation {found.id} ({turns} turns) from {found.path}",
                   clear=True, opened=True)

"""The terminal chat: a window over a ``DialogueSession``, nothing more.

The session owns history, focus, retrieval and the model; this app only shows what it
returns. Everything that can take time runs off the UI thread and reaches the widgets
through ``call_from_thread``: answers and slash commands in thread workers, one job at a
time (questions typed meanwhile wait in a queue, so nothing is lost and answers stay in the
order they were asked); the start-up load of graph and model in a daemon thread.

``create_app`` is the one way to build the app: the ``chat`` command and the tests share it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from dialogqa.errors import UserError
from dialogqa.tui import slash
from dialogqa.tui.widgets import BotMessage, FocusPanel, Note, UserMessage

# The factory the app calls in a worker at start-up. It gets ``progress(message, kg=None)``
# to say what it is doing (and to show the graph as soon as it is open) and returns the
# session; a UserError it raises ends the app with that message.
SessionFactory = Callable[[Callable[..., None]], Any]
GraphOpener = Callable[..., Any]  # open_kg(files=..., store=..., endpoint=...) -> KnowledgeGraph

WELCOME = "Ask a question about the graph. /help lists the commands."


@dataclass(frozen=True)
class _Job:
    kind: str  # "ask" or a slash command name
    text: str = ""
    args: tuple[str, ...] = ()


class ChatApp(App):
    """Build it with ``create_app``."""

    CSS_PATH = "app.tcss"
    TITLE = "dialogqa"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("escape", "cancel", "Stop answer"),
        Binding("ctrl+o", "toggle_evidence", "Evidence"),
        # The input keeps the focus, so the log scrolls from the keyboard through these.
        Binding("pageup", "scroll_log(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll_log(1)", "Scroll down", show=False),
    ]

    def __init__(self, session: Any = None, factory: SessionFactory | None = None,
                 open_graph: GraphOpener | None = None, show_evidence: bool = True) -> None:
        super().__init__()
        self.session = session
        self._factory = factory
        self._open_graph = open_graph or _open_kg_quietly
        self.show_evidence = show_evidence
        self._jobs: deque[_Job] = deque()
        self._busy = False
        self._status = ""  # what the status line says now
        self._idle_status = "ready"  # what it says between jobs: the last turn's latency
        self.startup_error: str | None = None  # set when loading failed; the CLI reports it

    # ---- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("dialogqa · loading graph…"), id="header")
        with Horizontal(id="body"):
            yield VerticalScroll(id="log")
            yield FocusPanel()
        yield Static(Text(""), id="status")
        yield Input(placeholder="Ask about the graph, or /help", id="prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(not self.show_evidence, "-hide-evidence")
        self.query_one("#prompt", Input).focus()
        # Stay scrolled to the newest message while it grows, until the person scrolls up.
        self.query_one("#log", VerticalScroll).anchor()
        self._add_to_log(Note(WELCOME))
        if self.session is not None:
            self._session_ready(self.session, self._graph_info(self.session.kg))
        else:
            self._set_status("loading…")
            # A plain daemon thread, not a worker: loading a model cannot be interrupted, and
            # a worker thread would hold Ctrl+Q until the load finished (10 s and more).
            threading.Thread(target=self._load, name="dialogqa-load", daemon=True).start()

    # ---- start-up -------------------------------------------------------------------

    def _load(self) -> None:
        def progress(message: str, kg: Any = None) -> None:
            if kg is not None:
                self._from_thread(self._show_graph, self._graph_info(kg))
            self._from_thread(self._set_status, message)

        try:
            session = self._factory(progress)
        except Exception as exc:  # the window cannot work without a session: leave with the reason
            self._from_thread(self._fail_start, _one_line(exc))
            return
        self._from_thread(self._session_ready, session, self._graph_info(session.kg))

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> Any:
        """``call_from_thread`` that does nothing once the window has closed (Ctrl+Q while
        the model loads or an answer is being written)."""
        if self._exit or not self.is_running:
            return None
        try:
            return self.call_from_thread(callback, *args)
        except RuntimeError:  # closed between the check and the call
            return None

    def _fail_start(self, message: str) -> None:
        self.startup_error = message
        self.exit(return_code=2)

    def _session_ready(self, session: Any, graph_info: str) -> None:
        self.session = session
        self._show_graph(graph_info)
        self._set_status("ready")
        self._next_job()

    # ---- input ----------------------------------------------------------------------

    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if not text:
            return
        if slash.is_command(text):
            try:
                cmd = slash.parse_command(text)
            except UserError as exc:
                self._add_to_log(Note(str(exc), error=True))
                return
            # These touch only the window, so they never wait behind an answer.
            if cmd.name == "quit":
                self.exit()
                return
            if cmd.name == "help":
                self._show_help()
                return
            if cmd.name == "evidence":
                self.action_toggle_evidence()
                return
            self._jobs.append(_Job(cmd.name, text, cmd.args))
        else:
            self._jobs.append(_Job("ask", text))
        self._next_job()

    def _next_job(self) -> None:
        if self._busy or self.session is None:
            self._refresh_queue_status()
            return
        if not self._jobs:
            return
        job = self._jobs.popleft()
        self._busy = True
        self.query_one("#prompt", Input).add_class("-busy")
        if job.kind == "ask":
            self._set_status("answering…  (Esc stops)")
            self._answer(job.text)
        else:
            self._set_status(f"/{job.kind}…")
            self._run_command(job)

    def _job_done(self, status: str | None = None) -> None:
        """``status``: the new idle status (a turn's latency); commands leave it as it was."""
        self._busy = False
        self.query_one("#prompt", Input).remove_class("-busy")
        if status is not None:
            self._idle_status = status
        self._set_status(self._idle_status)
        self._next_job()

    def _refresh_queue_status(self) -> None:
        if self._jobs:
            n = len(self._jobs)
            self.query_one("#status", Static).update(
                Text(f"{self._status}  ·  {n} waiting", style="dim"))

    # ---- answering ------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="turn")
    def _answer(self, text: str) -> None:
        worker = get_current_worker()
        bubble: BotMessage | None = self._from_thread(self._start_answer, text)
        if bubble is None:  # the window closed before the turn began
            return
        turn, error, stopped, stream = None, None, False, None
        try:
            stream = self.session.ask_stream(text)
            for piece in stream:
                if worker.is_cancelled:
                    stopped = True
                    break
                if isinstance(piece, str):
                    self._from_thread(self._append, bubble, piece)
                else:
                    turn = piece
        except Exception as exc:  # a failed turn is reported in the log; the conversation goes on
            error = _one_line(exc)
        finally:
            close = getattr(stream, "close", None) if stream is not None else None
            if close is not None:  # lets the session end a turn that was stopped midway
                close()
        focus = self._focus_labels() if turn is not None else None
        self._from_thread(self._finish_answer, bubble, turn, error, stopped, focus)

    async def _start_answer(self, text: str) -> BotMessage:
        bubble = BotMessage()
        self.query_one("#log", VerticalScroll).anchor()  # a new question brings the view back down
        await self._add_to_log(UserMessage(text), bubble)
        return bubble

    def _append(self, bubble: BotMessage, piece: str) -> None:
        bubble.append(piece)

    def _finish_answer(self, bubble: BotMessage, turn: Any, error: str | None, stopped: bool,
                       focus: list[str] | None) -> None:
        if turn is not None:
            bubble.finish(turn.answer, turn.evidence, turn.abstained)
            if focus is not None:
                self.query_one(FocusPanel).show(focus)
            status = _timing_status(turn.timings)
        else:
            bubble.finish(bubble.answer.text, [], False, note="stopped" if stopped else "failed")
            status = "stopped" if stopped else "ready"
        if error:
            self._add_to_log(Note(error, error=True))
        self._job_done(status)

    def _focus_labels(self) -> list[str]:
        """Labels of the focus entities; runs in the worker since a label may be a remote query."""
        session = self.session
        out = []
        for term in list(getattr(session, "focus", []) or [])[:8]:
            try:
                out.append(session.kg.label(term))
            except Exception:  # a label is decoration: show the raw term instead
                out.append(str(term))
        return out

    # ---- slash commands that touch the session ------------------------------------

    @work(thread=True, exit_on_error=False, group="command")
    def _run_command(self, job: _Job) -> None:
        try:
            message, graph_info, clear = self._do_command(job)
        except Exception as exc:  # bad file, bad RDF, unreachable endpoint: say it, keep going
            self._from_thread(self._command_failed, _one_line(exc))
            return
        self._from_thread(self._command_done, message, graph_info, clear)

    def _do_command(self, job: _Job) -> tuple[str, str | None, bool]:
        session = self.session
        if job.kind in ("kg", "store", "endpoint"):
            if job.kind == "kg":
                kg = self._open_graph(files=list(job.args))
            elif job.kind == "store":
                kg = self._open_graph(store=job.args[0])
            else:
                kg = self._open_graph(endpoint=job.args[0])
            old = session.kg
            if job.kind == "kg":  # the recording names the graph files it was made on
                session.set_graph(kg, kg_files=list(job.args))
            else:
                session.set_graph(kg)
            if old is not kg and hasattr(old, "close"):
                old.close()
            info = self._graph_info(kg)
            return f"graph: {info} (conversation kept)", info, False
        if job.kind == "reset":
            session.reset()
            return "conversation reset", None, True
        if job.kind == "record":
            path = job.args[0]
            session.record_to(path)  # the turns so far, then each new one
            return f"recording to {path}", None, False
        raise UserError(f"/{job.kind} is not handled here")  # parse_command and this list drifted

    def _command_done(self, message: str, graph_info: str | None, clear: bool) -> None:
        if clear:
            self.query_one("#log", VerticalScroll).remove_children()
            self.query_one(FocusPanel).show([])
        if graph_info is not None:
            self._show_graph(graph_info)
        self._add_to_log(Note(message))
        self._job_done()

    def _command_failed(self, message: str) -> None:
        self._add_to_log(Note(message, error=True))
        self._job_done()

    # ---- actions --------------------------------------------------------------------

    def action_cancel(self) -> None:
        for worker in self.workers:
            if worker.group == "turn" and worker.is_running:
                worker.cancel()

    def action_scroll_log(self, direction: int) -> None:
        log = self.query_one("#log", VerticalScroll)
        if direction < 0:
            log.scroll_page_up(animate=False)
        else:
            log.scroll_page_down(animate=False)

    def action_toggle_evidence(self) -> None:
        self.show_evidence = not self.show_evidence
        self.set_class(not self.show_evidence, "-hide-evidence")
        self._add_to_log(Note("evidence shown" if self.show_evidence else "evidence hidden"))

    def _show_help(self) -> None:
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, style="bold")
        table.add_column()
        for usage, help_ in slash.help_lines():
            table.add_row(usage, help_)
        table.add_row("Esc", "stop the answer being written")
        table.add_row("Ctrl+O", "show or hide evidence (like /evidence)")
        self._add_to_log(Note(table))

    # ---- helpers --------------------------------------------------------------------

    def _add_to_log(self, *widgets):
        return self.query_one("#log", VerticalScroll).mount(*widgets)

    def _set_status(self, text: str) -> None:
        self._status = text
        self.query_one("#status", Static).update(Text(text, style="dim"))
        self._refresh_queue_status()

    def _show_graph(self, info: str) -> None:
        self.query_one("#header", Static).update(Text(f"dialogqa · {info}"))

    @staticmethod
    def _graph_info(kg: Any) -> str:
        name = getattr(kg, "name", "graph")
        try:
            return f"{name} · {kg.count():,} triples"
        except Exception:  # an endpoint may refuse to count: the name is enough
            return name


def create_app(source: Any, *, open_graph: GraphOpener | None = None,
               show_evidence: bool = True) -> ChatApp:
    """The chat app over a ready ``DialogueSession`` or over a factory that builds one.

    A factory (any callable) runs in a worker once the window is up, so the window appears at
    once while the graph and the model load; it is called as ``factory(progress)`` where
    ``progress(message, kg=None)`` updates the status line (and the header, given the graph).
    ``open_graph`` opens the graphs of /kg, /store and /endpoint (default: ``open_kg``).
    """
    if callable(source) and not hasattr(source, "ask_stream"):
        return ChatApp(factory=source, open_graph=open_graph, show_evidence=show_evidence)
    return ChatApp(session=source, open_graph=open_graph, show_evidence=show_evidence)


def _open_kg_quietly(**kwargs):
    from dialogqa.kg.base import open_kg

    return open_kg(progress=False, **kwargs)  # a progress bar would draw over the window


def _timing_status(timings: dict[str, float]) -> str:
    def ms(name: str) -> float | None:  # the session writes "total_ms"; Turn's doc says "total"
        value = timings.get(f"{name}_ms", timings.get(name))
        return None if value is None else float(value)

    parts = []
    for name, caption in (("total", "last turn"), ("first_token", "first token"),
                          ("retrieve", "retrieval")):
        value = ms(name)
        if value is not None:
            parts.append(f"{caption} {value:.0f} ms")
    return "  ·  ".join(parts) or "ready"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__: Sequence[str] = ("ChatApp", "create_app")

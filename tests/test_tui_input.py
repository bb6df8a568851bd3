"""The chat habits people bring from oterm and Elia, driven through the window: multi-line
input, Up/Down through earlier inputs, /retry, the Ctrl+P palette, list answers, /export."""

from __future__ import annotations

import pytest

from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.tui.app import create_app
from dialogqa.tui.prompt import PromptArea
from dialogqa.tui.widgets import BotMessage, Evidence, UserMessage
from tui_fixtures import (CAPITAL, OTHER, POPULATION, SIZE, answers, app_test, ask, errors, log_texts,
                          make_session, notes, panel_text, screen_text, settle, until_idle, wait_until,
                          write_graph)

LANGUAGES = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Norway rdfs:label "Norway"@en ; ex:language ex:Norwegian, ex:Sami, ex:Kven ; ex:capital ex:Oslo .
ex:Norwegian rdfs:label "Norwegian"@en . ex:Sami rdfs:label "Sami"@en . ex:Kven rdfs:label "Kven"@en .
ex:Oslo rdfs:label "Oslo"@en .
ex:language rdfs:label "official language"@en .
ex:capital rdfs:label "capital"@en .
"""
LIST_REPLY = ("The official languages are Norwegian, Sami and Kven.",
              {"Norwegian": 0.95, "Sami": 0.9, "Kven": 0.85})


@pytest.fixture
def graph_file(tmp_path):
    return write_graph(tmp_path)


def prompt(app) -> PromptArea:
    return app.query_one("#prompt", PromptArea)


@app_test
async def test_enter_sends_and_shift_enter_ctrl_j_alt_enter_make_new_lines(graph_file):
    # (a real terminal reports Alt+Enter only with the kitty protocol; Ctrl+J works everywhere)
    session = make_session(graph_file, CAPITAL)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"What is")
        await pilot.press("shift+enter", *"the capital", "ctrl+j", *"of", "alt+enter", *"Norway?")
        assert prompt(app).value == "What is\nthe capital\nof\nNorway?"
        assert prompt(app).outer_size.height == 4 + 2  # the input grows with its lines (and its border)
        assert not session.history  # nothing sent yet
        await pilot.press("enter")
        await settle(pilot)
        assert log_texts(app, UserMessage) == ["What is\nthe capital\nof\nNorway?"]
        assert answers(app) == ["The capital of Norway is Oslo."]
        assert prompt(app).value == "" and prompt(app).outer_size.height == 3


@app_test
async def test_up_and_down_walk_through_earlier_inputs_from_the_first_and_last_line(graph_file):
    app = create_app(make_session(graph_file, CAPITAL, POPULATION))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "/kg info")
        await ask(pilot, "How many people live there?")
        await pilot.press(*"draft")
        await pilot.press("up")
        assert prompt(app).value == "How many people live there?"
        await pilot.press("up", "up")
        assert prompt(app).value == "What is the capital of Norway?"
        await pilot.press("up")  # the oldest: stays
        assert prompt(app).value == "What is the capital of Norway?"
        await pilot.press("down", "down", "down")
        assert prompt(app).value == "draft"  # what was being typed comes back
        # in a multi-line input Up and Down move between its lines first
        prompt(app).value = "line one\nline two"
        await pilot.press("up")
        assert prompt(app).value == "line one\nline two" and prompt(app).cursor_location[0] == 0
        await pilot.press("up")
        assert prompt(app).value == "How many people live there?"


@app_test
async def test_retry_after_kg_load_replaces_the_last_answer(graph_file, tmp_path):
    other = write_graph(tmp_path, OTHER, "other.ttl")
    record = tmp_path / "chat.jsonl"
    session = make_session(graph_file, ("The capital of Peru is Lima.", {"Lima": 0.9}), record=record)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/retry")
        assert errors(app) == ["nothing to retry: ask a question first"]
        await ask(pilot, "What is the capital of Peru?")  # not in the tiny graph
        assert app.query_one(BotMessage).has_class("abstained")
        await ask(pilot, f"/kg load {other}")
        await ask(pilot, "/retry")
        await until_idle(pilot)
        # one question, one answer: the new one, marked; the panel shows it
        assert log_texts(app, UserMessage) == ["What is the capital of Peru?"]
        assert answers(app) == ["The capital of Peru is Lima."]
        (bubble,) = app.query(BotMessage)
        assert bubble.border_subtitle == "retried" and not bubble.has_class("abstained")
        assert "Peru · capital · Lima" in panel_text(app, "facts")
        assert panel_text(app, "answer").startswith("Answer 1 of 1")
    (conv,) = read_transcripts(record)  # the recording holds the new turn in place of the old
    assert [(t.user, t.answer) for t in conv.turns] == [("What is the capital of Peru?",
                                                         "The capital of Peru is Lima.")]


@app_test
async def test_ctrl_p_palette_lists_commands_and_keys_and_runs_them(graph_file):
    app = create_app(make_session(graph_file, CAPITAL))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the capital of Norway?")
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: "CommandPalette" in type(app.screen).__name__)
        await pilot.press(*"export")
        await wait_until(pilot, lambda: "/export [FILE.md]" in screen_text(app))
        assert "write the conversation as Markdown" in screen_text(app)
        await pilot.press("enter")  # needs a file name: typed on in the input
        await wait_until(pilot, lambda: prompt(app).value == "/export ")
        assert prompt(app).has_focus
        prompt(app).value = ""
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: "CommandPalette" in type(app.screen).__name__)
        await pilot.press(*"/help")
        await wait_until(pilot, lambda: "show these commands and keys" in screen_text(app))
        await pilot.press("enter")  # no argument: it runs
        await wait_until(pilot, lambda: any("Ctrl+P" in n for n in notes(app)))
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: "CommandPalette" in type(app.screen).__name__)
        await pilot.press(*"new conversation")
        await wait_until(pilot, lambda: "key: Ctrl+N" in screen_text(app))
        await pilot.press("enter")  # a key's action
        await until_idle(pilot)
        assert notes(app) == ["new conversation"] and not answers(app)


@app_test
async def test_list_answer_is_a_markdown_list_and_the_panel_groups_its_facts(tmp_path):
    graph = write_graph(tmp_path, LANGUAGES, "langs.ttl")
    app = create_app(make_session(graph, LIST_REPLY))
    async with app.run_test(size=(120, 30)) as pilot:
        await ask(pilot, "What are the official languages of Norway?")
        bubble = app.query_one(BotMessage)
        assert bubble.text == LIST_REPLY[0]  # copied as written
        assert bubble.body.source == "The official languages are:\n\n- Norwegian\n- Sami\n- Kven"
        assert "• Norwegian" in screen_text(app) or "• Sami" in screen_text(app)
        assert log_texts(app, Evidence) == ["  Norway · official language · Norwegian, Sami, Kven"]
        assert panel_text(app, "facts") == ("Cited facts (score)\nNorway · official language · (3)\n"
                                            "  0.95 Norwegian\n  0.90 Sami\n  0.85 Kven")
        await pilot.press("ctrl+r")  # IRIs: subject and predicate once, each value's own
        facts = panel_text(app, "facts")
        assert facts.count("<http://example.org/Norway>") == 1
        assert "  0.90 Sami\n    <http://example.org/Sami>" in facts


@app_test
async def test_export_writes_the_conversation_as_markdown(graph_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(graph_file, CAPITAL, POPULATION)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "/export")
        assert errors(app) == ["nothing to export yet: ask a question first"]
        await ask(pilot, "What is the capital of Norway?")
        await ask(pilot, "How many people live there?")
        await ask(pilot, "/export out/chat.md")
        target = tmp_path / "out" / "chat.md"
        assert notes(app)[-1] == f"exported 2 turns to {target}"
        await ask(pilot, "/export")  # default: the conversation's id, here
        assert (tmp_path / f"{session.conversation.id}.md").exists()
    text = target.read_text()
    assert f"- graph: `{graph_file}`\n" in text  # where the graph is, from anywhere
    assert "## 1. What is the capital of Norway?\n\nThe capital of Norway is Oslo.\n" in text
    assert "- Norway · capital · Oslo  \n  <http://example.org/Norway>" in text
    assert "## 2. How many people live there?" in text and "Norway · population · 5400000" in text

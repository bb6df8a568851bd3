"""The logic behind the chat habits, without a window: list answers, the Markdown export, the
recorded sessions (list, find, search, the `dialogqa sessions` command), the input history,
/retry in the session, the command palette's entries."""

from __future__ import annotations

import pytest
from rdflib.term import URIRef

from dialogqa.commands.cli import main
from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.errors import UserError
from dialogqa.records import Fact
from dialogqa.tui import history, palette
from dialogqa.tui.answers import answer_markdown, group_facts
from dialogqa.tui.app import ChatApp
from dialogqa.tui.export import conversation_markdown
from dialogqa.tui.prompt import InputHistory
from tui_fixtures import CAPITAL, POPULATION, make_session, write_graph

EX = "http://example.org/"


def fact(s, p, o, score=0.9):
    return Fact(URIRef(EX + s), URIRef(EX + p), URIRef(EX + o), s, p.replace("_", " "), o, score)


LANGS = [fact("Norway", "official_language", "Norwegian"), fact("Norway", "capital", "Oslo"),
         fact("Norway", "official_language", "Sami", 0.8), fact("Norway", "official_language", "Kven", 0.7)]


@pytest.fixture
def graph_file(tmp_path):
    return write_graph(tmp_path)


def test_facts_of_one_subject_and_predicate_are_grouped_in_their_order():
    groups = group_facts(LANGS)
    assert [[f.o_label for f in g] for g in groups] == [["Norwegian", "Sami", "Kven"], ["Oslo"]]


def test_list_answer_becomes_a_markdown_list_other_answers_stay_as_written():
    answer = "The official languages are Sami, Norwegian and Kven."
    assert answer_markdown(answer, LANGS) == "The official languages are:\n\n- Sami\n- Norwegian\n- Kven"
    assert answer_markdown("Sami, Norwegian, Kven", LANGS) == "- Sami\n- Norwegian\n- Kven"
    # one value named only, or one fact cited: not a list
    assert answer_markdown("Norwegian.", LANGS) == "Norwegian."
    assert answer_markdown("The capital is Oslo.", LANGS[1:2]) == "The capital is Oslo."
    # a value that reads as Markdown is shown as typed
    star = [fact("X", "p", "*a*"), fact("X", "p", "b")]
    assert answer_markdown("*a* and b", star) == "- \\*a\\*\n- b"


def recorded(tmp_path, graph_file, name="a.jsonl", *replies, questions=()):
    session = make_session(graph_file, *replies, record=tmp_path / "sessions" / name)
    for q in questions:
        session.ask(q)
    return session


def test_export_markdown_names_each_answer_and_its_cited_facts_with_labels_and_iris(tmp_path, graph_file):
    session = recorded(tmp_path, graph_file, "a.jsonl", CAPITAL,
                       questions=["What is the capital of Norway?", "What is its anthem?"])
    (conv,) = read_transcripts(session.recording.path)  # recorded: IRIs only
    text = conversation_markdown(conv, label=session.kg.label, recorded_in="a.jsonl")
    assert text.startswith(f"# dialogqa conversation {conv.id}\n\n- graph: `../tiny.ttl`\n"
                           "- recorded in: `a.jsonl`\n- turns: 2\n")
    assert ("## 1. What is the capital of Norway?\n\nThe capital of Norway is Oslo.\n\nCited facts:\n\n"
            "- Norway · capital · Oslo  \n"
            "  <http://example.org/Norway> <http://example.org/capital> <http://example.org/Oslo>\n") in text
    assert "## 2. What is its anthem?\n\n*" in text and "(not in the graph)" in text
    # without a graph the IRIs' local names label the facts
    assert "- Norway · capital · Oslo  \n" in conversation_markdown(conv)


def test_export_markdown_of_a_list_answer_and_a_multi_line_question():
    from dialogqa.dialogue.transcript import Conversation
    from dialogqa.records import Turn

    turn = Turn("Which languages\nare official in Norway?", "Norwegian, Sami and Kven.",
                evidence=LANGS[:1] + LANGS[2:])
    text = conversation_markdown(Conversation("c1", [turn]))
    assert "## 1. Which languages are official in Norway?\n\n> Which languages\n> are official in Norway?\n" in text
    assert "\n- Norwegian\n- Sami\n- Kven\n\nCited facts:" in text


def test_recorded_conversations_found_by_id_part_and_searched(tmp_path, graph_file):
    first = recorded(tmp_path, graph_file, "a.jsonl", CAPITAL, questions=["What is the capital of Norway?"])
    first.reset()
    first.conversation.id = "chat-x-bbbb"
    first.model.enqueue(*POPULATION)
    first.ask("How many people live in Norway?")
    folder = tmp_path / "sessions"
    every = history.recorded_conversations(folder)
    assert [r.id for r in every][0] == "chat-x-bbbb"  # newest first: the later line
    assert history.find_conversation(folder, "bbbb").id == "chat-x-bbbb"
    with pytest.raises(UserError, match="matches 2 conversations"):
        history.find_conversation(folder, "chat-")
    with pytest.raises(UserError, match="no conversation 'zzz'"):
        history.find_conversation(folder, "zzz")
    hits = history.search(folder, "norway CAPITAL")
    assert [(h.recorded.id, h.turn, h.who) for h in hits] == [(every[1].id, 1, "you"), (every[1].id, 1, "bot")]
    assert [h.snippet for h in history.search(folder, "5,400,000")] == ["About 5,400,000 people live there."]
    assert history.snippet("x" * 50 + "needle" + "y" * 50, 50, width=20) == "…xxxxxxneedleyyyyyyyy…"


def test_sessions_command_lists_shows_searches_and_exports(tmp_path, graph_file, capsys):
    session = recorded(tmp_path, graph_file, "a.jsonl", CAPITAL, questions=["What is the capital of Norway?"])
    cid, folder = session.conversation.id, str(tmp_path / "sessions")
    assert main(["sessions", "list", "--sessions-dir", folder]) == 0
    out = capsys.readouterr().out
    assert cid in out and "What is the capital of Norway?" in out
    assert main(["sessions", "show", cid[-6:], "--sessions-dir", folder]) == 0
    out = capsys.readouterr().out
    assert "  1  you  What is the capital of Norway?\n     bot  The capital of Norway is Oslo." in out
    assert "cites Norway · capital · Oslo" in out
    assert main(["sessions", "search", "oslo", "--sessions-dir", folder]) == 0
    assert capsys.readouterr().out == f"{cid}  turn 1  bot: The capital of Norway is Oslo.\n"
    assert main(["sessions", "search", "lima", "--sessions-dir", folder]) == 1
    # export: labels from the graph the recording names (../tiny.ttl, found next to it)
    assert main(["sessions", "export", cid, "--sessions-dir", folder]) == 0
    assert "- Norway · capital · Oslo  \n  <http://example.org/Norway>" in capsys.readouterr().out
    assert main(["sessions", "export", cid, "--sessions-dir", folder, "--kg", str(graph_file)]) == 0
    assert f"- graph: `{graph_file}`" in capsys.readouterr().out
    out_file = tmp_path / "c.md"
    assert main(["sessions", "export", cid, "-o", str(out_file), "--sessions-dir", folder]) == 0
    assert out_file.read_text().startswith(f"# dialogqa conversation {cid}")
    assert main(["sessions", "show", "nope", "--sessions-dir", folder]) == 2
    assert "no conversation 'nope'" in capsys.readouterr().err


def test_input_history_walks_back_and_forward_and_keeps_the_draft():
    inputs = InputHistory(["first", "second", "second", ""])
    assert inputs.entries == ["first", "second"]
    assert inputs.forward() is None  # already on the draft
    assert inputs.back("half typed") == "second"
    assert inputs.back("second") == "first"
    assert inputs.back("first") is None  # the oldest
    assert inputs.forward() == "second"
    assert inputs.forward() == "half typed"  # the draft comes back
    inputs.add("third")
    assert inputs.back("") == "third"


def test_retry_replaces_the_last_turn_in_history_and_recording(tmp_path, graph_file):
    session = recorded(tmp_path, graph_file, "a.jsonl", ("Stockholm.", {"capital": 0.9}), CAPITAL,
                       questions=["What is the capital of Norway?"])
    with pytest.raises(UserError, match="nothing to retry"):
        make_session(graph_file).retry_stream()
    pieces = list(session.retry_stream())
    assert pieces[-1].answer == "The capital of Norway is Oslo." and len(session.history) == 1
    assert "".join(p for p in pieces if isinstance(p, str)).strip() == "The capital of Norway is Oslo."
    (conv,) = read_transcripts(session.recording.path)
    assert [t.answer for t in conv.turns] == ["The capital of Norway is Oslo."]
    # stopped midway: the last turn stays
    session.model.enqueue("Bergen is it.", relevance={"capital": 0.9})
    stream = session.retry_stream()
    next(stream)
    stream.close()
    assert [t.answer for t in session.history] == ["The capital of Norway is Oslo."]


def test_palette_entries_are_the_slash_commands_then_the_keys():
    entries = palette.entries(ChatApp.KEYS_HELP)
    by_text = {e.text: e for e in entries}
    assert by_text["/help"].ready and by_text["/help"].command == "/help"
    assert by_text["/export [FILE.md]"].command == "/export " and not by_text["/export [FILE.md]"].ready
    assert by_text["/retry"].ready
    assert by_text["new conversation (like /reset)"].action == "new_conversation"
    assert by_text["new conversation (like /reset)"].help == "key: Ctrl+N"
    assert "send the question or command" not in by_text  # keys without an action: /help only

"""Every chat is recorded in the sessions folder as it happens; ``chat --resume`` continues
the last one. The ``chat`` command's factory is driven with a scripted model in place of the
real loader; every folder is a tmp dir (never the real home)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogqa.commands.cli import build_parser, main
from dialogqa.dialogue.transcript import read_transcripts
from dialogqa.errors import UserError
from scripted import ScriptedModel
from dialogqa.tui.app import create_app
from dialogqa.commands.chat import describe_model, session_factory
from dialogqa.tui.sessions import last_conversation, sessions_dir
from dialogqa.tui.widgets import Evidence, UserMessage
from tui_fixtures import (CAPITAL, POPULATION, SIZE, answers, app_test, ask, errors, log_texts,
                          make_session, notes, panel_text, until_idle, wait_until, write_graph)


@pytest.fixture
def graph_file(tmp_path):
    return write_graph(tmp_path)


@pytest.fixture
def scripted(monkeypatch):
    """The model the chat command loads: a scripted one, with the replies a test queues."""
    model = ScriptedModel()
    loaded = []

    def fake_loader(model_dir=None, adapter_dir=None):
        loaded.append((model_dir, adapter_dir))
        return model

    monkeypatch.setattr("dialogqa.model.loading.load_chat_model", fake_loader)
    model.loaded = loaded
    return model


def chat_args(*argv):
    return build_parser().parse_args(["chat", *argv])


def test_sessions_folder_flag_then_environment_then_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DIALOGQA_SESSIONS", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert sessions_dir() == tmp_path / "home/.local/share/dialogqa/sessions"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert sessions_dir() == tmp_path / "data/dialogqa/sessions"
    monkeypatch.setenv("DIALOGQA_SESSIONS", str(tmp_path / "env"))
    assert sessions_dir() == tmp_path / "env"
    assert sessions_dir(str(tmp_path / "flag")) == tmp_path / "flag"


def test_chat_command_wires_flags_into_the_session(scripted, graph_file, tmp_path):
    out = tmp_path / "chat.jsonl"
    args = chat_args("--kg", str(graph_file), "--model", "m", "--adapter", "a", "--record", str(out))
    steps = []
    session = session_factory(args)(lambda message, kg=None: steps.append((message, kg and kg.name)))
    assert steps == [("opening graph…", None), ("loading model…", "memory: tiny.ttl")]
    assert scripted.loaded == [("m", "a")]
    assert session.kg.count() == 11
    scripted.enqueue(*CAPITAL)
    session.ask("What is the capital of Norway?")
    (conv,) = read_transcripts(out)
    assert conv.kg == ["tiny.ttl"]  # relative to the recording, which sits next to it
    assert [t.answer for t in conv.turns] == ["The capital of Norway is Oslo."]
    assert describe_model(args) == "m + adapter a"


@app_test
async def test_every_turn_is_recorded_in_the_sessions_folder_as_it_happens(scripted, graph_file,
                                                                          tmp_path):
    folder = tmp_path / "sessions"
    scripted.enqueue(*CAPITAL).enqueue(*POPULATION)
    app = create_app(session_factory(chat_args("--kg", str(graph_file), "--sessions-dir", str(folder))))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await until_idle(pilot)
        path = app.session.recording.path
        assert path.parent == folder and path.suffix == ".jsonl"
        assert notes(app)[-1] == f"recording to {path}"  # the path is shown
        assert str(app.query_one("#recording").content) == f"● rec {path.name}"
        await ask(pilot, "What is the capital of Norway?")
        assert [t.user for t in read_transcripts(path)[0].turns] == ["What is the capital of Norway?"]
        await ask(pilot, "How many people live there?")
        (conv,) = read_transcripts(path)  # flushed after each turn, while the window is open
        assert [t.answer for t in conv.turns] == ["The capital of Norway is Oslo.",
                                                  "About 5,400,000 people live there."]
        await pilot.press("ctrl+n")  # a new conversation: a new line in the same file
        await until_idle(pilot)
        scripted.enqueue(*CAPITAL)
        await ask(pilot, "What is the capital of Norway?")
    first, second = read_transcripts(path)
    assert (len(first.turns), len(second.turns)) == (2, 1) and first.id != second.id


@app_test
async def test_resume_continues_the_last_conversation(scripted, graph_file, tmp_path):
    folder = tmp_path / "sessions"
    scripted.enqueue(*CAPITAL)
    first = create_app(session_factory(chat_args("--kg", str(graph_file), "--sessions-dir", str(folder))))
    async with first.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: first.session is not None)
        await ask(pilot, "What is the capital of Norway?")
    (path,) = folder.glob("*.jsonl")
    conv_id = read_transcripts(path)[0].id

    # a second window with --resume: the history is back in the session and in the log
    args = chat_args("--kg", str(graph_file), "--sessions-dir", str(folder), "--resume")
    resume = last_conversation(sessions_dir(args.sessions_dir))
    assert resume[0] == path
    scripted.enqueue(*POPULATION)
    app = create_app(session_factory(args, resume))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        await until_idle(pilot)
        assert f"resumed conversation {conv_id} (1 turns)" in notes(app)
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?"]
        assert answers(app) == ["The capital of Norway is Oslo."]
        # the evidence read back from the transcript is shown with the graph's labels
        assert log_texts(app, Evidence) == ["  Norway · capital · Oslo"]
        assert "Norway · capital · Oslo" in panel_text(app, "facts")
        await ask(pilot, "How many people live there?")  # "there": the focus came back too
        assert answers(app)[-1] == "About 5,400,000 people live there."
        assert "What is the capital of Norway?" in scripted.calls[-1].prompt  # history in the prompt
    (conv,) = read_transcripts(path)  # the same conversation, continued in its own line
    assert conv.id == conv_id and len(conv.turns) == 2


def test_resume_with_nothing_recorded_fails_before_the_window(capsys, graph_file, tmp_path):
    empty = tmp_path / "none"
    assert main(["chat", "--kg", str(graph_file), "--sessions-dir", str(empty), "--resume"]) == 2
    assert capsys.readouterr().err == (f"dialogqa: error: --resume: no recorded conversation in "
                                       f"{empty} (start one without --resume)\n")
    with pytest.raises(UserError):
        last_conversation(Path(empty))


def test_chat_command_missing_file_fails_before_the_window(capsys, tmp_path):
    assert main(["chat", "--kg", str(tmp_path / "nope.ttl")]) == 2
    assert capsys.readouterr().err == f"dialogqa: error: {tmp_path / 'nope.ttl'}: no such file\n"


@app_test
async def test_closest_facts_are_shown_but_never_recorded(graph_file, tmp_path):
    from tui_fixtures import make_session

    out = tmp_path / "chat.jsonl"
    session = make_session(graph_file, ("unused", {"population": 0.3}), record=out)
    app = create_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "What is the anthem of Norway?")
        assert session.history[0].ranked[0].score == 0.3  # the closest facts the window shows
    line = out.read_text()
    assert '"evidence": []' in line and "ranked" not in line and "0.3" not in line


@app_test
async def test_sessions_lists_and_searches_and_open_continues_a_recorded_conversation(graph_file, tmp_path):
    folder = tmp_path / "sessions"
    old = make_session(graph_file, CAPITAL, record=folder / "old.jsonl")
    old.ask("What is the capital of Norway?")
    old_id = old.conversation.id
    session = make_session(graph_file, POPULATION, record=folder / "now.jsonl")
    app = create_app(session, sessions_folder=folder)
    async with app.run_test(size=(120, 30)) as pilot:
        await ask(pilot, "/sessions")
        listing = notes(app)[-1]
        assert "recorded conversations, newest first (/open ID)" in listing
        assert old_id in listing and "What is the capital of Norway?" in listing
        await ask(pilot, "/sessions oslo")
        assert "1 turns say 'oslo' (/open ID)" in notes(app)[-1] and "The capital of Norway is Oslo." in notes(app)[-1]
        await ask(pilot, "/open nope")
        assert "no conversation 'nope'" in errors(app)[-1]
        await ask(pilot, f"/open {old_id[-6:]}")
        await until_idle(pilot)
        assert notes(app) == [f"opened conversation {old_id} (1 turns) from {folder / 'old.jsonl'}"]
        assert log_texts(app, UserMessage) == ["What is the capital of Norway?"]
        assert log_texts(app, Evidence) == ["  Norway · capital · Oslo"]  # labels from the graph
        assert str(app.query_one("#recording").content) == "● rec old.jsonl"
        await pilot.press("up")  # its questions are the input's history now
        assert app.query_one("#prompt").value == "What is the capital of Norway?"
        app.query_one("#prompt").value = ""
        await ask(pilot, "How many people live there?")  # "there": its focus came back
        assert answers(app)[-1] == "About 5,400,000 people live there."
    (conv,) = read_transcripts(folder / "old.jsonl")  # continued in its own line
    assert conv.id == old_id and [t.user for t in conv.turns] == [
        "What is the capital of Norway?", "How many people live there?"]


def test_chat_open_flag_continues_a_conversation_by_id(scripted, graph_file, tmp_path, monkeypatch):
    folder = tmp_path / "sessions"
    old = make_session(graph_file, CAPITAL, record=folder / "old.jsonl")
    old.ask("What is the capital of Norway?")
    started = []

    def fake_create_app(factory, **kwargs):
        started.append((factory, kwargs))
        raise SystemExit(0)

    monkeypatch.setattr("dialogqa.tui.app.create_app", fake_create_app)
    with pytest.raises(SystemExit):
        main(["chat", "--kg", str(graph_file), "--sessions-dir", str(folder), "--open",
              old.conversation.id[-6:]])
    factory, kwargs = started[0]
    assert kwargs["sessions_folder"] == folder
    session = factory(lambda *a, **k: None)
    assert [t.user for t in session.history] == ["What is the capital of Norway?"]
    assert session.recording.path == folder / "old.jsonl"
    assert session.conversation.id == old.conversation.id
    assert main(["chat", "--kg", str(graph_file), "--sessions-dir", str(folder), "--open", "zzz"]) == 2

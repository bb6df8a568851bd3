"""``dialogqa chat``: the terminal chat window over a graph (the default world graph if none)."""

from __future__ import annotations

import argparse

from dialogqa.commands.options import (adapter_label, add_graph_args, add_model_args, check_model_numbers,
                                       describe_model, langs_from_args, load_model,
                                       open_graph_from_args, recorded_graph_files, session_settings)
from dialogqa.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "chat",
        help="chat with a knowledge graph in the terminal",
        description="Chat with a knowledge graph in a terminal window. With no graph given, "
                    "opens the shipped world graph. Inside the chat, /help lists the commands "
                    "(/kg load FILE..., /kg info, /sparql QUERY, /reset, /retry, /save [FILE], "
                    "/export [FILE.md], /sessions [TEXT], /open ID, /replay FILE, /model, /quit); "
                    "Ctrl+P lists them and the keys. Every conversation is recorded, turn by turn, in the sessions "
                    "folder (--sessions-dir, else $DIALOGQA_SESSIONS, else "
                    "$XDG_DATA_HOME/dialogqa/sessions); --resume continues the last one, --open ID "
                    "another (`dialogqa sessions list` shows them).",
    )
    add_graph_args(p)
    add_model_args(p)
    p.add_argument("--record", metavar="FILE.jsonl",
                   help="record into this transcript instead of a new file in the sessions folder")
    p.add_argument("--sessions-dir", metavar="DIR",
                   help="where conversations are recorded (default: $DIALOGQA_SESSIONS, else "
                        "$XDG_DATA_HOME/dialogqa/sessions, else ~/.local/share/dialogqa/sessions)")
    p.add_argument("--resume", action="store_true",
                   help="continue the last recorded conversation of the sessions folder")
    p.add_argument("--open", metavar="ID",
                   help="continue this recorded conversation (`dialogqa sessions list` shows them)")
    p.add_argument("--no-evidence", action="store_true", help="start with the evidence panel and cited facts hidden (Ctrl+O shows them)")
    p.set_defaults(handler=run_chat)


def session_factory(args: argparse.Namespace, resume=None):
    """What the window runs in the background at start-up: open the graph, load the model.
    ``resume``: (file, Conversation) to continue; else the chat records into ``--record`` or a
    new file of the sessions folder."""
    from dialogqa.tui.sessions import new_session_file, sessions_dir

    if resume is not None:
        record, conversation_id = resume[0], resume[1].id
    else:
        record = args.record or new_session_file(sessions_dir(args.sessions_dir))
        conversation_id = None

    def build(progress):
        from dialogqa.dialogue.session import open_session
        from dialogqa.dialogue.transcript import Recording

        progress("opening graph…")
        kg = open_graph_from_args(args, default_world=True)
        progress("loading model…", kg=kg)
        # the adapter shipped in the package unless one is named (the base model when none ships)
        model = load_model(args)
        session = open_session(kg, model, session_settings(args), kg_files=recorded_graph_files(args),
                               conversation_id=conversation_id)
        session.recording = Recording(record, resume=conversation_id)
        if resume is not None:
            session.load_history(resume[1].turns)
        return session

    return build


def graph_opener(args: argparse.Namespace):
    """Opens the graphs of /kg, /store and /endpoint with the language and format flags given."""
    langs = langs_from_args(args)

    def open_graph(files=(), store=None, endpoint=None):
        from dialogqa.kg.base import open_kg

        # No progress bar: it would draw over the window.
        return open_kg(files=files, store=store, endpoint=endpoint,
                       fmt=getattr(args, "rdf_format", None), langs=langs, progress=False)

    return open_graph


def run_chat(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dialogqa.tui.app import create_app

    # Caught here so a typo fails at once, not after the window has flashed up.
    check_model_numbers(args)
    for name in args.kg:
        if not Path(name).exists():
            raise UserError(f"{name}: no such file")

    from dialogqa.tui.sessions import last_conversation, sessions_dir

    resume = None
    if args.resume and args.open:
        raise UserError("give --resume (the last conversation) or --open ID, not both")
    if args.resume or args.open:
        if args.record:
            flag = "--resume" if args.resume else "--open"
            raise UserError(f"give {flag} (continue a recorded conversation) or --record FILE, not both")
    if args.resume:
        resume = last_conversation(sessions_dir(args.sessions_dir))
    elif args.open:
        from dialogqa.tui.history import find_conversation

        found = find_conversation(sessions_dir(args.sessions_dir), args.open)
        resume = (found.path, found.conversation)
    app = create_app(session_factory(args, resume), open_graph=graph_opener(args),
                     show_evidence=not args.no_evidence, model_info=describe_model(args),
                     adapter_label=adapter_label(args),
                     sessions_folder=sessions_dir(args.sessions_dir))
    app.run()
    if app.startup_error:
        raise UserError(app.startup_error)
    return app.return_code or 0

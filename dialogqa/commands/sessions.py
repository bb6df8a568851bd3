"""``dialogqa sessions list|show|search|export``: the chats recorded in the sessions folder.

The same folder the chat records into (``--sessions-dir``, else ``$DIALOGQA_SESSIONS``, else
``$XDG_DATA_HOME/dialogqa/sessions``); ``dialogqa chat --open ID`` or ``/open ID`` in the chat
continues one. Reading and searching live in history.py, the Markdown in export.py.
"""

from __future__ import annotations

import argparse
import sys

from dialogqa.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sessions", help="list, show, search and export the recorded chats",
        description="The conversations the chat recorded in the sessions folder. IDs may be "
                    "shortened to any part that names one conversation.")
    sub = p.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)

    def action(name: str, help_: str):
        q = sub.add_parser(name, help=help_, description=help_)
        q.add_argument("--sessions-dir", metavar="DIR",
                       help="where the chat records (default: $DIALOGQA_SESSIONS, else "
                            "$XDG_DATA_HOME/dialogqa/sessions)")
        return q

    action("list", "the recorded conversations, newest first").set_defaults(handler=run_list)
    q = action("show", "one conversation, question by question")
    q.add_argument("id", metavar="ID")
    q.set_defaults(handler=run_show)
    q = action("search", "the turns whose question or answer holds every word of TEXT")
    q.add_argument("text", nargs="+", metavar="TEXT")
    q.set_defaults(handler=run_search)
    q = action("export", "one conversation as Markdown, each answer's cited facts (labels and "
                         "IRIs) under it")
    q.add_argument("id", metavar="ID")
    q.add_argument("--out", "-o", metavar="FILE.md", help="write here (default: standard output)")
    q.add_argument("--kg", nargs="+", metavar="FILE",
                   help="graph files to label the facts with (default: the files the recording "
                        "names, when they are there; else IRI local names)")
    q.set_defaults(handler=run_export)


def _folder(args: argparse.Namespace):
    from dialogqa.tui.sessions import sessions_dir

    return sessions_dir(args.sessions_dir)


def run_list(args: argparse.Namespace) -> int:
    from dialogqa.tui.history import recorded_conversations

    folder = _folder(args)
    every = recorded_conversations(folder)
    if not every:
        print(f"no recorded conversation in {folder}", file=sys.stderr)
        return 0
    width = max(len(r.id) for r in every)
    print(f"{'id':<{width}}  {'when':<16}  turns  first question")
    for rec in every:
        print(f"{rec.id:<{width}}  {rec.when:<16}  {len(rec.conversation.turns):>5}  "
              f"{_cut(rec.first_question, 60)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.transcript import answered
    from dialogqa.kg.labels import fallback_label
    from dialogqa.tui.history import find_conversation

    rec = find_conversation(_folder(args), args.id)
    conv = rec.conversation
    graph = f" · graph {', '.join(str(p.resolve()) for p in conv.kg_paths())}" if conv.kg else ""
    print(f"{rec.id} · {len(conv.turns)} turns · {rec.when} · {rec.path}:{rec.line}{graph}")
    for number, turn in enumerate(conv.turns, 1):
        print(f"\n{number:>3}  you  {_indent(turn.user)}")
        if not answered(turn):
            print("     bot  (no answer)")
            continue
        print(f"     bot  {_indent(turn.answer)}" + ("  [not in the graph]" if turn.abstained else ""))
        for fact in turn.evidence:
            # the IRIs' local names: no graph is opened for a quick look (export labels them)
            print("          cites " + " · ".join(fallback_label(t) for t in fact.triple))
    return 0


def run_search(args: argparse.Namespace) -> int:
    from dialogqa.tui.history import search

    text = " ".join(args.text)
    hits = search(_folder(args), text)
    if not hits:
        print(f"no recorded turn says {text!r}", file=sys.stderr)
        return 1
    for hit in hits:
        print(f"{hit.recorded.id}  turn {hit.turn}  {hit.who}: {hit.snippet}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dialogqa.dialogue.transcript import atomic_write
    from dialogqa.tui.export import conversation_markdown
    from dialogqa.tui.history import find_conversation

    rec = find_conversation(_folder(args), args.id)
    files = [Path(f) for f in args.kg] if args.kg else [
        p for p in rec.conversation.kg_paths() if p.exists()]
    for f in files:
        if not f.exists():
            raise UserError(f"--kg {f}: no such file")
    label = None
    if files:
        from dialogqa.kg.base import open_kg

        label = open_kg(files=[str(f) for f in files], progress=False).label
    graph = [str(p.resolve()) for p in rec.conversation.kg_paths()]
    text = conversation_markdown(rec.conversation, label=label, recorded_in=str(rec.path),
                                 graph=graph)
    if args.out:
        try:
            atomic_write(args.out, text)
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot write it: {exc.strerror or exc}") from None
        print(f"exported {len(rec.conversation.turns)} turns to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _indent(text: str) -> str:
    return text.strip().replace("\n", "\n          ")

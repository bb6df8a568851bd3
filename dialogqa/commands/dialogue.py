"""``dialogqa ask`` (questions from the command line or stdin) and ``dialogqa replay``
(evaluate on transcripts, write replayed transcripts, metrics and a report, compare runs).

Heavy imports (torch, transformers) stay inside the handlers so ``dialogqa --help`` is instant.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
from pathlib import Path

from dialogqa.commands.options import (add_graph_args, add_model_args, check_model_numbers,
                                       graph_files_given, langs_from_args, load_model,
                                       open_graph_from_args, recorded_graph_files,
                                       resolve_adapter, session_settings)
from dialogqa.progress import load_reporter, replay_bar
from dialogqa.errors import UserError
from dialogqa.visible import visible

BASELINES = ("closed-book", "zero-shot", "retriever")


def register(subparsers) -> None:
    ask = subparsers.add_parser(
        "ask",
        help="ask a knowledge graph a question (several on stdin form one conversation)",
        description="Answer a question from a knowledge graph, citing the facts used. Without a "
                    "question argument (or with -), reads questions from stdin, one a line, as "
                    "one conversation: follow-ups like 'And Sweden?' work. With no graph given, "
                    "uses the shipped world graph.",
    )
    ask.add_argument("question", nargs="?", help="the question (omit or '-' to read stdin)")
    add_graph_args(ask)
    add_model_args(ask)
    ask.add_argument("--json", action="store_true",
                     help="print the conversation as one transcript line (JSON, DESIGN.md format)")
    ask.set_defaults(handler=run_ask)

    rp = subparsers.add_parser(
        "replay",
        help="replay transcripts through the bot and score it",
        description="Replay every conversation turn by turn through a fresh session (the bot's "
                    "own answers as history) and score answers (answer_accuracy), cited "
                    "evidence (evidence_recall), abstention on unanswerable turns and latency. "
                    "The graph comes from the flags, else from each transcript's 'kg' field "
                    "(paths relative to the transcript file). Malformed transcript lines are "
                    "reported with FILE:LINE and skipped; the rest still replays (exit status 2).",
    )
    rp.add_argument("transcripts", nargs="*", metavar="TRANSCRIPTS.jsonl")
    add_graph_args(rp)
    add_model_args(rp)
    rp.add_argument("--out", metavar="REPLAYED.jsonl", help="write the replayed transcripts here")
    rp.add_argument("--json", metavar="METRICS.json", help="write the metrics here")
    rp.add_argument("--report", metavar="REPORT.md", help="write a Markdown report here")
    rp.add_argument("--limit", type=int, metavar="N", help="replay only the first N conversations")
    rp.add_argument("--baseline", choices=BASELINES,
                    help="closed-book: base model, no facts; zero-shot: base model with retrieved "
                         "facts, no adapter; retriever: the retriever's top fact is the answer (no model)")
    rp.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                    help="print two metrics files side by side (no replay)")
    rp.add_argument("--score", action="store_true",
                    help="score the answers already in the transcripts (a replay's --out, a "
                         "recorded chat; several files pool into one score) without running the bot")
    rp.add_argument("--strict", action="store_true",
                    help="stop at the first malformed transcript line instead of skipping it")
    rp.add_argument("--no-progress", action="store_true", help="no progress bar")
    rp.set_defaults(handler=run_replay)


# -- ask ---------------------------------------------------------------------------------

def _questions(args: argparse.Namespace) -> list[str]:
    if args.question not in (None, "-"):
        _check_utf8(args.question, "the question")
        return [args.question]
    if args.question is None and sys.stdin.isatty():
        raise UserError('give a question ("dialogqa ask \\"What is the capital of Norway?\\"") '
                        "or pipe questions on stdin, one a line")
    questions = [line.strip() for line in _stdin_lines() if line.strip()]
    if not questions:
        raise UserError("no question on stdin: give one question a line")
    return questions


def _stdin_lines() -> list[str]:
    """stdin's lines in stdin's encoding (UTF-8 in a UTF-8 or C locale); undecodable bytes are
    an error naming the line, as a replaced letter could make the question ask something else."""
    buffer = getattr(sys.stdin, "buffer", None)
    encoding = codecs.lookup(getattr(sys.stdin, "encoding", None) or "utf-8").name
    name = "UTF-8" if encoding == "utf-8" else encoding
    if buffer is None:  # a text stream without bytes underneath (tests, embedding)
        lines = list(sys.stdin)
        for n, line in enumerate(lines, 1):
            _check_utf8(line, f"<stdin>:{n}")
        return lines
    lines = []
    for n, raw in enumerate(buffer, 1):
        try:
            lines.append(raw.decode("utf-8-sig" if n == 1 and encoding == "utf-8" else encoding))
        except UnicodeDecodeError as exc:
            raise UserError(f"<stdin>:{n}: not {name} text (byte 0x{raw[exc.start]:02x} at column "
                            f"{len(raw[:exc.start].decode(encoding, 'replace')) + 1}): "
                            f"give questions in {name}") from None
    return lines


def _check_utf8(text: str, where: str) -> None:
    """Undecodable bytes reach Python as lone surrogates (U+DC80-U+DCFF, 'surrogateescape')."""
    for i, ch in enumerate(text):
        if "\ud800" <= ch <= "\udfff":
            what = f"byte 0x{ord(ch) - 0xdc00:02x}" if ch >= "\udc80" else f"\\u{ord(ch):04x}"
            raise UserError(f"{where}: not UTF-8 text ({what} at column {i + 1}): give the question "
                            "in UTF-8 (is the terminal's locale UTF-8?)")


def run_ask(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.session import open_session
    from dialogqa.dialogue.transcript import dumps, relative_kg
    from dialogqa.records import Turn

    check_model_numbers(args)
    questions = _questions(args)
    kg = open_graph_from_args(args, default_world=True)
    model = load_model(args)
    session = open_session(kg, model, session_settings(args))
    out = sys.stdout
    for question in questions:
        try:
            stream = session.ask_stream(question)
        except UserError as exc:  # an empty line among several: say so, go on
            print(f"dialogqa: skipped: {visible(exc)}", file=sys.stderr)
            continue
        for item in stream:
            if isinstance(item, Turn):
                if not args.json:
                    out.write("\n")
                    for fact in item.evidence:
                        out.write("  [evidence] " + " | ".join(
                            visible(x) for x in (fact.s_label, fact.p_label, fact.o_label)) + "\n")
            elif not args.json:
                out.write(visible(item, newlines=True))
                out.flush()
    if args.json:
        session.conversation.kg = relative_kg(recorded_graph_files(args), Path.cwd() / "stdin.jsonl")
        out.write(dumps(session.conversation) + "\n")
    return 0


# -- replay ------------------------------------------------------------------------------

def run_replay(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.report import compare_table, load_metrics

    if args.compare:
        if args.transcripts:
            raise UserError("give transcripts to replay or --compare A.json B.json, not both")
        a, b = (load_metrics(p) for p in args.compare)
        print(visible(compare_table(a, b, names=[Path(p).stem for p in args.compare]), newlines=True), end="")
        return 0
    if not args.transcripts:
        raise UserError("give at least one TRANSCRIPTS.jsonl file to replay (or --compare A.json B.json)")
    check_model_numbers(args)
    return _replay(args)


def _read_all(args: argparse.Namespace, warn) -> list:
    from dialogqa.dialogue.transcript import read_transcripts

    conversations = []
    for path in args.transcripts:
        conversations += read_transcripts(path, warn=None if args.strict else warn)
    if args.limit:
        conversations = conversations[: args.limit]
    if not conversations:
        raise UserError("no conversation to " + ("score" if args.score else "replay") + " in "
                        + ", ".join(args.transcripts))
    return conversations


def _unanswered(conversations) -> str | None:
    """Where the first turn without a bot answer is (``--score`` needs every turn answered)."""
    from dialogqa.dialogue.transcript import answered

    for conv in conversations:
        for i, t in enumerate(conv.turns, 1):
            if not answered(t):
                where = f"{conv.source}:{conv.line}" if conv.source else conv.id
                return f"{where}: turn {i} of conversation {conv.id!r} has no answer"
    return None


def _write_scores(args: argparse.Namespace, metrics: dict, skipped: list[str]) -> int:
    from dialogqa.dialogue.report import markdown_report
    from dialogqa.dialogue.transcript import atomic_write

    if args.json:
        atomic_write(args.json, json.dumps(metrics, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    report = markdown_report(metrics)
    if args.report:
        atomic_write(args.report, report)
    summary = report.split("\n## Per conversation")[0].split("\n", 2)[2]  # the summary table
    print(visible(summary.rstrip(), newlines=True))
    if skipped:
        print(f"dialogqa: error: {len(skipped)} malformed transcript line(s) skipped (see above)",
              file=sys.stderr)
        return 2
    return 0


def _replay(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.replay import compute_metrics, replay
    from dialogqa.dialogue.session import open_session
    from dialogqa.dialogue.transcript import dumps, relative_kg

    skipped: list[str] = []

    def warn(message: str) -> None:
        skipped.append(message)
        print(f"dialogqa: warning: {visible(message)}", file=sys.stderr)

    conversations = _read_all(args, warn)
    if args.score:
        if (where := _unanswered(conversations)):
            raise UserError(f"{where} to score: replay the transcripts instead of --score")
        metrics = compute_metrics(conversations)
        metrics["run"] = {"transcripts": list(args.transcripts), "scored": "recorded answers",
                          "skipped_lines": len(skipped)}
        return _write_scores(args, metrics, skipped)

    graphs = _Graphs(args)
    for conv in conversations:  # fail on a missing graph before the model loads
        graphs.check(conv)
    closed_book = args.baseline == "closed-book"
    top_fact = args.baseline == "retriever"
    model = None if top_fact else load_model(args)

    def make_session(conv):
        kg, retriever = graphs.get(conv)[:2] if not closed_book else (None, None)
        return open_session(kg, model, session_settings(args, closed_book=closed_book, top_fact=top_fact),
                            retriever)

    out_file = None
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        out_file = open(args.out, "w", encoding="utf-8")

    def write_replayed(conv) -> None:  # one line per conversation as soon as it is done
        if out_file is None:
            return
        files = graphs.files(conv) or conv.kg_paths()  # --store/--endpoint: keep the transcript's
        conv.kg = relative_kg(files, args.out)
        out_file.write(dumps(conv) + "\n")
        out_file.flush()

    try:
        replayed = replay(conversations, make_session, progress=replay_bar(False if args.no_progress else None),
                          on_conversation=write_replayed)
    finally:
        if out_file:
            out_file.close()
    metrics = compute_metrics(replayed)
    metrics["run"] = {
        "transcripts": list(args.transcripts),
        "graph": graphs.description(),
        "model": args.model or "SmolLM2-135M-Instruct",
        "adapter": resolve_adapter(args),
        "baseline": args.baseline,
        "k": args.k,
        "skipped_lines": len(skipped),
    }
    return _write_scores(args, metrics, skipped)


class _Graphs:
    """The graph (and its retriever) of each conversation: the one the flags name, or the
    transcript's ``kg`` files (dialogue/graphs.GraphCache, at most ``MAX_OPEN`` open)."""

    MAX_OPEN = 2

    def __init__(self, args: argparse.Namespace):
        from dialogqa.dialogue.graphs import GraphCache
        from dialogqa.kg.base import open_kg

        self.args = args
        self.flag_graph = graph_files_given(args)
        self.cache = GraphCache(
            k=args.k, max_open=self.MAX_OPEN,
            opener=lambda files: open_kg(files=files, fmt=args.rdf_format,
                                         langs=langs_from_args(args), progress=load_reporter()))

    def check(self, conv) -> None:
        if self.flag_graph:
            return
        where = f"{conv.source}:{conv.line}" if conv.source else conv.id
        if not conv.kg:
            if self.args.baseline == "closed-book":
                return
            raise UserError(f"{where}: conversation {conv.id!r} names no graph ('kg'): "
                            "give --kg FILE..., --store DIR or --endpoint URL")
        for p in conv.kg_paths():
            if not p.exists():
                raise UserError(f"{where}: graph file {p} (from 'kg') does not exist: "
                                "fix the path or give --kg FILE...")

    def files(self, conv) -> list[Path] | None:
        """The graph files a conversation was replayed on (None for --store/--endpoint)."""
        if self.flag_graph:
            return [Path(f) for f in self.args.kg] or None
        return conv.kg_paths() or None

    def get(self, conv):
        """(kg, retriever) for a conversation."""
        if self.flag_graph and self.cache.fixed is None:
            self.cache.fixed = open_graph_from_args(self.args)
        return self.cache.of(conv)

    def description(self) -> str:
        if self.flag_graph:
            a = self.args
            return a.endpoint or a.store or ", ".join(a.kg)
        return "; ".join(", ".join(k) for k in self.cache.seen) or "-"

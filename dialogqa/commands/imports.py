"""``dialogqa import ...``: turn outside corpora into a graph file plus transcripts."""

from __future__ import annotations

import argparse
import json

from dialogqa.datasets.kgconv import QUESTION_FORMS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import", help="convert outside corpora (KGConv) to a graph plus transcripts",
        description="Convert outside corpora to a graph file plus transcripts (JSON Lines).")
    sub = parser.add_subparsers(dest="import_command", metavar="CORPUS")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])

    kgconv = sub.add_parser(
        "kgconv", help="KGConv theme files (Wikidata-grounded conversations)",
        description="KGConv theme files -> OUT/kgconv.ttl (the gold facts of every turn, "
                    "rdfs:label on every entity and property) plus OUT/<folder>-<theme>.jsonl "
                    "transcripts (expected = gold answer, expected_evidence = gold triple, "
                    "inverse properties flipped). KGConv: Brabant et al. 2023, CC-BY-4.0.",
        epilog="example: dialogqa import kgconv ../shared/data/kgconv/test/*.json "
               "--labels ../shared/data/kgconv/preferred_labels.json --out transcripts/kgconv")
    kgconv.add_argument("files", nargs="+", metavar="FILE", help="KGConv theme files (e.g. test/food.json)")
    kgconv.add_argument("--labels", required=True, metavar="JSON",
                        help="preferred_labels.json (Wikidata id -> English label)")
    kgconv.add_argument("--templates", metavar="JSON",
                        help="template_library.json: each property's question templates, written "
                             "into the graph as dqa:question / dqa:inverseQuestion phrasings that "
                             "the retriever matches questions against")
    kgconv.add_argument("--out", required=True, metavar="DIR", help="folder for the graph and transcripts")
    kgconv.add_argument("--questions", choices=tuple(QUESTION_FORMS), default="synthetic",
                        help="question form: synthetic (elliptical in-context, default), "
                             "in-context (pronouns), out-of-context (subject always named)")
    kgconv.add_argument("--pick", choices=("first", "random"), default="first",
                        help="which phrasing of each turn: the first (default) or one drawn at random")
    kgconv.add_argument("--seed", type=int, default=0, help="seed for --pick random (default 0)")
    kgconv.add_argument("--graph-name", default="kgconv.ttl", metavar="NAME",
                        help="graph file name inside --out (.ttl Turtle or .nt N-Triples; default kgconv.ttl)")
    kgconv.add_argument("--json", action="store_true", help="print a JSON summary")
    kgconv.set_defaults(handler=_run_kgconv)


def _run_kgconv(args: argparse.Namespace) -> int:
    from dialogqa.errors import UserError
    from dialogqa.datasets.kgconv import import_kgconv

    if not args.graph_name.endswith((".ttl", ".nt")) or "/" in args.graph_name:
        raise UserError(f"--graph-name must be a file name ending in .ttl or .nt, got {args.graph_name!r}")
    summary = import_kgconv(args.files, args.labels, args.out, form=args.questions, pick=args.pick,
                            seed=args.seed, graph_name=args.graph_name,
                            templates_path=args.templates)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"graph: {summary['graph']} ({summary['facts']} facts, {summary['triples']} triples with labels)")
        for path in summary["transcripts"]:
            print(f"transcripts: {path}")
        print(f"{summary['conversations']} conversations, {summary['turns']} turns")
    return 0

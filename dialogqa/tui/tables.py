"""What the informational commands print into the log, as rich tables built from plain data:
/sparql results, /kg info, /replay scores, /model. Pure functions, so tests read them as text.

Every cell is a ``Text`` (never markup): graph terms and file names are shown as they are,
control and bidi characters escaped (``dialogqa.visible``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rdflib.term import URIRef
from rich.text import Text

from dialogqa.records import QueryResult
from dialogqa.visible import visible

MAX_ROWS = 50  # rows of a /sparql result shown in the log (the count says how many more)


def _term(term: Any, prefixes: Any) -> Text:
    """An IRI as ``prefix:name`` where the graph declares the prefix, else whole; a literal as
    its text. Never cut short: a column folds a long IRI onto more lines instead."""
    if term is None:
        return Text("")
    if isinstance(term, URIRef) and prefixes is not None:
        try:
            prefix, _, name = prefixes.compute_qname(str(term), generate=False)
            return Text(visible(f"{prefix}:{name}"))
        except Exception:  # no declared prefix fits: the whole IRI
            pass
    return Text(visible(term))


def sparql_table(result: QueryResult, kg: Any = None) -> Table | Text:
    """``kg``: the graph queried, whose declared prefixes shorten the IRIs (when it has any)."""
    if result.boolean is not None:
        return Text(f"ASK: {'true' if result.boolean else 'false'}")
    if not result.rows:
        return Text("no rows", style="italic")
    prefixes = getattr(getattr(kg, "graph", None), "namespace_manager", None)
    table = Table(show_lines=False, header_style="bold", expand=False)
    for name in result.variables:
        table.add_column(name, overflow="fold")
    for row in result.rows[:MAX_ROWS]:
        table.add_row(*(_term(t, prefixes) for t in row))
    rest = len(result.rows) - MAX_ROWS
    more = "+" if result.truncated else ""  # the query's row cap was reached
    table.caption = (f"{MAX_ROWS} of {len(result.rows):,}{more} rows shown" if rest > 0
                     else f"{len(result.rows)}{more} row{'s' * (len(result.rows) != 1 or bool(more))}")
    return table


def key_value_table(title: str, rows: Sequence[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.title = title
    table.title_justify = "left"
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(Text(key), Text(visible(value)))
    return table


def graph_info(kg: Any, files: Sequence[str]) -> Table:
    try:
        count = f"{kg.count():,}"
    except Exception:  # an endpoint may refuse to count
        count = "unknown"
    rows = [("graph", getattr(kg, "name", "graph")), ("triples", count),
            ("languages", ", ".join(repr(x) if x == "" else x for x in getattr(kg, "langs", ())) or "-")]
    rows += [("file", str(f)) for f in files]
    return key_value_table("Graph", rows)


def _share(value: float | None, n: int, what: str) -> str:
    return f"no {what}" if value is None else f"{value:.1%}  ({n} {what})"


def replay_table(path: str, metrics: dict) -> Table:
    latency = metrics.get("latency_ms", {})
    rows = [
        ("transcript", path),
        ("conversations", str(metrics["conversations"])),
        ("turns", str(metrics["turns"])),
        ("answer accuracy", _share(metrics["answer_accuracy"], metrics["scored_turns"], "scored turns")),
        ("evidence recall", _share(metrics["evidence_recall"], metrics["evidence_turns"],
                                   "turns with gold evidence")),
        ("abstention", _share(metrics["abstention"], metrics["unanswerable_turns"],
                              "unanswerable turns")),
        ("false abstention", "-" if metrics["false_abstention"] is None
         else f"{metrics['false_abstention']:.1%}"),
    ]
    if latency.get("p50") is not None:
        rows.append(("latency p50 / p95", f"{latency['p50']:.0f} / {latency['p95']:.0f} ms"))
    return key_value_table("Replay", rows)


def model_table(model: Any, info: str, session: Any) -> Table:
    head = getattr(model, "head", None)
    tokenizer = getattr(model, "tokenizer", None)
    rows = [("model", info or type(model).__name__),
            ("runs as", type(model).__name__)]
    base = getattr(tokenizer, "name_or_path", "")
    if base:
        rows.append(("base files", str(base)))
    rows.append(("relevance head", "yes (trained adapter)" if head is not None
                 else "none: cites the facts the answer names"))
    rows.append(("threshold", f"{session.relevance_threshold:.3f}"))
    rows.append(("candidates", str(session.k)))
    rows.append(("max tokens", str(session.max_new_tokens)))
    return key_value_table("Model", rows)


SESSIONS_SHOWN = 15  # recorded conversations (or search hits) listed by /sessions
_NARROWEST = {"turn": 4, "": 3, "when": 11, "turns": 5}  # a narrow log squeezes the text, not these


def sessions_table(recorded: Sequence[Any], folder: Any) -> Table | Text:
    """/sessions: the newest recorded conversations (history.Recorded), to /open by id."""
    if not recorded:
        return Text(f"no recorded conversation in {folder}", style="italic")
    table = Table(title=Text("recorded conversations, newest first (/open ID)"),
                  title_justify="left", show_edge=False, box=None, padding=(0, 1))
    id_width = max(len(rec.id) for rec in recorded[:SESSIONS_SHOWN])  # ids whole: /open takes them
    for name in ("id", "when", "turns", "first question"):
        table.add_column(name, overflow="ellipsis", no_wrap=True,
                         ratio=1 if name in ("text", "first question") else None,
                         min_width=_NARROWEST.get(name, id_width if name == "id" else None))
    for rec in recorded[:SESSIONS_SHOWN]:
        table.add_row(Text(rec.id), Text(rec.when[5:]), Text(str(len(rec.conversation.turns))),
                      Text(rec.first_question))
    if len(recorded) > SESSIONS_SHOWN:
        table.caption = Text(f"{len(recorded) - SESSIONS_SHOWN} older not shown "
                             "(dialogqa sessions list shows them all)")
    return table


def hits_table(hits: Sequence[Any], text: str) -> Table | Text:
    """/sessions TEXT: the turns that match (history.Hit)."""
    if not hits:
        return Text(f"no recorded turn says {text!r}", style="italic")
    table = Table(title=Text(f"{len(hits)} turns say {text!r} (/open ID)"),
                  title_justify="left", show_edge=False, box=None, padding=(0, 1))
    id_width = max(len(hit.recorded.id) for hit in hits[:SESSIONS_SHOWN])  # ids whole: /open takes them
    for name in ("id", "turn", "", "text"):
        table.add_column(name, overflow="ellipsis", no_wrap=True,
                         ratio=1 if name in ("text", "first question") else None,
                         min_width=_NARROWEST.get(name, id_width if name == "id" else None))
    for hit in hits[:SESSIONS_SHOWN]:
        table.add_row(Text(hit.recorded.id), Text(str(hit.turn)), Text(hit.who), Text(hit.snippet))
    if len(hits) > SESSIONS_SHOWN:
        table.caption = Text(f"{len(hits) - SESSIONS_SHOWN} more not shown")
    return table

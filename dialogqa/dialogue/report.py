"""Replay metrics as people read them: a Markdown report, and two runs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dialogqa import jsonio
from dialogqa.errors import UserError

# (key, label, kind): kind "share" prints as a fraction with 3 decimals, "ms" in milliseconds
SUMMARY_ROWS = (
    ("conversations", "conversations", "count"),
    ("turns", "turns", "count"),
    ("answer_accuracy", "answer accuracy", "share"),
    ("evidence_recall", "evidence recall", "share"),
    ("abstention", "abstention on unanswerable turns", "share"),
    ("false_abstention", "abstention on answerable turns", "share"),
    ("latency_ms.p50", "latency p50 (ms)", "ms"),
    ("latency_ms.p95", "latency p95 (ms)", "ms"),
    ("first_token_ms.p50", "first token p50 (ms)", "ms"),
    ("first_token_ms.p95", "first token p95 (ms)", "ms"),
)


def _get(metrics: dict, dotted: str):
    value = metrics
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "share":
        return f"{value:.3f}"
    if kind == "ms":
        return f"{value:.0f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown_report(metrics: dict, title: str = "Replay report") -> str:
    run = metrics.get("run", {})
    out = [f"# {title}", ""]
    if run:
        what = ", ".join(f"{k}: `{v}`" for k, v in run.items() if v not in (None, [], ""))
        out += [what, ""]
    out.append(_table(["metric", "value"],
                      [[label, _fmt(_get(metrics, key), kind)] for key, label, kind in SUMMARY_ROWS], "lr"))
    convs = metrics.get("per_conversation", [])
    if convs:
        out += ["", "## Per conversation", ""]
        rows = [[c["id"], str(c["turns"]), _fmt(c.get("answer_accuracy"), "share"),
                 _fmt(c.get("evidence_recall"), "share"), _fmt(c.get("abstention"), "share"),
                 "".join("✓" if ok else ("✗" if ok is False else "·") for ok in c.get("correct", []))]
                for c in convs]
        out.append(_table(["conversation", "turns", "accuracy", "evidence", "abstention", "turns right"],
                          rows, "lrrrrl"))
        out += ["", "✓ right, ✗ wrong, · not scored (unanswerable or nothing expected)."]
    return "\n".join(out) + "\n"


def load_metrics(path: str | Path) -> dict:
    try:
        data = jsonio.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such metrics file") from None
    except (jsonio.BadJSON, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a metrics JSON file written by `dialogqa replay --json` ({exc})") from None
    if not isinstance(data, dict) or "turns" not in data:
        raise UserError(f"{path}: not a metrics JSON file written by `dialogqa replay --json`")
    return data


def compare_table(a: dict, b: dict, names: Sequence[str] = ("A", "B")) -> str:
    """Two runs side by side (Markdown), with B - A for the scores."""
    rows = []
    for key, label, kind in SUMMARY_ROWS:
        va, vb = _get(a, key), _get(b, key)
        delta = "–"
        if kind != "count" and isinstance(va, (int, float)) and isinstance(vb, (int, float)):
            delta = f"{vb - va:+.3f}" if kind == "share" else f"{vb - va:+.0f}"
        rows.append([label, _fmt(va, kind), _fmt(vb, kind), delta])
    return _table(["metric", *names, "B − A"], rows, "lrrr") + "\n"

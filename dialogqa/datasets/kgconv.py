"""KGConv (Brabant et al. 2023, CC-BY-4.0) to a graph file plus transcripts.

A KGConv theme file maps a conversation id to its turns; each turn is grounded in one
Wikidata triple written from the question's point of view: ``[subject asked about,
property, answer]``, with ``-P...`` marking an inverse property (the question asks for
the subject of the stored fact). The subset ships no surrounding graph, so the graph is
the set of gold facts of the given files, labelled from ``preferred_labels.json``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.term import Node

from dialogqa import jsonio
from dialogqa.errors import UserError
from dialogqa.kg.labels import DQA, INVERSE_QUESTION, QUESTION, SUBJECT_SLOT

WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")

QUESTION_FORMS = {
    "synthetic": "synthetic-in-context questions",  # elliptical: lean on earlier turns
    "in-context": "in-context questions",  # pronouns ("it"), items are {"question", "subject ref"}
    "out-of-context": "out-of-context questions",  # every question names its subject
}

_ENTITY = re.compile(r"Q\d+")
_PROPERTY = re.compile(r"-?P\d+")
# Wikidata time values: +1990-01-01T00:00:00Z (precision below a day shows as -00)
_TIME = re.compile(r"^[+-]?(\d{4,})-(\d\d)-(\d\d)T00:00:00Z$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


@dataclass(frozen=True)
class KGConvTurn:
    subject: str  # the entity the question is about (a Wikidata id or a literal value)
    prop: str  # "P36" or "-P1376"
    value: str  # the answer's id or literal value
    answer: str  # the gold answer text
    questions: dict[str, list[str]]  # question form -> variants

    def fact(self) -> tuple[str, str, str]:
        """The stored triple (ids), inverse properties flipped."""
        if self.prop.startswith("-"):
            return (self.value, self.prop[1:], self.subject)
        return (self.subject, self.prop, self.value)


def load_labels(path: str | Path) -> dict[str, str]:
    data = _read_json(path)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise UserError(f"{path}: expected a JSON object mapping Wikidata ids to labels")
    return data


def read_theme(path: str | Path) -> dict[str, list[KGConvTurn]]:
    """One KGConv theme file: conversation id -> turns. Bad structure names file and turn."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object mapping conversation ids to turn lists "
                        "(a KGConv 'simple version' theme file)")
    conversations: dict[str, list[KGConvTurn]] = {}
    for conv_id, turns in data.items():
        if not isinstance(turns, list) or not turns:
            raise UserError(f"{path}: conversation {conv_id}: expected a non-empty list of turns")
        conversations[str(conv_id)] = [_parse_turn(path, conv_id, i, t) for i, t in enumerate(turns)]
    return conversations


def _parse_turn(path, conv_id, index: int, raw) -> KGConvTurn:
    where = f"{path}: conversation {conv_id}, turn {index + 1}"
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected an object with 'triple', 'answer' and questions")
    triple = raw.get("triple")
    if (not isinstance(triple, list) or len(triple) != 3
            or not all(isinstance(x, str) and x for x in triple)):
        raise UserError(f"{where}: 'triple' must be three non-empty strings, got {triple!r}")
    if not _PROPERTY.fullmatch(triple[1]):
        raise UserError(f"{where}: property {triple[1]!r} is not a Wikidata property id (P123 or -P123)")
    answer = raw.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise UserError(f"{where}: 'answer' must be a non-empty string")
    questions: dict[str, list[str]] = {}
    for form, key in QUESTION_FORMS.items():
        items = raw.get(key, [])
        if not isinstance(items, list):
            raise UserError(f"{where}: {key!r} must be a list")
        texts = [x.get("question") if isinstance(x, dict) else x for x in items]
        questions[form] = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
    if not any(questions.values()):
        raise UserError(f"{where}: no questions")
    return KGConvTurn(triple[0], triple[1], triple[2], answer.strip(), questions)


def _read_json(path: str | Path):
    p = Path(path)
    try:
        return jsonio.loads(p.read_text(encoding="utf-8"))
    except jsonio.BadJSON as exc:
        raise UserError(f"{path}:{exc.line}: invalid JSON: {exc.syntax}" if exc.syntax
                        else f"{path}: {exc}") from None
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a JSON file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None


def to_term(value: str, is_property: bool = False) -> Node:
    """A Wikidata id as an IRI; anything else (dates, numbers, strings) as a typed literal."""
    if is_property:
        return WDT[value.lstrip("-")]
    if _ENTITY.fullmatch(value):
        return WD[value]
    m = _TIME.match(value)
    if m:
        year, month, day = m.groups()
        if month == "00":
            return Literal(year.lstrip("0") or "0", datatype=XSD.gYear)
        if day == "00":
            return Literal(f"{year}-{month}", datatype=XSD.gYearMonth)
        return Literal(f"{year}-{month}-{day}", datatype=XSD.date)
    if _NUMBER.match(value):
        clean = value.lstrip("+")
        return Literal(clean, datatype=XSD.decimal if "." in clean else XSD.integer)
    return Literal(value)


def fact_terms(turn: KGConvTurn) -> tuple[Node, Node, Node]:
    s, p, o = turn.fact()
    return (to_term(s), to_term(p, is_property=True), to_term(o))


def load_templates(path: str | Path) -> dict[str, list[str]]:
    """``template_library.json`` -> {"P36": ["what is the capital of …?", ...], "-P36": [...]}:
    each property's question templates, the subject's slot written "…"; a leading minus
    marks the inverse questions, which ask for the stored fact's subject."""
    data = _read_json(path)
    out: dict[str, list[str]] = {}
    try:
        for entry in data:
            prop = entry["template_key"]["p"]
            for t in entry["templates"]:
                text = " ".join(f"{t['left']} {SUBJECT_SLOT} {t['right']}".split())
                out.setdefault(prop, []).append(text)
    except (TypeError, KeyError) as exc:
        raise UserError(f"{path}: not a KGConv template library (expected a list of "
                        f"{{template_key: {{p}}, templates: [{{left, right}}]}}; missing {exc})") from None
    return {p: list(dict.fromkeys(texts)) for p, texts in out.items()}


def build_graph(themes: Iterable[dict[str, list[KGConvTurn]]], labels: dict[str, str],
                templates: dict[str, list[str]] | None = None) -> Graph:
    """The gold facts of every turn, with an English rdfs:label on every entity and property,
    and, given ``templates``, each property's question phrasings (``dqa:question`` for the
    object, ``dqa:inverseQuestion`` for the subject) for the retriever."""
    g = Graph()
    g.bind("wd", WD)
    g.bind("wdt", WDT)
    g.bind("rdfs", RDFS)
    g.bind("dqa", DQA)
    fallback: dict[str, str] = {}  # answer texts label entities missing from preferred_labels
    for conversations in themes:
        for turns in conversations.values():
            for turn in turns:
                g.add(fact_terms(turn))
                fallback.setdefault(turn.value, turn.answer)
                pid = turn.prop.lstrip("-")
                named = [(to_term(turn.subject), turn.subject), (to_term(pid, is_property=True), pid),
                         (to_term(turn.value), turn.value)]
                for term, wid in named:
                    text = labels.get(wid) or fallback.get(wid)
                    if text and isinstance(term, URIRef):  # literals carry their own text
                        g.add((term, RDFS.label, Literal(text, lang="en")))
    for prop in set(g.predicates()) if templates else ():
        pid = str(prop).removeprefix(str(WDT))
        for key, pred in ((pid, QUESTION), ("-" + pid, INVERSE_QUESTION)):
            for text in templates.get(key, ()):
                g.add((prop, pred, Literal(text, lang="en")))
    return g


def to_transcripts(
    conversations: dict[str, list[KGConvTurn]],
    prefix: str,
    form: str = "synthetic",
    pick: str = "first",
    seed: int = 0,
    kg: Sequence[str] = (),
) -> list[dict]:
    """Conversations in the transcript format of DESIGN.md, one question variant per turn.

    ``pick="first"`` takes each turn's first variant (deterministic, the evaluation default);
    ``"random"`` draws one with a fixed seed (for checking that scores don't hang on one phrasing).
    Turns without a question of ``form`` fall back to the other forms, in-context first.
    """
    if form not in QUESTION_FORMS:
        raise UserError(f"--questions must be one of {', '.join(QUESTION_FORMS)}, got {form!r}")
    rng = random.Random(seed)
    order = [form] + [f for f in ("in-context", "synthetic", "out-of-context") if f != form]
    out = []
    for conv_id, turns in conversations.items():
        records = []
        for turn in turns:
            variants = next(v for f in order if (v := turn.questions[f]))
            question = variants[0] if pick == "first" else rng.choice(variants)
            s, p, o = fact_terms(turn)
            records.append({"user": question, "expected": [turn.answer],
                            "expected_evidence": [[str(s), str(p), str(o)]]})
        record: dict = {"id": f"{prefix}-{conv_id}"}
        if kg:
            record["kg"] = list(kg)
        record["turns"] = records
        out.append(record)
    return out


def theme_name(path: str | Path, taken: set[str]) -> str:
    """``test/food.json`` -> ``test-food``: the folder keeps dev and test apart."""
    p = Path(path)
    name = f"{p.parent.name}-{p.stem}" if p.parent.name else p.stem
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def import_kgconv(
    files: Sequence[str],
    labels_path: str,
    out_dir: str,
    form: str = "synthetic",
    pick: str = "first",
    seed: int = 0,
    graph_name: str = "kgconv.ttl",
    templates_path: str | None = None,
) -> dict:
    """Write ``out_dir/graph_name`` and one ``<folder>-<theme>.jsonl`` per input file."""
    if not files:
        raise UserError("give at least one KGConv theme file (e.g. test/country.json)")
    labels = load_labels(labels_path)
    themes = [(path, read_theme(path)) for path in files]
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create the folder ({exc.strerror})") from None
    templates = load_templates(templates_path) if templates_path else None
    graph = build_graph((c for _, c in themes), labels, templates)
    graph_path = out / graph_name
    graph.serialize(destination=str(graph_path), format="nt" if graph_name.endswith(".nt") else "turtle",
                    encoding="utf-8")
    taken: set[str] = set()
    written = []
    turns = 0
    for path, conversations in themes:
        name = theme_name(path, taken)
        records = to_transcripts(conversations, name, form=form, pick=pick, seed=seed, kg=[graph_name])
        target = out / f"{name}.jsonl"
        with target.open("w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n")
        turns += sum(len(r["turns"]) for r in records)
        written.append(str(target))
    facts = sum(1 for t in graph if t[1] not in (RDFS.label, QUESTION, INVERSE_QUESTION))
    return {"graph": str(graph_path), "facts": facts, "triples": len(graph),
            "transcripts": written, "conversations": sum(len(c) for _, c in themes), "turns": turns}

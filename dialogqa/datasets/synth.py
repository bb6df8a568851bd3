"""Synthetic multi-turn dialogues from any knowledge graph, for fine-tuning on your own graph.

Only the ``KnowledgeGraph`` protocol is used (triples and labels), so any backend works.
Questions are phrased from predicate labels with several templates per kind of turn:

- ``first``: a question naming its subject ("What is the capital of Norway?");
- ``pronoun``: the same subject, another predicate ("What is its currency?");
- ``ellipsis``: the same predicate, a sibling subject ("And Sweden?");
- ``chain``: the last answer becomes the subject ("How about its population?" after "Oslo");
- ``switch``: a new subject by name;
- ``inverse``: asks for the subject of a fact ("Whose capital is Oslo?"), only when few
  subjects share that object;
- ``unanswerable``: a predicate the entity lacks, or an attribute the graph has no predicate
  for ("What is its national anthem?"): the right reply says the graph does not hold it.

Every turn carries its gold ``expected`` (the answer labels) and ``expected_evidence`` (the
triples), in the transcript format of DESIGN.md, plus a ``kind`` field that readers ignore.
The output depends only on the graph and the seed: everything taken from the graph is sorted
before the seeded random generator sees it.

KGConv's template library (``--templates template_library.json``) adds human phrasings for
graphs whose predicates are Wikidata properties (matched on the IRI's local name, ``P36``).
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa import jsonio
from dialogqa.errors import UserError
from dialogqa.records import term_key
from dialogqa.kg.base import KnowledgeGraph
from dialogqa.kg.labels import INVERSE_QUESTION, QUESTION, is_label_predicate, local_name
from dialogqa.kg.linker import opaque_local_name

# Relations that are bookkeeping, not something a person asks about (dqa:question and
# dqa:inverseQuestion say how people ask for a predicate: annotations, not facts).
SKIPPED_PREDICATES = frozenset({RDF.type, OWL.sameAs, RDFS.seeAlso, RDFS.comment,
                                RDFS.isDefinedBy, RDFS.subClassOf, RDFS.subPropertyOf,
                                QUESTION, INVERSE_QUESTION})

MAX_ANSWER_CHARS = 80  # longer literals (descriptions, abstracts) make poor gold answers

# -- phrasings ---------------------------------------------------------------------------
# {s} subject, {p} predicate label, {o} object label, {t} the subject's type label.

NOUN_FIRST = (
    "What is the {p} of {s}?", "What's the {p} of {s}?", "Tell me the {p} of {s}.",
    "Which {p} does {s} have?", "What is {s}'s {p}?", "Do you know the {p} of {s}?",
    "{s}: what is its {p}?", "Give me the {p} of {s}.", "I'd like to know the {p} of {s}.",
)
NOUN_PRONOUN = (
    "What is its {p}?", "And its {p}?", "What about its {p}?", "Which {p} does it have?",
    "Tell me its {p}.", "What's the {p}?", "And the {p}?", "Do you know its {p}?",
)
ELLIPSIS = (
    "And {s}?", "What about {s}?", "How about {s}?", "And for {s}?", "Same question for {s}.",
    "And what about {s}?", "What about {s} then?",
)
NOUN_INVERSE = (
    "Whose {p} is {o}?", "{o} is the {p} of what?", "What has {o} as its {p}?",
    "Of what is {o} the {p}?",
)
TYPED_INVERSE = ("Which {t} has {o} as its {p}?", "Which {t} has the {p} {o}?")

# Everyday ways to ask for common attributes, keyed by a predicate label pattern: general
# English, not tied to one graph (KGConv's library does the same for Wikidata properties).
# (label regex, questions naming the subject, questions leaning on context)
IDIOMS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (r"population", ("How many people live in {s}?", "How many inhabitants does {s} have?",
                     "How populous is {s}?"),
     ("How many people live there?", "How many inhabitants does it have?")),
    (r"capital", ("Which city is the capital of {s}?", "What city is {s}'s capital?"),
     ("Which city is its capital?", "Which city is the capital?")),
    (r"currency", ("Which currency is used in {s}?", "What money do they use in {s}?"),
     ("Which currency is used there?", "What money do they pay with there?")),
    (r"^(official )?languages?( spoken)?$", ("Which languages are spoken in {s}?",
                                             "What language do people speak in {s}?"),
     ("What languages do they speak there?", "Which language is spoken there?")),
    (r"^area", ("How big is {s}?", "How large is {s}?", "How much area does {s} cover?"),
     ("How big is it?", "How large is it?")),
    (r"border|neighbou?r", ("Which countries border {s}?", "What are the neighbours of {s}?",
                            "Which places share a border with {s}?"),
     ("Which countries border it?", "What are its neighbours?")),
    (r"^continent$", ("On which continent is {s}?", "Which continent is {s} in?"),
     ("Which continent is it on?", "On which continent is it?")),
    (r"^country$", ("Which country is {s} in?", "In which country is {s}?",
                    "{s} is in which country?"),
     ("Which country is it in?", "In which country is that?")),
    (r"date of birth|birth ?date", ("When was {s} born?",), ()),
    (r"place of birth|birth ?place", ("Where was {s} born?",), ()),
    (r"^author$", ("Who wrote {s}?",), ("Who wrote it?",)),
    (r"^director$", ("Who directed {s}?",), ("Who directed it?",)),
)
IDIOM_RATE = 0.4  # share of questions phrased by an idiom where one fits

PREPOSITIONS = frozenset("of in on at by for with from to into about as".split())

# Attributes people ask about that a graph often lacks; used for unanswerable turns only
# when no predicate label of the graph shares a word with them.
ABSENT_ATTRIBUTES = (
    "national anthem", "motto", "founding date", "mayor", "president", "prime minister",
    "nickname", "official website", "time zone", "highest point", "GDP", "average temperature",
    "coat of arms", "patron saint", "national animal", "founder", "slogan", "phone number",
    "postal code", "annual budget", "literacy rate", "head of state", "flag colours",
    "oldest building", "main export", "life expectancy", "unemployment rate",
)

KIND_WEIGHTS = {"pronoun": 3.0, "ellipsis": 2.0, "chain": 2.0, "switch": 1.0, "inverse": 1.0}


@dataclass(frozen=True)
class SynthConfig:
    conversations: int = 1000
    seed: int = 0
    min_turns: int = 4
    max_turns: int = 7
    unanswerable_rate: float = 0.12  # share of follow-up turns that ask what the graph lacks
    max_values: int = 6  # (s, p) with more objects than this are not asked forward
    max_inverse_subjects: int = 1  # inverse questions only when the answer is unique
    max_scan: int = 5_000_000  # triples read from the graph to build the index

    def __post_init__(self):
        if self.conversations < 1:
            raise UserError(f"--conversations must be >= 1, got {self.conversations}")
        if not 1 <= self.min_turns <= self.max_turns:
            raise UserError(f"--min-turns/--max-turns must satisfy 1 <= min <= max, "
                            f"got {self.min_turns}, {self.max_turns}")
        if not 0.0 <= self.unanswerable_rate <= 1.0:
            raise UserError(f"--unanswerable-rate must be within 0..1, got {self.unanswerable_rate}")


@dataclass
class Templates:
    """Extra phrasings per predicate local name (``P36``) from KGConv's template library."""

    forward: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    inverse: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> "Templates":
        try:
            data = jsonio.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path}: no such templates file") from None
        except (OSError, UnicodeDecodeError, jsonio.BadJSON) as exc:
            raise UserError(f"{path}: cannot read the template library: {exc}") from None
        if not isinstance(data, list):
            raise UserError(f"{path}: expected KGConv's template_library.json (a list of "
                            "{template_key, templates} records)")
        # (property, template) -> the subject/object type signatures it was written for
        seen: dict[str, dict[tuple[str, str], set[int]]] = {}
        for n, rec in enumerate(data):
            try:
                prop = rec["template_key"]["p"]
                pairs = [(t["left"], t["right"]) for t in rec["templates"]]
            except (KeyError, TypeError):
                raise UserError(f"{path}: record {n}: expected template_key.p and "
                                "templates[].left/right") from None
            for pair in pairs:
                if isinstance(pair[0], str) and isinstance(pair[1], str):
                    seen.setdefault(prop, {}).setdefault(pair, set()).add(n)
        out = cls()
        for prop, pairs in seen.items():
            # A template written for one kind of subject ("What island group does X belong
            # to?") misleads on another; those used for several kinds are generic, keep them.
            generic = sorted(pair for pair, keys in pairs.items() if len(keys) >= 2)
            table = out.inverse if prop.startswith("-") else out.forward
            table[prop.lstrip("-")] = generic or sorted(pairs)
        return out

    def phrase(self, table: dict[str, list[tuple[str, str]]], predicate: Node, entity: str,
               rng: random.Random) -> str | None:
        pairs = table.get(local_name(str(predicate))) if isinstance(predicate, URIRef) else None
        if not pairs:
            return None
        left, right = rng.choice(pairs)
        text = f"{left.strip()} {entity}{right}".replace(" 's", "'s")
        text = " ".join(text.split())
        return text[:1].upper() + text[1:]


# -- the graph, indexed once ---------------------------------------------------------------

class GraphIndex:
    """What the generator needs, read from the graph in one pass and kept sorted."""

    def __init__(self, kg: KnowledgeGraph, max_values: int, max_scan: int):
        self.kg = kg
        self.max_values = max_values
        preds_of: dict[Node, set[Node]] = {}
        for s, p, o in kg.triples(limit=max_scan):
            if is_label_predicate(p) or p in SKIPPED_PREDICATES or isinstance(o, BNode):
                continue
            if isinstance(s, URIRef):
                preds_of.setdefault(s, set()).add(p)
        self._labels: dict[Node, str | None] = {}
        self.preds_of: dict[Node, list[Node]] = {}
        for s in sorted(preds_of, key=str):
            if self.name(s) is None:
                continue
            askable = [p for p in sorted(preds_of[s], key=str) if self.answers(s, p)]
            if askable:
                self.preds_of[s] = askable
        self.subjects = list(self.preds_of)
        self.subjects_of: dict[Node, list[Node]] = {}
        for s, preds in self.preds_of.items():
            for p in preds:
                self.subjects_of.setdefault(p, []).append(s)
        self.predicates = sorted(self.subjects_of, key=str)
        self.predicate_words = {w for p in self.predicates for w in _words(self.predicate_label(p))}
        self.absent = [a for a in ABSENT_ATTRIBUTES if not (_words(a) & self.predicate_words)]

    def name(self, term: Node) -> str | None:
        """How a question names an entity; None when it has no usable name (``Q123``)."""
        if term not in self._labels:
            text = None
            if isinstance(term, URIRef):
                labels = self.kg.labels(term)
                text = labels[0][0] if labels else self.kg.label(term)
                if not labels and opaque_local_name(text):
                    text = None
            self._labels[term] = " ".join(text.split()) if text else None
        return self._labels[term]

    def predicate_label(self, p: Node) -> str:
        text = " ".join(self.kg.label(p).split())
        # "Capital" -> "capital"; keep acronyms and names ("GDP", "ISO code") as they are
        return text[:1].lower() + text[1:] if text[1:2].islower() else text

    def answer_label(self, o: Node) -> str | None:
        if isinstance(o, Literal):
            text = " ".join(str(o).split())
        else:
            text = self.name(o)
        return text if text and len(text) <= MAX_ANSWER_CHARS else None

    def answers(self, s: Node, p: Node) -> list[tuple[Node, str]] | None:
        """The (object, label) answers of (s, p), or None when it makes no good question."""
        objects = sorted({o for _s, _p, o in self.kg.triples(s, p, None, limit=self.max_values + 1)},
                         key=term_key)
        if not objects or len(objects) > self.max_values:
            return None
        out = []
        for o in objects:
            label = self.answer_label(o)
            if label is None:
                return None
            out.append((o, label))
        return out

    def inverse_subjects(self, p: Node, o: Node, limit: int) -> list[Node]:
        found = sorted({s for s, _p, _o in self.kg.triples(None, p, o, limit=limit + 1)}, key=str)
        return found if len(found) <= limit and all(s in self.preds_of for s in found) else []

    def type_label(self, s: Node) -> str | None:
        types = sorted((t for _s, _p, t in self.kg.triples(s, RDF.type, None, limit=5)), key=str)
        for t in types:
            label = self.name(t)
            if label and len(label.split()) <= 3:
                return label[:1].lower() + label[1:] if label[1:2].islower() else label
        return None


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.casefold()) if len(w) > 2}


# -- phrasing a predicate --------------------------------------------------------------------

def _relational(label: str) -> bool:
    """Labels that read as verb phrases ("shares border with", "located in the
    administrative territorial entity", "is part of")."""
    words = label.lower().split()
    return len(words) > 1 and (words[-1] in PREPOSITIONS or words[0] in ("is", "has", "was")
                               or (words[0].endswith("ed") and words[1] in PREPOSITIONS))


def _verb_questions(label: str, subject: str) -> list[str]:
    """Questions for a verb-phrase label: 'shares border with' -> 'What does Norway share border with?'"""
    words = label.split()
    head, rest = words[0], " ".join(words[1:])
    low = head.lower()
    if low in ("is", "was"):
        return [f"What {low} {subject} {rest}?", f"{subject} {label} what?"]
    if low == "has":
        return [f"What does {subject} have {rest}?", f"{subject} {label} what?"]
    if low.endswith("ed"):  # "located in", "named after"
        return [f"What is {subject} {label}?", f"{subject} is {label} what?"]
    if low.endswith("s") and not low.endswith("ss"):  # "shares", "borders", "carries"
        base = head[:-3] + "y" if low.endswith("ies") else head[:-1]
        return [f"What does {subject} {base} {rest}?", f"Tell me what {subject} {label}.",
                f"{subject} {label} what?"]
    # a noun with a preposition: "part of", "member of", "twinned with"
    return [f"What is {subject} {label}?", f"{subject} is {label} what?"]


def _idiom(p_label: str, named: bool, rng: random.Random) -> str | None:
    """An everyday phrasing for a common attribute, drawn at ``IDIOM_RATE``."""
    if rng.random() >= IDIOM_RATE:
        return None
    for pattern, with_name, with_context in IDIOMS:
        if re.search(pattern, p_label, re.IGNORECASE):
            options = with_name if named else with_context
            return rng.choice(options) if options else None
    return None


def ask_named(p_label: str, subject: str, rng: random.Random, literal: bool = False) -> str:
    idiom = _idiom(p_label, True, rng)
    if idiom:
        return _capital(idiom.format(s=subject))
    if _relational(p_label):
        return _capital(rng.choice(_verb_questions(p_label, subject)))
    options = [t for t in NOUN_FIRST if not (literal and t.startswith("Which"))]
    return _capital(rng.choice(options).format(p=p_label, s=subject))


def ask_pronoun(p_label: str, rng: random.Random, literal: bool = False) -> str:
    idiom = _idiom(p_label, False, rng)
    if idiom:
        return idiom
    if _relational(p_label):
        return _capital(rng.choice(_verb_questions(p_label, "it")))
    # "Which population does it have?" reads wrong: values are asked with "what"
    options = [t for t in NOUN_PRONOUN if not (literal and t.startswith("Which"))]
    return rng.choice(options).format(p=p_label)


def ask_inverse(p_label: str, obj: str, type_label: str | None, rng: random.Random) -> str:
    if _relational(p_label):
        who = f"Which {type_label}" if type_label else "What"
        head = p_label.split()[0].lower()
        if head in ("is", "was", "has"):
            return f"{who} {p_label} {obj}?"  # "What is part of Europe?"
        if head.endswith("ed"):
            return f"{who} is {p_label} {obj}?"  # "What is located in Norway?"
        return f"{who} {p_label} {obj}?"  # "What shares border with Norway?"
    options = list(NOUN_INVERSE) + (list(TYPED_INVERSE) if type_label else [])
    return _capital(rng.choice(options).format(p=p_label, o=obj, t=type_label or ""))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- conversations -----------------------------------------------------------------------

@dataclass
class _State:
    subject: Node
    predicate: Node | None = None
    answers: list[tuple[Node, str]] = field(default_factory=list)
    asked: set[tuple[str, str]] = field(default_factory=set)
    inverse: bool = False  # the last question asked for a subject ("Whose capital is Oslo?")


class DialogueSynthesizer:
    def __init__(self, kg: KnowledgeGraph, config: SynthConfig = SynthConfig(),
                 templates: Templates | None = None):
        self.config = config
        self.templates = templates or Templates()
        self.index = GraphIndex(kg, config.max_values, config.max_scan)
        if not self.index.subjects:
            raise UserError("the graph has no facts to ask about: it needs labelled entities "
                            "with non-label predicates")
        # Conversations start where there is something to follow up on, and more often at
        # entities with much to say (countries rather than the thousands of small cities).
        self.starts = [s for s in self.index.subjects if len(self.index.preds_of[s]) >= 2] \
            or self.index.subjects
        self.start_weights = list(itertools.accumulate(
            len(self.index.preds_of[s]) ** 3 for s in self.starts))

    def conversations(self, kg_paths: Sequence[str] = ()) -> Iterator[dict]:
        rng = random.Random(self.config.seed)
        for i in range(self.config.conversations):
            turns = self._conversation(rng)
            conv = {"id": f"synth-{self.config.seed}-{i + 1:05d}"}
            if kg_paths:
                conv["kg"] = list(kg_paths)
            conv["turns"] = turns
            yield conv

    def _conversation(self, rng: random.Random) -> list[dict]:
        n_turns = rng.randint(self.config.min_turns, self.config.max_turns)
        state = _State(subject=self._start(rng))
        turns = [self._first(state, rng, kind="first")]
        while len(turns) < n_turns:
            turn = None
            if rng.random() < self.config.unanswerable_rate:
                turn = self._unanswerable(state, rng)
            if turn is None:
                kinds = list(KIND_WEIGHTS)
                weights = [KIND_WEIGHTS[k] for k in kinds]
                for _attempt in range(6):
                    kind = rng.choices(kinds, weights)[0]
                    turn = getattr(self, "_" + kind)(state, rng)
                    if turn is not None:
                        break
            if turn is None:
                turn = self._switch(state, rng)
            turns.append(turn)
        return turns

    # each turn kind: returns the turn dict and updates the state, or None when it does not fit

    def _answerable(self, kind: str, user: str, s: Node, p: Node, answers, state: _State,
                    inverse: bool = False) -> dict:
        if inverse:  # the question gives the object; the answers are subjects
            evidence = [[term_key(a), term_key(p), term_key(s)] for a, _ in answers]
        else:
            evidence = [[term_key(s), term_key(p), term_key(o)] for o, _ in answers]
        state.asked.add((term_key(s), term_key(p)))
        state.predicate = p
        state.answers = answers
        state.inverse = inverse
        if not inverse:
            state.subject = s
        return {"user": user, "expected": _dedupe(label for _o, label in answers),
                "expected_evidence": evidence, "kind": kind}

    def _pick_predicate(self, s: Node, state: _State, rng: random.Random,
                        exclude: Node | None = None) -> Node | None:
        options = [p for p in self.index.preds_of.get(s, ())
                   if (term_key(s), term_key(p)) not in state.asked and p != exclude]
        return rng.choice(options) if options else None

    def _first(self, state: _State, rng: random.Random, kind: str) -> dict | None:
        s = state.subject
        p = self._pick_predicate(s, state, rng)
        if p is None:
            return None
        answers = self.index.answers(s, p)
        name, p_label = self.index.name(s), self.index.predicate_label(p)
        user = None
        if rng.random() < 0.5:
            user = self.templates.phrase(self.templates.forward, p, name, rng)
        user = user or ask_named(p_label, name, rng, _literal(answers))
        return self._answerable(kind, user, s, p, answers, state)

    def _start(self, rng: random.Random) -> Node:
        return rng.choices(self.starts, cum_weights=self.start_weights)[0]

    def _switch(self, state: _State, rng: random.Random) -> dict:
        state.subject = self._start(rng)
        turn = self._first(state, rng, kind="switch")
        if turn is None:  # every predicate of that subject was asked already: any subject
            state.subject = rng.choice(self.index.subjects)
            state.asked.clear()
            turn = self._first(state, rng, kind="switch")
        return turn

    def _pronoun(self, state: _State, rng: random.Random) -> dict | None:
        s = state.subject
        p = self._pick_predicate(s, state, rng)
        if p is None:
            return None
        answers = self.index.answers(s, p)
        user = ask_pronoun(self.index.predicate_label(p), rng, _literal(answers))
        return self._answerable("pronoun", user, s, p, answers, state)

    def _ellipsis(self, state: _State, rng: random.Random) -> dict | None:
        p = state.predicate
        # "And Sweden?" after "Whose capital is Oslo?" has no clear reading: not asked
        if p is None or state.inverse or state.subject not in self.index.preds_of:
            return None
        siblings = self.index.subjects_of.get(p, [])
        for _ in range(5):
            s2 = rng.choice(siblings)
            if s2 != state.subject and (term_key(s2), term_key(p)) not in state.asked:
                user = rng.choice(ELLIPSIS).format(s=self.index.name(s2))
                return self._answerable("ellipsis", user, s2, p, self.index.answers(s2, p), state)
        return None

    def _chain(self, state: _State, rng: random.Random) -> dict | None:
        if len(state.answers) != 1:
            return None
        new = state.answers[0][0]
        if new not in self.index.preds_of:
            return None
        back = state.predicate  # do not ask straight back along the edge just followed
        previous = state.subject
        options = [p for p in self.index.preds_of[new]
                   if (term_key(new), term_key(p)) not in state.asked
                   and not (p == back or any(o == previous for o, _ in self.index.answers(new, p)))]
        if not options:
            return None
        p = rng.choice(options)
        p_label, answers = self.index.predicate_label(p), self.index.answers(new, p)
        if rng.random() < 0.6:
            user = ask_pronoun(p_label, rng, _literal(answers))
        else:
            user = ask_named(p_label, self.index.name(new), rng, _literal(answers))
        return self._answerable("chain", user, new, p, answers, state)

    def _inverse(self, state: _State, rng: random.Random) -> dict | None:
        s = state.subject
        options = [(p, o) for p in self.index.preds_of.get(s, ())
                   for o, _label in self.index.answers(s, p)
                   if isinstance(o, URIRef) and self.index.name(o)]
        rng.shuffle(options)
        for p, o in options[:4]:
            subjects = self.index.inverse_subjects(p, o, self.config.max_inverse_subjects)
            if not subjects or (term_key(o), "inverse:" + term_key(p)) in state.asked:
                continue
            state.asked.add((term_key(o), "inverse:" + term_key(p)))
            obj_name, p_label = self.index.name(o), self.index.predicate_label(p)
            user = None
            if rng.random() < 0.5:
                user = self.templates.phrase(self.templates.inverse, p, obj_name, rng)
            user = user or ask_inverse(p_label, obj_name, self.index.type_label(subjects[0]), rng)
            answers = [(x, self.index.name(x)) for x in subjects]
            turn = self._answerable("inverse", user, o, p, answers, state, inverse=True)
            state.subject = subjects[0]  # "its" now means the entity just named as the answer
            return turn
        return None

    def _unanswerable(self, state: _State, rng: random.Random) -> dict | None:
        s = state.subject
        held = self.index.preds_of.get(s, [])
        # A predicate that entities like this one have and this one lacks (Palau's capital).
        # "Like this one" = sharing its most specific predicate (a city's "country", a
        # country's "capital"): "the country of Senegal" or "the capital of Oslo" are not
        # sensible questions, so predicates of other kinds of entities are not used.
        candidates: set[Node] = set()
        if held:
            specific = min(held, key=lambda p: (len(self.index.subjects_of[p]), str(p)))
            siblings = self.index.subjects_of[specific]
            for sibling in (rng.choice(siblings) for _ in range(5)):
                candidates.update(p for p in self.index.preds_of[sibling] if p not in held)
        missing = [p for p in sorted(candidates, key=str)
                   if not any(True for _ in self.index.kg.triples(s, p, None, limit=1))]
        use_absent = self.index.absent and (not missing or rng.random() < 0.5)
        if use_absent:
            p_label = rng.choice(self.index.absent)
        elif missing:
            p_label = self.index.predicate_label(rng.choice(missing))
        else:
            return None
        if rng.random() < 0.5:
            user = ask_pronoun(p_label, rng)
        else:
            user = ask_named(p_label, self.index.name(s), rng)
        # what came before is no longer the last answer: "And Sweden?" or "its" now point
        # at the unanswered question, so neither an ellipsis nor a chain may follow it
        state.predicate, state.answers = None, []
        return {"user": user, "expected": [], "unanswerable": True, "kind": "unanswerable"}


def _literal(answers) -> bool:
    return all(isinstance(o, Literal) for o, _label in answers)


def _dedupe(items) -> list[str]:
    seen, out = set(), []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def synthesize(kg: KnowledgeGraph, config: SynthConfig = SynthConfig(),
               templates: Templates | None = None, kg_paths: Sequence[str] = ()) -> Iterator[dict]:
    """Conversations (transcript-format dicts) about ``kg``; the same seed gives the same ones."""
    return DialogueSynthesizer(kg, config, templates).conversations(kg_paths)


def kind_counts(conversations: Sequence[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for conv in conversations:
        for turn in conv["turns"]:
            counts[turn["kind"]] = counts.get(turn["kind"], 0) + 1
    return dict(sorted(counts.items()))

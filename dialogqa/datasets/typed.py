"""Typed dialogues from any graph: lists, counts, yes/no, comparisons, superlatives, paths.

``dialogqa data typed --kg G --out F`` writes conversations in the transcript format with the
per-turn ``type``, ``match`` and ``reject`` fields (DESIGN.md), gold answers computed from the
graph, and an ``intent`` field (what the question head should read: ``op``, ``?`` when the
question wants yes or no, ``<`` when the smaller or earlier value wins, ``@`` when a comparison's
values are dates, ``*`` when a lookup asks for every value: a list). They train the
question head (``dialogqa intent fit``) and, over a graph kept out of training, measure it.

Questions are phrased from the predicate's label, its ``skos:altLabel`` paraphrases and its
``dqa:question`` phrasings ("Who runs …?", the way people ask without the label's words; for
single lookups, lists and, from "Which <noun> …?", counts) and ``dqa:inverseQuestion`` ones
("Which films is … in?", for the subjects: lists, counts, reverse lookups) where the graph has
them, with several shapes per type (who/which/how many/is/does, pronouns,
comparatives), so the head learns the question's form and not one predicate's words. Only the
``KnowledgeGraph`` protocol is used; the output depends only on the graph and the seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rdflib.namespace import RDF, SKOS
from rdflib.term import Literal, Node, URIRef

from dialogqa.dialogue.compose import comparable, format_intent, is_date
from dialogqa.datasets.synth import (GraphIndex, _capital, _relational, ask_inverse,
                                     ask_named, ask_pronoun)
from dialogqa.errors import UserError
from dialogqa.kg.base import KnowledgeGraph
from dialogqa.kg.labels import INVERSE_QUESTION, QUESTION, SUBJECT_SLOT
from dialogqa.records import term_key

TYPES = ("single", "list", "count", "boolean", "comparison", "reverse", "chain", "superlative",
         "path", "unanswerable")
WEIGHTS = {"single": 2.0, "list": 1.5, "count": 1.2, "boolean": 1.5, "comparison": 1.5,
           "reverse": 1.0, "chain": 1.0, "superlative": 3.0, "path": 1.0, "unanswerable": 0.5}

LIST_NAMED = ("What are all the {p} of {s}?", "List the {p} of {s}.", "Name every {p} of {s}.",
              "Which {p} does {s} have?", "Give me all {p} of {s}.", "What {p} are there for {s}?")
LIST_PRONOUN = ("What are all its {p}?", "List its {p}.", "Name all of its {p}.", "Which {p} does it have?",
                "And all its {p}?", "Tell me every {p} it has.")
LIST_INVERSE = ("Which {t} have {o} as their {p}?", "List the {t} whose {p} is {o}.",
                "Name all {t} with the {p} {o}.", "What are the {t} that have {o} as {p}?")
COUNT_NAMED = ("How many {p} does {s} have?", "What is the number of {p} of {s}?", "Count the {p} of {s}.",
               "How many {p} are listed for {s}?", "How many different {p} has {s} got?",
               "And how many {p} does {s} have?", "And {s}, how many {p}?")
COUNT_PRONOUN = ("How many {p} does it have?", "How many {p} are there?", "And how many {p}?",
                 "What's the number of its {p}?", "Count its {p}.")
COUNT_INVERSE = ("How many {t} have {o} as their {p}?", "How many {t} share the {p} {o}?",
                 "What number of {t} have the {p} {o}?")
BOOL_NOUN = ("Is {o} the {p} of {s}?", "Is {o} a {p} of {s}?", "Does {s} have {o} as its {p}?",
             "Is it true that the {p} of {s} is {o}?", "Is {s}'s {p} {o}?")
BOOL_NOUN_PRONOUN = ("Is {o} its {p}?", "Is its {p} {o}?", "Does it have {o} as {p}?", "Is {o} one of its {p}?")
BOOL_RELATION = ("Is it true that {s} {p} {o}?", "Is {s} {p} {o}?", "Can you confirm that {s} {p} {o}?")
BOOL_RELATION_PRONOUN = ("Is it {p} {o}?", "Is it true that it {p} {o}?")
MORE = ("higher", "larger", "greater", "bigger", "more")
LESS = ("lower", "smaller", "less")
# comparatives that name no property ("Which is heavier, A or B?"): the question's form only
BARE_MORE = ("bigger", "larger", "heavier", "longer", "taller", "wider", "richer", "busier", "more expensive")
BARE_LESS = ("smaller", "lighter", "shorter", "narrower", "poorer", "cheaper", "less expensive")
COMPARE_WHICH = ("Which has a {adj} {p}, {a} or {b}?", "{a} or {b}: which has the {adj} {p}?",
                 "Between {a} and {b}, which has the {adj} {p}?", "Whose {p} is {adj}, {a}'s or {b}'s?",
                 "Which one has the {adj} {p}: {a} or {b}?")
COMPARE_POLAR = ("Is the {p} of {a} {adj} than that of {b}?", "Does {a} have a {adj} {p} than {b}?",
                 "Is {a}'s {p} {adj} than {b}'s?")
COMPARE_POLAR_PRONOUN = ("Is its {p} {adj} than {b}'s?", "Does it have a {adj} {p} than {b}?",
                         "Is its {p} {adj} than that of {b}?")
COMPARE_BARE_WHICH = ("Which is {adj}, {a} or {b}?", "Which of {a} and {b} is {adj}?")
COMPARE_BARE_POLAR = ("Is it {adj} than {b}?", "Is {a} {adj} than {b}?")
DATE_MORE, DATE_LESS = ("later", "more recent"), ("earlier", "older")
# comparatives about time that name no property ("Which is older, A or B?"): dates are compared
BARE_DATE_MORE, BARE_DATE_LESS = ("newer", "younger", "more recent"), ("older",)
# ... or that say it with a verb and an adverb ("Who started first, A or B?", "Which opened
# later?"): the verb is any verb of time, the adverb says which way
TIME_VERBS = ("came", "started", "began", "happened", "appeared", "opened", "joined", "arrived",
              "was founded", "was released", "was made", "got going", "showed up")
TIME_MORE, TIME_LESS = ("later", "last", "more recently", "second"), ("first", "earlier", "sooner")
COMPARE_TIME_WHICH = ("Which {verb} {adv}, {a} or {b}?", "Who {verb} {adv}, {a} or {b}?",
                      "Which of {a} and {b} {verb} {adv}?", "{a} or {b}: which {verb} {adv}?")
COMPARE_LONGER_WHICH = ("Which has been around longer, {a} or {b}?", "Who has been there longer, {a} or {b}?",
                        "Which of {a} and {b} has existed longer?", "Who has been here longer, {a} or {b}?")
SUPERLATIVE = ("Which of them has the {adj} {p}?", "Which one has the {adj} {p}?",
               "Of those, which has the {adj} {p}?", "Which of these has the {adj} {p}?")
SUP_MORE, SUP_LESS = ("highest", "largest", "greatest", "biggest", "most"), ("lowest", "smallest", "least")
SUP_BARE = ("Which of them is the {adj}?", "Which one is the {adj}?", "Of those, which is the {adj}?")
SUP_BARE_MORE = ("biggest", "largest", "heaviest", "longest", "tallest", "busiest", "richest", "most expensive")
SUP_BARE_LESS = ("smallest", "lightest", "shortest", "poorest", "cheapest", "least expensive")
SUP_DATE_MORE, SUP_DATE_LESS = ("latest", "most recent"), ("earliest", "oldest")
SUP_BARE_DATE_MORE, SUP_BARE_DATE_LESS = ("newest", "youngest", "most recent"), ("oldest",)
PATH = ("How is {a} connected to {b}?", "What links {a} and {b}?", "How are {a} and {b} related?",
        "What is the connection between {a} and {b}?", "Is there a link between {a} and {b}?")
CHAIN = ("What is the {p} of that {t}?", "And that {t}'s {p}?", "What about the {p} of that one?",
         "What's the {p} of {x}?")

# share of questions phrased the graph's way (dqa:question, dqa:inverseQuestion) where it has
# phrasings: single lookups, lists, counts and reverse lookups
PHRASING_RATE = 0.6
WHICH_HEAD, COUNT_HEAD = "Which ", "How many "

INTENT = {"single": "lookup", "list": "lookup*", "reverse": "lookup", "chain": "lookup",
          "unanswerable": "lookup", "boolean": "lookup?", "count": "count", "superlative": "superlative",
          "path": "path"}
MAX_LIST = 10


@dataclass(frozen=True)
class TypedConfig:
    conversations: int = 200
    seed: int = 0
    turns: int = 8
    max_scan: int = 2_000_000
    types: tuple[str, ...] = ()  # follow-up turn types to draw (default: all)

    def __post_init__(self):
        if self.conversations < 1:
            raise UserError(f"--conversations must be >= 1, got {self.conversations}")
        if self.turns < 2:
            raise UserError(f"--turns must be >= 2, got {self.turns}")
        unknown = [t for t in self.types if t not in TYPES]
        if unknown:
            raise UserError(f"--types: unknown {', '.join(unknown)} (known: {', '.join(TYPES)})")


class TypedSynthesizer:
    def __init__(self, kg: KnowledgeGraph, config: TypedConfig = TypedConfig()):
        self.kg = kg
        self.config = config
        self.index = GraphIndex(kg, MAX_LIST, config.max_scan)
        if not self.index.subjects:
            raise UserError("the graph has no facts to ask about: it needs labelled entities "
                            "with non-label predicates")
        self.numeric: dict[Node, list[Node]] = {}  # predicate -> subjects with a comparable value
        for s in self.index.subjects:
            for p in self.index.preds_of[s]:
                answers = self.index.answers(s, p) or []
                if len(answers) == 1 and comparable(answers[0][0]) is not None:
                    self.numeric.setdefault(p, []).append(s)
        self.numeric = {p: ss for p, ss in self.numeric.items() if len(ss) >= 3}
        self._alts: dict[Node, list[str]] = {}
        self._asks: dict[tuple[Node, bool], list[str]] = {}

    # -- phrasing helpers -----------------------------------------------------------------
    def plabel(self, p: Node, rng: random.Random) -> str:
        """The predicate's label, or one of its paraphrases (skos:altLabel) half the time."""
        if p not in self._alts:
            self._alts[p] = sorted({str(o) for _s, _p, o in self.kg.triples(p, SKOS.altLabel, None, limit=20)
                                    if isinstance(o, Literal)})
        alts = [a for a in self._alts[p] if not _relational(a)]
        if alts and rng.random() < 0.5:
            return rng.choice(alts)
        return self.index.predicate_label(p)

    def name(self, e: Node) -> str:
        return self.index.name(e) or term_key(e)

    def phrasings(self, p: Node, forward: bool = True) -> list[str]:
        """The graph's ``dqa:question`` phrasings of ``p`` with a place for the subject (or,
        not ``forward``, its ``dqa:inverseQuestion`` ones, with a place for the object)."""
        key = (p, forward)
        if key not in self._asks:
            pattern = QUESTION if forward else INVERSE_QUESTION
            self._asks[key] = sorted({str(o) for _s, _p, o in self.kg.triples(p, pattern, None, limit=20)
                                      if isinstance(o, Literal) and SUBJECT_SLOT in str(o)})
        return self._asks[key]

    def count_phrasings(self, p: Node, forward: bool = True) -> list[str]:
        """The phrasings that ask "Which <noun> ...?", asked as counts: "Which animals does …
        look after?" -> "How many animals does … look after?"."""
        return [COUNT_HEAD + a[len(WHICH_HEAD):] for a in self.phrasings(p, forward) if a.startswith(WHICH_HEAD)]

    @staticmethod
    def phrased(asks: Sequence[str], rng: random.Random, name: str | None) -> str | None:
        """One of the phrasings ``asks`` with its slot filled (``name``, or "it" for None),
        ``PHRASING_RATE`` of the time; None otherwise. No draw where there are none, so a graph
        without phrasings gives the dialogues it gave before."""
        if asks and rng.random() < PHRASING_RATE:
            return _fill(rng.choice(asks), name)
        return None

    # -- conversations --------------------------------------------------------------------
    def conversations(self, kg_paths: Sequence[str] = ()) -> Iterator[dict]:
        rng = random.Random(self.config.seed)
        for i in range(self.config.conversations):
            conv = {"id": f"typed-{self.config.seed}-{i + 1:05d}"}
            if kg_paths:
                conv["kg"] = list(kg_paths)
            conv["turns"] = self._conversation(rng)
            yield conv

    def _conversation(self, rng: random.Random) -> list[dict]:
        subjects = [s for s in self.index.subjects if len(self.index.preds_of[s]) >= 2] or self.index.subjects
        state = {"s": rng.choice(subjects), "last": None}
        turns = [self._single(state, rng, named=True)]
        types = [t for t in WEIGHTS if not self.config.types or t in self.config.types]
        weights = [WEIGHTS[t] for t in types]
        while len(turns) < self.config.turns:
            turn = None
            for _ in range(8):
                typ = rng.choices(types, weights)[0]
                turn = getattr(self, "_" + typ)(state, rng)
                if turn is not None:
                    break
            if turn is None:
                state["s"] = rng.choice(subjects)
                turn = self._single(state, rng, named=True)
            turns.append(turn)
        return [t for t in turns if t is not None]

    def _turn(self, typ: str, user: str, expected: Sequence[str], intent: str | None = None, **extra) -> dict:
        d = {"user": _capital(user), "type": typ, "expected": list(dict.fromkeys(expected)),
             "intent": intent or INTENT[typ]}
        d.update(extra)
        return d

    # -- each type: the turn, or None when it does not fit ----------------------------------
    def _single(self, state, rng, named: bool | None = None) -> dict | None:
        s = state["s"]
        preds = [p for p in self.index.preds_of[s] if len(self.index.answers(s, p) or []) == 1]
        if not preds:
            return None
        p = rng.choice(preds)
        answers = self.index.answers(s, p)
        literal = isinstance(answers[0][0], Literal)
        if named is None:
            named = rng.random() < 0.4
        label = self.plabel(p, rng)
        user = ask_named(label, self.name(s), rng, literal) if named else ask_pronoun(label, rng, literal)
        user = self.phrased(self.phrasings(p), rng, self.name(s) if named else None) or user
        state["last"] = (s, p, answers)
        return self._turn("single", user, [a for _o, a in answers],
                          expected_evidence=_facts((s, p, o) for o, _ in answers))

    def _list(self, state, rng) -> dict | None:
        s = state["s"]
        if rng.random() < 0.4:
            turn = self._list_subjects(state, rng)
            if turn is not None:
                return turn
        preds = [p for p in self.index.preds_of[s] if 2 <= len(self.index.answers(s, p) or []) <= MAX_LIST]
        if not preds:
            return None
        p = rng.choice(preds)
        answers = self.index.answers(s, p)
        label = _plural(self.plabel(p, rng))
        named = rng.random() < 0.4
        if named:
            user = rng.choice(LIST_NAMED).format(p=label, s=self.name(s))
        else:
            user = rng.choice(LIST_PRONOUN).format(p=label)
        # "Who acts in …?"
        user = self.phrased(self.phrasings(p), rng, self.name(s) if named else None) or user
        state["last"] = (s, p, answers)
        return self._turn("list", user, [a for _o, a in answers], match="all",
                          expected_evidence=_facts((s, p, o) for o, _ in answers))

    def _entity_fact(self, s: Node, rng) -> tuple[Node, Node] | None:
        """A predicate of ``s`` drawn at random, with its one entity value; None when that
        predicate has several values or a literal."""
        p = rng.choice(self.index.preds_of[s])
        answers = self.index.answers(s, p) or []
        if len(answers) != 1 or isinstance(answers[0][0], Literal):
            return None
        return p, answers[0][0]

    def _list_subjects(self, state, rng) -> dict | None:
        """Every subject sharing one of the entity's objects: "Which employees report to X?"."""
        s = state["s"]
        picked = self._entity_fact(s, rng)
        if picked is None:
            return None
        p, o = picked
        subjects = sorted({x for x, _p, _o in self.kg.triples(None, p, o, limit=MAX_LIST + 1)}, key=str)
        t = self.index.type_label(s)
        if not t or not 2 <= len(subjects) <= MAX_LIST or any(self.index.name(x) is None for x in subjects):
            return None
        user = rng.choice(LIST_INVERSE).format(t=_plural(t), o=self.name(o), p=self.plabel(p, rng))
        # "Which films is … in?"
        user = self.phrased(self.phrasings(p, forward=False), rng, self.name(o)) or user
        state["last"] = (o, p, [(x, self.name(x)) for x in subjects])
        return self._turn("list", user, [self.name(x) for x in subjects], match="all",
                          expected_evidence=_facts((x, p, o) for x in subjects))

    def _count(self, state, rng) -> dict | None:
        s = state["s"]
        preds = [p for p in self.index.preds_of[s] if 2 <= len(self.index.answers(s, p) or []) <= MAX_LIST
                 and not isinstance(self.index.answers(s, p)[0][0], Literal)]
        if preds and rng.random() < 0.7:
            p = rng.choice(preds)
            answers = self.index.answers(s, p)
            label = _plural(self.plabel(p, rng))
            named = rng.random() < 0.4
            if named:
                user = rng.choice(COUNT_NAMED).format(p=label, s=self.name(s))
            else:
                user = rng.choice(COUNT_PRONOUN).format(p=label)
            # "How many actors are in …?"
            user = self.phrased(self.count_phrasings(p), rng, self.name(s) if named else None) or user
            return self._turn("count", user, [str(len(answers))],
                              expected_evidence=_facts((s, p, o) for o, _ in answers))
        # how many subjects share an object: "How many employees have X as their manager?"
        picked = self._entity_fact(s, rng)
        if picked is None:
            return None
        p, o = picked
        subjects = {x for x, _p, _o in self.kg.triples(None, p, o, limit=200)}
        t = self.index.type_label(s)
        if not t or len(subjects) > 150:
            return None
        user = rng.choice(COUNT_INVERSE).format(t=_plural(t), o=self.name(o), p=self.plabel(p, rng))
        # "How many films is … in?"
        user = self.phrased(self.count_phrasings(p, forward=False), rng, self.name(o)) or user
        return self._turn("count", user, [str(len(subjects))],
                          expected_evidence=_facts((x, p, o) for x in sorted(subjects, key=str)))

    def _boolean(self, state, rng) -> dict | None:
        s = state["s"]
        p = rng.choice(self.index.preds_of[s])
        answers = self.index.answers(s, p)
        if not answers:
            return None
        truth = rng.random() < 0.5
        if truth:
            o_label = rng.choice(answers)[1]
        else:
            others = self.index.subjects_of.get(p, [])
            wrong = set()
            for x in rng.sample(others, min(6, len(others))):
                for o, label in self.index.answers(x, p) or []:
                    if label not in {a for _o, a in answers}:
                        wrong.add(label)
            if not wrong:
                return None
            o_label = rng.choice(sorted(wrong))
        label = self.plabel(p, rng)
        pronoun = rng.random() < 0.6
        if _relational(label):
            table = BOOL_RELATION_PRONOUN if pronoun else BOOL_RELATION
        else:
            table = BOOL_NOUN_PRONOUN if pronoun else BOOL_NOUN
        user = rng.choice(table).format(p=label, s=self.name(s), o=o_label)
        yes, no = "yes", "no"
        # evidence: what the graph says of the asked property (the fact named, or the ones that
        # make the answer "no")
        chosen = [(s, p, o) for o, a in answers if a == o_label] if truth else [(s, p, o) for o, _ in answers]
        return self._turn("boolean", user, [yes if truth else no], reject=[no if truth else yes],
                          expected_evidence=_facts(chosen))

    def _comparison(self, state, rng) -> dict | None:
        s = state["s"]
        preds = [p for p in self.index.preds_of[s] if p in self.numeric and s in self.numeric[p]]
        if not preds:
            return None
        p = rng.choice(preds)
        b = rng.choice([x for x in self.numeric[p] if x != s])
        va = comparable(self.index.answers(s, p)[0][0])
        vb = comparable(self.index.answers(b, p)[0][0])
        if va is None or vb is None or va == vb:
            return None
        date = not isinstance(self.index.answers(s, p)[0][0].toPython(), (int, float)) and \
            is_date(self.index.answers(s, p)[0][0])
        less = rng.random() < 0.4
        adj = rng.choice((DATE_LESS if less else DATE_MORE) if date else (LESS if less else MORE))
        label = self.plabel(p, rng)
        polar = rng.random() < 0.5
        # "Which is older, A or B?" names no property; a polar time comparative ("Is it older
        # than B?") has the very form of "Is it larger than B?" and taught the head to read
        # "larger" as the smaller value wins, so dates are asked bare only as "which"
        bare = rng.random() < 0.3 and not (date and polar)
        a_wins = (va < vb) if less else (va > vb)
        compared = [(x, p, self.index.answers(x, p)[0][0]) for x in (s, b)]
        if bare:
            adj = rng.choice((BARE_DATE_LESS if less else BARE_DATE_MORE) if date
                             else (BARE_LESS if less else BARE_MORE))
        names = {"a": self.name(s), "b": self.name(b), "p": label, "adj": adj}
        if polar:
            pronoun = rng.random() < 0.5
            table = COMPARE_BARE_POLAR if bare else (COMPARE_POLAR_PRONOUN if pronoun else COMPARE_POLAR)
            user = rng.choice(table).format(**names)
            yes, no = ("yes", "no") if a_wins else ("no", "yes")
            return self._turn("comparison", user, [yes], format_intent("compare", True, less, date), reject=[no],
                              expected_evidence=_facts(compared))
        if rng.random() < 0.5:
            names["a"], names["b"] = names["b"], names["a"]
        table = COMPARE_BARE_WHICH if bare else COMPARE_WHICH
        user = rng.choice(table).format(**names)
        if date and rng.random() < 0.4:  # a verb of time says which way, no property named
            if less and rng.random() < 0.3:
                user = rng.choice(COMPARE_LONGER_WHICH).format(**names)
            else:
                user = rng.choice(COMPARE_TIME_WHICH).format(
                    verb=rng.choice(TIME_VERBS), adv=rng.choice(TIME_LESS if less else TIME_MORE), **names)
        winner, loser = (self.name(s), self.name(b)) if a_wins else (self.name(b), self.name(s))
        return self._turn("comparison", user, [winner], format_intent("compare", False, less, date), reject=[loser],
                          expected_evidence=_facts(compared))

    def _reverse(self, state, rng) -> dict | None:
        s = state["s"]
        picked = self._entity_fact(s, rng)
        if picked is None:
            return None
        p, o = picked
        subjects = self.index.inverse_subjects(p, o, 3)
        if not subjects:
            return None
        user = ask_inverse(self.index.predicate_label(p), self.name(o), self.index.type_label(s), rng)
        intent = None
        phrased = self.phrased(self.phrasings(p, forward=False), rng, self.name(o))
        if phrased:
            user = phrased
            if len(subjects) > 1:  # worded as the list of subjects is ("Which films is … in?")
                intent = INTENT["list"]
        state["s"] = subjects[0]
        return self._turn("reverse", user, [self.name(x) for x in subjects], intent,
                          expected_evidence=_facts((x, p, o) for x in subjects))

    def _chain(self, state, rng) -> dict | None:
        last = state.get("last")
        if not last:
            return None
        ends = [o for o, _l in last[2] if isinstance(o, URIRef) and o in self.index.preds_of]
        if len(ends) != 1:
            return None
        x = ends[0]
        preds = [p for p in self.index.preds_of[x] if len(self.index.answers(x, p) or []) == 1]
        if not preds:
            return None
        p = rng.choice(preds)
        answers = self.index.answers(x, p)
        t = self.index.type_label(x) or "one"
        user = rng.choice(CHAIN).format(p=self.plabel(p, rng), t=t, x=self.name(x))
        state["s"], state["last"] = x, (x, p, answers)
        return self._turn("chain", user, [a for _o, a in answers],
                          expected_evidence=_facts((x, p, o) for o, _ in answers))

    def _superlative(self, state, rng) -> dict | None:
        last = state.get("last")
        if not last:
            return None
        members = [o for o, _l in last[2] if isinstance(o, URIRef)]
        if len(members) < 2:
            return None
        shared = [p for p, ss in self.numeric.items() if all(m in ss for m in members)]
        if not shared:
            return None
        p = rng.choice(sorted(shared, key=str))
        values = [(comparable(self.index.answers(m, p)[0][0]), m) for m in members]
        if len({v for v, _ in values}) < len(values):
            return None
        date = is_date(self.index.answers(members[0], p)[0][0])
        less = rng.random() < 0.4
        adj = rng.choice((SUP_DATE_LESS if less else SUP_DATE_MORE) if date else (SUP_LESS if less else SUP_MORE))
        best = (min if less else max)(values, key=lambda x: x[0])[1]
        if rng.random() < 0.3:
            bare = ((SUP_BARE_DATE_LESS if less else SUP_BARE_DATE_MORE) if date
                    else (SUP_BARE_LESS if less else SUP_BARE_MORE))
            user = rng.choice(SUP_BARE).format(adj=rng.choice(bare))
        else:
            user = rng.choice(SUPERLATIVE).format(adj=adj, p=self.plabel(p, rng))
        return self._turn("superlative", user, [self.name(best)],
                          format_intent("superlative", less=less, date=date))

    def _path(self, state, rng) -> dict | None:
        s = state["s"]
        p = rng.choice(self.index.preds_of[s])
        answers = self.index.answers(s, p) or []
        mids = [o for o, _l in answers if isinstance(o, URIRef) and o in self.index.preds_of]
        if not mids:
            return None
        mid = rng.choice(mids)
        far = [o for q in self.index.preds_of[mid] for o, _l in (self.index.answers(mid, q) or [])
               if isinstance(o, URIRef) and o != s]
        if not far:
            return None
        b = rng.choice(far)
        # gold only where the connection is unique: the one entity both are linked to
        between = {x for x in self._linked(s) & self._linked(b) if x not in (s, b)}
        if between != {mid} or b in self._linked(s):
            return None
        user = rng.choice(PATH).format(a=self.name(s), b=self.name(b))
        return self._turn("path", user, [self.name(mid)])

    def _linked(self, e: Node) -> set[Node]:
        out = set()
        for s, p, o in self.kg.neighbours(e, limit=200):
            if p == RDF.type or isinstance(o, Literal):
                continue
            out.add(o if s == e else s)
        return out

    def _unanswerable(self, state, rng) -> dict | None:
        if not self.index.absent:
            return None
        attribute = rng.choice(self.index.absent)
        user = ask_pronoun(attribute, rng) if rng.random() < 0.5 else ask_named(attribute, self.name(state["s"]), rng)
        return self._turn("unanswerable", user, [], unanswerable=True)


def _facts(triples) -> list[list[str]]:
    """Gold evidence in the transcript format: every fact the answer uses."""
    return [[term_key(s), term_key(p), term_key(o)] for s, p, o in triples]


def _plural(label: str) -> str:
    words = label.split()
    if not words or words[-1].endswith("s"):
        return label
    last = words[-1]
    last = last[:-1] + "ies" if last.endswith("y") and last[-2:-1] not in "aeiou" else last + "s"
    return " ".join(words[:-1] + [last])


def synthesize_typed(kg: KnowledgeGraph, config: TypedConfig = TypedConfig(),
                     kg_paths: Sequence[str] = ()) -> Iterator[dict]:
    return TypedSynthesizer(kg, config).conversations(kg_paths)


def _fill(phrasing: str, name: str | None) -> str:
    """A phrasing with its subject: the name, or "it" where the conversation already has it."""
    if name is None:
        phrasing = phrasing.replace(SUBJECT_SLOT + "'s", "its")
    return " ".join(phrasing.replace(SUBJECT_SLOT, name or "it").split())

"""Retrieval over a conversation: which facts is this question, in this conversation, about?

A follow-up rarely names its subject ("How many people live there?", "And Sweden?", "Who is
his spouse?"), so the retriever keeps the conversation's *focus*: the entities the earlier
turns were about and the ones they answered with, each weighted by its strongest (mostly its
latest) mention, so a subject that came up often does not outweigh the one the last turn
switched to.
Candidates are the edges (both directions) of the entities the question links plus
the focus entities, and a short second hop from the best-matching first-hop facts; they are
ranked by cheap scores: how well the question's words cover the predicate's label (stemmed,
with a small synonym table), how strongly the fact's entity is in play, and type hints
("when" wants a date, "how many" a number). The noun naming what is asked for ("Which
*countries* border Chile?") counts on a predicate only when the fact's far end is what it
names, so predicates named like the answer's type do not crowd out the relation asked for.
Crowds of facts sharing one predicate into a hub share its weight, and a hub cut at
``per_entity`` neighbours gets the question's predicates looked up directly. Only the
protocol of ``dialogqa.kg.base`` is used, so the same code runs on every backend;
neighbours, labels and parsed questions are cached, so a turn costs a handful of backend
calls (no graph library needed: the candidate set is a few hundred edges).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import OWL, RDF, RDFS, XSD
from rdflib.term import Literal, Node

from dialogqa.lexicon import lexicon
from dialogqa.records import Fact, Triple
from dialogqa.kg.base import KnowledgeGraph
from dialogqa.kg.labels import INVERSE_QUESTION, QUESTION
from dialogqa.kg.linker import fold
from dialogqa.kg.words import known_words, lemma, stem
from dialogqa.records import Turn

if TYPE_CHECKING:
    from dialogqa.kg.semantic import SentenceEncoder

_WORD = re.compile(r"\w+")

# What the retriever knows of English lives in data/en.json (dialogqa/lexicon.py): words
# that say nothing about which predicate is asked for; everyday words for predicate words
# (a user says "people" where the graph says "population", matched after stemming both
# sides); words asking for dates and numbers ("how many/much" too).
_LEX = lexicon()["retrieval"]
NOT_PREDICATE_WORDS = frozenset(_LEX["not_predicate_words"])
SYNONYMS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _LEX["synonyms"].items()}
DATE_WORDS = frozenset(_LEX["date_words"])
NUMBER_WORDS = frozenset(_LEX["number_words"])
_DATE_TYPES = frozenset({XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth, XSD.dateTimeStamp})
_NUMBER_TYPES = frozenset({XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.int, XSD.long,
                           XSD.nonNegativeInteger, XSD.positiveInteger, XSD.short})

# Score weights: the predicate match dominates, the entity's weight in the conversation
# breaks ties between entities that have a matching predicate, hints nudge.
W_PREDICATE = 2.0
W_ENTITY = 1.0
W_TYPE = 0.5
W_CARRY = 1.0  # "And Sweden?": the previous turn's predicate when the question names none
CARRY_DISCOUNT = 0.5  # ... or the previous question's words, when that turn cited nothing
CITED_PENALTY = 0.6  # a fact a recent turn answered from is rarely what the next question asks
# ... nor are its siblings reached through a hub answer: after "Norway drives on the right",
# the other countries that drive on the right are rarely the next question.
SIBLING_PENALTY = 0.3
HOP2_DISCOUNT = 0.5
# the predicate score (``predicate_score``) from which the question names the predicate: as
# much as one word matching a one-word label ("In what country?" names "country")
NAMES_PREDICATE = 1.0
STEM_PREFIX_DISCOUNT = 0.75  # a label stem matched only by a prefix relation ("discov"/"discoveri")
STEM_PREFIX_MIN = 5  # the shorter stem of such a pair has at least this many letters
PHRASINGS_LIMIT = 200  # question phrasings read per predicate and direction
# A label match outranks an equal phrasing match: phrasing libraries are noisy (KGConv's
# has "What country is … in?" for "located in the administrative territorial entity",
# so "In which country is Kisoji Beer?" tied that predicate with "country").
LABEL_BONUS = 0.05
# Classes say what a question asks without a word of the relation's label (measured on four
# graphs written apart from the project, training/README.md "Session 17"): the answer-type
# word is the class of the end that would be the answer ("Which *bands* is Tess in?" -> Tess
# member of Copper Meridian, a band), counted like a label match of CLASS_MATCH; a fact between
# two things the question names ("Is Kofi a nurse?" -> Kofi type nurse) counts BOTH_NAMED;
# and a linked class that is only the answer-type word is not the question's topic.
CLASS_MATCH = 0.75
BOTH_NAMED = 0.5
TYPE_LINK_DISCOUNT = 0.3
CLASS_LOOKUPS = 64  # answer ends a question looks up the classes of, besides those cached
# A question close in meaning to a predicate's label names it as a label match of
# SEMANTIC_SCALE x (cosine - SEMANTIC_FLOOR) would (kg/semantic.py): about 0.2 is what
# unrelated short texts reach; chosen on dev dialogues (KGConv dev plain, synthetic world and
# typed graphs; training/README.md "Session 16": 0.35 with the pretrained encoder). The fitted
# encoder (session 23) sits lower; with it 0.3 (session 27, dev proxy with gold history: KGConv
# dev country 713 -> 720 of 817, ideology 484 -> 489 of 581, KGConv dev food +9; no other set
# moves, nor any unanswerable turn across the abstention level).
SEMANTIC_FLOOR = 0.3
SEMANTIC_SCALE = 4.0
# a question with no relation word is read when this many words are left of it ("It was named
# for whom?"; "name", "for" say nothing to word matching), not "And Finland?", "What about it?"
SEMANTIC_MIN_WORDS = 4
# a cosine at which meaning names a predicate as surely as its label's words would
# (``names_predicate``): "Where was he buried?" and "place of burial" 0.76; "Where is it
# located?" and "located in the administrative territorial entity" 0.50
SEMANTIC_NAMES = 0.7
# Meaning also names the predicate whose cosine is the best among the candidates' by a clear
# margin, at least as well as a label match of SEMANTIC_LEAD: a pretrained encoder's cosines
# run high or low by how the question is worded, while which relation it is closest to is
# what it knows ("Who speaks Welsh?": "languages spoken" 0.44 against 0.24; "How many people
# does she supervise?": "supervisor" 0.52 against 0.27). Measured on dev dialogues only
# (training/README.md, session 19). The fitted encoder (``dialogqa encoder fit``) pushes the
# candidates it does not choose down, its choice less so ("What is Ireland's aerodrome
# called?": "place served by transport hub" 0.48 -> 0.39, the next 0.29 -> 0.23): its lead
# counts from a lower cosine (dev proxy 3,459 -> 3,473 at 0.3; 0.25 lets an unanswerable
# question through; training/README.md, session 24).
SEMANTIC_LEAD = 0.75
SEMANTIC_LEAD_FLOOR = 0.4
SEMANTIC_LEAD_FLOOR_FITTED = 0.3
SEMANTIC_MARGIN = 0.1
# Each named predicate's cosine, times this, is added to its match: where words name several
# alike ("Where did he pass away?": "where" names place of death, of burial and of birth; "pass
# away" is 0.50 from "place of death", 0.47 from burial, 0.35 from birth), the closest in
# meaning comes first. Chosen on dev dialogues: 0.01 with the pretrained encoder (training/README.md,
# session 20); 0.5 with a fitted one (session 23: dev proxy 3,449 -> 3,477), whose cosines
# tell the relation asked for more surely.
SEMANTIC_TIE = 0.01
SEMANTIC_TIE_FITTED = 0.5
# what a relation's answers are like against the question's answer-type word
# (``Retriever._type_meaning``)
TYPE_MEANING = 1.0
# The encoder also reads a predicate's label with its most frequent values ("record label:
# Halcyon Records, Bramble Sound"), from its first VALUE_LOOKUP facts (training/README.md,
# session 20: dev proxy 2,490 -> 2,505).
VALUE_SAMPLE = 3
VALUE_LOOKUP = 200
VALUE_CHARS = 40
_SCHEMA_NAMESPACES = (str(RDF), str(RDFS), str(OWL))
TYPE_MISMATCH = 0.0  # weight of an answer-type word on a predicate whose other end it names
MAX_TARGETED = 6  # predicates looked up directly on a hub
TARGETED_LIMIT = 20  # facts per predicate and direction

LINK_WEIGHT = 3.0  # an entity the question names outweighs the focus
DECAY = 0.85  # per turn back in history
NAMED_EARLIER = 50  # how far back a name said in part is looked for
TOPIC_WEIGHT = 1.0  # what an earlier turn was about
# what it answered with: above what the turn before was about (TOPIC_WEIGHT x DECAY), since
# it was said later (session 27: 0.8 put it below; dev proxy with gold history, KGConv ideology
# 478 -> 484 of 581, company 85 -> 86, university 34 -> 35, nothing lost on the others)
ANSWER_WEIGHT = 0.9
# "there"/"here" point at a place, and in a person's question the place last mentioned is
# the answer: "What is the capital of Norway?" "Oslo." "How many people live there?" asks
# about Oslo (6 of world.jsonl's 9 such turns). KGConv's synthetic dialogues mostly mean the
# earlier topic (37 of 71 dev turns, 13 the answer), but there the predicate decides: no
# change on its dev files. "it" keeps the topic first (KGConv dev: 444 topic, 200 answer).
LOCATIVES = frozenset(_LEX["locatives"])
LOCATIVE_ANSWER_WEIGHT = 1.1
DEMONSTRATIVES = frozenset(_LEX["demonstratives"])
DEFINITE = frozenset(_LEX["definite"])  # "the band", "that album": one already talked about
# "Where is it located?": of two near-best facts of one entity (scores within SPECIFIC_NEAR,
# among the best SPECIFIC_AMONG), the one whose answer has a fact to the other's answer names
# the place more exactly (the town, which lies in the country) and gains SPECIFIC_PLACE. The
# graph says which place contains which; no predicate is named. Measured on dev dialogues
# (training/README.md, session 25: dev proxy 3,473 -> 3,479, six "Where is ... located?"
# turns won, none lost; KGConv dev ideology 0.819 -> 0.828).
PLACE_QUESTIONS = frozenset(_LEX["place_questions"])
SPECIFIC_PLACE = 0.3
SPECIFIC_NEAR = 0.5
SPECIFIC_AMONG = 10


def _demonstrative(words: Sequence[str]) -> bool:
    """"that city", "this person": a demonstrative before a noun points at what was last
    mentioned, the last answer (as "there" does); "that" before a verb or alone does not."""
    return any(w in DEMONSTRATIVES and nxt not in NOT_PREDICATE_WORDS and not nxt.isdigit()
               for w, nxt in zip(words, words[1:]))


def _referring_nouns(text: str) -> list[tuple[int, int]]:
    """Spans of the nouns a demonstrative makes a mention ("Where is the lowest point of
    *this country*?", "Who is *that city* led by?"): the entity talked about, as a name or
    "it" would be, not a word of the relation asked for."""
    found = list(_WORD.finditer(text))
    return [(m.start(), nxt.end()) for m, nxt, after in zip(found, found[1:], [*found[2:], None])
            if fold(m.group()) in DEMONSTRATIVES and fold(m.group()) != "that"  # "the man that won"
            and fold(nxt.group()) not in NOT_PREDICATE_WORDS and not nxt.group().isdigit()
            and not _participle(fold(nxt.group()))  # "What state is this located in?"
            and (after is None or fold(after.group()) != "of")]  # "What is this part of?"


def _participle(word: str) -> bool:
    """A past participle, not a noun: "located", "twinned" (their dictionary forms are other
    words), not "bed" or "seed"."""
    return len(word) > 4 and word.endswith("ed") and lemma(word) != word


def word_stems(text: str) -> frozenset[str]:
    """The stems of a text's words, folded ("Record Labels" -> {"record", "label"})."""
    return frozenset(stem(w) for w in _WORD.findall(fold(text)))


@dataclass
class Question:
    """The words of a question, as the scorer needs them."""

    text: str
    words: list[str]  # folded
    content: set[str] = field(default_factory=set)  # stems of non-stopwords, synonyms included
    # Stems that only the answer-type word brought in ("countries" in "Which countries
    # border Chile?"): they say what the answer is, not how it relates to the subject.
    answer_type: frozenset[str] = frozenset()
    # Each relation word's stems (synonyms included): how many words point at a predicate.
    terms: tuple[frozenset[str], ...] = ()
    type_term: frozenset[str] = frozenset()  # the answer-type word's stems
    type_word: str = ""  # the answer-type word itself ("city" in "Which city is it in?")
    # how many of its own words may name the relation (not the answer's type, not a question
    # word's synonyms)
    relation_words: int = 0
    wants_date: bool = False
    wants_number: bool = False
    # predicate -> the content stems that begin one of its label's stems or that one of them
    # begins (Retriever._predicate_match's fallback), cached per question
    prefix_related: dict = field(default_factory=dict, compare=False, repr=False)
    # (predicate, forward) -> how well the predicate's question phrasings match, per question
    phrased: dict = field(default_factory=dict, compare=False, repr=False)
    # what the sentence encoder reads: the question with the names it links said as "it" and
    # without its answer-type word (their meaning is not the relation's: "And Finland?" and
    # "Which countries ...?" are close to "continent"); empty when no word of it may name a
    # relation ("And Sweden?")
    semantic_text: str = ""

    @classmethod
    def parse(cls, text: str, skip_spans: Sequence[tuple[int, int]] = (),
              said_spans: Sequence[tuple[int, int]] = (), whole: bool = False) -> "Question":
        """``skip_spans``: names, neither relation words nor meaning; ``said_spans``: names
        the encoder reads as "it" though their words may still name a relation; ``whole``:
        the encoder reads the answer-type word too (a fitted encoder tells "located in which
        city" from "which country" by it; the pretrained one is misled by it)."""
        words, content, relation, terms = [], set(), set(), []
        type_term: frozenset[str] = frozenset()
        kept: list[int] = []  # indexes into words of the content words
        places: list[tuple[int, int]] = []  # each word's span in the text
        for m in _WORD.finditer(text):
            w = fold(m.group())
            words.append(w)
            places.append(m.span())
            if any(s <= m.start() < e for s, e in skip_spans) or w in NOT_PREDICATE_WORDS or w.isdigit():
                continue
            kept.append(len(words) - 1)
        type_at = _answer_type_index(words)
        for i in kept:
            stems = {stem(words[i])} | {stem(syn) for syn in SYNONYMS.get(words[i], ())}
            content |= stems
            if i != type_at:
                relation |= stems
                terms.append(frozenset(stems))
            else:
                type_term = frozenset(stems)
        own_terms = len(terms)
        for w in words:  # question words that are stopwords still carry synonyms ("where")
            if w in NOT_PREDICATE_WORDS and w in SYNONYMS:
                stems = frozenset(stem(syn) for syn in SYNONYMS[w])
                content |= stems
                relation |= stems
                terms.append(stems)
        joined = " ".join(words)
        edits = [(start, end, "it") for start, end in _outermost([*skip_spans, *said_spans])]
        if type_at is not None and type_at in kept and not whole:  # "Which countries border it?" is near "continent"
            edits.append((*places[type_at], ""))
        semantic = text
        for start, end, replacement in sorted(edits, reverse=True):
            semantic = semantic[:start] + replacement + semantic[end:]
        semantic = " ".join(semantic.split())
        return cls(text, words, content, answer_type=frozenset(content - relation),
                   semantic_text=semantic if terms or len(semantic.split()) >= SEMANTIC_MIN_WORDS else "",
                   terms=tuple(terms), type_term=type_term,
                   type_word=words[type_at] if type_term else "", relation_words=own_terms,
                   wants_date=bool(DATE_WORDS & set(words)),
                   wants_number="how many" in joined or "how much" in joined
                   or bool(NUMBER_WORDS & set(words)))


def _unknown_names(text: str) -> list[tuple[int, int]]:
    """Spans of the words written as names that the language does not know ("Perkhin
    worked as what?", "Who was Fayolle?"): a name linking missed, a surname said alone. Said
    as "it" to the encoder like a linked name; no word is one without the word list."""
    known = known_words()
    if not known:
        return []
    return [m.span() for m in _WORD.finditer(text)
            if m.group()[:1].isupper() and len(m.group()) > 2 and m.group().isalpha()
            and fold(m.group()) not in known and fold(m.group()) not in NOT_PREDICATE_WORDS]


def _leader(cosines: Mapping[Node, float], floor: float) -> Node | None:
    """The predicate whose meaning is closest to the question's by a clear margin over every
    other candidate's (``SEMANTIC_LEAD``), at a cosine of ``floor`` or more, or None."""
    if not SEMANTIC_LEAD or len(cosines) < 2:
        return None
    (best, p), (second, _) = heapq.nlargest(2, ((c, p) for p, c in cosines.items()), key=lambda x: x[0])
    return p if best >= floor and best - second >= SEMANTIC_MARGIN else None


# Words between a question word and the noun that names the answer's type: "which two
# countries", "what kind of food", "name all the rivers".
_DETERMINERS = frozenset(_LEX["determiners"])
_IMPERATIVES = frozenset(_LEX["imperatives"])  # "Name the countries that..."


def _answer_type_index(words: list[str]) -> int | None:
    """Index of the noun naming what is asked for: the first content word after "which",
    "what", "how many" or a leading "name/list ...". "kind/type of" stays a relation word
    ("What kind of food is it?" asks for "instance of"), so it is skipped, not taken."""
    for i, w in enumerate(words):
        lead = (w in ("which", "what") or (w == "many" and i and words[i - 1] == "how")
                or (i == 0 and w in _IMPERATIVES))
        if not lead:
            continue
        j = i + 1
        while j < len(words) and words[j] in _DETERMINERS:
            j += 1
        if j < len(words) and words[j] not in NOT_PREDICATE_WORDS and not words[j].isdigit():
            return j
        return None  # "What is ...": the question word is followed by a verb, no type noun
    return None


@dataclass
class _Anchor:
    weight: float = 0.0
    linked: bool = False


class Retriever:
    """``retrieve(question, history) -> list[Fact]`` ranked best first, at most ``k``; a fact
    reached from its object (the question asks for its subject) has ``inverse`` set."""

    def __init__(self, kg: KnowledgeGraph, k: int = 30, per_entity: int = 100,
                 max_anchors: int = 10, history_turns: int = 8, hop2: int = 3,
                 cache_size: int = 4096, encoder: SentenceEncoder | None = None,
                 whole_question: bool | None = None):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.kg = kg
        self.k = k
        self.per_entity = per_entity  # neighbours fetched per entity (each direction)
        self.max_anchors = max_anchors
        self.history_turns = history_turns
        self.hop2 = hop2  # first-hop facts whose far end gets a second hop
        self.encoder = encoder  # meaning as well as words names a predicate (kg/semantic.py)
        # the encoder reads the answer-type word too: by default where it was fitted to
        # (``dialogqa encoder fit`` trains on what this retriever's questions read)
        fitted = bool(getattr(encoder, "fitted", False))
        self.whole_question = fitted if whole_question is None else whole_question
        # a fitted encoder's cosines lie elsewhere: its own calibration (SEMANTIC_*_FITTED)
        self._tie = SEMANTIC_TIE_FITTED if fitted else SEMANTIC_TIE
        self._lead_floor = SEMANTIC_LEAD_FLOOR_FITTED if fitted else SEMANTIC_LEAD_FLOOR
        self._neighbours: OrderedDict[Node, list[tuple[Triple, float]]] = OrderedDict()
        self._questions: OrderedDict[str, Question] = OrderedDict()
        self._labels: OrderedDict[Node, str] = OrderedDict()
        self._pred_stems: dict[Node, frozenset[str]] = {}  # every predicate seen so far
        self._label_texts: dict[Node, tuple[str, ...]] = {}  # ... and its labels' texts
        self._semantic_texts: dict[Node, tuple[str, ...]] = {}  # ... those with its values
        self._end_texts: OrderedDict[tuple[Node, bool], str] = OrderedDict()  # a predicate's typical objects / subjects
        self._label_stems: dict[Node, tuple[frozenset[str], ...]] = {}  # ... each label's stems
        self._phrasings: dict[tuple[Node, bool], tuple[frozenset[str], ...]] = {}
        self._preds_by_stem: dict[str, set[Node]] = {}
        self._subject_named: dict[Node, bool] = {}  # predicate labels like "capital of"
        self._saturated: set[Node] = set()  # hubs whose neighbour list was cut
        self._search: OrderedDict[str, list] = OrderedDict()
        self._classes: OrderedDict[Node, frozenset[str]] = OrderedDict()  # stems of its classes' labels
        self._class_of: OrderedDict[Node, bool] = OrderedDict()  # whether something is rdf:type it
        self._cache_size = cache_size

    # -- public -----------------------------------------------------------------------

    def focus(self, question: str, history: Sequence[Turn]) -> list[Node]:
        """Entities the question is about, best first: those it names, then the conversation's."""
        anchors, _ = self._anchors(question, history)
        return [e for e, _ in anchors]

    def retrieve(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> list[Fact]:
        """The best ``k`` (default: the retriever's K) facts for the question, best first."""
        anchors, q = self._anchors(question, history)
        if not anchors:
            return []
        top = max(a.weight for _, a in anchors)
        cited = self._cited(history)
        cited_po = self._cited_po(cited)
        carry = self._carried_predicates(history)

        edges = []
        for entity, anchor in anchors:
            weight = anchor.weight / top
            edges += [(entity, weight * damping, t) for t, damping in self._edges(entity)]
            if entity in self._saturated:
                edges += [(entity, weight * damping, t)
                          for t, damping in self._targeted(entity, q, carry)]
        named = {e for e, a in anchors if a.linked}
        matches = [self._fact_match(t, q, e, named) for e, _, t in edges]
        if any(matches):  # the question names a predicate: nothing to carry over
            carry = set()
        elif history and not history[-1].evidence:
            # "And Sweden?" after a question the graph could not answer (no evidence to
            # carry a predicate from): the previous question's words stand in, at a discount.
            previous = self._question(history[-1].user)
            matches = [CARRY_DISCOUNT * self._fact_match(t, previous, e, named)
                       for e, _, t in edges]
        cosines: dict[Node, float] = {}
        semantic = self._semantic_matches(q, {t[1] for _, _, t in edges}, cosines)
        scored: dict[Triple, float] = {}
        inverse: dict[Triple, bool] = {}  # reached from its object by its best score
        first_hop: list[tuple[float, float, Node]] = []  # (match, entity weight, far end)
        looked: set[Node] = set()  # answer ends whose classes this question looked up
        typed = False  # whether one of them is of the class the question's answer-type word names
        for (entity, weight, triple), match in zip(edges, matches):
            named_by = max(match, semantic.get(triple[1], 0.0))
            if named_by > 0:  # meaning breaks ties between labels words match alike
                named_by += self._tie * cosines.get(triple[1], 0.0)
            if CLASS_MATCH and q.type_term:
                # "Which *band* recorded it?": the end that would be the answer is a band
                answer = triple[2] if triple[0] == entity else triple[0]
                if (answer not in named and not isinstance(answer, Literal) and triple[1] != RDF.type
                        and (answer in self._classes or len(looked) < CLASS_LOOKUPS)):
                    looked.add(answer)  # a remote graph answers each lookup over the network
                    if q.type_term & self._class_stems(answer):
                        named_by = max(named_by, CLASS_MATCH)
                        typed = True
            if BOTH_NAMED and triple[0] != triple[2] and triple[0] in named and triple[2] in named:
                # "Is Kofi a nurse?", "Does Norway border Sweden?": the fact between two
                # things the question names is what it asks about, whatever the relation's label
                named_by = max(named_by, BOTH_NAMED)
            score = self._score(triple, named_by, weight, q, cited, cited_po, carry)
            if score > scored.get(triple, -math.inf):
                scored[triple] = score
                inverse[triple] = triple[0] != entity
            if match > 0:
                far = triple[2] if triple[0] == entity else triple[0]
                first_hop.append((match, weight, far))
        # Second hop ("the capital's population"): out from the far ends of the best
        # matching first-hop facts, at a discount so it never drowns the first hop.
        first_hop.sort(key=lambda x: -(x[0] + x[1]))
        anchor_set = {e for e, _ in anchors}
        for match, weight, far in first_hop[: self.hop2]:
            if far in anchor_set or isinstance(far, Literal):
                continue
            for triple, _ in self._edges(far):
                m2 = self._fact_match(triple, q, far, named)
                if m2 <= 0:
                    continue
                score = HOP2_DISCOUNT * self._score(triple, m2, weight, q, cited, cited_po, set())
                if score > scored.get(triple, -math.inf):
                    scored[triple] = score
                    inverse[triple] = triple[0] != far
        if TYPE_MEANING and q.type_word and self.encoder is not None and not typed:
            # (where the graph says which answers are of the class asked for, it knows better)
            self._type_meaning(q, scored, inverse)
        if SPECIFIC_PLACE and PLACE_QUESTIONS & set(q.words):
            self._specific_place(scored, inverse)
        best = sorted(scored.items(), key=lambda kv: -kv[1])[: self.k if k is None else k]
        return [Fact(s, p, o, self._label(s), self._label(p), self._label(o), round(score, 4),
                     inverse=inverse[(s, p, o)])
                for (s, p, o), score in best]

    @staticmethod
    def _specific_place(scored: dict[Triple, float], inverse: dict[Triple, bool]) -> None:
        """"Where is it?": of two near-best facts of one entity, the one whose answer lies in
        the other's answer (the town, in the country) names the place more exactly."""
        top = sorted(scored, key=lambda t: -scored[t])[:SPECIFIC_AMONG]
        related = {(t[0], t[2]) for t in scored}
        for a in top:
            for b in top:
                if (a is not b and not inverse[a] and not inverse[b] and a[0] == b[0]
                        and abs(scored[a] - scored[b]) < SPECIFIC_NEAR and (a[2], b[2]) in related):
                    scored[a] += SPECIFIC_PLACE
                    break

    def linked(self, question: str) -> list[Node]:
        """The entities the question names, in the order it names them (a comparison's
        first entity is the one asked about)."""
        hits = sorted(self._linked(question), key=lambda m: (m.start if m.start >= 0 else 10**6, -m.score))
        spans: list[tuple[int, int]] = []
        out: list[Node] = []
        for m in hits:
            if m.start >= 0 and any(m.start < e and b < m.end for b, e in spans):
                continue  # inside a longer name already taken ("Guinea" in "Equatorial Guinea")
            if m.entity not in out and not self._refers(question, m, self._question(question)):
                out.append(m.entity)
                if m.start >= 0:
                    spans.append((m.start, m.end))
        return out

    def _refers(self, question: str, m, q: Question) -> bool:
        """Is mention ``m`` a class named as one thing already talked about ("Who's in *the
        band*?", "Is she in *the band* too?"): the singular, after a definite article, and
        not the answer's type ("Which album ...")? A plural or indefinite one is the class
        ("Is Owen one of *the nurses*?", "Is Kofi *a nurse*?")."""
        if m.start < 0:
            return False
        before = fold(question[:m.start]).split()
        stems = word_stems(self._label(m.entity))
        return (bool(before) and before[-1] in DEFINITE and bool(stems)
                and not (q.type_term and stems <= q.type_term)
                and fold(question[m.start:m.end]) == fold(self._label(m.entity))
                and self._is_class(m.entity))

    def _is_class(self, e: Node) -> bool:
        """Does anything have ``e`` as its rdf:type? Cached."""
        known = self._class_of.get(e)
        if known is None:
            known = next(iter(self.kg.triples(None, RDF.type, e, limit=1)), None) is not None
            _put(self._class_of, e, known, self._cache_size * 4)
        return known

    def predicate_score(self, question: str, p: Node) -> float:
        """How well the question's words name predicate ``p`` (0: not at all)."""
        return self._predicate_match(p, self._question(question))

    # -- focus ------------------------------------------------------------------------

    def _anchors(self, question: str, history: Sequence[Turn]):
        """(entity, anchor) pairs by weight, and the parsed question."""
        anchors: dict[Node, _Anchor] = {}
        matches = self._linked(question)
        q = self._question(question)
        for m in matches:
            a = anchors.setdefault(m.entity, _Anchor())
            weight = LINK_WEIGHT * m.score
            if q.type_term and word_stems(self._label(m.entity)) <= q.type_term:
                # "Which *bands* is Tess in?" names what the answer is (the class), not a topic
                weight *= TYPE_LINK_DISCOUNT
            a.weight += weight
            a.linked = True

        # An entity's focus is its strongest mention, not the sum of them: summed, the
        # subject of three earlier turns outweighs the one the last turn switched to.
        recent = list(history)[-self.history_turns:]
        answer_weight = LOCATIVE_ANSWER_WEIGHT if LOCATIVES & set(q.words) or _demonstrative(q.words) \
            else ANSWER_WEIGHT
        focus: dict[Node, float] = {}
        for age, turn in enumerate(reversed(recent)):
            decay = DECAY ** age
            for entity, role in self._turn_entities(turn, answer_weight):
                focus[entity] = max(focus.get(entity, 0.0), decay * role)
        for entity, weight in focus.items():
            anchors.setdefault(entity, _Anchor()).weight += weight
        # "Who's in *the band*?" after The Velvet Larks: a class named with a definite
        # article, not as the answer's type, means the conversation's member of that class
        for m in matches:
            if not self._refers(question, m, q):
                continue
            stems = word_stems(self._label(m.entity))
            member = max((e for e in focus if e != m.entity and not isinstance(e, Literal)
                          and stems <= self._class_stems(e)), key=focus.get, default=None)
            if member is not None:
                moved = anchors[m.entity].weight * (1 - TYPE_LINK_DISCOUNT)
                anchors[m.entity].weight -= moved
                anchors[member].weight += moved

        # A question naming a focus entity by part of its label ("Solberg" for "Erna
        # Solberg") or a word of it points at that entity even when linking missed it.
        # A name the language does not know may be the start of one ("Jap" for Japan).
        words = {w for w in q.words if w not in NOT_PREDICATE_WORDS and len(w) > 2}
        starts = tuple(fold(question[b:e]) for b, e in _unknown_names(question))
        if words:
            for entity, a in anchors.items():
                label = fold(self._label(entity)).split()
                if not a.linked and (words & set(label) or any(w.startswith(starts) for w in label)):
                    a.weight += LINK_WEIGHT * 0.8
        # A name written in part ("Denbe", capitalised mid-sentence) that no entity of the
        # graph is called and none in focus has: the one of the conversation it is part of,
        # talked about up to NAMED_EARLIER turns ago.
        older = list(history)[-NAMED_EARLIER:-self.history_turns]
        for entity in self._named_earlier(question, older, anchors):
            anchors.setdefault(entity, _Anchor()).weight += LINK_WEIGHT * 0.8
        ranked = sorted(anchors.items(), key=lambda kv: -kv[1].weight)
        return ranked[: self.max_anchors], q

    def _named_earlier(self, question: str, older: Sequence[Turn],
                       anchors: Mapping[Node, "_Anchor"]) -> list[Node]:
        """The entity of an older turn whose label holds a word the question writes as a
        name (capitalised, not its first word) and no anchor's label holds."""
        names = {fold(w) for i, w in enumerate(_WORD.findall(question))
                 if i > 0 and w[:1].isupper() and len(w) > 2}
        names -= {w for e in anchors for w in fold(self._label(e)).split()}
        if not names or not older:
            return []
        found: list[Node] = []
        for turn in reversed(list(older)):
            for entity, _ in self._turn_entities(turn):
                if entity not in found and names & set(fold(self._label(entity)).split()):
                    found.append(entity)
        return found[:1]

    def _turn_entities(self, turn: Turn,
                       answer_weight: float = ANSWER_WEIGHT) -> list[tuple[Node, float]]:
        """What an earlier turn was about (its topic) and answered with, with role weights."""
        out: list[tuple[Node, float]] = []
        topic = [e for e in getattr(turn, "topic", None) or [] if not isinstance(e, Literal)]
        if topic:  # a composed answer says what it was about, the entity asked about first
            out += [(e, TOPIC_WEIGHT if i == 0 else TOPIC_WEIGHT * 0.5) for i, e in enumerate(topic)]
            ends = [end for f in turn.evidence[:2] for end in (f.s, f.o)
                    if end not in topic and not isinstance(end, Literal)]
            # the members of a list answer share its weight: after "Python is the skill of
            # seven people", "its" is not the first one named
            values = len({end for f in turn.evidence for end in (f.s, f.o) if end not in topic})
            share = answer_weight / max(1, values)
            return out + [(e, share * (1.0 if i == 0 else 0.5)) for i, e in enumerate(ends)]
        answer = fold(turn.answer or "")
        for rank, fact in enumerate(turn.evidence[:2]):
            share = 1.0 if rank == 0 else 0.5
            s_is_answer = _mentions(answer, self._label(fact.s))
            o_is_answer = _mentions(answer, self._label(fact.o))
            if o_is_answer and not s_is_answer:
                ends = [(fact.s, TOPIC_WEIGHT), (fact.o, answer_weight)]
            elif s_is_answer and not o_is_answer:
                ends = [(fact.o, TOPIC_WEIGHT), (fact.s, answer_weight)]
            else:
                ends = [(fact.s, TOPIC_WEIGHT), (fact.o, answer_weight)]
            out += [(e, w * share) for e, w in ends if not isinstance(e, Literal)]
        if not out:  # no evidence (live chat, abstained): link the question and answer texts
            out += [(m.entity, TOPIC_WEIGHT * m.score) for m in self._linked(turn.user)]
            if turn.answer and not turn.abstained:
                out += [(m.entity, answer_weight * m.score) for m in self._linked(turn.answer)[:1]]
        return out

    def _question(self, text: str) -> Question:
        """The question's words, less the names it links written as proper names (so
        "Papua New Guinea" does not match a predicate with "new" in its label)."""
        q = self._questions.get(text)
        if q is None:
            linked = [m for m in self._linked(text) if m.start >= 0]
            spans = [(m.start, m.end) for m in linked if text[m.start:m.start + 1].isupper()]
            # a name written in lower case ("the evangelical reformed parish church"), whole
            # and of several words, is still a name to the encoder
            said = [(m.start, m.end) for m in linked if (m.start, m.end) not in spans
                    and m.score >= 1.0 and len(text[m.start:m.end].split()) >= 2]
            skip = spans + _unknown_names(text)
            q = Question.parse(text, skip, said, self.whole_question)
            # "the head of state of *this country*": a noun a demonstrative makes a mention
            # is the entity talked about, not a word of the relation, where other words
            # name the relation or the answer's type ("What continent is this country in?";
            # "What was the name of this body?" has neither)
            referring = _referring_nouns(text)
            if referring:
                r = Question.parse(text, skip + referring, said, self.whole_question)
                if r.relation_words or r.type_word:
                    q = r
            _put(self._questions, text, q, self._cache_size)
        return q

    def _linked(self, text: str):
        hit = self._search.get(text)
        if hit is None:
            hit = [m for m in self.kg.search(text, limit=5) if m.score >= 0.7]
            _put(self._search, text, hit, self._cache_size)
        return hit

    @staticmethod
    def _cited(history: Sequence[Turn]) -> set[Triple]:
        """The facts recent turns answered from: each turn's first citation (its others hold
        the same label under other facts, which a next question may ask)."""
        return {(f.s, f.p, _lexical(f.o))
                for turn in list(history)[-4:] for f in turn.evidence[:1]}

    @staticmethod
    def _cited_po(cited: set[Triple]) -> set[tuple[Node, Node]]:
        return {(p, o) for _, p, o in cited}

    @staticmethod
    def _carried_predicates(history: Sequence[Turn]) -> set[Node]:
        return {f.p for f in history[-1].evidence[:1]} if history else set()

    def _targeted(self, entity: Node, q: Question, carry: set[Node]) -> list[tuple[Triple, float]]:
        """A hub's edges under the predicates the question names: its neighbour list was cut
        at ``per_entity`` and the fact asked for may lie beyond the cut, so look those
        predicates up directly (an indexed pattern query each, both directions)."""
        wanted = {p for w in q.content for p in self._preds_by_stem.get(w, ())} | carry
        ranked = sorted(wanted, key=lambda p: -self._predicate_match(p, q))[:MAX_TARGETED]
        out: list[tuple[Triple, float]] = []
        for p in ranked:
            key = (entity, p)
            hit = self._neighbours.get(key)
            if hit is None:
                hit = []
                for pattern in ((entity, p, None), (None, p, entity)):
                    found = list(self.kg.triples(*pattern, limit=TARGETED_LIMIT))
                    damping = 1.0 / (1.0 + math.log(len(found))) if found else 1.0
                    hit += [(t, damping) for t in found]
                _put(self._neighbours, key, hit, self._cache_size)
            out += hit
        return out

    # -- scoring ----------------------------------------------------------------------

    def _semantic_matches(self, q: Question, predicates: set[Node],
                          cosines: dict[Node, float] | None = None) -> dict[Node, float]:
        """How strongly the question's meaning names each predicate (the best of its labels),
        on the scale of a label match; the one clearly closest of all counts at least
        ``SEMANTIC_LEAD``; {} without an encoder or a relation word."""
        if self.encoder is None or not q.semantic_text or not predicates:
            return {}
        ordered = list(predicates)
        texts = [self._predicate_label_texts(p) for p in ordered]
        flat = [t for ts in texts for t in ts]
        sims = iter(self.encoder.similarity(q.semantic_text, flat))
        out = {}
        cosines = {} if cosines is None else cosines
        for p, ts in zip(ordered, texts):
            best = cosines[p] = max(next(sims) for _ in ts)
            if best > SEMANTIC_FLOOR:
                out[p] = SEMANTIC_SCALE * (best - SEMANTIC_FLOOR)
        leader = _leader(cosines, self._lead_floor)
        if leader is not None:
            out[leader] = max(out.get(leader, 0.0), SEMANTIC_LEAD)
        return out

    def _predicate_label_texts(self, p: Node) -> tuple[str, ...]:
        """What the encoder reads of a predicate: each of its labels, and its first label
        with the values it most often has ("instrument: Drums, Guitar, Banjo"): the values
        say what the relation is about where its label is terse or abstract."""
        texts = self._semantic_texts.get(p)
        if texts is None:
            self._predicate_stems(p)
            texts = self._label_texts[p]
            values = self._end_text(p, True)
            if values:
                texts = (*texts, f"{texts[0]}: {values}")
            self._semantic_texts[p] = texts
        return texts

    def _type_meaning(self, q: Question, scored: dict[Triple, float], inverse: dict[Triple, bool]) -> None:
        """"What is the city where the band is from?": of the relations, those whose answers
        are like what the question's answer-type word names (its meaning against the labels
        of the ends the relation typically has there: "Nagano Prefecture, Columbus, ..."
        against "Japan, France, ...") keep their score; the others lose ``TYPE_MEANING`` x
        how much less alike. Where the graph types nothing, what a relation's values are is
        how the answer's type is known."""
        # in a fixed order: the encoder embeds them in one batch, and a batch's order moves its
        # cosines in the last digits (two processes would break ties apart)
        sides = sorted({(t[1], not inverse[t]) for t in scored}, key=lambda x: (str(x[0]), x[1]))
        texts = {side: self._end_text(*side) for side in sides}
        texts = {side: text for side, text in texts.items() if text}
        if len(texts) < 2:
            return
        keys = list(texts)
        fit = dict(zip(keys, self.encoder.similarity(q.type_word, [texts[k] for k in keys])))
        best = max(fit.values())
        for t in scored:
            side = (t[1], not inverse[t])
            if side in fit:
                scored[t] -= TYPE_MEANING * (best - fit[side])

    def _end_text(self, p: Node, forward: bool) -> str:
        """The labels of the ends the predicate most often has on one side (objects when
        ``forward``), as the encoder reads them; "" for schema predicates."""
        key = (p, forward)
        text = self._end_texts.get(key)
        if text is None:
            text = ", ".join(self._typical_values(p, subjects=not forward))
            _put(self._end_texts, key, text, self._cache_size)
        return text

    def _typical_values(self, p: Node, subjects: bool = False) -> list[str]:
        """The labels of the ``VALUE_SAMPLE`` values most frequent among the predicate's first
        ``VALUE_LOOKUP`` objects, or subjects (ties in term order, so every backend reads the
        same; only those few are labelled: on an endpoint each label may be a query)."""
        if str(p).startswith(_SCHEMA_NAMESPACES):  # their values are classes and words
            return []
        counts = Counter(t[0 if subjects else 2] for t in self.kg.triples(None, p, None, limit=VALUE_LOOKUP))
        out: list[str] = []
        for o in sorted(counts, key=lambda o: (-counts[o], str(o))):
            text = str(o) if isinstance(o, Literal) else self._label(o)
            if text and len(text) <= VALUE_CHARS and text not in out:  # a description says nothing of the relation
                out.append(text)
                if len(out) == VALUE_SAMPLE:
                    break
        return out

    def _score(self, triple: Triple, match: float, weight: float, q: Question,
               cited: set[Triple], cited_po: set[tuple[Node, Node]], carry: set[Node]) -> float:
        score = W_PREDICATE * match + W_ENTITY * weight
        o = triple[2]
        if isinstance(o, Literal) and o.datatype is not None:
            if q.wants_date and o.datatype in _DATE_TYPES:
                score += W_TYPE
            elif q.wants_number and o.datatype in _NUMBER_TYPES:
                score += W_TYPE
        if match == 0 and triple[1] in carry:
            score += W_CARRY
        if isinstance(o, Literal):
            o = _lexical(o)
        if (triple[0], triple[1], o) in cited:
            score -= CITED_PENALTY
        elif (triple[1], o) in cited_po:
            score -= SIBLING_PENALTY
        return score

    def _fact_match(self, triple: Triple, q: Question, entity: Node, named: set[Node]) -> float:
        """``_predicate_match`` for a fact reached from ``entity``, so its other end would be
        the answer. A label like "country" or "currency" names what its object is, "capital
        of" what its subject is: the question's answer-type word ("Which *countries* border
        Chile?") fits only when the end it names would be the answer. So the many "city ->
        country -> Chile" edges, whose answer would be a city, do not outrank "shares border
        with". Nor does the one from a city in the conversation's focus (Santiago -> country
        -> Chile): its answer would be Chile, which the question names (``named``) while
        the city it is read from is not named."""
        fits = None
        forward = triple[0] == entity
        if q.answer_type:
            answer = triple[2] if forward else triple[0]
            fits = (forward != self._names_subject(triple[1])
                    and (answer not in named or entity in named))
        # a question phrasing of the predicate, for this direction, counts like a label
        label = self._predicate_match(triple[1], q, fits)
        return max(label, self._phrasing_match(triple[1], forward, q)) + LABEL_BONUS * label

    def _phrasing_match(self, p: Node, forward: bool, q: Question) -> float:
        """How well the question matches the best of the predicate's question phrasings for
        this direction (``dqa:question`` asks for the object, ``dqa:inverseQuestion`` for the
        subject): matched stems over the square root of the phrasing's, like a label."""
        key = (p, forward)
        hit = q.phrased.get(key)
        if hit is None:
            hit = 0.0
            for stems in self._predicate_phrasings(p, forward):
                n = len(stems & q.content)
                if n:
                    hit = max(hit, n / math.sqrt(len(stems)))
            q.phrased[key] = hit
        return hit

    def _predicate_phrasings(self, p: Node, forward: bool) -> tuple[frozenset[str], ...]:
        key = (p, forward)
        found = self._phrasings.get(key)
        if found is None:
            variants: set[frozenset[str]] = set()
            pattern = QUESTION if forward else INVERSE_QUESTION
            for _, _, text in self.kg.triples(p, pattern, None, limit=PHRASINGS_LIMIT):
                words = {fold(w) for w in _WORD.findall(str(text))}
                stems = frozenset(stem(w) for w in words if w not in NOT_PREDICATE_WORDS and not w.isdigit())
                if stems:
                    variants.add(stems)
            found = self._phrasings[key] = tuple(variants)
        return found

    def _predicate_match(self, p: Node, q: Question, type_fits: bool | None = None) -> float:
        """How well the question's words cover the predicate's label: matched stems over
        the square root of the label's length, so "capital" fully matches "capital of".
        Each of its labels (``rdfs:label``, ``skos:altLabel``, ...) is a whole name of its
        own: the best of them counts ("What is its pay?" fully names a predicate labelled
        "annual salary" with the alternative label "pay").
        A label only the answer-type word matches weighs ``TYPE_MISMATCH`` as much when
        ``type_fits`` is False (when other words match it too, the "type word" is likely
        part of the relation: "What *shares* border with Portugal?"). When no stem matches
        exactly, stems of which one begins the other ("discov" from "discovered" and
        "discoveri" from "location of discovery", "creat" and "creator") match at
        ``STEM_PREFIX_DISCOUNT``: the stemmer leaves such derivations apart."""
        return max((self._label_match(stems, (p, i), q, type_fits)
                    for i, stems in enumerate(self._predicate_labels(p))), default=0.0)

    @staticmethod
    def _label_match(stems: frozenset[str], key, q: Question, type_fits: bool | None) -> float:
        hits = stems & q.content
        discount = 1.0
        if not hits:
            related = q.prefix_related.get(key)
            if related is None:
                related = q.prefix_related[key] = frozenset(
                    w for w in q.content if any(_stem_prefix(w, s) for s in stems))
            if not related:
                return 0.0
            # the question's words that matched stand in for the label's stems they begin
            hits, stems_seen, discount = related, related | stems, STEM_PREFIX_DISCOUNT
        else:
            stems_seen = stems
        count = float(len(hits))
        # "What languages do people speak?": two words point at "language", one at
        # "population"; count the question's words as well as the label's stems
        words = sum(1 for t in q.terms if t & stems_seen)
        if type_fits is not False and q.type_term & stems_seen:
            words += 1
        count = max(count, float(words))
        if type_fits is False and hits <= q.answer_type:
            count *= TYPE_MISMATCH
        return discount * count / math.sqrt(len(stems))

    def names_predicate(self, question: str, p: Node) -> bool:
        """Whether the question's words cover the predicate's label ("In what country?" names
        "country"), or its meaning is that close to one of the labels ("Where was he buried?",
        "place of burial": 0.76); question phrasings do not count, they are too loose for this."""
        q = self._question(question)
        if self._predicate_match(p, q) >= NAMES_PREDICATE:
            return True
        if self.encoder is None or not q.semantic_text:
            return False
        return max(self.encoder.similarity(q.semantic_text, self._predicate_label_texts(p))) >= SEMANTIC_NAMES

    def _names_subject(self, p: Node) -> bool:
        """Whether the label names its subject ("capital of", "part of"), not its object."""
        named = self._subject_named.get(p)
        if named is None:
            words = fold(self._label(p)).split()
            named = self._subject_named[p] = bool(words) and words[-1] == "of"
        return named

    def _predicate_labels(self, p: Node) -> tuple[frozenset[str], ...]:
        """Each of the predicate's labels as its stems."""
        self._predicate_stems(p)
        return self._label_stems[p]

    def _predicate_stems(self, p: Node) -> frozenset[str]:
        """The stems of all the predicate's labels together (each label's own are kept in
        ``_label_stems``)."""
        stems = self._pred_stems.get(p)
        if stems is None:
            # every label in a wanted language, altLabels included: more ways to be asked
            texts = [t for t, lang in self.kg.labels(p) if lang in self.kg.langs or not lang]
            per_label = []
            for t in dict.fromkeys(texts or [self._label(p)]):
                label = frozenset(stem(fold(w)) for w in _WORD.findall(t)
                                  if fold(w) not in NOT_PREDICATE_WORDS)
                if label and label not in per_label:
                    per_label.append(label)
            stems = frozenset().union(*per_label)
            self._label_stems[p] = tuple(per_label)
            self._label_texts[p] = tuple(dict.fromkeys(texts or [self._label(p)]))
            self._pred_stems[p] = stems
            for w in stems:
                self._preds_by_stem.setdefault(w, set()).add(p)
        return stems

    # -- cached backend calls -----------------------------------------------------------

    def _edges(self, entity: Node) -> list[tuple[Triple, float]]:
        """Neighbours of an entity (cached), each with its crowd damping factor."""
        edges = self._neighbours.get(entity)
        if edges is None:
            triples = self.kg.neighbours(entity, limit=self.per_entity)
            fan: dict[tuple[Node, bool], int] = {}
            for s, p, _ in triples:
                key = (p, s == entity)
                fan[key] = fan.get(key, 0) + 1
            edges = [(t, 1.0 / (1.0 + math.log(fan[(t[1], t[0] == entity)]))) for t in triples]
            _put(self._neighbours, entity, edges, self._cache_size)
            out_edges = sum(1 for t in triples if t[0] == entity)
            if max(out_edges, len(triples) - out_edges) >= self.per_entity:
                self._saturated.add(entity)  # a hub: more edges than we fetched
            for _, p, _ in triples:
                self._predicate_stems(p)  # learn the predicate vocabulary as we go
        else:
            self._neighbours.move_to_end(entity)
        return edges

    def _class_stems(self, term: Node) -> frozenset[str]:
        """The stems of the labels of ``term``'s classes (rdf:type), cached."""
        stems = self._classes.get(term)
        if stems is None:
            stems = frozenset().union(*(word_stems(self._label(c))
                                        for _, _, c in self.kg.triples(term, RDF.type, None, limit=8)))
            _put(self._classes, term, stems, self._cache_size * 4)
        return stems

    def _label(self, term: Node) -> str:
        text = self._labels.get(term)
        if text is None:
            text = str(term) if isinstance(term, Literal) else self.kg.label(term)
            _put(self._labels, term, text, self._cache_size * 4)
        return text


def _outermost(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans not inside or overlapping an earlier, longer one ("Guinea" in "Equatorial
    Guinea"), so replacing them one by one keeps the others' offsets right."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda x: (x[0], -x[1])):
        if out and s < out[-1][1]:
            continue
        out.append((s, e))
    return out


def _stem_prefix(a: str, b: str) -> bool:
    """One stem begins the other and the shorter is long enough to mean something."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= STEM_PREFIX_MIN and short != long_ and long_.startswith(short)


def _lexical(term: Node) -> Node:
    """A literal as its lexical form: evidence read back from a transcript keeps only that
    ("5400000", not "5400000"^^xsd:integer), and must still match the graph's fact."""
    return Literal(str(term)) if isinstance(term, Literal) else term


def _mentions(answer_folded: str, label: str) -> bool:
    label = fold(label.strip())
    return bool(answer_folded and label) and label in answer_folded


def _put(cache: OrderedDict, key, value, size: int) -> None:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)


def make_retriever(kg: KnowledgeGraph, k: int = 30) -> Retriever:
    """The retriever the bot uses: with the installed sentence encoder (kg/semantic.py)."""
    from dialogqa.kg.semantic import default_encoder

    return Retriever(kg, k=k, encoder=default_encoder())

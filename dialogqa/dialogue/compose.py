"""Answers the graph computes: lists, counts, yes/no, comparisons, superlatives and paths.

The question head (model/intent.py) says which operation a question asks for; the facts the
model chose (relevance head and grounded decoding) say what it is about. This module executes
the operation through the ``KnowledgeGraph`` protocol (``triples`` and ``neighbours`` only, so
it runs on memory, store and endpoint alike) and words the result in one short sentence that
holds the graph's values verbatim. Nothing is guessed: a count is the number of facts cited,
a comparison compares the two cited values, a yes is a cited fact. Where the operation has
nothing to work on (no chosen fact, one entity for a comparison, no numbers), ``compose``
returns None and the model's own answer stands; where it applies but the graph lacks the
kind of value asked for (dates for "Which is older?"), it returns ``NOT_IN_GRAPH``: abstain.

Operations (``Intent.op``):
- ``lookup``: every value of the chosen fact's subject and predicate (or, asked from the
  object, every subject), all cited; polar ("Is it in Asia?") -> verification: yes when a fact
  with the chosen predicate links the entities the question names, else no;
- ``count``: how many such values (a number-valued fact with one value is that value:
  "How many people live there?" asks for a population);
- ``compare``: two entities (named, or the focus and one named) on the number or date
  predicate both have that the model ranks highest; polar ("Is it larger than X?") -> yes/no
  for the first, else the winner named first;
- ``superlative``: the entity with the largest (smallest) value among the last answer's;
- ``path``: the shortest chain of at most three facts between two entities (networkx).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import networkx as nx
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import BNode, Literal, Node, URIRef

from dialogqa.dialogue.matching import matches
from dialogqa.kg.base import KnowledgeGraph
from dialogqa.kg.retriever import NAMES_PREDICATE, word_stems
from dialogqa.kg.labels import is_label_predicate
from dialogqa.lexicon import join_values, lexicon, relational
from dialogqa.records import Fact, Turn

OPS = ("lookup", "count", "compare", "superlative", "path")
MAX_GROUP = 500  # values read for one (subject, predicate): a count beyond this says "500+"
SHOWN = 25  # values a list sentence names; the rest are counted ("and 12 more")
MAX_PATH = 3  # facts in a path answer
PATH_FANOUT = 60  # neighbours per entity when looking for a path
MAX_COUNT_GROUPS = 12  # groups around an entity a count chooses among
CLASS_CACHE = 4096  # entities whose being a class is remembered
AGREEING_FOCUS = 3  # focus entities an ambiguous "it" may mean (``Composer._agreeing``)


@dataclass(frozen=True)
class Intent:
    """What a question asks for: an operation, whether it wants yes or no, and for a
    comparison or superlative whether the smaller (earlier) value wins and whether the values
    compared are dates (None: not known, any value will do)."""

    op: str = "lookup"
    polar: bool = False
    less: bool = False
    date: bool | None = None
    many: bool = False  # the question asks for every value (a list, or what a count counts)
    scores: dict = field(default_factory=dict, compare=False)  # the head's probabilities


@dataclass
class Composed:
    answer: str
    evidence: list[Fact]
    topic: list[Node] = field(default_factory=list)  # what it is about, the one asked about first


def format_intent(op: str, polar: bool = False, less: bool = False, date: bool = False,
                  many: bool = False) -> str:
    """The transcript's ``intent`` text, ``parse_intent``'s inverse: ("compare", polar, less,
    date) -> "compare?<@"; direction and dates belong to comparisons and superlatives only,
    ``many`` (every value) to the other operations."""
    compared = op in ("compare", "superlative")
    return (op + ("?" if polar else "") + ("<" if less and compared else "")
            + ("@" if date and compared else "") + ("*" if many and not compared else ""))


def parse_intent(text: str) -> tuple[str, bool, bool, bool, bool]:
    """"compare?<@" -> ("compare", True, True, True, False): the operation, whether the question
    wants yes or no, whether the smaller (earlier) value wins, whether the values compared are
    dates, whether a lookup asks for every value ("lookup*": a list)."""
    op = text.rstrip("?<@*")
    return op, "?" in text, "<" in text, "@" in text, "*" in text


# the operation applies but the graph lacks what it needs ("Which is older?" where only
# populations are known): the answer is the abstention sentence, not the model's label
NOT_IN_GRAPH = Composed("", [])


class Composer:
    def __init__(self, kg: KnowledgeGraph, lang: str = "en",
                 predicate_score: Callable[[str, Node], float] | None = None,
                 choose: Callable[[str, list[str]], list[float]] | None = None,
                 members: Callable[[str, list[str]], list[float]] | None = None):
        self.kg = kg
        self.lex = lexicon(lang)
        self.lang = lang
        # how well a question names a predicate (the retriever's lexical match), for a
        # comparison whose predicate is not among the model's candidates
        self.predicate_score = predicate_score
        # the model's scores of options (predicate labels) for a question (model/intent.py):
        # which property a comparison or superlative is about
        self.choose = choose
        # the model's scores of one member of each group for a question: what a count counts
        self.members = members
        self._classes: dict[Node, bool] = {}  # _is_class, per entity
        self._supers: dict[Node, set[Node]] = {}  # _superclasses, per class

    # -- entry ----------------------------------------------------------------------------
    def compose(self, intent: Intent, question: str, chosen: Fact | None, ranked: Sequence[Fact],
                named: Sequence[Node], focus: Sequence[Node], history: Sequence[Turn] = (),
                answer: str = "") -> Composed | None:
        """``chosen``: the fact the model answered from (None when it abstained); ``ranked``:
        the candidates best first by the model's relevance; ``named``: entities the question
        names, in the order it names them; ``focus``: the conversation's entities, best first;
        ``answer``: the model's own answer (which side of the chosen fact it named).
        A class the question names is a word for a kind of thing, not an entity it is about
        ("How many employees share the department Research?" links the class "department"
        before Research; "Is Operations its department?")."""
        classes = [e for e in named if isinstance(e, URIRef) and self._is_class(e)]
        named = [e for e in named if e not in classes]
        if intent.op == "compare":
            return self._compare(intent, question, ranked, named, focus, chosen)
        if intent.op == "superlative":
            return self._superlative(intent, question, ranked, history)
        if intent.op == "path":
            return self._path(named, focus)
        if intent.polar:
            return (self._membership(classes, named, focus, question)
                    or self._verify(chosen, ranked, named, focus, question))
        if chosen is None:
            return None
        # around the entity the question is about (named, else the conversation's focus): a
        # fact pointing at it is asked from its object ("Which countries border it?")
        topic = next((e for e in list(named) + list(focus) if isinstance(e, URIRef)), None)
        if chosen.s == topic:
            inverse = False
        elif chosen.o == topic:
            # asked from its object; but where the graph states the fact both ways (borders),
            # the answer is the topic's own: "Sweden shares border with ..."
            own = next(iter(self.kg.triples(topic, chosen.p, chosen.s, limit=1)), None)
            inverse = own is None
            if own is not None:
                chosen = self._fact(*own)
        else:
            inverse = _asks_subject(chosen, answer)
        # a count answered from a number ("How many people live there?": the population the
        # model chose) is that number; otherwise the model picks which group is counted
        if intent.op == "count" and topic is not None and self.members is not None and _number(chosen.o) is None:
            chosen, inverse = self._count_group(question, chosen, inverse, ranked, topic)
        group = self.group(chosen, inverse)
        if not group:
            return None
        if len(classes) == 1 and len(group) > 1:
            # "How many *nurses* work in Heron Ward?": of those the fact's group holds, the
            # members of the class the question names (when some are and some are not)
            kept = [f for f in group if self._of_class(f.s if inverse else f.o, classes[0])]
            if kept:
                group = kept
        about = [chosen.o if inverse else chosen.s]
        if intent.op == "count" and not (len(group) == 1 and _number(group[0].o) is not None):
            sentence = self.sentence(group, inverse)
            n = f"{len(group)}+" if len(group) >= MAX_GROUP else str(len(group))
            return Composed(self.lex["count"].format(n=n, sentence=sentence), group, about)
        if not named and not inverse and len(group) == 1:
            # "What continent is it in?" after Dublin, Ireland: "it" may be either, and both
            # say Europe: the answer names both and cites both facts
            agreeing = self._agreeing(chosen, focus)
            if agreeing:
                return Composed(self.sentence(group, inverse, [chosen, *agreeing]),
                                [*group, *agreeing], about)
        return Composed(self.sentence(group, inverse), group, about)

    def _agreeing(self, chosen: Fact, focus: Sequence[Node]) -> list[Fact]:
        """The facts by which other entities of the conversation's focus (its first
        ``AGREEING_FOCUS``) have the chosen fact's predicate with the same one value: each
        answers the question as well, whichever of them "it" means."""
        out = []
        for e in focus[:AGREEING_FOCUS]:
            if e == chosen.s or not isinstance(e, URIRef):
                continue
            values = list(self.kg.triples(e, chosen.p, None, limit=2))
            if len(values) == 1 and values[0][2] == chosen.o:
                out.append(self._fact(e, chosen.p, chosen.o, chosen))
        return out

    def _count_group(self, question: str, chosen: Fact, inverse: bool, ranked: Sequence[Fact],
                     topic: Node) -> tuple[Fact, bool]:
        """What a count counts: among the groups of entities around the topic that the
        candidates show (its neighbours, its cities, ...), the one whose members the model
        finds fit the question ("How many neighbouring countries ...? One of them is China"
        rather than "... Pokhara"). Number-valued facts are not counted."""
        groups: dict[tuple[Node, bool], Fact] = {(chosen.p, inverse): chosen}
        around = [(t, False) for t in self.kg.triples(topic, None, None, limit=400)] + \
                 [(t, True) for t in self.kg.triples(None, None, topic, limit=400)]
        for (s, p, o), backwards in around:
            if isinstance(o, Literal) or _bookkeeping(p) or len(groups) >= MAX_COUNT_GROUPS:
                continue
            if (p, backwards) not in groups:
                groups[(p, backwards)] = self._fact(s, p, o)
        if len(groups) < 2:
            return chosen, inverse
        # "how many" presupposes a set: where the entity has groups of several members, a
        # single value (its continent, its currency) is not what is counted
        sizes = {k: sum(1 for _ in (self.kg.triples(None, k[0], topic, limit=2) if k[1]
                                    else self.kg.triples(topic, k[0], None, limit=2))) for k in groups}
        if any(n >= 2 for n in sizes.values()):
            groups = {k: f for k, f in groups.items() if sizes[k] >= 2}
        if len(groups) < 2:
            return next(iter(groups.values())), next(iter(groups))[1]
        # the topic's own values of a property the question names ("How many skills does
        # Lisri Liska have?": her skills, not the people she manages); not a property reached
        # backwards, which names what the topic is to the members ("How many neighbouring
        # countries ...?" names the "country" of its cities)
        named = [k for k in groups if not k[1] and self._names_predicate(question, k[0])]
        if len(named) == 1:
            return groups[named[0]], False
        keys = list(groups)
        # "How many *albums* have they made?": the one group whose members are of a class
        # the question names (the albums by the band, not its members)
        asked = word_stems(question)
        typed = [k for k in keys if self._class_named(asked, groups[k].s if k[1] else groups[k].o)]
        if len(typed) == 1:
            return groups[typed[0]], typed[0][1]
        members = [groups[k].s_label if k[1] else groups[k].o_label for k in keys]
        scores = self.members(question, members)
        best = keys[max(range(len(keys)), key=lambda i: scores[i])]
        return groups[best], best[1]

    def _class_named(self, asked: frozenset[str], member: Node) -> bool:
        """Does the question (``asked``: its words' stems) name a class of ``member``, every
        word of the class's label?"""
        for _, _, c in self.kg.triples(member, RDF.type, None, limit=8):
            words = word_stems(self.kg.label(c))
            if words and words <= asked:
                return True
        return False

    # -- lookups --------------------------------------------------------------------------
    def group(self, fact: Fact, inverse: bool) -> list[Fact]:
        """Every fact sharing ``fact``'s subject and predicate (its object and predicate when
        the question asks for the subject), ``fact`` first."""
        if inverse:
            triples = self.kg.triples(None, fact.p, fact.o, limit=MAX_GROUP)
        else:
            triples = self.kg.triples(fact.s, fact.p, None, limit=MAX_GROUP)
        out = [fact]
        seen = {fact.key()}
        for s, p, o in triples:
            f = self._fact(s, p, o, fact)
            if f.key() not in seen and self._wanted(o):
                seen.add(f.key())
                out.append(f)
        values = [f.s_label if inverse else f.o_label for f in out]
        if len(set(values)) < len(values):  # the same value twice (two languages, two IRIs)
            kept, shown = [], set()
            for f, v in zip(out, values):
                if v not in shown:
                    shown.add(v)
                    kept.append(f)
            out = kept
        return out

    def sentence(self, group: Sequence[Fact], inverse: bool, subjects: Sequence[Fact] = ()) -> str:
        """One sentence of the group's values; ``subjects``: the facts whose subjects it is
        said of together (they share the one value), else the group's first."""
        first = group[0]
        kind = relational(first.p_label, self.lang)
        p = _lower_first(first.p_label)
        if inverse:
            values = join_values([f.s_label for f in group], self.lang, SHOWN)
            shape = {"relation": "relation_inverse", "participle": "participle_inverse"}.get(kind, "noun_inverse")
            return _capitalise(self.lex[shape].format(p=p, o=first.o_label, v=values))
        values = join_values([f.o_label for f in group], self.lang, SHOWN)
        shape = kind or ("noun_one" if len(group) == 1 else "noun_many")
        said = join_values([f.s_label for f in subjects], self.lang, SHOWN) if subjects else first.s_label
        return _capitalise(self.lex[shape].format(p=p, s=said, v=values))

    # -- yes / no -------------------------------------------------------------------------
    def _verify(self, chosen: Fact | None, ranked: Sequence[Fact], named: Sequence[Node],
                focus: Sequence[Node], question: str) -> Composed | None:
        """Yes when the graph holds what the question states: a value it writes ("Is its floor
        25?") among the values of the entity asked about, or a fact linking that entity with the
        one the question names, by the predicate the model chose or one whose values are of the
        named entity's kind ("Is it in Oceania?": continent, as Oceania is a continent); no
        otherwise, citing what the graph says of the entity asked about on that predicate."""
        entities = [e for e in named if isinstance(e, URIRef)]
        others = [e for e in focus if isinstance(e, URIRef) and e not in entities]
        # a value written in the question: a literal of the entity asked about (the one the
        # question names, else one of the conversation's two foremost: "it" may be either)
        # that the question names: a number or a date on any predicate (the chosen one
        # first), a text only on the chosen predicate or one the question names
        for about in entities[:2] or others[:2]:
            said = [(s, p, o) for s, p, o in self.kg.triples(about, None, None, limit=400)
                    if isinstance(o, Literal) and not _bookkeeping(p) and matches(str(o), question)
                    and (comparable(o) is not None or chosen is not None and p == chosen.p
                         or self._names_predicate(question, p))]
            if said:
                said.sort(key=lambda t: chosen is None or t[1] != chosen.p)
                return Composed(self.lex["verified"].format(
                    yes=self.lex["yes"], sentence=self.sentence([self._fact(*said[0])], False)),
                    [self._fact(*said[0])], [about])
        subject, targets = _asked_about(chosen, entities, others)
        if subject is None:
            return None
        # the chosen predicate decides where the chosen fact is about these entities at all,
        # unless the question names the linking predicate itself
        touches = chosen is not None and bool({chosen.s, chosen.o} & ({subject} | set(targets)))
        predicates: list[Node] = [chosen.p] if chosen is not None else []
        if chosen is None:  # the model chose no fact: what the graph's edges to the target say
            for t in targets:
                predicates += [p for p in self._predicates_towards(subject, t) if p not in predicates]
        links: list[Fact] = []
        for t in targets:
            for s, p, o in list(self.kg.triples(subject, None, t, limit=20)) + list(
                    self.kg.triples(t, None, subject, limit=20)):
                if not _bookkeeping(p) and (not predicates or p in predicates or not touches
                                            or self._names_predicate(question, p)):
                    links.append(self._fact(s, p, o))
        if links:
            return Composed(self.lex["verified"].format(yes=self.lex["yes"],
                                                        sentence=self.sentence(links[:1], False)),
                            links[:1], [subject])
        if not targets and chosen is None:
            return None
        for p in predicates:  # what the graph does say of the subject (or the target) on it
            for about in [subject] + targets:
                said = [self._fact(*t) for t in self.kg.triples(about, p, None, limit=MAX_GROUP)]
                said = [f for f in said if self._wanted(f.o)]
                if said:
                    return Composed(self.lex["refuted"].format(no=self.lex["no"],
                                                               sentence=self.sentence(said, False)),
                                    said, [subject])
        return Composed(self.lex["refuted_bare"].format(no=self.lex["no"]), [], [subject])

    def _membership(self, classes: Sequence[Node], named: Sequence[Node], focus: Sequence[Node],
                    question: str) -> Composed | None:
        """"Is Kofi a nurse?", "Is he one of the doctors?": a yes/no question that names one
        class and at most one thing is asked whether that thing is of the class: yes when the
        graph types it so (or with a subclass of it), no, citing what the graph types it as,
        when it types it as something else. Not where the question names a relation of the
        things it is about ("Is Operations its department?" asks for the department of the
        one in focus, which is a department whatever the answer)."""
        entities = [e for e in named if isinstance(e, URIRef)]
        if len(classes) != 1 or len(entities) > 1:
            return None
        thing = entities[0] if entities else next((e for e in focus if isinstance(e, URIRef)), None)
        if thing is None or self._is_class(thing):
            return None
        types = [o for _s, _p, o in self.kg.triples(thing, RDF.type, None, limit=20) if isinstance(o, URIRef)]
        if not types:
            return None
        around = [thing] + [e for e in focus[:1] if isinstance(e, URIRef) and e != thing]
        predicates = {p for e in around for _s, p, _o in self.kg.triples(e, None, None, limit=400)}
        if any(not _bookkeeping(p) and self._names_predicate(question, p) for p in predicates):
            return None
        wanted = classes[0]
        for t in types:
            if self._is_a(t, wanted):
                fact = self._fact(thing, RDF.type, t)
                return Composed(self.lex["verified"].format(yes=self.lex["yes"], sentence=self.sentence([fact], False)),
                                [fact], [thing])
        said = [self._fact(thing, RDF.type, t) for t in types]
        return Composed(self.lex["refuted"].format(no=self.lex["no"], sentence=self.sentence(said, False)),
                        said, [thing])

    def _of_class(self, e: Node, c: Node) -> bool:
        """Is ``e`` typed ``c``, directly or through a subclass of it?"""
        return any(self._is_a(t, c) for _s, _p, t in self.kg.triples(e, RDF.type, None, limit=20))

    def _is_a(self, t: Node, c: Node) -> bool:
        """Is class ``t`` the class ``c`` or a subclass of it?"""
        return t == c or c in self._superclasses(t)

    def _superclasses(self, c: Node, depth: int = 4) -> set[Node]:
        """``c``'s superclasses (rdfs:subClassOf), ``depth`` steps up at most; cached (a
        count's members share a few classes, and an endpoint answers each lookup over the
        network)."""
        known = self._supers.get(c)
        if known is not None:
            return known
        out: set[Node] = set()
        frontier = {c}
        for _ in range(depth):
            frontier = {o for f in frontier for _s, _p, o in self.kg.triples(f, RDFS.subClassOf, None, limit=20)
                        if o not in out}
            if not frontier:
                break
            out |= frontier
        if len(self._supers) >= CLASS_CACHE:
            self._supers.clear()
        self._supers[c] = out
        return out

    def _names_predicate(self, question: str, p: Node) -> bool:
        return self.predicate_score is not None and self.predicate_score(question, p) >= NAMES_PREDICATE

    def _is_class(self, e: Node) -> bool:
        """Is ``e`` a class (something is ``rdf:type`` it, or it has a sub- or superclass)?
        Cached: looked up once an entity, not once a turn (an endpoint answers each lookup
        over the network)."""
        known = self._classes.get(e)
        if known is None:
            known = any(next(iter(self.kg.triples(*pattern, limit=1)), None) is not None
                        for pattern in ((None, RDF.type, e), (None, RDFS.subClassOf, e), (e, RDFS.subClassOf, None)))
            if len(self._classes) >= CLASS_CACHE:
                self._classes.clear()
            self._classes[e] = known
        return known

    def _predicates_towards(self, subject: Node, target: Node) -> list[Node]:
        """The subject's predicates that lead to things like the target: those the graph
        reaches the target by ("Oceania" is some country's continent: the subject's continent).
        No schema needed: the graph's own edges say what kind of value the target is."""
        incoming = {p for _s, p, _o in self.kg.triples(None, None, target, limit=300)
                    if not _bookkeeping(p)}
        if not incoming:
            return []
        mine = {p for _s, p, _o in self.kg.triples(subject, None, None, limit=400)}
        return sorted(incoming & mine, key=str)

    # -- comparisons ----------------------------------------------------------------------
    def _compare(self, intent: Intent, question: str, ranked: Sequence[Fact],
                 named: Sequence[Node], focus: Sequence[Node], chosen: Fact | None = None) -> Composed | None:
        entities = [e for e in named if isinstance(e, URIRef)]
        if len(entities) < 2:
            extra = [e for e in focus if isinstance(e, URIRef) and e not in entities]
            entities = extra[:1] + entities if intent.polar else entities + extra[:1]
            if len(entities) < 2 and extra[1:]:
                entities.append(extra[1])
        if len(entities) < 2:
            return None
        a, b = entities[0], entities[1]
        va, vb = self._numbers(a), self._numbers(b)
        shared = [p for p in va if p in vb]
        if not shared:
            return None
        shared = _of_kind(shared, va, intent)
        if not shared:  # "Which is older?" where only populations are known: not in the graph
            return NOT_IN_GRAPH
        p = self._pick_predicate(question, shared, ranked, {a, b}, va)
        fa, fb = va[p], vb[p]
        x, y = comparable(fa.o), comparable(fb.o)
        if x is None or y is None or type(x) is not type(y):
            return None
        a_wins = (x < y) if intent.less else (x > y)
        if intent.polar:
            word = self.lex["yes"] if a_wins else self.lex["no"]
            text = self.lex["compared_polar"].format(answer=word, p=_lower_first(fa.p_label), a=fa.s_label,
                                                     va=fa.o_label, b=fb.s_label, vb=fb.o_label)
            return Composed(text, [fa, fb], [a, b])
        # what the conversation was about stays its topic, whichever the question named first
        about = [b, a] if focus[:1] == [b] else [a, b]
        w, l = (fa, fb) if a_wins or x == y else (fb, fa)
        text = self.lex["compared_which"].format(w=w.s_label, p=_lower_first(w.p_label), vw=w.o_label,
                                                 vl=l.o_label, l=l.s_label)
        return Composed(_capitalise(text), [w, l], about)

    def _superlative(self, intent: Intent, question: str, ranked: Sequence[Fact],
                     history: Sequence[Turn]) -> Composed | None:
        members: list[Node] = []
        if history:
            last = history[-1]
            for f in last.evidence:
                inverse = _asks_subject(f, last.answer)
                end = f.s if inverse else f.o
                if isinstance(end, URIRef) and end not in members:
                    members.append(end)
        if len(members) < 2:
            return None
        values = {m: self._numbers(m) for m in members}
        predicates = [p for p in {p for v in values.values() for p in v}]
        if not predicates:
            return None
        labels = {p: f for v in values.values() for p, f in v.items()}
        predicates = _of_kind(predicates, labels, intent)
        if not predicates:
            return NOT_IN_GRAPH
        p = self._pick_predicate(question, predicates, ranked, set(members), labels)
        facts = [values[m][p] for m in members if p in values[m] and comparable(values[m][p].o) is not None]
        if not facts:
            return None
        kinds = {type(comparable(f.o)) for f in facts}
        if len(kinds) > 1:
            return None
        best = (min if intent.less else max)(facts, key=lambda f: comparable(f.o))
        text = self.lex["superlative"].format(w=best.s_label, p=_lower_first(best.p_label), v=best.o_label,
                                              n=len(facts))
        return Composed(_capitalise(text), [best] + [f for f in facts if f is not best], [best.s])

    def _numbers(self, entity: Node) -> dict[Node, Fact]:
        """The entity's number- and date-valued facts, one per predicate."""
        out: dict[Node, Fact] = {}
        for s, p, o in self.kg.triples(entity, None, None, limit=400):
            if p not in out and comparable(o) is not None and not is_label_predicate(p):
                out[p] = self._fact(s, p, o)
        return out

    def _pick_predicate(self, question: str, predicates: Sequence[Node], ranked: Sequence[Fact],
                        entities: set[Node], facts: dict[Node, Fact] | None = None) -> Node:
        """The one the model finds the question is about (``choose``, reading the question and
        each predicate's label); without it, the one it ranks highest on a fact about these
        entities; else the one the question names best; else the first in IRI order."""
        ordered = sorted(predicates, key=str)
        if self.choose is not None and len(ordered) > 1 and facts:
            scores = self.choose(question, [_lower_first(facts[p].p_label) for p in ordered])
            return ordered[max(range(len(ordered)), key=lambda i: scores[i])]
        wanted = set(predicates)
        for f in ranked:
            if f.p in wanted and (f.s in entities or f.o in entities):
                return f.p
        for f in ranked:
            if f.p in wanted:
                return f.p
        if self.predicate_score is not None:
            return max(ordered, key=lambda p: self.predicate_score(question, p))
        return ordered[0]

    # -- paths ----------------------------------------------------------------------------
    def _path(self, named: Sequence[Node], focus: Sequence[Node]) -> Composed | None:
        ends = [e for e in named if isinstance(e, URIRef)]
        if len(ends) < 2:
            ends += [e for e in focus if isinstance(e, URIRef) and e not in ends][: 2 - len(ends)]
        if len(ends) < 2:
            return None
        a, b = ends[0], ends[1]
        g = nx.Graph()
        frontier = {a, b}
        seen: set[Node] = set()
        for _ in range(2):  # two rounds from both ends: paths of up to four facts are in view
            nxt = set()
            for e in frontier - seen:
                seen.add(e)
                for s, p, o in self.kg.neighbours(e, limit=PATH_FANOUT):
                    if isinstance(o, Literal) or isinstance(o, BNode) or _bookkeeping(p):
                        continue
                    if not g.has_edge(s, o):
                        g.add_edge(s, o, triple=(s, p, o))
                    nxt.update((s, o))
            frontier = nxt
        try:
            nodes = nx.shortest_path(g, a, b)
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None
        if len(nodes) - 1 > MAX_PATH:
            return None
        facts = [self._fact(*g.edges[u, v]["triple"]) for u, v in zip(nodes, nodes[1:])]
        text = " ".join(self.sentence([f], False) for f in facts)
        return Composed(self.lex["path"].format(sentences=text), facts, [a, b])

    # -- helpers --------------------------------------------------------------------------
    def _fact(self, s: Node, p: Node, o: Node, like: Fact | None = None) -> Fact:
        label = self.kg.label
        if like is not None:
            return Fact(s, p, o, like.s_label if s == like.s else label(s),
                        like.p_label if p == like.p else label(p),
                        like.o_label if o == like.o else label(o), inverse=like.inverse)
        return Fact(s, p, o, label(s), label(p), label(o))

    def _wanted(self, o: Node) -> bool:
        """A literal in another language than the graph's first is the same value again."""
        if isinstance(o, Literal) and o.language:
            langs = list(getattr(self.kg, "langs", ()) or ())
            return not langs or o.language.split("-")[0] in langs[:1]
        return True


def _of_kind(predicates: Sequence[Node], facts: dict[Node, Fact], intent: Intent) -> list[Node]:
    """The predicates whose values are of the kind the question compares: dates when the
    question head reads a time comparison ("Which is older?"), numbers otherwise; all of
    them when the head does not say (one fitted before it could)."""
    if intent.date is None:
        return list(predicates)
    kind = [p for p in predicates if is_date(facts[p].o) == intent.date]
    if intent.date and not kind:
        # "Who is older?" on a graph that keeps a birth *year* as a plain number
        kind = [p for p in predicates if _year_like(facts[p].o)]
    return kind


def _asked_about(chosen: Fact | None, entities: Sequence[Node],
                 others: Sequence[Node]) -> tuple[Node | None, list[Node]]:
    """A yes/no question's (entity asked about, entities it is asked to be linked with), from
    the entities the question names (``entities``), the conversation's (``others``) and the
    fact the model chose."""
    if chosen is not None and isinstance(chosen.o, Literal) and chosen.s in entities:
        # "Is the floor of Legal 25?": a value of the named entity the model looked at
        return chosen.s, [e for e in entities if e != chosen.s]
    if len(entities) >= 2:
        return entities[0], list(entities[1:])
    if entities and chosen is not None and isinstance(chosen.o, Literal) and not others:
        return entities[0], []
    subject = others[0] if others else (chosen.s if chosen is not None else None)
    return subject, list(entities)


def _bookkeeping(p: Node) -> bool:
    """Labels and types: how the graph describes itself, not facts a question is about."""
    return is_label_predicate(p) or p == RDF.type


def _asks_subject(fact: Fact, answer: str) -> bool:
    """Did the model answer with the fact's subject (the question asked for it)?"""
    if answer:
        names_o = bool(fact.o_label) and matches(fact.o_label, answer)
        names_s = bool(fact.s_label) and matches(fact.s_label, answer)
        if names_o != names_s:
            return names_s
    return fact.inverse


def _number(o: Node) -> float | None:
    if not isinstance(o, Literal):
        return None
    value = o.toPython()
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def comparable(o: Node):
    """A literal's value as something ordered: a float for numbers, an ordinal for dates
    (a year or a year and month, xsd:gYear and xsd:gYearMonth, as its first day)."""
    n = _number(o)
    if n is not None:
        return n
    if isinstance(o, Literal):
        value = _partial_date(o) or o.toPython()
        if isinstance(value, dt.datetime):
            return float(value.date().toordinal())
        if isinstance(value, dt.date):
            return float(value.toordinal())
    return None


def is_date(o: Node) -> bool:
    """Is a literal's value a date (or a date and time, or a year: xsd:gYear)?"""
    return isinstance(o, Literal) and (_partial_date(o) is not None
                                       or isinstance(o.toPython(), (dt.date, dt.datetime)))


_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")


def _partial_date(o: Literal) -> dt.date | None:
    """An xsd:gYear or xsd:gYearMonth as its first day (rdflib leaves them unparsed)."""
    if o.datatype not in (XSD.gYear, XSD.gYearMonth):
        return None
    m = _PARTIAL.match(str(o))
    if m is None:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2) or 1), 1)
    except ValueError:
        return None


def _year_like(o: Node) -> bool:
    """A whole number that reads as a year (1000 to 2100)."""
    n = _number(o)
    return n is not None and n == int(n) and 1000 <= n <= 2100 and not isinstance(o.toPython(), float)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]

"""Grounded decoding: the answer copies a value of one of the candidate facts, or abstains.

A 135M model reading 30 fact lines garbles copies ("Oakanen" for Oslo, with the relevance
head scoring the Oslo line 1.00) and often answers from the wrong line, even when the
retriever ranked the right one first. Grounded decoding keeps the model in charge of the
words but restricts them to what the graph says:

- the candidate answers are the labels of the prompt's facts (both ends of an edge between
  two entities, the object of a fact with a literal value) plus the abstention sentence; a
  label the question itself names is not an answer to it ("Which country borders Canada?"
  is not "Canada"), nor is the fact the previous turn answered from (no two consecutive
  turns of the KGConv dev files, 2,691 pairs, nor of world.jsonl ask for the same fact; after
  "Norwegian Krone", "What is its national anthem?" must not get the currency again) unless
  the question names that fact's predicate (``DialogueSession.previously_cited``);
- each fact has a prior: a softmax over ``head_weight`` x the relevance head's logit plus
  ``retrieval_weight`` x the retriever's score, with one more option, abstaining, at
  ``abstain_logit``; the label of the end the retriever reached the fact from (its subject,
  or its object for an ``inverse`` fact: the question's own topic, "Norway" for "What is
  the lowest point?") loses ``near_penalty``; a label that is one of several values of the same
  entity and property among the candidates (Norway's neighbours) gains ``group_mass`` x the log
  of how many there are: a list's values answer the question together, so against abstaining
  each weighs as much as the whole group ("Which skills does Ana have?" with two skill facts
  the retriever only half-matched is no more an abstention than one fact matched that well),
  and where the question names the entity a group belongs to, only such groups weigh together
  ("What skills does Mito have?" is not asking for the holders of a skill the last answer named);
- decoding walks a token trie of the candidates (``AnswerGuide``): at each step only tokens
  that continue a candidate are allowed, and each gets ``prior_weight`` x the change in the
  best prior among the candidates it keeps open (so the priors of a whole answer add up to
  ``prior_weight`` x its best candidate's log prior); end of turn is allowed once a candidate
  is complete.

The weights are calibrated with the adapter on held-out dialogues and saved in its
relevance_head.json (``grounding``); without them, or without a relevance head, the model
decodes freely.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import torch
from rdflib.term import Literal

from dialogqa.dialogue.matching import matches
from dialogqa.records import Fact

_EPS = 1e-6


@dataclass(frozen=True)
class Grounding:
    """The prior over candidate facts (see the module doc); saved with the relevance head."""

    head_weight: float = 1.0
    retrieval_weight: float = 1.0
    abstain_logit: float = -4.0
    near_penalty: float = 3.0
    prior_weight: float = 1.0
    group_mass: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> "Grounding":
        known = {f.name for f in fields(cls)}
        data = dict(data)
        if "subject_penalty" in data:  # its name before facts knew their direction
            data.setdefault("near_penalty", data.pop("subject_penalty"))
        return cls(**{k: float(v) for k, v in data.items() if k in known})

    def fact_logits(self, relevance: Sequence[float], facts: Sequence[Fact]) -> list[float]:
        """Unnormalised log prior of each fact (``relevance``: the head's probabilities)."""
        return [self.head_weight * logit(p) + self.retrieval_weight * f.score
                for p, f in zip(relevance, facts)]

    def candidates(self, question: str, relevance: Sequence[float], facts: Sequence[Fact],
                   abstain_text: str, cited: Collection = ()) -> list[tuple[str, float]]:
        """(answer text, log prior) for every answer the facts support, best first, the
        abstention sentence among them; one entry per distinct text (its best prior). Ties go
        to abstaining, then to far-end labels, then to prompt order. ``cited``: the keys of
        the facts the previous turn cited, which answer nothing now."""
        logits = self.fact_logits(relevance, facts)
        top = max(logits + [self.abstain_logit])
        norm = top + math.log(sum(math.exp(z - top) for z in logits + [self.abstain_logit]))
        best: dict[str, tuple[float, int, int]] = {abstain_text: (self.abstain_logit - norm, -1, -1)}
        options = answer_options(question, facts, cited)
        sizes = _group_sizes(facts) if self.group_mass else None
        # where the question names the entity a group of values belongs to ("What skills
        # does Mito have?"), only the groups of a named entity are lists it asks for: not
        # the ten holders of a skill the last answer named
        anchors = [] if sizes is None else [_anchor(facts[i], is_near) for _, i, is_near in options]
        named = {a for a in set(anchors) if matches(a, question)}
        for n, (text, i, is_near) in enumerate(options):
            prior = logits[i] - norm - self.near_penalty * is_near
            if sizes is not None and (not named or anchors[n] in named):
                prior += self.group_mass * math.log(sizes[_group(facts[i], is_near)])
            if text not in best or prior > best[text][0]:
                best[text] = (prior, is_near, i)
        ordered = sorted(best.items(), key=lambda x: (-x[1][0], x[1][1], x[1][2]))
        return [(text, prior) for text, (prior, _, _) in ordered]

    def supporting(self, answer: str, relevance: Sequence[float],
                   facts: Sequence[Fact]) -> list[tuple[float, Fact]]:
        """(relevance, fact) for the facts a grounded answer copied a label of, best prior
        first: its evidence."""
        answer = answer.strip().casefold()
        scored = []
        for z, p, f in zip(self.fact_logits(relevance, facts), relevance, facts):
            if answer == (f.o_label or str(f.o)).strip().casefold():
                scored.append((z - self.near_penalty * f.inverse, p, f))
            elif not isinstance(f.o, Literal) and answer == f.s_label.strip().casefold():
                scored.append((z - self.near_penalty * (not f.inverse), p, f))
        scored.sort(key=lambda x: -x[0])
        return [(p, f) for _, p, f in scored]


def answer_options(question: str, facts: Sequence[Fact],
                   cited: Collection = ()) -> list[tuple[str, int, int]]:
    """(answer text, fact index, 1 for the near end's label else 0) for every label of
    ``facts`` that could answer ``question``: each object label, and the subject label of an
    edge between two entities; never a label the question itself names. The near end is the
    one the retriever reached the fact from: the subject, or the object of an ``inverse`` fact.
    Facts whose key is in ``cited`` (the previous turn's evidence) give none."""
    out = []
    for i, f in enumerate(facts):
        if cited and f.key() in cited:
            continue
        options = [(f.o_label or str(f.o), int(f.inverse))]
        if not isinstance(f.o, Literal) and f.s_label:
            options.append((f.s_label, int(not f.inverse)))
        for text, is_near in options:
            text = text.strip()
            if text and len(text) <= 200 and not matches(text, question):
                out.append((text, i, is_near))
    return out


def _group_keys(f: Fact) -> tuple[tuple, tuple]:
    """The two groups ``f`` belongs to: the facts sharing its predicate and object (their
    subjects answer one question together), and those sharing its subject and predicate
    (their objects do)."""
    return ("s", f.p, f.o), ("o", f.s, f.p)


def _subject_end(f: Fact, is_near: int) -> bool:
    """Whether the answer option (the near or the far end's label) is ``f``'s subject."""
    return bool(f.inverse) != bool(is_near)


def _group(f: Fact, is_near: int) -> tuple:
    """The values answering with ``f``'s far end shares a question with: the same subject and
    predicate (its objects), or, answering with its subject, the same predicate and object."""
    return _group_keys(f)[0 if _subject_end(f, is_near) else 1]


def _anchor(f: Fact, is_near: int) -> str:
    """The label of the end ``f``'s group shares: the other end from the answer's."""
    return (f.o_label or str(f.o)) if _subject_end(f, is_near) else f.s_label


def _group_sizes(facts: Sequence[Fact]) -> dict[tuple, int]:
    return Counter(key for f in facts for key in _group_keys(f))


def logit(p: float) -> float:
    p = min(max(float(p), _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


class AnswerGuide:
    """Constrains decoding to a set of token sequences, each with a log prior (module doc).

    Called by the model's decode loop as ``guide(generated_ids, logits) -> logits``."""

    def __init__(self, sequences: Sequence[tuple[Sequence[int], float]], stop_ids: Sequence[int],
                 prior_weight: float = 1.0):
        self.stop_ids = sorted(set(int(t) for t in stop_ids))
        self.weight = prior_weight
        # prefix -> best prior of a sequence through it; prefix -> prior of a sequence ending there
        self._open: dict[tuple[int, ...], float] = {}
        self._next: dict[tuple[int, ...], set[int]] = {}
        self._done: dict[tuple[int, ...], float] = {}
        for ids, prior in sequences:
            ids = tuple(int(t) for t in ids)
            if not ids:
                continue
            for n in range(len(ids) + 1):
                prefix = ids[:n]
                if prior > self._open.get(prefix, -math.inf):
                    self._open[prefix] = prior
                if n < len(ids):
                    self._next.setdefault(prefix, set()).add(ids[n])
            if prior > self._done.get(ids, -math.inf):
                self._done[ids] = prior

    def __bool__(self) -> bool:
        return bool(self._done)

    def __call__(self, generated: Sequence[int], logits: torch.Tensor) -> torch.Tensor:
        prefix = tuple(int(t) for t in generated)
        here = self._open.get(prefix)
        if here is None:  # left the trie (cannot happen when every pick went through here)
            return logits
        out = torch.full_like(logits, -math.inf)
        for token in self._next.get(prefix, ()):
            if 0 <= token < out.shape[-1]:
                out[token] = logits[token] + self.weight * (self._open[prefix + (token,)] - here)
        if prefix in self._done:
            for token in self.stop_ids:
                if 0 <= token < out.shape[-1]:
                    out[token] = logits[token] + self.weight * (self._done[prefix] - here)
        return out


def answer_guide(tokenizer, grounding: Grounding, question: str, relevance: Sequence[float],
                 facts: Sequence[Fact], abstain_text: str, stop_ids: Sequence[int],
                 cited: Collection = ()) -> AnswerGuide:
    """The guide for one turn: the candidates of ``grounding`` tokenised as answers are."""
    sequences = [(tokenizer(text, add_special_tokens=False)["input_ids"], prior)
                 for text, prior in grounding.candidates(question, relevance, facts, abstain_text, cited)]
    return AnswerGuide(sequences, stop_ids, grounding.prior_weight)

"""Transcripts -> training examples, exactly as the engine would prompt the model.

For every turn of a conversation: the retriever (same class, same K as at inference) picks
the candidate facts for the question given the *gold* earlier turns as history (their
target answer and gold evidence, as a perfect bot would have left them), and the one
``render()`` of the engine builds the prompt with the target answer. The example then holds
the rendered ids, the loss mask of the answer tokens, the index of each fact line's last
token and a relevance label per line (1 on a gold evidence fact, 0 on the others: the hard
negatives the retriever ranks next to it). Facts appear in the prompt in render()'s own
order, so the gold line's position varies with the candidates, as it does in a chat.

The target answer: ``answer`` when the transcript gives one (synthetic dialogues write a
sentence), else the first ``expected`` string; for ``unanswerable`` turns the engine's
abstention sentence, with every fact labelled 0.

``gold_removed`` (a share of answerable turns) teaches abstention where the graph lacks the
answer: the turn's candidates leave out the gold facts and any fact naming the expected
answer (the next-ranked facts fill the K places), the target becomes the abstention sentence and every line is labelled 0; later turns
see it abstained, as they would in a chat.

Earlier turns carry the prompt order of their facts and the hint they were asked with, as the
session records them, so the history renders exactly as at inference.

When the retriever misses the gold fact (its recall is ~0.97 at K=30), ``gold_missing``
decides: ``insert`` puts the gold fact among the candidates at a random rank (replacing the
lowest-ranked one, so there are still K), teaching the answer and relevance tasks on the
fact even when retrieval was imperfect; ``skip`` drops the turn. The gold fact is looked up in
the graph (so it carries its labels); a gold fact absent from the graph always skips the turn.
"""

from __future__ import annotations

import glob
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib.term import Literal, URIRef

from dialogqa.dialogue.render import ABSTAIN_TEXT, render
from dialogqa.dialogue.transcript import Conversation, read_transcripts, term_from_key
from dialogqa.dialogue.graphs import GraphCache
from dialogqa.errors import UserError
from dialogqa.records import Fact, Turn


@dataclass
class Example:
    input_ids: list[int]
    loss_mask: list[int]  # 1 where the token is part of the answer (predicted from the one before)
    fact_ends: list[int]  # last token of each fact line
    fact_labels: list[float]  # 1.0 gold evidence, 0.0 other candidates
    query_pos: int = -1  # last prompt token (the question read, before the answer); -1: last token
    source: str = ""
    conversation: str = ""
    turn: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def answer_tokens(self) -> int:
        return sum(self.loss_mask)


@dataclass
class BuildStats:
    turns: int = 0
    examples: int = 0
    unanswerable: int = 0
    gold_inserted: int = 0  # retriever missed the gold fact; inserted (gold_missing=insert)
    gold_removed: int = 0  # answerable turns turned unanswerable by leaving the gold out (gold_removed)
    skipped: int = 0  # turns with no target, or gold fact missing and not insertable
    history_trimmed: int = 0  # examples whose oldest turns did not fit max_tokens
    tokens: int = 0

    def add(self, other: "BuildStats") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self) -> str:
        mean = self.tokens / self.examples if self.examples else 0
        return (f"{self.examples} examples from {self.turns} turns ({self.unanswerable} unanswerable, "
                f"{self.gold_removed} of them by removing the gold fact, "
                f"gold inserted {self.gold_inserted}, skipped {self.skipped}, history trimmed "
                f"{self.history_trimmed}), {mean:.0f} tokens on average")


# typed turns whose answer the engine computes from the fact the model names (dialogue/compose.py):
# the model is trained to name that fact's value
NAMES_A_FACT = ("count", "boolean")
# typed turns the model's words do not answer (the engine compares, or walks the graph): not trained
COMPUTED = ("comparison", "superlative", "path")


def target_answer(turn: Turn, gold: Sequence[Fact] = ()) -> str | None:
    """What the model is trained to say for this turn (None: nothing to learn). A count or a
    yes/no question is answered by the engine from the fact the model names: the target is
    that fact's far end (the counted value; the value the graph holds for the asked property)."""
    if turn.unanswerable:
        return ABSTAIN_TEXT
    if turn.type in COMPUTED:
        return None
    if turn.type in NAMES_A_FACT:
        if not gold:
            return None
        fact = gold[0]
        asked = turn.user.casefold()
        if turn.type == "count" and fact.o_label and fact.o_label.casefold() in asked:
            return fact.s_label or None  # "How many employees report to Ana?": one employee
        return fact.o_label or None
    if turn.answer.strip() and not turn.abstained:
        return turn.answer.strip()
    if turn.expected:
        return turn.expected[0]
    return None


def gold_history_turn(turn: Turn, answer: str | None, evidence: list[Fact], rendered,
                      abstained: bool) -> Turn:
    """An earlier turn as a perfect bot leaves it in the session history: with the prompt
    order of its facts and the hint it was asked with, as the session records them."""
    return Turn(user=turn.user, answer=answer or "", evidence=evidence,
                abstained=abstained,
                facts=list(rendered.facts) if rendered else [],
                hint=rendered.hint if rendered else "")


def lookup_fact(kg, triple: Sequence[str]) -> Fact | None:
    """The gold triple as the graph holds it (literal datatype included), with labels."""
    s, p = term_from_key(triple[0]), term_from_key(triple[1])
    if not isinstance(s, URIRef) or not isinstance(p, URIRef):
        return None
    for _, _, o in kg.triples(s, p, None, limit=10_000):
        if str(o) == triple[2]:
            o_label = str(o) if isinstance(o, Literal) else kg.label(o)
            return Fact(s, p, o, kg.label(s), kg.label(p), o_label)
    return None


def conversation_examples(
    conv: Conversation,
    kg,
    retriever,
    tokenizer,
    max_tokens: int,
    rng: random.Random,
    gold_missing: str = "insert",
    source: str = "",
    gold_removed: float = 0.0,
) -> tuple[list[Example], BuildStats]:
    stats = BuildStats()
    examples: list[Example] = []
    history: list[Turn] = []
    for index, turn in enumerate(conv.turns):
        stats.turns += 1
        gold_keys = {tuple(t) for t in turn.expected_evidence}
        gold_facts = [f for f in (lookup_fact(kg, t) for t in turn.expected_evidence) if f]
        answer = target_answer(turn, gold_facts)
        example = rendered = None
        unanswerable = turn.unanswerable
        if answer is not None and (unanswerable or gold_keys):
            ok = True
            if not unanswerable and gold_removed and rng.random() < gold_removed:
                # the graph lacks the answer: the same question over candidates without the
                # gold facts (the next-ranked ones move up) -> the abstention sentence
                # (facts naming the expected answer go too: an inverse edge such as
                # "Oslo | capital of | Norway" would still hold it)
                wider = retriever.retrieve(turn.user, history, k=2 * retriever.k)
                answers = {a.casefold() for a in turn.expected if a.strip()}
                facts = [f for f in wider if f.key() not in gold_keys
                         and f.o_label.casefold() not in answers
                         and f.s_label.casefold() not in answers][: retriever.k]
                unanswerable, answer = True, ABSTAIN_TEXT
                stats.gold_removed += 1
            else:
                facts = retriever.retrieve(turn.user, history)
            if not unanswerable and not any(f.key() in gold_keys for f in facts):
                if gold_missing == "insert" and gold_facts:
                    facts = insert_at_random(facts, gold_facts[0], retriever.k, rng)
                    stats.gold_inserted += 1
                else:
                    ok = False
            if ok and facts:
                rendered = render(tokenizer, turn.user, facts, history, answer=answer,
                                  max_tokens=max_tokens)
                labels = [0.0 if unanswerable else float(f.key() in gold_keys)
                          for f in rendered.facts]
                if unanswerable or any(labels):
                    example = Example(rendered.input_ids, rendered.loss_mask, rendered.fact_ends,
                                      labels, query_pos=rendered.prompt_len - 1, source=source,
                                      conversation=conv.id, turn=index)
                    stats.history_trimmed += rendered.history_used < len(history)
        if example is None:
            stats.skipped += 1
        else:
            examples.append(example)
            stats.examples += 1
            stats.tokens += len(example)
            stats.unanswerable += unanswerable
        history.append(gold_history_turn(turn, answer, [] if unanswerable else gold_facts,
                                         rendered, abstained=unanswerable))
    return examples, stats


def insert_at_random(facts: list[Fact], gold: Fact, k: int, rng: random.Random) -> list[Fact]:
    kept = list(facts[: max(0, k - 1)]) if len(facts) >= k else list(facts)
    kept.insert(rng.randint(0, len(kept)), gold)
    return kept


# -- files -> conversations -> examples ------------------------------------------------------

def expand(patterns: Sequence[str], what: str) -> list[Path]:
    """Files named by paths or glob patterns, in a stable order."""
    out: list[Path] = []
    for pattern in patterns:
        hits = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        hits = [h for h in hits if Path(h).is_file()]
        if not hits:
            raise UserError(f"{what}: no transcript file matches {pattern!r}")
        out += [Path(h) for h in hits]
    return out


def read_all(patterns: Sequence[str], what: str) -> list[Conversation]:
    conversations: list[Conversation] = []
    for path in expand(patterns, what):
        conversations += read_transcripts(path)
    if not conversations:
        raise UserError(f"{what}: the transcript files hold no conversation")
    return conversations


def split_heldout(conversations: list[Conversation], fraction: float, seed: int
                  ) -> tuple[list[Conversation], list[Conversation]]:
    """(train, held-out): a fixed, seed-determined share of conversations held out whole, so
    no held-out dialogue ever leaks a turn into training."""
    if fraction <= 0 or len(conversations) < 2:
        return list(conversations), []
    order = sorted(range(len(conversations)), key=lambda i: conversations[i].id)
    random.Random(seed).shuffle(order)
    n_val = max(1, round(fraction * len(conversations)))
    val = set(order[:n_val])
    return ([c for i, c in enumerate(conversations) if i not in val],
            [c for i, c in enumerate(conversations) if i in val])


def training_graphs(k: int) -> GraphCache:
    """The graphs training data is built on: each set of files opened once, with a retriever."""
    return GraphCache(k=k, hint="give kg = [...] for the source or a 'kg' in the transcripts")


def build_examples(
    conversations: Sequence[Conversation],
    graphs: GraphCache,
    tokenizer,
    max_tokens: int,
    seed: int,
    gold_missing: str = "insert",
    source: str = "",
    kg_files: Sequence[str] = (),
    gold_removed: float = 0.0,
    on_conversation: Callable[[], None] | None = None,
) -> tuple[list[Example], BuildStats]:
    """Examples of many conversations; ``kg_files`` overrides each conversation's own graph."""
    rng = random.Random(seed)
    examples: list[Example] = []
    stats = BuildStats()
    for conv in conversations:
        where = f"{conv.source}:{conv.line}" if conv.source else conv.id
        files = list(kg_files) or [str(p) for p in conv.kg_paths()]
        kg, retriever = graphs.get(files, where)
        got, st = conversation_examples(conv, kg, retriever, tokenizer, max_tokens, rng,
                                        gold_missing=gold_missing, source=source,
                                        gold_removed=gold_removed)
        examples += got
        stats.add(st)
        if on_conversation:
            on_conversation()
    return examples, stats


def mix_epoch(by_source: dict[str, list[Example]], weights: dict[str, float], total: int,
              rng: random.Random) -> list[Example]:
    """One epoch's examples: from each source ``weight x its size`` examples (2.0 = each twice,
    0.5 = a random half), rescaled to ``total`` when it is > 0; shuffled."""
    wanted = {name: weights[name] * len(items) for name, items in by_source.items()}
    if total > 0 and sum(wanted.values()) > 0:
        scale = total / sum(wanted.values())
        wanted = {name: n * scale for name, n in wanted.items()}
    out: list[Example] = []
    for name, items in by_source.items():
        n = int(round(wanted[name]))
        if not items or n <= 0:
            continue
        whole, rest = divmod(n, len(items))
        out += list(items) * whole + rng.sample(items, rest)
    rng.shuffle(out)
    return out

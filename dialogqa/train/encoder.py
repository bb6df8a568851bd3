"""Fine-tune the retriever's sentence encoder (kg/semantic.py) to read which relation a
question asks for, among the relations the retriever offers, with a LoRA of its own.

The retriever compares the question (``Question.semantic_text``: its linked names said "it")
with each candidate predicate's label texts (``Retriever._predicate_label_texts``) and adds
the cosine to the words' match. The pretrained all-MiniLM-L6-v2 reads a paraphrase it has met
("Where did X pass away?" is about death) and misses many a relation's everyday wording
("What trademark is it produced under?" -> manufacturer, "Perkhin worked as what?" ->
occupation). What it should learn is the choice the retriever faces: of the predicates on
the facts it proposes for a turn, which one the question asks for.

So the training data are recorded conversations with their gold facts (``candidate_rows``):
each turn is retrieved with the gold history (the earlier turns' gold answers, as
``dialogqa recall`` does) by a retriever with the *pretrained* encoder, and gives a row: the
question's encoder text, the label texts of the gold fact's predicate, and those of the other
predicates among the candidates. The loss (``fit``) is listwise over that row, the way
sentence-transformers trains retrieval (softmax of cosine x 20, the gold predicate against the
turn's other candidates), plus a term that keeps the cosines' *level*: no candidate that is
not the gold one may rise above the pretrained encoder's cosine for it, nor the gold one fall
under its own (squared hinges, ``keep``); on unanswerable turns no candidate may rise. The retriever reads cosines against one
floor for every graph (kg/retriever.py ``SEMANTIC_FLOOR``), and session 17's fit, which pushed
a question's own label above 0.7, lifted unanswerable questions' cosines with it ("What is
Nigeria's GDP?" 0.41 -> 0.62 from "currency") and cost world.jsonl its abstentions.

A share of the conversations (a stable hash of their id, ``held_share``) is never trained
on; the fit reports, before and after, how often the gold predicate has the best cosine of a
held-out turn's candidates, and the same for ``evaluate`` files (graphs or themes the fit
never sees). The LoRA is saved where kg/semantic.py loads it (``dialogqa/adapters/encoder``)
and merged into the encoder's weights at load: the retriever pays nothing for it.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from dialogqa.errors import UserError
from dialogqa.kg.semantic import mean_pooled

SCALE = 20.0  # sentence-transformers' MultipleNegativesRankingLoss
TARGETS = ("query", "key", "value", "dense")


def candidate_rows(paths: Iterable[str | Path], encoder, k: int = 30, whole_question: bool = True) -> list[dict]:
    """One row per turn of the transcripts in ``paths`` that the encoder reads (a turn whose
    question has no relation word is skipped, as the retriever skips it): ``source``, ``id``,
    ``text`` (what the encoder reads of the question), ``gold`` (label texts of each gold
    predicate among the candidates), ``other`` (those of the other candidates' predicates),
    ``unanswerable``. An answerable turn whose gold fact is not among the ``k`` candidates gives
    no row. ``encoder``: the one the retriever proposes candidates with (the pretrained one).
    ``whole_question``: the text keeps the answer-type word, as a retriever reads it with a
    fitted encoder (``Retriever.whole_question``; session 23: without it the fit learns KGConv's
    prior that "located in which ...?" is a country)."""
    from dialogqa.dialogue.graphs import GraphCache
    from dialogqa.dialogue.recall import gold_history_turn
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.kg.retriever import Retriever
    from dialogqa.records import term_key

    graphs = GraphCache(k=k, retriever=lambda kg: Retriever(kg, k=k, encoder=encoder, whole_question=whole_question))
    rows: list[dict] = []
    try:
        for path in paths:
            for conv in read_transcripts(path):
                retriever = graphs.of(conv)[1]
                history = []
                for turn in conv.turns:
                    facts = retriever.retrieve(turn.user, history)
                    history.append(gold_history_turn(turn))
                    text = retriever._question(turn.user).semantic_text
                    if not text:
                        continue
                    gold = {t[1] for t in turn.expected_evidence}
                    predicates = list(dict.fromkeys(f.p for f in facts))
                    row = {"source": Path(path).name, "id": conv.id, "text": text,
                           "unanswerable": bool(turn.unanswerable),
                           "gold": [list(retriever._predicate_label_texts(p))
                                    for p in predicates if term_key(p) in gold],
                           "other": [list(retriever._predicate_label_texts(p))
                                     for p in predicates if term_key(p) not in gold]}
                    if (row["gold"] or row["unanswerable"]) and (row["gold"] or row["other"]):
                        rows.append(row)
    finally:
        graphs.close()
    return rows


def held_out(conversation_id: str, share: float) -> bool:
    """Whether a conversation is one the fit never trains on (a stable hash, not the seed)."""
    return zlib.crc32(conversation_id.encode("utf-8")) % 1000 < share * 1000


def cosines(model, tokenizer, rows: Sequence[dict]) -> list[tuple[torch.Tensor | None, torch.Tensor | None]]:
    """Per row, the cosine of each gold and each other predicate with the question (a
    predicate's: the best of its texts); one batch of the rows' distinct texts."""
    texts = list(dict.fromkeys(t for r in rows for t in [r["text"], *(x for p in r["gold"] + r["other"] for x in p)]))
    at = {t: i for i, t in enumerate(texts)}
    vectors = torch.cat([mean_pooled(model, tokenizer, texts[i:i + 256]) for i in range(0, len(texts), 256)])
    out = []
    for r in rows:
        q = vectors[at[r["text"]]]

        def best(groups):
            if not groups:
                return None
            return torch.stack([torch.stack([vectors[at[t]] @ q for t in texts_]).max() for texts_ in groups])
        out.append((best(r["gold"]), best(r["other"])))
    return out


def top1(model, tokenizer, rows: Sequence[dict]) -> tuple[int, int]:
    """(answerable rows whose gold predicate has the best cosine, answerable rows)."""
    was_training = model.training
    model.eval()
    right = total = 0
    with torch.no_grad():
        for i in range(0, len(rows), 64):
            chunk = rows[i:i + 64]
            for r, (gold, other) in zip(chunk, cosines(model, tokenizer, chunk)):
                if gold is None:
                    continue
                total += 1
                right += other is None or gold.max().item() > other.max().item()
    model.train(was_training)
    return right, total


def loss_of(rows: Sequence[dict], found, keep: float) -> torch.Tensor:
    """The listwise loss over each row's candidates plus the level-keeping hinge against the
    pretrained cosines (``base_gold``, ``base_other`` of each row): the other candidates may
    not rise above theirs, the gold predicate not fall under its own."""
    total = torch.zeros(())
    for r, (gold, other) in zip(rows, found):
        if gold is not None and not r["unanswerable"]:
            logits = gold.max()[None] if other is None else torch.cat([gold.max()[None], other])
            total = total + torch.nn.functional.cross_entropy(SCALE * logits[None], torch.zeros(1, dtype=torch.long))
            # ... and the gold one not under it: the order alone moved every cosine down and
            # put questions' own relations under the retriever's floor
            total = total + keep * torch.relu(max(r["base_gold"]) - gold.max()).pow(2)
        if other is not None:
            total = total + keep * torch.relu(other - torch.tensor(r["base_other"])).pow(2).sum()
        if gold is not None and r["unanswerable"]:
            total = total + keep * torch.relu(gold - torch.tensor(r["base_gold"])).pow(2).sum()
    return total / max(1, len(rows))


def fit(encoder, rows: Sequence[dict], *, evaluate: Sequence[dict] = (), epochs: int = 1,
        lr: float = 1e-4, batch_size: int = 16, rank: int = 8, keep: float = 5.0,
        held_share: float = 0.15, seed: int = 0, info: Callable[[str], None] = print):
    """Train a LoRA on ``encoder.model`` (a kg/semantic.py SentenceEncoder) over ``rows``
    (``candidate_rows``); returns the peft model and a report: top-1 among the candidates on
    the held-out conversations and on ``evaluate``, before and after."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    rng = random.Random(seed)
    train = [dict(r) for r in rows if not held_out(r["id"], held_share)]
    held = [r for r in rows if held_out(r["id"], held_share)]
    if not any(r["gold"] and r["other"] for r in train):
        raise UserError("no turn to learn from: the training conversations need answerable turns "
                        "whose gold fact is among the retriever's candidates, beside others")
    tokenizer = encoder.tokenizer
    sets = {"held_out": held, "evaluate": list(evaluate)}

    def measure() -> dict:
        return {name: "%d/%d" % top1(encoder.model if model is None else model, tokenizer, data)
                for name, data in sets.items() if data}

    model = None
    with torch.no_grad():  # the pretrained cosines the level-keeping hinge holds the others under
        for i in range(0, len(train), 64):
            for r, (gold, other) in zip(train[i:i + 64], cosines(encoder.model, tokenizer, train[i:i + 64])):
                r["base_gold"] = [] if gold is None else gold.tolist()
                r["base_other"] = [] if other is None else other.tolist()
    report = {"rows": len(rows), "training_rows": len(train), "held_out_rows": len(held),
              "evaluate_rows": len(evaluate), "epochs": epochs, "lr": lr, "rank": rank, "keep": keep,
              "before": measure()}
    info(f"before: top-1 among the candidates {report['before']}")
    model = get_peft_model(encoder.model, LoraConfig(r=rank, lora_alpha=2 * rank,
                                                     target_modules=list(TARGETS), lora_dropout=0.0))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    for epoch in range(epochs):
        rng.shuffle(train)
        losses = []
        for i in range(0, len(train), batch_size):
            batch = train[i:i + batch_size]
            loss = loss_of(batch, cosines(model, tokenizer, batch), keep)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        info(f"epoch {epoch + 1}: loss {sum(losses) / len(losses):.4f}, top-1 {measure()}")
    model.eval()
    report["after"] = measure()
    info(f"after: top-1 among the candidates {report['after']}")
    return model, report


def save(model, out: str | Path, report: dict, sources: Sequence[str]) -> None:
    """The LoRA (peft's files) and fit.json (the report, what it was trained on); not the blank
    model card peft writes beside them (fit.json says what the card would)."""
    out = Path(out)
    model.save_pretrained(str(out))
    (out / "README.md").unlink(missing_ok=True)
    (out / "fit.json").write_text(json.dumps({**report, "trained_on": list(sources)}, indent=1) + "\n",
                                  encoding="utf-8")

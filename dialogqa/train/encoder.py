"""Fine-tune the retriever's sentence encoder (kg/semantic.py) to read which relation a
question asks for, with a LoRA of its own.

The pretrained all-MiniLM-L6-v2 knows that "Where did X pass away?" is about death, but rates
"Who does X report to?" no nearer "supervisor" than "department", and "What does she play?"
only 0.43 from "instrument": on graphs written apart from the project (hospital, music) most of
the bot's misses were such questions, abstained on. People's ways of asking for a relation are
what the encoder lacks, and KGConv's question library has them: 16,005 questions written for
474 Wikidata properties ("Where did [S] pass away?", "Which space tug did [S] use?").

Training pairs are (question with its subject said as "it", the property's label), the way the
retriever compares them (``Question.semantic_text`` against predicate labels). The loss is
the one sentence-transformers trains retrieval with (multiple negatives ranking): each
question's label against the batch's other labels and as many random ones, cosine x 20;
plus two hinges that set the cosines' level, not only their order (a question's own label
above ``hi``, the others under ``lo``): the retriever reads a cosine against one floor for
every graph (kg/retriever.py ``SEMANTIC_FLOOR``), and a ranking loss alone left the level
where it was (on hospital.ttl, written apart from the project, "supervisor" stayed at 0.3 for
"Who does she report to?").
A label's questions are capped per epoch (``cap``) so that "country", asked hundreds of ways,
does not fill the batches; a batch never holds one label twice.

A share of the labels (``held_share``, chosen by a hash of the label) is never trained on:
the fit reports how often a held-out question's nearest label, among all of them, is its own,
before and after. That is the number that says whether the encoder learned to read relations
or only these 474 (the graphs a user brings have their own). The LoRA is saved where
kg/semantic.py loads it (``dialogqa/adapters/encoder``) and merged into the encoder's weights
at load: the retriever pays nothing for it.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from dialogqa.errors import UserError
from dialogqa.kg.semantic import mean_pooled

SCALE = 20.0  # sentence-transformers' MultipleNegativesRankingLoss
ABSOLUTE_WEIGHT = 5.0  # the hinge terms that set the cosines' level (``fit``)
TARGETS = ("query", "key", "value", "dense")


def template_pairs(library: str | Path, labels: str | Path) -> list[tuple[str, str]]:
    """(question, property label) for every question of a KGConv template library, its
    subject said "it"; each question once (its first property)."""
    names = _read_json(labels)
    out: dict[str, str] = {}
    for entry in _read_json(library):
        try:
            prop = entry["template_key"]["p"].lstrip("-")
            templates = entry["templates"]
        except (KeyError, TypeError, AttributeError):
            raise UserError(f"{library}: not a KGConv template library (an entry without "
                            "template_key.p and templates)") from None
        label = names.get(prop)
        if not label:
            continue
        for t in templates:
            question = " ".join(f"{t.get('left', '')} it {t.get('right', '')}".split())
            question = question.replace(" ?", "?").lower()
            out.setdefault(question, label)
    return list(out.items())


def held_out(label: str, share: float) -> bool:
    """Whether ``label`` is one the fit never trains on (a stable hash, not the seed)."""
    return zlib.crc32(label.encode("utf-8")) % 1000 < share * 1000


def top1(model, tokenizer, pairs: Sequence[tuple[str, str]], labels: Sequence[str]) -> float:
    """Share of ``pairs`` whose question is nearest its own label among ``labels``."""
    if not pairs:
        return 0.0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        vectors = torch.cat([mean_pooled(model, tokenizer, labels[i:i + 256])
                             for i in range(0, len(labels), 256)])
        right = 0
        for i in range(0, len(pairs), 256):
            chunk = pairs[i:i + 256]
            best = (mean_pooled(model, tokenizer, [q for q, _ in chunk]) @ vectors.T).argmax(1)
            right += sum(labels[b] == label for b, (_, label) in zip(best.tolist(), chunk))
    model.train(was_training)
    return right / len(pairs)


def batches(pairs: Sequence[tuple[str, str]], size: int, cap: int,
            rng: random.Random) -> list[list[tuple[str, str]]]:
    """One epoch: at most ``cap`` questions per label, in batches with no label twice."""
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    seen: dict[str, int] = {}
    pool = []
    for pair in shuffled:
        seen[pair[1]] = seen.get(pair[1], 0) + 1
        if seen[pair[1]] <= cap:
            pool.append(pair)
    out = []
    while pool:
        batch, labels, rest = [], set(), []
        for pair in pool:
            if len(batch) < size and pair[1] not in labels:
                batch.append(pair)
                labels.add(pair[1])
            else:
                rest.append(pair)
        out.append(batch)
        pool = rest
    return out


def fit(encoder, pairs: Sequence[tuple[str, str]], *, epochs: int = 2, lr: float = 1e-4,
        batch_size: int = 64, cap: int = 20, rank: int = 8, held_share: float = 0.15,
        hi: float = 0.7, lo: float = 0.2, seed: int = 0, info: Callable[[str], None] = print):
    """Train a LoRA on ``encoder.model`` (a kg/semantic.py SentenceEncoder); returns the peft
    model and a report (held-out and training top-1, before and after)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    rng = random.Random(seed)
    labels = sorted({label for _, label in pairs})
    train = [p for p in pairs if not held_out(p[1], held_share)]
    test = [p for p in pairs if held_out(p[1], held_share)]
    negatives = sorted({label for _, label in train})
    if len(negatives) < 2:
        raise UserError("too few relation labels to train the encoder on")
    probe = rng.sample(train, min(1000, len(train)))
    tokenizer = encoder.tokenizer
    report = {"pairs": len(pairs), "labels": len(labels), "held_out_labels": len(labels) - len(negatives),
              "held_out_questions": len(test), "epochs": epochs, "lr": lr, "rank": rank, "cap": cap,
              "hi": hi, "lo": lo,
              "before": {"held_out_top1": round(top1(encoder.model, tokenizer, test, labels), 4),
                         "train_top1": round(top1(encoder.model, tokenizer, probe, labels), 4)}}
    info(f"before: held-out top-1 {report['before']['held_out_top1']}, training {report['before']['train_top1']}")
    model = get_peft_model(encoder.model, LoraConfig(r=rank, lora_alpha=2 * rank,
                                                     target_modules=list(TARGETS), lora_dropout=0.0))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    for epoch in range(epochs):
        losses = []
        for batch in batches(train, batch_size, cap, rng):
            asked = [label for _, label in batch]
            others = [label for label in negatives if label not in set(asked)]
            extra = rng.sample(others, min(len(others), batch_size))
            q = mean_pooled(model, tokenizer, [question for question, _ in batch])
            v = mean_pooled(model, tokenizer, asked + extra)
            sims = q @ v.T
            loss = torch.nn.functional.cross_entropy(SCALE * sims, torch.arange(len(batch)))
            # the retriever reads the cosine against one floor: lift a question's own label
            # above ``hi`` and push the others under ``lo``, not just apart
            own = sims.diagonal()
            others_ = sims.masked_fill(torch.eye(*sims.shape, dtype=torch.bool), -1.0)
            loss = loss + ABSOLUTE_WEIGHT * (torch.relu(hi - own).mean() + torch.relu(others_ - lo).pow(2).mean())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        held = top1(model, tokenizer, test, labels)
        info(f"epoch {epoch + 1}: loss {sum(losses) / len(losses):.3f}, held-out top-1 {held:.3f}")
    model.eval()
    report["after"] = {"held_out_top1": round(top1(model, tokenizer, test, labels), 4),
                       "train_top1": round(top1(model, tokenizer, probe, labels), 4)}
    info(f"after: held-out top-1 {report['after']['held_out_top1']}, training {report['after']['train_top1']}")
    return model, report


def save(model, out: str | Path, report: dict, sources: Sequence[str]) -> None:
    """The LoRA (peft's files) and fit.json (the report, what it was trained on)."""
    out = Path(out)
    model.save_pretrained(str(out))
    (out / "fit.json").write_text(json.dumps({**report, "trained_on": list(sources)}, indent=1) + "\n",
                                  encoding="utf-8")


def _read_json(path: str | Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{path}: not JSON ({exc})") from None

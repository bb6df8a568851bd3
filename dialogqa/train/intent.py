"""Fit the question head (model/intent.py) on typed questions.

Questions come from transcripts: a turn's ``intent`` field where it has one (the typed
dialogues of dialogqa/datasets/typed.py), else its ``type`` (an untyped turn is a lookup:
KGConv's questions all are). A lookup whose answers are all numbers is left out: a count of
one number is that number, so either operation answers it. The model reads each question once in its side pass; the head is
fitted on those features in seconds. ``evaluate`` reports accuracy on other transcripts (a
graph kept out of training).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch

from dialogqa.datasets.typed import INTENT
from dialogqa.dialogue.compose import parse_intent
from dialogqa.errors import UserError
from dialogqa.model.intent import OPS, IntentHead, read_question

TYPE_INTENT = {**INTENT, "comparison": "compare"}


def labelled_questions(paths: Iterable[str | Path], limit: int | None = None,
                       seed: int = 0) -> list[tuple[str, str]]:
    """(question, intent) pairs of the transcripts, each question once; ``limit`` per file."""
    out: dict[str, str] = {}
    for path in paths:
        pairs = []
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                conv = json.loads(line)
                turns = conv["turns"]
            except (ValueError, KeyError, TypeError):
                raise UserError(f"{path}:{lineno}: not a transcript line") from None
            for t in turns:
                intent = t.get("intent") or TYPE_INTENT.get(t.get("type") or "single", "lookup")
                if parse_intent(intent)[0] not in OPS:
                    raise UserError(f"{path}:{lineno}: unknown intent {intent!r}")
                if intent == "lookup" and _numbers_only(t.get("expected") or []):
                    # "How many people live there?" looks up a population: a count of one
                    # number is that number (dialogue/compose.py), so either operation is
                    # right, and labelling it a lookup teaches "how many" means lookup
                    continue
                pairs.append((t["user"], intent))
        random.Random(seed).shuffle(pairs)
        for q, intent in pairs[:limit]:
            out.setdefault(q, intent)
    return list(out.items())


def _numbers_only(values) -> bool:
    """Is every value a number ("5314336", "1,082,575", "3.5")?"""
    def number(v) -> bool:
        try:
            float(str(v).replace(",", ""))
        except ValueError:
            return False
        return True

    return bool(values) and all(number(v) for v in values)


def featurise(model, questions: Sequence[str], progress: Callable[[int], None] | None = None) -> torch.Tensor:
    rows = []
    for q in questions:
        rows.append(read_question(model, q))
        if progress:
            progress(1)
    return torch.stack(rows) if rows else torch.empty(0)


def targets(intents: Sequence[str], ops: Sequence[str] = OPS):
    parsed = [parse_intent(i) for i in intents]
    op = torch.tensor([ops.index(p[0]) for p in parsed])
    polar = torch.tensor([p[1] for p in parsed])
    less = torch.tensor([p[2] for p in parsed])
    mask = torch.tensor([p[0] in ("compare", "superlative") for p in parsed]).float()
    date = torch.tensor([p[3] for p in parsed])
    many = torch.tensor([p[4] for p in parsed])
    many_mask = torch.tensor([p[0] == "lookup" and not p[1] for p in parsed]).float()
    return op, polar, less, mask, date, many, many_mask


def fit_head(x: torch.Tensor, intents: Sequence[str], seed: int = 0) -> IntentHead:
    torch.manual_seed(seed)
    head = IntentHead(x.shape[1])
    head.fit(x, *targets(intents))
    return head.eval()


def accuracy(head: IntentHead, x: torch.Tensor, intents: Sequence[str]) -> dict:
    """Share of questions whose whole intent (operation, yes/no, direction, dates or numbers,
    one value or every value) the head reads right, overall and per operation."""
    by_op: dict[str, list[int]] = {}
    right = 0
    for row, intent in zip(x, intents):
        op, polar, less, scores = head.predict(row)
        want = parse_intent(intent)
        compared = want[0] in ("compare", "superlative")
        date = scores.get("date", 0.0) > 0.5
        many = scores.get("many", 0.0) > 0.5
        ok = op == want[0] and polar == want[1] and (not compared or (less == want[2] and date == want[3]))
        ok = ok and (want[0] != "lookup" or want[1] or many == want[4])
        right += ok
        key = want[0] + ("?" if want[1] else "") + ("*" if want[4] else "")
        by_op.setdefault(key, [0, 0])
        by_op[key][0] += ok
        by_op[key][1] += 1
    return {"accuracy": round(right / max(1, len(intents)), 4), "questions": len(intents),
            "by_intent": {k: f"{r}/{n}" for k, (r, n) in sorted(by_op.items())}}


def fit_through_layers(model, questions: Sequence[str], intents: Sequence[str], top: int = 3,
                       rank: int = 8, epochs: int = 3, lr: float = 3e-4, batch: int = 32,
                       seed: int = 0, cache: dict | None = None,
                       progress: Callable[[int], None] | None = None,
                       log: Callable[[str], None] | None = None) -> IntentHead:
    """The question head with the chat model's top ``top`` layers and a LoRA of its own,
    trained together. The lower layers read each question once (``cache``: question ->
    what they read); the head is first fitted on the top layers' frozen reading (the plain
    head), then head and LoRA train together, minibatches of ``batch`` questions."""
    from dialogqa.model.cross import TopLayers
    from dialogqa.model.intent import question_ids, read_question_lower

    cache = {} if cache is None else cache
    layers = TopLayers(model.net, top, rank)
    for q in dict.fromkeys(questions):
        if q not in cache:
            cache[q] = read_question_lower(model, question_ids(model.tokenizer, q), layers.stop)
        if progress:
            progress(1)
    torch.manual_seed(seed)

    def read(qs, grad: bool) -> torch.Tensor:
        with torch.set_grad_enabled(grad):
            return torch.stack([layers.encode(cache[q][0], [cache[q][1]])[0] for q in qs])

    with torch.no_grad():
        x = read(questions, False)
    head = IntentHead(x.shape[1], layers=layers)
    plain = fit_head(x, intents, seed)
    head.load_state_dict({**head.state_dict(), **plain.state_dict()})
    params = [p for n, p in head.named_parameters() if n.startswith(("layers.lora", "linear"))]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    n = len(head.ops)
    ce, bce = torch.nn.CrossEntropyLoss(), torch.nn.BCEWithLogitsLoss(reduction="none")
    order = list(range(len(questions)))
    head.train()
    for epoch in range(epochs):
        random.Random(seed + epoch).shuffle(order)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            op, polar, less, mask, date, many, many_mask = targets([intents[j] for j in idx])
            out = head(read([questions[j] for j in idx], True))
            loss = ce(out[:, :n], op) + bce(out[:, n], polar.float()).mean()
            if mask.sum() > 0:
                loss = loss + ((bce(out[:, n + 1], less.float()) + bce(out[:, n + 2], date.float())) * mask).sum() / mask.sum()
            if many_mask.sum() > 0:
                loss = loss + (bce(out[:, n + 3], many.float()) * many_mask).sum() / many_mask.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if log:
            log(f"epoch {epoch + 1}/{epochs}: last batch loss {float(loss.detach()):.4f}")
    return head.eval()


def read_features(model, head: IntentHead, questions: Sequence[str], cache: dict) -> torch.Tensor:
    """The features ``head`` reads of ``questions`` (its own top layers where it has them)."""
    if head.layers is None:
        return featurise(model, questions)
    from dialogqa.model.intent import question_ids, read_question_lower

    rows = []
    with torch.no_grad():
        for q in questions:
            if q not in cache:
                cache[q] = read_question_lower(model, question_ids(model.tokenizer, q), head.layers.stop)
            rows.append(head.layers.encode(cache[q][0], [cache[q][1]])[0])
    return torch.stack(rows)

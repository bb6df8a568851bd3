"""Batches: bucketed by length under a token budget, collated into flat gather indices.

Prompts here range from ~150 to ~1,000 tokens (history and fact lines vary), so batching them
in random order wastes a large share of the compute on padding. Examples are sorted by length
and cut into batches of at most ``batch_tokens`` padded tokens; the batch order is then
shuffled so training does not see short examples first. (Packing several examples into one
row would need block-diagonal attention masks, which forfeit the fused causal path; with
bucketing the padding left is a few percent.)
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from dialogqa.train.examples import Example


def make_batches(examples: Sequence[Example], batch_tokens: int, rng: random.Random,
                 bucket: bool = True) -> list[list[Example]]:
    items = sorted(examples, key=len) if bucket else list(examples)
    batches: list[list[Example]] = []
    current: list[Example] = []
    longest = 0
    for ex in items:
        longest_if = max(longest, len(ex))
        if current and longest_if * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest_if = [], len(ex)
        current.append(ex)
        longest = longest_if
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def padded_tokens(batches: Sequence[Sequence[Example]]) -> tuple[int, int]:
    """(real tokens, padded tokens) of a list of batches."""
    real = sum(len(ex) for b in batches for ex in b)
    padded = sum(max(len(ex) for ex in b) * len(b) for b in batches)
    return real, padded


def collate(batch: Sequence[Example], pad_id: int, device: str | torch.device = "cpu") -> dict:
    """Right-padded ids plus flat (row * seq + position) indices where each loss is read:
    ``answer_index`` = the position *before* each answer token (it predicts that token),
    ``fact_index`` = the last token of each fact line, ``fact_query_index`` = the last prompt
    token of that line's example (for a relevance head that also reads the question)."""
    width = max(len(ex) for ex in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    a_index, a_target, a_owner = [], [], []
    f_index, f_label, f_owner, f_query = [], [], [], []
    for row, ex in enumerate(batch):
        ids[row, : len(ex)] = torch.tensor(ex.input_ids, dtype=torch.long)
        base = row * width
        for t, m in enumerate(ex.loss_mask):
            if m and t > 0:
                a_index.append(base + t - 1)
                a_target.append(ex.input_ids[t])
                a_owner.append(row)
        query = base + (ex.query_pos if ex.query_pos >= 0 else len(ex) - 1)
        for end, label in zip(ex.fact_ends, ex.fact_labels):
            f_index.append(base + end)
            f_query.append(query)
            f_label.append(label)
            f_owner.append(row)
    as_long = lambda x: torch.tensor(x, dtype=torch.long, device=device)
    return {
        "input_ids": ids.to(device),
        "tokens": sum(len(ex) for ex in batch),
        "answer_index": as_long(a_index), "answer_targets": as_long(a_target),
        "answer_owner": as_long(a_owner),
        "fact_index": as_long(f_index), "fact_owner": as_long(f_owner),
        "fact_query_index": as_long(f_query),
        "fact_labels": torch.tensor(f_label, dtype=torch.float32, device=device),
    }

"""The run's data: training examples per source, held-out dialogues for validation.

Each source's conversations are split whole (``--val-fraction``) so no held-out dialogue
leaks a turn into training; ``--val-transcripts`` adds dialogues used only for validation.
The held-out conversations serve twice: rendered as examples for teacher-forced scores,
and replayed turn by turn through the engine (own answers as history).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dialogqa.dialogue.graphs import GraphCache
from dialogqa.dialogue.transcript import Conversation
from dialogqa.errors import UserError
from dialogqa.train.examples import (BuildStats, Example, training_graphs, build_examples, read_all,
                                     split_heldout)


@dataclass
class Data:
    train: dict[str, list[Example]]  # source name -> examples
    graphs: GraphCache
    val: list[tuple[Conversation, list[str]]] = field(default_factory=list)  # (dialogue, kg files)
    val_examples: list[Example] = field(default_factory=list)

    def graph_of(self, conv: Conversation, kg_files: list[str]):
        """(kg, retriever) a held-out conversation is replayed on."""
        files = list(kg_files) or [str(p) for p in conv.kg_paths()]
        return self.graphs.get(files, f"{conv.source}:{conv.line}")


def load_data(cfg, tokenizer, info: Callable[[str], None], kg=None) -> Data:
    graphs = training_graphs(k=cfg.k)
    graphs.fixed = kg  # one graph for every source (dialogqa adapt on a store or endpoint)
    train: dict[str, list[Example]] = {}
    held_by_source: list[list[tuple[Conversation, list[str]]]] = []
    for i, source in enumerate(cfg.sources):
        name = source.name if source.name not in train else f"{source.name}-{i}"
        source.name = name
        conversations = read_all(source.transcripts, f"sources.{i}.transcripts")
        kept, held = split_heldout(conversations, cfg.val_fraction, cfg.seed)
        examples, stats = build_examples(kept, graphs, tokenizer, cfg.max_tokens, cfg.seed + i,
                                         cfg.gold_missing, source=name, kg_files=source.kg,
                                         gold_removed=cfg.gold_removed)
        if not examples and source.weight > 0:
            raise UserError(f"sources.{i} ({name}): no usable training turn: turns need "
                            "'expected' answers and 'expected_evidence' (or 'unanswerable': true)")
        info(f"data {name} (weight {source.weight:g}): {stats.line()}; "
             f"{len(held)} conversations held out")
        train[name] = examples
        held_by_source.append([(c, list(source.kg)) for c in held])
    if cfg.val_transcripts:
        extra = read_all(cfg.val_transcripts, "--val-transcripts")
        held_by_source.append([(c, list(cfg.val_kg)) for c in extra])
    # Interleave sources so a --val-conversations cap still sees every one of them.
    val: list[tuple[Conversation, list[str]]] = []
    for group in _round_robin(held_by_source):
        val.append(group)
    if cfg.val_conversations:
        val = val[: cfg.val_conversations]
    data = Data(train=train, graphs=graphs, val=val)
    stats = BuildStats()
    for conv, kg_files in val:
        examples, st = build_examples([conv], graphs, tokenizer, cfg.max_tokens, cfg.seed,
                                      "insert", source="val", kg_files=kg_files)
        data.val_examples += examples
        stats.add(st)
    if val:
        info(f"validation: {len(val)} conversations, {stats.line()}")
    return data


def _round_robin(groups):
    iters = [iter(g) for g in groups]
    while iters:
        alive = []
        for it in iters:
            item = next(it, None)
            if item is not None:
                yield item
                alive.append(it)
        iters = alive

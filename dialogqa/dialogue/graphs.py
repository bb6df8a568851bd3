"""Each conversation's graph, opened once: what replay, recall, calibration and training
data need when every transcript names its own graph files (``kg``).

A graph is opened once per distinct set of files, with one retriever: a retriever's caches
hold graph data only, never conversation state, so every conversation on that graph shares
it. ``fixed``: one graph for every conversation (the one the command line names).
``max_open``: keep at most this many open, closing the least recently used (a replay of
conversations that each name their own graph would otherwise hold every graph at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from dialogqa.errors import UserError
from dialogqa.kg.base import KnowledgeGraph, open_kg


class GraphCache:
    def __init__(self, k: int = 30, fixed: KnowledgeGraph | None = None,
                 opener: Callable[[list[str]], KnowledgeGraph] | None = None,
                 hint: str = "give the graph's files", max_open: int | None = None,
                 retriever: Callable[[KnowledgeGraph], object] | None = None):
        self.k = k
        self._retriever = retriever  # builds each graph's retriever (default: make_retriever)
        self.max_open = max_open
        self.seen: dict[tuple[str, ...], None] = {}  # every set of files opened, in order
        self.fixed = fixed
        self._opener = opener or (lambda files: open_kg(files=files))
        self.hint = hint  # what to do when a conversation names no graph
        self.opened: dict[tuple[str, ...], tuple] = {}

    def get(self, files: Sequence[str | Path] = (), where: str = ""):
        """(kg, retriever) for these graph files (or the fixed graph)."""
        from dialogqa.kg.retriever import make_retriever

        key = ("<fixed>",) if self.fixed is not None else tuple(str(Path(f).resolve()) for f in files)
        if key in self.opened:
            self.opened[key] = self.opened.pop(key)  # most recently used last
        else:
            while self.max_open and len(self.opened) >= self.max_open:
                oldest = next(iter(self.opened))
                self.opened.pop(oldest)[0].close()
            if self.fixed is not None:
                kg = self.fixed
            else:
                if not key:
                    raise UserError(f"{where}: no graph: {self.hint}")
                for f in files:
                    if not Path(f).is_file():
                        raise UserError(f"{where}: graph file {f} does not exist")
                kg = self._opener([str(f) for f in files])
            self.opened[key] = (kg, self._retriever(kg) if self._retriever else make_retriever(kg, k=self.k))
            self.seen[key] = None
        return self.opened[key]

    def of(self, conv):
        """(kg, retriever) of a transcript's conversation (its ``kg`` files)."""
        where = f"{conv.source}:{conv.line}" if conv.source else conv.id
        if self.fixed is None and not conv.kg:
            raise UserError(f"{where}: conversation {conv.id!r} names no graph ('kg'): {self.hint}")
        return self.get(conv.kg_paths(), where)

    def close(self) -> None:
        for kg, _ in self.opened.values():
            kg.close()
        self.opened.clear()

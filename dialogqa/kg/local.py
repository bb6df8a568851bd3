"""What the two local backends (memory and store) do alike: a label index to search, labels
with a fallback, neighbours from ``triples()``, and counts from one pass over the graph."""

from __future__ import annotations

import itertools

from rdflib.term import Node

from dialogqa.kg.labels import fallback_label, is_label_predicate
from dialogqa.kg.linker import to_matches
from dialogqa.records import Match, Triple


class LocalGraph:
    """Base of MemoryKG and StoreKG; each supplies ``index`` (a LabelIndex), ``labels()``,
    ``triples()`` and ``_is_predicate()``."""

    def label(self, term: Node) -> str:
        found = self.labels(term)
        return found[0][0] if found else fallback_label(term)

    def search(self, text: str, limit: int = 10) -> list[Match]:
        hits = self.index.search(text, limit=limit * 3)
        return to_matches(hits, self._is_predicate, limit)

    def neighbours(self, entity: Node, limit: int = 200) -> list[Triple]:
        out = (t for t in self.triples(entity, None, None) if not is_label_predicate(t[1]))
        into = (t for t in self.triples(None, None, entity) if not is_label_predicate(t[1]))
        return list(itertools.islice(out, limit)) + list(itertools.islice(into, limit))

"""Knowledge-graph layer: backends, labels, entity linking and retrieval."""

from dialogqa.kg.base import Fact, KnowledgeGraph, Match, open_kg, term_key

__all__ = ["Fact", "KnowledgeGraph", "Match", "open_kg", "term_key"]

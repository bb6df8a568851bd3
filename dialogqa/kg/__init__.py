"""The graph room: backends, labels, entity linking and retrieval.

May import: ``dialogqa.records``, ``dialogqa.errors`` and libraries (rdflib, pyoxigraph,
rapidfuzz). Never the dialogue engine, the model, the commands, the TUI or training.
Reports through return values and callbacks; prints nothing.
"""

from dialogqa.kg.base import KnowledgeGraph, open_kg
from dialogqa.records import Fact, Match, term_key

__all__ = ["Fact", "KnowledgeGraph", "Match", "open_kg", "term_key"]

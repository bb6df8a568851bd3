"""dialogqa: conversational question answering over RDF knowledge graphs.

Rooms, bottom to top (each may import only the ones before it):
``errors``, ``records`` (the shared dataclasses), ``lexicon`` (a language's words, from
``data/<lang>.json``) -> ``kg`` (graphs, linking, retrieval) and
``model`` -> ``dialogue`` (the engine) -> ``datasets`` -> ``train`` and ``tui`` ->
``commands`` (the command line: the only room that parses flags and prints).
tests/test_layout.py checks the import graph.
"""

__version__ = "0.1.0"

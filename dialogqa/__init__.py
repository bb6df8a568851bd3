"""dialogqa: conversational question answering over RDF knowledge graphs.

Rooms, bottom to top (each may import only the ones before it):
``errors``, ``records`` (the shared dataclasses), ``lexicon`` (a language's words, from
``data/<lang>.json``), ``paths`` (the cache directory) -> ``kg`` (graphs, linking, retrieval) and
``model`` -> ``dialogue`` (the engine) -> ``datasets`` -> ``train`` and ``tui`` ->
``commands`` (the command line: the only room that parses flags and prints).
tests/test_layout.py checks the import graph.
"""

__version__ = "0.1.0"

import os as _os

# Bound the CPU matmul caches before torch first uses them. PyTorch's ideep keeps one oneDNN
# matmul primitive per input shape (LRU of 1,024 by default), oneDNN its own primitive cache
# (1,024): every prompt length a chat meets is a new shape, so a long conversation grew by
# ~5-10 MB a turn (benchmarks/long_session.py). 32 shapes hold every shape one turn uses.
for _name in ("LRU_CACHE_CAPACITY", "ONEDNN_PRIMITIVE_CACHE_CAPACITY"):
    _os.environ.setdefault(_name, "32")
del _name

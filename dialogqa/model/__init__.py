"""Language models behind the narrow contract in ``base.py`` (prefill -> relevance scores,
decode -> answer text): loading the base model and adapter, the lean CPU forward, the
relevance head.

May import ``records``, ``errors`` and libraries (torch, transformers, peft); never the
graph, the dialogue engine, the commands, the TUI or training. Prints nothing.
"""

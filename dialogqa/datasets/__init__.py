"""Dataset adapters, apart from the library: the KGConv importer, the world graph built from
GeoNames, synthetic dialogues from any graph.

May import ``records``, ``errors``, ``kg`` and ``dialogue``; the commands and ``train`` use
them. Nothing in the core (kg, dialogue, model) imports them.
"""

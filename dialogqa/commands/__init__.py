"""The command layer: the ``dialogqa`` command line and its subcommands.

The only room that parses flags and prints for people. It may import every other room
(records, kg, dialogue, model, datasets, train, tui); no other room imports it.
"""

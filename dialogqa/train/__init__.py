"""Fine-tuning: the straight-line multi-task LoRA recipe (recipe.py), its config, data,
batching, checkpoints, evaluation and calibration.

May import every room below it (``records``, ``kg``, ``dialogue``, ``model``, ``datasets``);
only the commands import it.
"""

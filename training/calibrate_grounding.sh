#!/bin/sh
# Calibrates grounded decoding (dialogqa/dialogue/grounding.py) for an adapter on held-out
# development dialogues (never on the evaluation sets) and writes the best weights into
# ADAPTER_DIR/relevance_head.json ("grounding"). Run after calibrate_bias.sh (the replays use
# the adapter's abstain_bias).
#   sh training/calibrate_grounding.sh ADAPTER_DIR OUT_DIR [PRIOR_WEIGHTS]   (default 3,10)
#
# The two sets of calibrate_bias.sh (it says how they are made; built here when missing).
# One replay of both with free decoding fits the prior (a grid, answer = best prior), then one
# replay per prior weight with grounded decoding picks the weight, then one per near-end
# penalty (NEAR_PENALTIES, default 0.5,1,2,4) at that weight picks the penalty, which the
# grid cannot (≈ 4 minutes per replay).
set -e
adapter=${1:?adapter dir}
out=${2:?out dir}
weights=${3:-3,10}
mkdir -p "$out"
. training/dev_sets.sh
python -m dialogqa.train.calibrate_grounding "$adapter" runs/data/calib-world2.jsonl \
  runs/data/kgconv-dev/val-heldout.jsonl --prior-weights "$weights" \
  --near-penalties "${NEAR_PENALTIES:-0.5,1,2,4}" --write | tee "$out/calibrate_grounding.log"

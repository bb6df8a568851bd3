#!/bin/sh
# Calibrates grounded decoding (dialogqa/dialogue/grounding.py) for an adapter on held-out
# development dialogues (never on the evaluation sets) and writes the best weights into
# ADAPTER_DIR/relevance_head.json ("grounding"). Run after calibrate_bias.sh (the replays use
# the adapter's abstain_bias).
#   sh training/calibrate_grounding.sh ADAPTER_DIR OUT_DIR [PRIOR_WEIGHTS]   (default 3,10)
#
# The two sets of calibrate_bias.sh (it says how they are made; built here when missing).
# One replay of both with free decoding fits the prior (a grid, answer = best prior), then one
# replay per prior weight with grounded decoding picks the weight (≈ 4 minutes per replay).
set -e
adapter=${1:?adapter dir}
out=${2:?out dir}
weights=${3:-3,10}
mkdir -p "$out"
[ -f runs/data/calib-world2.jsonl ] || dialogqa data synth --kg kb/world.ttl --conversations 40 \
  --seed 11 --unanswerable-rate 0.3 --out runs/data/calib-world2.jsonl
# the recipe's own held-out split (val_fraction 0.03, seed 0), beside the files so "kg" resolves
[ -f runs/data/kgconv-dev/val-heldout.jsonl ] || python - <<'PY'
import json
from dialogqa.train.examples import read_all, split_heldout
with open("runs/data/kgconv-dev/val-heldout.jsonl", "w") as out:
    for name in ("dev-country", "dev-food"):
        path = f"runs/data/kgconv-dev/{name}.jsonl"
        held = {c.id for c in split_heldout(read_all([path], path), 0.03, 0)[1]}
        for line in open(path):
            if line.strip() and json.loads(line)["id"] in held:
                out.write(line.rstrip("\n") + "\n")
PY
python -m dialogqa.train.calibrate_grounding "$adapter" runs/data/calib-world2.jsonl \
  runs/data/kgconv-dev/val-heldout.jsonl --prior-weights "$weights" --write | tee "$out/calibrate_grounding.log"

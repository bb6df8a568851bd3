# Builds the two held-out development sets `dialogqa calibrate` replays for the shipped adapter,
# when missing (runs/data/kgconv-dev must exist: `sh training/data.sh` imports it).
# `sh training/dev_sets.sh` or sourced.
#   runs/data/calib-world2.jsonl            40 synthetic world conversations, seed 11 (training: 0)
#   runs/data/kgconv-dev/val-heldout.jsonl  the KGConv dev conversations the recipe holds out
#   runs/data/kgconv-dev-plain/val-heldout.jsonl  the same, imported without templates
[ -f runs/data/calib-world2.jsonl ] || dialogqa data synth --kg kb/world.ttl --conversations 40 \
  --seed 11 --unanswerable-rate 0.3 --out runs/data/calib-world2.jsonl
# the recipe's own held-out split (val_fraction 0.03, seed 0), beside the files so "kg" resolves;
# the same conversations over the graph imported without templates (runs/data/kgconv-dev-plain)
for dir in kgconv-dev kgconv-dev-plain; do
[ -f runs/data/$dir/val-heldout.jsonl ] || [ ! -d runs/data/$dir ] || python - $dir <<'PY'
import json, sys
from dialogqa.train.examples import read_all, split_heldout
d = sys.argv[1]
with open(f"runs/data/{d}/val-heldout.jsonl", "w") as out:
    for name in ("dev-country", "dev-food"):
        path = f"runs/data/{d}/{name}.jsonl"
        held = {c.id for c in split_heldout(read_all([path], path), 0.03, 0)[1]}
        for line in open(path):
            if line.strip() and json.loads(line)["id"] in held:
                out.write(line.rstrip("\n") + "\n")
PY
done

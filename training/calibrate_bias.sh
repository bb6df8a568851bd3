#!/bin/sh
# Calibrates the adapter's abstention bias on held-out development dialogues (never on the
# evaluation sets) and prints, per bias, each set's scores and the turn accuracy over both.
#   sh training/calibrate_bias.sh ADAPTER_DIR OUT_DIR [BIASES]     (default biases: 0 1 2 3)
# Then write the best one into ADAPTER_DIR/relevance_head.json as "abstain_bias".
#
# Sets (both prepared as in training/default.toml's header):
#   world   runs/data/calib-world2.jsonl: dialogqa data synth --kg kb/world.ttl --conversations 40
#           --seed 11 --unanswerable-rate 0.3 --out runs/data/calib-world2.jsonl (212 turns, 54
#           unanswerable; training used seed 0)
#   kgconv  runs/data/kgconv-dev/val-heldout.jsonl: the KGConv dev conversations the recipe holds
#           out of training (its val split, seed 0: 11 conversations, 89 turns)
# Two replays run side by side, one thread each.
set -e
adapter=${1:?adapter dir}
out=${2:?out dir}
biases=${3:-"0 1 2 3"}
mkdir -p "$out"
. training/dev_sets.sh
export DIALOGQA_THREADS=1
for b in $biases; do
  for set in world kgconv; do
    case $set in
      world) file=runs/data/calib-world2.jsonl ;;
      kgconv) file=runs/data/kgconv-dev/val-heldout.jsonl ;;
    esac
    dialogqa replay "$file" --adapter "$adapter" --abstain-bias "$b" --no-progress \
      --json "$out/$set-bias-$b.json" --out "$out/$set-bias-$b.jsonl" > "$out/$set-bias-$b.log" 2>&1 &
  done
  wait
done
python - "$out" $biases <<'EOF'
import json, sys
out, biases = sys.argv[1], sys.argv[2:]
print("bias  world acc/abst  kgconv acc  turn acc (both sets)")
for b in biases:
    right = turns = 0
    cells = []
    for name in ("world", "kgconv"):
        m = json.load(open(f"{out}/{name}-bias-{b}.json"))
        unans = m.get("unanswerable_turns") or 0
        answerable = m["scored_turns"]
        right += m["answer_accuracy"] * answerable + (m.get("abstention") or 0) * unans
        turns += m["turns"]
        cells.append(f"{m['answer_accuracy']:.3f}" + (f"/{m['abstention']:.3f}" if m.get("abstention") is not None else ""))
    print(f"{b:>4}  {cells[0]:>14}  {cells[1]:>10}  {right / turns:.3f}")
EOF

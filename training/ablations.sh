#!/bin/sh
# The ablations of training/README.md: the preset and two variants, each trained for the same
# number of optimizer steps from the same seed and data (steps, not minutes, so a busy machine
# does not favour one variant), one after the other, then
# compared on the preset's held-out validation dialogues (the final evaluation of each run:
# replay turn accuracy at its calibrated threshold, evidence recall, teacher-forced scores).
#   sh training/ablations.sh [STEPS]        (default 50; writes runs/ablate-*)
set -e
steps=${1:-50}
run() {  # name, overrides...
  name=$1; shift
  dialogqa train --config training/default.toml --max-steps "$steps" --max-minutes 0 --out "runs/ablate-$name" \
    --no-progress "$@" > "runs/ablate-$name.log" 2>&1 || echo "run $name failed: see runs/ablate-$name.log"
}
run preset
run no-relevance --set relevance_weight=0
run layerwise --set layerwise=true
python - "$steps" <<'EOF'
import json, sys
print(f"| variant ({sys.argv[1]} steps each) | steps | replay answer acc | evidence recall | abstention | turn acc | tf answer exact | tf relevance top-1 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name in ("preset", "no-relevance", "layerwise"):
    lines = [json.loads(l) for l in open(f"runs/ablate-{name}/log.jsonl")]
    summary = [l for l in lines if l["kind"] == "summary"][-1]
    m = summary["metrics"]
    cells = [m.get(k) for k in ("answer_accuracy", "evidence_recall", "abstention", "turn_accuracy",
                                 "tf_answer_exact", "tf_relevance_top1")]
    print(f"| {name} | {summary['steps']} | " + " | ".join("–" if c is None else f"{c:.3f}" for c in cells) + " |")
EOF

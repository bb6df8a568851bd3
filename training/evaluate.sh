#!/bin/sh
# Replays the evaluation sets through the bot and writes metrics for training/README.md.
#   sh training/evaluate.sh ADAPTER_DIR OUT_DIR [CONFIGS]
# CONFIGS: any of tuned zeroshot closedbook (default: all three).
#
# Sets, the same for every configuration:
#   world    transcripts/world.jsonl: 40 hand-written conversations, 210 turns (21 unanswerable)
#   kgconv   KGConv test: all 25 country conversations + the first 25 food ones (never trained on)
#   ideology KGConv's ideology theme: the first 25 conversations (a domain kept out of training)
# Two replays run side by side, one thread each (2 cores).
set -e
adapter=${1:?adapter dir}
out=${2:?out dir}
configs=${3:-"tuned zeroshot closedbook"}
mkdir -p "$out"
kg=transcripts/kgconv
[ -f $kg/test-food.jsonl ] || sh $kg/convert.sh >/dev/null
# subsets beside the originals, so their "kg" field (kgconv.ttl, relative) still resolves
head -n 25 $kg/test-food.jsonl > $kg/test-food-first25.jsonl
head -n 25 $kg/dev-ideology.jsonl > $kg/dev-ideology-first25.jsonl
export DIALOGQA_THREADS=1
run() {  # name, extra args, transcripts...
  name=$1; shift; extra=$1; shift
  dialogqa replay "$@" $extra --no-progress --json "$out/$name.json" --out "$out/$name.jsonl" \
    --report "$out/$name.md" > "$out/$name.log" 2>&1 || echo "replay $name failed: see $out/$name.log"
}
for config in $configs; do
  case $config in
    tuned) extra="--adapter $adapter" ;;
    zeroshot) extra="--baseline zero-shot" ;;
    closedbook) extra="--baseline closed-book" ;;
    *) echo "unknown configuration $config" >&2; exit 2 ;;
  esac
  run $config-kgconv "$extra" $kg/test-country.jsonl $kg/test-food-first25.jsonl &
  run $config-world "$extra" transcripts/world.jsonl
  run $config-ideology "$extra" $kg/dev-ideology-first25.jsonl
  wait
done
for f in "$out"/*.json; do
  python -c "import json,sys; m=json.load(open(sys.argv[1])); print(sys.argv[1], m['turns'], 'acc', m['answer_accuracy'], 'evid', m['evidence_recall'], 'abst', m.get('abstention'), 'false-abst', m.get('false_abstention'))" "$f"
done

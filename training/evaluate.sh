#!/bin/sh
# Replays the evaluation sets through the bot and writes metrics for training/README.md.
#   sh training/evaluate.sh ADAPTER_DIR OUT_DIR [CONFIGS]
# CONFIGS: any of tuned zeroshot closedbook (default: all three).
#
# Sets, the same for every configuration:
#   world    transcripts/world.jsonl: 40 hand-written conversations, 210 turns (21 unanswerable)
#   kgconv   KGConv test: all of it, 25 country + 115 food conversations, 1,225 turns (never
#            trained on); kgconv-first50 scores its first 50 conversations (25 country + the
#            first 25 food ones, 427 turns), the set reported before session 7
#   ideology KGConv's ideology theme: the first 25 conversations (a domain kept out of training)
# Two replays run side by side, one thread each (2 cores), about 830 turns each: the test set
# is split in two and its halves scored together (`dialogqa replay --score`).
set -e
adapter=${1:?adapter dir}
out=${2:?out dir}
configs=${3:-"tuned zeroshot closedbook"}
mkdir -p "$out"
kg=transcripts/kgconv
[ -f $kg/test-food.jsonl ] || sh $kg/convert.sh >/dev/null
# subsets beside the originals, so their "kg" field (kgconv.ttl, relative) still resolves
head -n 70 $kg/test-food.jsonl > $kg/test-food-1-70.jsonl
tail -n +71 $kg/test-food.jsonl > $kg/test-food-71-115.jsonl
head -n 25 $kg/dev-ideology.jsonl > $kg/dev-ideology-first25.jsonl
export DIALOGQA_THREADS=1
run() {  # name, extra args, transcripts...
  name=$1; shift; extra=$1; shift
  dialogqa replay "$@" $extra --no-progress --json "$out/$name.json" --out "$out/$name.jsonl" \
    --report "$out/$name.md" > "$out/$name.log" 2>&1 || echo "replay $name failed: see $out/$name.log"
}
score() {  # name, extra args, replayed transcripts...: their answers scored as one set
  name=$1; shift; extra=$1; shift
  dialogqa replay --score "$@" $extra --json "$out/$name.json" --report "$out/$name.md" \
    > "$out/$name.log" 2>&1 || echo "scoring $name failed: see $out/$name.log"
}
for config in $configs; do
  case $config in
    tuned) extra="--adapter $adapter" ;;
    zeroshot) extra="--baseline zero-shot" ;;
    closedbook) extra="--baseline closed-book" ;;
    *) echo "unknown configuration $config" >&2; exit 2 ;;
  esac
  run $config-kgconv-1 "$extra" $kg/test-country.jsonl $kg/test-food-1-70.jsonl &
  run $config-kgconv-2 "$extra" $kg/test-food-71-115.jsonl
  run $config-world "$extra" transcripts/world.jsonl
  run $config-ideology "$extra" $kg/dev-ideology-first25.jsonl
  wait
  score $config-kgconv "" "$out/$config-kgconv-1.jsonl" "$out/$config-kgconv-2.jsonl"
  score $config-kgconv-first50 "--limit 50" "$out/$config-kgconv-1.jsonl"
  rm -f "$out/$config-kgconv-1.json" "$out/$config-kgconv-2.json" "$out/$config-kgconv-1.md" "$out/$config-kgconv-2.md"
done
for f in "$out"/*.json; do
  python -c "import json,sys; m=json.load(open(sys.argv[1])); print(sys.argv[1], m['turns'], 'acc', m['answer_accuracy'], 'evid', m['evidence_recall'], 'abst', m.get('abstention'), 'false-abst', m.get('false_abstention'))" "$f"
done

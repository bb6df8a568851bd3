#!/bin/sh
# Replays the evaluation sets through the bot and writes metrics for training/README.md.
#   sh training/evaluate.sh ADAPTER_DIR OUT_DIR [LIMIT_BASELINES]
# Sets: KGConv test (country + food; never trained on), KGConv ideology (a domain kept out of
# training entirely), transcripts/world.jsonl (hand-written, world graph). Baselines
# (closed-book, zero-shot) replay the first LIMIT_BASELINES conversations of each set.
# Two replays run side by side, one thread each (2 cores).
set -e
adapter=${1:?adapter dir}
out=${2:?out dir}
limit=${3:-25}
mkdir -p "$out"
[ -f transcripts/kgconv/test-food.jsonl ] || sh transcripts/kgconv/convert.sh >/dev/null
export DIALOGQA_THREADS=1
run() {  # name, extra args, transcripts...
  name=$1; shift; extra=$1; shift
  dialogqa replay "$@" $extra --no-progress --json "$out/$name.json" --out "$out/$name.jsonl" \
    --report "$out/$name.md" > "$out/$name.log" 2>&1 || echo "replay $name failed: see $out/$name.log"
}
kg=transcripts/kgconv
run tuned-world "--adapter $adapter" transcripts/world.jsonl &
run tuned-kgconv-test "--adapter $adapter" $kg/test-country.jsonl $kg/test-food.jsonl
wait
run tuned-ideology "--adapter $adapter" $kg/dev-ideology.jsonl &
run zeroshot-world "--baseline zero-shot --limit $limit" transcripts/world.jsonl
wait
run zeroshot-kgconv-test "--baseline zero-shot --limit $limit" $kg/test-country.jsonl $kg/test-food.jsonl &
run zeroshot-ideology "--baseline zero-shot --limit $limit" $kg/dev-ideology.jsonl
wait
run closedbook-world "--baseline closed-book --limit $limit" transcripts/world.jsonl &
run closedbook-kgconv-test "--baseline closed-book --limit $limit" $kg/test-country.jsonl $kg/test-food.jsonl
run closedbook-ideology "--baseline closed-book --limit $limit" $kg/dev-ideology.jsonl
wait

#!/bin/sh
# The data sets training/default.toml and training/typed.toml read (git-ignored, under runs/data; about a minute):
#
#   sh training/data.sh          (from the project root; DQ=dialogqa to use one on PATH)
#
#   runs/data/kgconv-dev/        KGConv dev country + food, with KGConv's question templates
#   runs/data/kgconv-dev-plain/  the same dialogues, the graph imported without them (as a
#                                user's graph comes)
#   runs/data/kgconv-dev-{syn1,inc1,ooc1}/  the same again, each turn asked in another of the
#                                people's phrasings KGConv holds (synthetic, in-context,
#                                out-of-context; one drawn at random), for training/encoder.sh
#   runs/data/world-synth.jsonl  lookup dialogues over kb/world.ttl (pronouns, ellipsis, chains,
#                                unanswerable)
#   runs/data/typed-*.jsonl      typed dialogues over seven generated schemas (films, library,
#                                clubs; restaurants, software, art, zoo, whose graphs also say
#                                how people ask: dqa:question); kb/domains/company.ttl is never
#                                trained on
#
# KGConv: dev files only, never test; the ideology theme is never imported.
set -e
DQ=${DQ:-.venv/bin/dialogqa}
KGCONV=../shared/data/kgconv
mkdir -p runs/data
$DQ import kgconv $KGCONV/dev/country.json $KGCONV/dev/food.json \
    --templates $KGCONV/template_library.json --labels $KGCONV/preferred_labels.json \
    --out runs/data/kgconv-dev
$DQ import kgconv $KGCONV/dev/country.json $KGCONV/dev/food.json \
    --labels $KGCONV/preferred_labels.json --out runs/data/kgconv-dev-plain
for form in synthetic:syn1 in-context:inc1 out-of-context:ooc1; do
  $DQ import kgconv $KGCONV/dev/country.json $KGCONV/dev/food.json \
      --labels $KGCONV/preferred_labels.json --out runs/data/kgconv-dev-${form#*:} \
      --questions ${form%:*} --pick random --seed 1
done
$DQ data synth --kg kb/world.ttl --out runs/data/world-synth.jsonl --conversations 400 --seed 0 \
    --unanswerable-rate 0.2
for d in films library clubs restaurants software art zoo; do
  $DQ data typed --kg kb/domains/$d.ttl --out runs/data/typed-$d.jsonl --conversations 100 --seed 5
done

#!/bin/sh
# The retriever's sentence encoder, fine-tuned to read which relation a question asks for
# (dialogqa/train/encoder.py), saved where the retriever loads it: ~40 minutes on 2 busy cores
# (the candidates of ~19,400 turns are retrieved once, ~12 min; then one epoch).
#
#   sh training/encoder.sh [OUT_DIR]        (default: dialogqa/adapters/encoder)
#
# Training conversations: KGConv dev country + food over the graph imported without templates
# (people's phrasings against Wikidata's labels), the typed dialogues over seven generated
# schemas (films, library, clubs, and since session 25 restaurants, software, art and zoo, whose
# single lookups are partly asked without the label's words: "Who runs …?") and the synthetic
# world dialogues (runs/data, training/data.sh); since session 26 also KGConv dev country + food
# asked in its other people's phrasings (each turn once more in each of three forms).
# A share of the conversations is held out and reported on; so are the --evaluate sets, which
# are never trained on: kb/domains/company.ttl's typed dialogues (an unseen graph) and
# kb/world.ttl's hand-written ones. KGConv test and the ideology theme are never read.
set -e
OUT=${1:-dialogqa/adapters/encoder}
DQ=${DQ:-.venv/bin/dialogqa}
[ -f runs/data/kgconv-dev-ooc1/dev-food.jsonl ] && [ -f runs/data/typed-zoo.jsonl ] || DQ=$DQ sh training/data.sh
$DQ encoder fit runs/data/kgconv-dev-plain/dev-country.jsonl runs/data/kgconv-dev-plain/dev-food.jsonl \
    runs/data/typed-films.jsonl runs/data/typed-library.jsonl runs/data/typed-clubs.jsonl \
    runs/data/typed-restaurants.jsonl runs/data/typed-software.jsonl runs/data/typed-art.jsonl \
    runs/data/typed-zoo.jsonl runs/data/world-synth.jsonl \
    runs/data/kgconv-dev-syn1/dev-country.jsonl runs/data/kgconv-dev-syn1/dev-food.jsonl \
    runs/data/kgconv-dev-inc1/dev-country.jsonl runs/data/kgconv-dev-inc1/dev-food.jsonl \
    runs/data/kgconv-dev-ooc1/dev-country.jsonl runs/data/kgconv-dev-ooc1/dev-food.jsonl \
    --evaluate transcripts/domains/company-typed.jsonl transcripts/world.jsonl \
    --epochs 1 --lr 1e-4 --keep 5 --out "$OUT"

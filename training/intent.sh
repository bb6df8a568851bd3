#!/bin/sh
# The question head (dialogqa/model/intent.py), fitted into the shipped adapter: ~20 minutes
# on 2 cores (the lower layers read ~12,400 questions once; then the top 3 layers, with a LoRA
# of the head's own, train with the head: 4 epochs).
#
#   sh training/intent.sh [ADAPTER_DIR]        (default: dialogqa/adapters/default)
#
# Typed dialogues over nine schemas: seven generated domains (kb/domains: films, library,
# clubs, restaurants, software, art, zoo; the last four with dqa:question phrasings, asked the
# way people ask), kb/world.ttl and the KGConv dev graph (Wikidata), plus KGConv dev's own
# questions (all lookups, people's phrasings). kb/domains/company.ttl is never trained on: it is the
# held-out graph the fit reports on. KGConv test files are never read.
set -e
ADAPTER=${1:-dialogqa/adapters/default}
DQ=${DQ:-.venv/bin/dialogqa}
mkdir -p runs/intent runs/data
[ -f runs/data/kgconv-dev-plain/kgconv.ttl ] || DQ=$DQ sh training/data.sh
for d in films library clubs restaurants software art zoo; do
  $DQ data typed --kg kb/domains/$d.ttl --out runs/intent/$d.jsonl --conversations 150 --seed 7
  # which way a comparison goes is the hardest part: more of them
  $DQ data typed --kg kb/domains/$d.ttl --out runs/intent/$d-compare.jsonl --conversations 60 --seed 8 \
      --types comparison,superlative,list
done
$DQ data typed --kg kb/world.ttl --out runs/intent/world-compare.jsonl --conversations 60 --seed 8 \
    --types comparison,superlative,list
$DQ data typed --kg kb/world.ttl --out runs/intent/world.jsonl --conversations 150 --seed 7
$DQ data typed --kg runs/data/kgconv-dev-plain/kgconv.ttl --out runs/intent/kgconv.jsonl --conversations 150 --seed 7
$DQ data typed --kg kb/domains/company.ttl --out runs/intent/company-heldout.jsonl --conversations 60 --seed 99
$DQ intent fit --adapter "$ADAPTER" \
    --data runs/intent/films.jsonl runs/intent/library.jsonl runs/intent/clubs.jsonl \
           runs/intent/world.jsonl runs/intent/kgconv.jsonl runs/intent/films-compare.jsonl \
           runs/intent/library-compare.jsonl runs/intent/clubs-compare.jsonl runs/intent/world-compare.jsonl \
           runs/intent/restaurants.jsonl runs/intent/software.jsonl runs/intent/art.jsonl runs/intent/zoo.jsonl \
           runs/intent/restaurants-compare.jsonl runs/intent/software-compare.jsonl \
           runs/intent/art-compare.jsonl runs/intent/zoo-compare.jsonl \
           runs/data/kgconv-dev-plain/dev-country.jsonl runs/data/kgconv-dev-plain/dev-food.jsonl \
    --eval runs/intent/company-heldout.jsonl --layers 3 --cache runs/intent/lower3.pt --epochs 4 --seed 1

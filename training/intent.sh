#!/bin/sh
# The question head (dialogqa/model/intent.py), fitted into the shipped adapter: ~15 minutes
# on 2 cores (the lower layers read ~7,500 questions once, ~5 min; then the top 3 layers, with a
# LoRA of the head's own, train with the head: 4 epochs, ~2.5 min each).
#
#   sh training/intent.sh [ADAPTER_DIR]        (default: dialogqa/adapters/default)
#
# Typed dialogues over five schemas: three generated domains (kb/domains: films, library,
# clubs), kb/world.ttl and the KGConv dev graph (Wikidata), plus KGConv dev's own questions
# (all lookups, people's phrasings). kb/domains/company.ttl is never trained on: it is the
# held-out graph the fit reports on. KGConv test files are never read.
set -e
ADAPTER=${1:-dialogqa/adapters/default}
DQ=${DQ:-.venv/bin/dialogqa}
mkdir -p runs/intent runs/data
[ -f runs/data/kgconv-dev-plain/kgconv.ttl ] || DQ=$DQ sh training/data.sh
for d in films library clubs; do
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
           runs/data/kgconv-dev-plain/dev-country.jsonl runs/data/kgconv-dev-plain/dev-food.jsonl \
    --eval runs/intent/company-heldout.jsonl --layers 3 --cache runs/intent/lower3.pt --epochs 4 --seed 1

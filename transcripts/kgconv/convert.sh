#!/bin/sh
# Convert the KGConv subset in ../shared/data/kgconv (or $DIALOGQA_KGCONV) into
# transcripts/kgconv/: kgconv.ttl (gold facts of ALL files, dev + test, all themes) plus one
# transcript file per theme file. Run from the project root:  sh transcripts/kgconv/convert.sh
# Extra arguments go to `dialogqa import kgconv` (e.g. --questions in-context, --pick random).
set -e
here=$(dirname "$0")
src=${DIALOGQA_KGCONV:-$here/../../../shared/data/kgconv}
if [ ! -f "$src/preferred_labels.json" ]; then
  echo "convert.sh: KGConv not found at $src (set DIALOGQA_KGCONV)" >&2
  exit 2
fi
exec dialogqa import kgconv "$src"/dev/*.json "$src"/test/*.json --templates "$src/template_library.json" \
  --labels "$src/preferred_labels.json" --out "$here" "$@"

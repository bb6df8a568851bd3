"""Retrieval recall on real KGConv conversations (skipped where ../shared/data/kgconv is absent).

A regression guard on the development files (the test files are for the reported score):
the graph holds the gold facts of every KGConv file, as in `transcripts/kgconv/convert.sh`.
"""

import json
import os
from pathlib import Path

import pytest

from dialogqa.cli import main

KGCONV = Path(os.environ.get("DIALOGQA_KGCONV")
              or Path(__file__).resolve().parents[1].parent / "shared/data/kgconv")

pytestmark = pytest.mark.skipif(not (KGCONV / "preferred_labels.json").is_file(),
                                reason=f"KGConv not found at {KGCONV} (set DIALOGQA_KGCONV)")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("kgconv")
    files = sorted(str(p) for p in (KGCONV / "dev").glob("*.json")) + \
        sorted(str(p) for p in (KGCONV / "test").glob("*.json"))
    assert main(["import", "kgconv", *files, "--labels", str(KGCONV / "preferred_labels.json"),
                 "--out", str(out)]) == 0
    return out


def test_elliptical_follow_ups_find_their_gold_fact(converted, tmp_path):
    report = tmp_path / "recall.json"
    sets = [str(converted / "dev-country.jsonl"), str(converted / "dev-ideology.jsonl")]
    assert main(["kg", "recall", *sets, "--k", "30", "--json", str(report)]) == 0
    m = json.loads(report.read_text())
    assert m["turns"] == 817 + 581
    assert m["recall"] >= 0.97  # a naive retriever (last turn's entities, 1 hop) got 0.75

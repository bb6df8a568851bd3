"""The dev proxy: the retriever alone, gold history, per turn whether the gold fact ranks first.

The per-turn twin of ``dialogqa kg recall`` (``dialogqa.dialogue.recall.replay_recall``, which
sums answerable turns only): one row per turn, unanswerable ones too, with the top scores, so
that two settings can be compared turn by turn and against the abstention level.

    python training/analysis/proxy.py OUT.jsonl TRANSCRIPT.jsonl...      (from the project root)

Any retriever constant can be overridden by the environment with an ``R_`` prefix
(``R_ANSWER_WEIGHT=0.9``, ``R_SEMANTIC_FLOOR=0.3``); ``ENC=DIR`` reads another encoder LoRA.
No model is loaded: about a minute for 2,000 turns on one core. Compare two runs with
``proxy_compare.py``. Session 23 onwards (training/README.md)."""
import json
import os
import sys
from pathlib import Path

import dialogqa.kg.semantic as semantic

if os.environ.get("ENC"):
    semantic.ADAPTER = Path(os.environ["ENC"])
import dialogqa.kg.retriever as retriever

for key, value in os.environ.items():
    if key.startswith("R_"):
        setattr(retriever, key[2:], float(value))

from dialogqa.dialogue.graphs import GraphCache  # noqa: E402
from dialogqa.dialogue.recall import gold_history_turn  # noqa: E402
from dialogqa.dialogue.transcript import read_transcripts  # noqa: E402


def main(out_path: str, paths: list[str]) -> None:
    cache = GraphCache()
    with open(out_path, "w", encoding="utf-8") as out:
        for path in paths:
            for conv in read_transcripts(path):
                r = cache.of(conv)[1]
                history = []
                for i, turn in enumerate(conv.turns):
                    facts = r.retrieve(turn.user, history)
                    gold = {tuple(x) for x in turn.expected_evidence}
                    rank = next((j for j, f in enumerate(facts) if f.key() in gold), None)
                    out.write(json.dumps({
                        "set": Path(path).name, "id": conv.id, "i": i, "q": turn.user,
                        "unans": bool(turn.unanswerable), "type": getattr(turn, "type", None),
                        "rank": rank, "s": [f.score for f in facts[:5]],
                        "p": facts[0].p_label if facts else None}) + "\n")
                    history.append(gold_history_turn(turn))
    cache.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

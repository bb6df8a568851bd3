"""Calibrate the abstention threshold of a trained relevance head on held-out dialogues.

A relevance head trained with binary cross-entropy on ~30 candidates a prompt (one of them
gold) gives well-ranked but low probabilities: a fixed 0.5 makes the bot abstain on turns it
could answer. This replays held-out dialogues with the threshold at 0 (so every turn is
answered and its best relevance score is recorded), then picks the threshold that maximises
turn accuracy (right answer on answerable turns, abstention on unanswerable ones) and writes
it into the adapter's relevance_head.json, where DialogueSession reads it.

    python -m dialogqa.train.calibrate ADAPTER_DIR DIALOGS.jsonl... [--limit N] [--write]

Never calibrate on evaluation sets: use held-out development dialogues.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def best_threshold(samples: list[tuple[float | None, bool, bool]]) -> tuple[float, float]:
    """samples: (top relevance or None when the model abstained itself, answer correct,
    unanswerable). Returns (threshold, accuracy at it)."""
    candidates = sorted({0.0} | {s for s, _, _ in samples if s is not None})
    best = (0.0, -1.0)
    for t in candidates:
        right = 0
        for score, correct, unanswerable in samples:
            abstains = score is None or score < t
            right += (abstains if unanswerable else (not abstains and correct))
        acc = right / max(len(samples), 1)
        if acc > best[1]:
            best = (t, acc)
    return best


def collect(adapter: str, transcripts: list[str], limit: int | None) -> list[tuple[float | None, bool, bool]]:
    from dialogqa.dialogue.replay import replay
    from dialogqa.progress import replay_bar
    from dialogqa.dialogue.session import SessionSettings, open_session
    from dialogqa.dialogue.transcript import read_transcripts
    from dialogqa.dialogue.graphs import GraphCache
    from dialogqa.model.loading import load_chat_model

    conversations = [c for path in transcripts for c in read_transcripts(path)]
    conversations = conversations[:limit] if limit else conversations
    model = load_chat_model(adapter_dir=adapter)
    graphs = GraphCache(k=30)

    def make_session(conv):
        kg, retriever = graphs.of(conv)
        return open_session(kg, model, SessionSettings(relevance_threshold=0.0), retriever)

    return turn_samples(replay(conversations, make_session, progress=replay_bar()))


def turn_samples(replayed) -> list[tuple[float | None, bool, bool]]:
    """What ``best_threshold`` reads, from conversations replayed with the threshold at 0:
    per turn (best cited relevance, None when the model abstained itself; answer correct;
    unanswerable). A turn answered without citing anything counts as relevance 0."""
    from dialogqa.dialogue.matching import answer_correct

    samples = []
    for turn in (t for conv in replayed for t in conv.turns):
        top = None if turn.abstained else max((f.score for f in turn.evidence), default=0.0)
        correct = bool(turn.expected) and answer_correct(turn.expected, turn.answer)
        samples.append((top, correct, turn.unanswerable))
    return samples


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialogqa.train.calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("adapter")
    parser.add_argument("transcripts", nargs="+")
    parser.add_argument("--limit", type=int, default=None, help="first N conversations only")
    parser.add_argument("--write", action="store_true", help="store the threshold in the adapter")
    args = parser.parse_args(argv)
    samples = collect(args.adapter, args.transcripts, args.limit)
    threshold, acc = best_threshold(samples)
    at_half = sum((s is None or s < 0.5) if u else (s is not None and s >= 0.5 and c)
                  for s, c, u in samples) / max(len(samples), 1)
    print(f"turns {len(samples)}: threshold {threshold:.4f} -> turn accuracy {acc:.3f} "
          f"(at 0.5: {at_half:.3f})")
    if args.write:
        path = Path(args.adapter) / "relevance_head.json"
        config = json.loads(path.read_text())
        config["threshold"] = round(threshold, 4)
        path.write_text(json.dumps(config, indent=1) + "\n")
        print(f"wrote threshold to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Replay, writing each grounded turn's inputs (the facts, their retriever scores, the relevance
head's probabilities, the answer options, the grounding weights in use) to ``$DUMP`` as JSONL.

    DUMP=runs/x/ideo.dump python training/analysis/grounding_dump.py replay FILE --out R.jsonl

Any ``dialogqa`` command line works after the script name; ``grounding_sim.py`` re-runs the
grounding choice from the dump under other weights (session 27, training/README.md)."""
import json
import os
import sys

from rdflib.term import Literal

from dialogqa.dialogue import grounding

_candidates = grounding.Grounding.candidates
_out = open(os.environ["DUMP"], "w", encoding="utf-8")


def candidates(self, question, relevance, facts, abstain_text, cited=()):
    result = _candidates(self, question, relevance, facts, abstain_text, cited)
    _out.write(json.dumps({
        "q": question, "rel": [float(r) for r in relevance],
        "f": [[list(f.key()), f.s_label, f.p_label, f.o_label, f.score, int(f.inverse),
               int(isinstance(f.o, Literal))] for f in facts],
        "opts": grounding.answer_options(question, facts, cited), "top": result[0][0],
        "g": self.to_json(), "abst": abstain_text}) + "\n")
    _out.flush()
    return result


grounding.Grounding.candidates = candidates

if __name__ == "__main__":
    from dialogqa.commands.cli import main

    sys.exit(main())

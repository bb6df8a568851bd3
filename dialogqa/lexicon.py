"""The words and sentence shapes of one language, read from ``dialogqa/data/<lang>.json``.

Ground floor: imports nothing of the project. What the engine needs of a language (closed-
class words such as prepositions, "yes"/"no", the shapes of an answer sentence) lives in data,
not in code, so the core is not written for one language or one dataset.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=4)
def lexicon(lang: str = "en") -> dict:
    text = resources.files("dialogqa").joinpath("data", f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)


def join_values(values: list[str], lang: str = "en", shown: int | None = None) -> str:
    """"A", "A and B", "A, B and C"; beyond ``shown`` values, "..., and N more"."""
    lex = lexicon(lang)
    extra = 0
    if shown is not None and len(values) > shown:
        values, extra = values[:shown], len(values) - shown
    if extra:
        return ", ".join(values) + ", " + lex["more"].format(n=extra)
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + f" {lex['and']} " + values[-1]


def relational(label: str, lang: str = "en") -> str | None:
    """How a predicate label reads: None for a noun ("capital"), "relation" for a verb phrase
    ("shares border with", "is part of"), "participle" for one like "located in", or a noun
    before "of" ("capital of", "part of": "Oslo is capital of Norway.", where a verb says it
    itself: "consists of")."""
    words = label.lower().split()
    if len(words) < 2:
        return None
    lex = lexicon(lang)
    if words[0] in lex["copulas"]:
        return "relation"
    if words[-1] in lex["prepositions"]:
        noun_of = words[-1] == "of" and not words[0].endswith("s")
        return "participle" if words[0].endswith("ed") or noun_of else "relation"
    return None

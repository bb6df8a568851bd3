"""Answer matching, exactly as DESIGN.md defines it.

An expected string matches when it occurs in the answer as a whole run of tokens,
case-folded, with thousands separators ignored; expected strings of two characters or fewer
compare case-sensitively (so "In" the symbol is not "in" the word).

Tokens are runs of letters/digits (``\\w``), single punctuation marks, and single CJK
ideographs or kana (those scripts do not put spaces between words, so "北京" must be found
inside "首都是北京"). "Oslo" matches "The capital is Oslo." but not "Oslotown"; "5,550,203"
matches "5550203" and "5 550 203" written with a narrow no-break space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+|[^\w\s]")

# A digit group separator between digits, followed by exactly three digits: "5,550,203",
# "5 550 203" (no-break / narrow no-break / thin space), "5'550'203" (Swiss). Plain spaces and
# periods are not separators here: "in 1905 200 men" and "3.500" (three and a half) stay as they are.
_THOUSANDS = re.compile(r"(?<=\d)[,'\u00a0\u202f\u2009\u2019](?=\d{3}(?!\d))")


def normalize(text: str) -> str:
    # before NFKC (which turns the no-break spaces into plain ones) and after (full-width commas)
    return _THOUSANDS.sub("", unicodedata.normalize("NFKC", _THOUSANDS.sub("", text)))


def tokens(text: str, fold: bool = True) -> list[str]:
    found = _TOKEN.findall(normalize(text))
    return [t.casefold() for t in found] if fold else found


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    if n == 0:
        return False
    first = needle[0]
    return any(
        haystack[i] == first and list(haystack[i : i + n]) == list(needle)
        for i in range(len(haystack) - n + 1)
    )


def matches(expected: str, answer: str) -> bool:
    """Does ``expected`` occur in ``answer`` as a whole run of tokens?"""
    exp = expected.strip()
    case_sensitive = len(exp) <= 2
    return _contains(tokens(answer, fold=not case_sensitive), tokens(exp, fold=not case_sensitive))


def position(expected: str, answer: str) -> int | None:
    """Token index where ``expected`` first occurs in ``answer`` (as ``matches``), else None."""
    exp = expected.strip()
    fold = len(exp) > 2
    haystack, needle = tokens(answer, fold=fold), tokens(exp, fold=fold)
    n = len(needle)
    if n == 0:
        return None
    return next((i for i in range(len(haystack) - n + 1) if haystack[i:i + n] == needle), None)


def answer_correct(expected: Iterable[str], answer: str, match_all: bool = False,
                   reject: Iterable[str] = ()) -> bool | None:
    """True when any expected string matches (every one with ``match_all``: a list answer names
    them all) and no ``reject`` string occurs before the first that does ("no" before "yes";
    in a comparison the entity named first is the answer). None when nothing is expected."""
    expected = [e for e in expected if e and e.strip()]
    if not expected:
        return None
    if match_all:
        return all(matches(e, answer) for e in expected)
    hits = [p for p in (position(e, answer) for e in expected) if p is not None]
    if not hits:
        return False
    rejected = [p for p in (position(r, answer) for r in reject if r and r.strip()) if p is not None]
    return not rejected or min(hits) < min(rejected)

"""Text for a terminal: characters that can act on it, or hide or reorder what it shows, made
visible as escapes.

Graph literals and transcripts are data from anyone: an ESC or OSC sequence in a label can
recolour the terminal, retitle the window or forge a hyperlink, a carriage return can overwrite
the line, and bidi overrides (U+202E, U+2066-U+2069) can make text read differently from what
it is. Every terminal output of graph or user text (``ask``, ``kg`` tables, replay tables,
error messages, the chat window) passes through ``visible``; JSON output and transcripts keep
the exact text. Imports nothing of the project.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; bidi marks, embeddings, overrides and isolates; invisible
# spaces and joiners that hide text (not ZWJ/ZWNJ, which scripts and emoji need); line and
# paragraph separators; lone surrogates (no UTF-8 exists for them: printing one fails).
_HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff]"
)
_HIDDEN_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff]"
)


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _SHORT:
        return _SHORT[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def visible(text: object, newlines: bool = False) -> str:
    """``text`` with control, bidi and invisible characters as escapes (ESC -> ``\\x1b``,
    U+202E -> ``\\u202e``); with ``newlines`` line feeds and tabs stay as they are."""
    return (_HIDDEN_KEEP_LINES if newlines else _HIDDEN).sub(_escape, str(text))

"""Reading JSON that people wrote: every way a line can be bad is one ``BadJSON`` message.

``json.loads`` alone lets through what later breaks the program: ``NaN``, ``Infinity`` and
``1e999`` (read as floats, then written back as invalid JSON), integers of more digits than
Python converts (``ValueError``), nesting deep enough to exhaust the stack (``RecursionError``)
and ``\\ud800`` escapes that decode to lone surrogates (no UTF-8 encoding exists: writing or
tokenizing the text fails). ``loads`` turns each into ``BadJSON`` saying what to fix; callers
add the file and line. Imports nothing of the project.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

MAX_DEPTH = 64  # arrays and objects inside each other; the transcript format needs 5
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a JSON text spells one (or half a pair)


class BadJSON(ValueError):
    """The text is not JSON the project can use; the message says why (no file). For a syntax
    error, ``line`` is its line in a multi-line text and ``syntax`` the parser's words."""

    def __init__(self, message: str, line: int = 0, syntax: str = ""):
        super().__init__(message)
        self.line, self.syntax = line, syntax


def _constant(name: str) -> Any:
    raise BadJSON(f"{name} is not a JSON number: write a finite number or null")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON(f"number {text[:20]} is too large for a float: write a finite number")
    return value


def loads(text: str | bytes) -> Any:
    """``json.loads`` for input from people: raises ``BadJSON`` for anything it cannot use."""
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float)
    except BadJSON:
        raise
    except json.JSONDecodeError as exc:
        raise BadJSON(f"not valid JSON ({exc.msg} at column {exc.colno})", exc.lineno, exc.msg) from None
    except UnicodeDecodeError:
        raise BadJSON("not UTF-8 text") from None
    except RecursionError:
        raise BadJSON(f"arrays or objects nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError:  # an integer longer than int(str) converts (sys.get_int_max_str_digits)
        raise BadJSON(f"an integer of more than {sys.get_int_max_str_digits()} digits: "
                      "write it as a string") from None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # the walk costs more than the parse: only when the text could hold what it looks for
    strings = bool(_SURROGATE_ESCAPE.search(text))
    if strings or text.count("[") + text.count("{") > MAX_DEPTH:
        check(data, strings)
    return data


def check(data: Any, strings: bool = True) -> None:
    """Raise ``BadJSON`` for nesting deeper than ``MAX_DEPTH`` or (with ``strings``) a string
    or key holding a lone surrogate."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if (m := _SURROGATE.search(value)):
                raise BadJSON(f"a lone surrogate \\u{ord(m.group()):04x} in a string is not "
                              "Unicode text: fix that \\u escape")
        elif isinstance(value, (list, dict)):
            if depth > MAX_DEPTH:
                raise BadJSON(f"arrays or objects nested too deeply (more than {MAX_DEPTH} levels)")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items
                         if isinstance(item, (list, dict)) or (strings and isinstance(item, str)))
            if strings and isinstance(value, dict):
                stack.extend((key, depth) for key in value)

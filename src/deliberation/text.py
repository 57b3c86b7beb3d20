"""Characters that make no sense in a review's text, and how to show them safely.

Three uses, one table of characters:

- :func:`check_text` refuses, at validation, the characters no title or name can
  mean: C0 and C1 controls (``\\x0b``, ``\\x1b``, ``\\x9b``), DEL, lone surrogates
  and the noncharacters U+FFFE/U+FFFF (the chart renderer aborts the process on
  them; XML, so SVG, forbids them). Multi-line text keeps tab and newline.
- :func:`reveal` replaces what is left invisible (bidirectional controls such as
  U+202E, which reorder what a reader sees) and any control that reaches a renderer
  anyway with a visible mark: ``⟪U+202E⟫``, as code review tools show them.
- :func:`for_terminal` escapes a line for a terminal: no escape sequence, carriage
  return or bidi control a user typed reaches it raw (``\\x1b`` is printed as text).
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL and C1 controls; surrogates; the two noncharacters XML forbids.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FORBIDDEN_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Bidirectional formatting characters (Unicode's Bidi_Control property).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff" + BIDI_CONTROLS + "]"
)
_TERMINAL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029" + BIDI_CONTROLS + "]"
)


def describe_character(character: str) -> str:
    """``U+000B``, or ``U+202E (RIGHT-TO-LEFT OVERRIDE)``: how a message names a character."""
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    return f"{code} ({name})" if name else code


def check_text(value: str, *, multiline: bool = False) -> None:
    """Raise ValueError naming the first control character or noncharacter in ``value``."""
    pattern = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN
    found = pattern.search(value)
    if found is not None:
        allowed = " (tabs and line breaks are fine)" if multiline else ""
        raise ValueError(
            f"expected text without control characters{allowed}, found "
            f"{describe_character(found.group())} at character {found.start() + 1}"
        )


def reveal(value: str) -> str:
    """Invisible and forbidden characters as visible marks (``⟪U+202E⟫``), the rest as is."""
    return _INVISIBLE.sub(lambda m: f"⟪U+{ord(m.group()):04X}⟫", value)


def for_terminal(value: str) -> str:
    """A line safe to print: controls, separators and bidi controls as ``\\x1b``/``\\u202e``.

    Newlines are kept (they are the output's own structure); user text never holds one
    in a single-line field, which validation enforces.
    """

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _TERMINAL.sub(escape, value)


def json_for_terminal(text: str) -> str:
    """JSON text safe to print, and still the same JSON: what :func:`for_terminal` would
    escape becomes a ``\\uXXXX`` escape (such characters only occur inside strings)."""
    return _TERMINAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)

"""jsonschema without its 1.2 s grammar at import: the IRI checks load when first used.

nbformat (its validator) and altair import jsonschema, whose format checkers import
``rfc3987_syntax`` at import time when ``rfc3987`` is not installed; that module builds
38 Lark parsers for the RFC 3987 grammar at import, about 1.2 s, yet only the ``iri`` and
``iri-reference`` formats of drafts 7 and later use it. Nothing in an export does:
nbformat validates notebooks against draft 4 schemas without a format checker, and the
charts are drawn unvalidated (their specs are validated by the tests).

:func:`defer_iri_grammar`, called before jsonschema is first imported, hands jsonschema
a stand-in ``is_valid_syntax`` that imports the real one on its first call, then takes the
stand-in out of ``sys.modules`` so anything importing ``rfc3987_syntax`` afterwards gets
the real module. No check is dropped: an IRI is still validated, by the same function,
only the grammar is built when the first IRI is checked rather than at import.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

GRAMMAR = "rfc3987_syntax"


def _is_valid_syntax(term: str, value: str) -> bool:
    """rfc3987_syntax.is_valid_syntax, imported (and its grammar built) on first use."""
    real = importlib.import_module(GRAMMAR)
    return bool(real.is_valid_syntax(term, value))


def defer_iri_grammar() -> None:
    """Import jsonschema now, with the RFC 3987 grammar deferred to its first use;
    nothing when jsonschema is already imported, or the grammar is not installed."""
    if "jsonschema" in sys.modules or GRAMMAR in sys.modules:
        return
    if importlib.util.find_spec(GRAMMAR) is None or importlib.util.find_spec("jsonschema") is None:
        return
    stand_in = ModuleType(GRAMMAR, "stands in for rfc3987_syntax while jsonschema imports")
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[GRAMMAR] = stand_in
    try:
        importlib.import_module("jsonschema")
    finally:
        if sys.modules.get(GRAMMAR) is stand_in:
            del sys.modules[GRAMMAR]

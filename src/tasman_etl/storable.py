"""What PostgreSQL can keep of an item: its JSON text, and why jsonb would refuse it.

Pure (no I/O). jsonb refuses NaN/Infinity, NUL characters and lone surrogates, and a value
nested past Python's recursion limit cannot be serialised at all; `storable_text` says
which, so the item is quarantined with text that can still be written (the raw JSON of a
quarantine row is text when jsonb cannot hold it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tasman_etl import jsontext

__all__ = ["dump_json", "storable_text"]


def dump_json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (the form stored in jsonb columns)."""
    return jsontext.compact(value)


def _has_nul(value: Any) -> bool:
    """Any NUL in any string or key (iterative: deep values cannot exhaust the stack)."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return True
        elif isinstance(current, Mapping):
            for key, child in current.items():
                if "\x00" in key:
                    return True
                stack.append(child)
        elif isinstance(current, list):
            stack.extend(current)
    return False


def _shallow(raw: Any) -> str:
    """A bounded description of a value too deep to serialise."""
    return (
        repr(raw)[:10_000]
        if not isinstance(raw, dict | list)
        else f"<{type(raw).__name__} nested too deeply>"
    )


def _finite_json(raw: Any) -> str | None:
    """The item as strict JSON text, or None when it holds NaN/Infinity (jsonb refuses them)."""
    try:
        return jsontext.compact_strict(raw)
    except ValueError:
        return None


def storable_text(raw: Any) -> tuple[str, str | None]:
    """The item as JSON text, and why jsonb could not hold it (None when it can).

    jsonb refuses NaN/Infinity, NUL characters and lone surrogates; a value nested past
    Python's recursion limit cannot be serialised at all (a bounded description is kept).
    """
    try:
        strict = _finite_json(raw)
    except (RecursionError, TypeError):
        return _shallow(raw), "nested too deeply to store"
    if strict is None:
        return dump_json(raw), "holds NaN or Infinity, which JSON and jsonb cannot store"
    try:
        strict.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(
            raw, ensure_ascii=True
        ), "text contains a lone surrogate (not valid UTF-8)"
    # json escapes NUL as \u0000, so the text is a cheap pre-filter for the exact walk
    if "\\u0000" in strict and _has_nul(raw):
        return strict, "text contains a NUL character (PostgreSQL cannot store it)"
    return strict, None

"""JSON text of parsed items, fast and exactly as the standard library writes it.

Every item is written out twice on its way to silver: as the sorted, ASCII-only text its
content hash is taken over, and as the compact text stored in ``raw_json``. The standard
library's encoder is the definition of both (hashes already stored must not change, and
``raw_json`` keeps its exact text); orjson writes the same bytes about three times faster
for the JSON that API items are made of. Where the two could differ, the standard library
writes the text:

- floats that the two spell differently (below 0.0001 or from 1e16: ``1e-05`` against
  ``0.00001``) and NaN/Infinity, which orjson writes as ``null``: `loads` parses them as
  `Unusual`, a float subclass orjson refuses, so an item holding one goes to ``json``
  (and for the compact texts, a ``null`` in a value's place always does, whoever parsed the value);
- values orjson refuses (an integer past 64 bits, a lone surrogate, nesting past 255
  levels, any type that is not JSON's own);
- for the ASCII text, any non-ASCII character or DEL (``json`` escapes them as
  ``\\uXXXX``, orjson writes UTF-8).

Every page the project reads (HTTP responses, bronze envelopes, saved files) is parsed with
`loads`. ADR 0029 has the measurements.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["Unusual", "canonical_ascii", "compact", "compact_strict", "loads"]


class Unusual(float):
    """A float whose text orjson and ``json`` spell differently (see the module docstring)."""

    __slots__ = ()


def _parse_float(text: str) -> float:
    value = float(text)
    if value != 0.0 and not 1e-4 <= abs(value) < 1e16:  # NaN and +-inf are "not" as well
        return Unusual(value)
    return value


def _parse_constant(name: str) -> float:
    return Unusual(name)  # "NaN", "Infinity", "-Infinity": float() reads all three


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``, with the floats of `Unusual` spelling parsed as `Unusual`."""
    return json.loads(data, parse_float=_parse_float, parse_constant=_parse_constant)


_ORJSON_REFUSES = (TypeError, orjson.JSONEncodeError)

_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
"""Types ``json`` does not write as orjson would are refused, so ``json`` decides."""


def _fast(value: Any, option: int = 0, *, nulls: bool = True) -> bytes | None:
    try:
        out = orjson.dumps(value, option=_PASSTHROUGH | option)
    except _ORJSON_REFUSES:
        return None
    return None if nulls and _unsure(out) else out


_BEFORE_VALUE = frozenset(b":,[")


def _unsure(out: bytes) -> bool:
    """A ``null`` in a value's place: it may have been a NaN or Infinity that orjson nulled.

    One ``find`` (a regular expression scanned over every byte of a 16 kB item costs more
    than writing it with ``json``); a "null" inside a string does not follow ``:,[``.
    """
    return out == b"null" or _preceded(out, b"null", _BEFORE_VALUE)


def _preceded(out: bytes, needle: bytes, before: frozenset[int]) -> bool:
    """Whether ``needle`` occurs in ``out`` right after one of the bytes ``before``."""
    at = out.find(needle, 1)
    while at > 0:
        if out[at - 1] in before:
            return True
        at = out.find(needle, at + 1)
    return False


def compact(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, the same text."""
    out = _fast(value)
    if out is not None:
        return out.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def compact_strict(value: Any) -> str:
    """`compact`, but ValueError on NaN or Infinity (``allow_nan=False``), as ``json`` does."""
    out = _fast(value)
    if out is not None:
        return out.decode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_ascii(value: Any) -> bytes:
    """``json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))``
    encoded as ASCII: the same bytes."""
    # No null check (it costs a scan of the text): a NaN parsed by `loads` is `Unusual`,
    # which orjson refuses; only a NaN built some other way would hash as a null does.
    out = _fast(value, orjson.OPT_SORT_KEYS, nulls=False)
    if out is not None and out.isascii() and b"\x7f" not in out:
        return out
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return text.encode("ascii")

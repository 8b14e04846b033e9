"""The expectation suites, evaluated in plain Python with Great Expectations' pandas semantics.

The suites (`tasman_etl.dq.gx.suite`) stay the one definition of the rules: each
`ExpectationSpec` names a Great Expectations class and its arguments. `NativeSuiteRunner`
evaluates exactly those classes over a batch's `Frame` columns and returns what
`tasman_etl.dq.gx.runner.GxSuiteRunner` returns for the same frames (success,
``unexpected_count``, unexpected row positions) without importing Great Expectations or
pandas (ADR 0026). `tests/unit/dq/test_gate_native.py` runs both and requires equal outcomes.

GX 1.24's pandas semantics, as implemented here:

* Columns are converted by kind first (`tasman_etl.dq.frames.typed_columns`), as the GX
  runner's DataFrame does: None and NaN are missing; an ``int`` column that pandas could
  not build makes the whole validation raise, as it does there.
* Column rules skip missing values, except ``ExpectColumnValuesToNotBeNull`` whose
  unexpected rows are the missing ones. ``mostly`` is measured over the non-missing rows
  (every row for not-null). A regex is ``re.search`` on ``str(value)`` (anchors belong in
  the pattern); between bounds are inclusive unless strict; infinities compare as numbers.
* Pair rules drop rows by ``ignore_row_if`` (default ``both_values_are_missing``); a kept
  row with a missing side is unexpected (pandas compares NaN as false).
* Compound uniqueness drops rows by ``ignore_row_if`` (default ``all_values_are_missing``);
  every occurrence of a repeated combination is unexpected; missing values equal each other.
* An expectation that raises is reported with ``error`` and ``success=False``; the others
  are still evaluated (GX's ``exception_info``).

A spec naming a class or argument not implemented here raises `UnsupportedExpectationError`
when the runner is built, so no rule can go unchecked.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tasman_etl.dq.check import ExpectationOutcome
from tasman_etl.dq.frames import Frame, typed_columns
from tasman_etl.dq.gx.suite import ExpectationSpec

__all__ = ["IMPLEMENTED", "NativeSuiteRunner", "UnsupportedExpectationError"]

_MISSING = object()  # every missing value, as a key of a compound-uniqueness check

Columns = Mapping[str, list[Any]]
Found = tuple[list[int], int]
"""Unexpected row positions, and the rows ``mostly`` is measured over."""
Evaluate = Callable[[Columns, Mapping[str, str]], Found]


class UnsupportedExpectationError(ValueError):
    """A spec names a Great Expectations class or argument the native evaluator lacks."""


def _column(columns: Columns, name: str) -> list[Any]:
    try:
        return columns[name]
    except KeyError:
        raise KeyError(f"the frame has no column {name!r}") from None


# ----------------------------------------------------------------------------- rules


def _not_null(kw: Mapping[str, Any]) -> Evaluate:
    name = kw["column"]

    def evaluate(columns: Columns, kinds: Mapping[str, str]) -> Found:
        col = _column(columns, name)
        return [i for i, v in enumerate(col) if v is None], len(col)

    return evaluate


def _match_regex(kw: Mapping[str, Any]) -> Evaluate:
    name = kw["column"]
    search = re.compile(kw["regex"]).search

    def evaluate(columns: Columns, kinds: Mapping[str, str]) -> Found:
        col = _column(columns, name)
        rows = [
            i
            for i, v in enumerate(col)
            if v is not None and search(v if type(v) is str else str(v)) is None
        ]
        return rows, len(col) - col.count(None)

    return evaluate


def _number(value: Any, what: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnsupportedExpectationError(f"{what} must be a number or None, not {value!r}")
    return value


def _between(kw: Mapping[str, Any]) -> Evaluate:
    name = kw["column"]
    low = _number(kw.get("min_value"), "min_value")
    high = _number(kw.get("max_value"), "max_value")
    if low is None and high is None:
        raise UnsupportedExpectationError("min_value and max_value cannot both be None")
    if low is not None and high is not None and low > high:
        raise UnsupportedExpectationError("min_value cannot be greater than max_value")
    above = operator.lt if kw.get("strict_min") else operator.le  # low ? value
    below = operator.lt if kw.get("strict_max") else operator.le  # value ? high

    def evaluate(columns: Columns, kinds: Mapping[str, str]) -> Found:
        col = _column(columns, name)
        as_float = kinds.get(name) == "float"  # numpy compares a float64 column as floats
        lo = float(low) if as_float and low is not None else low
        hi = float(high) if as_float and high is not None else high
        if hi is None:
            rows = [i for i, v in enumerate(col) if v is not None and not above(lo, v)]
        elif lo is None:
            rows = [i for i, v in enumerate(col) if v is not None and not below(v, hi)]
        else:
            rows = [
                i
                for i, v in enumerate(col)
                if v is not None and not (above(lo, v) and below(v, hi))
            ]
        return rows, len(col) - col.count(None)

    return evaluate


def _in_set(kw: Mapping[str, Any]) -> Evaluate:
    name = kw["column"]
    value_set = kw["value_set"]
    if value_set is not None and not isinstance(value_set, list | tuple | set | frozenset):
        raise UnsupportedExpectationError(f"value_set must be a list, not {value_set!r}")
    allowed = None if value_set is None else frozenset(value_set)

    def evaluate(columns: Columns, kinds: Mapping[str, str]) -> Found:
        col = _column(columns, name)
        rows = (
            []
            if allowed is None
            else [  # no set: vacuously true
                i for i, v in enumerate(col) if v is not None and v not in allowed
            ]
        )
        return rows, len(col) - col.count(None)

    return evaluate


_PAIR_IGNORE = ("both_values_are_missing", "either_value_is_missing", "neither")
_MULTI_IGNORE = ("all_values_are_missing", "any_value_is_missing", "never")


def _choice(kw: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = kw.get(key, choices[0])
    if value not in choices:
        raise UnsupportedExpectationError(f"{key} must be one of {list(choices)}, not {value!r}")
    return str(value)


def _pair_columns(columns: Columns, kinds: Mapping[str, str], a: str, b: str) -> tuple[Any, Any]:
    """Both columns; an int column paired with a float one compares as floats (numpy)."""
    col_a, col_b = _column(columns, a), _column(columns, b)
    kind_a, kind_b = kinds.get(a), kinds.get(b)
    if kind_a == "int" and kind_b == "float":
        col_a = [float(v) for v in col_a]
    elif kind_b == "int" and kind_a == "float":
        col_b = [float(v) for v in col_b]
    return col_a, col_b


def _pair(kw: Mapping[str, Any], holds: Callable[[Any, Any], bool]) -> Evaluate:
    a, b = kw["column_A"], kw["column_B"]
    ignore = _choice(kw, "ignore_row_if", _PAIR_IGNORE)

    def evaluate(columns: Columns, kinds: Mapping[str, str]) -> Found:
        col_a, col_b = _pair_columns(columns, kinds, a, b)
        rows: list[int] = []
        kept = 0
        for i, (x, y) in enumerate(zip(col_a, col_b, strict=True)):
            if x is None or y is None:
                if ignore == "either_value_is_missing" or (
                    ignore == "both_values_are_missing" and x is None and y is None
                ):
                    continue
                kept += 1
                rows.append(i)  # pandas compares a missing value as false
                continue
            kept += 1
            if not holds(x, y):
                rows.append(i)
        return rows, kept

    return evaluate


def _a_greater_than_b(kw: Mapping[str, Any]) -> Evaluate:
    return _pair(kw, operator.ge if kw.get("or_equal") else operator.gt)


def _pair_equal(kw: Mapping[str, Any]) -> Evaluate:
    return _pair(kw, operator.eq)


def _compound_unique(kw: Mapping[str, Any]) -> Evaluate:
    names = list(kw["column_list"])
    if len(names) < 2 or not all(isinstance(n, str) for n in names):
        raise UnsupportedExpectationError("column_list must name two columns or more (as GX)")
    ignore = _choice(kw, "ignore_row_if", _MULTI_IGNORE)

    def evaluate(columns: Columns, kinds: Mapping[str, str]) -> Found:
        keys = list(zip(*(_column(columns, n) for n in names), strict=True))
        width = len(names)
        if ignore == "any_value_is_missing":
            kept = [(i, key) for i, key in enumerate(keys) if None not in key]
        else:
            kept = [
                (i, key if None not in key else tuple(_MISSING if v is None else v for v in key))
                for i, key in enumerate(keys)
                if ignore == "never" or key.count(None) < width
            ]
        seen = Counter(key for _, key in kept)
        return [i for i, key in kept if seen[key] > 1], len(kept)

    return evaluate


# class -> (required arguments, optional arguments, builder); every class takes `mostly`.
_RULES: dict[str, tuple[frozenset[str], frozenset[str], Callable[[Mapping[str, Any]], Evaluate]]]
_RULES = {
    cls: (frozenset(required.split()), frozenset(optional.split()), build)
    for cls, required, optional, build in (
        ("ExpectColumnValuesToNotBeNull", "column", "", _not_null),
        ("ExpectColumnValuesToMatchRegex", "column regex", "", _match_regex),
        (
            "ExpectColumnValuesToBeBetween",
            "column",
            "min_value max_value strict_min strict_max",
            _between,
        ),
        ("ExpectColumnValuesToBeInSet", "column value_set", "", _in_set),
        (
            "ExpectColumnPairValuesAToBeGreaterThanB",
            "column_A column_B",
            "or_equal ignore_row_if",
            _a_greater_than_b,
        ),
        ("ExpectColumnPairValuesToBeEqual", "column_A column_B", "ignore_row_if", _pair_equal),
        ("ExpectCompoundColumnsToBeUnique", "column_list", "ignore_row_if", _compound_unique),
    )
}
IMPLEMENTED: Mapping[str, frozenset[str]] = {
    cls: required | optional | {"mostly"} for cls, (required, optional, _) in _RULES.items()
}
"""Great Expectations class -> the keyword arguments the native evaluator implements."""


def _compile(spec: ExpectationSpec) -> tuple[Evaluate, float]:
    rule = _RULES.get(spec.gx_class)
    if rule is None:
        raise UnsupportedExpectationError(
            f"expectation {spec.name!r}: {spec.gx_class} is not implemented by the native "
            f"evaluator (implemented: {', '.join(sorted(_RULES))})"
        )
    required, optional, build = rule
    given = set(spec.kwargs)
    unknown = given - required - optional - {"mostly"}
    if unknown:
        raise UnsupportedExpectationError(
            f"expectation {spec.name!r}: {spec.gx_class} argument(s) {sorted(unknown)} are not "
            "implemented by the native evaluator"
        )
    if required - given:
        raise UnsupportedExpectationError(
            f"expectation {spec.name!r}: {spec.gx_class} needs {sorted(required - given)}"
        )
    mostly = spec.kwargs.get("mostly", 1)
    if isinstance(mostly, bool) or not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
        raise UnsupportedExpectationError(
            f"expectation {spec.name!r}: mostly must be a number from 0 to 1, not {mostly!r}"
        )
    try:
        return build(spec.kwargs), float(mostly)
    except UnsupportedExpectationError as exc:
        raise UnsupportedExpectationError(f"expectation {spec.name!r}: {exc}") from None
    except (re.error, TypeError, ValueError) as exc:
        raise UnsupportedExpectationError(
            f"expectation {spec.name!r}: invalid arguments: {exc}"
        ) from exc


class NativeSuiteRunner:
    """Evaluates the suites' expectations over plain frames (see the module docstring).

    Stateless after construction, so safe to share between threads.
    """

    def __init__(self, specs: Sequence[ExpectationSpec]) -> None:
        self._specs: tuple[ExpectationSpec, ...] = tuple(specs)
        names = [s.name for s in self._specs]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate expectation name(s) {duplicated}")
        self._rules = [(spec, *_compile(spec)) for spec in self._specs]
        self._tables = list(dict.fromkeys(spec.table for spec in self._specs))

    @property
    def specs(self) -> tuple[ExpectationSpec, ...]:
        """The expectations this runner evaluates, in order."""
        return self._specs

    def validate(self, frames: Mapping[str, Frame]) -> list[ExpectationOutcome]:
        """Evaluate every expectation on its table's frame; outcomes in spec order.

        ``frames`` maps ``jobs``, ``items`` and ``pages`` to their frames (every table that
        has expectations). Unexpected rows are positions in that table's frame. Raises when
        a table is missing or a column cannot be converted to its kind.
        """
        tables = {table: typed_columns(frames[table]) for table in self._tables}
        out = []
        for spec, evaluate, mostly in self._rules:
            kinds = frames[spec.table].kinds
            try:
                rows, considered = evaluate(tables[spec.table], kinds)
            except Exception as exc:  # reported on this expectation, as GX does
                out.append(ExpectationOutcome(spec, False, 0, error=f"{type(exc).__name__}: {exc}"))
                continue
            success = considered == 0 or (considered - len(rows)) / considered >= mostly
            out.append(ExpectationOutcome(spec, success, len(rows), tuple(rows)))
        return out

"""The tables the expectation suites check, as plain Python columns (no pandas).

A batch of pages becomes three `Frame`s, one per suite (`tasman_etl.dq.gx.suite.SUITES`):

* ``jobs`` (`jobs_frame`): one row per parsed job, narrowed to the columns the row rules
  read and those of the hard rules the models enforce instead (``control_number``,
  ``position_title``, ``pay_min``, the coordinates: `tasman_etl.dq.gx.suite`), which tests
  evaluate on every row the models accept;
* ``items`` (`items_frame`): one row per raw item of a page, duplicates and unparseable
  items included, with the page's position in its batch;
* ``pages`` (`pages_frame`): one row per page, its item count and its `SearchResultCount`.

The native evaluator (`tasman_etl.dq.native`) reads them through `typed_columns`, which
converts each column by its kind as the Great Expectations runner (`tasman_etl.dq.gx.runner`)
does when it builds a pandas DataFrame from the same frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tasman_etl.rows import PageRows
from tasman_etl.transform import search_items

__all__ = [
    "Frame",
    "batch_frames",
    "concat_frames",
    "is_missing",
    "item_control_number",
    "items_frame",
    "jobs_frame",
    "pages_frame",
    "payload_items",
    "search_result_count",
    "typed_columns",
]


@dataclass(frozen=True)
class Frame:
    """A table as columns of Python values, with each column's kind.

    Kinds: ``text``, ``float``, ``int`` or ``datetime`` (timezone-aware values or None).
    ``int`` columns hold no None; a None (or NaN) elsewhere is a missing value.
    """

    columns: Mapping[str, Sequence[Any]]
    kinds: Mapping[str, str]

    def __len__(self) -> int:
        first = next(iter(self.columns.values()), ())
        return len(first)


_JOB_KINDS: dict[str, str] = {
    "control_number": "text",
    "position_title": "text",
    "position_uri": "text",
    "apply_uris": "text",
    "pay_min": "float",
    "pay_max": "float",
    "pay_interval_code": "text",
    "publication_start_date": "datetime",
    "application_close_date": "datetime",
    "location_count": "int",
    "latitude_extreme": "float",
    "longitude_extreme": "float",
}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _extreme(values: Sequence[float]) -> float | None:
    """The value farthest from zero: in range only if every value is (one cell per job)."""
    return max(values, key=abs) if values else None


def jobs_frame(rows: PageRows) -> Frame:
    """The narrow frame the row-level suite checks: one row per job, in `rows.jobs` order.

    Apply URIs are joined with single spaces (None when there are none); each job's
    coordinates are reduced to the latitude and longitude farthest from zero.
    """
    lats: dict[str, list[float]] = {}
    lons: dict[str, list[float]] = {}
    for loc in rows.locations:
        if loc.latitude is not None:
            lats.setdefault(loc.control_number, []).append(float(loc.latitude))
        if loc.longitude is not None:
            lons.setdefault(loc.control_number, []).append(float(loc.longitude))
    cols: dict[str, list[Any]] = {name: [] for name in _JOB_KINDS}
    for job in rows.jobs:
        cn = job.control_number
        cols["control_number"].append(_text(cn))
        cols["position_title"].append(_text(job.position_title))
        cols["position_uri"].append(_text(job.position_uri))
        uris = [u for u in (job.apply_uris or []) if u is not None]
        cols["apply_uris"].append(" ".join(uris) if uris else None)
        cols["pay_min"].append(_float(job.pay_min))
        cols["pay_max"].append(_float(job.pay_max))
        cols["pay_interval_code"].append(_text(job.pay_interval_code))
        cols["publication_start_date"].append(job.publication_start_date)
        cols["application_close_date"].append(job.application_close_date)
        cols["location_count"].append(int(job.location_count or 0))
        cols["latitude_extreme"].append(_extreme(lats.get(cn, [])))
        cols["longitude_extreme"].append(_extreme(lons.get(cn, [])))
    return Frame(cols, _JOB_KINDS)


def item_control_number(item: Any) -> str | None:
    """`MatchedObjectId` normalised as the models do (text or integer, stripped)."""
    if not isinstance(item, Mapping):
        return None
    value = item.get("MatchedObjectId")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def items_frame(items: Sequence[Any], page: int = 0) -> Frame:
    """The page-level frame: one row per raw item, duplicates and unparseable ones included.

    ``page`` is the page's position in its batch (control numbers are unique per page).
    """
    return Frame(
        {
            "page": [page] * len(items),
            "item_index": list(range(len(items))),
            "matched_object_id": [item_control_number(item) for item in items],
        },
        {"page": "int", "item_index": "int", "matched_object_id": "text"},
    )


def pages_frame(item_counts: Sequence[int], result_counts: Sequence[int | None]) -> Frame:
    """One row per page of a batch: its raw item count and its `SearchResultCount`."""
    return Frame(
        {"items": list(item_counts), "search_result_count": list(result_counts)},
        {"items": "int", "search_result_count": "float"},
    )


def concat_frames(frames: Sequence[Frame]) -> Frame:
    """Frames of the same columns, one after the other."""
    kinds = frames[0].kinds
    return Frame({name: [v for f in frames for v in f.columns[name]] for name in kinds}, kinds)


def batch_frames(
    rows: Sequence[PageRows], items: Sequence[Sequence[Any]], counts: Sequence[int | None]
) -> dict[str, Frame]:
    """The three tables of a batch of pages: each page's parsed rows, raw items and
    `SearchResultCount`, in batch order (the ``page`` of an item is its page's position)."""
    return {
        "jobs": concat_frames([jobs_frame(r) for r in rows]),
        "items": concat_frames([items_frame(page, k) for k, page in enumerate(items)]),
        "pages": pages_frame([len(page) for page in items], counts),
    }


def search_result_count(payload: Mapping[str, Any]) -> int | None:
    """`SearchResult.SearchResultCount` as an int (None when absent or not a number)."""
    result = payload.get("SearchResult")
    value = result.get("SearchResultCount") if isinstance(result, Mapping) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def payload_items(payload: Mapping[str, Any]) -> list[Any]:
    """The payload's search items (none when it is not a search response)."""
    try:
        return search_items(payload)
    except ValueError:
        return []


# ------------------------------------------------------------------ columns by kind
# What the Great Expectations runner's DataFrame makes of each kind (float64, int64,
# datetime64 in UTC, object), in plain Python: the native evaluator reads these.

_INT64 = (-(2**63), 2**63 - 1)
_TEXT_TYPES = frozenset({str, type(None)})


def is_missing(value: Any) -> bool:
    """pandas' ``isnull`` for the values a frame can hold: None, NaN, decimal NaN."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return isinstance(value, Decimal) and value.is_nan()


def _text_column(values: Sequence[Any]) -> list[Any]:
    if set(map(type, values)) <= _TEXT_TYPES:  # the usual case: nothing to convert
        return list(values)
    return [v if type(v) is str or v is None else (None if is_missing(v) else v) for v in values]


def _to_float(value: Any) -> float | None:
    number = None if value is None else float(value)
    return None if number is None or number != number else number


def _float_column(values: Sequence[Any]) -> list[Any]:
    return [v if type(v) is float and v == v else _to_float(v) for v in values]


def _whole(value: Any) -> int:
    if isinstance(value, int):  # bool included, as pandas converts it
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"an int column cannot hold {value!r}")


def _int_column(values: Sequence[Any]) -> list[Any]:
    out = list(values)
    if not set(map(type, out)) <= {int}:
        out = [_whole(v) for v in out]
    if out and (min(out) < _INT64[0] or max(out) > _INT64[1]):
        raise OverflowError("an int column value does not fit in int64")
    return out


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if is_missing(value):
        return None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"a datetime column cannot hold {type(value).__name__}")


def _datetime_column(values: Sequence[Any]) -> list[Any]:
    return [
        v if v is None or (type(v) is datetime and v.tzinfo is not None) else _instant(v)
        for v in values
    ]


_CONVERT: dict[str, Callable[[Sequence[Any]], list[Any]]] = {
    "text": _text_column,
    "float": _float_column,
    "int": _int_column,
    "datetime": _datetime_column,
}


def typed_columns(frame: Frame) -> dict[str, list[Any]]:
    """Every column of `frame` as its kind makes it; None for every missing value.

    ``float``: ``float()`` of each value, NaN missing. ``int``: whole numbers within int64,
    else ValueError or OverflowError (as pandas raises). ``datetime``: aware datetimes
    (naive ones taken as UTC; a date is its midnight UTC), compared as instants. ``text``
    (and an unknown kind): values as they are, NaN missing.
    """
    return {
        name: _CONVERT.get(kind, _text_column)(frame.columns[name])
        for name, kind in frame.kinds.items()
    }

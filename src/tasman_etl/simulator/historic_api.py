"""``GET /api/historicjoa`` and ``/api/historicjoa/announcementtext``: filters, tokens, pages.

Parameter names are case-insensitive; lists are comma-separated:

* ``StartPositionOpenDate``/``EndPositionOpenDate``, ``StartPositionCloseDate``/
  ``EndPositionCloseDate``: inclusive, ``YYYY-MM-DD`` (anything else: HTTP 400);
* ``HiringAgencyCodes`` (sub-element codes such as ``VATA``), ``HiringDepartmentCodes``
  (``VA``), ``PositionSeries`` (``2210``), ``USAJOBSControlNumbers``; unknown names ignored.

Paging as the real API: ``{"paging": {"metadata": {"totalCount", "pageSize",
"continuationToken"}, "next"}, "data": [...]}``. ``next`` is relative, its names lower-cased,
its token already %-encoded, and null on the last page. The token is opaque but stateless:
URL-safe base64 (always ending ``==``) of JSON holding the offset and the query's filter
parameters, so a token alone resumes a query (the parameters beside it are ignored).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from tasman_etl.simulator.historic import HistoricUniverse, HistSpec
from tasman_etl.simulator.query import QueryError
from tasman_etl.simulator.vocab import ORGS, SERIES

__all__ = [
    "FILTER_PARAMS",
    "HISTORIC_PATH",
    "NO_CONTENT",
    "TEXT_PATH",
    "HistoricFilter",
    "decode_token",
    "dropped",
    "encode_token",
    "historic_page",
    "is_short",
    "parse_filter",
]

HISTORIC_PATH = "/api/historicjoa"
TEXT_PATH = "/api/historicjoa/announcementtext"
NO_CONTENT = b"204 No Content"
FILTER_PARAMS: tuple[str, ...] = (
    "startpositionopendate",
    "endpositionopendate",
    "startpositionclosedate",
    "endpositionclosedate",
    "hiringagencycodes",
    "hiringdepartmentcodes",
    "positionseries",
    "usajobscontrolnumbers",
)
_TOKEN = "continuationtoken"  # noqa: S105 - a parameter name
_SHORTFALL_EVERY = 7  # in a shortfall window, rows at offsets 3, 10, 17... go missing
_SERIES_INDEX = {s.code: i for i, s in enumerate(SERIES)}


@dataclass(frozen=True, slots=True)
class HistoricFilter:
    """A parsed Historic JOA query; `params` its filter parameters (lower-case names)."""

    params: tuple[tuple[str, str], ...]
    start_open: int | None = None
    end_open: int | None = None
    start_close: int | None = None
    end_close: int | None = None
    agencies: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    series: frozenset[int] | None = None
    control_numbers: frozenset[str] = frozenset()

    def keep(self, spec: HistSpec) -> bool:
        """True when `spec` matches every filter."""
        if self.start_open is not None and spec.opened < self.start_open:
            return False
        if self.end_open is not None and spec.opened > self.end_open:
            return False
        if self.start_close is not None and spec.closes < self.start_close:
            return False
        if self.end_close is not None and spec.closes > self.end_close:
            return False
        org = ORGS[spec.org]
        if self.agencies and org.code not in self.agencies:
            return False
        if self.departments and org.parent not in self.departments:
            return False
        if self.series is not None and self.series.isdisjoint(spec.series):
            return False
        return not self.control_numbers or spec.control_number in self.control_numbers

    @property
    def start_month(self) -> str | None:
        """``YYYY-MM`` of StartPositionOpenDate (the shortfall fault keys on it)."""
        if self.start_open is None:
            return None
        return date.fromordinal(self.start_open).strftime("%Y-%m")


def _day(name: str, value: str) -> int:
    try:
        return date.fromisoformat(value.strip()).toordinal()
    except ValueError:
        raise QueryError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def _codes(value: str | None, *, upper: bool = True) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(c.strip().upper() if upper else c.strip() for c in value.split(",") if c)


def parse_filter(params: Mapping[str, str]) -> HistoricFilter:
    """The filters of a query (names case-insensitive); QueryError for a malformed date."""
    p = {name.lower(): value for name, value in params.items() if name.lower() in FILTER_PARAMS}
    p = {name: value for name, value in p.items() if value.strip()}
    days = {name: _day(name, p[name]) for name in FILTER_PARAMS[:4] if name in p}
    series = None
    if "positionseries" in p:
        series = frozenset(
            _SERIES_INDEX[c] for c in _codes(p["positionseries"]) if c in _SERIES_INDEX
        )
    return HistoricFilter(
        params=tuple(sorted(p.items())),
        start_open=days.get("startpositionopendate"),
        end_open=days.get("endpositionopendate"),
        start_close=days.get("startpositionclosedate"),
        end_close=days.get("endpositionclosedate"),
        agencies=_codes(p.get("hiringagencycodes")),
        departments=_codes(p.get("hiringdepartmentcodes")),
        series=series,
        control_numbers=_codes(p.get("usajobscontrolnumbers"), upper=False),
    )


def encode_token(offset: int, params: tuple[tuple[str, str], ...]) -> str:
    """An opaque, stateless continuation token (URL-safe base64 that ends in ``==``)."""
    text = json.dumps({"o": offset, "q": dict(params)}, separators=(",", ":"), sort_keys=True)
    text += " " * ((1 - len(text.encode())) % 3)  # length % 3 == 1: two padding characters
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def decode_token(token: str) -> tuple[int, dict[str, str]]:
    """(offset, filter parameters) of a token; QueryError when it is not one of ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.strip().encode("ascii")))
        offset, params = data["o"], data["q"]
    except (ValueError, KeyError, TypeError, UnicodeEncodeError, binascii.Error):
        raise QueryError("invalid continuation token") from None
    if not isinstance(offset, int) or offset < 0 or not isinstance(params, dict):
        raise QueryError("invalid continuation token")
    return offset, {str(k): str(v) for k, v in params.items()}


def is_short(flt: HistoricFilter, months: tuple[str, ...]) -> bool:
    """True when the shortfall fault applies to the query (its start month is listed)."""
    return flt.start_month is not None and flt.start_month in months


def dropped(offset: int) -> bool:
    """True for the result offsets a shortfall query leaves out (every 7th row)."""
    return offset % _SHORTFALL_EVERY == 3


def _next_url(path: str, token: str, params: tuple[tuple[str, str], ...]) -> str:
    parts = [f"{_TOKEN}={quote(token, safe='')}"]
    parts += [f"{name}={quote(value, safe=',')}" for name, value in params]
    return f"{path}?{'&'.join(parts)}"


def historic_page(
    history: HistoricUniverse,
    params: Mapping[str, str],
    *,
    text: bool,
) -> tuple[bytes, bool]:
    """(body, is JSON) of one Historic JOA (or AnnouncementText) request.

    Raises QueryError for malformed dates or tokens (the server answers 400).
    """
    config = history.config
    lowered = {name.lower(): value for name, value in params.items()}
    token = lowered.get(_TOKEN, "").strip() or None
    offset = 0
    if token is not None:
        offset, token_params = decode_token(token)
        flt = parse_filter(token_params)
    else:
        flt = parse_filter(params)
    matches = history.select(flt.keep, key=flt.params)
    total = len(matches)
    if total == 0 and config.historic_no_content_text:
        return NO_CONTENT, False
    size = config.historic_page_size
    rows = list(range(offset, min(offset + size, total)))
    if is_short(flt, config.historic_shortfall_months):
        rows = [i for i in rows if not dropped(i)]
    render = history.text_record if text else history.record
    data = [render(matches[i]) for i in rows]
    path = TEXT_PATH if text else HISTORIC_PATH
    next_token: str | None = None
    if offset + size < total:
        next_token = encode_token(offset + size, flt.params)
    elif config.historic_repeat_token:
        next_token = token or encode_token(offset, flt.params)
    body: dict[str, Any] = {
        "paging": {
            "metadata": {
                "totalCount": total,
                "pageSize": size,
                "continuationToken": quote(next_token, safe="") if next_token else None,
            },
            "next": _next_url(path, next_token, flt.params) if next_token else None,
        },
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(), True

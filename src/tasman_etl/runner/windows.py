"""Backfill windows: a date range of the Historic JOA API cut into independent units.

A window is a range of position open dates (and the run's agency and series filters) whose
records are read by following the API's continuation tokens. Months by default; a month
whose `totalCount` is above `WINDOW_MAX_ROWS` is halved (by open date) until each part fits
or is one day. Windows are what `backfill --workers N` runs in parallel and what an
orchestrator runs one task per (`backfill --plan --json`, then `backfill --window ID`).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tasman_etl.errors import ConfigError
from tasman_etl.historic_text import TEXT_PART_PREFIX

__all__ = [
    "PART_PREFIX",
    "TEXT_PART_PREFIX",
    "WINDOW_MAX_ROWS",
    "Probe",
    "WindowPlan",
    "month_ranges",
    "parse_window_id",
    "plan_windows",
    "window_id",
]

WINDOW_MAX_ROWS = 20_000
"""A window with more records than this is split (20 pages of 1,000: a short task)."""
PART_PREFIX = "historic."
"""Ledger partitions and bronze keys of a window: ``part=historic.2019-03`` (the source in
the key, so a bronze listing tells Historic JOA pages from search pages)."""

_ID_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2})_(\d{4})-(\d{2})-(\d{2}))?$")


def window_id(start: date, end: date) -> str:
    """``2019-03`` for a whole month, else ``2019-03-01_2019-03-15``."""
    first = start.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if start == first and end == last:
        return f"{start:%Y-%m}"
    return f"{start:%Y-%m-%d}_{end:%Y-%m-%d}"


def parse_window_id(text: str) -> tuple[date, date]:
    """The open-date range a window id names; ConfigError when it is not a window id."""
    match = _ID_RE.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError(text)
        if match[3] is None:
            start = date(int(match[1]), int(match[2]), 1)
            end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            start = date(int(match[1]), int(match[2]), int(match[3]))
            end = date(int(match[4]), int(match[5]), int(match[6]))
    except ValueError:
        raise ConfigError(
            f"not a window id: {text!r} (expected YYYY-MM or YYYY-MM-DD_YYYY-MM-DD)"
        ) from None
    if end < start:
        raise ConfigError(f"window {text!r} ends before it starts")
    return start, end


def month_ranges(start: date, end: date) -> list[tuple[date, date]]:
    """The calendar months from `start` to `end` (both inclusive), clipped to the range."""
    if end < start:
        raise ConfigError(f"--to {end} is before --from {start}")
    out: list[tuple[date, date]] = []
    cursor = start
    while cursor <= end:
        following = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((cursor, min(end, following - timedelta(days=1))))
        cursor = following
    return out


@dataclass(frozen=True)
class WindowPlan:
    """One window as planned: its open-date range and what the API said it holds."""

    start: date
    end: date
    expected: int
    """`totalCount` when planned."""
    page_size: int = 1000
    agencies: tuple[str, ...] = ()
    """The run's hiring agency filter (every process reading the window applies it)."""
    series: tuple[str, ...] = ()
    """The run's occupational series filter."""

    @property
    def id(self) -> str:
        """The window's id (see `window_id`)."""
        return window_id(self.start, self.end)

    @property
    def part(self) -> str:
        """The ledger partition and bronze ``part=`` of the window."""
        return PART_PREFIX + self.id

    @property
    def text_part(self) -> str:
        """The ledger partition and bronze ``part=`` of the window's AnnouncementText pages."""
        return TEXT_PART_PREFIX + self.id

    @property
    def pages(self) -> int:
        """Pages the window should take (at least one: an empty window still answers)."""
        return max(1, math.ceil(self.expected / max(1, self.page_size)))

    def to_json(self) -> dict[str, Any]:
        """The window as `backfill --plan --json` prints it."""
        return {
            "id": self.id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "expected": self.expected,
            "pages": self.pages,
            "agencies": list(self.agencies),
            "series": list(self.series),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WindowPlan:
        """Back from `to_json` (as kept in `ingest_partition.params`)."""
        expected = int(data.get("expected") or 0)
        pages = int(data.get("pages") or 1)
        size = math.ceil(expected / pages) if expected and pages else 1000
        return cls(
            date.fromisoformat(str(data["from"])),
            date.fromisoformat(str(data["to"])),
            expected,
            max(1, size),
            tuple(str(a) for a in data.get("agencies") or ()),
            tuple(str(x) for x in data.get("series") or ()),
        )


Probe = Callable[[date, date], tuple[int, int]]
"""``(start, end) -> (totalCount, page size)`` for one open-date range."""


def plan_windows(
    ranges: Iterable[tuple[date, date]],
    probe: Probe,
    *,
    max_rows: int = WINDOW_MAX_ROWS,
    concurrency: int = 4,
    stop: threading.Event | None = None,
) -> list[WindowPlan]:
    """Probe each range's `totalCount`; halve the ranges above `max_rows` until they fit.

    Probes of one level go out `concurrency` at a time. A one-day range is kept whatever
    its count (it cannot be cut further by open date).
    """
    level: Sequence[tuple[date, date]] = list(ranges)
    planned: list[WindowPlan] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        while level:
            if stop is not None and stop.is_set():
                break
            counts = list(pool.map(lambda r: probe(*r), level))
            following: list[tuple[date, date]] = []
            for (start, end), (total, size) in zip(level, counts, strict=True):
                if total > max_rows and end > start:
                    middle = start + timedelta(days=(end - start).days // 2)
                    following += [(start, middle), (middle + timedelta(days=1), end)]
                else:
                    planned.append(WindowPlan(start, end, total, size or 1000))
            level = following
    return sorted(planned, key=lambda w: w.start)

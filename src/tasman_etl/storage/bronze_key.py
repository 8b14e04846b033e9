"""Where a bronze object lives: `BronzeKey`, and the checks every store applies to names.

A key renders to (and parses back from)::

    {prefix}/date=YYYY/MM/DD/run={run_id}/[part={k}/]page={NNNN}.json.gz

Run ids, parts and prefix segments may only hold ``[A-Za-z0-9._-]`` (never ``.`` or ``..``,
at most 128 characters). ``check_filters`` and ``matches_filters`` are the ``run_id`` /
``run_date`` filters of `BronzeStore.list`, shared by the stores.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "BronzeKey",
    "check_filters",
    "check_name",
    "check_prefix",
    "check_run_id",
    "check_sha256",
    "matches_filters",
    "sha256_hex",
]

_NAME = r"[A-Za-z0-9._-]+"
_NAME_RE = re.compile(_NAME)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_KEY_RE = re.compile(
    rf"(?:(?P<prefix>{_NAME}(?:/{_NAME})*)/)?"
    r"date=(?P<y>[0-9]{4})/(?P<m>[0-9]{2})/(?P<d>[0-9]{2})/"
    rf"run=(?P<run>{_NAME})/"
    rf"(?:part=(?P<part>{_NAME})/)?"
    r"page=(?P<page>[0-9]{4,})\.json\.gz"
)
_MAX_NAME_LEN = 128


def check_name(what: str, value: str) -> None:
    """ValueError unless ``value`` can be one segment of a key (``what`` names it)."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(f"{what} must match [A-Za-z0-9._-]+, got {value!r}")
    if value in {".", ".."}:
        raise ValueError(f"{what} must not be {value!r}")
    if len(value) > _MAX_NAME_LEN:
        raise ValueError(f"{what} is longer than {_MAX_NAME_LEN} characters")


def check_run_id(value: str) -> None:
    """ValueError unless `value` can name a run in bronze keys (``[A-Za-z0-9._-]``, <= 128)."""
    check_name("run id", value)


def check_prefix(prefix: str) -> None:
    """ValueError unless ``prefix`` is empty or ``/``-separated valid segments."""
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {prefix!r}")
    if prefix == "":
        return
    for segment in prefix.split("/"):
        check_name("prefix segment", segment)


def check_sha256(what: str, value: str) -> None:
    """ValueError unless ``value`` is a SHA-256 as 64 lowercase hex digits."""
    if not isinstance(value, str) or not _SHA256_RE.fullmatch(value):
        raise ValueError(f"{what} must be 64 lowercase hex digits")


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as lowercase hex (the form every checksum here uses)."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BronzeKey:
    """Where one page lives: renders to ``.path`` and parses back with `BronzeKey.parse`.

    ``run_id`` and ``part`` may only hold ``[A-Za-z0-9._-]`` (never ``.`` or ``..``);
    ``prefix`` is ``/``-separated segments of the same characters (or empty); ``page`` >= 1.
    """

    prefix: str
    run_date: date
    run_id: str
    page: int
    part: str | None = None

    def __post_init__(self) -> None:
        check_prefix(self.prefix)
        if isinstance(self.run_date, datetime) or not isinstance(self.run_date, date):
            raise ValueError(f"run_date must be a date (not a datetime), got {self.run_date!r}")
        check_name("run_id", self.run_id)
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise ValueError(f"page must be an int >= 1, got {self.page!r}")
        if self.part is not None:
            check_name("part", self.part)

    @property
    def path(self) -> str:
        """The object path, e.g. ``bronze/usajobs/date=2025/09/03/run=r1/page=0001.json.gz``."""
        lead = f"{self.prefix}/" if self.prefix else ""
        part = f"part={self.part}/" if self.part is not None else ""
        return (
            f"{lead}date={self.run_date:%Y/%m/%d}/run={self.run_id}/{part}"
            f"page={self.page:04d}.json.gz"
        )

    @property
    def sort_key(self) -> tuple[date, str, str, int]:
        """Listing order: date, run, part (unpartitioned first), page."""
        return (self.run_date, self.run_id, self.part or "", self.page)

    @classmethod
    def parse(cls, path: str) -> BronzeKey:
        """Parse an object path produced by `.path`; raise ValueError on anything else."""
        match = _KEY_RE.fullmatch(path) if isinstance(path, str) else None
        if match is None:
            raise ValueError(f"not a bronze key: {path!r}")
        try:
            key = cls(
                prefix=match["prefix"] or "",
                run_date=date(int(match["y"]), int(match["m"]), int(match["d"])),
                run_id=match["run"],
                page=int(match["page"]),
                part=match["part"],
            )
        except ValueError as exc:
            raise ValueError(f"not a bronze key: {path!r} ({exc})") from None
        if key.path != path:  # e.g. page=00001: only the canonical spelling is a key
            raise ValueError(f"not a canonical bronze key: {path!r}")
        return key


def check_filters(run_id: str | None, run_date: date | None) -> None:
    """ValueError unless the ``list`` filters are a valid run id and a date (or None)."""
    if run_id is not None:
        check_name("run_id", run_id)
    if run_date is not None and (isinstance(run_date, datetime) or not isinstance(run_date, date)):
        raise ValueError("run_date must be a date")


def matches_filters(key: BronzeKey, run_id: str | None, run_date: date | None) -> bool:
    """Whether ``key`` is of run ``run_id`` and date ``run_date`` (None matches any)."""
    return (run_id is None or key.run_id == run_id) and (
        run_date is None or key.run_date == run_date
    )

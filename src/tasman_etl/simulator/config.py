"""Configuration of the simulated USAJOBS API: the synthetic universe and the fault plan."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DEFAULT_ITEM_CACHE", "FAULT_KINDS", "FaultPlan", "SimulatorConfig"]

DEFAULT_ITEM_CACHE = 4096

# "ok" is accepted in `FaultPlan.by_request` only: it forces a clean answer for that request.
FAULT_KINDS: tuple[str, ...] = ("429", "500", "503", "slow", "truncate", "drop")


class FaultPlan(BaseModel):
    """Which search requests fail, and how.

    A request's fault is decided from its 1-based number alone: `by_request` first (exact),
    else with probability `rate` (deterministic from `seed` and the number) one of `kinds`.
    Codelist requests are numbered and faulted only when `apply_to_codelists` is true.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    kinds: tuple[str, ...] = ("429", "503")
    by_request: dict[int, str] = Field(default_factory=dict)
    retry_after: str | None = "1"
    slow_seconds: float = Field(default=2.0, ge=0.0, le=600.0)
    seed: int = 0
    apply_to_codelists: bool = False

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in value if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; choose from {list(FAULT_KINDS)}")
        return value

    @field_validator("by_request")
    @classmethod
    def _known_requests(cls, value: dict[int, str]) -> dict[int, str]:
        for number, kind in value.items():
            if number < 1:
                raise ValueError(f"request numbers start at 1, got {number}")
            if kind not in (*FAULT_KINDS, "ok"):
                raise ValueError(f"unknown fault kind {kind!r} for request {number}")
        return value


class SimulatorConfig(BaseModel):
    """The synthetic universe (size, seed, reference day, item shapes) and server behaviour.

    `text`: ``"compact"`` (default) keeps the long free-text fields short (items of ~5.7 KB
    of JSON); ``"real"`` gives them the lengths of real items (`prose.py`; ~16 KB per item
    with typical locations). `locations`: ``"typical"`` (default) gives 1-60 locations per
    job (2.4 on average); ``"real"`` the heavy tail of real postings: most jobs one place,
    about 10 % more than 9, about 3 % nationwide postings with 100-1,200 distinct places
    (25-30 on average). The defaults reproduce earlier versions' data byte for byte; the
    real options change only the fields they name (same jobs, ids, dates, pay, first place).
    `item_cache`: how many rendered items the universe keeps (LRU; 0 = none).

    Historic JOA (`historic.py`, `historic_api.py`): `historic_jobs` closed postings on top
    of the universe's open ones; `historic_page_size` rows a page (the API: 1,000);
    `historic_quirks` spells some records as the real API does (key-case variants, numbers
    as strings, ``disableAppyOnline``); `historic_no_content_text` answers a query without
    rows with HTTP 200 and the text ``204 No Content``. Faults of the Historic JOA alone:
    `historic_shortfall_months` (``"YYYY-MM"``): a query whose StartPositionOpenDate falls
    in one of these months silently leaves out every 7th row while `totalCount` counts
    them; `historic_repeat_token`: the last page's ``next`` repeats the current token.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    jobs: int = Field(default=300, ge=0, le=500_000)
    seed: int = 42
    now: datetime | None = None
    auth_key: str | None = None
    faults: FaultPlan = FaultPlan()
    match_fraction: float | None = Field(default=None, ge=0.0, le=1.0)
    port: int = Field(default=0, ge=0, le=65_535)
    text: Literal["compact", "real"] = "compact"
    locations: Literal["typical", "real"] = "typical"
    item_cache: int = Field(default=DEFAULT_ITEM_CACHE, ge=0, le=10_000_000)
    historic_jobs: int = Field(default=0, ge=0, le=5_000_000)
    historic_page_size: int = Field(default=1000, ge=1, le=1000)
    historic_quirks: bool = True
    historic_no_content_text: bool = True
    historic_shortfall_months: tuple[str, ...] = ()
    historic_repeat_token: bool = False

    @field_validator("historic_shortfall_months")
    @classmethod
    def _months(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for month in value:
            try:
                out.append(datetime.strptime(month.strip(), "%Y-%m").strftime("%Y-%m"))
            except ValueError:
                raise ValueError(f"shortfall months are YYYY-MM, got {month!r}") from None
        return tuple(out)

    @field_validator("now")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def reference_now(self) -> datetime:
        """`now` if set, else the current UTC time floored to the day."""
        if self.now is not None:
            return self.now
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

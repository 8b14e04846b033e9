"""What the page gate returns, and the interface the loading pipeline calls it through.

These types belong to data quality: the runner consumes them, `dq` never imports the runner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tasman_etl.transform import PageRows

__all__ = ["GateOutcome", "PageGate"]


@dataclass(frozen=True)
class GateOutcome:
    """What a data-quality gate decided about a page.

    `rows` are the rows to load: row-level failures have been moved into
    `rows.quarantine` with the expectation's name as the reason. `hold` means a
    page-level expectation failed under enforcement: load nothing, keep the page in
    bronze, record it as held. `results` are stored per page in the ledger.
    """

    rows: PageRows
    hold: bool
    results: list[dict[str, Any]]
    failed_expectations: list[str]


class PageGate(Protocol):
    """A data-quality gate run on each page's parsed rows before they are loaded."""

    def __call__(self, rows: PageRows, payload: Mapping[str, Any]) -> GateOutcome:
        """Check `rows` (parsed from `payload`) and decide what loads."""
        ...

    def batch(self, pages: Sequence[tuple[PageRows, Mapping[str, Any]]]) -> list[GateOutcome]:
        """Check several pages together; each page's outcome is what it would be alone."""
        ...

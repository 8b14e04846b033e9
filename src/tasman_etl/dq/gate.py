"""The data-quality gate run on each page's parsed rows before they are loaded.

`build_gate` returns a `PageGate` (see `tasman_etl.dq.outcome`) that evaluates the
expectation suites of `tasman_etl.dq.gx.suite`:

* **Row level**, on one row per parsed job: `PositionURI` and every apply URI an
  http(s) URL; pay_max >= 0; the rate interval code known; publication date <= close
  date; at least one location. A job failing any of them is moved, with its child rows,
  into ``rows.quarantine`` with reason ``dq:<name>[,<name>...]``, its raw JSON, and its
  index among the payload's items. The hard rules the models already enforced on every
  job that gets here (control number, title and URI present, coordinates in range,
  0 <= pay_min <= pay_max) are not checked twice (`tasman_etl.dq.gx.suite`).
* **Page level**, on the payload's raw items (before the transform drops duplicates):
  the item count equal to `SearchResultCount` when the payload has one. A failure holds
  the page: nothing is loaded, the page stays in bronze, the ledger records it as
  ``held``. Control numbers unique within the page is evaluated and stored too, but never
  holds (issue 12): a control number seen twice is one row (the transform keeps the last
  copy), counted in ``duplicates`` and logged as a data-quality warning; its ledger result
  says ``"gating": false``.

The suites are evaluated natively (`tasman_etl.dq.native.NativeSuiteRunner`, ADR 0026):
plain Python over the frames of `tasman_etl.dq.frames`, with Great Expectations' results
(held to them by conformance tests), in milliseconds, without importing Great
Expectations or pandas. A gate built with ``docs_dir`` (``tasman-etl dq --docs``) uses
Great Expectations itself (`tasman_etl.dq.gx.runner.GxSuiteRunner`) so it can render
Data Docs.

Pages are checked in batches (`DqGate.check_many`, `DqGate.batch`): the frames of every
page in a batch are validated together and each result is split back by page, so every
page gets the outcome it would get alone.

With ``enforce=False`` (``DQ_ENFORCE=false``) nothing is held or quarantined for data
quality: failures are logged as warnings and the results are still returned.

The item-count check and saved files: ``load`` ingests files that people saved, and
some were trimmed by hand (the real 2024 fixture says ``SearchResultCount 25`` but
holds 2 items). A trimmed file is not a broken API page, so for ``load`` the check
runs with ``item_count="warn"``: it is evaluated and reported (``"gating": false`` in
its result) and logged, but it never holds the page. ``run`` pages (straight from the
API) and their ``--resume`` use the default ``item_count="hold"``; ``replay`` warns (its
pages were checked when fetched, or are saved files).
An expectation that could not be evaluated (it raised) counts as a page-level failure.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import structlog

from tasman_etl.dq.check import (
    ExpectationOutcome,
    PageCheck,
    SuiteRunner,
    quarantine_jobs,
    split_by_page,
)
from tasman_etl.dq.frames import (
    batch_frames,
    items_frame,
    jobs_frame,
    pages_frame,
    payload_items,
    search_result_count,
)
from tasman_etl.dq.gx.suite import (
    CONTROL_NUMBERS_UNIQUE,
    ITEM_COUNT,
    page_expectations,
    row_expectations,
)
from tasman_etl.dq.native import NativeSuiteRunner
from tasman_etl.dq.outcome import GateOutcome, PageGate
from tasman_etl.models import RATE_INTERVAL_CODES
from tasman_etl.transform import PageRows, search_items, transform_page

__all__ = [
    "WARN_ONLY",
    "DqGate",
    "ItemCountMode",
    "PageCheck",
    "build_gate",
    "check_payload",
    "items_frame",
    "jobs_frame",
    "pages_frame",
    "quarantine_jobs",
    "search_result_count",
]

log = structlog.get_logger(__name__)

ItemCountMode = Literal["hold", "warn", "off"]

WARN_ONLY = frozenset({CONTROL_NUMBERS_UNIQUE})
"""Expectations that are evaluated and reported but never hold or quarantine (issue 12)."""


class DqGate:
    """A `PageGate` over the expectation suites; see the module docstring."""

    def __init__(
        self,
        *,
        enforce: bool,
        known_rate_codes: Collection[str],
        item_count: ItemCountMode = "hold",
        docs_dir: Path | None = None,
        docs_run_name: str | None = None,
    ) -> None:
        if item_count not in ("hold", "warn", "off"):
            raise ValueError(f"item_count must be hold, warn or off, not {item_count!r}")
        codes = {c.strip().upper() for c in known_rate_codes if c and c.strip()}
        self.enforce = enforce
        self.item_count: ItemCountMode = item_count
        self.known_rate_codes = frozenset(codes or RATE_INTERVAL_CODES)
        self.docs_dir = docs_dir
        self.docs_run_name = docs_run_name
        self._specs = (
            *row_expectations(self.known_rate_codes),
            *page_expectations(item_count=item_count != "off"),
        )
        gating = {s.name for s in self._specs} - WARN_ONLY
        if item_count == "warn":
            gating.discard(ITEM_COUNT)
        self._gating = frozenset(gating)
        # Native unless Data Docs are wanted: they need GX's own results (built on first use).
        self._runner: SuiteRunner | None = (
            NativeSuiteRunner(self._specs) if docs_dir is None else None
        )
        # A GX context is not thread-safe; fetch threads may share one gate.
        self._lock = threading.Lock()

    @property
    def runner(self) -> SuiteRunner:
        """What evaluates the suites: native, or Great Expectations with ``docs_dir``."""
        with self._lock:
            if self._runner is None:
                from tasman_etl.dq.gx.runner import GxSuiteRunner

                self._runner = GxSuiteRunner(
                    self._specs, docs_dir=self.docs_dir, docs_run_name=self.docs_run_name
                )
            return self._runner

    def check(self, rows: PageRows, payload: Mapping[str, Any]) -> PageCheck:
        """Run every expectation on one page; decide nothing."""
        return self.check_many([(rows, payload)])[0]

    def check_many(self, pages: Sequence[tuple[PageRows, Mapping[str, Any]]]) -> list[PageCheck]:
        """Run every expectation on a batch of pages at once; one `PageCheck` per page.

        Each page's check is what it would be alone: row positions are the page's own,
        counts are the page's. An expectation that raised fails every page of the batch.
        """
        if not pages:
            return []
        items = [payload_items(payload) for _, payload in pages]
        counts = [search_result_count(payload) for _, payload in pages]
        frames = batch_frames([rows for rows, _ in pages], items, counts)
        runner = self.runner
        try:
            if isinstance(runner, NativeSuiteRunner):
                outcomes = runner.validate(frames)
            else:
                with self._lock:
                    outcomes = runner.validate(frames)
        except Exception as exc:  # an evaluation failure must gate the page, not crash the run
            log.error("dq_evaluation_failed", error=f"{type(exc).__name__}: {exc}")
            outcomes = [
                ExpectationOutcome(spec, False, 0, error=f"{type(exc).__name__}: {exc}")
                for spec in self._specs
            ]
        per_page = split_by_page(outcomes, frames, [len(rows.jobs) for rows, _ in pages])
        checks = []
        for k, (rows, _) in enumerate(pages):
            page_outcomes = [_page_outcome(o, len(items[k]), counts[k]) for o in per_page[k]]
            failed_rows: dict[int, list[str]] = {}
            for outcome in page_outcomes:
                if outcome.spec.level == "row" and not outcome.success and outcome.error is None:
                    for position in outcome.unexpected_rows:
                        if 0 <= position < len(rows.jobs):
                            failed_rows.setdefault(position, []).append(outcome.spec.name)
            checks.append(PageCheck(page_outcomes, self._gating, failed_rows, counts[k]))
        return checks

    def decide(self, check: PageCheck, rows: PageRows, payload: Mapping[str, Any]) -> GateOutcome:
        """What loads, given a page's check (see the module docstring)."""
        results = check.results()
        failed = check.failed
        for outcome in check.outcomes:
            if outcome.success:
                continue
            name = outcome.spec.name
            if not self.enforce or name not in self._gating:
                action = "warn"
            elif name in check.page_failures:
                action = "hold"
            else:
                action = "quarantine"
            log.warning(
                "dq_expectation_failed",
                expectation=name,
                level=outcome.spec.level,
                unexpected_count=outcome.unexpected_count,
                action=action,
                error=outcome.error,
            )
        if not self.enforce:
            return GateOutcome(rows, False, results, failed)
        held = check.page_failures
        if held:
            return GateOutcome(rows, True, results, held)
        gated_rows = {
            pos: [n for n in names if n in self._gating] for pos, names in check.failed_rows.items()
        }
        gated_rows = {pos: names for pos, names in gated_rows.items() if names}
        if gated_rows:
            rows = quarantine_jobs(rows, gated_rows, payload_items(payload))
        return GateOutcome(rows, False, results, failed)

    def identity(self) -> str:
        """What this gate's results depend on besides the page: its settings, as text."""
        specs = ",".join(sorted(s.name for s in self._specs))
        codes = ",".join(sorted(self.known_rate_codes))
        return f"enforce={self.enforce};item_count={self.item_count};codes={codes};{specs}"

    def __call__(self, rows: PageRows, payload: Mapping[str, Any]) -> GateOutcome:
        """Check a page and decide what loads (see the module docstring)."""
        return self.decide(self.check(rows, payload), rows, payload)

    def batch(self, pages: Sequence[tuple[PageRows, Mapping[str, Any]]]) -> list[GateOutcome]:
        """Check a batch of pages together and decide for each what loads."""
        checks = self.check_many(pages)
        return [
            self.decide(check, rows, payload)
            for check, (rows, payload) in zip(checks, pages, strict=True)
        ]

    def build_docs(self) -> Path:
        """Write the Data Docs site for the pages checked so far (needs ``docs_dir``)."""
        if self.docs_dir is None:
            raise ValueError("Data Docs need a gate built with docs_dir")
        from tasman_etl.dq.gx.runner import GxSuiteRunner

        runner = self.runner
        assert isinstance(runner, GxSuiteRunner)
        return runner.build_docs()


def _page_outcome(
    o: ExpectationOutcome, item_count: int, result_count: int | None
) -> ExpectationOutcome:
    """The item-count rule reports the page's own numbers (observed, and the difference)."""
    if o.spec.name != ITEM_COUNT or o.error is not None:
        return o
    diff = 0 if result_count is None else abs(item_count - result_count)
    return ExpectationOutcome(o.spec, o.success, diff, (), observed_value=item_count)


def build_gate(
    *,
    enforce: bool,
    known_rate_codes: Collection[str],
    item_count: ItemCountMode = "hold",
) -> PageGate:
    """The page gate for `PageIngestor` (native evaluation: no Great Expectations import).

    ``known_rate_codes``: codes of the `remunerationrateintervalcodes` codelist (an
    empty collection falls back to `tasman_etl.models.RATE_INTERVAL_CODES`).
    ``item_count``: ``"hold"`` for API pages (``run``, ``--resume``), ``"warn"`` for saved
    files (``load``) and ``replay``, ``"off"`` to leave the check out.
    """
    return DqGate(enforce=enforce, known_rate_codes=known_rate_codes, item_count=item_count)


def check_payload(
    payload: Mapping[str, Any],
    *,
    known_rate_codes: Collection[str] = (),
    docs_dir: Path | None = None,
    docs_run_name: str | None = None,
) -> dict[str, Any]:
    """Run every expectation on one saved page, strictly (as `run` would); a JSON-able report.

    ``success`` is true when every expectation passed. ``quarantine`` lists the jobs the
    gate would quarantine and ``held`` says whether it would hold the page; items the
    models reject before the gate are listed under ``rejected_items``. With
    ``docs_dir``, Great Expectations validates the page and writes a Data Docs site there
    (``docs`` names its index.html); ``docs_run_name`` names the validations in it (the
    run id and page key). Raises ValueError when the payload is not a search response.
    """
    items = search_items(payload)
    rows = transform_page(items)
    gate = DqGate(
        enforce=True,
        known_rate_codes=known_rate_codes,
        docs_dir=docs_dir,
        docs_run_name=docs_run_name,
    )
    check = gate.check(rows, payload)
    held = check.page_failures
    report: dict[str, Any] = {
        "success": check.success,
        "items": len(items),
        "jobs": len(rows.jobs),
        "search_result_count": search_result_count(payload),
        "held": bool(held),
        "failed_expectations": check.failed,
        "results": check.results(),
        "quarantine": []
        if held
        else [
            {
                "item_index": q.item_index,
                "control_number": q.control_number,
                "reason": q.reason,
            }
            for q in quarantine_jobs(rows, check.failed_rows, items).quarantine
            if q.reason.startswith("dq:")
        ],
        "rejected_items": [
            {"item_index": q.item_index, "control_number": q.control_number, "reason": q.reason}
            for q in rows.quarantine
        ],
    }
    if docs_dir is not None:
        report["docs"] = str(gate.build_docs())
    return report

"""The data-quality gate run on each page's parsed rows before they are loaded.

`build_gate` returns a `PageGate` (see `tasman_etl.dq.outcome`) backed by two
Great Expectations suites (`tasman_etl.dq.gx.suite`):

* **Row level**, on one row per parsed job: control number, title and URI present;
  `PositionURI` and every apply URI an http(s) URL; pay >= 0 and pay_min <= pay_max;
  the rate interval code known; every latitude/longitude in range; publication date
  <= close date; at least one location. A job failing any of them is moved, with its
  child rows, into ``rows.quarantine`` with reason ``dq:<name>[,<name>...]``, its raw
  JSON, and its index among the payload's items.
* **Page level**, on the payload's raw items (before the transform drops duplicates):
  control numbers unique within the page, and the item count equal to
  `SearchResultCount` when the payload has one. A failure holds the page: nothing is
  loaded, the page stays in bronze, the ledger records it as ``held``.

Pages are checked in batches (`DqGate.check_many`, `DqGate.batch`): the frames of every
page in a batch are validated together, one call per suite, and each result is split
back by page, so every page gets the outcome it would get alone. GX costs 0.15-0.25 s per
suite call whatever the row count; `run` hands the gate every page that is ready.

With ``enforce=False`` (``DQ_ENFORCE=false``) nothing is held or quarantined for data
quality: failures are logged as warnings and the results are still returned.

The item-count check and saved files: ``load`` ingests files that people saved, and
some were trimmed by hand (the real 2024 fixture says ``SearchResultCount 25`` but
holds 2 items). A trimmed file is not a broken API page, so for ``load`` the check
runs with ``item_count="warn"``: it is evaluated and reported (``"gating": false`` in
its result) and logged, but it never holds the page. ``run`` pages (straight from the
API), their ``--resume`` and their ``replay`` use the default ``item_count="hold"``.
An expectation that could not be evaluated (GX raised) counts as a page-level failure.

Great Expectations is imported and its context built on the first page a gate sees,
once per gate; each batch then costs three validations (0.2-0.3 s together for 500 jobs
or 5,000: most of it is GX planning its metrics).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import structlog

from tasman_etl.dq.gx.process import ProcessSuiteRunner
from tasman_etl.dq.gx.runner import ExpectationOutcome, Frame, GxSuiteRunner
from tasman_etl.dq.gx.suite import ITEM_COUNT, page_expectations, row_expectations
from tasman_etl.dq.outcome import GateOutcome, PageGate
from tasman_etl.models import RATE_INTERVAL_CODES
from tasman_etl.transform import (
    JOB_COLUMNS,
    PageRows,
    QuarantineRow,
    search_items,
    transform_page,
)

__all__ = [
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

_J = {name: i for i, name in enumerate(JOB_COLUMNS)}
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
_LOC_LAT = 6
_LOC_LON = 7


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
        if loc[_LOC_LAT] is not None:
            lats.setdefault(loc[0], []).append(float(loc[_LOC_LAT]))
        if loc[_LOC_LON] is not None:
            lons.setdefault(loc[0], []).append(float(loc[_LOC_LON]))
    cols: dict[str, list[Any]] = {name: [] for name in _JOB_KINDS}
    for job in rows.jobs:
        cn = job[_J["control_number"]]
        cols["control_number"].append(_text(cn))
        cols["position_title"].append(_text(job[_J["position_title"]]))
        cols["position_uri"].append(_text(job[_J["position_uri"]]))
        uris = [u for u in (job[_J["apply_uris"]] or []) if u is not None]
        cols["apply_uris"].append(" ".join(uris) if uris else None)
        cols["pay_min"].append(_float(job[_J["pay_min"]]))
        cols["pay_max"].append(_float(job[_J["pay_max"]]))
        cols["pay_interval_code"].append(_text(job[_J["pay_interval_code"]]))
        cols["publication_start_date"].append(job[_J["publication_start_date"]])
        cols["application_close_date"].append(job[_J["application_close_date"]])
        cols["location_count"].append(int(job[_J["location_count"]] or 0))
        cols["latitude_extreme"].append(_extreme(lats.get(cn, [])))
        cols["longitude_extreme"].append(_extreme(lons.get(cn, [])))
    return Frame(cols, _JOB_KINDS)


def _item_control_number(item: Any) -> str | None:
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
            "matched_object_id": [_item_control_number(item) for item in items],
        },
        {"page": "int", "item_index": "int", "matched_object_id": "text"},
    )


def pages_frame(item_counts: Sequence[int], result_counts: Sequence[int | None]) -> Frame:
    """One row per page of a batch: its raw item count and its `SearchResultCount`."""
    return Frame(
        {"items": list(item_counts), "search_result_count": list(result_counts)},
        {"items": "int", "search_result_count": "float"},
    )


def _concat(frames: Sequence[Frame]) -> Frame:
    """Frames of the same columns, one after the other."""
    kinds = frames[0].kinds
    return Frame({name: [v for f in frames for v in f.columns[name]] for name in kinds}, kinds)


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


@dataclass(frozen=True)
class PageCheck:
    """Every expectation's outcome on one page, and which ones gate it."""

    outcomes: list[ExpectationOutcome]
    gating: frozenset[str]
    """Names whose failure holds or quarantines under enforcement."""
    failed_rows: dict[int, list[str]] = field(default_factory=dict)
    """Job position in `rows.jobs` -> names of the row-level expectations it failed."""
    expected_items: int | None = None
    """`SearchResultCount` of the page (None when the payload has none)."""

    @property
    def success(self) -> bool:
        """True when every expectation passed."""
        return all(o.success for o in self.outcomes)

    @property
    def failed(self) -> list[str]:
        """Names of the failed expectations, in suite order."""
        return [o.spec.name for o in self.outcomes if not o.success]

    @property
    def page_failures(self) -> list[str]:
        """Failed expectations that hold the page under enforcement.

        Page-level ones, plus row-level ones that raised or named no rows (the failing
        jobs cannot be told apart, so the page cannot be loaded safely).
        """
        return [
            o.spec.name
            for o in self.outcomes
            if not o.success
            and o.spec.name in self.gating
            and (o.spec.level == "page" or o.error is not None or not o.unexpected_rows)
        ]

    def results(self) -> list[dict[str, Any]]:
        """Per-expectation results as stored in the ledger (`ingest_page.dq`)."""
        out = []
        for o in self.outcomes:
            entry: dict[str, Any] = {
                "expectation": o.spec.name,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "level": o.spec.level,
            }
            if o.spec.name not in self.gating:
                entry["gating"] = False
            if o.spec.name == ITEM_COUNT:
                entry["observed_value"] = o.observed_value
                entry["expected_value"] = self.expected_items
            if o.error is not None:
                entry["error"] = o.error[:500]
            out.append(entry)
        return out


def _last_item_index(items: Sequence[Any]) -> dict[str, int]:
    """Control number -> index of its last occurrence (the one the transform keeps)."""
    found: dict[str, int] = {}
    for index, item in enumerate(items):
        cn = _item_control_number(item)
        if cn is not None:
            found[cn] = index
    return found


def quarantine_jobs(
    rows: PageRows, failed_rows: Mapping[int, Sequence[str]], items: Sequence[Any]
) -> PageRows:
    """A copy of `rows` with the failing jobs (and their child rows) moved to quarantine."""
    reasons: dict[str, str] = {}
    raw: dict[str, str] = {}
    for position, names in sorted(failed_rows.items()):
        job = rows.jobs[position]
        cn = job[_J["control_number"]]
        reasons[cn] = "dq:" + ",".join(names)
        raw[cn] = job[_J["raw_json"]]
    indexes = _last_item_index(items)
    added = [
        QuarantineRow(indexes.get(cn, -1), cn, reason, raw[cn]) for cn, reason in reasons.items()
    ]

    def keep(table: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [row for row in table if row[0] not in reasons]

    return PageRows(
        jobs=keep(rows.jobs),
        locations=keep(rows.locations),
        categories=keep(rows.categories),
        grades=keep(rows.grades),
        hiring_paths=keep(rows.hiring_paths),
        details=keep(rows.details),
        quarantine=[*rows.quarantine, *added],
        items=rows.items,
        duplicates=rows.duplicates,
        unknown_keys=rows.unknown_keys,
        control_numbers=[cn for cn in rows.control_numbers if cn not in reasons],
    )


class DqGate:
    """A `PageGate` over the Great Expectations suites; see the module docstring."""

    def __init__(
        self,
        *,
        enforce: bool,
        known_rate_codes: Collection[str],
        item_count: ItemCountMode = "hold",
        docs_dir: Path | None = None,
        docs_run_name: str | None = None,
        isolate: bool = False,
        worker_logging: tuple[str, str] = ("INFO", "json"),
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
        gating = {s.name for s in self._specs}
        if item_count == "warn":
            gating.discard(ITEM_COUNT)
        self._gating = frozenset(gating)
        self._runner: GxSuiteRunner | ProcessSuiteRunner | None = None
        # Data Docs need the validation results kept in this process's GX context.
        self.isolate = isolate and docs_dir is None
        self._worker_logging = worker_logging
        # GX contexts are not thread-safe; fetch threads may share one gate.
        self._lock = threading.RLock()

    @property
    def runner(self) -> GxSuiteRunner | ProcessSuiteRunner:
        """The GX context and suites, built on first use (imports Great Expectations).

        With ``isolate`` they live in a worker process (`ProcessSuiteRunner`).
        """
        with self._lock:
            if self._runner is None:
                if self.isolate:
                    level, fmt = self._worker_logging
                    self._runner = ProcessSuiteRunner(self._specs, log_level=level, log_format=fmt)
                else:
                    self._runner = GxSuiteRunner(
                        self._specs, docs_dir=self.docs_dir, docs_run_name=self.docs_run_name
                    )
            return self._runner

    def warm_up(self) -> threading.Thread:
        """Import GX and build the suites in the background (3-5 s off the critical path).

        In-process on a thread; with ``isolate``, in the worker process it starts.
        """

        def build() -> None:
            try:
                runner = self.runner
                if isinstance(runner, ProcessSuiteRunner):
                    runner.start()
            except Exception as exc:  # the first check() reports it properly
                log.warning("dq_warm_up_failed", error=f"{type(exc).__name__}: {exc}")

        thread = threading.Thread(target=build, name="gx-warm-up", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop the GX worker process, if there is one (the gate can start another)."""
        with self._lock:
            runner = self._runner
            if isinstance(runner, ProcessSuiteRunner):
                self._runner = None
        if isinstance(runner, ProcessSuiteRunner):
            runner.close()

    def check(self, rows: PageRows, payload: Mapping[str, Any]) -> PageCheck:
        """Run every expectation on one page; decide nothing."""
        return self.check_many([(rows, payload)])[0]

    def check_many(self, pages: Sequence[tuple[PageRows, Mapping[str, Any]]]) -> list[PageCheck]:
        """Run every expectation on a batch of pages at once; one `PageCheck` per page.

        Each page's check is what it would be alone: row positions are the page's own,
        counts are the page's. An expectation that raised fails every page of the batch.
        """
        items = [_items(payload) for _, payload in pages]
        counts = [search_result_count(payload) for _, payload in pages]
        checks: list[PageCheck | None] = [None] * len(pages)
        todo: list[int] = []
        for i, (rows, _) in enumerate(pages):
            if not rows.jobs and _page_passes(items[i], counts[i]):
                # Nothing new to load (a re-run of unchanged jobs): the row suite has no rows
                # and both page rules plainly hold, so GX is not needed (nor its import).
                checks[i] = PageCheck(
                    [ExpectationOutcome(spec, True, 0) for spec in self._specs],
                    self._gating,
                    {},
                    counts[i],
                )
            else:
                todo.append(i)
        if todo:
            for i, check in zip(todo, self._validate(pages, items, counts, todo), strict=True):
                checks[i] = check
        return [c for c in checks if c is not None]

    def _validate(
        self,
        pages: Sequence[tuple[PageRows, Mapping[str, Any]]],
        items: Sequence[list[Any]],
        counts: Sequence[int | None],
        todo: Sequence[int],
    ) -> list[PageCheck]:
        """Validate the pages `todo` together and split the outcomes back by page."""
        job_frames = [jobs_frame(pages[i][0]) for i in todo]
        starts = [0]  # first job row of each page in the batch's jobs frame
        for frame in job_frames[:-1]:
            starts.append(starts[-1] + len(frame))
        frames = {
            "jobs": _concat(job_frames),
            "items": _concat([items_frame(items[i], page=k) for k, i in enumerate(todo)]),
            "pages": pages_frame([len(items[i]) for i in todo], [counts[i] for i in todo]),
        }
        item_pages = frames["items"].columns["page"]
        try:
            with self._lock:
                outcomes = self.runner.validate(frames)
        except Exception as exc:  # any GX failure must gate the page, not crash the run
            log.error("dq_evaluation_failed", error=f"{type(exc).__name__}: {exc}")
            outcomes = [
                ExpectationOutcome(spec, False, 0, error=f"{type(exc).__name__}: {exc}")
                for spec in self._specs
            ]
        per_page: list[list[ExpectationOutcome]] = [[] for _ in todo]
        for o in outcomes:
            if o.error is not None or o.success or not o.unexpected_rows:
                # Raised, passed, or failed without naming rows: the same for every page.
                for k in range(len(todo)):
                    per_page[k].append(o)
                continue
            found: list[list[int]] = [[] for _ in todo]
            for row in o.unexpected_rows:
                if o.spec.table == "jobs":
                    k = bisect.bisect_right(starts, row) - 1
                    found[k].append(row - starts[k])
                elif o.spec.table == "items":
                    found[item_pages[row]].append(row)
                else:
                    found[row].append(row)
            for k, rows in enumerate(found):
                local = tuple(rows) if o.spec.table == "jobs" else ()
                per_page[k].append(ExpectationOutcome(o.spec, not rows, len(rows), local))
        checks = []
        for k, i in enumerate(todo):
            page_outcomes = [self._page_outcome(o, len(items[i]), counts[i]) for o in per_page[k]]
            failed_rows: dict[int, list[str]] = {}
            for outcome in page_outcomes:
                if outcome.spec.level == "row" and not outcome.success and outcome.error is None:
                    for position in outcome.unexpected_rows:
                        if 0 <= position < len(pages[i][0].jobs):
                            failed_rows.setdefault(position, []).append(outcome.spec.name)
            checks.append(PageCheck(page_outcomes, self._gating, failed_rows, counts[i]))
        return checks

    @staticmethod
    def _page_outcome(
        o: ExpectationOutcome, item_count: int, result_count: int | None
    ) -> ExpectationOutcome:
        """The item-count rule reports the page's own numbers (observed, and the difference)."""
        if o.spec.name != ITEM_COUNT or o.error is not None:
            return o
        diff = 0 if result_count is None else abs(item_count - result_count)
        return ExpectationOutcome(o.spec, o.success, diff, (), observed_value=item_count)

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
            rows = quarantine_jobs(rows, gated_rows, _items(payload))
        return GateOutcome(rows, False, results, failed)

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
        runner = self.runner
        if not isinstance(runner, GxSuiteRunner):
            raise ValueError("Data Docs need a gate built with docs_dir")
        return runner.build_docs()


def _page_passes(items: Sequence[Any], count: int | None) -> bool:
    """Both page rules hold: control numbers unique (nulls ignored, as GX does), count right."""
    ids = [cn for cn in map(_item_control_number, items) if cn is not None]
    return len(ids) == len(set(ids)) and (count is None or count == len(items))


def _items(payload: Mapping[str, Any]) -> list[Any]:
    try:
        return search_items(payload)
    except ValueError:
        return []


def build_gate(
    *,
    enforce: bool,
    known_rate_codes: Collection[str],
    item_count: ItemCountMode = "hold",
) -> PageGate:
    """The page gate for `PageIngestor`.

    ``known_rate_codes``: codes of the `remunerationrateintervalcodes` codelist (an
    empty collection falls back to `tasman_etl.models.RATE_INTERVAL_CODES`).
    ``item_count``: ``"hold"`` for API pages (``run``, ``--resume``, ``replay``),
    ``"warn"`` for saved files (``load``), ``"off"`` to leave the check out.
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
    ``docs_dir``, a Data Docs site is written there and ``docs`` names its index.html;
    ``docs_run_name`` names the validations in it (the run id and page key).
    Raises ValueError when the payload is not a search response.
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

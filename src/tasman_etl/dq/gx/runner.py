"""Great Expectations plumbing: one ephemeral context, a suite per table, many validations.

The loading path (``run``, ``load``, ``replay``) never builds this runner: it evaluates
the same suites with `tasman_etl.dq.native.NativeSuiteRunner` (ADR 0026). A
`GxSuiteRunner` serves ``tasman-etl dq --docs`` (Data Docs) and the conformance tests that
hold the native evaluator to Great Expectations' results.

Great Expectations (and pandas) are imported only when a `GxSuiteRunner` is built: the
import takes seconds and ~200 MB. The context, data sources and suites are built once per
runner; each batch of pages then costs one validation per suite (``Batch.validate``,
which keeps nothing in memory between batches).

With ``docs_dir`` the runner also keeps every validation result (``ValidationDefinition
.run`` stores them in the context) so `build_docs` can render a Data Docs site there, named
after ``docs_run_name`` (a run id and page key; GX would say ``__none__``) and complete
offline (`tasman_etl.dq.gx.offline`: the CDN assets ship with the site).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from tasman_etl.dq.check import ExpectationOutcome
from tasman_etl.dq.frames import Frame
from tasman_etl.dq.gx.suite import SUITES, ExpectationSpec

__all__ = ["ExpectationOutcome", "Frame", "GxSuiteRunner", "import_seconds"]

log = structlog.get_logger(__name__)

_SITE = "tasman_local"
# COMPLETE: the unexpected row positions tell which job, item or page failed.
_RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 0}
_import_seconds: float | None = None


def import_seconds() -> float | None:
    """How long the Great Expectations import took in this process (None before it)."""
    return _import_seconds


def _gx_modules() -> tuple[Any, Any, Any, Any]:
    """Import Great Expectations and pandas (slow: seconds), timing the first import."""
    global _import_seconds
    import time

    started = time.perf_counter()
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if _import_seconds is None:
        _import_seconds = round(time.perf_counter() - started, 3)
        log.debug("gx_imported", seconds=_import_seconds, version=gx.__version__)
        _quiet_gx_loggers()
    return gx, gxe, pd, ProgressBarsConfig


def _quiet_gx_loggers() -> None:
    """GX sets INFO on its own loggers at import; our stderr carries JSON lines only."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        if name == "great_expectations" or name.startswith("great_expectations."):
            logging.getLogger(name).setLevel(logging.WARNING)


def _exception_message(result: Any) -> str | None:
    """The error of an expectation that raised, whatever the shape of exception_info."""
    info = getattr(result, "exception_info", None) or {}
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


class GxSuiteRunner:
    """An ephemeral GX context holding the row (jobs) and page suites."""

    def __init__(
        self,
        specs: Sequence[ExpectationSpec],
        *,
        docs_dir: Path | None = None,
        docs_run_name: str | None = None,
    ) -> None:
        gx, gxe, pd, progress_bars = _gx_modules()
        self.docs_run_name = docs_run_name
        self._pd = pd
        self.docs_dir = docs_dir.resolve() if docs_dir is not None else None
        ctx = gx.get_context(mode="ephemeral")
        # tqdm bars ignore TQDM_DISABLE; this is the switch that works (tooling.md §3).
        ctx.variables.progress_bars = progress_bars(globally=False)
        if self.docs_dir is not None:
            ctx.add_data_docs_site(
                site_name=_SITE,
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        source = ctx.data_sources.add_pandas(name="usajobs_page")
        self._ctx = ctx
        self._specs: dict[str, ExpectationSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"duplicate expectation name {spec.name!r}")
            self._specs[spec.name] = spec
        self._suites = {
            table: self._suite(
                gx, gxe, source, suite_name, table, [s for s in specs if s.table == table]
            )
            for table, suite_name in SUITES.items()
            if any(s.table == table for s in specs)
        }

    def _suite(
        self,
        gx: Any,
        gxe: Any,
        source: Any,
        suite_name: str,
        asset: str,
        specs: Sequence[ExpectationSpec],
    ) -> tuple[Any, Any, Any]:
        batch_definition = source.add_dataframe_asset(
            name=asset
        ).add_batch_definition_whole_dataframe("whole_page")
        suite = self._ctx.suites.add(gx.ExpectationSuite(name=suite_name))
        for spec in specs:
            expectation_class = getattr(gxe, spec.gx_class)
            suite.add_expectation(expectation_class(**spec.kwargs, meta={"name": spec.name}))
        definition = self._ctx.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite_name}_page", data=batch_definition, suite=suite)
        )
        return batch_definition, suite, definition

    def _dataframe(self, frame: Frame) -> Any:
        pd = self._pd
        data: dict[str, Any] = {}
        for name, kind in frame.kinds.items():
            values = list(frame.columns[name])
            if kind == "datetime":
                # UTC, then naive: GX reads `.values`, which warns on timezone-aware columns.
                utc = pd.to_datetime(pd.Series(values, dtype="object"), utc=True)
                data[name] = utc.dt.tz_localize(None)
            elif kind == "float":
                data[name] = pd.Series(values, dtype="float64")
            elif kind == "int":
                data[name] = pd.Series(values, dtype="int64")
            else:
                data[name] = pd.Series(values, dtype="object")
        return pd.DataFrame(data)

    def _run(
        self,
        which: tuple[Any, Any, Any],
        frame: Frame,
    ) -> Any:
        batch_definition, suite, definition = which
        batch_parameters = {"dataframe": self._dataframe(frame)}
        if self.docs_dir is not None:
            from datetime import UTC, datetime

            from great_expectations.core.run_identifier import RunIdentifier

            return definition.run(
                batch_parameters=batch_parameters,
                result_format=dict(_RESULT_FORMAT),
                run_id=RunIdentifier(
                    run_name=self.docs_run_name or "tasman-dq", run_time=datetime.now(UTC)
                ),
            )
        batch = batch_definition.get_batch(batch_parameters=batch_parameters)
        return batch.validate(suite, result_format=dict(_RESULT_FORMAT))

    def validate(self, frames: Mapping[str, Frame]) -> list[ExpectationOutcome]:
        """Validate each table's frame with its suite; outcomes in spec order.

        ``frames`` maps ``jobs``, ``items`` and ``pages`` to their frames (every table
        that has expectations). Unexpected rows are positions in that table's frame.
        """
        found: dict[str, ExpectationOutcome] = {}
        for table, which in self._suites.items():
            suite_result = self._run(which, frames[table])
            for result in suite_result.results:
                name = (result.expectation_config.meta or {}).get("name")
                spec = self._specs.get(str(name))
                if spec is None:  # pragma: no cover - every expectation is ours
                    continue
                found[spec.name] = self._outcome(spec, result)
        return [found[name] for name in self._specs if name in found]

    @staticmethod
    def _outcome(spec: ExpectationSpec, result: Any) -> ExpectationOutcome:
        details = result.result or {}
        error = _exception_message(result)
        observed = details.get("observed_value")
        count = details.get("unexpected_count")
        rows = tuple(int(i) for i in details.get("unexpected_index_list") or ())
        return ExpectationOutcome(
            spec=spec,
            success=bool(result.success) and error is None,
            unexpected_count=int(count or 0),
            unexpected_rows=rows,
            observed_value=observed if spec.level == "page" else None,
            error=error,
        )

    def build_docs(self) -> Path:
        """Render the Data Docs site (suites and the validations run so far); its index."""
        if self.docs_dir is None:
            raise ValueError("this runner was built without docs_dir")
        from tasman_etl.dq.gx.offline import make_offline

        self._ctx.build_data_docs(site_names=[_SITE])
        make_offline(self.docs_dir)
        return self.docs_dir / "index.html"

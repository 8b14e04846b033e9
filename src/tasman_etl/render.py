"""What the commands print on stdout: JSON, the run summary, and plain-text tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import typer

from tasman_etl.console import render_summary, stop_progress
from tasman_etl.redact import scrub_obj

__all__ = [
    "JOB_FORMATS",
    "echo_json",
    "print_applied_migrations",
    "print_backfill_plan",
    "print_jobs",
    "print_migration_status",
    "print_run",
    "print_runs",
    "print_search_plan",
    "print_summary",
]

JOB_FORMATS = ("table", "json", "csv")
"""The output formats of `tasman-etl jobs`."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def echo_json(value: Any, *, indent: int | None = None) -> None:
    """Print JSON on stdout (dates and decimals as strings)."""
    typer.echo(json.dumps(value, default=_json_default, indent=indent, ensure_ascii=False))


def print_summary(summary: dict[str, Any]) -> None:
    """The run summary: a short table on a terminal, else ONE JSON line (the last on stdout).

    Scripts and tests read the last stdout line as JSON whenever stdout is not a TTY.
    Error texts in it may quote what a server sent: it is scrubbed of secrets first.
    """
    summary = scrub_obj(summary)
    stop_progress()
    if sys.stdout.isatty():
        render_summary(summary)
    else:
        echo_json(summary)


def print_search_plan(described: dict[str, Any]) -> None:
    """`run --plan`: the partitions and pages a run would fetch, its JSON last."""
    search = "; ".join(f"{k}={v}" for k, v in described["search"].items()) or "(no filter)"
    typer.echo(
        f"plan (dry run, nothing written): {search}, {described['results_per_page']} per page"
    )
    typer.echo(
        f"planning made {described['planning_requests']} request(s) to {described['endpoint']} "
        "(page 1 of the search and of every split probe; code lists when split)"
    )
    typer.echo(f"{'partition':<12} {'api_total':>9} {'pages':>6} {'over_cap':<8} pages to request")
    for part in described["partitions"]:
        pages = part["pages_to_request"]
        span = f"{pages[0]}-{pages[-1]}" if len(pages) > 1 else (str(pages[0]) if pages else "-")
        typer.echo(
            f"{part['part'] or '-':<12} {part['api_total']:>9} {part['pages']:>6} "
            f"{'yes' if part['over_cap'] else 'no':<8} {span}"
        )
    typer.echo(
        f"a run would request {described['requests_to_fetch']} more page(s) "
        f"({described['pages']} in all, page 1 of each partition reused from planning)"
    )
    echo_json(described)


def print_backfill_plan(output: dict[str, Any]) -> None:
    """`backfill --plan`: one line per window, then the run id and the window count."""
    for item in output["windows"]:
        typer.echo(f"{item['id']:<24} {item['expected']:>8} rows {item['pages']:>5} pages")
    typer.echo(f"run {output['run_id']}: {len(output['windows'])} windows")


def print_migration_status(migrations: Sequence[Any]) -> None:
    """`migrate --status`: every migration, its state, and when it was applied."""
    for m in migrations:
        applied = m.applied_at.isoformat() if m.applied_at else "-"
        typer.echo(f"{m.version:03d}  {m.name:<32} {m.state:<8} {applied}")


def print_applied_migrations(applied: Sequence[Any]) -> None:
    """`migrate`: the migrations just applied, or that there were none."""
    if applied:
        for done in applied:
            typer.echo(f"applied {done.version:03d} {done.name}")
    else:
        typer.echo("database is up to date")


def _fmt_ts(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "-"


def _n(value: Any) -> str:
    return "-" if value is None else str(value)


def print_runs(rows: list[dict[str, Any]]) -> None:
    """`runs`: the ledger as a table, newest first."""
    if not rows:
        typer.echo("no runs yet")
        return
    header = (
        f"{'run_id':<26} {'command':<7} {'status':<9} {'started (UTC)':<19} "
        f"{'pages':>5} {'failed':>6} {'items':>7} {'ins':>6} {'upd':>6} {'quar':>5}"
    )
    typer.echo(header)
    for r in rows:
        s = r["summary"] or {}
        typer.echo(
            f"{r['run_id']:<26} {r['command']:<7} {r['status']:<9} {_fmt_ts(r['started_at']):<19} "
            f"{r['pages']:>5} {r['pages_failed']:>6} {s.get('items', '-'):>7} "
            f"{s.get('inserted', '-'):>6} {s.get('updated', '-'):>6} {s.get('quarantined', '-'):>5}"
        )


def print_run(run: dict[str, Any], pages: list[dict[str, Any]]) -> None:
    """`runs show`: one run's line, its pages as a table, then its summary as JSON."""
    typer.echo(
        f"run {run['run_id']}  {run['command']}  {run['status']}  "
        f"started {_fmt_ts(run['started_at'])}  finished {_fmt_ts(run['finished_at'])}"
    )
    if run.get("error"):
        typer.echo(f"error: {run['error']}")
    typer.echo(
        f"{'page':<24} {'status':<8} {'items':>6} {'ins':>5} {'upd':>5} {'same':>5} "
        f"{'quar':>5}  error"
    )
    for p in pages:
        typer.echo(
            f"{p['page_key']:<24} {p['status']:<8} {_n(p['items']):>6} {_n(p['inserted']):>5} "
            f"{_n(p['updated']):>5} {_n(p['unchanged']):>5} {_n(p['quarantined']):>5}  "
            f"{(p['error'] or '')[:100]}"
        )
    if run.get("summary"):
        echo_json(run["summary"])


def _plain(value: Any) -> Any:
    """A job field for JSON/CSV: whole amounts as ints, other decimals as floats, ISO dates."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _csv_cell(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _pay(job: dict[str, Any]) -> str:
    low, high = _plain(job.get("pay_min")), _plain(job.get("pay_max"))
    if low is None and high is None:
        return "-"
    span = f"{low:,}" if high is None or high == low else f"{low or 0:,}-{high:,}"
    label = job.get("pay_interval") or job.get("pay_interval_code") or ""
    return f"{span} {label}".strip()


def _cut(text: str | None, width: int) -> str:
    """``text`` in at most ``width`` characters, cut with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _place(row: dict[str, Any]) -> str:
    """The nearest location to the point asked (else the first), and how many others."""
    locations = row.get("locations") or []
    shown = str(row.get("nearest_location") or (locations[0] if locations else "") or "-")
    others = len(locations) - 1
    return shown + (f" +{others}" if others > 0 else "")


def print_jobs(rows: list[dict[str, Any]], fmt: str, fields: tuple[str, ...]) -> None:
    """`jobs`: the rows as JSON, CSV, or a table for people (``fmt`` one of `JOB_FORMATS`)."""
    if fmt == "json":
        echo_json([{k: _plain(row.get(k)) for k in fields} for row in rows])
        return
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            writer.writerow([_csv_cell(row.get(k)) for k in fields])
        typer.echo(buffer.getvalue(), nl=False)
        return
    if not rows:
        typer.echo("no jobs found")
        return
    typer.echo(
        f"{'posted':<10} {'control_no':<10} {'title':<40} {'organization':<28} "
        f"{'location (nearest)':<32} {'miles':>6} {'open':<4} pay"
    )
    for row in rows:
        posted = row.get("publication_start_date")
        miles = row.get("distance_miles")
        typer.echo(
            f"{posted.date().isoformat() if isinstance(posted, datetime) else '-':<10} "
            f"{row['control_number']:<10} "
            f"{_cut(row.get('position_title'), 40):<40} "
            f"{_cut(row.get('organization_name'), 28):<28} {_cut(_place(row), 32):<32} "
            f"{'-' if miles is None else f'{miles:.1f}':>6} "
            f"{'yes' if row.get('is_open') else 'no':<4} {_pay(row)}"
        )

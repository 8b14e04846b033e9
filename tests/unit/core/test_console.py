"""The terminal pieces in-process: log lines above a live progress display, quiet INFO on a
TTY, the summary table."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from screen import render
from tasman_etl import console
from tasman_etl.logging_setup import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    console.stop_progress()
    structlog.reset_defaults()
    logging.basicConfig(force=True)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_land_whole_above_a_live_progress_display(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tty = FakeTTY()
    monkeypatch.setattr("sys.stderr", tty)
    monkeypatch.setenv("COLUMNS", "60")
    update = console.start_progress("loading")
    assert update is not None
    try:
        long_line = "12:00:00 [info     ] page_loaded  " + "x=1 " * 40  # wider than the screen
        for page in range(1, 4):
            update(page - 1, 3, f"page={page:04d}")
            console.emit_line(f"{long_line}page={page}", tty)
    finally:
        console.stop_progress()
    screen = render(tty.getvalue())
    assert [line for line in screen if line] == [
        f"{long_line}page={page}".rstrip() for page in range(1, 4)
    ]


def test_without_a_terminal_there_is_no_progress_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert console.start_progress() is None


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
def test_detail_events_are_left_out_on_a_terminal_at_info(level: str, shown: bool) -> None:
    tty = FakeTTY()
    configure_logging(level, "auto", stream=tty)
    try:
        log = structlog.get_logger("t")
        structlog.contextvars.bind_contextvars(run_id="r-1")
        log.info("embedded_postgres_ready", pgdata="/x")
        log.info("page_loaded", page_key="page=0001")
        log.warning("page_failed", page_key="page=0002")
    finally:
        structlog.contextvars.clear_contextvars()
    text = tty.getvalue()
    assert ("embedded_postgres_ready" in text) is shown
    assert "page_loaded" in text and "page_failed" in text
    assert "run_id" not in text  # the summary names the run


def test_json_logs_keep_every_event_and_field() -> None:
    out = io.StringIO()
    configure_logging("INFO", "auto", stream=out)
    try:
        structlog.contextvars.bind_contextvars(run_id="r-1")
        structlog.get_logger("t").info("embedded_postgres_ready", pgdata="/x")
    finally:
        structlog.contextvars.clear_contextvars()
    event = json.loads(out.getvalue())
    assert event["event"] == "embedded_postgres_ready" and event["run_id"] == "r-1"
    assert event["timestamp"].endswith("Z")


def test_summary_table_names_overlapping_phases_and_skips_empty_fields() -> None:
    summary = {
        "run_id": "20260101T000000Z-abc123",
        "status": "failed",
        "complete": False,
        "pages": 3,
        "failed_pages": 1,
        "held_pages": 0,
        "items": 20,
        "inserted": 18,
        "updated": 0,
        "unchanged": 2,
        "quarantined": 0,
        "duplicates": 0,
        "phase_times": {
            "fetch_s": 1.5,
            "bronze_s": 0.1,
            "parse_s": 0.2,
            "dq_s": 1.2,
            "load_s": 0.3,
        },
        "under_collection": [],
        "error": "page=0003: HTTP 503",
        "duration_s": 2.0,
    }
    rows = dict(console.summary_rows(summary))
    assert rows["run"] == "20260101T000000Z-abc123  failed (not complete)"
    assert rows["pages"] == "3 loaded, 1 failed"
    assert rows["phases"] == "load 0.30 s"
    assert rows["overlapping"] == (
        "fetch 1.50 s, bronze 0.10 s, parse 0.20 s, dq 1.20 s (worker threads)"
    )
    assert rows["error"] == "page=0003: HTTP 503"
    assert "under collection" not in rows
    out = io.StringIO()
    console.render_summary(summary, file=out)
    text = out.getvalue()
    assert "fetch 1.50 s" in text and "runs show 20260101T000000Z-abc123" in text
    assert len(text.splitlines()) < 20

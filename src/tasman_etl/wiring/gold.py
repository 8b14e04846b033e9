"""The commands that read gold: `jobs` (a query) and `site` (the job seeker's page)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from tasman_etl.config import Settings
from tasman_etl.wiring.core import database

if TYPE_CHECKING:
    from tasman_etl.gold import JobsPage

__all__ = ["build_job_site", "gold_database", "query_jobs"]

log = structlog.get_logger(__name__)


@contextlib.contextmanager
def gold_database(settings: Settings) -> Iterator[Any]:
    """A connection for reading gold: the gold schema checked, not the database migrated.

    A tasman_reader login (no access to public) can use it.
    """
    from tasman_etl.gold import prepare_schema

    with database(settings, migrate=False) as conn:
        applied = prepare_schema(conn)
        if applied:
            log.info("migrations_applied", versions=[m.version for m in applied])
        yield conn


def query_jobs(
    settings: Settings,
    *,
    near: str | None,
    lat: float | None,
    lon: float | None,
    radius: float,
    keyword: str | None,
    open_only: bool,
    limit: int,
) -> JobsPage:
    """Jobs near a named place or a point (or all jobs), newest first, as `find_jobs` finds."""
    from tasman_etl.gold import find_jobs, resolve_place

    with gold_database(settings) as conn:
        if near is not None:
            lat, lon = resolve_place(conn, near)
            log.info("place_resolved", near=near, lat=lat, lon=lon)
        return find_jobs(
            conn,
            lat=lat,
            lon=lon,
            radius=radius,
            keyword=keyword,
            open_only=open_only,
            limit=limit,
        )


def build_job_site(
    settings: Settings,
    directory: Path,
    *,
    tiles: str | None,
    tiles_attribution: str,
    screenshot: Path | None,
) -> dict[str, Any]:
    """Write the static site from gold into ``directory``; its summary.

    With ``screenshot`` the page is also opened in headless Chromium and a PNG saved there.
    """
    from tasman_etl.site import build_site

    with gold_database(settings) as conn:
        result = build_site(conn, directory, tiles=tiles, tiles_attribution=tiles_attribution)
    summary = result.as_dict()
    if screenshot is not None:
        from tasman_etl.site.browser import Chromium

        with Chromium(offline=tiles is None) as browser:
            page = browser.open((directory / "index.html").resolve().as_uri())
            page.wait_for("window.TASMAN_TIMINGS && TASMAN_TIMINGS.firstRender")
            screenshot.write_bytes(page.screenshot())
        summary["screenshot"] = str(screenshot)
    return summary

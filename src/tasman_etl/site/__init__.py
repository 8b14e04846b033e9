"""The job seeker's page: a static site built from gold (`tasman-etl site DIR`).

`read_site_data` reads the open jobs, their places and a word index from schema gold;
`write_site` writes them with the page (``index.html``, script, styles, vendored Leaflet and
the US states outline) into a folder that opens from ``file://`` with no network.
`build_site` does both. `tasman_etl.site.browser` drives headless Chromium over the page
(screenshots, tests, the benchmark).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from tasman_etl.site.build import DETAILS_PER_FILE, BuildResult, write_site
from tasman_etl.site.data import FOUNDING, SiteData, read_site_data

__all__ = [
    "DETAILS_PER_FILE",
    "FOUNDING",
    "BuildResult",
    "SiteData",
    "build_site",
    "read_site_data",
    "write_site",
]


def build_site(
    conn: Any, directory: Path, *, tiles: str | None = None, tiles_attribution: str = ""
) -> BuildResult:
    """Read gold over ``conn`` (a psycopg connection) and write the site into ``directory``.

    The result's ``seconds`` cover both (reading gold, writing the files).
    """
    started = time.perf_counter()
    data = read_site_data(conn)
    result = write_site(data, directory, tiles=tiles, tiles_attribution=tiles_attribution)
    return dataclasses.replace(result, seconds=time.perf_counter() - started)

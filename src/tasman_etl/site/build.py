"""Write the job seeker's page: a static folder that opens from ``file://`` with no network.

Layout of the folder (``DIR``)::

    index.html                the page
    assets/app.js, site.css   its script and styles
    assets/vendor/...         Leaflet, Leaflet.markercluster, the Porter2 (Snowball English)
                              stemmer and the US states outline, with their licences
    data/jobs.js              one record per open job (places by index), the places, the
                              agencies, the founding search's jobs, the build's settings
    data/words.js             the title + summary word index (loaded after the first render)
    data/details/NNNN.js      summary, pay plan, series and posting URI of 500 jobs each,
                              loaded when one of their cards opens
    .tasman-site              marks the folder as a site, so a rebuild may replace it

Data files are scripts that assign to a global (``window.TASMAN_JOBS = {...}``), not
``.json``: Chromium refuses ``fetch()`` of ``file://`` URLs, while a ``<script>`` loads.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tasman_etl.errors import ConfigError
from tasman_etl.site.data import FOUNDING, SiteData

__all__ = ["DETAILS_PER_FILE", "BuildResult", "write_site"]

#: Jobs per details file: one card opening loads at most this many jobs' details.
DETAILS_PER_FILE = 500
_MARKER = ".tasman-site"
_OWNED = ("index.html", "assets", "data", _MARKER)
_PORTER2 = "vendor/porter2-1.1.0/porter2.js"


@dataclass(frozen=True)
class BuildResult:
    """What `write_site` wrote: counts and sizes, for the command's summary line."""

    directory: Path
    jobs: int
    places: int
    founding_jobs: int
    details_files: int
    data_bytes: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {
            "directory": str(self.directory),
            "index": str(self.directory / "index.html"),
            "jobs": self.jobs,
            "places": self.places,
            "founding_jobs": self.founding_jobs,
            "details_files": self.details_files,
            "data_bytes": self.data_bytes,
            "seconds": round(self.seconds, 3),
        }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _script(global_name: str, value: Any) -> str:
    return f"window.{global_name}={_dump(value)};\n"


def _pay(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == int(value) else round(value, 2)


def _prepare_directory(directory: Path) -> None:
    """Make ``directory`` ready: new, empty, or a site this command wrote before."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} is a file, not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / _MARKER).is_file():
        raise ConfigError(
            f"{directory} is not empty and holds no site written by `tasman-etl site`; "
            "give an empty or new folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for name in _OWNED:
        target = directory / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _copy_assets(directory: Path) -> None:
    root = resources.files("tasman_etl.site")
    assets = directory / "assets"
    with resources.as_file(root / "static") as static, resources.as_file(root / "vendor") as vendor:
        shutil.copytree(static, assets, ignore=shutil.ignore_patterns("index.html"))
        shutil.copytree(vendor, assets / "vendor", ignore=shutil.ignore_patterns("*.cjs"))
        (directory / "index.html").write_bytes((Path(static) / "index.html").read_bytes())
    # porter2 is published as a CommonJS module: give it an `exports` of its own.
    stemmer = assets / _PORTER2
    stemmer.write_text(
        "(function (exports) {\n"
        + stemmer.read_text(encoding="utf-8")
        + "\n})(window.porter2 = {});\n",
        encoding="utf-8",
    )


def _jobs_document(data: SiteData, tiles: str | None, tiles_attribution: str) -> dict[str, Any]:
    agencies: list[list[str]] = []
    agency_of: dict[tuple[str, str], int] = {}
    rows: list[list[Any]] = []
    for job in data.jobs:
        key = (job.agency, job.department)
        at = agency_of.get(key)
        if at is None:
            at = agency_of[key] = len(agencies)
            agencies.append([job.agency, job.department])
        rows.append(
            [
                job.control_number,
                job.title,
                at,
                _pay(job.pay_min),
                _pay(job.pay_max),
                job.pay_interval,
                _pay(job.pay_annual_min),
                _pay(job.pay_annual_max),
                job.grade,
                job.published,
                job.closes,
                (1 if job.remote else 0) | (2 if job.telework else 0),
                job.apply_url,
                job.places,
            ]
        )
    return {
        "builtAt": data.built_at.isoformat(),
        "defaults": {
            "q": FOUNDING.keyword,
            "near": FOUNDING.place,
            "lat": FOUNDING.lat,
            "lon": FOUNDING.lon,
            "r": FOUNDING.radius_miles,
        },
        # The founding keyword matches what the API returned for it (as the founding view
        # lists) and what matches it in title + summary: computed by the database.
        "searched": {FOUNDING.keyword: data.keyword_jobs},
        "tiles": {"url": tiles, "attribution": tiles_attribution} if tiles else None,
        "detailsPerFile": DETAILS_PER_FILE,
        "agencies": agencies,
        "places": [[p.name, p.lat, p.lon] for p in data.places],
        "jobs": rows,
    }


def _words_document(data: SiteData) -> dict[str, str]:
    """Lexeme -> job indexes, ascending, as base-36 deltas joined by commas (compact)."""
    out: dict[str, str] = {}
    for word, postings in sorted(data.lexemes.items()):
        previous, parts = 0, []
        for at in postings:
            parts.append(_base36(at - previous))
            previous = at
        out[word] = ",".join(parts)
    return out


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(digits[rest])
    return "".join(reversed(out))


def write_site(
    data: SiteData,
    directory: Path,
    *,
    tiles: str | None = None,
    tiles_attribution: str = "",
) -> BuildResult:
    """Write the site for ``data`` into ``directory`` (created, or a previous site replaced).

    ``tiles``: a tile URL template (``https://tile.example/{z}/{x}/{y}.png``) to draw map
    tiles from; None (the default) draws only the bundled US states outline, and the page
    then makes no request outside its folder. Raises ConfigError when ``directory`` is a
    file or a non-empty folder that is not a site.
    """
    started = time.perf_counter()
    _prepare_directory(directory)
    _copy_assets(directory)
    data_dir = directory / "data"
    details_dir = data_dir / "details"
    details_dir.mkdir(parents=True)
    size = 0
    for name, text in (
        ("jobs.js", _script("TASMAN_JOBS", _jobs_document(data, tiles, tiles_attribution))),
        ("words.js", _script("TASMAN_WORDS", _words_document(data))),
    ):
        size += (data_dir / name).write_text(text, encoding="utf-8")
    files = 0
    for start in range(0, len(data.jobs), DETAILS_PER_FILE):
        chunk = data.jobs[start : start + DETAILS_PER_FILE]
        shard = start // DETAILS_PER_FILE
        body = _dump({job.control_number: job.details for job in chunk})
        text = f"(window.TASMAN_DETAILS=window.TASMAN_DETAILS||{{}})[{shard}]={body};\n"
        size += (details_dir / f"{shard:04d}.js").write_text(text, encoding="utf-8")
        files += 1
    (directory / _MARKER).write_text(
        _dump({"built_at": data.built_at.isoformat(), "jobs": len(data.jobs)}) + "\n",
        encoding="utf-8",
    )
    return BuildResult(
        directory=directory,
        jobs=len(data.jobs),
        places=len(data.places),
        founding_jobs=len(data.founding_jobs),
        details_files=files,
        data_bytes=size,
        seconds=time.perf_counter() - started,
    )

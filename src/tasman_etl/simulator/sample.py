"""A small synthetic sample of saved USAJOBS responses, for a clone with no API key.

``python -m tasman_etl.simulator.sample DIR`` (or ``make sample``) writes into DIR the search
pages the simulator serves for one unfiltered search of a fixed universe, plus the
rate-interval codelist, byte for byte as served (and a final newline)::

    search-page-1.json  search-page-2.json  search-page-3.json
    codelist-remunerationrateintervalcodes.json

`tasman-etl load DIR` ingests them like any folder of saved responses. Everything is
generated from `SAMPLE_CONFIG` (seed and reference day fixed), so the files only change
when the simulator's output does.
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from pathlib import Path

from tasman_etl.simulator.codelists import codelist_payload
from tasman_etl.simulator.config import SimulatorConfig
from tasman_etl.simulator.data import Universe
from tasman_etl.simulator.query import parse_query
from tasman_etl.simulator.search import search_payload

__all__ = [
    "SAMPLE_CODELIST",
    "SAMPLE_CONFIG",
    "SAMPLE_PAGE_SIZE",
    "main",
    "sample_files",
    "write_sample",
]

#: The universe of the sample: 50 jobs, fixed seed, fixed reference day.
SAMPLE_CONFIG = SimulatorConfig(jobs=50, seed=2016, now=datetime(2026, 11, 2, tzinfo=UTC))
#: Rows per saved page (three pages: 20, 20, 10).
SAMPLE_PAGE_SIZE = 20
#: The codelist saved with the pages (pay rate intervals: labels and the DQ check use it).
SAMPLE_CODELIST = "remunerationrateintervalcodes"


def sample_files(config: SimulatorConfig = SAMPLE_CONFIG) -> dict[str, bytes]:
    """File name -> content of the sample, as `write_sample` writes it."""
    universe = Universe(config)
    pages = max(1, math.ceil(len(universe.live_order()) / SAMPLE_PAGE_SIZE))
    files: dict[str, bytes] = {}
    for page in range(1, pages + 1):
        query = parse_query({"ResultsPerPage": str(SAMPLE_PAGE_SIZE), "Page": str(page)})
        files[f"search-page-{page}.json"] = search_payload(universe, query) + b"\n"
    codelist = codelist_payload(SAMPLE_CODELIST, universe.now)
    if codelist is None:  # pragma: no cover - the name is one of the simulator's lists
        raise LookupError(f"the simulator has no codelist {SAMPLE_CODELIST!r}")
    files[f"codelist-{SAMPLE_CODELIST}.json"] = codelist + b"\n"
    return files


def write_sample(directory: Path, config: SimulatorConfig = SAMPLE_CONFIG) -> list[Path]:
    """Write the sample into ``directory`` (created if needed); return the files written.

    Other ``search-page-*.json`` files there (from a larger sample) are removed, so the
    folder holds exactly one sample.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = sample_files(config)
    for stale in directory.glob("search-page-*.json"):
        if stale.name not in files:
            stale.unlink()
    written: list[Path] = []
    for name, content in files.items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m tasman_etl.simulator.sample DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tasman_etl.simulator.sample DIR", file=sys.stderr)
        return 2
    for path in write_sample(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

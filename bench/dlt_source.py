"""dlt's rest_api source against the (simulated) USAJOBS API, merged into PostgreSQL.

    python bench/dlt_source.py --api-base URL --db-url URL --pipelines-dir DIR \
        [--results-per-page 500] [--dataset usajobs]

What a dlt user would write for the nationwide search: one `jobs` resource on
`/api/search`, a page-number paginator on `Page` (starting at 1) that stops at the first
empty page — the API's `NumberOfPages` is ceil(total / 25) whatever the page size, so
`total_path` would only add requests and a second parse per page —, the items under
`SearchResult.SearchResultItems`, the `Authorization-Key` and `User-Agent` headers, and
`write_disposition="merge"` with `primary_key="MatchedObjectId"`. dlt's defaults
otherwise: nested lists become child tables (`jobs__matched_object_descriptor__…`).

`--db-url` is a libpq URL; for a unix socket use the form dlt accepts,
``postgresql://postgres:@localhost/postgres?host=<socket dir>``. Telemetry is turned off
and the pipeline's state lives in `--pipelines-dir`.

Prints one JSON line on stdout: {"items" (rows extracted), "pages", "seconds"}.
The API key and user agent come from USAJOBS_AUTH_KEY / USAJOBS_USER_AGENT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

PIPELINE_NAME = "usajobs_bench"
TABLE = "jobs"


def run(
    api_base: str,
    db_url: str,
    pipelines_dir: str,
    per_page: int,
    dataset: str,
    key: str,
    agent: str,
) -> dict[str, Any]:
    """Run the pipeline once; return rows extracted, pages and seconds."""
    started = time.perf_counter()
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": api_base + "/",
                "headers": {"Authorization-Key": key, "User-Agent": agent},
                "paginator": {
                    "type": "page_number",
                    "page_param": "Page",
                    "base_page": 1,
                    "total_path": None,
                    "stop_after_empty_page": True,
                },
            },
            "resources": [
                {
                    "name": TABLE,
                    "primary_key": "MatchedObjectId",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "api/search",
                        "params": {"ResultsPerPage": per_page},
                        "data_selector": "SearchResult.SearchResultItems",
                    },
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.postgres(credentials=db_url),
        dataset_name=dataset,
    )
    pipeline.run(source)
    trace = pipeline.last_trace
    rows = 0
    if trace is not None and trace.last_normalize_info is not None:
        rows = int(trace.last_normalize_info.row_counts.get(TABLE, 0))
    pages = (rows + per_page - 1) // per_page + 1  # + the empty page that stops the pager
    return {"items": rows, "pages": pages, "seconds": round(time.perf_counter() - started, 3)}


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--pipelines-dir", required=True)
    parser.add_argument("--results-per-page", type=int, default=500)
    parser.add_argument("--dataset", default="usajobs")
    args = parser.parse_args()
    key = os.environ.get("USAJOBS_AUTH_KEY", "")
    agent = os.environ.get("USAJOBS_USER_AGENT", "")
    if not key or not agent:
        print("USAJOBS_AUTH_KEY and USAJOBS_USER_AGENT must be set", file=sys.stderr)
        return 2
    result = run(
        args.api_base.rstrip("/"),
        args.db_url,
        args.pipelines_dir,
        args.results_per_page,
        args.dataset,
        key,
        agent,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

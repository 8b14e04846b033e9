"""The floor: the cheapest honest way to get a search's jobs into the project's `job` table.

    python bench/floor.py --api-base URL --db-url URL [--results-per-page 500]

GET every page of the nationwide search (no keyword, no location) sequentially with httpx,
`json.loads` each page, and COPY one row per item into `job` (the migrations must already be
applied): control number, title, URI, the item re-serialised as `raw_json`, a placeholder
content hash and run id, and `now()` as first/last seen. One COPY and one commit per page,
the pipeline's unit of durability. No validation, no bronze, no children, no dedupe: a
duplicate control number would fail the COPY. The page count comes from page 1's
`SearchResultCountAll` (the API's `NumberOfPages` is not trusted), so past the 10,000-row
cap this loads only the first 10,000 rows; `run_bench.py` does not run it there.

Prints one JSON line on stdout: {"items", "pages", "requests", "seconds"}.
The API key and user agent come from USAJOBS_AUTH_KEY / USAJOBS_USER_AGENT.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

COLUMNS = (
    "control_number",
    "position_title",
    "position_uri",
    "content_hash",
    "ingest_run_id",
    "first_seen_at",
    "last_seen_at",
    "raw_json",
)
RUN_ID = "bench-floor"


def _page(client: httpx.Client, number: int, per_page: int) -> dict[str, Any]:
    response = client.get("/api/search", params={"ResultsPerPage": per_page, "Page": number})
    response.raise_for_status()
    payload: dict[str, Any] = json.loads(response.content)
    return payload


def _copy(conn: psycopg.Connection[Any], items: list[dict[str, Any]], now: datetime) -> None:
    sql = f"COPY job ({', '.join(COLUMNS)}) FROM STDIN"
    with conn.transaction(), conn.cursor() as cur, cur.copy(sql) as copy:
        for item in items:
            descriptor = item["MatchedObjectDescriptor"]
            copy.write_row(
                (
                    item["MatchedObjectId"],
                    descriptor["PositionTitle"],
                    descriptor["PositionURI"],
                    "floor",
                    RUN_ID,
                    now,
                    now,
                    json.dumps(item, ensure_ascii=False, separators=(",", ":")),
                )
            )


def load(api_base: str, db_url: str, per_page: int, key: str, agent: str) -> dict[str, Any]:
    """Fetch every page and COPY its items into `job`; return counts and seconds."""
    started = time.perf_counter()
    headers = {"Authorization-Key": key, "User-Agent": agent}
    items = pages = 0
    with (
        httpx.Client(base_url=api_base, headers=headers, timeout=60.0) as client,
        psycopg.connect(db_url, autocommit=True) as conn,
    ):
        now = datetime.now(UTC)
        first = _page(client, 1, per_page)
        count_all = int(first["SearchResult"]["SearchResultCountAll"])
        total_pages = max(1, math.ceil(count_all / per_page))
        for number in range(1, total_pages + 1):
            payload = first if number == 1 else _page(client, number, per_page)
            batch = payload["SearchResult"]["SearchResultItems"]
            if batch:
                _copy(conn, batch, now)
            items += len(batch)
            pages += 1
    return {
        "items": items,
        "pages": pages,
        "requests": pages,
        "seconds": round(time.perf_counter() - started, 3),
    }


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--results-per-page", type=int, default=500)
    args = parser.parse_args()
    key = os.environ.get("USAJOBS_AUTH_KEY", "")
    agent = os.environ.get("USAJOBS_USER_AGENT", "")
    if not key or not agent:
        print("USAJOBS_AUTH_KEY and USAJOBS_USER_AGENT must be set", file=sys.stderr)
        return 2
    result = load(args.api_base.rstrip("/"), args.db_url, args.results_per_page, key, agent)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

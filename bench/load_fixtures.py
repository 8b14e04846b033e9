"""Load the two real 2016 pages (742 items) into a fresh database and print items per second.

    .venv/bin/python bench/load_fixtures.py [--repeat 3]

Each repeat uses a throw-away embedded PostgreSQL in a temp folder, so runs compare.
Timing covers bronze write, parsing and the set-based load; server start-up and
migrations are reported separately.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "shared" / "fixtures" / "usajobs"
PAGES = ["search_2016-05_keyword_rpp500_page1.json", "search_2016-05_keyword_rpp500_page2.json"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh databases to time (median)")
    args = parser.parse_args()
    files = [FIXTURES / name for name in PAGES]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        print(f"fixtures not found: {', '.join(missing)} (expected in {FIXTURES})", file=sys.stderr)
        return 2

    from tasman_etl.config import Settings
    from tasman_etl.db.engine import open_database
    from tasman_etl.db.migrate import apply_migrations
    from tasman_etl.logging_setup import configure_logging
    from tasman_etl.runner.load import load_paths
    from tasman_etl.storage.bronze import LocalBronzeStore

    configure_logging("WARNING", "json")
    rates = []
    for attempt in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(prefix="tasman-bench-") as tmp:
            home = Path(tmp)
            settings = Settings(tasman_home=home, db_url=None)
            started = time.perf_counter()
            with open_database(settings) as db:
                conn = db.connect(autocommit=True)
                apply_migrations(conn)
                setup = time.perf_counter() - started
                store = LocalBronzeStore(home / "bronze", "bronze/usajobs")
                t0 = time.perf_counter()
                result = load_paths(conn, store, files)
                elapsed = time.perf_counter() - t0
                conn.close()
        items = result.summary["items"]
        rate = items / elapsed
        rates.append(rate)
        print(
            f"run {attempt}: {items} items in {elapsed:.2f} s = {rate:,.0f} items/s "
            f"(server start + migrations {setup:.2f} s; inserted {result.summary['inserted']})"
        )
    print(f"median: {statistics.median(rates):,.0f} items/s over {len(rates)} fresh databases")
    return 0


if __name__ == "__main__":
    sys.exit(main())

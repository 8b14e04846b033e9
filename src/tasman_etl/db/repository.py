"""The repository: every database read and write of the runner, under one name.

A facade: callers do ``from tasman_etl.db import repository as repo`` and call ``repo.X``;
each function lives in the module of its job:

- `db/load.py`: one page into silver and the ledger, in one transaction;
- `db/silver.py`, `db/historic.py`: silver's jobs, and history's records and texts;
- `db/ledger.py`: a run's ledger row and its pages' rows;
- `db/plan.py`: a run's partitions and what its pages add up to;
- `db/codelists.py`: the code lists;
- `db/locks.py`: the advisory lock of a search scope;
- `db/staging.py`: COPY into temporary staging tables (binary for silver rows).

Every function here that takes a connection raises `tasman_etl.errors.DatabaseError` (its
``__cause__`` the psycopg error) when the database fails: see `db/errors.py`.
"""

from __future__ import annotations

from tasman_etl.db.codelists import upsert_codelist
from tasman_etl.db.ledger import (
    LoadCounts,
    PageRecord,
    captured_sha256,
    finish_run,
    get_run,
    list_pages,
    list_runs,
    page_control_numbers,
    page_statuses,
    record_capture,
    record_page,
    running_runs,
    settle_source_page,
    start_run,
)
from tasman_etl.db.load import load_page_rows
from tasman_etl.db.locks import scope_lock_key, try_lock_scope, unlock_scope
from tasman_etl.db.plan import (
    PartitionRecord,
    load_plan,
    record_plan,
    run_totals,
    update_partition_counts,
)
from tasman_etl.db.silver import stored_hashes
from tasman_etl.db.staging import JsonTextDumper

__all__ = [
    "LoadCounts",
    "PageRecord",
    "PartitionRecord",
    "captured_sha256",
    "finish_run",
    "get_run",
    "list_pages",
    "list_runs",
    "load_page_rows",
    "load_plan",
    "page_control_numbers",
    "page_statuses",
    "record_capture",
    "record_page",
    "record_plan",
    "run_totals",
    "running_runs",
    "scope_lock_key",
    "settle_source_page",
    "start_run",
    "stored_hashes",
    "try_lock_scope",
    "unlock_scope",
    "update_partition_counts",
    "upsert_codelist",
]

_JsonTextDumper = JsonTextDumper
"""The old private name, kept for tests/integration/test_copy_format.py (`db/staging.py`)."""

"""The checking commands' parts: `doctor`'s probes, `dq`'s page file, `db psql`."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasman_etl.config import Settings
from tasman_etl.errors import ConfigError

if TYPE_CHECKING:
    from tasman_etl.runner.load import InputDoc

__all__ = ["check_page_file", "database_check", "docs_run_name", "open_psql", "probe_bronze"]


@contextlib.contextmanager
def database_check(settings: Settings) -> Iterator[str]:
    """Open the database and ask it one query; yield its display URL (no password)."""
    from tasman_etl.db.engine import open_database
    from tasman_etl.db.queries import ping

    with open_database(settings) as db:
        conn = db.connect()
        try:
            ping(conn)
        finally:
            conn.close()
        yield db.display_url


def probe_bronze(settings: Settings) -> str:
    """Open the bronze store and prove it usable; its description.

    Listing proves read access; a local folder is also proved writable with a temp file.
    """
    import tempfile

    from tasman_etl.storage.bronze import LocalBronzeStore, open_bronze_store

    store = open_bronze_store(settings)
    next(iter(store.list(run_id="doctor-probe")), None)
    if isinstance(store, LocalBronzeStore):
        store.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=store.root, prefix=".doctor-"):
            pass
    return store.describe()


def check_page_file(page_file: Path, docs: Path | None) -> dict[str, Any]:
    """Run the data-quality suite on one saved search page; the report.

    A file that is not a search page (or its envelope) is a `ConfigError`. With ``docs``
    a Data Docs site is written there too.
    """
    from tasman_etl.dq import check_payload
    from tasman_etl.errors import InputFileError
    from tasman_etl.runner.load import read_input

    try:
        doc = read_input(page_file)
    except InputFileError as exc:
        raise ConfigError(str(exc)) from None
    if doc.kind == "codelist":
        raise ConfigError(f"{page_file.name}: a codelist, not a search page")
    payload = doc.document if doc.kind == "search" else doc.document["response"]["payload"]
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
    try:
        report: dict[str, Any] = check_payload(
            payload, docs_dir=docs, docs_run_name=docs_run_name(doc, page_file)
        )
    except ValueError as exc:
        raise ConfigError(f"{page_file.name}: {exc}") from None
    return report


def docs_run_name(doc: InputDoc, page_file: Path) -> str:
    """Data Docs name of a checked page: its run id and page key (a bronze envelope's own,
    else ``dq-<UTC time>`` and the file's name)."""
    from tasman_etl.runner.pages import page_key

    ingest = doc.document.get("ingest") if doc.kind == "envelope" else None
    ingest = ingest if isinstance(ingest, dict) else {}
    run = ingest.get("ingest_run_id") or ingest.get("run_id")
    if not isinstance(run, str) or not run:
        run = f"dq-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    if isinstance(ingest.get("page"), int):
        key = page_key(ingest["page"], ingest.get("part"))
    else:
        key = page_file.name.removesuffix(".gz").removesuffix(".json")
    return f"{run}.{key}".replace("/", ".")


def open_psql(settings: Settings, args: Sequence[str]) -> int:
    """Run the bundled psql on the database (migrated first); psql's exit code.

    The password goes in the environment, not on the command line; Ctrl-C belongs to psql.
    """
    import os
    import subprocess

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from tasman_etl.db.engine import open_database
    from tasman_etl.db.local_server import bundled_psql
    from tasman_etl.db.migrate import apply_migrations

    with open_database(settings) as db:
        with db.connect(autocommit=True) as conn:
            apply_migrations(conn)
        params = conninfo_to_dict(db.conninfo)
        password = params.pop("password", None)
        env = dict(os.environ)
        if password:  # not on the command line, where `ps` would show it
            env["PGPASSWORD"] = str(password)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to psql
        try:
            # the bundled psql, a conninfo without password, the user's own psql arguments
            return subprocess.call(  # noqa: S603
                [str(bundled_psql()), make_conninfo("", **params), *args], env=env
            )
        finally:
            signal.signal(signal.SIGINT, previous)

"""Secrets: the API key and the database password appear nowhere they could leak.

A full `tasman-etl run` (real subprocess, DEBUG logs, faults that make the client retry and
log, one item that is quarantined) with a known fake key and a password in DB_URL; then every
stdout and stderr line, every bronze object (decompressed), every row of every table (the
ledger, silver, quarantine), `runs` and `runs show` output, `doctor`, and the error output
of a refused key and of an unreachable database are searched for both secrets. The key
demonstrably went over the wire (the simulator saw it on every search request).
"""

from __future__ import annotations

import gzip
import socket
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tasman_etl.config import Settings
from tasman_etl.db.engine import open_database
from tasman_etl.errors import DatabaseError
from tasman_etl.redact import MASK
from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

from e2e_helpers import CLI, cli, last_json

__all__ = ["cli"]

pytestmark = [pytest.mark.e2e]

KEY = "SECRET-usajobs-key-7f3a9c2e41d8"
PASSWORD = "Pw-4b9e1d7c-secret"  # the fake secret the test hunts for


def _with_password(url: str) -> tuple[str, str]:
    """``url`` with a password (ours, or the one it already has) and that password."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    user = parts.username or "postgres"
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:{PASSWORD}@{host}").geturl(), PASSWORD


def _bronze_texts(root: Path) -> list[bytes]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return out


def _database_text(url: str) -> str:
    """Every row of every table of the database, as text."""
    chunks = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(
                sql.SQL("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {}.{} AS t").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchone()
            chunks.append(f"== {schema}.{table}\n{row[0] if row else ''}")
    return "\n".join(chunks)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_key_and_db_password_appear_nowhere(cli: CLI, migrated_db_url: str, tmp_path: Path) -> None:
    db_url, password = _with_password(migrated_db_url)
    try:
        with psycopg.connect(db_url, connect_timeout=5):
            pass
    except psycopg.OperationalError:
        pytest.skip("the test server checks passwords; cannot add a fake one to its URL")
    faults = FaultPlan(by_request={2: "429", 3: "drop", 5: "503"}, retry_after="0")
    sim = SimulatorServer(SimulatorConfig(jobs=160, seed=4, auth_key=KEY, faults=faults))
    broken = sim.matching({})[45]
    original = sim.universe.item_bytes
    index = sim.universe.index_of(broken)

    def item_bytes(idx: int, *, radial: bool) -> bytes:  # one item without a title
        body: bytes = original(idx, radial=radial)
        return body.replace(b'"PositionTitle":', b'"PositionTitleX":', 1) if idx == index else body

    sim.universe.item_bytes = item_bytes  # type: ignore[method-assign]
    env = {
        "DB_URL": db_url,
        "USAJOBS_AUTH_KEY": KEY,
        "USAJOBS_USER_AGENT": "secrets@tasman-etl.invalid",
        "KEYWORD": "",
        "LOCATION_NAME": "",
        "RESULTS_PER_PAGE": "40",
        "REQUESTS_PER_SECOND": "1000",
        "MAX_BACKOFF_S": "0.01",
        "LOG_LEVEL": "DEBUG",
        "BRONZE_DIR": str(tmp_path / "bronze"),
    }
    outputs: dict[str, str] = {}
    with sim:
        env["USAJOBS_API_BASE"] = sim.base_url
        run = cli("run", env=env, timeout=180)
        assert run.returncode == 0, run.stderr[-3000:]
        summary = last_json(run.stdout)
        assert summary["quarantined"] == 1
        assert summary["retries"] == 3
        outputs["run"] = run.stdout + run.stderr
        searches = [r for r in sim.requests() if r.path.lower().endswith("/search")]
        assert searches and all(r.had_auth for r in searches)  # the key was sent every time

        wrong = cli("run", env={**env, "USAJOBS_AUTH_KEY": KEY + "-wrong"}, timeout=180)
        assert wrong.returncode == 2
        assert "USAJOBS_AUTH_KEY" in wrong.stderr
        outputs["refused key"] = wrong.stdout + wrong.stderr

    run_id = summary["run_id"]
    for args in (
        ("runs",),
        ("runs", "show", run_id),
        ("runs", "show", run_id, "--format", "json"),
        ("doctor",),
    ):
        shown = cli(*args, env=env)
        assert shown.returncode == 0, (args, shown.stderr[-2000:])
        outputs[" ".join(args)] = shown.stdout + shown.stderr
    assert run_id in outputs["runs show " + run_id]
    assert f":{MASK}@" in outputs["doctor"]  # the URL was printed, masked

    dead = f"postgresql://tasman:{password}@127.0.0.1:{_closed_port()}/x?connect_timeout=2"
    for args in (("doctor",), ("run",)):
        failed = cli(*args, env={**env, "DB_URL": dead}, timeout=120)
        assert failed.returncode == 1, (args, failed.stderr[-2000:])
        assert "error:" in failed.stderr
        outputs["unreachable db: " + " ".join(args)] = failed.stdout + failed.stderr
    assert any(f"tasman:{MASK}@127.0.0.1" in text for text in outputs.values())

    bronze = _bronze_texts(tmp_path / "bronze")
    assert len(bronze) >= 4
    database = _database_text(migrated_db_url)
    assert "quarantine" in database and run_id in database

    for name, text in outputs.items():
        assert KEY not in text, f"API key in output of {name}"
        assert password not in text, f"DB password in output of {name}"
    for body in bronze:
        assert KEY.encode() not in body
        assert password.encode() not in body
    assert KEY not in database
    assert password not in database


def test_database_errors_never_carry_the_password(tmp_path: Path) -> None:
    url = f"postgresql://tasman:{PASSWORD}@127.0.0.1:{_closed_port()}/x"
    settings = Settings(db_url=url, db_connect_timeout_s=2, _env_file=None)
    db = open_database(settings)
    assert PASSWORD not in repr(db) and PASSWORD not in db.display_url
    assert f"tasman:{MASK}@" in db.display_url
    with pytest.raises(DatabaseError) as raised:
        db.connect()
    whole = "".join(traceback.format_exception(raised.value))
    assert "cannot connect" in str(raised.value)
    assert PASSWORD not in str(raised.value) and PASSWORD not in repr(raised.value)
    assert PASSWORD not in whole  # the chained psycopg error included
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())


def test_settings_never_show_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasman_etl.config import load_settings
    from tasman_etl.redact import scrub

    monkeypatch.setenv("USAJOBS_AUTH_KEY", KEY)
    settings: Any = load_settings(_env_file=None)
    assert settings.usajobs_auth_key.get_secret_value() == KEY
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())
    assert scrub(f"header Authorization-Key: {KEY}") == f"header Authorization-Key: {MASK}"

"""Replay and resume check each bronze object against the ledger (issue 11, item 7).

A bronze object can be rewritten *consistently*: new payload, new `ingest.sha256`, a new
sidecar (local) or new metadata and checksum (S3). Its own checksums then all agree and
`BronzeStore.get` passes; only the payload SHA-256 the ledger recorded when the page was
captured (`ingest_page.sha256`) still names the original. `replay` (by run id, by date or
everything) and `run --resume` must refuse such an object: the page is recorded failed with
the reason, nothing of it reaches silver, the other pages load, the result is failed
(exit 1). Objects the ledger holds no hash for load, listed under `unverified`.

Real PostgreSQL, the simulator over loopback HTTP, local bronze and SeaweedFS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from sleeps import Sleeps
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.replay import replay
from tasman_etl.runner.run import RunOptions, RunResult, execute_run
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import (
    BronzeKey,
    BronzeStore,
    LocalBronzeStore,
    build_envelope,
    read_envelope,
    sha256_hex,
)

KEY = "sim-key-7c1d2e0f9a"
NATIONWIDE = SearchQuery()
MISMATCH = "does not match the SHA-256 recorded at capture"
TAMPERED = "TAMPERED "


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    # 120 jobs, 40 per page: 3 pages
    with SimulatorServer(SimulatorConfig(jobs=120, seed=11, auth_key=KEY)) as server:
        yield server


def _run(
    conn: psycopg.Connection[Any], store: BronzeStore, sim: SimulatorServer, opts: RunOptions
) -> RunResult:
    config = ClientConfig(
        api_base=sim.base_url,
        auth_key=SecretStr(KEY),
        user_agent="tests@tasman-etl.invalid",
        requests_per_second=1000,
        timeout_s=5,
    )
    with UsajobsClient(config, sleep=Sleeps()) as client:
        return execute_run(conn, store, client, opts, stop=threading.Event())


def _captured(
    conn: psycopg.Connection[Any], store: BronzeStore, sim: SimulatorServer
) -> tuple[str, list[BronzeKey]]:
    """A complete run of 3 pages; returns its id and bronze keys."""
    result = _run(conn, store, sim, RunOptions(query=NATIONWIDE, results_per_page=40))
    assert not result.failed, result.summary
    keys = list(store.list(run_id=result.run_id))
    assert [k.page for k in keys] == [1, 2, 3]
    return result.run_id, keys


def _rewrite_consistently(store: BronzeStore, key: BronzeKey, *, s3: Any = None) -> set[str]:
    """Rewrite the object at `key` with new titles, every checksum recomputed.

    The new envelope gets the new payload's `ingest.sha256`, and the object is written again
    through the store itself (new sidecar, or new S3 metadata and ChecksumSHA256), so the
    store's and the envelope's own checks pass. Returns the page's control numbers.
    """
    before = read_envelope(store.get(key))
    payload = before.payload
    items = payload["SearchResult"]["SearchResultItems"]
    for item in items:
        descriptor = item["MatchedObjectDescriptor"]
        descriptor["PositionTitle"] = TAMPERED + descriptor["PositionTitle"]
    payload_bytes = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    new_sha = sha256_hex(payload_bytes)
    body = build_envelope(
        endpoint=before.request["endpoint"],
        params=before.request["params"],
        sent_at=datetime.fromisoformat(before.request["sent_at"]),
        status=before.response["status"],
        received_at=datetime.fromisoformat(before.response["received_at"]),
        headers=before.response["headers"],
        payload_bytes=payload_bytes,
        run_id=before.ingest["run_id"],
        page=before.ingest["page"],
        part=before.ingest["part"],
        code_version=before.ingest["code_version"],
        payload=payload,
    )
    if isinstance(store, LocalBronzeStore):
        path = store.root / key.path
        path.unlink()
        path.with_name(path.name + ".sha256").unlink()
    else:
        s3.delete_object(Bucket=store.bucket, Key=key.path)  # type: ignore[attr-defined]
    assert store.put(key, body, payload_sha256=new_sha).created
    # today's integrity checks all pass on the rewritten object
    after = read_envelope(store.get(key))
    assert after.ingest["sha256"] == new_sha != before.ingest["sha256"]
    assert after.payload["SearchResult"]["SearchResultItems"][0]["MatchedObjectDescriptor"][
        "PositionTitle"
    ].startswith(TAMPERED)
    return {item["MatchedObjectId"] for item in items}


def _jobs(conn: psycopg.Connection[Any]) -> dict[str, str]:
    return dict(conn.execute("SELECT control_number, position_title FROM job").fetchall())


def _page(conn: psycopg.Connection[Any], run_id: str, page: int) -> tuple[str, str | None, str]:
    row = conn.execute(
        "SELECT status, error, sha256 FROM ingest_page WHERE run_id = %s AND page = %s",
        (run_id, page),
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def _assert_refused(
    conn: psycopg.Connection[Any], result: RunResult, tampered: set[str], truth: set[str]
) -> None:
    """Page 2 refused with the reason; pages 1 and 3 loaded; nothing of page 2 in silver."""
    assert result.failed
    assert result.summary["status"] == "failed"
    assert result.summary["failed_pages"] == 1
    jobs = _jobs(conn)
    assert not any(title.startswith(TAMPERED) for title in jobs.values())
    assert set(jobs) == truth - tampered
    assert len(jobs) == 80


def test_replay_by_run_id_refuses_an_object_rewritten_after_capture(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, sim: SimulatorServer
) -> None:
    truth = set(sim.matching(NATIONWIDE.to_params()))
    run_id, keys = _captured(conn, store, sim)
    recorded = _page(conn, run_id, 2)[2]
    tampered = _rewrite_consistently(store, keys[1])
    conn.execute("DELETE FROM job")

    result = replay(conn, store, run_id=run_id)

    _assert_refused(conn, result, tampered, truth)
    assert result.summary["pages"] == 2
    assert "unverified" not in result.summary  # every object had a ledger hash
    status, error, _ = _page(conn, result.run_id, 2)
    assert status == "failed"
    assert error is not None and MISMATCH in error and keys[1].path in error
    assert f"ledger {recorded[:12]}" in error
    assert any(MISMATCH in e for e in result.summary["errors"])
    # the source run loaded page 2 from the bytes it captured: it stays loaded, hash kept
    assert _page(conn, run_id, 2)[0] == "loaded"
    assert _page(conn, run_id, 2)[2] == recorded
    # replayed pages carry the capture hash in the replay's ledger
    assert _page(conn, result.run_id, 1)[2] == _page(conn, run_id, 1)[2]


def test_replay_everything_refuses_it_and_records_it_in_the_source_run(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, sim: SimulatorServer
) -> None:
    truth = set(sim.matching(NATIONWIDE.to_params()))
    run_id, keys = _captured(conn, store, sim)
    recorded = _page(conn, run_id, 2)[2]
    # the source run did not load page 2 (held or failed there): replay would settle it
    conn.execute(
        "UPDATE ingest_page SET status = 'held', error = 'held by data quality' "
        "WHERE run_id = %s AND page = 2",
        (run_id,),
    )
    tampered = _rewrite_consistently(store, keys[1])
    conn.execute("DELETE FROM job")

    result = replay(conn, store)  # no --run-id, no --date: everything

    _assert_refused(conn, result, tampered, truth)
    status, error, sha = _page(conn, run_id, 2)
    assert status == "failed"  # not settled as loaded by this replay
    assert error is not None and MISMATCH in error
    assert sha == recorded  # the ledger keeps the hash recorded at capture
    assert _page(conn, result.run_id, 2)[0] == "failed"

    # by date: the same refusal
    conn.execute("DELETE FROM job")
    by_date = replay(conn, store, on_date=keys[1].run_date)
    _assert_refused(conn, by_date, tampered, truth)


def test_resume_refuses_a_bronze_page_rewritten_after_capture(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, sim: SimulatorServer
) -> None:
    truth = set(sim.matching(NATIONWIDE.to_params()))
    run_id, keys = _captured(conn, store, sim)
    recorded = _page(conn, run_id, 2)[2]
    # every page captured, none loaded yet (as after a crash): resume loads them from bronze
    conn.execute("DELETE FROM job")
    conn.execute("UPDATE ingest_page SET status = 'pending' WHERE run_id = %s", (run_id,))
    tampered = _rewrite_consistently(store, keys[1])
    seen = len(sim.requests())

    result = _run(conn, store, sim, RunOptions(query=NATIONWIDE, resume=run_id))

    searched = [r for r in sim.requests()[seen:] if r.path.lower().endswith("/search")]
    assert searched == []  # all three pages came from bronze
    assert result.run_id == run_id
    _assert_refused(conn, result, tampered, truth)
    assert result.summary["complete"] is False
    status, error, sha = _page(conn, run_id, 2)
    assert status == "failed"
    assert error is not None and MISMATCH in error and keys[1].path in error
    assert sha == recorded


def test_objects_the_ledger_has_no_hash_for_load_as_unverified(
    conn: psycopg.Connection[Any], store: LocalBronzeStore, sim: SimulatorServer
) -> None:
    """A wiped ledger row, or a NULL hash (stopped before it was recorded): load, flagged."""
    truth = set(sim.matching(NATIONWIDE.to_params()))
    run_id, keys = _captured(conn, store, sim)
    conn.execute("DELETE FROM ingest_page WHERE run_id = %s AND page = 1", (run_id,))
    conn.execute(
        "UPDATE ingest_page SET sha256 = NULL, status = 'pending' WHERE run_id = %s AND page = 2",
        (run_id,),
    )
    conn.execute("DELETE FROM job")

    result = replay(conn, store, run_id=run_id)

    assert not result.failed, result.summary
    assert set(_jobs(conn)) == truth
    assert result.summary["unverified_pages"] == 2
    assert result.summary["unverified"] == [keys[0].path, keys[1].path]


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
def test_replay_from_s3_refuses_an_object_rewritten_after_capture(
    conn: psycopg.Connection[Any], sim: SimulatorServer, s3_server: Any, bucket: str
) -> None:
    from tasman_etl.storage.bronze_s3 import S3BronzeStore

    s3 = S3BronzeStore(
        bucket, "bronze/usajobs", endpoint_url=s3_server.endpoint_url, region=s3_server.region
    )
    truth = set(sim.matching(NATIONWIDE.to_params()))
    run_id, keys = _captured(conn, s3, sim)
    tampered = _rewrite_consistently(s3, keys[1], s3=s3_server.client())
    conn.execute("DELETE FROM job")

    result = replay(conn, s3, run_id=run_id)

    _assert_refused(conn, result, tampered, truth)
    status, error, _ = _page(conn, result.run_id, 2)
    assert status == "failed" and error is not None and MISMATCH in error


def test_resume_checks_pages_captured_but_not_loaded_when_the_run_stopped(
    conn: psycopg.Connection[Any], migrated_db_url: str, store: LocalBronzeStore
) -> None:
    """The capture hash is in the ledger as soon as the page is in bronze, before it loads:
    a page the stopped run fetched but never loaded is checked by the resume too."""
    stop = threading.Event()
    with SimulatorServer(SimulatorConfig(jobs=400, seed=11, auth_key=KEY)) as sim:
        truth = set(sim.matching(NATIONWIDE.to_params()))

        def stop_while_page_5_is_served(params: Any) -> None:
            if params.get("Page") == "5":
                stop.set()

        sim.before_search = stop_while_page_5_is_served
        config = ClientConfig(
            api_base=sim.base_url,
            auth_key=SecretStr(KEY),
            user_agent="tests@tasman-etl.invalid",
            requests_per_second=1000,
            timeout_s=5,
        )
        with (
            UsajobsClient(config, sleep=Sleeps()) as client,
            psycopg.connect(migrated_db_url, autocommit=True) as side,
        ):
            first = execute_run(
                conn,
                store,
                client,
                RunOptions(query=NATIONWIDE, results_per_page=40),
                stop=stop,
                lookup_conn=side,
            )
        assert first.summary["status"] == "aborted"
        status, _, recorded = _page(conn, first.run_id, 5)
        assert status == "pending"  # fetched and in bronze, never loaded
        assert recorded is not None
        (key,) = [k for k in store.list(run_id=first.run_id) if k.page == 5]
        assert read_envelope(store.get(key)).ingest["sha256"] == recorded
        tampered = _rewrite_consistently(store, key)
        sim.before_search = None

        resumed = _run(conn, store, sim, RunOptions(query=NATIONWIDE, resume=first.run_id))

    assert resumed.failed
    status, error, sha = _page(conn, first.run_id, 5)
    assert status == "failed"
    assert error is not None and MISMATCH in error
    assert sha == recorded
    jobs = _jobs(conn)
    assert not any(title.startswith(TAMPERED) for title in jobs.values())
    assert set(jobs) == truth - tampered

"""The S3 bronze store unavailable for a while, then back (SeaweedFS behind a fault proxy).

After three pages the proxy starts resetting every connection to S3. Pages fetched after that
cannot be captured: each is recorded `failed` with the S3 error and the run ends `failed`
(exit 1). Pages captured before the outage (the fetch threads read ahead) load normally;
no page is ever half in silver. A `--resume` while S3 is still down stops at once (it lists
bronze first), asking the API nothing; once S3 is back, `--resume` completes the run and
silver is exact. botocore's own retries are off here (max_attempts=1) so nothing sleeps
through real backoff; the store's default (4 attempts, exponential backoff) also rides out
blips shorter than that backoff.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from botocore.config import Config

from tasman_etl.errors import StorageError
from tasman_etl.http.usajobs import SearchQuery
from tasman_etl.runner.run import RunOptions
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import BronzeKey, build_envelope, read_envelope, sha256_hex
from tasman_etl.storage.bronze_s3 import S3BronzeStore

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-key-6e1f0a9b7c"
JOBS = 400
PER_PAGE = 40
DOWN_AFTER = 3
OPTS = RunOptions(query=SearchQuery(), results_per_page=PER_PAGE)
PREFIX = "bronze/usajobs"


def _store_through(s3_server: Any, bucket: str, proxy: Any) -> S3BronzeStore:
    client = s3_server.client(
        endpoint_url=proxy.url,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
        ),
    )
    return S3BronzeStore(
        bucket, PREFIX, endpoint_url=proxy.url, region=s3_server.region, client=client
    )


def _objects(s3_server: Any, bucket: str) -> int:
    return len(_object_pages(s3_server, bucket))


def _object_pages(s3_server: Any, bucket: str) -> set[str]:
    """Ledger page keys (``page=0003``) of the objects in the bucket."""
    listed = s3_server.client().list_objects_v2(Bucket=bucket, Prefix=PREFIX)
    return {o["Key"].rsplit("/", 1)[1].removesuffix(".json.gz") for o in listed.get("Contents", [])}


def _go_down_after(proxy: Any, pages: int) -> Any:
    """A simulator `before_search` hook: S3 goes down when page `pages + 1` is requested.

    Pages are captured by worker threads as they arrive and loaded in order behind them, so
    the outage is tied to what has been fetched, not to what has been loaded.
    """
    requests = 0

    def before_search(params: Any) -> None:
        nonlocal requests
        requests += 1
        if requests == pages + 1:
            proxy.down = True

    return before_search


def _ledger(conn: psycopg.Connection[Any]) -> tuple[str, str, dict[str, str]]:
    row = conn.execute("SELECT run_id, status FROM ingest_run").fetchone()
    assert row is not None
    pages = conn.execute("SELECT page_key, status FROM ingest_page").fetchall()
    return row[0], row[1], {k: s for k, s in pages}


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
def test_s3_outage_then_resume_when_back(
    conn: psycopg.Connection[Any],
    s3_server: Any,
    bucket: str,
    fault_proxy: Any,
    run_search: Any,
    silver: Any,
) -> None:
    endpoint = urlsplit(s3_server.endpoint_url)
    assert endpoint.hostname and endpoint.port
    proxy = fault_proxy(endpoint.hostname, endpoint.port)
    store = _store_through(s3_server, bucket, proxy)
    with SimulatorServer(SimulatorConfig(jobs=JOBS, seed=21, auth_key=KEY)) as sim:
        truth = set(sim.matching({}))
        sim.before_search = _go_down_after(proxy, DOWN_AFTER)
        first = run_search(conn, store, sim, OPTS)
        sim.before_search = None
        run_id, status, pages = _ledger(conn)
        assert first.result.failed
        assert status == "failed"
        loaded = sorted(k for k, s in pages.items() if s == "loaded")
        failed = sorted(k for k, s in pages.items() if s == "failed")
        # The page a second worker was still storing when the outage began may fail too.
        assert len(loaded) >= DOWN_AFTER - 1
        assert failed, "pages fetched during the outage are recorded as failed"
        assert len(loaded) + len(failed) == len(pages) == JOBS // PER_PAGE
        errors = conn.execute(
            "SELECT DISTINCT split_part(error, ' for ', 1) FROM ingest_page WHERE status = 'failed'"
        ).fetchall()
        assert errors == [("S3 put failed",)]
        assert first.result.summary["failed_pages"] == len(failed)
        # whole pages only: silver holds exactly the loaded pages' jobs, bronze those pages
        # (and any failed page whose PUT was stored before the reset cut its answer off)
        assert len(silver(conn)) == len(loaded) * PER_PAGE
        stored = _object_pages(s3_server, bucket)
        assert set(loaded) <= stored <= set(loaded) | set(failed)
        assert proxy.refused >= 1

        # still down: the resume stops before fetching anything, silver untouched
        seen = len(sim.requests())
        with pytest.raises(StorageError, match="S3 list failed"):
            run_search(conn, store, sim, RunOptions(query=SearchQuery(), resume=run_id))
        assert len(sim.requests()) == seen
        assert len(silver(conn)) == len(loaded) * PER_PAGE

        proxy.down = False
        resumed = run_search(conn, store, sim, RunOptions(query=SearchQuery(), resume=run_id))
        asked = [int(r.params["Page"]) for r in sim.requests()[seen:]]
    # the last request reads page 1 again: the check that no row moved during the sweep
    assert asked[-1] == 1
    refetched = set(asked[:-1])
    assert not resumed.result.failed, resumed.result.summary
    assert resumed.result.summary["complete"] is True
    assert silver(conn) == truth
    assert _objects(s3_server, bucket) == JOBS // PER_PAGE
    assert set(_ledger(conn)[2].values()) == {"loaded"}
    assert refetched == {int(k.removeprefix("page=")) for k in set(failed) - stored}


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
def test_a_put_refused_by_a_blip_is_retried_and_lands(
    s3_server: Any, bucket: str, fault_proxy: Any
) -> None:
    """The store's own retries (botocore standard mode, 4 attempts) ride out a short outage:
    the first connection is reset before it reaches S3, the next attempt stores the object."""
    endpoint = urlsplit(s3_server.endpoint_url)
    assert endpoint.hostname and endpoint.port
    proxy = fault_proxy(endpoint.hostname, endpoint.port)
    store = S3BronzeStore(bucket, PREFIX, endpoint_url=proxy.url, region=s3_server.region)
    body = build_envelope(
        endpoint="/api/search",
        params={"Page": 1},
        sent_at=datetime(2026, 1, 2, tzinfo=UTC),
        status=200,
        received_at=datetime(2026, 1, 2, tzinfo=UTC),
        headers={},
        payload_bytes=b'{"SearchResult":{}}',
        run_id="blip",
        page=1,
        part=None,
        code_version="test",
    )
    key = BronzeKey(run_date=date(2026, 1, 2), run_id="blip", page=1, prefix=PREFIX)
    proxy.down = True

    def back_after_first_refusal() -> None:
        while proxy.refused < 1:
            time.sleep(0.01)
        proxy.down = False

    watcher = threading.Thread(target=back_after_first_refusal, daemon=True)
    watcher.start()
    result = store.put(key, body, payload_sha256=sha256_hex(b'{"SearchResult":{}}'))
    watcher.join(timeout=5)
    assert proxy.refused >= 1  # the first attempt never reached S3
    assert result.created
    assert _object_pages(s3_server, bucket) == {"page=0001"}
    assert read_envelope(store.get(key)).run_id == "blip"

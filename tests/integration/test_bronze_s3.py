"""S3BronzeStore against real S3 servers on loopback (SeaweedFS, which checks checksums and
signatures, and moto as the fast fallback)."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from factories import bronze_page
from tasman_etl.config import Settings
from tasman_etl.errors import BronzeIntegrityError, StorageError
from tasman_etl.storage.bronze import (
    BronzeKey,
    PutResult,
    open_bronze_store,
    read_envelope,
)
from tasman_etl.storage.bronze_s3 import S3BronzeStore

PREFIX = "bronze/usajobs"
DAY = date(2025, 9, 3)
S3Server = Any  # conftest.S3Server (conftest modules are not importable)
seaweedfs_only = pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)


def _key(page: int = 1, run_id: str = "r1", day: date = DAY, part: str | None = None) -> BronzeKey:
    return BronzeKey(PREFIX, day, run_id, page, part)


def _store(server: S3Server, bucket: str, **kwargs: Any) -> S3BronzeStore:
    """A store built the production way: default credential chain (the fixture's env)."""
    return S3BronzeStore(
        bucket, PREFIX, endpoint_url=server.endpoint_url, region=server.region, **kwargs
    )


def test_round_trip_with_metadata(s3_server: S3Server, bucket: str) -> None:
    store = _store(s3_server, bucket)
    body, sha = bronze_page({"n": 1, "text": "Zürich"})
    key = _key()
    assert not store.exists(key)
    result = store.put(key, body, payload_sha256=sha)
    assert result.created
    assert result.body_sha256 == hashlib.sha256(body).hexdigest()
    assert result.uri == f"s3://{bucket}/{key.path}"
    assert store.exists(key)
    assert store.get(key) == body
    assert read_envelope(store.get(key)).payload == {"n": 1, "text": "Zürich"}

    head = s3_server.client().head_object(Bucket=bucket, Key=key.path, ChecksumMode="ENABLED")
    assert head["Metadata"] == {"payload-sha256": sha, "body-sha256": result.body_sha256}
    assert head["ContentType"] == "application/json"
    assert head["ContentEncoding"] == "gzip"
    assert head["ContentLength"] == len(body)
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_write_once_uses_the_conditional_put(s3_server: S3Server, bucket: str) -> None:
    store = _store(s3_server, bucket)
    body, sha = bronze_page({"n": 1})
    refetched, same_sha = bronze_page({"n": 1}, delay_s=30)
    first = store.put(_key(), body, payload_sha256=sha)
    again = store.put(_key(), refetched, payload_sha256=same_sha)
    assert first.created
    assert not again.created
    assert again.body_sha256 == first.body_sha256
    other, other_sha = bronze_page({"n": 2})
    with pytest.raises(BronzeIntegrityError, match="write-once violated"):
        store.put(_key(), other, payload_sha256=other_sha)
    assert store.get(_key()) == body
    # The server itself refuses the overwrite: that is what put relies on.
    with pytest.raises(ClientError) as info:
        s3_server.client().put_object(Bucket=bucket, Key=_key().path, Body=b"x", IfNoneMatch="*")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_concurrent_writers_of_the_same_page(s3_server: S3Server, bucket: str) -> None:
    store = _store(s3_server, bucket)
    bodies = [bronze_page({"n": 1}, delay_s=i) for i in range(4)]
    barrier = threading.Barrier(len(bodies))
    results: list[PutResult] = []

    def write(i: int) -> None:
        barrier.wait()
        results.append(store.put(_key(), bodies[i][0], payload_sha256=bodies[i][1]))

    with ThreadPoolExecutor(len(bodies)) as pool:
        list(pool.map(write, range(len(bodies))))
    assert sorted(r.created for r in results) == [False, False, False, True]
    stored = store.get(_key())
    assert {r.body_sha256 for r in results} == {hashlib.sha256(stored).hexdigest()}


def test_object_with_wrong_recorded_checksum_fails_on_read(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket)
    body, sha = bronze_page({"n": 1})
    s3_server.client().put_object(
        Bucket=bucket,
        Key=_key().path,
        Body=body,
        Metadata={"payload-sha256": sha, "body-sha256": "0" * 64},
    )
    with pytest.raises(BronzeIntegrityError, match="checksum mismatch"):
        store.get(_key())
    s3_server.client().put_object(Bucket=bucket, Key=_key(2).path, Body=body)
    with pytest.raises(BronzeIntegrityError, match="no body-sha256"):
        store.get(_key(2))
    with pytest.raises(BronzeIntegrityError, match="write-once violated"):
        store.put(_key(2), body, payload_sha256=sha)  # a foreign object: no payload-sha256


def test_missing_object_is_not_found(s3_server: S3Server, bucket: str) -> None:
    with pytest.raises(StorageError, match="not found") as info:
        _store(s3_server, bucket).get(_key())
    assert not isinstance(info.value, BronzeIntegrityError)


def test_listing_pages_through_small_result_pages(s3_server: S3Server, bucket: str) -> None:
    store = _store(s3_server, bucket, list_page_size=2)
    day2 = DAY + timedelta(days=1)
    keys = [
        _key(10, "r1"),
        _key(2, "r1"),
        _key(1, "r1", part="s2210"),
        _key(1, "r2"),
        _key(1, "r1", day=day2),
        _key(3, "r3", day=day2),
    ]
    for n, key in enumerate(keys):
        body, sha = bronze_page({"n": n})
        store.put(key, body, payload_sha256=sha)
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key=f"{PREFIX}/README.txt", Body=b"not a page")
    client.put_object(Bucket=bucket, Key="elsewhere/date=2025/09/03/run=r1/page=0001.json.gz")

    assert list(store.list()) == sorted(keys, key=lambda k: k.sort_key)
    assert list(store.list(run_id="r1")) == [
        _key(2, "r1"),
        _key(10, "r1"),
        _key(1, "r1", part="s2210"),
        _key(1, "r1", day=day2),
    ]
    assert list(store.list(run_date=day2)) == [_key(1, "r1", day=day2), _key(3, "r3", day=day2)]
    assert list(store.list(run_date=DAY, run_id="r2")) == [_key(1, "r2")]
    assert list(store.list(run_id="absent")) == []


def test_factory_builds_the_s3_store_from_settings(s3_server: S3Server, bucket: str) -> None:
    # AWS_ENDPOINT_URL, AWS_REGION and the keys come from the environment the fixture set.
    settings = Settings(_env_file=None, bronze_s3_bucket=bucket)
    store = open_bronze_store(settings)
    assert isinstance(store, S3BronzeStore)
    body, sha = bronze_page({"n": 1})
    assert store.put(_key(), body, payload_sha256=sha).created
    assert store.get(_key()) == body
    assert store.describe() == (
        f"s3://{bucket}/{PREFIX} (endpoint={s3_server.endpoint_url}, region={s3_server.region})"
    )


@seaweedfs_only
def test_server_rejects_a_wrong_checksum(s3_server: S3Server, bucket: str) -> None:
    body, _ = bronze_page({"n": 1})
    wrong = base64.b64encode(hashlib.sha256(body + b"!").digest()).decode()
    with pytest.raises(ClientError) as info:
        s3_server.client().put_object(
            Bucket=bucket, Key=_key().path, Body=body, ChecksumSHA256=wrong
        )
    assert info.value.response["Error"]["Code"] == "BadDigest"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not _store(s3_server, bucket).exists(_key())


@seaweedfs_only
def test_store_surfaces_a_refused_checksum_as_an_integrity_error(
    s3_server: S3Server, bucket: str
) -> None:
    client = s3_server.client(region_name=s3_server.region)  # a client of its own

    def corrupt_checksum(request: Any, **_: Any) -> None:
        # Before signing, so the signature stays valid and only the checksum is wrong.
        del request.headers["x-amz-checksum-sha256"]  # (assigning would add a second one)
        request.headers["x-amz-checksum-sha256"] = base64.b64encode(b"\0" * 32).decode()

    client.meta.events.register("before-sign.s3.PutObject", corrupt_checksum)
    store = S3BronzeStore(bucket, PREFIX, client=client)
    body, sha = bronze_page({"n": 1})
    with pytest.raises(BronzeIntegrityError, match="checksum mismatch"):
        store.put(_key(), body, payload_sha256=sha)
    assert not _store(s3_server, bucket).exists(_key())


@seaweedfs_only
def test_wrong_secret_is_a_storage_error_without_the_secret(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_secret = "wrong-" + s3_server.secret_key[::-1]
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    store = _store(s3_server, bucket)
    body, sha = bronze_page({"n": 1})
    with pytest.raises(StorageError) as info:
        store.put(_key(), body, payload_sha256=sha)
    message = str(info.value)
    assert "SignatureDoesNotMatch" in message
    assert "HTTP 403" in message
    for secret in (wrong_secret, s3_server.secret_key):
        assert secret not in message
        assert secret not in repr(info.value.__cause__)
    with pytest.raises(StorageError, match=r"S3 list failed .*HTTP 403"):
        store.exists(_key())  # HEAD has no error body: only the status
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    assert not _store(s3_server, bucket).exists(_key())  # nothing was written


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials for a server that is not there; no profile or ~/.aws."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unreachable-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unreachable-test-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


@pytest.mark.usefixtures("fake_aws_env")
def test_unreachable_endpoint_is_a_storage_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = S3BronzeStore(
        "bucket",
        PREFIX,
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        max_attempts=1,
        connect_timeout_s=1,
    )
    body, sha = bronze_page({"n": 1})
    with pytest.raises(StorageError, match="EndpointConnectionError") as info:
        store.put(_key(), body, payload_sha256=sha)
    assert "unreachable-test-secret" not in str(info.value)
    with pytest.raises(StorageError, match="S3 list failed"):
        store.exists(_key())
    with pytest.raises(StorageError, match="S3 list failed"):
        list(store.list())

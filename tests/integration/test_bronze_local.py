"""LocalBronzeStore on a real folder: write-once, integrity, listing, concurrent writers."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from factories import bronze_page
from tasman_etl.errors import BronzeIntegrityError, StorageError
from tasman_etl.storage.bronze import (
    BronzeKey,
    LocalBronzeStore,
    PutResult,
    read_envelope,
)

PREFIX = "bronze/usajobs"
DAY = date(2025, 9, 3)


@pytest.fixture
def store(tmp_path: Path) -> LocalBronzeStore:
    return LocalBronzeStore(tmp_path / "bronze", PREFIX)


def _key(page: int = 1, run_id: str = "r1", day: date = DAY, part: str | None = None) -> BronzeKey:
    return BronzeKey(PREFIX, day, run_id, page, part)


def test_put_get_round_trip(store: LocalBronzeStore) -> None:
    body, sha = bronze_page({"n": 1})
    key = _key()
    assert not store.exists(key)
    result = store.put(key, body, payload_sha256=sha)
    assert result.created
    assert result.body_sha256 == hashlib.sha256(body).hexdigest()
    path = store.root / key.path
    assert result.uri == path.resolve().as_uri()
    assert store.exists(key)
    assert store.get(key) == body
    assert read_envelope(store.get(key)).payload == {"n": 1}
    sidecar = json.loads(path.with_name(path.name + ".sha256").read_text())
    assert sidecar == {"body_sha256": result.body_sha256, "payload_sha256": sha}
    assert path.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "page=0001.json.gz",
        "page=0001.json.gz.sha256",
    ]


def test_same_payload_again_is_a_no_op(store: LocalBronzeStore) -> None:
    first_body, sha = bronze_page({"n": 1})
    later_body, same_sha = bronze_page(
        {"n": 1}, delay_s=60
    )  # a refetch: same payload, new timestamps
    assert first_body != later_body
    assert sha == same_sha
    first = store.put(_key(), first_body, payload_sha256=sha)
    again = store.put(_key(), later_body, payload_sha256=same_sha)
    assert first.created
    assert not again.created
    assert again.body_sha256 == first.body_sha256
    assert again.uri == first.uri
    assert store.get(_key()) == first_body


def test_other_payload_for_an_existing_key_is_refused(store: LocalBronzeStore) -> None:
    body, sha = bronze_page({"n": 1})
    store.put(_key(), body, payload_sha256=sha)
    other_body, other_sha = bronze_page({"n": 2})
    with pytest.raises(BronzeIntegrityError, match="write-once violated"):
        store.put(_key(), other_body, payload_sha256=other_sha)
    assert store.get(_key()) == body


def test_tampered_object_fails_its_checksum(store: LocalBronzeStore) -> None:
    body, sha = bronze_page({"n": 1})
    store.put(_key(), body, payload_sha256=sha)
    path = store.root / _key().path
    path.chmod(0o644)
    tampered = bytearray(body)
    tampered[len(tampered) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    with pytest.raises(BronzeIntegrityError, match="checksum mismatch"):
        store.get(_key())


def test_tampered_sidecar_fails_the_read(store: LocalBronzeStore) -> None:
    body, sha = bronze_page({"n": 1})
    store.put(_key(), body, payload_sha256=sha)
    sidecar = store.root / (_key().path + ".sha256")
    sidecar.chmod(0o644)
    sidecar.write_text(json.dumps({"body_sha256": "0" * 64, "payload_sha256": sha}))
    with pytest.raises(BronzeIntegrityError, match="checksum mismatch"):
        store.get(_key())
    sidecar.write_text("{not json")
    with pytest.raises(BronzeIntegrityError, match="bad checksum record"):
        store.get(_key())


def test_interrupted_put_is_repaired_by_the_next_put(store: LocalBronzeStore) -> None:
    body, sha = bronze_page({"n": 1})
    store.put(_key(), body, payload_sha256=sha)
    sidecar = store.root / (_key().path + ".sha256")
    sidecar.unlink()  # as if the process died between the two links
    with pytest.raises(BronzeIntegrityError, match="no checksum record"):
        store.get(_key())
    other_body, other_sha = bronze_page({"n": 2})
    with pytest.raises(BronzeIntegrityError, match="write-once violated"):
        store.put(_key(), other_body, payload_sha256=other_sha)
    assert store.get(_key()) == body  # the sidecar was rebuilt from the object
    assert not store.put(_key(), body, payload_sha256=sha).created


def test_missing_object_is_a_storage_error_not_an_integrity_error(
    store: LocalBronzeStore,
) -> None:
    with pytest.raises(StorageError, match="not found") as info:
        store.get(_key())
    assert not isinstance(info.value, BronzeIntegrityError)


def test_keys_of_another_prefix_and_bad_checksums_are_refused(store: LocalBronzeStore) -> None:
    body, sha = bronze_page({"n": 1})
    with pytest.raises(ValueError, match="prefix"):
        store.put(BronzeKey("elsewhere", DAY, "r1", 1), body, payload_sha256=sha)
    with pytest.raises(ValueError, match="payload_sha256"):
        store.put(_key(), body, payload_sha256=sha.upper())
    assert list(store.list()) == []


def test_listing_by_run_date_and_everything(store: LocalBronzeStore, tmp_path: Path) -> None:
    day2 = DAY + timedelta(days=1)
    keys = [
        _key(2, "r1"),
        _key(10, "r1"),
        _key(1, "r1", part="s2210"),
        _key(1, "r2"),
        _key(1, "r3", day=day2),
        _key(1, "r1", day=day2),  # same run id on another date (a run that crossed midnight)
    ]
    for n, key in enumerate(keys):
        body, sha = bronze_page({"n": n}, run_id=key.run_id, page=key.page)
        store.put(key, body, payload_sha256=sha)
    # Things that are not objects of this store are ignored.
    other = LocalBronzeStore(store.root, "other/prefix")
    body, sha = bronze_page({"n": 99})
    other.put(BronzeKey("other/prefix", DAY, "r1", 1), body, payload_sha256=sha)
    (store.root / PREFIX / "README.txt").write_text("not a page")

    expected = sorted(keys, key=lambda k: k.sort_key)
    assert list(store.list()) == expected
    assert [k.path for k in store.list(run_id="r1")] == [
        f"{PREFIX}/date=2025/09/03/run=r1/page=0002.json.gz",
        f"{PREFIX}/date=2025/09/03/run=r1/page=0010.json.gz",
        f"{PREFIX}/date=2025/09/03/run=r1/part=s2210/page=0001.json.gz",
        f"{PREFIX}/date=2025/09/04/run=r1/page=0001.json.gz",
    ]
    assert list(store.list(run_date=day2)) == [_key(1, "r1", day=day2), _key(1, "r3", day=day2)]
    assert list(store.list(run_id="r2", run_date=DAY)) == [_key(1, "r2")]
    assert list(store.list(run_id="nope")) == []
    assert list(store.list(run_date=date(2020, 1, 1))) == []
    assert list(LocalBronzeStore(tmp_path / "absent", PREFIX).list()) == []
    with pytest.raises(ValueError, match="run_id"):
        list(store.list(run_id="../r1"))


def _race(
    n: int, target: Callable[[int], PutResult]
) -> tuple[list[PutResult], list[BaseException]]:
    barrier = threading.Barrier(n)
    results: list[PutResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcome = target(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_writers_of_the_same_page_end_with_one_object(
    store: LocalBronzeStore, attempt: int
) -> None:
    bodies = [bronze_page({"n": 1, "attempt": attempt}, delay_s=i) for i in range(8)]
    results, errors = _race(
        8, lambda i: store.put(_key(), bodies[i][0], payload_sha256=bodies[i][1])
    )
    assert errors == []
    assert sorted(r.created for r in results) == [False] * 7 + [True]
    stored = store.get(_key())
    assert stored in {body for body, _ in bodies}
    assert {r.body_sha256 for r in results} == {hashlib.sha256(stored).hexdigest()}
    folder = (store.root / _key().path).parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "page=0001.json.gz",
        "page=0001.json.gz.sha256",
    ]


def test_concurrent_writers_of_different_payloads_one_wins(store: LocalBronzeStore) -> None:
    bodies = [bronze_page({"n": i}) for i in range(6)]
    results, errors = _race(
        6, lambda i: store.put(_key(), bodies[i][0], payload_sha256=bodies[i][1])
    )
    assert len(results) == 1
    assert results[0].created
    assert len(errors) == 5
    assert all(isinstance(e, BronzeIntegrityError) for e in errors)
    assert store.get(_key()) in {body for body, _ in bodies}

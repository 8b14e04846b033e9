"""Unit tests of the bronze key layout, the envelope and the store factory (no I/O but tmp)."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from isal import igzip

from tasman_etl.config import Settings
from tasman_etl.redact import register_secret
from tasman_etl.storage.bronze import (
    GZIP_LEVEL,
    BronzeKey,
    BronzeStore,
    Envelope,
    LocalBronzeStore,
    build_envelope,
    open_bronze_store,
    read_envelope,
)

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "usajobs"
ENVELOPE_FIXTURE = FIXTURES / "search_chicago_de_2025-09-03_page1.envelope.json.gz"
PAYLOAD_FIXTURE = FIXTURES / "search_chicago_de_2025-09-03_page1.json"
needs_fixtures = pytest.mark.skipif(
    not ENVELOPE_FIXTURE.is_file(),
    reason=f"real USAJOBS fixtures not found at {FIXTURES} (shared/ folder absent)",
)

SENT = datetime(2025, 9, 3, 13, 26, 2, 762309, tzinfo=UTC)
RECEIVED = SENT + timedelta(milliseconds=250)


def _envelope(body: bytes = b'{"b":1,"a":[1,2]}', **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "endpoint": "/api/search",
        "params": {"Keyword": "data engineering", "Page": 1},
        "sent_at": SENT,
        "status": 200,
        "received_at": RECEIVED,
        "headers": {"Content-Type": "application/json"},
        "payload_bytes": body,
        "run_id": "run-1",
        "page": 1,
        "part": None,
        "code_version": "0.1.0",
    }
    args.update(overrides)
    return build_envelope(**args)


# --- keys -----------------------------------------------------------------------------------


def test_key_renders_the_documented_layout() -> None:
    key = BronzeKey("bronze/usajobs", date(2025, 9, 3), "2025-09-03T1200Z.a1", 7)
    assert key.path == "bronze/usajobs/date=2025/09/03/run=2025-09-03T1200Z.a1/page=0007.json.gz"
    parted = BronzeKey("bronze/usajobs", date(2025, 9, 3), "r1", 12345, part="series-2210")
    assert parted.path == (
        "bronze/usajobs/date=2025/09/03/run=r1/part=series-2210/page=12345.json.gz"
    )
    assert BronzeKey("", date(2025, 1, 2), "r", 1).path == "date=2025/01/02/run=r/page=0001.json.gz"


_names = st.from_regex(r"[A-Za-z0-9._-]{1,20}", fullmatch=True).filter(
    lambda s: s not in {".", ".."}
)
_keys = st.builds(
    BronzeKey,
    prefix=st.lists(_names, max_size=3).map("/".join),
    run_date=st.dates(min_value=date(1000, 1, 1)),
    run_id=_names,
    page=st.integers(min_value=1, max_value=10**7),
    part=st.none() | _names,
)


@given(_keys)
def test_key_path_round_trips(key: BronzeKey) -> None:
    assert BronzeKey.parse(key.path) == key


@given(st.text(alphabet="date=/0123456789runpagt.jsonz-_.", max_size=60) | st.text(max_size=60))
def test_parse_accepts_only_canonical_paths(text: str) -> None:
    try:
        key = BronzeKey.parse(text)
    except ValueError:
        return
    assert key.path == text


@pytest.mark.parametrize(
    "path",
    [
        "",
        "bronze/date=2025/09/03/run=r1/page=0001.json",  # not .json.gz
        "bronze/date=2025/09/03/run=r1/page=00001.json.gz",  # not canonical padding
        "bronze/date=2025/09/03/run=r1/page=0000.json.gz",  # page 0
        "bronze/date=2025/13/03/run=r1/page=0001.json.gz",  # month 13
        "bronze/date=2025/9/3/run=r1/page=0001.json.gz",
        "bronze/date=2025/09/03/run=../page=0001.json.gz",
        "bronze/date=2025/09/03/run=./page=0001.json.gz",
        "bronze/date=2025/09/03/run=../../etc/page=0001.json.gz",
        "../bronze/date=2025/09/03/run=r1/page=0001.json.gz",
        "/bronze/date=2025/09/03/run=r1/page=0001.json.gz",
        "bronze//date=2025/09/03/run=r1/page=0001.json.gz",
        "bronze/date=2025/09/03/run=r 1/page=0001.json.gz",
        "bronze/date=2025/09/03/run=r1/part=a/b/page=0001.json.gz",
        "bronze/date=2025/09/03/run=r1/part=/page=0001.json.gz",
        "bronze\\date=2025/09/03/run=r1/page=0001.json.gz",
        "bronze/date=2025/09/03/run=r1/page=0001.json.gz.sha256",
        "bronze/date=2025/09/03/run=r1/page=0001.json.gz\n",
    ],
)
def test_parse_rejects_bad_paths(path: str) -> None:
    with pytest.raises(ValueError, match="bronze key"):
        BronzeKey.parse(path)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"run_id": ".."},
        {"run_id": "."},
        {"run_id": "a/b"},
        {"run_id": ""},
        {"run_id": "x" * 129},
        {"part": "../x"},
        {"part": ""},
        {"prefix": "../bronze"},
        {"prefix": "/bronze"},
        {"prefix": "bronze/"},
        {"page": 0},
        {"page": True},
        {"run_date": datetime(2025, 9, 3, tzinfo=UTC)},
    ],
)
def test_key_rejects_bad_fields(kwargs: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"prefix": "bronze", "run_date": date(2025, 9, 3), "run_id": "r1"}
    fields["page"] = 1
    fields.update(kwargs)
    with pytest.raises(ValueError, match=r"run_id|part|prefix|page|run_date"):
        BronzeKey(**fields)


def test_sort_key_orders_date_run_part_page() -> None:
    day1, day2 = date(2025, 9, 3), date(2025, 9, 4)
    keys = [
        BronzeKey("p", day2, "a", 1),
        BronzeKey("p", day1, "b", 1),
        BronzeKey("p", day1, "a", 10, part="x"),
        BronzeKey("p", day1, "a", 2),
        BronzeKey("p", day1, "a", 10),
        BronzeKey("p", day1, "a", 1, part="x"),
    ]
    ordered = sorted(keys, key=lambda k: k.sort_key)
    assert [(k.run_date.day, k.run_id, k.part, k.page) for k in ordered] == [
        (3, "a", None, 2),
        (3, "a", None, 10),
        (3, "a", "x", 1),
        (3, "a", "x", 10),
        (3, "b", None, 1),
        (4, "a", None, 1),
    ]


# --- envelope -------------------------------------------------------------------------------


def test_envelope_is_deterministic_gzip_with_zero_mtime() -> None:
    first, second = _envelope(), _envelope()
    assert first == second
    assert first[:4] == b"\x1f\x8b\x08\x00"
    assert first[4:8] == b"\x00\x00\x00\x00"  # MTIME
    assert json.loads(gzip.decompress(first))["response"]["payload"] == {"b": 1, "a": [1, 2]}
    assert _envelope(received_at=RECEIVED + timedelta(seconds=1)) != first


def test_envelope_compresses_at_the_documented_level() -> None:
    body = _envelope()
    assert GZIP_LEVEL == 1
    raw = gzip.decompress(body)
    assert body == build_envelope_via_igzip(raw)


def build_envelope_via_igzip(raw: bytes) -> bytes:
    """ISA-L's deflate at GZIP_LEVEL (ADR 0029) under our fixed header: igzip.compress's
    bytes but the extra-flags byte, which says "fastest" (4)."""
    reference = igzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
    assert reference[8:10] == b"\x00\xff"
    return reference[:8] + b"\x04\xff" + reference[10:]


def test_envelope_with_a_parsed_payload_embeds_the_bytes_verbatim() -> None:
    payload = b'{"zeta": 1,\n "alpha": {"y": "\xc3\xa9", "x": [2, 3.50]}}'
    parsed = json.loads(payload)
    fast = _envelope(payload, payload=parsed)
    slow = _envelope(payload)
    assert fast == _envelope(payload, payload=parsed)  # still deterministic
    assert payload in gzip.decompress(fast)  # verbatim, formatting included
    assert json.loads(gzip.decompress(fast)) == json.loads(gzip.decompress(slow))
    assert read_envelope(fast).ingest["sha256"] == hashlib.sha256(payload).hexdigest()


@pytest.mark.parametrize("payload", [b'\xff\xfe{"x": 1}', b"[1, 2]"])
def test_envelope_falls_back_to_parsing_bytes_it_cannot_embed(payload: bytes) -> None:
    with pytest.raises(ValueError, match="JSON"):
        _envelope(payload, payload={"x": 1})


def test_a_parsed_payload_with_nan_is_kept_verbatim() -> None:
    body = b'{"x": NaN, "y": [Infinity]}'
    envelope = read_envelope(_envelope(body, payload=json.loads(body)))
    assert envelope.payload["x"] != envelope.payload["x"]  # NaN, as received
    assert envelope.ingest["sha256"] == hashlib.sha256(body).hexdigest()


def test_envelope_layout_checksum_and_payload_order() -> None:
    payload = b'{"zeta": 1, "alpha": {"y": "\xc3\xa9", "x": 2}}'
    doc = json.loads(gzip.decompress(_envelope(payload, part="series-2210", page=3)))
    assert list(doc) == ["request", "response", "ingest"]
    assert doc["request"] == {
        "endpoint": "/api/search",
        "params": {"Keyword": "data engineering", "Page": 1},
        "sent_at": "2025-09-03T13:26:02.762309Z",
    }
    assert doc["response"]["status"] == 200
    assert doc["response"]["received_at"] == "2025-09-03T13:26:03.012309Z"
    assert list(doc["response"]["payload"]) == ["zeta", "alpha"]
    assert list(doc["response"]["payload"]["alpha"]) == ["y", "x"]
    assert doc["ingest"] == {
        "ingest_run_id": "run-1",
        "run_id": "run-1",
        "page": 3,
        "part": "series-2210",
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes_uncompressed": len(payload),
        "code_version": "0.1.0",
        "notes": "raw page 3",
    }


def test_envelope_is_compact_utf8() -> None:
    raw = gzip.decompress(_envelope('{"t": "Zürich ✓"}'.encode()))
    assert '"payload":{"t":"Zürich ✓"}'.encode() in raw
    assert b", " not in raw
    assert b": " not in raw


def test_timestamps_are_normalised_to_utc() -> None:
    chicago = timezone(timedelta(hours=-5))
    doc = read_envelope(_envelope(sent_at=datetime(2025, 9, 3, 8, 0, tzinfo=chicago)))
    assert doc.request["sent_at"] == "2025-09-03T13:00:00.000000Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        _envelope(sent_at=datetime(2025, 9, 3, 8, 0))


def test_envelope_keeps_no_secrets_or_request_headers() -> None:
    secret = "tasman-unit-FAKE-KEY-8c1f2e"  # a fake, registered to be masked
    register_secret(secret)
    body = _envelope(
        params={"Keyword": "data", "AuthorizationKey": secret, "nested": [f"x{secret}y"]},
        headers={
            "Content-Type": "application/json",
            "Authorization-Key": secret,
            "Set-Cookie": f"session={secret}",
            "X-RateLimit-Remaining": "99",
        },
    )
    raw = gzip.decompress(body)
    assert secret.encode() not in raw
    doc = json.loads(raw)
    assert doc["request"]["params"]["AuthorizationKey"] == "***"
    assert doc["request"]["params"]["nested"] == ["x***y"]
    assert doc["response"]["headers"] == {
        "Content-Type": "application/json",
        "X-RateLimit-Remaining": "99",
    }
    assert set(doc["request"]) == {"endpoint", "params", "sent_at"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"", "not valid JSON"),
    ],
)
def test_envelope_rejects_payloads_that_are_not_a_json_object(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _envelope(payload)


def test_envelope_rejects_params_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="JSON-serialisable"):
        _envelope(params={"since": date(2025, 1, 1)})
    with pytest.raises(ValueError, match="JSON-serialisable"):
        _envelope(params={"Radius": float("nan")})


def test_lone_surrogate_payload_still_round_trips_as_valid_utf8() -> None:
    payload = b'{"broken": "\\ud800 x", "ok": "\xc3\xa9"}'
    raw = gzip.decompress(_envelope(payload))
    raw.decode("utf-8")  # strict: must not raise
    assert read_envelope(raw).payload == json.loads(payload)


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
            max_leaves=8,
        ),
        max_size=5,
    )
)
def test_envelope_payload_round_trips(payload: dict[str, Any]) -> None:
    payload_bytes = json.dumps(payload).encode()
    envelope = read_envelope(_envelope(payload_bytes))
    assert envelope.payload == payload
    assert envelope.ingest["sha256"] == hashlib.sha256(payload_bytes).hexdigest()


# --- read_envelope ----------------------------------------------------------------------------


@needs_fixtures
def test_read_envelope_of_the_real_recorded_envelope() -> None:
    envelope = read_envelope(ENVELOPE_FIXTURE.read_bytes())
    assert envelope.request["endpoint"] == "/api/search"
    assert envelope.request["params"]["LocationName"] == "Chicago, Illinois"
    assert envelope.response["status"] == 200
    assert envelope.ingest == {"ingest_run_id": "local-manual"}
    assert envelope.payload == json.loads(PAYLOAD_FIXTURE.read_bytes())
    assert envelope.payload["SearchResult"]["SearchResultCount"] == 25


@needs_fixtures
def test_real_payload_through_build_and_read() -> None:
    payload_bytes = PAYLOAD_FIXTURE.read_bytes()
    body = _envelope(payload_bytes, headers={"Content-Type": "application/hr+json"})
    envelope = read_envelope(body)
    original = json.loads(payload_bytes)
    assert envelope.payload == original
    assert list(envelope.payload["SearchResult"]["SearchResultItems"][0]) == list(
        original["SearchResult"]["SearchResultItems"][0]
    )
    assert envelope.ingest["sha256"] == hashlib.sha256(payload_bytes).hexdigest()
    assert envelope.ingest["bytes_uncompressed"] == len(payload_bytes)
    assert len(body) < len(payload_bytes) // 5


def test_read_envelope_accepts_plain_json() -> None:
    plain = gzip.decompress(_envelope())
    assert read_envelope(plain).payload == {"b": 1, "a": [1, 2]}
    assert read_envelope(plain) == read_envelope(_envelope())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"SearchResult": {}}', "no response.payload"),
        (b"[]", "JSON object"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (gzip.compress(b"not json"), "JSON"),
        (b'{"response": {"payload": {}}, "ingest": []}', "must be objects"),
    ],
)
def test_read_envelope_rejects_what_is_not_an_envelope(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_envelope(body)


# --- factory ----------------------------------------------------------------------------------


def test_factory_defaults_to_the_local_folder(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, bronze_dir=tmp_path / "b", bronze_s3_bucket=None)
    store = open_bronze_store(settings)
    assert isinstance(store, LocalBronzeStore)
    assert isinstance(store, BronzeStore)
    assert store.root == tmp_path / "b"
    assert store.prefix == "bronze/usajobs"


def test_factory_picks_s3_when_a_bucket_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasman_etl.storage.bronze_s3 import S3BronzeStore

    monkeypatch.delenv("AWS_PROFILE", raising=False)  # a stray profile must not break this

    settings = Settings(
        _env_file=None,
        bronze_s3_bucket="my-bronze",
        bronze_s3_prefix="/raw/usajobs/",
        aws_region="eu-west-1",
        aws_endpoint_url="http://127.0.0.1:9",
    )
    store = open_bronze_store(settings)
    assert isinstance(store, S3BronzeStore)
    assert isinstance(store, BronzeStore)
    assert store.prefix == "raw/usajobs"
    assert store.describe() == (
        "s3://my-bronze/raw/usajobs (endpoint=http://127.0.0.1:9, region=eu-west-1)"
    )


def test_readers_take_the_run_id_under_either_name() -> None:
    new = read_envelope(_envelope(b'{"a": 1}'))
    assert new.run_id == "run-1"
    old = Envelope(request={}, response={"payload": {}}, ingest={"run_id": "run-0"})
    assert old.run_id == "run-0"
    assert Envelope(request={}, response={"payload": {}}).run_id is None


@needs_fixtures
def test_the_seeds_envelopes_name_their_run_as_ingest_run_id() -> None:
    assert read_envelope(ENVELOPE_FIXTURE.read_bytes()).run_id == "local-manual"

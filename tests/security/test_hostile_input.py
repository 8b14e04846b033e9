"""Hostile input: any JSON value anywhere in an item loads or is quarantined with a reason.

* Property tests (hypothesis, derandomized so CI sees the same examples every run): a JSON
  value of any type put at any position of a valid search item (or a new key anywhere) never
  raises from `transform_page`, and the item ends up exactly once, as a job row or as a
  quarantine row with a reason (never a partial page). A smaller number of examples goes
  through the real loader (`load_paths`: bronze, transform, PostgreSQL) to prove the
  database accepts what transform accepts and stores `raw_json` exactly.
* A bounded fuzz run of the response parser (`inspect_response`, then `search_items` and
  `transform_page`) on mutated real-shaped bodies.
* Text with NULs, lone surrogates and SQL/HTML metacharacters: stored exactly, or
  quarantined with a reason and the raw text.
* Values PostgreSQL cannot hold although Python's json accepts them (NaN, Infinity, numbers
  beyond `numeric`, time zone offsets beyond +-15:59) and values nested deeper than Python's
  recursion limit: quarantined with a reason.

The 50 MB page and the 1,000-deep value are in test_big_and_deep.py.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from factories import search_page
from tasman_etl.errors import FetchError
from tasman_etl.http.usajobs import inspect_response
from tasman_etl.runner.load import load_paths
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import LocalBronzeStore
from tasman_etl.transform import dump_json, search_items, transform_page

pytestmark = [pytest.mark.integration]

_BASE = list(SimulatorServer(SimulatorConfig(jobs=40, seed=3)).items)[:8]


def base_items() -> list[dict[str, Any]]:
    """Eight valid synthetic search items (fresh copies) from the seeded simulator."""
    return copy.deepcopy(_BASE)


@pytest.fixture
def items() -> list[dict[str, Any]]:
    """Eight valid search items to mutate."""
    return base_items()


@pytest.fixture
def write_page(tmp_path: Path) -> Callable[[list[Any], str], Path]:
    """`write_page(items, name)`: a search payload file (lone surrogates as JSON escapes)."""
    folder = tmp_path / "pages"
    folder.mkdir()

    def write(page_items: list[Any], name: str) -> Path:
        path = folder / name
        path.write_text(json.dumps(search_page(page_items), ensure_ascii=True), encoding="ascii")
        return path

    return write


# --------------------------------------------------------------------------- strategies

SPECIAL_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "'; DROP TABLE job; --",
    "Robert'); DELETE FROM ingest_run;--",
    '"quoted" \\ back\\slash',
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>&amp;&#0;",
    "\\N",
    "\\.",
    "\t\n\r\x0b\x0c",
    "%s %(seen)s {} $1 ?",
    "\u202e\u200b\ufeff",
    "\U0001f600 emoji",
    "\uff11\uff12\uff13",  # full-width digits
    "-0",
    "1e5",
    "$1,234.56",
    "Yes",
    "2025-01-01",
    "2025-02-30T00:00:00",
]
# Values that once broke the load although transform accepted them (now quarantined or
# normalised, see the tests below): numbers beyond PostgreSQL numeric and zone offsets
# beyond +-15:59.
DB_BREAKERS = ("1E+200000", "1e-200000", "2025-01-01T00:00:00+23:59")

texts = st.text(st.characters(blacklist_categories=()), max_size=30) | st.sampled_from(SPECIAL_TEXT)


def _json_values(*, finite: bool) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**80), max_value=2**80)
        | st.floats(allow_nan=not finite, allow_infinity=not finite)
        | texts
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
        max_leaves=10,
    )


ANY_JSON = _json_values(finite=False)
FINITE_JSON = _json_values(finite=True)

Path_ = tuple[str | int, ...]


def _positions(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key and index inside ``value``, as paths from the root."""
    out: list[Path_] = []
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((*prefix, key))
            out.extend(_positions(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.append((*prefix, index))
            out.extend(_positions(child, (*prefix, index)))
    return out


def _containers(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Paths of every dict inside ``value`` (where a new key can go), the root included."""
    out: list[Path_] = [prefix] if isinstance(value, dict) else []
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(_containers(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.extend(_containers(child, (*prefix, index)))
    return out


_TEMPLATE = base_items()[0]
POSITIONS = _positions(_TEMPLATE)
CONTAINERS = _containers(_TEMPLATE)


def _get(root: Any, path: Path_) -> Any:
    for step in path:
        root = root[step]
    return root


@st.composite
def hostile_items(draw: st.DrawFn, values: st.SearchStrategy[Any] = ANY_JSON) -> dict[str, Any]:
    """A valid item with one position replaced (or one key added) by any JSON value."""
    item = base_items()[draw(st.integers(0, 7))]
    value = draw(values)
    if draw(st.booleans()):
        path = draw(st.sampled_from(POSITIONS))
        try:
            _get(item, path[:-1])[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # this item is shaped differently there
            item[str(path[-1])] = value
    else:
        container = draw(st.sampled_from(CONTAINERS))
        try:
            _get(item, container)[draw(texts)] = value
        except (KeyError, IndexError, TypeError):
            item[draw(texts)] = value
    return item


def _accounted(rows: Any) -> None:
    """Every item is a job, an unchanged job, a duplicate or a quarantine row: nothing lost."""
    assert len(rows.control_numbers) + len(rows.quarantine) + rows.duplicates == rows.items
    assert len(rows.jobs) == len(rows.details) == len(rows.control_numbers) - len(rows.unchanged)
    for q in rows.quarantine:
        assert q.reason.strip(), q
        assert q.raw_text


# --------------------------------------------------------------------------- transform


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(item=hostile_items())
def test_any_value_anywhere_loads_or_is_quarantined(item: dict[str, Any]) -> None:
    rows = transform_page([item])
    _accounted(rows)
    assert rows.items == 1
    event("quarantined" if rows.quarantine else "loaded")
    if rows.jobs:
        raw = rows.jobs[0][-1]
        assert raw == dump_json(item)  # raw_json is the item exactly as received
        assert rows.control_numbers == [str(item["MatchedObjectId"]).strip()]


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(page=st.lists(hostile_items() | st.sampled_from(base_items()) | ANY_JSON, max_size=8))
def test_a_page_of_hostile_items_is_never_partial(page: list[Any]) -> None:
    rows = transform_page(page)
    assert rows.items == len(page)
    _accounted(rows)


# --------------------------------------------------------------------------- real loader


def _db_safe(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return value not in DB_BREAKERS
    if isinstance(value, dict):
        return all(_plain_key(k) and _db_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_db_safe(v) for v in value)
    return True


def _plain_key(key: str) -> bool:
    return "\x00" not in key and not any("\ud800" <= c <= "\udfff" for c in key)


_COUNTER = iter(range(10**9))
_BASE_CNS = {i["MatchedObjectId"] for i in _BASE}


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(item=hostile_items(FINITE_JSON).filter(_db_safe))
def test_postgresql_accepts_what_transform_accepts(
    item: dict[str, Any],
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    tmp_path: Path,
) -> None:
    n = next(_COUNTER)
    if isinstance(item.get("MatchedObjectId"), str) and item["MatchedObjectId"] in _BASE_CNS:
        # a job seen before with the same content hash is not validated again (by design):
        # give each example its own control number so examples do not depend on each other
        item["MatchedObjectId"] = str(700_000_000 + n)
    path = tmp_path / f"hostile-{n:05d}.json"
    path.write_text(json.dumps(search_page([item]), ensure_ascii=True), encoding="ascii")
    expected = transform_page([item])
    result = load_paths(conn, store, [path], run_id=f"hostile-{n:05d}")
    s = result.summary
    assert not result.failed, s
    assert s["failed_pages"] == 0 and s["pages"] == 1
    event("quarantined" if expected.quarantine else "loaded")
    if expected.quarantine:
        q = expected.quarantine[0]
        assert s["quarantined"] == 1
        # the same bad item on the same page is kept once (unique index), whichever run found it
        row = conn.execute(
            "SELECT raw_json = %s::jsonb, raw_text FROM quarantine WHERE reason = %s "
            "ORDER BY quarantine_id DESC LIMIT 1",
            (q.raw_text if q.storable else "null", q.reason),
        ).fetchone()
        assert row is not None
        if q.storable:
            assert row[0] is True
        else:
            assert row[0] is None and row[1] == q.raw_text
    else:
        cn = expected.control_numbers[0]
        row = conn.execute(
            "SELECT raw_json = %s::jsonb FROM job WHERE control_number = %s",
            (dump_json(item), cn),
        ).fetchone()
        assert row == (True,)  # jsonb equality with the item as received: stored exactly
        assert s["quarantined"] == 0


# --------------------------------------------------------------------------- metacharacters

METACHAR_TITLES = [
    "'; DROP TABLE job; --",
    'Data "Engineer" \\ \\N \\. tab\there',
    "<script>alert('x')</script> &amp; <b>bold</b>",
    "%s %(seen)s {} $1 ? :name",
    "line\nbreak\r\nand\u2028separator",
    "\u202eright-to-left\u200b zero width \ufeff",
    "\U0001f4bc Data Engineer \u00e9\u00e8",
]


def test_metacharacters_are_stored_exactly(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    items: list[dict[str, Any]],
    write_page: Callable[[list[Any], str], Path],
) -> None:
    page = items[: len(METACHAR_TITLES)]
    for item, title in zip(page, METACHAR_TITLES, strict=True):
        item["MatchedObjectDescriptor"]["PositionTitle"] = title
        item["MatchedObjectDescriptor"]["UserArea"]["Details"]["JobSummary"] = title * 3
        item[title] = [title, {title: title}]  # as keys and nested values too
    result = load_paths(conn, store, [write_page(page, "meta.json")])
    assert not result.failed, result.summary
    assert result.summary["inserted"] == len(page)
    for item, title in zip(page, METACHAR_TITLES, strict=True):
        row = conn.execute(
            "SELECT position_title, raw_json, raw_json = %s::jsonb FROM job "
            "WHERE control_number = %s",
            (json.dumps(item), item["MatchedObjectId"]),
        ).fetchone()
        assert row is not None
        assert row[0] == title.strip()  # titles are trimmed, nothing else changes
        assert row[1] == item
        assert row[2] is True
    tables = conn.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'job'"
    ).fetchone()
    assert tables == (1,)


@pytest.mark.parametrize(
    ("where", "text", "reason"),
    [
        ("title", "Data\x00Engineer", "NUL"),
        pytest.param("key", "a\x00key", "NUL"),
        ("nested", ["ok", {"deep": "x\x00"}], "NUL"),
        ("title", "Data \ud800 Engineer", "surrogate"),
        pytest.param("key", "\udfff", "surrogate"),
        ("nested", {"list": ["\ud83d"]}, "surrogate"),
    ],
)
def test_nul_and_lone_surrogates_are_quarantined_with_the_raw_text(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    items: list[dict[str, Any]],
    write_page: Callable[[list[Any], str], Path],
    where: str,
    text: Any,
    reason: str,
) -> None:
    bad = items[3]
    if where == "title":
        bad["MatchedObjectDescriptor"]["PositionTitle"] = text
    elif where == "key":
        bad["MatchedObjectDescriptor"][text] = "value"
    else:
        bad["MatchedObjectDescriptor"]["UserArea"]["Extra"] = text
    result = load_paths(conn, store, [write_page(items, "bad.json")])
    s = result.summary
    assert not result.failed, s
    assert (s["inserted"], s["quarantined"]) == (len(items) - 1, 1)
    row = conn.execute(
        "SELECT control_number, reason, raw_json, raw_text FROM quarantine"
    ).fetchone()
    assert row is not None
    assert row[0] == bad["MatchedObjectId"]
    assert reason in row[1]
    assert row[2] is None  # jsonb cannot hold it ...
    assert json.loads(row[3]) == json.loads(json.dumps(bad))  # ... the raw text keeps it whole
    loaded = {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}
    assert loaded == {i["MatchedObjectId"] for i in items} - {bad["MatchedObjectId"]}


# --------------------------------------------------------------------------- values the DB refuses


def _put(item: dict[str, Any], where: str, value: Any) -> None:
    d = item["MatchedObjectDescriptor"]
    if where == "extra":
        item["Extra"] = value
    elif where == "pay":
        d["PositionRemuneration"][0]["MinimumRange"] = value
        d["PositionRemuneration"][0]["MaximumRange"] = value
    elif where == "date":
        d["PublicationStartDate"] = value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_numbers_are_quarantined_not_the_page_lost(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    items: list[dict[str, Any]],
    write_page: Callable[[list[Any], str], Path],
    value: float,
) -> None:
    _put(items[2], "extra", value)
    result = load_paths(conn, store, [write_page(items, "nan.json")])
    s = result.summary
    recorded = conn.execute("SELECT count(*) FROM ingest_page").fetchone()
    assert recorded == (1,), "the file is at least in the ledger"
    assert (s["inserted"], s["quarantined"]) == (len(items) - 1, 1), s


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("pay", "1E+200000"),
        ("pay", "1e-200000"),
        ("date", "9999-12-31T23:59:59-23:00"),
    ],
    ids=["pay-huge", "pay-tiny", "offset-23:00-past-year-9999"],
)
def test_values_postgresql_cannot_hold_are_quarantined(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    items: list[dict[str, Any]],
    write_page: Callable[[list[Any], str], Path],
    where: str,
    value: str,
) -> None:
    _put(items[2], where, value)
    result = load_paths(conn, store, [write_page(items, "range.json")])
    s = result.summary
    assert s["failed_pages"] == 0, s.get("errors")
    assert (s["inserted"], s["quarantined"]) == (len(items) - 1, 1), s
    reason = conn.execute("SELECT reason FROM quarantine").fetchone()
    assert reason is not None
    assert "range" in reason[0] or "decimal places" in reason[0]


def test_zone_offsets_postgresql_refuses_are_stored_as_the_same_instant(
    conn: psycopg.Connection[Any],
    store: LocalBronzeStore,
    items: list[dict[str, Any]],
    write_page: Callable[[list[Any], str], Path],
) -> None:
    """PostgreSQL refuses offsets past +-15:59 that Python accepts: the loader sends UTC."""
    _put(items[2], "date", "2025-01-01T00:00:00+23:59")
    result = load_paths(conn, store, [write_page(items, "offset.json")])
    assert result.summary["inserted"] == len(items)
    row = conn.execute(
        "SELECT publication_start_date FROM job WHERE control_number = %s",
        (items[2]["MatchedObjectId"],),
    ).fetchone()
    assert row is not None
    assert row[0] == datetime(2024, 12, 31, 0, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- parser fuzz

_BODY = json.dumps(search_page(base_items()[:3]), separators=(",", ":")).encode()


@st.composite
def mutated_bodies(draw: st.DrawFn) -> bytes:
    body = bytearray(_BODY)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, max(0, len(body) - 1)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        if op == "flip" and body:
            body[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            body[pos:pos] = draw(
                st.sampled_from([b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\x00", b"\xff"])
                | st.binary(max_size=8)
            )
        elif op == "delete":
            del body[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del body[pos:]
        else:
            body[pos:pos] = json.dumps(draw(ANY_JSON)).encode()
    return bytes(body)


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(body=mutated_bodies() | st.binary(max_size=200))
def test_fuzz_the_response_parser(body: bytes) -> None:
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    payload, error = inspect_response(response)
    assert (payload is None) != (error is None)
    if error is not None:
        assert isinstance(error, FetchError)
        assert str(error)
        return
    try:
        items = search_items(payload)
    except ValueError as exc:  # a page-level problem, recorded as a failed page
        problem = str(exc)
        items = None
    if items is None:
        assert problem
        return
    rows = transform_page(items)
    assert rows.items == len(items)
    _accounted(rows)

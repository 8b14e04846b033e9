"""The page gate: every real item passes, each rule catches its case, duplicates only warn.

The gates here evaluate the suites natively (no Great Expectations import); the tests of
the Data Docs path (``docs_dir``) import Great Expectations, once for the module. That the
native results are Great Expectations' own is tested in test_gate_native.py.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from factories import LEN, OMIT, job_uri, search_item, search_page
from tasman_etl.dq import DqGate, build_gate, check_payload
from tasman_etl.dq.gate import items_frame, jobs_frame, search_result_count
from tasman_etl.dq.gx.suite import (
    CONTROL_NUMBERS_UNIQUE,
    ITEM_COUNT,
    page_expectations,
    row_expectations,
)
from tasman_etl.dq.outcome import GateOutcome
from tasman_etl.models import RATE_INTERVAL_CODES
from tasman_etl.transform import JOB_COLUMNS, PageRows, search_items, transform_page

from realdata import FIXTURES, SEARCH_FILES, load_payload, requires_fixtures

COL = {name: i for i, name in enumerate(JOB_COLUMNS)}
ROW_NAMES = [s.name for s in row_expectations(RATE_INTERVAL_CODES)]
PAGE_NAMES = [s.name for s in page_expectations()]


def _item(cn: str, **descriptor_changes: Any) -> dict[str, Any]:
    """A job every expectation passes: two places, a yearly pay range, dates in order."""
    descriptor: dict[str, Any] = {
        "ApplyURI": [job_uri(cn, port=True)],
        "PositionLocation": [
            {"LocationName": "Chicago, Illinois", "Latitude": 41.88415, "Longitude": -87.63241},
            {"LocationName": "Denver, Colorado", "Latitude": 39.7392, "Longitude": -104.9903},
        ],
        "PositionRemuneration": [
            {"MinimumRange": "100000.0", "MaximumRange": "150000.0", "RateIntervalCode": "PA"}
        ],
        "PublicationStartDate": "2025-07-17T00:00:00.0000",
        "ApplicationCloseDate": "2025-09-26T23:59:59.9970",
        "JobCategory": [{"Code": "2210", "Name": "IT"}],
        "JobGrade": [{"Code": "GS"}],
        "UserArea": {"Details": {"JobSummary": "Build pipelines.", "HiringPath": ["public"]}},
    }
    return search_item(cn, port=True, **{**descriptor, **descriptor_changes})


def _page(items: list[Any], count: Any = LEN) -> dict[str, Any]:
    """A page as the gate reads it: no ``SearchResultCountAll``; ``count=None``, no count."""
    return search_page(items, count=OMIT if count is None else count, count_all=OMIT)


def _gate_page(gate: Any, payload: dict[str, Any]) -> tuple[PageRows, GateOutcome]:
    rows = transform_page(search_items(payload))
    return rows, gate(rows, payload)


@pytest.fixture(scope="module")
def strict() -> DqGate:
    """Enforcing gate, item count holds (as for `run` pages)."""
    return DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES)


@pytest.fixture(scope="module")
def for_files() -> DqGate:
    """Enforcing gate, item count only warns (as for `load` of saved files)."""
    return DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES, item_count="warn")


@pytest.fixture(scope="module")
def lenient() -> DqGate:
    """DQ_ENFORCE=false."""
    return DqGate(enforce=False, known_rate_codes=RATE_INTERVAL_CODES)


# ------------------------------------------------------------------ real data


@requires_fixtures
def test_every_real_item_passes_every_row_expectation(for_files: DqGate) -> None:
    total = 0
    for path in SEARCH_FILES:
        payload = load_payload(path)
        rows, outcome = _gate_page(for_files, payload)
        by_name = {r["expectation"]: r for r in outcome.results}
        assert [r["expectation"] for r in outcome.results] == ROW_NAMES + PAGE_NAMES
        failed_rows = [n for n in ROW_NAMES if not by_name[n]["success"]]
        assert failed_rows == [], (path.name, failed_rows)
        assert by_name["control_numbers_unique"]["success"], path.name
        assert not outcome.hold
        assert outcome.rows.quarantine == []
        assert outcome.rows.jobs == rows.jobs
        total += len(outcome.rows.jobs)
    assert total == 794


@requires_fixtures
def test_the_trimmed_2024_page_is_held_for_run_pages_and_loads_for_saved_files(
    strict: DqGate, for_files: DqGate
) -> None:
    payload = load_payload(FIXTURES / "search_2024-06_it_specialist_portland_trimmed.json")
    _, held = _gate_page(strict, payload)
    assert held.hold is True
    assert held.failed_expectations == [ITEM_COUNT]
    count = next(r for r in held.results if r["expectation"] == ITEM_COUNT)
    assert count == {
        "expectation": ITEM_COUNT,
        "success": False,
        "unexpected_count": 23,
        "level": "page",
        "observed_value": 2,
        "expected_value": 25,
    }

    _, loaded = _gate_page(for_files, payload)
    assert loaded.hold is False
    assert len(loaded.rows.jobs) == 2 and loaded.rows.quarantine == []
    warned = next(r for r in loaded.results if r["expectation"] == ITEM_COUNT)
    assert warned["success"] is False and warned["gating"] is False

    off = DqGate(enforce=True, known_rate_codes=(), item_count="off")
    _, unchecked = _gate_page(off, payload)
    assert ITEM_COUNT not in [r["expectation"] for r in unchecked.results]
    assert unchecked.hold is False


# ------------------------------------------------------------------ row level


@requires_fixtures
def test_one_bad_row_in_500_quarantines_that_job_and_loads_499(strict: DqGate) -> None:
    payload = load_payload(FIXTURES / "search_2016-05_keyword_rpp500_page1.json")
    items = payload["SearchResult"]["SearchResultItems"]
    assert len(items) == 500
    bad = items[123]
    bad["MatchedObjectDescriptor"]["PositionURI"] = "ftp://example.org/job"
    cn = str(bad["MatchedObjectId"]).strip()
    rows, outcome = _gate_page(strict, payload)
    assert len(rows.jobs) == 500  # the models accept the URI; the gate does not
    assert outcome.hold is False
    assert len(outcome.rows.jobs) == 499
    assert [(q.item_index, q.control_number, q.reason) for q in outcome.rows.quarantine] == [
        (123, cn, "dq:position_uri_is_http_url")
    ]
    assert json.loads(outcome.rows.quarantine[0].raw_text) == bad
    for table in ("jobs", "locations", "categories", "grades", "hiring_paths", "details"):
        assert all(row[0] != cn for row in getattr(outcome.rows, table)), table
    assert len(outcome.rows.details) == 499
    assert cn not in outcome.rows.control_numbers and len(outcome.rows.control_numbers) == 499
    assert any(
        r["expectation"] == "position_uri_is_http_url" and r["unexpected_count"] == 1
        for r in outcome.results
    )
    assert "position_uri_is_http_url" in outcome.failed_expectations


def _no_locations(item: dict[str, Any]) -> None:
    item["MatchedObjectDescriptor"]["PositionLocation"] = []


def _set(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(item: dict[str, Any]) -> None:
        item["MatchedObjectDescriptor"].update(changes)

    return apply


def _pay(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(item: dict[str, Any]) -> None:
        item["MatchedObjectDescriptor"]["PositionRemuneration"][0].update(changes)

    return apply


# An item the models accept and each row expectation refuses: none repeats a model rule.
ROW_CASES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_set(PositionURI="www.usajobs.gov/job/1"), "position_uri_is_http_url"),
    (
        _set(ApplyURI=["https://ok.example/a", "mailto:hr@example.gov"]),
        "apply_uris_are_http_urls",
    ),
    (_set(ApplyURI=["javascript:alert(1)"]), "apply_uris_are_http_urls"),
    (_pay(MinimumRange="", MaximumRange="-5"), "pay_max_not_negative"),
    (_pay(RateIntervalCode="XX", Description="Per Fortnight"), "pay_interval_code_known"),
    (
        _set(PublicationStartDate="2025-10-01", ApplicationCloseDate="2025-09-01"),
        "publication_not_after_close",
    ),
    (_no_locations, "has_location"),
]


def test_every_row_rule_has_a_case_the_models_accept() -> None:
    assert {name for _, name in ROW_CASES} == set(ROW_NAMES)


@pytest.mark.parametrize(("breaks", "expectation"), ROW_CASES)
def test_each_row_rule_quarantines_its_case(
    strict: DqGate, breaks: Callable[[dict[str, Any]], None], expectation: str
) -> None:
    items = [_item(str(900000000 + i)) for i in range(5)]
    breaks(items[3])
    rows, outcome = _gate_page(strict, _page(items))
    assert len(rows.jobs) == 5 and rows.quarantine == []  # the models accept it
    assert not outcome.hold
    assert [j[0] for j in outcome.rows.jobs] == ["900000000", "900000001", "900000002", "900000004"]
    assert [(q.item_index, q.reason) for q in outcome.rows.quarantine] == [(3, f"dq:{expectation}")]
    failed = [r["expectation"] for r in outcome.results if not r["success"]]
    assert failed == [expectation]


def test_known_rate_codes_come_from_the_codelist_else_the_builtin_set() -> None:
    items = [_item("900000001"), _item("900000002")]
    items[1]["MatchedObjectDescriptor"]["PositionRemuneration"][0]["RateIntervalCode"] = "PH"
    payload = _page(items)
    only_pa = DqGate(enforce=True, known_rate_codes={"PA", " pa "})
    _, outcome = _gate_page(only_pa, payload)
    assert [(q.control_number, q.reason) for q in outcome.rows.quarantine] == [
        ("900000002", "dq:pay_interval_code_known")
    ]
    assert DqGate(enforce=True, known_rate_codes=()).known_rate_codes == RATE_INTERVAL_CODES


# ------------------------------------------------------------------ page level


def test_a_duplicate_control_number_warns_and_never_holds_the_page(strict: DqGate) -> None:
    # 19 items, the 4th repeated as the 12th with other values: 18 jobs, the later copy wins
    items = [_item(str(900000000 + i)) for i in range(18)]
    again = _item("900000003", PositionTitle="Senior Data Engineer")
    again["MatchedObjectId"] = " 900000003 "  # the same control number, as the models read it
    items.insert(11, again)
    assert len(items) == 19
    payload = _page(items)
    rows = transform_page(search_items(payload))
    assert rows.duplicates == 1
    with capture_logs() as logs:
        outcome = strict(rows, payload)
    assert outcome.hold is False
    assert outcome.rows.quarantine == []
    assert len(outcome.rows.jobs) == 18
    titles = {j[COL["control_number"]]: j[COL["position_title"]] for j in outcome.rows.jobs}
    assert titles["900000003"] == "Senior Data Engineer"
    assert outcome.failed_expectations == [CONTROL_NUMBERS_UNIQUE]
    unique = next(r for r in outcome.results if r["expectation"] == CONTROL_NUMBERS_UNIQUE)
    assert unique == {
        "expectation": CONTROL_NUMBERS_UNIQUE,
        "success": False,
        "unexpected_count": 2,  # every occurrence, as Great Expectations counts them
        "level": "page",
        "gating": False,
    }
    warned = [e for e in logs if e["event"] == "dq_expectation_failed"]
    assert [(e["expectation"], e["action"], e["log_level"]) for e in warned] == [
        (CONTROL_NUMBERS_UNIQUE, "warn", "warning")
    ]
    # nor for saved files, nor without enforcement
    for_files = DqGate(enforce=True, known_rate_codes=(), item_count="warn")
    lenient = DqGate(enforce=False, known_rate_codes=())
    assert not for_files(rows, payload).hold and not lenient(rows, payload).hold


def test_item_count_is_compared_with_search_result_count(strict: DqGate) -> None:
    items = [_item("900000001"), _item("900000002")]
    assert not _gate_page(strict, _page(items, count="2"))[1].hold
    assert not _gate_page(strict, _page(items, count=None))[1].hold  # nothing to compare
    assert _gate_page(strict, _page(items, count=3))[1].hold
    assert search_result_count(_page(items, count=True)) is None


def test_an_empty_page_passes(strict: DqGate) -> None:
    rows, outcome = _gate_page(strict, _page([]))
    assert outcome.hold is False and outcome.rows.jobs == []
    assert all(r["success"] for r in outcome.results)
    assert len(jobs_frame(rows)) == 0 and len(items_frame([])) == 0


def test_a_page_with_unparseable_items_still_counts_them(strict: DqGate) -> None:
    items: list[Any] = [_item("900000001"), "not an object", {"MatchedObjectId": "900000009"}]
    rows, outcome = _gate_page(strict, _page(items))
    assert len(rows.quarantine) == 2  # the models rejected these before the gate
    assert outcome.hold is False
    assert outcome.rows.quarantine == rows.quarantine


# ------------------------------------------------------------------ enforcement off


def test_enforce_false_never_holds_or_quarantines_but_reports_and_logs(lenient: DqGate) -> None:
    items = [_item("900000001"), _item("900000002"), _item("900000001")]
    items[1]["MatchedObjectDescriptor"]["PositionURI"] = "gopher://old.example/job"
    payload = _page(items)
    rows = transform_page(search_items(payload))
    with capture_logs() as logs:
        outcome = lenient(rows, payload)
    assert outcome.hold is False
    assert outcome.rows is rows and outcome.rows.quarantine == []
    assert set(outcome.failed_expectations) == {
        "position_uri_is_http_url",
        "control_numbers_unique",
    }
    warned = {e["expectation"]: e["action"] for e in logs if e["event"] == "dq_expectation_failed"}
    assert warned == {"position_uri_is_http_url": "warn", "control_numbers_unique": "warn"}
    assert all(e["log_level"] == "warning" for e in logs if e["event"] == "dq_expectation_failed")


# ------------------------------------------------------------------ robustness and cost


def test_an_evaluation_failure_holds_under_enforce_and_loads_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = _page([_item("900000001")])
    for enforce, hold in ((True, True), (False, False)):
        gate = DqGate(enforce=enforce, known_rate_codes=())

        def boom(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("metric exploded")

        monkeypatch.setattr(gate.runner, "validate", boom)
        rows, outcome = _gate_page(gate, payload)
        assert outcome.hold is hold
        assert outcome.rows.jobs == rows.jobs
        assert all(not r["success"] and "metric exploded" in r["error"] for r in outcome.results)


def test_the_gx_context_is_built_once_per_gate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import great_expectations as gx

    made: list[Any] = []
    real = gx.get_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gx, "get_context", counting)
    native = build_gate(enforce=True, known_rate_codes=())
    _gate_page(native, _page([_item("900000001")]))
    assert made == []  # the loading path never builds a GX context
    with_docs = DqGate(enforce=True, known_rate_codes=(), docs_dir=tmp_path / "docs")
    for n in range(3):
        _gate_page(with_docs, _page([_item(str(900000000 + n))]))
    assert made == [{"mode": "ephemeral"}]


def test_no_progress_bars_on_stderr(tmp_path: Any, capfd: pytest.CaptureFixture[str]) -> None:
    with_docs = DqGate(enforce=True, known_rate_codes=(), docs_dir=tmp_path / "docs")
    _gate_page(with_docs, _page([_item("900000001")]))
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out
    assert "%|" not in captured.err


def test_gating_pages_never_imports_great_expectations_or_pandas() -> None:
    code = (
        "import sys\n"
        "from tasman_etl.dq import build_gate\n"
        "from tasman_etl.transform import search_items, transform_page\n"
        "item = {'MatchedObjectId': '900000001', 'MatchedObjectDescriptor': {\n"
        "    'PositionTitle': 'T', 'PositionURI': 'ftp://x', 'PositionLocation': []}}\n"
        "page = {'SearchResult': {'SearchResultCount': 3, 'SearchResultItems': [item, item]}}\n"
        "gate = build_gate(enforce=True, known_rate_codes=())\n"
        "rows = transform_page(search_items(page))\n"
        "outcome = gate(rows, page)\n"
        "gate.batch([(rows, page), (rows, page)])\n"
        "failed = [r['expectation'] for r in outcome.results if not r['success']]\n"
        "print('OUT', outcome.hold, *failed)\n"
        "print('OUT', 'great_expectations' in sys.modules, 'pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    lines = [line.split()[1:] for line in out.stdout.splitlines() if line.startswith("OUT ")]
    assert lines[0] == [
        "True",  # held: 2 items where SearchResultCount says 3
        "position_uri_is_http_url",
        "has_location",
        "control_numbers_unique",
        "item_count_matches_search_result_count",
    ]
    assert lines[1] == ["False", "False"]


def test_check_payload_reports_without_deciding(tmp_path: Any) -> None:
    items = [_item("900000001"), _item("900000002")]
    items[0]["MatchedObjectDescriptor"]["PositionLocation"] = []
    report = check_payload(_page(items, count=5))
    assert report["success"] is False
    assert report["held"] is True
    assert report["failed_expectations"] == ["has_location", ITEM_COUNT]
    assert report["quarantine"] == []  # a held page quarantines nothing
    fixed = check_payload(_page(copy.deepcopy(items)))
    assert fixed["held"] is False
    assert fixed["quarantine"] == [
        {"item_index": 0, "control_number": "900000001", "reason": "dq:has_location"}
    ]
    with pytest.raises(ValueError, match="SearchResult"):
        check_payload({"nope": 1})


def test_a_page_with_nothing_new_passes() -> None:
    gate = DqGate(enforce=True, known_rate_codes=())
    payload = _page([_item("100000001"), _item("100000002")])
    unchanged = PageRows(
        items=2, control_numbers=["100000001", "100000002"], unchanged=["100000001", "100000002"]
    )
    outcome = gate(unchanged, payload)
    assert not outcome.hold
    assert all(r["success"] for r in outcome.results)
    # a page rule that fails is still evaluated: a duplicate warns, a short page holds
    duplicated = _page([_item("100000001"), _item("100000001")])
    outcome = gate(PageRows(items=2), duplicated)
    assert not outcome.hold
    assert CONTROL_NUMBERS_UNIQUE in outcome.failed_expectations
    assert gate(PageRows(items=2), _page([_item("100000001")] * 2, count=5)).hold


# ------------------------------------------------------------------ batches


def _mixed_pages() -> list[dict[str, Any]]:
    """Pages that each fail differently (and one that passes), for batch-vs-alone checks."""
    bad_uri = [_item(str(910000000 + i)) for i in range(4)]
    bad_uri[2]["MatchedObjectDescriptor"]["PositionURI"] = "ftp://example.org/job"
    no_place = [_item(str(920000000 + i)) for i in range(3)]
    no_place[0]["MatchedObjectDescriptor"]["PositionLocation"] = []
    return [
        _page(bad_uri),
        _page([_item("930000001"), _item("930000002"), _item("930000001")]),  # duplicate: warns
        _page([_item("940000001")], count=7),  # count says 7
        _page([]),
        _page([_item(str(950000000 + i)) for i in range(6)]),  # clean
        _page(no_place),
        # the same control numbers as the clean page: unique per page, not per batch
        _page([_item(str(950000000 + i)) for i in range(2)]),
    ]


def test_a_batch_gets_for_each_page_what_the_page_gets_alone(strict: DqGate) -> None:
    payloads = _mixed_pages()
    pages = [(transform_page(search_items(p)), p) for p in payloads]
    together = strict.batch(pages)
    alone = [strict(rows, payload) for rows, payload in pages]
    assert [o.hold for o in together] == [False, False, True, False, False, False, False]
    for batch_outcome, single in zip(together, alone, strict=True):
        assert batch_outcome.results == single.results
        assert batch_outcome.hold == single.hold
        assert batch_outcome.failed_expectations == single.failed_expectations
        assert batch_outcome.rows.jobs == single.rows.jobs
        assert batch_outcome.rows.quarantine == single.rows.quarantine
    assert [(q.item_index, q.reason) for q in together[0].rows.quarantine] == [
        (2, "dq:position_uri_is_http_url")
    ]
    assert [(q.item_index, q.reason) for q in together[5].rows.quarantine] == [
        (0, "dq:has_location")
    ]
    count = next(r for r in together[2].results if r["expectation"] == ITEM_COUNT)
    assert (count["observed_value"], count["expected_value"], count["unexpected_count"]) == (
        1,
        7,
        6,
    )


def test_an_evaluation_failure_in_a_batch_holds_every_page_of_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES)
    pages = [(transform_page(search_items(p)), p) for p in _mixed_pages()]

    def broken(frames: Any) -> Any:
        raise RuntimeError("metric planning exploded")

    monkeypatch.setattr(gate.runner, "validate", broken)
    outcomes = gate.batch(pages)
    assert all(o.hold for o in outcomes)  # the empty page too: nothing was checked
    assert all("metric planning exploded" in r["error"] for o in outcomes for r in o.results)

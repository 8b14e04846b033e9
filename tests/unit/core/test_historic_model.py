"""The Historic JOA model and transform: every variant the API sends, and search's row layouts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tasman_etl.historic import (
    HistoricRecord,
    historic_control_number,
    historic_inactive_since,
    historic_status_closed,
    transform_historic_item,
    transform_historic_page,
)
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.transform import (
    DETAILS_COLUMNS,
    JOB_COLUMNS,
    LOCATION_COLUMNS,
    content_hash,
    dump_json,
    transform_page,
)


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "usajobsControlNumber": 612345678,
        "announcementNumber": "VA-19-0001-DE",
        "hiringAgencyCode": "VATA",
        "hiringAgencyName": "Veterans Health Administration",
        "hiringDepartmentCode": "VA",
        "hiringDepartmentName": "Department of Veterans Affairs",
        "hiringSubelementName": None,
        "agencyLevel": 2,
        "positionTitle": "IT Specialist (Data Management)",
        "appointmentType": "Permanent",
        "workSchedule": "Full-time",
        "serviceType": "Competitive",
        "payScale": "GS",
        "salaryType": "Per Year",
        "minimumSalary": 88000,
        "maximumSalary": 114000.5,
        "minimumGrade": "12",
        "maximumGrade": "13",
        "promotionPotential": "13",
        "totalOpenings": "2",
        "positionOpeningStatus": "Job closed",
        "announcementClosingTypeCode": "C",
        "positionOpenDate": "2019-03-04",
        "positionCloseDate": "2019-03-18",
        "positionExpireDate": None,
        "travelRequirement": "Occasional travel",
        "whoMayApply": "United States Citizens",
        "teleworkEligible": "Y",
        "supervisoryStatus": "N",
        "securityClearanceRequired": "N",
        "drugTestRequired": "Y",
        "relocationExpensesReimbursed": "N",
        "disableApplyOnline": "N",
        "hiringPaths": [{"hiringPath": "The public"}, {"hiringPath": "Veterans"}],
        "jobCategories": [{"series": "2210"}, {"series": "1560"}],
        "positionLocations": [
            {
                "positionLocationCity": "Hines",
                "positionLocationState": "Illinois",
                "positionLocationCountry": "United States",
            },
            {
                "positionLocationCity": "Stuttgart",
                "positionLocationState": None,
                "positionLocationCountry": "Germany",
            },
        ],
    }
    base.update(overrides)
    return base


def rows_of(raw: dict[str, Any]) -> Any:
    return transform_historic_item(raw, dump_json(raw))


def test_a_plain_record_parses() -> None:
    rec = HistoricRecord.model_validate(record())
    assert rec.control_number == "612345678"
    assert rec.telework_eligible is True and rec.supervisory_status is False
    assert rec.minimum_salary == Decimal(88000) and rec.maximum_salary == Decimal("114000.5")
    assert rec.position_open_date == datetime(2019, 3, 4, tzinfo=UTC)
    assert rec.pay_interval == "PA"
    assert [p.hiring_path for p in rec.hiring_paths] == ["The public", "Veterans"]


@pytest.mark.parametrize("key", ["HiringPaths", "hiringPaths", "hiringpaths", "HIRINGPATHS"])
def test_list_keys_match_in_any_case(key: str) -> None:
    raw = record()
    paths = raw.pop("hiringPaths")
    raw[key] = [{k.upper(): v for k, v in p.items()} for p in paths]
    raw["POSITIONTITLE"] = raw.pop("positionTitle")
    rec = HistoricRecord.model_validate(raw)
    assert [p.hiring_path for p in rec.hiring_paths] == ["The public", "Veterans"]
    assert rec.position_title == "IT Specialist (Data Management)"


def test_colliding_spellings_keep_the_first_non_null_value() -> None:
    raw = record(hiringPaths=None, HiringPaths=[{"hiringPath": "Students"}])
    assert [p.hiring_path for p in HistoricRecord.model_validate(raw).hiring_paths] == ["Students"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Y", True), ("N", False), ("Yes", True), ("no", False), ("true", True), (False, False),
     ("", None), (None, None)],
)  # fmt: skip
def test_flags(value: Any, expected: bool | None) -> None:
    assert HistoricRecord.model_validate(record(teleworkEligible=value)).telework_eligible is (
        expected
    )


def test_numbers_as_strings_and_the_disable_appy_online_typo() -> None:
    raw = record(usajobsControlNumber="612345678", minimumSalary="88,000", maximumSalary="$90000")
    raw["disableAppyOnline"] = raw.pop("disableApplyOnline")
    raw["disableAppyOnline"] = "Y"
    rec = HistoricRecord.model_validate(raw)
    assert rec.control_number == "612345678" and rec.minimum_salary == Decimal(88000)
    assert rec.disable_apply_online is True


def test_dates_accept_date_times_and_nulls() -> None:
    rec = HistoricRecord.model_validate(
        record(positionOpenDate="2019-03-04T00:00:00", positionCloseDate=None)
    )
    assert rec.position_open_date == datetime(2019, 3, 4, tzinfo=UTC)
    assert rec.position_close_date is None


@pytest.mark.parametrize(
    "bad",
    [
        {"usajobsControlNumber": None},
        {"usajobsControlNumber": True},
        {"usajobsControlNumber": "12a"},
        {"usajobsControlNumber": 1.5},
        {"positionTitle": "  "},
        {"minimumSalary": 100, "maximumSalary": 50},
        {"minimumSalary": -1},
        {"positionOpenDate": "2019-02-30"},
        {"teleworkEligible": "maybe"},
        {"hiringPaths": "The public"},
    ],
)
def test_hard_rules_raise_validation_error(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        HistoricRecord.model_validate(record(**bad))


def test_a_record_without_control_number_is_invalid() -> None:
    raw = record()
    del raw["usajobsControlNumber"]
    with pytest.raises(ValidationError):
        HistoricRecord.model_validate(raw)
    assert historic_control_number(raw) is None
    assert historic_control_number({"USAJOBSCONTROLNUMBER": 5}) == "5"


def test_rows_have_the_search_layouts_and_mapped_values() -> None:
    raw = record()
    rows = rows_of(raw)
    job = dict(zip(JOB_COLUMNS, rows.job, strict=True))
    assert job["control_number"] == "612345678"
    assert job["position_id"] == "VA-19-0001-DE"
    assert job["position_uri"] == "https://www.usajobs.gov/job/612345678"
    assert job["apply_uris"] == []
    assert job["organization_name"] == "Veterans Health Administration"
    assert job["department_name"] == "Department of Veterans Affairs"
    assert (job["pay_interval_code"], job["pay_interval_description"]) == ("PA", "Per Year")
    assert job["pay_annual_max"] == Decimal("114000.5")
    assert job["publication_start_date"] == datetime(2019, 3, 4, tzinfo=UTC)
    assert job["application_close_date"] == datetime(2019, 3, 18, tzinfo=UTC)
    assert job["position_location_display"] == "Multiple Locations"
    assert job["location_count"] == 2 and job["telework_eligible"] is True
    assert job["content_hash"] == content_hash(raw) and job["raw_json"] == dump_json(raw)
    locs = [dict(zip(LOCATION_COLUMNS, loc, strict=True)) for loc in rows.locations]
    assert [loc["location_name"] for loc in locs] == ["Hines, Illinois", "Stuttgart, Germany"]
    assert [loc["subdivision"] for loc in locs] == ["Illinois", None]
    assert all(loc["latitude"] is None and loc["longitude"] is None for loc in locs)
    assert rows.categories == [("612345678", "2210", None), ("612345678", "1560", None)]
    assert rows.grades == [("612345678", "GS")]
    assert rows.hiring_paths == [("612345678", "public"), ("612345678", "vet")]
    details = dict(zip(DETAILS_COLUMNS, rows.details, strict=True))
    assert (details["low_grade"], details["high_grade"]) == ("12", "13")
    assert details["travel_code"] == "1" and details["service_type"] == "01"
    assert details["who_may_apply_name"] == "United States Citizens"
    assert details["drug_test_required"] is True and details["relocation"] is False
    assert details["security_clearance"] == "Not Required"
    assert details["schedule_name"] == "Full-time"
    assert details["offering_type_name"] == "Permanent"
    assert details["major_duties"] == [] and details["education"] is None


def test_hourly_pay_is_annualised_like_search() -> None:
    raw = record(salaryType="Per Hour", minimumSalary="20", maximumSalary="25")
    job = dict(zip(JOB_COLUMNS, rows_of(raw).job, strict=True))
    assert job["pay_interval_code"] == "PH" and job["pay_annual_min"] == Decimal(20 * 2087)


@pytest.mark.parametrize(
    ("status", "close", "expire", "closed", "since"),
    [
        ("Job closed", "2019-03-18", None, True, date(2019, 3, 18)),
        ("Candidate selected", "2019-03-18", None, True, date(2019, 3, 18)),
        ("Cancelled", "2019-03-18", "2019-03-10", True, date(2019, 3, 10)),
        ("Cancelled", None, "2019-03-10T00:00:00", True, date(2019, 3, 10)),
        ("Accepting applications", "2099-01-01", None, False, None),
        (None, "2019-03-18", None, False, None),
    ],
)
def test_status_helpers(
    status: str | None, close: str | None, expire: str | None, closed: bool, since: date | None
) -> None:
    raw = record(positionOpeningStatus=status, positionCloseDate=close, positionExpireDate=expire)
    assert historic_status_closed(raw) is closed
    assert historic_inactive_since(raw) == since


def test_page_quarantines_and_deduplicates_like_search_pages() -> None:
    first = record(positionTitle="First")
    last = record(positionTitle="Last")
    no_cn = record()
    del no_cn["usajobsControlNumber"]
    items = [first, "not an object", no_cn, record(usajobsControlNumber=1, minimumSalary=-5), last]
    rows = transform_historic_page(items)
    assert rows.kind == "historic" and rows.items == 5
    assert [q.item_index for q in rows.quarantine] == [1, 2, 3]
    assert rows.quarantine[2].control_number == "1"
    assert rows.duplicates == 1 and len(rows.jobs) == 1
    assert rows.jobs[0][JOB_COLUMNS.index("position_title")] == "Last"
    assert rows.item_index == {"612345678": 4}
    assert rows.historic == {"612345678": ("Job closed", datetime(2019, 3, 18, tzinfo=UTC))}
    assert rows.new == {"612345678"}
    unchanged = transform_historic_page([last], stored={"612345678": content_hash(last)})
    assert unchanged.unchanged == ["612345678"] and unchanged.jobs == []
    assert "612345678" in unchanged.historic
    drift = transform_historic_page([record(brandNewKey=1, BrandNewKey=2)])
    assert drift.unknown_keys == {"brandnewkey": 1}


SHARED_JOB_COLUMNS = (
    "control_number",
    "position_id",
    "position_title",
    "organization_name",
    "department_name",
    "pay_min",
    "pay_max",
    "pay_interval_code",
    "publication_start_date",
    "telework_eligible",
    "location_count",
)


def test_a_posting_seen_by_both_apis_gives_the_same_shared_rows() -> None:
    sim = SimulatorServer(
        SimulatorConfig(jobs=40, historic_jobs=0, now=datetime(2025, 6, 1, tzinfo=UTC))
    )
    for cn in sim.control_numbers()[:20]:
        search = transform_page([sim.item(cn)])
        hist = transform_historic_page(sim.historic_records({"USAJOBSControlNumbers": cn}))
        assert not hist.quarantine
        s_job = dict(zip(JOB_COLUMNS, search.jobs[0], strict=True))
        h_job = dict(zip(JOB_COLUMNS, hist.jobs[0], strict=True))
        for column in SHARED_JOB_COLUMNS:
            assert s_job[column] == h_job[column], column
        assert [loc[:6] for loc in search.locations] == [loc[:6] for loc in hist.locations]
        assert [c[:2] for c in search.categories] == [c[:2] for c in hist.categories]
        assert search.grades == hist.grades
        assert search.hiring_paths == hist.hiring_paths


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)
record_like = st.dictionaries(
    st.sampled_from(
        ["usajobsControlNumber", "USAJOBSCONTROLNUMBER", "positionTitle", "minimumSalary",
         "maximumSalary", "positionOpenDate", "teleworkEligible", "hiringPaths", "HiringPaths",
         "jobCategories", "positionLocations", "disableAppyOnline", "salaryType", "other"]
    ),
    json_values,
)  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(json_values, record_like))
def test_the_model_raises_only_validation_error_on_any_json(value: Any) -> None:
    try:
        rec = HistoricRecord.model_validate(value)
    except ValidationError:
        return
    assert rec.control_number.isdigit() and rec.position_title.strip()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(record_like, json_values), max_size=5))
def test_a_page_of_anything_never_raises(items: list[Any]) -> None:
    rows = transform_historic_page(items)
    assert len(rows.jobs) + len(rows.quarantine) + rows.duplicates == len(items)
    for job in rows.jobs:
        assert len(job) == len(JOB_COLUMNS)
        json.loads(job[-1])

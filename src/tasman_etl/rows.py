"""The silver row layouts, as named tuples, and the containers that carry them.

One `typing.NamedTuple` per silver table: `JobRow`, `LocationRow`, `CategoryRow`,
`GradeRow`, `HiringPathRow` and `DetailsRow`. Their fields are the table's columns in COPY
order (the `*_COLUMNS` constants are their ``_fields``), so a row is read by name
(``job.control_number``) and is still the plain tuple COPY writes (a named tuple equals the
tuple of the same values). Both item transforms build them: the search item's
(`tasman_etl.transform`) and the Historic JOA record's (`tasman_etl.historic`).

`PageRows` holds every row of one page and what was set aside (`QuarantineRow`);
`ItemRows` the rows of one item.

Indexed copies are bounded, so that no single value can exceed what PostgreSQL's indexes
accept (a btree entry holds at most 2,704 bytes; a tsvector at most 1 MB): text that lands
in a btree-indexed column (position id, location name, category, grade and hiring-path
codes) is cut to `BTREE_TEXT_CHARS` characters, the title and summary (the full-text
input) to `TITLE_CHARS` and `SUMMARY_CHARS`, and a quarantine reason to `REASON_CHARS`.
Real values are far shorter; `raw_json` always keeps the item exactly as received.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, overload

__all__ = [
    "BTREE_TEXT_CHARS",
    "CATEGORY_COLUMNS",
    "CONTROL_NUMBER_CHARS",
    "DETAILS_COLUMNS",
    "GRADE_COLUMNS",
    "HIRING_PATH_COLUMNS",
    "JOB_COLUMNS",
    "LOCATION_COLUMNS",
    "REASON_CHARS",
    "SUMMARY_CHARS",
    "TITLE_CHARS",
    "CategoryRow",
    "DetailsRow",
    "GradeRow",
    "HiringPathRow",
    "ItemRows",
    "JobRow",
    "LocationRow",
    "PageRows",
    "QuarantineRow",
    "cut",
]

#: Longest copy of a text under a btree index (job.position_id, lower(location_name), the
#: codes of job_category, job_grade, job_hiring_path and codelist). A btree entry holds at
#: most 2,704 bytes; 512 characters are at most 2,048 bytes of UTF-8, and at most that
#: after lower() (which grows a 2-byte character to 3 bytes at worst).
BTREE_TEXT_CHARS = 512
#: Longest copies of the title and summary, the input of job.search_tsv (and of the
#: title's trigram index). A tsvector holds at most 1 MB of lexemes and positions: about
#: 5 bytes per input character at worst, so 102,000 characters stay under half of it.
TITLE_CHARS = 2_000
SUMMARY_CHARS = 100_000
#: Longest quarantine reason (it is part of the btree index quarantine_item_idx).
REASON_CHARS = 500
#: Longest control number kept on a quarantine row (real ones have 9 digits).
CONTROL_NUMBER_CHARS = 64


@overload
def cut(text: str, limit: int) -> str: ...
@overload
def cut(text: None, limit: int) -> None: ...
@overload
def cut(text: str | None, limit: int) -> str | None: ...
def cut(text: str | None, limit: int) -> str | None:
    """`text` cut to at most `limit` characters (None stays None)."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit]


class JobRow(NamedTuple):
    """A `job` row: the announcement's searchable facts, its hash and the item as received."""

    control_number: str
    position_id: str | None
    position_title: str
    position_uri: str
    apply_uris: list[str]
    position_location_display: str | None
    organization_name: str | None
    department_name: str | None
    sub_agency: str | None
    job_summary: str | None
    pay_min: Decimal | None
    pay_max: Decimal | None
    pay_interval_code: str | None
    pay_interval_description: str | None
    pay_annual_min: Decimal | None
    pay_annual_max: Decimal | None
    publication_start_date: datetime | None
    application_close_date: datetime | None
    position_start_date: datetime | None
    position_end_date: datetime | None
    telework_eligible: bool | None
    remote_indicator: bool | None
    location_count: int
    content_hash: str
    raw_json: str


class LocationRow(NamedTuple):
    """A `job_location` row: one place of the announcement, by its position in the list."""

    control_number: str
    loc_idx: int
    location_name: str | None
    country: str | None
    subdivision: str | None
    city_name: str | None
    latitude: float | None
    longitude: float | None


class CategoryRow(NamedTuple):
    """A `job_category` row: an occupational series code and its name."""

    control_number: str
    code: str
    name: str | None


class GradeRow(NamedTuple):
    """A `job_grade` row: a pay plan (grade) code."""

    control_number: str
    code: str


class HiringPathRow(NamedTuple):
    """A `job_hiring_path` row: who may apply, as a lower-case code."""

    control_number: str
    code: str


class DetailsRow(NamedTuple):
    """A `job_details` row: the announcement's long texts, flags and codes."""

    control_number: str
    qualification_summary: str | None
    who_may_apply_name: str | None
    who_may_apply_code: str | None
    low_grade: str | None
    high_grade: str | None
    promotion_potential: str | None
    sub_agency_name: str | None
    organization_codes: str | None
    schedule_code: str | None
    schedule_name: str | None
    offering_type_code: str | None
    offering_type_name: str | None
    total_openings: str | None
    travel_code: str | None
    service_type: str | None
    announcement_closing_type: str | None
    commute_distance: str | None
    security_clearance: str | None
    position_sensitivity: str | None
    relocation: bool | None
    drug_test_required: bool | None
    within_area: bool | None
    telework_eligible: bool | None
    remote_indicator: bool | None
    benefits_display_default_text: bool | None
    financial_disclosure: bool | None
    bargaining_unit_status: bool | None
    bargaining_unit_status_additional_text: str | None
    mco_tags: list[str]
    major_duties: list[str]
    key_requirements: list[str]
    adjudication_type: list[str]
    agency_marketing_statement: str | None
    education: str | None
    requirements: str | None
    evaluations: str | None
    how_to_apply: str | None
    what_to_expect_next: str | None
    required_documents: str | None
    benefits: str | None
    benefits_url: str | None
    other_information: str | None
    apply_online_url: str | None
    detail_status_url: str | None
    preview_questionnaire_url: str | None
    agency_contact_email: str | None
    agency_contact_phone: str | None
    agency_contact_website: str | None
    appointment_explanation_text: str | None


JOB_COLUMNS: tuple[str, ...] = JobRow._fields
LOCATION_COLUMNS: tuple[str, ...] = LocationRow._fields
CATEGORY_COLUMNS: tuple[str, ...] = CategoryRow._fields
GRADE_COLUMNS: tuple[str, ...] = GradeRow._fields
HIRING_PATH_COLUMNS: tuple[str, ...] = HiringPathRow._fields
DETAILS_COLUMNS: tuple[str, ...] = DetailsRow._fields


def _cut_reason(reason: str) -> str:
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 3] + "..."


@dataclass(frozen=True)
class QuarantineRow:
    """An item that could not be loaded: why, where, and exactly what arrived.

    The reason and control number are bounded here (`REASON_CHARS`,
    `CONTROL_NUMBER_CHARS`): the reason is part of an index, and both come from the input.
    """

    item_index: int
    control_number: str | None
    reason: str
    raw_text: str
    """The item as JSON text; `storable` says whether PostgreSQL jsonb can hold it."""
    storable: bool = True

    def __post_init__(self) -> None:
        if len(self.reason) > REASON_CHARS:
            object.__setattr__(self, "reason", _cut_reason(self.reason))
        cn = self.control_number
        if cn is not None and len(cn) > CONTROL_NUMBER_CHARS:
            object.__setattr__(self, "control_number", cn[:CONTROL_NUMBER_CHARS])


@dataclass
class PageRows:
    """Rows for every silver table from one page, plus what was set aside."""

    jobs: list[JobRow] = field(default_factory=list)
    locations: list[LocationRow] = field(default_factory=list)
    categories: list[CategoryRow] = field(default_factory=list)
    grades: list[GradeRow] = field(default_factory=list)
    hiring_paths: list[HiringPathRow] = field(default_factory=list)
    details: list[DetailsRow] = field(default_factory=list)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    items: int = 0
    duplicates: int = 0
    unknown_keys: Counter[str] = field(default_factory=Counter)
    control_numbers: list[str] = field(default_factory=list)
    """Every valid control number on the page (after de-duplication), in page order."""
    unchanged: list[str] = field(default_factory=list)
    """Control numbers the database already holds with the same content (not re-validated)."""
    new: set[str] = field(default_factory=set)
    """Control numbers of `jobs` rows the database does not hold yet."""
    item_index: dict[str, int] = field(default_factory=dict)
    """Control number -> index on the page of the item kept (to quarantine it later)."""
    kind: str = "search"
    """Which API the items came from: ``search`` or ``historic`` (Historic JOA records)."""
    historic: dict[str, tuple[str | None, datetime | None]] = field(default_factory=dict)
    """For historic records: control number -> (opening status, closed on)."""
    texts: list[tuple[str, str, str]] = field(default_factory=list)
    """For AnnouncementText records (``kind="historic-text"``): (control number, the record
    as JSON text, its content hash), in page order; `jobs` and `control_numbers` stay empty."""


@dataclass(frozen=True)
class ItemRows:
    """The rows of one valid item."""

    control_number: str
    job: JobRow
    locations: list[LocationRow]
    categories: list[CategoryRow]
    grades: list[GradeRow]
    hiring_paths: list[HiringPathRow]
    details: DetailsRow

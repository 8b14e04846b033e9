"""The expectation suites of the page gate, as plain data (no Great Expectations import).

Three suites, each on one table of a batch of pages (one page or many: see
`tasman_etl.dq.gate.DqGate.check_many`; the tables are built by `tasman_etl.dq.frames`):

* ``tasman_jobs`` (row level) on a narrow frame with one row per parsed job. A job failing
  one of these is quarantined.
* ``tasman_page`` (page level) on a frame with one row per raw item (before the transform
  drops duplicates), keyed by its page in the batch: control numbers unique per page.
  Evaluated and reported, never holding the page (a duplicate is a warning, issue 12).
* ``tasman_page_counts`` (page level) on a frame with one row per page: its item count
  and its ``SearchResultCount``. A failure holds the page.

Each `ExpectationSpec` names a Great Expectations class and its arguments, and carries
our own stable ``name``: quarantine reasons are ``dq:<name>``, ledger results are keyed
by it, and Data Docs show it in the expectation's ``meta``. The loading path evaluates the
specs natively (`tasman_etl.dq.native`, which must implement every class and argument used
here); ``tasman-etl dq --docs`` hands them to Great Expectations itself.

Hard rules are not checked twice (issue 12, ADR 0026). A job reaches the gate only after the
pydantic models (`tasman_etl.models`, applied by `tasman_etl.transform`) accepted its item;
an item breaking a hard rule is quarantined before the gate, with the models' reason. So the
suite leaves out the expectations no accepted row can fail, and each of those rules now
lives in the models only:

* ``control_number_present``: ``SearchItem._control_number`` (``MatchedObjectId`` must be
  1-20 ASCII digits once stripped; missing, blank or anything else is refused);
* ``position_title_present`` and ``position_uri_present``: ``Descriptor._required_text``
  (``PositionTitle`` and ``PositionURI`` must be strings with a non-whitespace character;
  they are stored stripped, so the frame's blank-to-null never applies);
* ``latitude_in_range`` and ``longitude_in_range``: ``Location._lat`` and ``Location._lon``
  on every ``PositionLocation`` entry (inclusive -90..90 and -180..180; NaN and infinities
  refused by ``parse_float``);
* ``pay_min_not_above_pay_max`` and ``pay_min_not_negative``: ``Descriptor._pay_order`` on
  every ``PositionRemuneration`` entry (``MinimumRange <= MaximumRange`` when both are
  given, ``MinimumRange >= 0``; the gate's pay is the first entry's).

What the models accept and the suite still refuses stays here: non-http URIs, a negative
maximum with no minimum, an unknown rate interval code, publication after close, no location.
``tests/unit/dq/test_gate_hard_rules.py`` evaluates the left-out expectations on the items the
models accept (hypothesis and edge cases: none fails), and ``tests/unit/dq/test_gate.py`` has,
for each remaining one, an item the models accept that fails it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "APPLY_URIS_PATTERN",
    "CONTROL_NUMBERS_UNIQUE",
    "HTTP_URL_PATTERN",
    "ITEM_COUNT",
    "JOBS_SUITE",
    "PAGE_COUNTS_SUITE",
    "PAGE_SUITE",
    "SUITES",
    "ExpectationSpec",
    "page_expectations",
    "row_expectations",
]

JOBS_SUITE = "tasman_jobs"
PAGE_SUITE = "tasman_page"
PAGE_COUNTS_SUITE = "tasman_page_counts"
ITEM_COUNT = "item_count_matches_search_result_count"
CONTROL_NUMBERS_UNIQUE = "control_numbers_unique"

HTTP_URL_PATTERN = r"(?i)^https?://[^\s/?#]+\S*$"
# Apply URIs are joined with single spaces into one cell (see frames.jobs_frame).
APPLY_URIS_PATTERN = r"(?i)^https?://[^\s/?#]+\S*(?: https?://[^\s/?#]+\S*)*$"

Level = Literal["row", "page"]
Table = Literal["jobs", "items", "pages"]
SUITES: Mapping[str, str] = {"jobs": JOBS_SUITE, "items": PAGE_SUITE, "pages": PAGE_COUNTS_SUITE}
"""The suite of each table."""


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: our name, its level, the GX class and its keyword arguments.

    ``table`` is the frame it runs on: ``jobs`` (one row per parsed job), ``items`` (one
    row per raw item, with its page) or ``pages`` (one row per page).
    """

    name: str
    level: Level
    gx_class: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    table: Table = "jobs"


def row_expectations(known_rate_codes: Collection[str]) -> tuple[ExpectationSpec, ...]:
    """The row-level expectations (suite ``tasman_jobs``), in reporting order.

    Null values pass every expectation (a job without pay or dates is allowed; a job with
    bad pay or dates is not). The hard rules the models enforce are not repeated here: see
    the module docstring.
    """
    codes = sorted({c.strip().upper() for c in known_rate_codes if c and c.strip()})
    pair = {"or_equal": True, "ignore_row_if": "either_value_is_missing"}
    return (
        ExpectationSpec(
            "position_uri_is_http_url",
            "row",
            "ExpectColumnValuesToMatchRegex",
            {"column": "position_uri", "regex": HTTP_URL_PATTERN},
        ),
        ExpectationSpec(
            "apply_uris_are_http_urls",
            "row",
            "ExpectColumnValuesToMatchRegex",
            {"column": "apply_uris", "regex": APPLY_URIS_PATTERN},
        ),
        ExpectationSpec(
            "pay_max_not_negative",
            "row",
            "ExpectColumnValuesToBeBetween",
            {"column": "pay_max", "min_value": 0},
        ),
        ExpectationSpec(
            "pay_interval_code_known",
            "row",
            "ExpectColumnValuesToBeInSet",
            {"column": "pay_interval_code", "value_set": codes},
        ),
        ExpectationSpec(
            "publication_not_after_close",
            "row",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": "application_close_date", "column_B": "publication_start_date", **pair},
        ),
        ExpectationSpec(
            "has_location",
            "row",
            "ExpectColumnValuesToBeBetween",
            {"column": "location_count", "min_value": 1},
        ),
    )


def page_expectations(*, item_count: bool = True) -> tuple[ExpectationSpec, ...]:
    """The page-level expectations (suites ``tasman_page``, ``tasman_page_counts``), in order.

    ``item_count=False`` leaves out the `SearchResultCount` comparison.
    """
    specs = [
        ExpectationSpec(
            CONTROL_NUMBERS_UNIQUE,
            "page",
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["page", "matched_object_id"], "ignore_row_if": "any_value_is_missing"},
            table="items",
        )
    ]
    if item_count:
        # A page without SearchResultCount has nothing to compare with: it passes.
        specs.append(
            ExpectationSpec(
                ITEM_COUNT,
                "page",
                "ExpectColumnPairValuesToBeEqual",
                {
                    "column_A": "items",
                    "column_B": "search_result_count",
                    "ignore_row_if": "either_value_is_missing",
                },
                table="pages",
            )
        )
    return tuple(specs)

"""Pydantic v2 models of the USAJOBS search payload, and the coercions its quirks need.

The API is stringly typed and has changed shape over the years (usajobs-api.md §4):
pay comes as strings (``"111234.0"``, ``"$95,000"``), booleans as ``"True"``/``"Yes"``
or JSON booleans, dates as ISO 8601 (with or without a time, a fraction, a zone) or as US
month/day/year (``7/17/2025 12:00:00 AM``), the rate interval as a code
(``"PA"`` + ``Description``) or as its label (``"Per Year"``), and one key is spelt
``PositionSensitivitiy``. These models accept every variant in the recorded payloads
and reject only what breaks a hard rule (no control number, no title or URI,
coordinates out of range, ``pay_min > pay_max``, a negative ``pay_min``). The page gate
does not check these again (`tasman_etl.dq.gx.suite`).

Unknown keys are kept (``extra="allow"``) so schema drift can be counted, never lost.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "ANNUAL_FACTORS",
    "CodeName",
    "Descriptor",
    "Details",
    "Location",
    "Remuneration",
    "SearchItem",
    "parse_bool",
    "parse_datetime",
    "parse_decimal",
    "rate_interval_code",
]

# Rate interval labels -> codes (codelist `remunerationrateintervalcodes`, 2024-07).
RATE_INTERVAL_LABELS: dict[str, str] = {
    "bi-weekly": "BW",
    "biweekly": "BW",
    "fee basis": "FB",
    "per year": "PA",
    "per annum": "PA",
    "per day": "PD",
    "per hour": "PH",
    "per month": "PM",
    "piece work": "PW",
    "student stipend paid": "ST",
    "school year": "SY",
    "without compensation": "WC",
}
RATE_INTERVAL_CODES = frozenset(RATE_INTERVAL_LABELS.values())

# Multipliers to an annual figure; None = not annualisable (piece work, fee basis).
# 2,087 hours is OPM's standard work year; 260 work days; 26 pay periods.
ANNUAL_FACTORS: dict[str, Decimal | None] = {
    "PA": Decimal(1),
    "SY": Decimal(1),
    "PH": Decimal(2087),
    "PD": Decimal(260),
    "BW": Decimal(26),
    "PM": Decimal(12),
    "WC": Decimal(0),
    "ST": None,
    "FB": None,
    "PW": None,
}

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_MONEY_JUNK = re.compile(r"[\s$,]")


def parse_bool(value: Any) -> bool | None:
    """Coerce the API's booleans: JSON bools, "True"/"False", "Yes"/"No", "Y"/"N"; "" -> None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"not a boolean: {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_decimal(value: Any) -> Decimal | None:
    """Coerce pay amounts exactly: "111234.0", "$95,000", 25.43 -> Decimal; "" -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, int):
        return _bounded(Decimal(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not an amount: {value!r}")
        # repr() is the shortest round-tripping text, so 25.43 stays 25.43.
        return _bounded(Decimal(repr(value)))
    if isinstance(value, str):
        text = _MONEY_JUNK.sub("", value)
        if text == "":
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
        if not amount.is_finite():
            raise ValueError(f"not an amount: {value!r}")
        return _bounded(amount)
    raise ValueError(f"not an amount: {value!r}")


# No pay is a quadrillion dollars; far larger values (1E+200000) also overflow numeric.
_MAX_AMOUNT = Decimal(10) ** 15


def _bounded(amount: Decimal) -> Decimal:
    if abs(amount) >= _MAX_AMOUNT:
        raise ValueError(f"amount out of range: {amount:.3E}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -20:  # numeric keeps at most 16,383 decimals
        raise ValueError(f"amount has too many decimal places: {amount:.3E}")
    return amount


# US month/day/year, as some responses carry it: `7/17/2025`, `07/17/2025`, optionally with
# a time `12:00:00 AM`, `7:05 PM`, `13:30`, `13:30:00.123` (24-hour when no AM/PM).
_US_DATE = re.compile(
    r"""
    (?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})
    (?:
        (?:\s+|T)
        (?P<hour>\d{1,2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
        (?:\s*(?P<half>[AaPp])\.?[Mm]\.?)?
    )?
    """,
    re.VERBOSE,
)
# ISO 8601 in its extended form (the only one the API writes); month and day may lack
# their zero (`2025-7-1`). A fraction of more than six digits (.NET writes seven) is cut
# to six: Python keeps microseconds.
_ISO_DATE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})(?=$|[T ])")
_LONG_FRACTION = re.compile(r"(?<=[0-9]{2}:[0-9]{2}:[0-9]{2}[.,])([0-9]{6})[0-9]+")


def _us_datetime(match: re.Match[str], value: str) -> datetime:
    """The datetime of a `_US_DATE` match; ValueError naming what is impossible."""
    month, day, year = int(match["month"]), int(match["day"]), int(match["year"])
    hour = int(match["hour"] or 0)
    minute = int(match["minute"] or 0)
    second = int(match["second"] or 0)
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    if match["half"] is not None:
        if not 1 <= hour <= 12:
            raise ValueError(f"impossible date {value!r}: hour {hour} with AM/PM")
        hour = hour % 12 + (12 if match["half"] in "Pp" else 0)
    if not 1 <= month <= 12:
        raise ValueError(f"impossible date {value!r}: month {month} (month/day/year)")
    try:
        return datetime(year, month, day, hour, minute, second, micro)
    except ValueError as exc:
        raise ValueError(f"impossible date {value!r}: {exc}") from None


def _iso_datetime(text: str, value: str) -> datetime:
    """An ISO 8601 date or date-time (extended form); ValueError saying why not."""
    iso = _ISO_DATE.match(text)
    if iso is None or len(text) > 64:
        raise ValueError(f"not a date: {_shown(value)}")
    month, day = int(iso["month"]), int(iso["day"])
    try:
        date(int(iso["year"]), month, day)
    except ValueError as exc:
        raise ValueError(f"impossible date {_shown(value)}: {exc}") from None
    normal = f"{iso['year']}-{month:02d}-{day:02d}" + text[iso.end() :]
    try:
        return datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", normal))
    except ValueError:
        raise ValueError(f"not a date: {_shown(value)}") from None


def parse_datetime(value: Any) -> datetime | None:
    """Parse every date form the API has served; zone-less = UTC.

    ISO 8601 (`2025-07-17T00:00:00.0000`, `2021-04-05`, `2016-05-03T00:00:00Z`,
    `2025-07-17 12:00:00`, any number of fraction digits, `Z` or an offset) and US
    month/day/year (`7/17/2025`, `07/17/2025`, `7/17/2025 12:00:00 AM`). An impossible
    date (`2/30/2025`, `13/01/2025`) raises ValueError saying why.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        us = _US_DATE.fullmatch(text)
        parsed = _us_datetime(us, value) if us is not None else _iso_datetime(text, value)
    else:
        raise ValueError(f"not a date: {_shown(value)}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    # PostgreSQL refuses offsets past +-15:59 that Python accepts: hand it UTC.
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"date out of range: {_shown(value)}") from None


def _shown(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (a reason must stay short)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_text(value: Any) -> str | None:
    """Accept strings and numbers as text (the API sends both for codes); "" stays ""."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def parse_float(value: Any) -> float | None:
    """Coordinates come as JSON numbers; accept numeric strings too."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def parse_text_list(value: Any) -> list[str]:
    """A list of strings; None -> []; a lone string -> [string]."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out = []
        for element in value:
            text = parse_text(element)
            if text is not None:
                out.append(text)
        return out
    raise ValueError(f"expected a list of strings, got {type(value).__name__}")


def rate_interval_code(code: str | None, description: str | None) -> str | None:
    """Normalise old (`"Per Year"`) and new (`"PA"` + Description) rate intervals to one code."""
    for candidate in (code, description):
        if not candidate:
            continue
        text = candidate.strip()
        if text.upper() in RATE_INTERVAL_CODES:
            return text.upper()
        mapped = RATE_INTERVAL_LABELS.get(text.lower())
        if mapped:
            return mapped
    return code.strip() if code and code.strip() else None


Bool = Annotated[bool | None, BeforeValidator(parse_bool)]
Money = Annotated[Decimal | None, BeforeValidator(parse_decimal)]
When = Annotated[datetime | None, BeforeValidator(parse_datetime)]
Text = Annotated[str | None, BeforeValidator(parse_text)]
Number = Annotated[float | None, BeforeValidator(parse_float)]
TextList = Annotated[list[str], BeforeValidator(parse_text_list)]


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class Location(_ApiModel):
    """One `PositionLocation` entry.

    CountryCode holds a country *name*, CountrySubDivisionCode a state name.
    """

    location_name: Text = Field(default=None, alias="LocationName")
    country: Text = Field(default=None, alias="CountryCode")
    subdivision: Text = Field(default=None, alias="CountrySubDivisionCode")
    city_name: Text = Field(default=None, alias="CityName")
    latitude: Number = Field(default=None, alias="Latitude")
    longitude: Number = Field(default=None, alias="Longitude")

    @field_validator("latitude")
    @classmethod
    def _lat(cls, value: float | None) -> float | None:
        if value is not None and not -90 <= value <= 90:
            raise ValueError(f"latitude out of range: {value}")
        return value

    @field_validator("longitude")
    @classmethod
    def _lon(cls, value: float | None) -> float | None:
        if value is not None and not -180 <= value <= 180:
            raise ValueError(f"longitude out of range: {value}")
        return value


class CodeName(_ApiModel):
    """`{Code, Name}` pairs: JobCategory, JobGrade, PositionSchedule, PositionOfferingType."""

    code: Text = Field(default=None, alias="Code")
    name: Text = Field(default=None, alias="Name")


class Remuneration(_ApiModel):
    """One `PositionRemuneration` entry (amounts are strings in the API)."""

    minimum: Money = Field(default=None, alias="MinimumRange")
    maximum: Money = Field(default=None, alias="MaximumRange")
    rate_interval_code: Text = Field(default=None, alias="RateIntervalCode")
    description: Text = Field(default=None, alias="Description")

    @property
    def interval(self) -> str | None:
        """The normalised rate interval code (PA, PH, BW, ...)."""
        return rate_interval_code(self.rate_interval_code, self.description)


class WhoMayApply(_ApiModel):
    """`UserArea.Details.WhoMayApply` (empty strings since 2021)."""

    name: Text = Field(default=None, alias="Name")
    code: Text = Field(default=None, alias="Code")


class Details(_ApiModel):
    """`UserArea.Details`: long texts, flags (strings *and* JSON booleans) and codes."""

    job_summary: Text = Field(default=None, alias="JobSummary")
    who_may_apply: WhoMayApply | None = Field(default=None, alias="WhoMayApply")
    low_grade: Text = Field(default=None, alias="LowGrade")
    high_grade: Text = Field(default=None, alias="HighGrade")
    promotion_potential: Text = Field(default=None, alias="PromotionPotential")
    sub_agency_name: Text = Field(default=None, alias="SubAgencyName")
    organization_codes: Text = Field(default=None, alias="OrganizationCodes")
    relocation: Bool = Field(default=None, alias="Relocation")
    hiring_path: TextList = Field(default_factory=list, alias="HiringPath")
    mco_tags: TextList = Field(default_factory=list, alias="MCOTags")
    total_openings: Text = Field(default=None, alias="TotalOpenings")
    agency_marketing_statement: Text = Field(default=None, alias="AgencyMarketingStatement")
    travel_code: Text = Field(default=None, alias="TravelCode")
    apply_online_url: Text = Field(default=None, alias="ApplyOnlineUrl")
    detail_status_url: Text = Field(default=None, alias="DetailStatusUrl")
    major_duties: TextList = Field(default_factory=list, alias="MajorDuties")
    education: Text = Field(default=None, alias="Education")
    requirements: Text = Field(default=None, alias="Requirements")
    evaluations: Text = Field(default=None, alias="Evaluations")
    how_to_apply: Text = Field(default=None, alias="HowToApply")
    what_to_expect_next: Text = Field(default=None, alias="WhatToExpectNext")
    required_documents: Text = Field(default=None, alias="RequiredDocuments")
    benefits: Text = Field(default=None, alias="Benefits")
    benefits_url: Text = Field(default=None, alias="BenefitsUrl")
    benefits_display_default_text: Bool = Field(default=None, alias="BenefitsDisplayDefaultText")
    other_information: Text = Field(default=None, alias="OtherInformation")
    key_requirements: TextList = Field(default_factory=list, alias="KeyRequirements")
    within_area: Bool = Field(default=None, alias="WithinArea")
    commute_distance: Text = Field(default=None, alias="CommuteDistance")
    service_type: Text = Field(default=None, alias="ServiceType")
    announcement_closing_type: Text = Field(default=None, alias="AnnouncementClosingType")
    agency_contact_email: Text = Field(default=None, alias="AgencyContactEmail")
    agency_contact_phone: Text = Field(default=None, alias="AgencyContactPhone")
    agency_contact_website: Text = Field(default=None, alias="AgencyContactWebsite")
    preview_questionnaire_url: Text = Field(
        default=None,
        validation_alias=AliasChoices("PreviewQuestionnaireurl", "PreviewQuestionnaireUrl"),
    )
    security_clearance: Text = Field(default=None, alias="SecurityClearance")
    position_sensitivity: Text = Field(
        default=None, validation_alias=AliasChoices("PositionSensitivitiy", "PositionSensitivity")
    )
    drug_test_required: Bool = Field(default=None, alias="DrugTestRequired")
    adjudication_type: TextList = Field(default_factory=list, alias="AdjudicationType")
    telework_eligible: Bool = Field(default=None, alias="TeleworkEligible")
    remote_indicator: Bool = Field(default=None, alias="RemoteIndicator")
    financial_disclosure: Bool = Field(default=None, alias="FinancialDisclosure")
    bargaining_unit_status: Bool = Field(default=None, alias="BargainingUnitStatus")
    bargaining_unit_status_additional_text: Text = Field(
        default=None, alias="BargainingUnitStatusAdditionalText"
    )
    appointment_explanation_text: Text = Field(default=None, alias="AppointmentExplanationText")


class UserArea(_ApiModel):
    """`MatchedObjectDescriptor.UserArea`."""

    details: Details = Field(default_factory=Details, alias="Details")
    is_radial_search: Bool = Field(default=None, alias="IsRadialSearch")


class FormattedDescription(_ApiModel):
    """`PositionFormattedDescription` entries (keyword hit highlights; search context)."""

    label: Text = Field(default=None, alias="Label")
    label_description: Text = Field(default=None, alias="LabelDescription")
    content: Text = Field(default=None, alias="Content")


class Descriptor(_ApiModel):
    """`MatchedObjectDescriptor`: the announcement itself."""

    position_id: Text = Field(default=None, alias="PositionID")
    position_title: str = Field(alias="PositionTitle")
    position_uri: str = Field(alias="PositionURI")
    apply_uris: TextList = Field(default_factory=list, alias="ApplyURI")
    position_location_display: Text = Field(default=None, alias="PositionLocationDisplay")
    locations: list[Location] = Field(default_factory=list, alias="PositionLocation")
    organization_name: Text = Field(default=None, alias="OrganizationName")
    department_name: Text = Field(default=None, alias="DepartmentName")
    sub_agency: Text = Field(default=None, alias="SubAgency")
    job_categories: list[CodeName] = Field(default_factory=list, alias="JobCategory")
    job_grades: list[CodeName] = Field(default_factory=list, alias="JobGrade")
    schedules: list[CodeName] = Field(default_factory=list, alias="PositionSchedule")
    offering_types: list[CodeName] = Field(default_factory=list, alias="PositionOfferingType")
    qualification_summary: Text = Field(default=None, alias="QualificationSummary")
    remuneration: list[Remuneration] = Field(default_factory=list, alias="PositionRemuneration")
    position_start_date: When = Field(default=None, alias="PositionStartDate")
    position_end_date: When = Field(default=None, alias="PositionEndDate")
    publication_start_date: When = Field(default=None, alias="PublicationStartDate")
    application_close_date: When = Field(default=None, alias="ApplicationCloseDate")
    formatted_description: list[FormattedDescription] = Field(
        default_factory=list, alias="PositionFormattedDescription"
    )
    user_area: UserArea = Field(default_factory=UserArea, alias="UserArea")

    @field_validator("position_title", "position_uri", mode="before")
    @classmethod
    def _required_text(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("missing or empty")
        return value.strip()

    @field_validator(
        "locations",
        "job_categories",
        "job_grades",
        "schedules",
        "offering_types",
        "remuneration",
        "formatted_description",
        mode="before",
    )
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def details(self) -> Details:
        """Shortcut to `UserArea.Details`."""
        return self.user_area.details

    @property
    def pay(self) -> Remuneration | None:
        """The first remuneration entry (the API sends one per announcement)."""
        return self.remuneration[0] if self.remuneration else None

    @model_validator(mode="after")
    def _pay_order(self) -> Descriptor:
        for entry in self.remuneration:
            if (
                entry.minimum is not None
                and entry.maximum is not None
                and entry.minimum > entry.maximum
            ):
                raise ValueError(f"pay_min {entry.minimum} > pay_max {entry.maximum}")
            if entry.minimum is not None and entry.minimum < 0:
                raise ValueError(f"negative pay {entry.minimum}")
        return self


_CONTROL_NUMBER = re.compile(r"^[0-9]{1,20}$")


class SearchItem(_ApiModel):
    """One entry of `SearchResult.SearchResultItems`."""

    control_number: str = Field(alias="MatchedObjectId")
    relevance_rank: float | None = Field(default=None, alias="RelevanceRank")
    descriptor: Descriptor = Field(alias="MatchedObjectDescriptor")

    @field_validator("control_number", mode="before")
    @classmethod
    def _control_number(cls, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            raise ValueError("missing control number")
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str) or not _CONTROL_NUMBER.match(value.strip()):
            raise ValueError(f"not a control number: {value!r}")
        return value.strip()

    @field_validator("relevance_rank", mode="before")
    @classmethod
    def _rank(cls, value: Any) -> Any:
        try:
            return parse_float(value)
        except ValueError:
            return None  # search-context only; never worth quarantining a job for

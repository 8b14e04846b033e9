"""Pydantic v2 models of the USAJOBS search payload (one `SearchItem` per search result).

The API is stringly typed and has changed shape over the years (usajobs-api.md §4); the
coercions its quirks need live in `tasman_etl.coerce` and are re-exported here. These
models accept every variant in the recorded payloads (one key is spelt
``PositionSensitivitiy``) and reject only what breaks a hard rule (no control number, no
title or URI, coordinates out of range, ``pay_min > pay_max``, a negative ``pay_min``). The
page gate does not check these again (`tasman_etl.dq.gx.suite`).

Unknown keys are kept (``extra="allow"``) so schema drift can be counted, never lost.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from tasman_etl.coerce import (
    ANNUAL_FACTORS,
    RATE_INTERVAL_CODES,
    RATE_INTERVAL_LABELS,
    Bool,
    Money,
    Number,
    Text,
    TextList,
    When,
    parse_bool,
    parse_datetime,
    parse_decimal,
    parse_float,
    parse_text,
    parse_text_list,
    rate_interval_code,
)

__all__ = [
    "ANNUAL_FACTORS",
    "RATE_INTERVAL_CODES",
    "RATE_INTERVAL_LABELS",
    "Bool",
    "CodeName",
    "Descriptor",
    "Details",
    "FormattedDescription",
    "Location",
    "Money",
    "Number",
    "Remuneration",
    "SearchItem",
    "Text",
    "TextList",
    "UserArea",
    "When",
    "WhoMayApply",
    "parse_bool",
    "parse_datetime",
    "parse_decimal",
    "parse_float",
    "parse_text",
    "parse_text_list",
    "rate_interval_code",
]


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

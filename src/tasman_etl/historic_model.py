"""The pydantic model of a Historic JOA record, matching keys case-insensitively.

What it accepts is described in `tasman_etl.historic` (the transform that uses it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from tasman_etl.models import Bool, Money, Text, When, rate_interval_code

__all__ = [
    "HistoricCategory",
    "HistoricHiringPath",
    "HistoricLocation",
    "HistoricRecord",
    "fold_keys",
]


def fold_keys(data: Any) -> Any:
    """A mapping with lower-cased keys (the first non-null value of a spelling wins)."""
    if not isinstance(data, Mapping):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        folded = key.lower() if isinstance(key, str) else key
        if folded not in out or out[folded] is None:
            out[folded] = value
    return out


class _HistoricModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive(cls, data: Any) -> Any:
        return fold_keys(data)


class HistoricHiringPath(_HistoricModel):
    """``{"hiringPath": "The public"}``."""

    hiring_path: Text = Field(default=None, alias="hiringpath")


class HistoricCategory(_HistoricModel):
    """``{"series": "2210"}`` (a name, when a source sends one, is kept)."""

    series: Text = Field(default=None, alias="series")
    name: Text = Field(
        default=None, validation_alias=AliasChoices("seriesname", "name", "occupationalseriesname")
    )


class HistoricLocation(_HistoricModel):
    """``{"positionLocationCity", "positionLocationState", "positionLocationCountry"}``."""

    city: Text = Field(default=None, alias="positionlocationcity")
    state: Text = Field(default=None, alias="positionlocationstate")
    country: Text = Field(default=None, alias="positionlocationcountry")

    @property
    def name(self) -> str | None:
        """``"City, State"`` (``"City, Country"`` abroad), as search items name places."""
        parts = [p.strip() for p in (self.city, self.state or self.country) if p and p.strip()]
        return ", ".join(parts) or None


def _entries(value: Any, key: str) -> Any:
    """null -> []; a bare string entry -> ``{key: string}`` (other shapes left to validation)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [
            {key: v} if isinstance(v, str | int) and not isinstance(v, bool) else v for v in value
        ]
    return value


class HistoricRecord(_HistoricModel):
    """One element of the Historic JOA ``data`` list (see the module docstring)."""

    control_number: str = Field(alias="usajobscontrolnumber")
    announcement_number: Text = Field(default=None, alias="announcementnumber")
    hiring_agency_code: Text = Field(default=None, alias="hiringagencycode")
    hiring_agency_name: Text = Field(default=None, alias="hiringagencyname")
    hiring_department_code: Text = Field(default=None, alias="hiringdepartmentcode")
    hiring_department_name: Text = Field(default=None, alias="hiringdepartmentname")
    hiring_subelement_name: Text = Field(default=None, alias="hiringsubelementname")
    agency_level: Text = Field(default=None, alias="agencylevel")
    agency_level_sort: Text = Field(default=None, alias="agencylevelsort")
    position_title: str = Field(alias="positiontitle")
    appointment_type: Text = Field(default=None, alias="appointmenttype")
    work_schedule: Text = Field(default=None, alias="workschedule")
    service_type: Text = Field(default=None, alias="servicetype")
    pay_scale: Text = Field(default=None, alias="payscale")
    salary_type: Text = Field(default=None, alias="salarytype")
    minimum_salary: Money = Field(default=None, alias="minimumsalary")
    maximum_salary: Money = Field(default=None, alias="maximumsalary")
    minimum_grade: Text = Field(default=None, alias="minimumgrade")
    maximum_grade: Text = Field(default=None, alias="maximumgrade")
    promotion_potential: Text = Field(default=None, alias="promotionpotential")
    total_openings: Text = Field(default=None, alias="totalopenings")
    position_opening_status: Text = Field(default=None, alias="positionopeningstatus")
    announcement_closing_type_code: Text = Field(default=None, alias="announcementclosingtypecode")
    announcement_closing_type_description: Text = Field(
        default=None, alias="announcementclosingtypedescription"
    )
    position_open_date: When = Field(default=None, alias="positionopendate")
    position_close_date: When = Field(default=None, alias="positionclosedate")
    position_expire_date: When = Field(default=None, alias="positionexpiredate")
    travel_requirement: Text = Field(default=None, alias="travelrequirement")
    vendor: Text = Field(default=None, alias="vendor")
    who_may_apply: Text = Field(default=None, alias="whomayapply")
    telework_eligible: Bool = Field(default=None, alias="teleworkeligible")
    remote_indicator: Bool = Field(default=None, alias="remoteindicator")
    supervisory_status: Bool = Field(default=None, alias="supervisorystatus")
    security_clearance_required: Bool = Field(default=None, alias="securityclearancerequired")
    security_clearance: Text = Field(default=None, alias="securityclearance")
    position_sensitivity: Text = Field(default=None, alias="positionsensitivity")
    drug_test_required: Bool = Field(default=None, alias="drugtestrequired")
    relocation_expenses_reimbursed: Bool = Field(default=None, alias="relocationexpensesreimbursed")
    financial_disclosure: Bool = Field(default=None, alias="financialdisclosure")
    disable_apply_online: Bool = Field(
        default=None, validation_alias=AliasChoices("disableapplyonline", "disableappyonline")
    )
    hiring_paths: list[HistoricHiringPath] = Field(default_factory=list, alias="hiringpaths")
    job_categories: list[HistoricCategory] = Field(default_factory=list, alias="jobcategories")
    locations: list[HistoricLocation] = Field(default_factory=list, alias="positionlocations")

    @field_validator("control_number", mode="before")
    @classmethod
    def _control_number(cls, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            raise ValueError("missing control number")
        text = str(value).strip() if isinstance(value, int | str) else None
        if not text or not text.isascii() or not text.isdigit() or len(text) > 20:
            raise ValueError(f"not a control number: {str(value)[:40]!r}")
        return text

    @field_validator("position_title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("missing or empty")
        return value.strip()

    @field_validator("hiring_paths", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        return _entries(value, "hiringpath")

    @field_validator("job_categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        return _entries(value, "series")

    @field_validator("locations", mode="before")
    @classmethod
    def _locations(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="after")
    def _pay_order(self) -> HistoricRecord:
        low, high = self.minimum_salary, self.maximum_salary
        if low is not None and high is not None and low > high:
            raise ValueError(f"pay_min {low} > pay_max {high}")
        if low is not None and low < 0:
            raise ValueError(f"negative pay {low}")
        return self

    @property
    def pay_interval(self) -> str | None:
        """The search API's rate interval code for ``salaryType`` (PA, PH...)."""
        return rate_interval_code(None, self.salary_type)

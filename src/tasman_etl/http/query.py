"""What the search asks and how the search client is set up: `SearchQuery`, `ClientConfig`.

``SearchQuery`` renders the USAJOBS parameters (``to_params``), reads them back
(``from_params``) and names the search scope (``scope_hash``); ``ClientConfig`` holds every
setting of the search client, built from the application ``Settings``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tasman_etl.config import DEFAULT_API_BASE, check_base_url, header_value_input
from tasman_etl.http.bounded import DEFAULT_MAX_BODY_BYTES
from tasman_etl.http.partition import Filters
from tasman_etl.http.retry import DEADLINE_FACTOR

if TYPE_CHECKING:
    from tasman_etl.config import Settings

__all__ = ["MAX_RESULTS_PER_PAGE", "ClientConfig", "SearchQuery"]

MAX_RESULTS_PER_PAGE = 500

# Parameter names the query owns; `extra` may not override them.
_RESERVED_PARAMS = frozenset(
    name.lower()
    for name in (
        "Keyword",
        "LocationName",
        "Radius",
        "JobCategoryCode",
        "Organization",
        "DatePosted",
        "Page",
        "ResultsPerPage",
    )
)


class SearchQuery(BaseModel):
    """What to search for; ``to_params()`` renders the USAJOBS parameters.

    Empty strings mean "no such filter". Code tuples are stripped, de-duplicated and
    sorted so equal queries render equal parameters (and equal ``scope_hash``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    keyword: str | None = None
    location_name: str | None = None
    radius_miles: int | None = Field(default=None, ge=1)
    job_category_codes: tuple[str, ...] = ()
    organization_codes: tuple[str, ...] = ()
    date_posted_days: int | None = Field(default=None, ge=0)
    extra: tuple[tuple[str, str], ...] = ()

    @field_validator("keyword", "location_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("job_category_codes", "organization_codes", mode="before")
    @classmethod
    def _canonical_codes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(";")
        if isinstance(value, list | tuple | set | frozenset):
            return tuple(sorted({str(v).strip() for v in value if str(v).strip()}))
        return value

    @field_validator("extra")
    @classmethod
    def _no_reserved(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for name, _ in value:
            if name.lower() in _RESERVED_PARAMS:
                raise ValueError(f"{name!r} is set by a named field or by the pager")
        return value

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchQuery:
        """The configured search scope (``KEYWORD``, ``LOCATION_NAME``, ``RADIUS_MILES``)."""
        return cls(
            keyword=settings.keyword,
            location_name=settings.location_name,
            radius_miles=settings.radius_miles,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchQuery:
        """The query a set of USAJOBS parameters asked (paging ignored): ``to_params``'s inverse.

        Raises ValueError for values a query cannot hold (a ``Radius`` that is not a number).
        """
        named = {
            "keyword": "Keyword",
            "location_name": "LocationName",
            "radius_miles": "Radius",
            "job_category_codes": "JobCategoryCode",
            "organization_codes": "Organization",
            "date_posted_days": "DatePosted",
        }
        lowered = {str(k).lower(): v for k, v in params.items()}
        fields: dict[str, Any] = {}
        for field_name, param in named.items():
            value = lowered.get(param.lower())
            if value is not None and str(value).strip() != "":
                fields[field_name] = str(value)
        extra = tuple(
            sorted(
                (str(k), str(v))
                for k, v in params.items()
                if str(k).lower() not in _RESERVED_PARAMS and v is not None
            )
        )
        return cls.model_validate({**fields, "extra": extra})

    def to_params(self) -> dict[str, str]:
        """USAJOBS query parameters (no paging; ``Radius`` only with ``LocationName``)."""
        params: dict[str, str] = {}
        if self.keyword:
            params["Keyword"] = self.keyword
        if self.location_name:
            params["LocationName"] = self.location_name
            if self.radius_miles is not None:
                params["Radius"] = str(self.radius_miles)
        if self.job_category_codes:
            params["JobCategoryCode"] = ";".join(self.job_category_codes)
        if self.organization_codes:
            params["Organization"] = ";".join(self.organization_codes)
        if self.date_posted_days is not None:
            params["DatePosted"] = str(self.date_posted_days)
        for name, value in self.extra:
            params[name] = value
        return params

    def scope_hash(self) -> str:
        """Stable SHA-256 (hex) of the canonical parameters: identifies the search scope."""
        canonical = json.dumps(self.to_params(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def narrowed(self, filters: Filters) -> SearchQuery:
        """This query with code filters (``job_category_codes``/``organization_codes``) set."""
        return SearchQuery.model_validate({**self.model_dump(), **filters})


class ClientConfig(BaseModel):
    """Everything the search client needs; build it with ``from_settings``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_base: str = DEFAULT_API_BASE
    auth_key: SecretStr | None = None
    user_agent: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    deadline_s: float | None = Field(default=None, gt=0)
    """Whole-request deadline (connect, headers, body); None = ``DEADLINE_FACTOR`` x timeout."""
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    """Cap of a response body, on the wire and decompressed."""
    max_attempts: int = Field(default=6, ge=1)
    retry_budget: int = Field(default=500, ge=0)
    requests_per_second: float = Field(default=2.0, gt=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    max_backoff_s: float = Field(default=60.0, gt=0)
    results_per_page: int = Field(default=MAX_RESULTS_PER_PAGE, ge=1, le=MAX_RESULTS_PER_PAGE)

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        # No credentials, query or fragment: the endpoint is stored in bronze and the ledger.
        return check_base_url(value)

    @field_validator("auth_key", "user_agent", mode="before")
    @classmethod
    def _header_value(cls, value: Any) -> Any:
        # Surrounding whitespace stripped, control characters refused (never echoed).
        return header_value_input(value)

    @property
    def request_deadline_s(self) -> float:
        """The deadline of one request: ``deadline_s``, or ``DEADLINE_FACTOR`` x ``timeout_s``."""
        if self.deadline_s is not None:
            return self.deadline_s
        return DEADLINE_FACTOR * self.timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientConfig:
        """Client settings from the validated application ``Settings``."""
        return cls(
            api_base=settings.usajobs_api_base,
            auth_key=settings.usajobs_auth_key,
            user_agent=settings.usajobs_user_agent,
            timeout_s=settings.http_timeout_s,
            deadline_s=settings.http_deadline_s,
            max_body_bytes=settings.http_max_body_bytes,
            max_attempts=settings.max_attempts,
            retry_budget=settings.retry_budget,
            requests_per_second=settings.requests_per_second,
            max_backoff_s=settings.max_backoff_s,
            results_per_page=settings.results_per_page,
        )

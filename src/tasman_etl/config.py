"""Settings from the environment, `.env` and CLI flags (flags win), validated up front."""

from __future__ import annotations

import contextlib
import os
import unicodedata
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasman_etl.errors import ConfigError
from tasman_etl.redact import register_secret

__all__ = [
    "DEFAULT_API_BASE",
    "Settings",
    "check_base_url",
    "check_header_value",
    "header_value_input",
    "load_settings",
]

DEFAULT_API_BASE = "https://data.usajobs.gov"


def _first_control(value: str) -> str | None:
    """``U+XXXX`` of the first control, format or line-separator character in ``value``."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def _refuse_control(value: str) -> None:
    # The message names the character, never the value: it may be a secret.
    bad = _first_control(value)
    if bad is not None:
        raise ValueError(
            f"contains a control character ({bad}) inside the value; surrounding whitespace "
            "(a CRLF line end) is stripped, anything else must be removed"
        )


def header_value_input(value: Any) -> Any:
    """A validator's input for an HTTP header value (plain or `SecretStr`): `check_header_value`
    applied to a string (blank becomes None), anything else passed on for pydantic to judge."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(raw, str):
        return value
    return check_header_value(raw) or None


def check_header_value(value: str) -> str:
    """An HTTP header value from config (the API key, the User-Agent), cleaned or refused.

    Surrounding whitespace (the ``\\r`` of a CRLF ``.env``, a trailing newline of a secret
    store) is stripped; a control character left inside, or a non-ASCII one (httpx sends
    headers as ASCII), raises ``ValueError`` with a message that never holds the value.
    """
    value = value.strip()
    _refuse_control(value)
    if not value.isascii():
        raise ValueError("contains a non-ASCII character (HTTP headers are ASCII)")
    return value


def check_base_url(value: str) -> str:
    """An ``http(s)://`` base URL without credentials, query or fragment, no trailing ``/``.

    Credentials in the URL would be stored with every endpoint (bronze, the ledger, logs), so
    they are refused; the messages never hold the URL.
    """
    value = value.strip()
    _refuse_control(value)
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if "@" in parts.netloc:
        raise ValueError(
            "must not hold a user name or password (user:password@host); "
            "the API key belongs in USAJOBS_AUTH_KEY"
        )
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(
            "must not have a query string or fragment (credentials such as ?apikey= are "
            "never put in URLs; the API key belongs in USAJOBS_AUTH_KEY)"
        )
    if not parts.hostname:
        raise ValueError("has no host")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Every knob of tasman-etl. Environment variable names are the field names upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    # USAJOBS
    usajobs_auth_key: SecretStr | None = None
    usajobs_user_agent: str | None = None
    usajobs_api_base: str = DEFAULT_API_BASE
    # Search scope
    keyword: str = "data engineering"
    location_name: str = "Chicago, Illinois"
    radius_miles: int = Field(default=50, ge=1, le=3000)
    results_per_page: int = Field(default=500, ge=1, le=500)
    max_pages: int | None = Field(default=None, ge=1)
    # HTTP behaviour
    concurrency: int = Field(default=1, ge=1, le=32)
    requests_per_second: float = Field(default=2.0, gt=0, le=1000)
    http_timeout_s: float = Field(default=30.0, gt=0, le=600)
    http_deadline_s: float | None = Field(default=None, gt=0, le=86_400)
    http_max_body_bytes: int = Field(default=128 * 1024 * 1024, ge=1024)
    max_attempts: int = Field(default=6, ge=1, le=50)
    retry_budget: int = Field(default=500, ge=0)
    max_backoff_s: float = Field(default=60.0, gt=0)
    # Storage
    tasman_home: Path = Path(".tasman")
    db_url: SecretStr | None = None
    db_connect_timeout_s: int = Field(default=10, ge=1)
    db_statement_timeout_s: int = Field(default=300, ge=1)
    db_ssl_root_cert: Path | None = None
    # Set in the container image and the ECS task: no DB_URL is an error, never an embedded server.
    require_db_url: bool = False
    bronze_dir: Path | None = None
    bronze_s3_bucket: str | None = None
    bronze_s3_prefix: str = "bronze/usajobs"
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    # Behaviour
    dq_enforce: bool = True
    inactive_after_runs: int = Field(default=2, ge=1)
    run_max_age_s: float = Field(default=6 * 3600, gt=0)
    shrink_guard_share: float = Field(default=0.5, gt=0.0, le=1.0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console", "auto"] = "auto"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("usajobs_auth_key", "usajobs_user_agent", mode="before")
    @classmethod
    def _header_value(cls, value: Any) -> Any:
        return header_value_input(value)

    @field_validator("usajobs_api_base", "aws_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_base_url(value)

    @field_validator("bronze_s3_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, value: SecretStr | None) -> SecretStr | None:
        raw = value.get_secret_value().strip() if value is not None else ""
        if not raw:
            return None
        _refuse_control(raw)
        if not raw.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return SecretStr(raw)

    @field_validator("require_db_url")
    @classmethod
    def _require_db_url(cls, value: bool, info: ValidationInfo) -> bool:
        if value and "db_url" in info.data and info.data["db_url"] is None:
            raise ValueError(
                "DB_URL is not set (or empty) and REQUIRE_DB_URL is true: refusing to start an "
                "embedded PostgreSQL in this container; set DB_URL to the database's URL"
            )
        return value

    @field_validator("db_ssl_root_cert", mode="before")
    @classmethod
    def _root_cert(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        if not isinstance(value, str | Path):
            return value  # None, or a type pydantic rejects itself
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"CA bundle {path} does not exist or is not a file")
        return path

    @property
    def bronze_path(self) -> Path:
        """The local bronze folder (`BRONZE_DIR`, default `$TASMAN_HOME/bronze`)."""
        return self.bronze_dir if self.bronze_dir is not None else self.tasman_home / "bronze"

    @property
    def pgdata_path(self) -> Path:
        """Data directory of the embedded PostgreSQL server."""
        return self.tasman_home / "pgdata"


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]).upper() or "settings"
        parts.append(f"{name}: {err['msg']}")
    return "invalid configuration: " + "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    """Build `Settings`; CLI overrides (None = not given) win over env and `.env`.

    Raises `ConfigError` with one readable line when a value is bad.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    if settings.usajobs_auth_key is not None:
        register_secret(settings.usajobs_auth_key.get_secret_value())
    # libpq also reads PGPASSWORD (ECS injects the RDS-managed password that way).
    register_secret(os.environ.get("PGPASSWORD"))
    if settings.db_url is not None:
        with contextlib.suppress(ValueError):
            parts = urlsplit(settings.db_url.get_secret_value())
            register_secret(parts.password)
            for name, value in parse_qsl(parts.query):
                if name == "password":
                    register_secret(value)
    return settings

"""Settings from the environment, `.env` and CLI flags (flags win), validated up front."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasman_etl.errors import ConfigError
from tasman_etl.redact import register_secret

__all__ = ["DEFAULT_API_BASE", "Settings", "load_settings"]

DEFAULT_API_BASE = "https://data.usajobs.gov"


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
    max_attempts: int = Field(default=6, ge=1, le=50)
    retry_budget: int = Field(default=500, ge=0)
    max_backoff_s: float = Field(default=60.0, gt=0)
    # Storage
    tasman_home: Path = Path(".tasman")
    db_url: SecretStr | None = None
    db_connect_timeout_s: int = Field(default=10, ge=1)
    db_statement_timeout_s: int = Field(default=300, ge=1)
    db_ssl_root_cert: Path | None = None
    bronze_dir: Path | None = None
    bronze_s3_bucket: str | None = None
    bronze_s3_prefix: str = "bronze/usajobs"
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    # Behaviour
    dq_enforce: bool = True
    inactive_after_runs: int = Field(default=2, ge=1)
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

    @field_validator("usajobs_api_base", "aws_endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("bronze_s3_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
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
            register_secret(urlsplit(settings.db_url.get_secret_value()).password)
    return settings

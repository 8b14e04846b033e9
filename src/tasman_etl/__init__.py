"""tasman-etl: keep PostgreSQL in sync with USAJOBS job announcements."""

from __future__ import annotations

__version__ = "0.1.0"
"""The package version: pyproject.toml's ``version``, which a test keeps equal to it.
Written here rather than read from the installed metadata, which costs every command
~50 ms of imports (importlib.metadata) at start."""

__all__ = ["__version__"]

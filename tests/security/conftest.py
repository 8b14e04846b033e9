"""Fixtures of the security tier: a connection on a fresh migrated database, local bronze."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tasman_etl.storage.bronze import LocalBronzeStore


@pytest.fixture
def conn(migrated_db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Autocommit connection (as the CLI uses) on a fresh migrated database."""
    with psycopg.connect(migrated_db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> LocalBronzeStore:
    """A local bronze store in tmp_path."""
    return LocalBronzeStore(tmp_path / "bronze", "bronze/usajobs")

"""Where the real recorded USAJOBS responses live (../shared beside the repo), and helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "usajobs"
SEARCH_FILES = sorted(FIXTURES.glob("search_*.json")) if FIXTURES.is_dir() else []

requires_fixtures = pytest.mark.skipif(
    not SEARCH_FILES, reason="real recorded fixtures not found in ../shared/fixtures/usajobs"
)


def load_payload(path: Path) -> dict[str, Any]:
    """A recorded search payload."""
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def fixture_items() -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(file name, index, item) for every item of every recorded search page."""
    for path in SEARCH_FILES:
        for index, item in enumerate(load_payload(path)["SearchResult"]["SearchResultItems"]):
            yield path.name, index, item

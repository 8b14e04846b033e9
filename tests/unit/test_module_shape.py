"""The shape issue 12 set for the page engine: small modules, and data quality apart.

No module in `runner/` or `dq/` over 400 lines; nothing in `dq/` imports the runner (the
gate is a stage the runner calls, not the other way round); one run lifecycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tasman_etl"
MAX_LINES = 400


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize(
    "path", [*_modules("runner"), *_modules("dq")], ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_runner_or_dq_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_in_dq_imports_the_runner() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            n for n in _imports(path) if n.startswith("tasman_etl.runner")
        )
        for path in _modules("dq")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_ledger_row_is_started_and_finished_in_one_place() -> None:
    callers = {
        str(path.relative_to(PACKAGE))
        for path in _modules("runner")
        if "start_run(" in path.read_text(encoding="utf-8")
        or "finish_run(" in path.read_text(encoding="utf-8")
    }
    assert callers == {"runner/lifecycle.py"}

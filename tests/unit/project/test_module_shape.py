"""The shape of the package: small modules that each do one job, and layers kept apart.

Issue 12 (the page engine): no module in `runner/` or `dq/` over 400 lines; nothing in
`dq/` imports the runner (the gate is a stage the runner calls, not the other way round);
one run lifecycle. Issue 16: no module anywhere over 450 lines except data tables; no
module imports another's private names; no lower layer imports a higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "tasman_etl"
MAX_LINES = 400
MAX_LINES_ANYWHERE = 450
DATA_TABLES = {
    "simulator/vocab.py": "the simulator's vocabularies: series, organisations, titles",
    "simulator/prose.py": "the simulator's phrase lists and measured length quantiles",
}
"""Modules exempt from the line limit: tables of data, not code."""


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


def _all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


@pytest.mark.parametrize("path", _all_modules(), ids=_name)
def test_no_module_is_over_450_lines_except_data_tables(path: Path) -> None:
    if _name(path) in DATA_TABLES:
        pytest.skip(f"data table: {DATA_TABLES[_name(path)]}")
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES_ANYWHERE, f"{_name(path)} has {lines} lines"


def test_the_data_tables_exist_and_are_mostly_data() -> None:
    for name in DATA_TABLES:
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        code_lines = sum((f.end_lineno or f.lineno) - f.lineno + 1 for f in functions)
        assert code_lines <= MAX_LINES_ANYWHERE // 2, f"{name}: {code_lines} lines of functions"


def test_no_module_imports_a_private_name_of_another() -> None:
    offenders = []
    for path in _all_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tasman_etl"):
                offenders += [
                    f"{_name(path)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert offenders == []


LAYERS_BELOW = {
    "dq": ("runner", "cli", "wiring", "db", "http", "storage"),
    "db": ("runner", "cli", "wiring", "http", "storage", "dq"),
    "storage": ("runner", "cli", "wiring", "http", "db", "dq"),
    "http": ("runner", "cli", "wiring", "storage", "db", "dq"),
    "runner": ("cli", "wiring"),
}
"""Package -> the packages it must not import (they sit above it, or beside it)."""


@pytest.mark.parametrize("package", sorted(LAYERS_BELOW))
def test_no_lower_layer_imports_a_higher_one(package: str) -> None:
    forbidden = tuple(f"tasman_etl.{name}" for name in LAYERS_BELOW[package])
    offenders = {
        _name(path): sorted(n for n in _imports(path) if n.startswith(forbidden))
        for path in _modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}

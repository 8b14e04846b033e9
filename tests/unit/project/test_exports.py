"""Every module says what it exports: `__all__` lists its public functions and classes.

For each module under ``src/tasman_etl``: every public (no leading underscore) function or
class it defines at top level is in its ``__all__``, and every name in ``__all__`` is bound
in the module (defined, assigned or imported). Read from the source (no import), so a
module with side effects at import is checked too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "tasman_etl"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those inside if/try/with blocks at top level."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.With):
            yield from _top_level(node.body)
            yield from _top_level(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
            yield from _top_level(node.finalbody)
            for handler in node.handlers:
                yield from _top_level(handler.body)


def _targets(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            yield from _targets(element)


def defined(tree: ast.Module) -> set[str]:
    """Public functions and classes the module defines itself (not imported)."""
    return {
        node.name
        for node in _top_level(tree.body)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not node.name.startswith("_")
    }


def bound(tree: ast.Module) -> set[str]:
    """Every name the module binds at top level: definitions, assignments, imports."""
    names: set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(_targets(target))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            names.update(_targets(node.target))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def exported(tree: ast.Module) -> list[str] | None:
    """The literal ``__all__`` of the module, or None when it has none."""
    found: list[str] | None = None
    for node in _top_level(tree.body):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list | tuple), "__all__ must be a literal list"
            found = [str(v) for v in value]
    return found


def _parse(source: str) -> ast.Module:
    return ast.parse(source)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_public_definitions_are_exported_and_exports_exist(path: Path) -> None:
    tree = _parse(path.read_text(encoding="utf-8"))
    public = defined(tree)
    names = exported(tree)
    if names is None:
        assert not public, f"no __all__, but it defines {sorted(public)}"
        return
    assert len(names) == len(set(names)), "__all__ lists a name twice"
    assert sorted(public - set(names)) == [], "public but not in __all__"
    assert sorted(set(names) - bound(tree)) == [], "in __all__ but not in the module"


# ------------------------------------------------------------------ the check itself


def test_the_check_finds_a_missing_export_and_a_phantom_one() -> None:
    tree = _parse(
        "import os as system\n"
        "from x import y\n"
        "__all__ = ['A', 'ghost', 'system', 'y', 'VALUE']\n"
        "VALUE = 1\n"
        "class A: ...\n"
        "def helper(): ...\n"
        "def _private(): ...\n"
        "try:\n    def fallback(): ...\nexcept ImportError:\n    pass\n"
    )
    assert defined(tree) == {"A", "helper", "fallback"}
    assert defined(tree) - set(exported(tree) or []) == {"helper", "fallback"}
    assert set(exported(tree) or []) - bound(tree) == {"ghost"}


def test_a_module_without_all_is_read_as_none() -> None:
    assert exported(_parse("def f(): ...\n")) is None

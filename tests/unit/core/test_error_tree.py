"""errors.py: one tree, drawn truly in its docstring, with no class that is never raised."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tasman_etl import errors
from tasman_etl.runner import results

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "tasman_etl"
CLASSES = {name: getattr(errors, name) for name in errors.__all__}


def test_every_class_is_an_error_or_a_signal() -> None:
    for name, cls in CLASSES.items():
        assert issubclass(cls, errors.TasmanError | errors.TasmanSignal), name


def test_a_stop_is_not_caught_as_an_error() -> None:
    assert not issubclass(errors.RunAborted, errors.TasmanError)
    assert issubclass(errors.RunLockedError, errors.TasmanError)
    assert results.RunAborted is errors.RunAborted
    assert results.RunLockedError is errors.RunLockedError


def test_the_docstring_draws_every_class_and_only_them() -> None:
    doc = errors.__doc__ or ""
    block = []
    for line in doc.split("::", 1)[1].splitlines()[1:]:
        if line.strip() and not line.startswith("    "):
            break  # the end of the indented diagram
        block.append(line)
    tree = "\n".join(block)
    drawn = set(re.findall(r"^[\s│├└─]*([A-Z]\w+)\b", tree, re.M))
    assert drawn == set(CLASSES)
    for name, cls in CLASSES.items():  # each drawn under its parent
        parent = cls.__mro__[1].__name__
        if parent != "Exception":
            assert tree.index(parent) < tree.index(name), name


def _sources() -> str:
    return "\n".join(
        p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py") if p.name != "errors.py"
    )


def _subclassed_in_the_package() -> set[str]:
    """Names some class of the package derives from, read from the source: the leaves must
    not depend on which modules (``http/bounded.py``, ``runner/pages.py`` ...) the tests
    collected so far happen to have imported."""
    bases: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    if isinstance(base, ast.Name):
                        bases.add(base.id)
                    elif isinstance(base, ast.Attribute):
                        bases.add(base.attr)
    return bases


_SUBCLASSED = _subclassed_in_the_package()


@pytest.mark.parametrize("name", sorted(n for n, c in CLASSES.items() if n not in _SUBCLASSED))
def test_every_leaf_class_is_raised_somewhere(name: str) -> None:
    assert re.search(rf"\b{name}\(|raise {name}\b", _sources()), f"{name} is never raised"

"""docs/architecture/seed-contract.md stays checkable: every requirement of the seed's
implementation document has a status, and each status has its evidence.

* every row of the table is numbered in order and has a status: met, different or partial;
* a ``different`` or ``partial`` row links an ADR under ``decisions/`` that exists;
* a ``met`` row names at least one path of the repository (in a code span) that exists;
* every repository path a row names exists, and every ``file::test_name`` names a function
  defined in that file;
* the totals line above the table agrees with the rows.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ARCH = ROOT / "docs" / "architecture"
CONTRACT = ARCH / "seed-contract.md"

STATUSES = ("met", "different", "partial")
#: Code spans starting with one of these are read as paths from the repository root.
ROOT_PREFIXES = ("src/", "tests/", "docs/", "infra/", "docker/", "data/", ".ci/", "bench/")
ROOT_FILES = frozenset(
    {
        "Makefile",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "pyproject.toml",
        "requirements.lock",
        ".env.example",
        ".gitignore",
        ".dockerignore",
        ".pre-commit-config.yaml",
    }
)

_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ADR_LINK = re.compile(r"^decisions/(\d{4})-[a-z0-9-]+\.md$")
_TOTALS = re.compile(r"\*\*(\d+) requirements: (\d+) met, (\d+) different, (\d+) partial\.\*\*")


@dataclass(frozen=True)
class Row:
    number: int
    requirement: str
    status: str
    evidence: str

    def __str__(self) -> str:
        return f"row {self.number} ({self.requirement[:60]})"


def split_cells(line: str) -> list[str]:
    """Cells of a Markdown table line; a ``|`` inside a code span does not split."""
    cells: list[str] = []
    current: list[str] = []
    in_code = False
    for char in line.strip().strip("|"):
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    cells.append("".join(current).strip())
    return cells


def contract_rows(text: str) -> list[Row]:
    """The numbered rows of the traceability table."""
    rows: list[Row] = []
    for line in text.splitlines():
        if not re.match(r"^\|\s*\d+\s*\|", line):
            continue
        cells = split_cells(line)
        assert len(cells) == 4, f"expected 4 cells, got {len(cells)}: {line[:80]}"
        rows.append(Row(int(cells[0]), cells[1], cells[2], cells[3]))
    return rows


def repository_paths(cell: str) -> list[tuple[str, str | None]]:
    """(path, test function or None) for each code span of ``cell`` naming a repository path."""
    found: list[tuple[str, str | None]] = []
    for span in _CODE_SPAN.findall(cell):
        path, _, function = span.partition("::")
        path = path.strip()
        if path in ROOT_FILES or (path.startswith(ROOT_PREFIXES) and " " not in path):
            found.append((path, function.strip() or None))
    return found


def missing(path: str, function: str | None) -> str | None:
    """Why ``path`` (and ``function`` in it) cannot be found, or None."""
    target = ROOT / path.rstrip("/")
    if not target.exists():
        return f"{path} does not exist"
    if function is not None:
        name = function.split("[", 1)[0]
        source = target.read_text(encoding="utf-8")
        if not re.search(rf"^\s*def {re.escape(name)}\(", source, re.MULTILINE):
            return f"{path} defines no {name}()"
    return None


ROWS = contract_rows(CONTRACT.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------- the parser


def test_cells_split_outside_code_spans_only() -> None:
    line = "| 3 | a `x|y` requirement (§1) | met | `src/a.py::test_b`, `Makefile` |"
    assert split_cells(line) == [
        "3",
        "a `x|y` requirement (§1)",
        "met",
        "`src/a.py::test_b`, `Makefile`",
    ]
    assert repository_paths(split_cells(line)[3]) == [("src/a.py", "test_b"), ("Makefile", None)]
    assert repository_paths("`tasman-etl runs show`, `http/partition.py`") == []


# ------------------------------------------------------------------------- the table


def test_the_table_is_numbered_in_order_and_covers_the_document() -> None:
    assert [r.number for r in ROWS] == list(range(1, len(ROWS) + 1))
    assert len(ROWS) >= 64, "the audit of issue 14 counted 64 requirements"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: str(r.number))
def test_row_has_a_status(row: Row) -> None:
    assert row.status in STATUSES, f"{row}: status {row.status!r} is not one of {STATUSES}"
    assert re.search(r"\(§\d", row.requirement), f"{row}: names no section of the document"


@pytest.mark.parametrize("row", [r for r in ROWS if r.status != "met"], ids=lambda r: str(r.number))
def test_different_or_partial_row_links_an_existing_adr(row: Row) -> None:
    adrs = [link for link in _LINK.findall(row.evidence) if _ADR_LINK.match(link)]
    assert adrs, f"{row}: a {row.status} row must link an ADR (decisions/NNNN-title.md)"
    gone = [link for link in adrs if not (ARCH / link).is_file()]
    assert not gone, f"{row}: linked ADRs do not exist: {gone}"


@pytest.mark.parametrize("row", [r for r in ROWS if r.status == "met"], ids=lambda r: str(r.number))
def test_met_row_names_an_existing_path(row: Row) -> None:
    paths = repository_paths(row.evidence)
    assert paths, f"{row}: a met row must name a repository path in a code span"
    assert any(missing(p, f) is None for p, f in paths), f"{row}: none of {paths} exists"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: str(r.number))
def test_every_path_a_row_names_exists(row: Row) -> None:
    problems = [why for p, f in repository_paths(row.evidence) if (why := missing(p, f))]
    assert not problems, f"{row}: " + "; ".join(problems)


def test_totals_agree_with_the_rows() -> None:
    totals = _TOTALS.search(CONTRACT.read_text(encoding="utf-8"))
    assert totals is not None, "the totals line is missing"
    counts = Counter(r.status for r in ROWS)
    stated = tuple(int(g) for g in totals.groups())
    assert stated == (len(ROWS), counts["met"], counts["different"], counts["partial"])


def test_the_contract_is_linked_from_the_architecture_index_and_the_design() -> None:
    assert "(seed-contract.md)" in (ARCH / "README.md").read_text(encoding="utf-8")
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    assert "(architecture/seed-contract.md)" in design

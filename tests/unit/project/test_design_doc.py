"""docs/design.md stays true to the repository: its ER diagram and the files it names."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DESIGN = ROOT / "docs" / "design.md"
DIAGRAMS = ROOT / "docs" / "architecture" / "diagrams.md"
PACKAGE = ROOT / "src" / "tasman_etl"


def _er_blocks(path: Path) -> list[str]:
    blocks = re.findall(
        r"^```mermaid[ \t]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S
    )
    return [b for b in blocks if b.lstrip().startswith("erDiagram")]


def test_design_has_the_checked_er_diagram() -> None:
    """diagrams.md's ER diagram is checked against the migrations; design.md carries a copy."""
    design, checked = _er_blocks(DESIGN), _er_blocks(DIAGRAMS)
    assert len(design) == 1 and len(checked) == 1
    assert design[0] == checked[0], (
        "the ER diagram of docs/design.md differs from docs/architecture/diagrams.md: copy it"
    )


def test_design_has_an_architecture_flowchart() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    assert "```mermaid\nflowchart" in text
    for section in ("## 2. Architecture", "## 3. The stages of a run", "## 4. Contracts"):
        assert section in text


def test_every_module_the_design_names_exists() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.(?:py|sql)|[a-z_]+/)`", text))
    assert len(named) > 20
    missing = sorted(
        name
        for name in named
        if "*" not in name
        and not (PACKAGE / name).exists()
        and not (ROOT / name).exists()
        and not (ROOT / "tests" / name).exists()
    )
    assert not missing, f"docs/design.md names files that do not exist: {missing}"

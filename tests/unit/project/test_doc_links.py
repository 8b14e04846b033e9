"""Internal links of every Markdown file resolve: the file exists, and so does the #anchor.

The offline half of `make links` (which runs Lychee in Docker for external links too, and is
not run in CI). Relative links resolve against the linking file's folder (a leading ``/``
against the repository root); ``#anchor`` must be a GitHub heading slug of the target file
(or an explicit ``<a id=…>``/``<a name=…>``). Links inside code blocks and code spans are not
links. External links (any ``scheme:``) are Lychee's job and are skipped here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[3]

#: Folders that are not the project's documents (environments, caches, build output).
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".terraform",
        ".tasman",
        "build",
        "dist",
        "node_modules",
        "__pycache__",
    }
)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
_HTML_ANCHOR = re.compile(r"<a\s+[^>]*?(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    source: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.source.relative_to(REPO)}:{self.line}: {self.target}"


def markdown_files(root: Path = REPO) -> list[Path]:
    """Every .md file of the repository, outside environments and caches."""
    found: list[Path] = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts
        if any(p in SKIP_DIRS or p.startswith(".venv") for p in parts[:-1]):
            continue
        found.append(path)
    return found


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with code spans blanked out."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        yield number, _CODE_SPAN.sub("", line)


def links_of(path: Path) -> list[Link]:
    """Inline links, images and reference definitions of one Markdown file."""
    found: list[Link] = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        targets = [m.group(1) for m in _INLINE.finditer(line)]
        reference = _REFERENCE.match(line)
        if reference is not None:
            targets.append(reference.group(1))
        found.extend(Link(path, number, t.strip("<>")) for t in targets)
    return found


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed,
    spaces to hyphens (``### `runs show` / x`` -> ``runs-show--x``)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*|~~)", "", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors_of(path: Path) -> frozenset[str]:
    """Every anchor of a Markdown file: heading slugs (repeats numbered) and HTML ids."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    text = path.read_text(encoding="utf-8")
    for _, line in _prose_lines(text):
        heading = _HEADING.match(line)
        if heading is not None:
            slug = github_slug(heading.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    anchors.update(_HTML_ANCHOR.findall(text))
    return frozenset(anchors)


def check_link(link: Link, root: Path = REPO) -> str | None:
    """Why ``link`` is broken, or None when it resolves (external links: None)."""
    target = link.target
    if not target or _SCHEME.match(target) or target.startswith("//"):
        return None
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if not path_part:
        resolved = link.source
    elif path_part.startswith("/"):
        resolved = root / path_part.lstrip("/")
    else:
        resolved = (link.source.parent / path_part).resolve()
    if not resolved.resolve().is_relative_to(root.resolve()):
        return "points outside the repository (it must stand alone)"
    if not resolved.exists():
        return "no such file"
    is_markdown = resolved.is_file() and resolved.suffix.lower() == ".md"
    if anchor and is_markdown and unquote(anchor).lower() not in anchors_of(resolved.resolve()):
        return f"no heading with anchor #{anchor} in {resolved.relative_to(root)}"
    return None


# ------------------------------------------------------------------------- the checker


def test_slugs_follow_github() -> None:
    assert github_slug("Quick start") == "quick-start"
    assert github_slug("`tasman-etl runs` / `tasman-etl runs show RUN_ID`") == (
        "tasman-etl-runs--tasman-etl-runs-show-run_id"
    )
    assert github_slug("1. Bronze capture (S3)") == "1-bronze-capture-s3"
    assert github_slug("[Deploy](docs/deploy.md) to **AWS**") == "deploy-to-aws"


def test_checker_finds_broken_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# Title\n\n## Same\n\n## Same\n", encoding="utf-8")
    (tmp_path / "a.md").write_text(
        "See [b](docs/b.md#title), [dup](docs/b.md#same-1), [self](#top), [x](http://x.invalid)\n"
        "[gone](docs/c.md) [bad](docs/b.md#nope) [out](../elsewhere.md) `[code](no.md)`\n"
        "```\n[fenced](no.md)\n```\n"
        '<a id="top"></a>\n'
        "[ref]: docs/missing.md\n",
        encoding="utf-8",
    )
    anchors_of.cache_clear()
    problems = {link.target: check_link(link, tmp_path) for link in links_of(tmp_path / "a.md")}
    assert problems == {
        "docs/b.md#title": None,
        "docs/b.md#same-1": None,
        "#top": None,
        "http://x.invalid": None,
        "docs/c.md": "no such file",
        "docs/b.md#nope": "no heading with anchor #nope in docs/b.md",
        "../elsewhere.md": "points outside the repository (it must stand alone)",
        "docs/missing.md": "no such file",
    }


# ------------------------------------------------------------------------- the repository


def test_the_repository_has_markdown_to_check() -> None:
    names = {p.relative_to(REPO).as_posix() for p in markdown_files()}
    assert {"README.md", "docs/design.md", "docs/architecture/README.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_internal_links_and_anchors_resolve(path: Path) -> None:
    broken = [f"{link}: {why}" for link in links_of(path) if (why := check_link(link))]
    assert not broken, "broken links:\n" + "\n".join(broken)

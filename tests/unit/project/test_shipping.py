"""The shipping basics stay in place: licence, lock file, .env.example, Makefile, pre-commit.

Read from the files themselves (no network, no Docker). Each test names what a clone of the
repository relies on and fails when it drifts.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

REPO = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
LOCK = REPO / "requirements.lock"
README = (REPO / "README.md").read_text(encoding="utf-8")
MAKEFILE = (REPO / "Makefile").read_text(encoding="utf-8")

_VAR = re.compile(r"`([A-Z][A-Z0-9_]*)`")
_ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one hyphen."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    assert match, spec
    return _canonical(match.group(1))


def _lock_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)", line.strip())
        assert match, f"requirements.lock line {number} is not name==version: {line!r}"
        pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _make_target(name: str) -> tuple[list[str], list[str]]:
    """(prerequisites, recipe lines) of a Makefile target."""
    match = re.search(
        rf"^{re.escape(name)}:([^\n#]*)(?:##[^\n]*)?\n((?:\t[^\n]*\n)*)", MAKEFILE, re.M
    )
    assert match, f"no `make {name}` target"
    recipe = [line.strip() for line in match.group(2).splitlines()]
    return match.group(1).split(), recipe


# ------------------------------------------------------------------------- licence


def test_licence_is_mit_as_the_package_says() -> None:
    licence = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    assert licence.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4}(-\d{4})? tasman-etl contributors$", licence, re.M)
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in licence


# ------------------------------------------------------------------------- lock file


def test_lock_pins_every_dependency_and_dev_dependency() -> None:
    pins = _lock_pins()
    wanted = [*PYPROJECT["project"]["dependencies"]]
    wanted += PYPROJECT["project"]["optional-dependencies"]["dev"]
    missing = sorted({_requirement_name(spec) for spec in wanted} - set(pins))
    assert not missing, f"not pinned in requirements.lock (run make lock): {missing}"
    assert "tasman-etl" not in pins, "the project itself must not be pinned"
    assert len(pins) > 50  # the whole resolved tree, not only the direct dependencies


def test_every_install_goes_through_the_lock_file() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    dockerfile = (REPO / "docker" / "Dockerfile").read_text(encoding="utf-8")
    installs = [line for line in ci.splitlines() if re.search(r"pip install .*-e ", line)]
    assert installs and all("-c requirements.lock" in line for line in installs), installs
    assert "-c requirements.lock" in dockerfile
    _, install = _make_target("install")
    assert any("pip install -c requirements.lock -e '.[dev]'" in line for line in install)
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert quick.count("pip install -c requirements.lock -e ") == 2


def test_lock_file_is_refreshed_by_make_lock() -> None:
    _, recipe = _make_target("lock")
    text = "\n".join(recipe)
    assert "python3 -m venv" in text  # a scratch venv: pyproject resolved afresh
    assert "pip freeze --exclude-editable" in text
    assert "requirements.lock" in text
    assert "make lock" in README
    assert "make lock" in LOCK.read_text(encoding="utf-8")


# ------------------------------------------------------------------------- settings


def _readme_settings() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(_VAR.findall(line.split("|")[1]))
    return names


def test_readme_configuration_table_is_found() -> None:
    assert {"USAJOBS_AUTH_KEY", "DB_URL", "HTTP_TIMEOUT_S", "AWS_ENDPOINT_URL"} <= (
        _readme_settings()
    )


def test_env_example_lists_every_documented_setting_and_no_other() -> None:
    example = set(_ENV_LINE.findall((REPO / ".env.example").read_text(encoding="utf-8")))
    documented = _readme_settings()
    missing = sorted(documented - example)
    undocumented = sorted(example - documented)
    assert not missing, f".env.example lacks settings the README documents: {missing}"
    assert not undocumented, f".env.example has settings the README does not: {undocumented}"


# ------------------------------------------------------------------------- Makefile


def test_make_test_runs_linters_type_checks_and_tests() -> None:
    prerequisites, _ = _make_target("test")
    assert prerequisites[:2] == ["lint", "typecheck"], prerequisites
    _, lint = _make_target("lint")
    assert any("ruff check" in line for line in lint)
    assert any("ruff format --check" in line for line in lint)
    _, typecheck = _make_target("typecheck")
    assert any("mypy" in line for line in typecheck)
    fast_prerequisites, fast = _make_target("test-fast")
    assert not fast_prerequisites and any("pytest" in line for line in fast)
    assert "test-fast" in prerequisites


def test_make_links_runs_lychee_in_docker_with_the_github_token() -> None:
    _, recipe = _make_target("links")
    text = " ".join(recipe)
    assert "docker run" in text and "$(LYCHEE_IMAGE)" in text
    assert "-e GITHUB_TOKEN" in text
    image = re.search(r"^LYCHEE_IMAGE \?= (\S+)$", MAKEFILE, re.M)
    assert image and re.fullmatch(r"lycheeverse/lychee:\d+\.\d+\.\d+", image.group(1))
    _, offline = _make_target("links-offline")
    assert any("tests/unit/project/test_doc_links.py" in line for line in offline)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "skipping make links" in ci  # CI says why the Docker check does not run


@pytest.mark.parametrize("target", ["test-unit", "sample", "install", "lock"])
def test_target_is_phony_and_documented(target: str) -> None:
    phony = re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.M)
    assert phony and target in phony.group(1).split()
    assert re.search(rf"^{re.escape(target)}:[^\n]*## \S", MAKEFILE, re.M)


# ------------------------------------------------------------------------- pre-commit


def test_pre_commit_has_the_hygiene_hooks_and_the_readme_installs_it() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: repo for repo in config["repos"] for hook in repo["hooks"]}
    for hook in (
        "trailing-whitespace",
        "end-of-file-fixer",
        "check-yaml",
        "check-json",
        "check-toml",
    ):
        assert hook in hooks, hook
        repo = hooks[hook]
        assert repo["repo"] == "https://github.com/pre-commit/pre-commit-hooks"
        assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"]), "pin a released tag"
    for hook in ("ruff", "ruff-format", "mypy"):
        assert hook in hooks, hook
    assert "pre-commit install" in README


def test_the_package_version_is_pyprojects() -> None:
    from importlib.metadata import version

    from tasman_etl import __version__

    root = Path(__file__).resolve().parents[3]
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert __version__ == declared["project"]["version"] == version("tasman-etl")

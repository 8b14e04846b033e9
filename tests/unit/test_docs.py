"""Docs that cannot drift: every CLI command and option is in the README's reference."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from tasman_etl.cli import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, list[str]]]:
    root = typer.main.get_command(app)
    out = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        out.append((name, [o for p in command.params for o in p.opts if o.startswith("--")]))
        for sub, subcommand in getattr(command, "commands", {}).items():
            out.append(
                (
                    f"{name} {sub}",
                    [o for p in subcommand.params for o in p.opts if o.startswith("--")],
                )
            )
    return out


@pytest.mark.parametrize(("name", "options"), _commands(), ids=lambda v: str(v))
def test_every_command_and_option_is_documented(name: str, options: list[str]) -> None:
    assert f"`tasman-etl {name}" in README, f"README has no section for `tasman-etl {name}`"
    missing = [o for o in options if f"`{o}" not in README]
    assert not missing, f"README does not mention {missing} of `tasman-etl {name}`"


def test_readme_starts_with_the_two_setup_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    blocks = [b.split("```", 1)[0].strip() for b in quick.split("```bash")[1:]]
    assert blocks[0].endswith("tasman-etl run --demo")
    assert blocks[1].endswith(".venv/bin/pytest")
    for block in blocks[:2]:  # pinned installs: both go through the lock file
        assert "pip install -c requirements.lock -e " in block, block

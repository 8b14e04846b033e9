"""The gate with Great Expectations in a worker process (`DqGate(isolate=True)`).

Each test starts a real worker (a spawned interpreter that imports GX: a few seconds).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasman_etl.dq import DqGate
from tasman_etl.dq.gx.process import ProcessSuiteRunner, discard_prestarted, prestart
from tasman_etl.models import RATE_INTERVAL_CODES
from tasman_etl.transform import search_items, transform_page

from realdata import FIXTURES, load_payload, requires_fixtures


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def isolated() -> Iterator[DqGate]:
    gate = DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES, isolate=True)
    yield gate
    gate.close()


def _pages(payloads: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    return [(transform_page(search_items(p)), p) for p in payloads]


def _real_page_with_a_bad_uri() -> dict[str, Any]:
    payload = load_payload(FIXTURES / "search_2016-05_keyword_rpp500_page1.json")
    items = payload["SearchResult"]["SearchResultItems"]
    items[7]["MatchedObjectDescriptor"]["PositionURI"] = "ftp://example.org/job"
    return payload


@requires_fixtures
def test_the_worker_decides_exactly_what_the_in_process_gate_decides(isolated: DqGate) -> None:
    payloads = [
        _real_page_with_a_bad_uri(),
        load_payload(FIXTURES / "search_2024-06_it_specialist_portland_trimmed.json"),
    ]
    pages = _pages(payloads)
    local = DqGate(enforce=True, known_rate_codes=RATE_INTERVAL_CODES).batch(pages)
    remote = isolated.batch(pages)
    assert isinstance(isolated.runner, ProcessSuiteRunner)
    assert isolated.runner.worker_pid() != os.getpid()
    for a, b in zip(remote, local, strict=True):
        assert a.results == b.results
        assert (a.hold, a.failed_expectations) == (b.hold, b.failed_expectations)
        assert a.rows.quarantine == b.rows.quarantine
    assert [q.item_index for q in remote[0].rows.quarantine] == [7]
    assert remote[1].hold is True  # the trimmed page: 2 items, SearchResultCount 25


@requires_fixtures
def test_a_dead_worker_holds_its_batch_and_the_next_batch_gets_a_new_one(
    isolated: DqGate,
) -> None:
    pages = _pages([_real_page_with_a_bad_uri()])
    runner = isolated.runner
    assert isinstance(runner, ProcessSuiteRunner)
    first = runner.worker_pid()
    os.kill(first, signal.SIGKILL)
    assert _wait_gone(first)
    held = isolated.batch(pages)[0]
    assert held.hold is True
    assert all("worker process died" in r["error"] for r in held.results)
    again = isolated.batch(pages)[0]
    assert again.hold is False and [q.item_index for q in again.rows.quarantine] == [7]
    assert runner.worker_pid() not in (first, os.getpid())


def test_close_stops_the_worker_and_stop_signals_do_not_reach_it(isolated: DqGate) -> None:
    runner = isolated.runner
    assert isinstance(runner, ProcessSuiteRunner)
    pid = runner.worker_pid()
    os.kill(pid, signal.SIGTERM)  # ignored: the parent decides when the worker stops
    os.kill(pid, signal.SIGINT)
    time.sleep(0.3)
    assert _alive(pid)
    isolated.close()
    assert _wait_gone(pid)


def test_the_worker_exits_when_its_parent_is_killed(tmp_path: Any) -> None:
    import subprocess
    import sys

    script = (
        "from tasman_etl.dq import DqGate\n"
        "gate = DqGate(enforce=True, known_rate_codes=(), isolate=True)\n"
        "print(gate.runner.worker_pid(), flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _alive(worker)
    finally:
        parent.kill()
        parent.wait()
    assert _wait_gone(worker, seconds=10)


def _spawned_children() -> set[int]:
    """This process's children started by multiprocessing's spawn (GX workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"multiprocessing.spawn" in cmdline:
            found.add(int(entry.name))
    return found


def test_a_prestarted_worker_nobody_adopts_is_stopped_at_once() -> None:
    # A command that fails before its gate exists must not wait for the GX import.
    before = _spawned_children()
    prestart()
    deadline = time.monotonic() + 30
    while not (_spawned_children() - before):
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.02)
    worker = next(iter(_spawned_children() - before))
    discard_prestarted()  # returns once the worker is gone, import finished or not
    assert not _alive(worker) or _zombie(worker)


def _zombie(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True

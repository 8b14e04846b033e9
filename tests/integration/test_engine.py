"""Connection layer: embedded PostgreSQL lifecycle, `DB_URL`, error masking, the tier hook."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from tasman_etl.config import Settings
from tasman_etl.db.engine import APPLICATION_NAME, Database, open_database, wait_until_ready
from tasman_etl.errors import DatabaseError

REPO_TESTS = Path(__file__).resolve().parents[1]


def settings_for(home: Path) -> Settings:
    return Settings(tasman_home=home, db_url=None, _env_file=None)


def postmaster_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def handle_pids(pgdata: Path) -> list[int]:
    path = pgdata / ".handle_pids.json"
    return list(json.loads(path.read_text())) if path.exists() else []


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll for a process state change (not a backoff): postgres exits asynchronously."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_stopped(pid: int, pgdata: Path) -> None:
    """Wait for a postmaster whose stop was requested (close() does not wait) to exit, and
    check it left its data directory clean: no postmaster.pid, no socket lock."""
    wait_for(lambda: not postmaster_alive(pid), f"postmaster {pid} to exit")
    assert not (pgdata / "postmaster.pid").exists()
    assert not list(pgdata.glob(".s.PGSQL.*"))


def pm_status(pgdata: Path) -> str | None:
    """The status line of postmaster.pid ("ready", "stopping", ...), None without the file."""
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()[7].strip()
    except (OSError, IndexError):
        return None


def select_one(db: Database) -> object:
    with db.connect() as conn:
        row = conn.execute("select 1").fetchone()
    return row[0] if row else None


@pytest.fixture
def home() -> Iterator[Path]:
    """A TASMAN_HOME outside pytest's basetemp (pytest chmods that back to 0700 each session,
    cutting off the `embedded_postgres` user); a server still there at the end is given a
    moment to finish its shutdown (close() does not wait for it), then killed."""
    path = Path(tempfile.mkdtemp(prefix="tasman-engine-"))
    try:
        yield path
    finally:
        pid_file = path / "pgdata" / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(psutil.Error, ValueError, IndexError):
                proc = psutil.Process(int(pid_file.read_text().split()[0]))
                if pm_status(path / "pgdata") != "stopping":
                    proc.send_signal(signal.SIGINT)  # fast shutdown
                try:
                    proc.wait(15)
                except psutil.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def opened() -> Iterator[list[Database]]:
    """Collects handles so a failing test still releases them."""
    handles: list[Database] = []
    yield handles
    for db in handles:
        db.close()


def test_second_handle_reuses_server_and_last_close_stops_it(
    home: Path, opened: list[Database]
) -> None:
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    first = open_database(settings)
    opened.append(first)
    pid = first.server_pid
    assert first.is_embedded
    assert pid is not None
    assert first.display_url.startswith("embedded:")
    assert first.display_url.endswith("pgdata")
    assert first.conninfo.startswith("postgresql://")
    assert Settings(db_url=first.conninfo, _env_file=None).db_url is not None

    second = open_database(settings)
    opened.append(second)
    assert second.server_pid == pid
    assert select_one(second) == 1

    first.close()
    assert postmaster_alive(pid)
    assert select_one(second) == 1

    second.close()
    assert handle_pids(pgdata) == []
    with pytest.raises(DatabaseError, match="closed"):
        second.connect()
    wait_stopped(pid, pgdata)


def test_connections_carry_app_name_and_timeouts(home: Path) -> None:
    settings = Settings(tasman_home=home, db_url=None, db_statement_timeout_s=7, _env_file=None)
    with open_database(settings) as db, db.connect(autocommit=True) as conn:
        assert conn.autocommit is True
        assert conn.execute("show application_name").fetchone() == (APPLICATION_NAME,)
        assert conn.execute("show statement_timeout").fetchone() == ("7s",)
        pid = db.server_pid
    assert pid is not None
    wait_stopped(pid, home / "pgdata")


def test_data_persists_across_restart(home: Path) -> None:
    settings = settings_for(home)
    with open_database(settings) as db, db.connect() as conn:
        conn.execute("create table kept (v text)")
        conn.execute("insert into kept values ('still here')")
        conn.commit()
        pid = db.server_pid
    assert pid is not None
    wait_stopped(pid, settings.pgdata_path)

    with open_database(settings) as db, db.connect() as conn:
        assert conn.execute("select v from kept").fetchall() == [("still here",)]


def test_stale_handle_pids_are_pruned_and_server_still_stops(
    home: Path, opened: list[Database]
) -> None:
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    open_database(settings).close(wait=True)  # initdb, start, stop
    assert not (pgdata / "postmaster.pid").exists()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = gone.pid
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead]))

    db = open_database(settings)
    opened.append(db)
    pid = db.server_pid
    assert pid is not None
    assert handle_pids(pgdata) == [os.getpid()]

    # A co-owner that died while we held the server must not keep it running.
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead, os.getpid()]))
    db.close()
    assert handle_pids(pgdata) == []
    wait_stopped(pid, pgdata)


CHILD = """
import sys, time
from pathlib import Path
from tasman_etl.config import Settings
from tasman_etl.db.engine import open_database
db = open_database(Settings(tasman_home=Path(sys.argv[1]), db_url=None, _env_file=None))
print(f"PID {db.server_pid}", flush=True)
time.sleep(120)
"""


def test_server_left_by_sigkilled_owner_is_reused(home: Path, opened: list[Database]) -> None:
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = ""
        for line in child.stdout:
            if line.startswith("PID "):
                break
        assert line.startswith("PID "), "child did not report its server"
        pid = int(line.split()[1])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert postmaster_alive(pid)
    assert handle_pids(pgdata) == [child.pid]

    db = open_database(settings)
    opened.append(db)

    assert db.server_pid == pid
    assert select_one(db) == 1
    assert handle_pids(pgdata) == [os.getpid()]
    db.close()
    wait_stopped(pid, pgdata)


def test_postmaster_killed_under_open_handle_is_restarted(
    home: Path, opened: list[Database]
) -> None:
    settings = settings_for(home)
    first = open_database(settings)
    opened.append(first)
    with first.connect() as conn:
        conn.execute("create table t (x int)")
        conn.execute("insert into t values (42)")
        conn.commit()
    pid = first.server_pid
    assert pid is not None

    os.kill(pid, signal.SIGKILL)  # may stay a zombie: postmaster.pid still names it
    wait_for(lambda: not postmaster_alive(pid), "the postmaster to die")

    second = open_database(settings)
    opened.append(second)
    new_pid = second.server_pid
    assert new_pid is not None
    assert new_pid != pid
    with first.connect() as conn:  # the old handle works again too
        assert conn.execute("select x from t").fetchall() == [(42,)]

    first.close()
    assert postmaster_alive(new_pid)
    second.close()
    wait_stopped(new_pid, settings.pgdata_path)


def test_close_requests_the_stop_and_the_postmaster_finishes_alone(home: Path) -> None:
    """close() does not wait for the shutdown: it returns once the postmaster took the
    request (postmaster.pid says "stopping", or it is already gone); the postmaster then
    exits by itself and leaves the data directory clean."""
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    db = open_database(settings)
    pid = db.server_pid
    assert pid is not None
    assert pm_status(pgdata) == "ready"
    # its own session (pg_ctl start): what hits the command's process group misses it
    assert os.getsid(pid) == pid != os.getsid(0)

    db.close()

    if postmaster_alive(pid):  # usually: the shutdown takes a few ms more than close()
        assert pm_status(pgdata) in ("stopping", None)
    assert handle_pids(pgdata) == []
    wait_stopped(pid, pgdata)


COMMAND = """
import sys
from pathlib import Path
from tasman_etl.config import Settings
from tasman_etl.db.engine import open_database
db = open_database(Settings(tasman_home=Path(sys.argv[1]), db_url=None, _env_file=None))
with db.connect() as conn:
    conn.execute("create table if not exists kept (v text)")
    conn.execute("insert into kept values ('from ' || %s)", (sys.argv[2],))
    conn.commit()
print(f"PID {db.server_pid}", flush=True)
if sys.argv[2] == "close":
    db.close()
# else: left to the atexit hook, as a command that raised would
"""


@pytest.mark.parametrize("ending", ["close", "atexit"])
def test_a_command_exits_without_waiting_and_its_server_stops_alone(
    home: Path, ending: str
) -> None:
    pgdata = home / "pgdata"
    child = subprocess.run(
        [sys.executable, "-c", COMMAND, str(home), ending],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    pid = int(child.stdout.split("PID ")[1].split()[0])
    assert "embedded_postgres_stopped" in child.stdout + child.stderr  # requested, not waited
    wait_stopped(pid, pgdata)  # not killed with the command: it finished its shutdown
    with open_database(settings_for(home)) as db, db.connect() as conn:
        assert conn.execute("select v from kept").fetchall() == [(f"from {ending}",)]
        pid = db.server_pid
    assert pid is not None
    wait_stopped(pid, pgdata)


def test_reopen_right_after_close_waits_for_the_old_server_and_reads_the_row(
    home: Path, opened: list[Database]
) -> None:
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    first = open_database(settings)
    with first.connect() as conn:
        conn.execute("create table kept (v text)")
        conn.execute("insert into kept values ('committed')")
        conn.commit()
    old = first.server_pid
    assert old is not None
    first.close()

    second = open_database(settings)  # the old postmaster may still be shutting down
    opened.append(second)

    new = second.server_pid
    assert new is not None and new != old
    wait_for(lambda: not postmaster_alive(old), "the old postmaster to be gone")
    assert pm_status(pgdata) == "ready"
    with second.connect() as conn:
        assert conn.execute("select v from kept").fetchall() == [("committed",)]
    second.close()
    wait_stopped(new, pgdata)


def test_five_immediate_open_close_cycles(home: Path) -> None:
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    pids: list[int] = []
    for cycle in range(5):
        with open_database(settings) as db, db.connect() as conn:
            if cycle == 0:
                conn.execute("create table cycles (n int)")
            conn.execute("insert into cycles values (%s)", (cycle,))
            conn.commit()
            assert conn.execute("select count(*) from cycles").fetchone() == (cycle + 1,)
            pid = db.server_pid
            assert pid is not None
            pids.append(pid)
    assert len(set(pids)) == 5  # each cycle stopped its server and started a new one
    wait_stopped(pids[-1], pgdata)
    assert not any(postmaster_alive(p) for p in pids)


def test_a_server_that_does_not_finish_stopping_is_an_error_after_the_timeout(
    home: Path, opened: list[Database]
) -> None:
    """A postmaster stuck in "stopping" is waited for only up to the start timeout. Stuck
    here: a smart shutdown (SIGTERM) waits for a client that does not leave."""
    settings = settings_for(home)
    pgdata = settings.pgdata_path
    db = open_database(settings)
    opened.append(db)
    pid = db.server_pid
    assert pid is not None
    client = db.connect(autocommit=True)
    try:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: pm_status(pgdata) == "stopping", "the smart shutdown to begin")

        with pytest.raises(DatabaseError, match="still shutting down") as info:
            open_database(settings, start_timeout_s=0.5)

        assert f"pid {pid}" in str(info.value)
        assert postmaster_alive(pid)
    finally:
        client.close()  # the last client gone, the smart shutdown completes
    wait_stopped(pid, pgdata)
    db.close()  # nothing left to stop


def test_unusable_data_dir_raises_database_error(home: Path) -> None:
    pgdata = home / "pgdata"
    pgdata.mkdir()
    (pgdata / "notes.txt").write_text("not a database")  # initdb refuses a non-empty dir

    with pytest.raises(DatabaseError, match="could not be started") as info:
        open_database(settings_for(home))

    assert "server log:" in str(info.value)
    assert (pgdata / "notes.txt").read_text() == "not a database"


def test_db_url_is_used_as_given(db_url: str) -> None:
    settings = Settings(db_url=db_url, db_statement_timeout_s=9, _env_file=None)
    with open_database(settings) as db:
        assert not db.is_embedded
        assert db.server_pid is None
        assert db.conninfo == db_url
        with db.connect() as conn:
            assert conn.execute("select current_database()").fetchone() == (
                db_url.split("/")[3].split("?")[0],
            )
            assert conn.execute("show statement_timeout").fetchone() == ("9s",)
    # closing a DB_URL handle leaves the server alone
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_connect_error_masks_the_password(refused_port: int) -> None:
    url = f"postgresql://tasman:s3cr3t-pw@127.0.0.1:{refused_port}/tasman"
    db = open_database(Settings(db_url=url, db_connect_timeout_s=2, _env_file=None))
    assert db.display_url == f"postgresql://tasman:***@127.0.0.1:{refused_port}/tasman"

    with pytest.raises(DatabaseError) as info:
        db.connect()

    message = str(info.value)
    assert "s3cr3t-pw" not in message
    assert f"tasman:***@127.0.0.1:{refused_port}" in message
    assert "refused" in message.lower()
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_wait_until_ready_gives_up_at_the_deadline(refused_port: int) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    url = f"postgresql://u:s3cr3t-pw@127.0.0.1:{refused_port}/x"
    with pytest.raises(DatabaseError, match=r"not ready after 1s") as info:
        wait_until_ready(url, 1.0, sleep=fake_sleep, clock=lambda: now[0])

    assert "s3cr3t-pw" not in str(info.value)
    assert len(sleeps) >= 2
    assert now[0] >= 1.0


def test_wait_until_ready_returns_at_once_when_up(db_url: str) -> None:
    def no_sleep(seconds: float) -> None:
        raise AssertionError("should not wait")

    wait_until_ready(db_url, 5.0, sleep=no_sleep)


def test_unit_tests_cannot_request_a_database(tmp_path: Path) -> None:
    """The root conftest fails a tests/unit test that asks for a DB fixture, before setup."""
    tests = tmp_path / "tests"
    (tests / "unit").mkdir(parents=True)
    (tests / "integration").mkdir()
    shutil.copy(REPO_TESTS / "conftest.py", tests / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tests / "unit" / "test_wants_db.py").write_text(
        "def test_wants_db(db_url):\n    assert db_url\n"
    )
    (tests / "integration" / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    # If the fixture ran, it would try this unreachable server and fail differently.
    env = {**os.environ, "TEST_DB_URL": "postgresql://nobody@127.0.0.1:1/none"}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "unit tests must not use a database" in result.stdout
    assert "requests db_url, pg_server_url" in result.stdout
    assert "OperationalError" not in result.stdout
    assert "1 passed, 1 error" in result.stdout

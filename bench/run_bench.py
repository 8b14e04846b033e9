"""Benchmark `tasman-etl run` against a floor and dlt on the project's simulated USAJOBS API.

    .venv/bin/python bench/run_bench.py --jobs 5000 [--repeat 3] [--text compact]
    .venv/bin/python bench/run_bench.py --jobs 10000 --latency-ms 300 --concurrency 1,4 \
        --systems tasman --results-per-page 100
    .venv/bin/python bench/run_bench.py --standard --write bench/RESULTS.md   # = make bench
    .venv/bin/python bench/run_bench.py --scenarios load-files,replay-pages,load-small

One invocation starts the simulator with N synthetic jobs (the nationwide search — no
keyword, no location — matches all N; past 10,000 the pipeline has to partition), with
real-length text fields unless ``--text compact`` (``SimulatorConfig.text``) and typical or
real-size location lists (``--locations``), and, for every repeat, runs each system as its
own process against a fresh embedded PostgreSQL:

* ``floor``  — bench/floor.py: GET every page, json.loads, COPY the job rows, no checks;
* ``tasman`` — ``python -m tasman_etl run`` as a user runs it;
* ``rerun``  — the same command again on tasman's database and bronze (nothing changed);
* ``dlt``    — bench/dlt_source.py: dlt's rest_api source, merge on MatchedObjectId.

The small command scenarios of the standard set (``--scenarios`` picks them) time
``tasman-etl load`` of saved pages in many small files against one file, ``tasman-etl
replay`` of a run captured in many small pages against one page, and ``load`` of one small
file against ``tasman-etl runs`` plus ``import great_expectations`` (fixed costs).

Wall time includes process start-up; peak RSS is that of the process and every process it
starts, together. After every system the database is checked: exactly the N expected
control numbers, each once — a run that loaded the wrong rows is reported as INVALID and
the exit code is 1. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEED = 42
AUTH_KEY = "bench-key"
USER_AGENT = "bench@tasman-etl.invalid"
DLT_DATASET = "usajobs"
PHASES = ("fetch_s", "bronze_s", "parse_s", "dq_s", "load_s")
SYSTEMS = ("floor", "tasman", "rerun", "dlt")
# The command scenarios' systems: `tasman-etl load` of saved files, `replay` of a captured
# run, `tasman-etl runs` (after `load`, on its database) and `import great_expectations`.
COMMANDS = ("load", "replay", "runs", "gx-import")
# What a captured run leaves in the database besides silver, copied into every replay's
# fresh database so that replay checks each page against the hash recorded at capture.
LEDGER_TABLES = ("ingest_run", "ingest_partition", "ingest_page", "codelist")
# Scenarios the targets table reads (it is written when any of them ran).
TARGET_SCENARIOS = {"5k", "10k", "50k", "latency", "load-files", "replay-pages", "load-small"}
RUN_TIMEOUT_S = 3600.0
PAGE_CAP = 10_000  # the API's row cap; floor and dlt page one unpartitioned query


# ---------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Scenario:
    """One simulator configuration and the systems measured against it."""

    label: str
    jobs: int
    systems: tuple[str, ...]
    repeat: int = 3
    concurrency: tuple[int, ...] = (1,)
    latency_ms: float = 0.0
    text: str = "real"
    locations: str = "typical"
    results_per_page: int = 500
    page_sizes: tuple[int, ...] = ()
    """`load`/`replay`: items per saved file or captured page; each size is its own row."""
    note: str = ""
    """One sentence about the scenario for its table (command scenarios)."""

    @property
    def commands(self) -> bool:
        """Whether this scenario times tasman commands (load, replay, ...), not a pipeline."""
        return any(s in COMMANDS for s in self.systems)


@dataclass
class Run:
    """One measured process run and what the database held afterwards."""

    system: str
    concurrency: int
    wall_s: float
    rss: tuple[float, float]
    """Peak RSS in MB: the process and its children together, and the process alone."""
    exit_code: int
    rows: int = 0
    distinct: int = 0
    valid: bool = False
    problems: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    phases: dict[str, float] | None = None
    requests: int = 0
    page_size: int = 0
    """`load`/`replay`: items per file or page."""


@dataclass
class Outcome:
    """Every run of a scenario, plus facts about the simulated data."""

    scenario: Scenario
    runs: list[Run] = field(default_factory=list)
    item_kb: float = 0.0
    max_locations: int = 0
    mean_locations: float = 0.0
    seconds: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0

    def key(self, run: Run) -> str:
        """Row label of a run: the system, with its concurrency when several were asked,
        or the number and size of its files or pages (`load 40x10`)."""
        if run.page_size:
            pages = math.ceil(self.scenario.jobs / run.page_size)
            return f"{run.system} {pages}x{run.page_size}"
        if run.system in ("tasman", "rerun") and len(self.scenario.concurrency) > 1:
            return f"{run.system} c={run.concurrency}"
        return run.system

    def groups(self) -> dict[str, list[Run]]:
        """Runs grouped by row label, in measuring order."""
        out: dict[str, list[Run]] = {}
        for run in self.runs:
            out.setdefault(self.key(run), []).append(run)
        return out


@dataclass(frozen=True)
class Stat:
    """Medians of one row label."""

    wall_s: float
    wall_min: float
    wall_max: float
    rss_mb: float
    rss_main_mb: float
    items_per_s: float
    valid: bool
    runs: int
    phases: dict[str, float] | None
    requests: int


def stat(runs: Sequence[Run], jobs: int) -> Stat:
    """Medians of wall time and RSS; items/s from the median wall time."""
    walls = [r.wall_s for r in runs]
    wall = statistics.median(walls)
    phases: dict[str, float] | None = None
    with_phases = [r.phases for r in runs if r.phases]
    if with_phases:
        phases = {
            p: statistics.median([ph[p] for ph in with_phases if p in ph])
            for p in PHASES
            if any(p in ph for ph in with_phases)
        }
    return Stat(
        wall_s=wall,
        wall_min=min(walls),
        wall_max=max(walls),
        rss_mb=statistics.median([r.rss[0] for r in runs]),
        rss_main_mb=statistics.median([r.rss[1] for r in runs]),
        items_per_s=jobs / wall if wall > 0 else 0.0,
        valid=all(r.valid for r in runs),
        runs=len(runs),
        phases=phases,
        requests=int(statistics.median([r.requests for r in runs])),
    )


# ------------------------------------------------------------------- infrastructure


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _setting_names() -> set[str]:
    from tasman_etl.config import Settings

    return {name.upper() for name in Settings.model_fields}


def base_env() -> dict[str, str]:
    """This environment without tasman settings, libpq or dlt variables that could leak in."""
    drop = _setting_names()
    return {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in drop
        and not k.startswith(("PG", "DESTINATION__", "SOURCES__", "RUNTIME__", "DLT_"))
    }


def _dlt_url(conninfo: str) -> str:
    """The unix-socket URL form dlt accepts (tooling.md §5): a host plus ``?host=<dir>``."""
    prefix = "postgresql://postgres:@/"
    if conninfo.startswith(prefix):
        return "postgresql://postgres:@localhost/" + conninfo[len(prefix) :]
    return conninfo


@contextlib.contextmanager
def fresh_database(home: Path, *, migrate: bool) -> Iterator[str]:
    """A new embedded PostgreSQL in ``home`` (stopped on exit); yields its libpq URL."""
    from tasman_etl.config import Settings
    from tasman_etl.db.engine import open_database
    from tasman_etl.db.migrate import apply_migrations

    settings = Settings(tasman_home=home, db_url=None, _env_file=None)
    with open_database(settings) as db:
        if migrate:
            with db.connect(autocommit=True) as conn:
                apply_migrations(conn)
        yield db.conninfo


def _status_kb(pid: int, field: bytes = b"VmHWM:") -> int | None:
    """A kB field of /proc/PID/status (VmHWM: peak resident set; VmRSS: now), or None."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """Follows the peak RSS of a child and of every process it starts (a background thread).

    ``ru_maxrss`` from wait4 cannot be used: Linux carries the parent's high-water mark
    into the child through fork/exec, and this process holds the whole simulated API.
    VmHWM belongs to a process's own program image. Every ``interval`` s this reads the
    child's VmHWM and the VmRSS of the child and all its descendants (tasman's Great
    Expectations worker, for one): ``peak_kb`` is the highest of their sum (or of the
    child's own VmHWM), ``main_kb`` the child's own peak. Growth in the last interval
    is missed. Without /proc, RSS is polled through psutil.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self.main_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="peak-rss", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        proc: psutil.Process | None = None
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                proc = proc or psutil.Process(self.pid)
            main = _status_kb(self.pid)
            if main is None and proc is not None:
                with contextlib.suppress(psutil.Error):
                    main = proc.memory_info().rss // 1024
            total = _status_kb(self.pid, b"VmRSS:") or main or 0
            if proc is not None:
                with contextlib.suppress(psutil.Error):
                    for child in proc.children(recursive=True):
                        total += _status_kb(child.pid, b"VmRSS:") or 0
            if main is not None:
                self.main_kb = max(self.main_kb, main)
            self.peak_kb = max(self.peak_kb, total, self.main_kb)
            self._stop.wait(self.interval)

    def stop(self) -> tuple[float, float]:
        """Stop following; (peak of all the processes together, peak of the child) in MB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024.0, self.main_kb / 1024.0


def measure(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, logs: Path, name: str
) -> tuple[float, int, tuple[float, float]]:
    """Run ``cmd``; return (wall seconds incl. start-up, exit code, peak RSS in MB: all
    processes together, and the main one).

    stdout/stderr go to ``logs/name.out`` / ``.err``; see `PeakRss` for the RSS.
    """
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{name}.out").open("wb") as out, (logs / f"{name}.err").open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=out, stderr=err)
        peak = PeakRss(proc.pid)
        try:
            code = proc.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        finally:
            rss = peak.stop()
        wall = time.perf_counter() - started
    return wall, code, rss


def _last_json_line(path: Path) -> dict[str, Any] | None:
    for line in reversed(path.read_text(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                return value if isinstance(value, dict) else None
    return None


def _phase_times(summary: dict[str, Any] | None, stderr: Path) -> dict[str, float] | None:
    """`phase_times` from the stdout summary, else from the `run_summary` log event."""
    found = (summary or {}).get("phase_times")
    if not isinstance(found, dict):
        for line in stderr.read_text(errors="replace").splitlines():
            if '"run_summary"' not in line:
                continue
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and isinstance(event.get("phase_times"), dict):
                    found = event["phase_times"]
    if not isinstance(found, dict):
        return None
    return {k: float(v) for k, v in found.items() if k in PHASES and isinstance(v, int | float)}


def _tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(text[-lines:])[-600:]


def _error(path: Path) -> str:
    """The CLI's one-line ``error: ...`` from a stderr log, else its last lines."""
    if path.exists():
        for line in reversed(path.read_text(errors="replace").splitlines()):
            if line.startswith("error:"):
                return line[:300]
    return _tail(path)


def check_rows(conninfo: str, table: str, column: str, expected: set[str], run: Run) -> None:
    """Count rows and distinct keys in ``table``; the run is valid only with exactly
    ``expected`` there, each once."""
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            got = [row[0] for row in conn.execute(f"SELECT {column} FROM {table}")]
    except psycopg.Error as exc:
        run.problems.append(f"cannot read {table}: {' '.join(str(exc).split())[:200]}")
        return
    found = set(got)
    run.rows, run.distinct = len(got), len(found)
    if run.rows != run.distinct:
        run.problems.append(f"{run.rows - run.distinct} duplicate rows in {table}")
    missing, extra = len(expected - found), len(found - expected)
    if missing or extra:
        run.problems.append(f"{missing} expected jobs missing, {extra} unexpected in {table}")
    run.valid = not run.problems


def export_tables(conninfo: str, tables: Sequence[str]) -> dict[str, bytes]:
    """Every row of ``tables`` in COPY text format (the schema is the same everywhere)."""
    out: dict[str, bytes] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        for table in tables:
            data = bytearray()
            with cur.copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    data += chunk
            out[table] = bytes(data)
    return out


def import_tables(conninfo: str, dump: dict[str, bytes]) -> None:
    """Load `export_tables`' rows into a freshly migrated database (in the dump's order)."""
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for table, data in dump.items():
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(data)


@dataclass
class Prepared:
    """What a command scenario's runs start from, made once per page size, untimed."""

    path: Path
    """`load`: the folder of saved files; `replay`: the captured run's bronze folder."""
    pages: int
    run_id: str = ""
    """`replay`: the captured run."""
    ledger: dict[str, bytes] = field(default_factory=dict)
    """`replay`: the capture's `LEDGER_TABLES`."""
    problem: str = ""
    """Why the capture failed (every replay of it is then invalid)."""


# ------------------------------------------------------------------------- systems


class Bench:
    """Runs scenarios: one simulator per scenario, fresh databases per system and repeat."""

    def __init__(self, work: Path, profile_dir: Path | None) -> None:
        self.work = work
        self.profile_dir = profile_dir
        self.env = base_env()
        self.pg_version = "?"

    def _env(self, **extra: str) -> dict[str, str]:
        env = dict(self.env)
        env.update(
            USAJOBS_AUTH_KEY=AUTH_KEY,
            USAJOBS_USER_AGENT=USER_AGENT,
            RUNTIME__DLTHUB_TELEMETRY="false",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def _record_pg_version(self, conninfo: str) -> None:
        if self.pg_version == "?":
            with psycopg.connect(conninfo, autocommit=True) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                self.pg_version = str(row[0]) if row else "?"

    def run_scenario(self, sc: Scenario) -> Outcome:
        """Measure every system of ``sc`` ``sc.repeat`` times (interleaved)."""
        from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

        started = time.perf_counter()
        outcome = Outcome(sc, load_before=os.getloadavg()[0])
        config_args: dict[str, Any] = {
            "jobs": sc.jobs,
            "seed": SEED,
            "auth_key": AUTH_KEY,
            "text": sc.text,
            "locations": sc.locations,
            "item_cache": sc.jobs + 1,  # keeps every item rendered by _prerender
        }
        if sc.latency_ms > 0:
            config_args["faults"] = FaultPlan(
                rate=1.0, kinds=("slow",), slow_seconds=sc.latency_ms / 1000.0
            )
        sim = SimulatorServer(SimulatorConfig(**config_args))
        self._prerender(sim, outcome)
        expected = set(sim.control_numbers())
        if len(expected) != sc.jobs:
            raise SystemExit(f"simulator has {len(expected)} live jobs, expected {sc.jobs}")
        api = sim.start()
        _log(
            f"== {sc.label}: {sc.jobs:,} jobs ({outcome.item_kb:.1f} KB/item, text {sc.text}, "
            f"{outcome.mean_locations:.1f} locations/item, <={outcome.max_locations}), "
            f"systems {','.join(sc.systems)}, "
            f"repeat {sc.repeat}, concurrency {sc.concurrency}, latency {sc.latency_ms:g} ms, "
            + (
                f"files/pages of {sc.page_sizes}"
                if sc.page_sizes
                else f"{sc.results_per_page}/page"
            )
        )
        try:
            prepared = self._prepare(sc, api, sim)
            for rep in range(1, sc.repeat + 1):
                for system in sc.systems:
                    if system in ("rerun", "runs"):
                        continue  # measured right after its `tasman` / `load` run
                    for run in self._runs_of(sc, system, rep, api, sim, expected, prepared):
                        outcome.runs.append(run)
                        self._report(sc, rep, outcome.key(run), run)
            if self.profile_dir is not None and "tasman" in sc.systems:
                self._profile(sc, api)
        finally:
            sim.stop()
        outcome.seconds = time.perf_counter() - started
        outcome.load_after = os.getloadavg()[0]
        return outcome

    def _runs_of(
        self,
        sc: Scenario,
        system: str,
        rep: int,
        api: str,
        sim: Any,
        expected: set[str],
        prepared: dict[int, Prepared],
    ) -> Iterator[Run]:
        """One repeat of ``system``: a run per concurrency (tasman) or page size (load,
        replay), each followed by its re-run or `runs` when the scenario has them."""
        if system in COMMANDS:
            for size in sc.page_sizes if system in ("load", "replay") else (0,):
                yield from self._command(sc, system, size, rep, expected, prepared)
            return
        for conc in sc.concurrency if system == "tasman" else (sc.concurrency[0],):
            yield from self._system(sc, system, conc, rep, api, sim, expected)

    @staticmethod
    def _prerender(sim: Any, outcome: Outcome) -> None:
        """Render every item once and keep it, so serving a page costs almost nothing.

        The simulator builds items on demand behind an LRU cache (4,096 items unless
        ``item_cache`` says more; `run_scenario` asks for all of them); rebuilding each page
        would cost ~0.1 ms/item (compact text) to ~0.5 ms/item (real text) of CPU shared
        with the system measured.
        """
        universe = sim.universe
        order = universe.live_order()
        total = 0
        for idx in order:
            total += len(universe.item_bytes(idx, radial=False))
        counts = [len(universe.spec(idx).places) for idx in order]
        outcome.item_kb = total / max(1, len(order)) / 1024
        outcome.max_locations = max(counts, default=0)
        outcome.mean_locations = statistics.fmean(counts) if counts else 0.0

    def _report(self, sc: Scenario, rep: int, key: str, run: Run) -> None:
        rate = sc.jobs / run.wall_s if run.wall_s else 0.0
        status = "ok" if run.valid else "INVALID: " + "; ".join(run.problems)
        phases = ""
        if run.phases:
            phases = " phases " + " ".join(f"{k[:-2]}={v:.2f}" for k, v in run.phases.items())
        rows = f"rows {run.distinct}/{sc.jobs} "
        if run.system in ("runs", "gx-import"):
            rate, rows = 0.0, ""
        _log(
            f"  [{sc.label} r{rep}] {key:<12} {run.wall_s:7.2f} s {rate:7.0f} items/s "
            f"{run.rss[0]:6.0f} MB (main {run.rss[1]:.0f})  {rows}{status}{phases}"
        )

    def _system(
        self,
        sc: Scenario,
        system: str,
        conc: int,
        rep: int,
        api: str,
        sim: Any,
        expected: set[str],
    ) -> list[Run]:
        home = self.work / sc.label / f"r{rep}-{system}-c{conc}"
        home.mkdir(parents=True, exist_ok=True)
        try:
            with fresh_database(home / "pg", migrate=system != "dlt") as conninfo:
                self._record_pg_version(conninfo)
                if system == "floor":
                    return [self._floor(sc, api, sim, conninfo, home, expected)]
                if system == "dlt":
                    return [self._dlt(sc, api, sim, conninfo, home, expected)]
                first = self._tasman(sc, "tasman", conc, api, sim, conninfo, home, expected)
                runs = [first]
                if "rerun" in sc.systems:
                    runs.append(self._tasman(sc, "rerun", conc, api, sim, conninfo, home, expected))
                return runs
        finally:
            shutil.rmtree(home / "pg", ignore_errors=True)
            shutil.rmtree(home / "bronze", ignore_errors=True)
            shutil.rmtree(home / "dlt", ignore_errors=True)

    def _floor(
        self, sc: Scenario, api: str, sim: Any, conninfo: str, home: Path, expected: set[str]
    ) -> Run:
        cmd = [
            sys.executable,
            str(HERE / "floor.py"),
            "--api-base",
            api,
            "--db-url",
            conninfo,
            "--results-per-page",
            str(sc.results_per_page),
        ]
        before = len(sim.requests())
        wall, code, rss = measure(cmd, self._env(), home, home / "logs", "floor")
        run = Run("floor", 1, wall, rss, code, requests=len(sim.requests()) - before)
        run.summary = _last_json_line(home / "logs" / "floor.out")
        if code != 0:
            run.problems.append(f"exit {code}: {_tail(home / 'logs' / 'floor.err')}")
        check_rows(conninfo, "job", "control_number", expected, run)
        return run

    def _dlt(
        self, sc: Scenario, api: str, sim: Any, conninfo: str, home: Path, expected: set[str]
    ) -> Run:
        cmd = [
            sys.executable,
            str(HERE / "dlt_source.py"),
            "--api-base",
            api,
            "--db-url",
            _dlt_url(conninfo),
            "--pipelines-dir",
            str(home / "dlt" / "pipelines"),
            "--results-per-page",
            str(sc.results_per_page),
            "--dataset",
            DLT_DATASET,
        ]
        env = self._env(DLT_DATA_DIR=str(home / "dlt" / "data"))
        before = len(sim.requests())
        wall, code, rss = measure(cmd, env, home, home / "logs", "dlt")
        run = Run("dlt", 1, wall, rss, code, requests=len(sim.requests()) - before)
        run.summary = _last_json_line(home / "logs" / "dlt.out")
        if code != 0:
            run.problems.append(f"exit {code}: {_tail(home / 'logs' / 'dlt.err')}")
        check_rows(conninfo, f"{DLT_DATASET}.jobs", "matched_object_id", expected, run)
        return run

    def _tasman_cmd(self, sc: Scenario, api: str, conc: int) -> list[str]:
        return [
            "-m",
            "tasman_etl",
            "run",
            "--api-base",
            api,
            "--keyword",
            "",
            "--location",
            "",
            "--concurrency",
            str(conc),
        ]

    def _tasman_env(
        self,
        sc: Scenario,
        conninfo: str,
        home: Path,
        *,
        bronze: Path | None = None,
        results_per_page: int | None = None,
    ) -> dict[str, str]:
        return self._env(
            DB_URL=conninfo,
            TASMAN_HOME=str(home / "home"),
            BRONZE_DIR=str(bronze or home / "bronze"),
            REQUESTS_PER_SECOND="1000",
            RESULTS_PER_PAGE=str(results_per_page or sc.results_per_page),
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
        )

    def _tasman(
        self,
        sc: Scenario,
        system: str,
        conc: int,
        api: str,
        sim: Any,
        conninfo: str,
        home: Path,
        expected: set[str],
    ) -> Run:
        cmd = [sys.executable, *self._tasman_cmd(sc, api, conc)]
        before = len(sim.requests())
        logs = home / "logs"
        wall, code, rss = measure(cmd, self._tasman_env(sc, conninfo, home), home, logs, system)
        run = Run(system, conc, wall, rss, code, requests=len(sim.requests()) - before)
        run.summary = _last_json_line(logs / f"{system}.out")
        run.phases = _phase_times(run.summary, logs / f"{system}.err")
        if code != 0:
            run.problems.append(f"exit {code}: {_tail(logs / f'{system}.err')}")
        s = run.summary or {}
        if s.get("status") != "succeeded" or s.get("complete") is not True:
            run.problems.append(
                f"run status {s.get('status')!r}, complete {s.get('complete')!r}"
                + (f": {s['error']}" if s.get("error") else "")
            )
        if system == "rerun" and (s.get("inserted") or s.get("updated")):
            run.problems.append(
                f"re-run changed data: inserted {s.get('inserted')}, updated {s.get('updated')}"
            )
        check_rows(conninfo, "job", "control_number", expected, run)
        return run

    # ----------------------------------------------------------- command scenarios

    def _prepare(self, sc: Scenario, api: str, sim: Any) -> dict[int, Prepared]:
        """Untimed set-up of a command scenario, per page size: the saved files of `load`
        (the simulator's own pages of that size, byte for byte as served), or for `replay`
        a run captured by `tasman-etl run` at that page size (its bronze and ledger)."""
        from tasman_etl.simulator.query import parse_query
        from tasman_etl.simulator.search import search_payload

        prepared: dict[int, Prepared] = {}
        for size in sc.page_sizes:
            pages = math.ceil(sc.jobs / size)
            if "load" in sc.systems:
                folder = self.work / sc.label / f"files-{size}"
                folder.mkdir(parents=True, exist_ok=True)
                for page in range(1, pages + 1):
                    query = parse_query({"ResultsPerPage": str(size), "Page": str(page)})
                    body = search_payload(sim.universe, query)
                    (folder / f"search-page-{page:04d}.json").write_bytes(body)
                prepared[size] = Prepared(folder, pages)
            elif "replay" in sc.systems:
                prepared[size] = self._capture(sc, api, size, pages)
        return prepared

    def _capture(self, sc: Scenario, api: str, size: int, pages: int) -> Prepared:
        """`tasman-etl run` at ``size`` items per page into a throw-away database: its
        bronze folder is kept for the replays, and its ledger and codelists copied out."""
        home = self.work / sc.label / f"capture-{size}"
        bronze = home / "bronze"
        cmd = [sys.executable, *self._tasman_cmd(sc, api, 1)]
        with fresh_database(home / "pg", migrate=True) as conninfo:
            self._record_pg_version(conninfo)
            env = self._tasman_env(sc, conninfo, home, bronze=bronze, results_per_page=size)
            wall, code, _ = measure(cmd, env, home, home / "logs", "capture")
            summary = _last_json_line(home / "logs" / "capture.out") or {}
            prep = Prepared(bronze, pages, run_id=str(summary.get("run_id") or ""))
            if code != 0 or summary.get("status") != "succeeded" or not prep.run_id:
                prep.problem = (
                    f"capture run failed (exit {code}, status {summary.get('status')!r}): "
                    f"{_error(home / 'logs' / 'capture.err')}"
                )
            elif summary.get("pages") != pages:
                prep.problem = f"capture run stored {summary.get('pages')} pages, not {pages}"
            else:
                prep.ledger = export_tables(conninfo, LEDGER_TABLES)
        shutil.rmtree(home / "pg", ignore_errors=True)
        _log(
            f"  [{sc.label}] captured run {prep.run_id or '?'}: {pages} pages of {size} "
            f"in {wall:.1f} s (untimed set-up){': ' + prep.problem if prep.problem else ''}"
        )
        return prep

    def _command(
        self,
        sc: Scenario,
        system: str,
        size: int,
        rep: int,
        expected: set[str],
        prepared: dict[int, Prepared],
    ) -> list[Run]:
        """One measured command on its own fresh database (``runs`` on `load`'s)."""
        home = self.work / sc.label / f"r{rep}-{system}-{size}"
        home.mkdir(parents=True, exist_ok=True)
        if system == "gx-import":
            cmd = [sys.executable, "-c", "import great_expectations"]
            wall, code, rss = measure(cmd, self._env(), home, home / "logs", system)
            run = Run(system, 1, wall, rss, code)
            if code != 0:
                run.problems.append(f"exit {code}: {_error(home / 'logs' / f'{system}.err')}")
            run.valid = not run.problems
            return [run]
        prep = prepared[size]
        try:
            with fresh_database(home / "pg", migrate=True) as conninfo:
                self._record_pg_version(conninfo)
                env = self._tasman_env(sc, conninfo, home)
                if system == "replay":
                    cmd = [sys.executable, "-m", "tasman_etl", "replay", "--run-id", prep.run_id]
                    if prep.ledger:
                        import_tables(conninfo, prep.ledger)
                    env = self._tasman_env(sc, conninfo, home, bronze=prep.path)
                else:
                    cmd = [sys.executable, "-m", "tasman_etl", "load", str(prep.path)]
                run = self._measure_command(system, size, cmd, env, home, prep)
                check_rows(conninfo, "job", "control_number", expected, run)
                runs = [run]
                if system == "load" and "runs" in sc.systems:
                    cmd = [sys.executable, "-m", "tasman_etl", "runs"]
                    ledger = self._measure_command("runs", 0, cmd, env, home, prep)
                    loaded = str((run.summary or {}).get("run_id") or "?")
                    out = (home / "logs" / "runs.out").read_text(errors="replace")
                    if loaded not in out:
                        ledger.problems.append(f"the load's run {loaded} is not listed")
                    ledger.valid = not ledger.problems
                    runs.append(ledger)
                return runs
        finally:
            shutil.rmtree(home / "pg", ignore_errors=True)
            shutil.rmtree(home / "bronze", ignore_errors=True)

    def _measure_command(
        self,
        system: str,
        size: int,
        cmd: list[str],
        env: dict[str, str],
        home: Path,
        prep: Prepared,
    ) -> Run:
        """Run one tasman command; check its exit code and (load, replay) its summary."""
        logs = home / "logs"
        wall, code, rss = measure(cmd, env, home, logs, system)
        run = Run(system, 1, wall, rss, code, page_size=size)
        if prep.problem and system == "replay":
            run.problems.append(prep.problem)  # nothing to replay: its own errors add nothing
            return run
        if code != 0:
            run.problems.append(f"exit {code}: {_error(logs / f'{system}.err')}")
        if system == "runs":
            return run
        run.summary = _last_json_line(logs / f"{system}.out")
        run.phases = _phase_times(run.summary, logs / f"{system}.err")
        s = run.summary or {}
        if s.get("status") != "succeeded" or s.get("pages") != prep.pages:
            run.problems.append(
                f"status {s.get('status')!r}, {s.get('pages')} of {prep.pages} pages loaded"
                + (f": {s['error']}" if s.get("error") else "")
            )
        if s.get("unverified_pages"):
            run.problems.append(f"{s['unverified_pages']} pages not verified against the ledger")
        return run

    def _profile(self, sc: Scenario, api: str) -> None:
        """One extra, unmeasured tasman run under pyinstrument (text report)."""
        assert self.profile_dir is not None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        home = self.work / sc.label / "profile"
        out = (self.profile_dir / f"tasman-{sc.label}.txt").resolve()
        conc = sc.concurrency[-1]
        with fresh_database(home / "pg", migrate=True) as conninfo:
            cmd = [
                sys.executable,
                "-m",
                "pyinstrument",
                "--renderer",
                "text",
                "--outfile",
                str(out),
                *self._tasman_cmd(sc, api, conc),
            ]
            wall, code, _ = measure(
                cmd, self._tasman_env(sc, conninfo, home), home, home / "logs", "profile"
            )
        _log(f"  profile of tasman (c={conc}, {wall:.1f} s, exit {code}) written to {out}")
        shutil.rmtree(home, ignore_errors=True)


# ------------------------------------------------------------------------ reporting


def _fmt_s(x: float) -> str:
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def scenario_table(outcome: Outcome) -> list[str]:
    """Markdown lines: one row per system, then (a)'s phase times."""
    sc = outcome.scenario
    groups = outcome.groups()
    stats = {key: stat(runs, sc.jobs) for key, runs in groups.items()}
    floor = stats.get("floor")
    lines = [
        f"### {sc.label}: {sc.jobs:,} jobs"
        + (f", {sc.latency_ms:g} ms per request" if sc.latency_ms else "")
        + (f", {sc.text} text" if sc.text != "real" else "")
        + (f", {sc.locations} locations" if sc.locations != "typical" else ""),
        "",
        f"{sc.results_per_page} items per page; text {sc.text}, locations {sc.locations}; "
        f"{outcome.item_kb:.1f} KB of JSON per item, "
        f"{outcome.mean_locations:.1f} locations per item on average (at most "
        f"{outcome.max_locations}); median of {sc.repeat} "
        f"(min-max in brackets); load average {outcome.load_before:.1f} -> "
        f"{outcome.load_after:.1f}; scenario took {outcome.seconds / 60:.1f} min.",
        "",
        "| system | items/s | wall time s | peak RSS MB (main process) | time vs floor "
        "| requests | rows |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for key, st in stats.items():
        ratio = f"{st.wall_s / floor.wall_s:.1f}x" if floor and floor.wall_s else "-"
        rows = (
            f"{sc.jobs:,} ok"
            if st.valid
            else "INVALID: " + "; ".join(p for r in groups[key] for p in r.problems)[:300]
        )
        lines.append(
            f"| {key} | {st.items_per_s:,.0f} | {_fmt_s(st.wall_s)} "
            f"({_fmt_s(st.wall_min)}-{_fmt_s(st.wall_max)}) | {st.rss_mb:.0f} "
            f"({st.rss_main_mb:.0f}) | {ratio} "
            f"| {st.requests} | {rows} |"
        )
    lines += _phase_lines([(k, st) for k, st in stats.items() if k.startswith(("tasman", "rerun"))])
    return [*lines, ""]


def _phase_lines(rows: Sequence[tuple[str, Stat]]) -> list[str]:
    """Markdown lines: the phase-time table of ``rows`` (nothing without rows)."""
    if not rows:
        return []
    lines = [
        "",
        "| phases (s) | " + " | ".join(p[:-2] for p in PHASES) + " | other |",
        "|---|" + "---:|" * (len(PHASES) + 1),
    ]
    for key, st in rows:
        if st.phases:
            cells = [_fmt_s(st.phases[p]) if p in st.phases else "n/a" for p in PHASES]
            rest = st.wall_s - sum(st.phases.values())
            other = _fmt_s(max(0.0, rest)) if rest > -0.05 else f"overlap {_fmt_s(-rest)}"
        else:
            cells, other = ["n/a"] * len(PHASES), "n/a"
        lines.append(f"| {key} | " + " | ".join(cells) + f" | {other} |")
    return lines


def command_table(outcome: Outcome) -> list[str]:
    """Markdown lines of a command scenario: one row per command and file or page size."""
    sc = outcome.scenario
    groups = outcome.groups()
    stats = {key: stat(runs, sc.jobs) for key, runs in groups.items()}
    lines = [
        f"### {sc.label}: {sc.jobs:,} jobs, " + ", ".join(sc.systems),
        "",
        f"{sc.note} Text {sc.text}, locations {sc.locations}; {outcome.item_kb:.1f} KB of JSON "
        f"per item; median of {sc.repeat} (min-max in brackets); load average "
        f"{outcome.load_before:.1f} -> {outcome.load_after:.1f}; scenario took "
        f"{outcome.seconds / 60:.1f} min.",
        "",
        "| command | items/s | wall time s | peak RSS MB (main process) | pages | rows |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, st in stats.items():
        first = groups[key][0]
        counted = first.system in ("load", "replay")
        if not st.valid:
            rows = "INVALID: " + "; ".join(p for r in groups[key] for p in r.problems)[:300]
        else:
            rows = f"{sc.jobs:,} ok" if counted else "ok"
        pages = str(math.ceil(sc.jobs / first.page_size)) if first.page_size else "-"
        lines.append(
            f"| {key} | {f'{st.items_per_s:,.0f}' if counted else '-'} | {_fmt_s(st.wall_s)} "
            f"({_fmt_s(st.wall_min)}-{_fmt_s(st.wall_max)}) | {st.rss_mb:.0f} "
            f"({st.rss_main_mb:.0f}) | {pages} | {rows} |"
        )
    lines += _phase_lines([(k, st) for k, st in stats.items() if groups[k][0].page_size])
    return [*lines, ""]


def _get(outcomes: dict[str, Outcome], label: str, key: str) -> Stat | None:
    outcome = outcomes.get(label)
    if outcome is None:
        return None
    runs = outcome.groups().get(key)
    return stat(runs, outcome.scenario.jobs) if runs else None


def _at_least(value: float, target: float) -> str:
    if value >= target:
        return f"pass, {(value / target - 1) * 100:.0f} % above"
    return f"MISS: {value / target * 100:.0f} % of the target, needs {target / value:.2f}x more"


def _at_most(value: float, target: float) -> str:
    if value <= target:
        return f"pass, {(1 - value / target) * 100:.0f} % below"
    return f"MISS: {(value / target - 1) * 100:.0f} % over the limit"


def _latency_outcome(outcomes: dict[str, Outcome]) -> Outcome | None:
    """The standard `latency` scenario, else any scenario with latency and c=1 and c=4."""
    found = outcomes.get("latency")
    if found is not None:
        return found
    for outcome in outcomes.values():
        sc = outcome.scenario
        if sc.latency_ms > 0 and {1, 4} <= set(sc.concurrency):
            return outcome
    return None


_UNIT_FORMATS: dict[str, Callable[[float], str]] = {
    "s": _fmt_s,
    "MB": "{:.0f}".format,
    "items/s": "{:,.0f}".format,
}


class _Table:
    """A targets table being written: target, measured, verdict."""

    def __init__(self, title: str, intro: str = "") -> None:
        self.lines = [title, ""]
        if intro:
            self.lines += [intro, ""]
        self.lines += ["| target | measured | verdict |", "|---|---|---|"]

    def row(self, target: str, measured: str, verdict: str, valid: bool = True) -> None:
        if not valid:
            verdict = "invalid: a run did not load the expected rows (see its scenario)"
        self.lines.append(f"| {target} | {measured} | {verdict} |")

    def missing(self, target: str) -> None:
        self.row(target, "not measured", "n/a")

    def ratio(
        self,
        target: str,
        a: Stat | None,
        b: Stat | None,
        limit: float,
        *,
        at_most: bool,
        value: str = "wall_s",
        unit: str = "s",
    ) -> None:
        """A row for ``a.value / b.value`` against ``limit``."""
        if a is None or b is None:
            self.missing(target)
            return
        x, y = float(getattr(a, value)), float(getattr(b, value))
        if y <= 0:
            self.row(target, "n/a (zero denominator)", "n/a")
            return
        fmt = _UNIT_FORMATS[unit]
        measured = f"{fmt(x)} {unit} vs {fmt(y)} {unit} = {x / y:.2f}x"
        verdict = _at_most(x / y, limit) if at_most else _at_least(x / y, limit)
        self.row(target, measured, verdict, a.valid and b.valid)


def targets(outcomes: dict[str, Outcome]) -> list[str]:
    """Markdown lines: the targets of issue 12, then those of issue 6 it does not replace,
    each with what was measured and pass/MISS by how much."""
    t = _Table(
        "## Targets (issue 12)",
        "Medians of each scenario's repeats (its table says how many); a ratio's two sides "
        "were measured interleaved (A, B, A, B, ...) in the same invocation.",
    )
    tasman10, dlt10 = _get(outcomes, "10k", "tasman"), _get(outcomes, "10k", "dlt")
    floor10, rerun10 = _get(outcomes, "10k", "floor"), _get(outcomes, "10k", "rerun")
    tasman50 = _get(outcomes, "50k", "tasman")
    t.ratio(
        "10,000 jobs: full pipeline >= 2.5x dlt's items/s",
        tasman10,
        dlt10,
        2.5,
        at_most=False,
        value="items_per_s",
        unit="items/s",
    )
    t.ratio("10,000 jobs: within 1.8x the floor's time", tasman10, floor10, 1.8, at_most=True)
    t.ratio(
        "10,000 jobs: peak RSS of all the command's processes <= 0.6x dlt's",
        tasman10,
        dlt10,
        0.6,
        at_most=True,
        value="rss_mb",
        unit="MB",
    )
    t.ratio(
        "peak RSS (all processes) at 50,000 jobs <= 1.10x that at 10,000",
        tasman50,
        tasman10,
        1.10,
        at_most=True,
        value="rss_mb",
        unit="MB",
    )
    name = "300 ms per request, 10,000 jobs in pages of 100: --concurrency 4 >= 2.5x faster than 1"
    slow = _latency_outcome(outcomes)
    groups = slow.groups() if slow else {}
    c1, c4 = groups.get("tasman c=1"), groups.get("tasman c=4")
    if slow and c1 and c4:
        sc = slow.scenario
        s1, s4 = stat(c1, sc.jobs), stat(c4, sc.jobs)
        size = ""
        if (sc.jobs, sc.results_per_page) != (10_000, 100):
            size = f" (measured on {sc.jobs:,} jobs in pages of {sc.results_per_page})"
        fetch = ""
        if s1.phases and s4.phases and s4.phases.get("fetch_s"):
            fetch = f" (fetch phase alone: {s1.phases['fetch_s'] / s4.phases['fetch_s']:.2f}x)"
        ratio = s1.wall_s / s4.wall_s
        t.row(
            name,
            f"{_fmt_s(s1.wall_s)} s vs {_fmt_s(s4.wall_s)} s = {ratio:.2f}x{fetch}{size}",
            _at_least(ratio, 2.5),
            s1.valid and s4.valid,
        )
    else:
        t.missing(name)
    t.ratio(
        "`load` of 40 files of 10 items <= 1.5x the time of the same 400 items in one file",
        _get(outcomes, "load-files", "load 40x10"),
        _get(outcomes, "load-files", "load 1x400"),
        1.5,
        at_most=True,
    )
    t.ratio(
        "`replay` of a run of 40 pages of 10 items <= 1.5x that of a run of one 400-item page",
        _get(outcomes, "replay-pages", "replay 40x10"),
        _get(outcomes, "replay-pages", "replay 1x400"),
        1.5,
        at_most=True,
    )
    name = (
        "`load` of one 25-item file <= 1.3x (`tasman-etl runs` on the same home "
        "+ `python -c 'import great_expectations'`)"
    )
    load25 = _get(outcomes, "load-small", "load 1x25")
    runs = _get(outcomes, "load-small", "runs")
    gx = _get(outcomes, "load-small", "gx-import")
    if load25 and runs and gx:
        base = runs.wall_s + gx.wall_s
        t.row(
            name,
            f"{_fmt_s(load25.wall_s)} s vs {_fmt_s(runs.wall_s)} + {_fmt_s(gx.wall_s)} = "
            f"{_fmt_s(base)} s = {load25.wall_s / base:.2f}x",
            _at_most(load25.wall_s / base, 1.3),
            load25.valid and runs.valid and gx.valid,
        )
    else:
        t.missing(name)
    t.ratio(
        "10,000 jobs: no-change re-run <= 0.3x the first run's time",
        rerun10,
        tasman10,
        0.3,
        at_most=True,
    )

    old = _Table(
        "## Targets kept from issue 6",
        "Issue 12 replaced the others: its re-run (0.3x), RSS (50k against 10k) and latency "
        "(10,000 jobs) rows above.",
    )
    for label, jobs in (("10k", "10,000 jobs"), ("5k", "5,000 jobs (reported)")):
        old.ratio(
            f"full pipeline >= 3x dlt's items/s at {jobs}",
            _get(outcomes, label, "tasman"),
            _get(outcomes, label, "dlt"),
            3.0,
            at_most=False,
            value="items_per_s",
            unit="items/s",
        )
    peaks = [
        (f"{label} {key}", stat(runs, outcome.scenario.jobs).rss_mb)
        for label, outcome in outcomes.items()
        if not outcome.scenario.commands
        for key, runs in outcome.groups().items()
        if key.startswith(("tasman", "rerun"))
    ]
    if peaks:
        worst = max(peaks, key=lambda p: p[1])
        old.row(
            "peak RSS <= 250 MB",
            f"highest median: {worst[1]:.0f} MB ({worst[0]})",
            _at_most(worst[1], 250.0),
        )
    else:
        old.missing("peak RSS <= 250 MB")
    name = "50,000 jobs behind the cap: all loaded"
    if tasman50:
        old.row(
            name,
            f"{tasman50.runs} run(s), {tasman50.requests} requests each",
            "pass: all 50,000, each once" if tasman50.valid else "MISS",
        )
    else:
        old.missing(name)
    return [*t.lines, "", *old.lines, ""]


def machine() -> dict[str, str]:
    """Facts about this machine and checkout for the report."""
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if dirty:
            commit += " (with uncommitted changes)"

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpus": f"{os.cpu_count()} x {cpu}",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "tasman-etl": f"{version('tasman-etl')} at {commit}",
        "dlt": version("dlt"),
        "os": platform.platform(),
    }


NOTES = [
    "## Notes",
    "",
    "- Timings on a shared 2-core machine are noisy (see the load averages and the min-max "
    "ranges): compare systems within one file, not across runs.",
    "- Text `real` (every scenario but 10k-compact): the long text fields have the lengths "
    "of real current-format items (~16 KB of JSON per item with typical locations; issue 6 "
    "measured with ~15 KB). Text `compact` is the simulator's default (~5.7 KB per item). "
    "Locations `typical`: 1-60 per job (2.5 on average); `real` (5k-real-locations): most "
    "jobs one place, nationwide postings up to 1,200 (~29 on average). See bench/README.md.",
    "- Phase times are medians of each phase on its own; phases on the fetch threads overlap "
    "the loading thread, hence 'overlap' in the last column.",
    "",
]


def render(outcomes: dict[str, Outcome], facts: dict[str, str], command: str) -> str:
    """The whole RESULTS.md text."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        "See bench/README.md for what each system does and how to read the tables.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in facts.items()],
        "",
    ]
    for outcome in outcomes.values():
        lines += command_table(outcome) if outcome.scenario.commands else scenario_table(outcome)
    if TARGET_SCENARIOS & outcomes.keys() or _latency_outcome(outcomes):
        lines += targets(outcomes)
    lines += NOTES
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- CLI


def standard_set() -> list[Scenario]:
    """What `make bench` runs (see bench/README.md for the reasons)."""
    return [
        # one run: the targets read 10k; three would take `make bench` past ~20 min
        Scenario("5k", 5_000, SYSTEMS, repeat=1),
        Scenario("10k", 10_000, SYSTEMS, repeat=3),
        Scenario("50k", 50_000, ("tasman",), repeat=1),  # completeness and RSS, not speed
        Scenario(
            "latency",
            10_000,
            ("tasman",),
            repeat=3,
            concurrency=(1, 4),
            latency_ms=300.0,
            results_per_page=100,
        ),
        Scenario(
            "load-files",
            400,
            ("load",),
            page_sizes=(10, 400),
            note="`tasman-etl load FOLDER`: the simulator's pages saved as 40 files of 10 items "
            "and as one file of 400 (the same items), each into a fresh database.",
        ),
        Scenario(
            "replay-pages",
            400,
            ("replay",),
            page_sizes=(10, 400),
            note="`tasman-etl replay --run-id RUN`: runs captured once by `tasman-etl run` "
            "(untimed) at 10 and at 400 items per page; each replay into a fresh database "
            "holding the captured run's ledger and codelists, no silver rows.",
        ),
        Scenario(
            "load-small",
            25,
            ("load", "runs", "gx-import"),
            page_sizes=(25,),
            note="`tasman-etl load` of one 25-item file into a fresh database, then "
            "`tasman-etl runs` on the same database; `gx-import` is "
            "`python -c 'import great_expectations'`.",
        ),
        Scenario("10k-compact", 10_000, ("floor", "tasman", "dlt"), repeat=1, text="compact"),
        Scenario(
            "5k-real-locations", 5_000, ("floor", "tasman", "dlt"), repeat=1, locations="real"
        ),
    ]


def _int_list(text: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in text.split(",") if v.strip())
    if not values or min(values) < 1 or max(values) > 32:
        raise argparse.ArgumentTypeError("give concurrency values between 1 and 32, e.g. 1,4")
    return values


def _scenario_labels(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    known = [s.label for s in standard_set()]
    unknown = [v for v in values if v not in known]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"scenarios are {', '.join(known)}; got {text!r}")
    return values


def _systems(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in values if v not in SYSTEMS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"systems are {', '.join(SYSTEMS)}; got {text!r}")
    if "rerun" in values and "tasman" not in values:
        raise argparse.ArgumentTypeError("rerun needs tasman (it re-runs on tasman's database)")
    return tuple(s for s in SYSTEMS if s in values)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--jobs", type=int, default=5_000, help="simulated jobs, all matching")
    p.add_argument(
        "--repeat",
        type=int,
        help="repeats per system (medians; default 3, or each standard scenario's own)",
    )
    p.add_argument(
        "--systems",
        type=_systems,
        default=SYSTEMS,
        help="comma-separated subset of floor,tasman,rerun,dlt (default all)",
    )
    p.add_argument(
        "--concurrency",
        type=_int_list,
        default=(1,),
        help="tasman --concurrency; a list such as 1,4 runs tasman once per value",
    )
    p.add_argument(
        "--latency-ms", type=float, default=0.0, help="simulator delay of every search request"
    )
    p.add_argument(
        "--text",
        choices=("compact", "real"),
        default="real",
        help="long text fields: real lengths (~16 KB items, default) or compact (~5.7 KB)",
    )
    p.add_argument(
        "--locations",
        choices=("typical", "real"),
        default="typical",
        help="location lists per job: the simulator's typical ones, or real-size (up to 1,200)",
    )
    p.add_argument("--results-per-page", type=int, default=500, help="page size (max 500)")
    p.add_argument("--standard", action="store_true", help="run the standard set (make bench)")
    p.add_argument(
        "--scenarios",
        type=_scenario_labels,
        metavar="LABELS",
        help="only these scenarios of the standard set, e.g. load-files,replay-pages,load-small "
        f"(of {', '.join(s.label for s in standard_set())})",
    )
    p.add_argument("--write", type=Path, help="write the results as markdown to this file")
    p.add_argument("--profile", type=Path, metavar="DIR", help="also profile one tasman run")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = p.parse_args(argv)
    if not 1 <= args.results_per_page <= 500:
        p.error("--results-per-page must be between 1 and 500")
    if args.jobs < 1 or (args.repeat is not None and args.repeat < 1):
        p.error("--jobs and --repeat must be at least 1")
    if args.standard and args.scenarios:
        p.error("--standard runs every scenario; --scenarios picks some of them")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 when any run loaded the wrong rows, 2 on bad usage."""
    args = parse_args(argv)
    from tasman_etl.logging_setup import configure_logging

    configure_logging("WARNING", "json")
    if args.standard or args.scenarios:
        scenarios = [s for s in standard_set() if args.standard or s.label in args.scenarios]
        if args.repeat is not None:
            scenarios = [dataclasses.replace(s, repeat=args.repeat) for s in scenarios]
        command = "bench/run_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
        if args.standard and args.repeat is None:
            command = "make bench"
    else:
        systems = args.systems
        if args.jobs > PAGE_CAP and ({"floor", "dlt"} & set(systems)):
            _log(f"floor and dlt page one query, capped at {PAGE_CAP:,} rows: skipped")
            systems = tuple(s for s in systems if s not in ("floor", "dlt"))
            if not systems:
                return 2
        label = f"{args.jobs // 1000}k" if args.jobs % 1000 == 0 else str(args.jobs)
        if args.latency_ms:
            label += f"-{args.latency_ms:g}ms"
        if args.text != "real":
            label += f"-{args.text}"
        if args.locations != "typical":
            label += f"-{args.locations}-locations"
        scenarios = [
            Scenario(
                label,
                args.jobs,
                systems,
                repeat=args.repeat or 3,
                concurrency=args.concurrency,
                latency_ms=args.latency_ms,
                text=args.text,
                locations=args.locations,
                results_per_page=args.results_per_page,
            )
        ]
        command = "bench/run_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    load_at_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="tasman-bench-"))
    bench = Bench(work, args.profile)
    outcomes: dict[str, Outcome] = {}
    started = time.perf_counter()
    facts = machine()
    facts["load average (1, 5, 15 min) at start"] = load_at_start

    def report(final: bool) -> str:
        facts["postgresql"] = f"{bench.pg_version} (embedded; a fresh server per system and repeat)"
        took = f"{(time.perf_counter() - started) / 60:.1f} min"
        facts["total time"] = took if final else f"{took} so far (incomplete)"
        text = render(outcomes, facts, command)
        if args.write:
            args.write.write_text(text)
        return text

    try:
        for sc in scenarios:
            outcomes[sc.label] = bench.run_scenario(sc)
            report(final=False)  # a crash later keeps what was measured
    finally:
        if args.keep:
            _log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(report(final=True))
    if args.write:
        _log(f"written to {args.write}")
    invalid = [o.scenario.label for o in outcomes.values() if any(not r.valid for r in o.runs)]
    if invalid:
        _log(f"INVALID runs in: {', '.join(invalid)} (see the rows column)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

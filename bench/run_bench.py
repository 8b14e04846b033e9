"""Benchmark `tasman-etl run` against a floor and dlt on the project's simulated USAJOBS API.

    .venv/bin/python bench/run_bench.py --jobs 5000 [--repeat 3] [--text compact]
    .venv/bin/python bench/run_bench.py --jobs 2000 --latency-ms 300 --concurrency 1,4 \
        --systems tasman --results-per-page 50
    .venv/bin/python bench/run_bench.py --standard --write bench/RESULTS.md   # = make bench

One invocation starts the simulator with N synthetic jobs (the nationwide search — no
keyword, no location — matches all N; past 10,000 the pipeline has to partition), with
real-length text fields unless ``--text compact`` (``SimulatorConfig.text``) and typical or
real-size location lists (``--locations``), and, for every repeat, runs each system as its
own process against a fresh embedded PostgreSQL:

* ``floor``  — bench/floor.py: GET every page, json.loads, COPY the job rows, no checks;
* ``tasman`` — ``python -m tasman_etl run`` as a user runs it;
* ``rerun``  — the same command again on tasman's database and bronze (nothing changed);
* ``dlt``    — bench/dlt_source.py: dlt's rest_api source, merge on MatchedObjectId.

Wall time includes process start-up; peak RSS is the child program's own (VmHWM).
After every system the database is checked: exactly the N expected control numbers, each
once — a run that loaded the wrong rows is reported as INVALID and the exit code is 1.
See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
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
        """Row label of a run: the system, with its concurrency when several were asked."""
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
            f"{sc.results_per_page}/page"
        )
        try:
            for rep in range(1, sc.repeat + 1):
                for system in sc.systems:
                    if system == "rerun":
                        continue  # measured right after its `tasman` run
                    concs = sc.concurrency if system == "tasman" else (sc.concurrency[0],)
                    for conc in concs:
                        for run in self._system(sc, system, conc, rep, api, sim, expected):
                            outcome.runs.append(run)
                            self._report(sc, rep, outcome.key(run), run)
            if self.profile_dir is not None and "tasman" in sc.systems:
                self._profile(sc, api)
        finally:
            sim.stop()
        outcome.seconds = time.perf_counter() - started
        outcome.load_after = os.getloadavg()[0]
        return outcome

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
        _log(
            f"  [{sc.label} r{rep}] {key:<12} {run.wall_s:7.2f} s {rate:7.0f} items/s "
            f"{run.rss[0]:6.0f} MB (main {run.rss[1]:.0f})  "
            f"rows {run.distinct}/{sc.jobs} {status}{phases}"
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

    def _tasman_env(self, sc: Scenario, conninfo: str, home: Path) -> dict[str, str]:
        return self._env(
            DB_URL=conninfo,
            TASMAN_HOME=str(home / "home"),
            BRONZE_DIR=str(home / "bronze"),
            REQUESTS_PER_SECOND="1000",
            RESULTS_PER_PAGE=str(sc.results_per_page),
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
    phase_rows = [(k, st) for k, st in stats.items() if k.startswith(("tasman", "rerun"))]
    if phase_rows:
        lines += [
            "",
            "| phases (s) | " + " | ".join(p[:-2] for p in PHASES) + " | other |",
            "|---|" + "---:|" * (len(PHASES) + 1),
        ]
        for key, st in phase_rows:
            if st.phases:
                cells = [_fmt_s(st.phases[p]) if p in st.phases else "n/a" for p in PHASES]
                rest = st.wall_s - sum(st.phases.values())
                other = _fmt_s(max(0.0, rest)) if rest > -0.05 else f"overlap {_fmt_s(-rest)}"
            else:
                cells, other = ["n/a"] * len(PHASES), "n/a"
            lines.append(f"| {key} | " + " | ".join(cells) + f" | {other} |")
    return [*lines, ""]


def _get(outcomes: dict[str, Outcome], label: str, key: str) -> Stat | None:
    outcome = outcomes.get(label)
    if outcome is None:
        return None
    runs = outcome.groups().get(key)
    return stat(runs, outcome.scenario.jobs) if runs else None


def _at_least(value: float, target: float) -> str:
    if value >= target:
        return f"met, {(value / target - 1) * 100:.0f} % above"
    return f"missed: {value / target * 100:.0f} % of the target, needs {target / value:.2f}x more"


def _at_most(value: float, target: float) -> str:
    if value <= target:
        return f"met, {(1 - value / target) * 100:.0f} % below"
    return f"missed: {(value / target - 1) * 100:.0f} % over the limit"


def targets(outcomes: dict[str, Outcome]) -> list[str]:
    """Markdown lines: each target of issue 6 with met/missed and by how much."""
    lines = [
        "## Targets (issue 6)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]

    def row(target: str, measured: str, verdict: str, valid: bool = True) -> None:
        if not valid:
            verdict = "invalid: a run loaded the wrong rows"
        lines.append(f"| {target} | {measured} | {verdict} |")

    for label, jobs in (("10k", "10,000 jobs"), ("5k", "5,000 jobs (reported)")):
        name = f"full pipeline >= 3x dlt's items/s at {jobs}"
        t, d = _get(outcomes, label, "tasman"), _get(outcomes, label, "dlt")
        if t and d:
            ratio = t.items_per_s / d.items_per_s
            row(
                name,
                f"{t.items_per_s:,.0f} vs {d.items_per_s:,.0f} items/s = {ratio:.2f}x",
                _at_least(ratio, 3.0),
                t.valid and d.valid,
            )
        else:
            row(name, "not measured", "n/a")
    for label in ("10k", "5k"):
        name = f"no-change re-run <= 0.6x the first run's time ({label})"
        t, r = _get(outcomes, label, "tasman"), _get(outcomes, label, "rerun")
        if t and r:
            ratio = r.wall_s / t.wall_s
            row(
                name,
                f"{_fmt_s(r.wall_s)} s vs {_fmt_s(t.wall_s)} s = {ratio:.2f}x",
                _at_most(ratio, 0.6),
                t.valid and r.valid,
            )
        else:
            row(name, "not measured", "n/a")
    peaks = [
        (f"{label} {key}", stat(runs, outcome.scenario.jobs).rss_mb)
        for label, outcome in outcomes.items()
        for key, runs in outcome.groups().items()
        if key.startswith(("tasman", "rerun"))
    ]
    if peaks:
        worst = max(peaks, key=lambda p: p[1])
        row(
            "peak RSS <= 250 MB",
            f"highest median: {worst[1]:.0f} MB ({worst[0]})",
            _at_most(worst[1], 250.0),
        )
    else:
        row("peak RSS <= 250 MB", "not measured", "n/a")
    small, big = _get(outcomes, "5k", "tasman"), _get(outcomes, "50k", "tasman")
    name = "peak RSS at 50,000 jobs <= 1.10x that at 5,000"
    if small and big:
        ratio = big.rss_mb / small.rss_mb
        row(
            name,
            f"{big.rss_mb:.0f} MB vs {small.rss_mb:.0f} MB = {ratio:.2f}x",
            _at_most(ratio, 1.10),
        )
    else:
        row(name, "not measured", "n/a")
    name = "300 ms per request: --concurrency 4 >= 2.5x faster than 1"
    c1, c4 = _get(outcomes, "latency", "tasman c=1"), _get(outcomes, "latency", "tasman c=4")
    if c1 and c4:
        ratio = c1.wall_s / c4.wall_s
        fetch = ""
        if c1.phases and c4.phases and c4.phases.get("fetch_s"):
            fetch = f" (fetch phase alone: {c1.phases['fetch_s'] / c4.phases['fetch_s']:.2f}x)"
        row(
            name,
            f"{_fmt_s(c1.wall_s)} s vs {_fmt_s(c4.wall_s)} s = {ratio:.2f}x{fetch}",
            _at_least(ratio, 2.5),
            c1.valid and c4.valid,
        )
    else:
        row(name, "not measured", "n/a")
    name = "50,000 jobs behind the cap: all loaded"
    if big:
        row(
            name,
            f"{big.runs} run(s), {big.requests} requests each",
            "met: all 50,000, each once" if big.valid else "missed",
        )
    else:
        row(name, "not measured", "n/a")
    return [*lines, ""]


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
        lines += scenario_table(outcome)
    if {"5k", "10k", "50k", "latency"} & outcomes.keys():
        lines += targets(outcomes)
    lines += NOTES
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- CLI


def standard_set() -> list[Scenario]:
    """What `make bench` runs (see bench/README.md for the reasons)."""
    return [
        Scenario("5k", 5_000, SYSTEMS, repeat=3),
        Scenario("10k", 10_000, SYSTEMS, repeat=3),
        Scenario("50k", 50_000, ("tasman",), repeat=1),  # completeness and RSS, not speed
        Scenario(
            "latency",
            2_000,
            ("tasman",),
            repeat=3,
            concurrency=(1, 4),
            latency_ms=300.0,
            results_per_page=50,
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
    p.add_argument("--repeat", type=int, default=3, help="repeats per system (medians)")
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
    p.add_argument("--write", type=Path, help="write the results as markdown to this file")
    p.add_argument("--profile", type=Path, metavar="DIR", help="also profile one tasman run")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = p.parse_args(argv)
    if not 1 <= args.results_per_page <= 500:
        p.error("--results-per-page must be between 1 and 500")
    if args.jobs < 1 or args.repeat < 1:
        p.error("--jobs and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 when any run loaded the wrong rows, 2 on bad usage."""
    args = parse_args(argv)
    from tasman_etl.logging_setup import configure_logging

    configure_logging("WARNING", "json")
    if args.standard:
        scenarios = standard_set()
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
                repeat=args.repeat,
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

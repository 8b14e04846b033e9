"""Fixtures of the fault tier: runs against the simulator, a TCP fault proxy, S3 servers.

* ``conn`` / ``store``: an autocommit connection on a fresh migrated database, and a local
  bronze folder.
* ``run_search``: runs `execute_run` in-process against a `SimulatorServer` with an injected
  sleep that records every backoff wait and returns at once (no test sleeps through real
  backoff).
* `FaultProxy` (via ``fault_proxy``): a TCP proxy on 127.0.0.1 in front of any server that can
  reset connections (RST) after a number of response bytes, or play dead (every connection
  reset at once) until switched back.
* ``s3_server`` / ``bucket``: the S3 servers of ``tests/integration/conftest.py`` (SeaweedFS
  and moto), loaded from that file so the fault tier does not keep a second copy.
"""

from __future__ import annotations

import contextlib
import importlib.util
import select
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from pydantic import SecretStr

from sleeps import Sleeps
from tasman_etl.http.usajobs import ClientConfig, SearchQuery, UsajobsClient
from tasman_etl.runner.run import RunOptions, RunResult, execute_run
from tasman_etl.simulator import SimulatorServer
from tasman_etl.storage.bronze import BronzeStore

KEY = "fault-key-6e1f0a9b7c"
NATIONWIDE = SearchQuery()

_spec = importlib.util.spec_from_file_location(
    "_tasman_integration_s3_fixtures",
    Path(__file__).resolve().parents[1] / "integration" / "conftest.py",
)
assert _spec is not None and _spec.loader is not None
_s3 = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _s3  # dataclasses look their module up there
_spec.loader.exec_module(_s3)
seaweedfs_server = _s3.seaweedfs_server
moto_server = _s3.moto_server
s3_server = _s3.s3_server
bucket = _s3.bucket


@dataclass
class RunOutcome:
    """What a run did: its result, and the client's counters and recorded backoff waits."""

    result: RunResult
    stats: dict[str, Any]
    sleeps: list[float] = field(default_factory=list)


class RunSearch(Protocol):
    def __call__(
        self,
        conn: psycopg.Connection[Any],
        store: BronzeStore,
        sim: SimulatorServer,
        opts: RunOptions,
        **kwargs: Any,
    ) -> RunOutcome: ...


def _run_search(
    conn: psycopg.Connection[Any],
    store: BronzeStore,
    sim: SimulatorServer,
    opts: RunOptions,
    *,
    api_base: str | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    timeout_s: float = 5.0,
    max_attempts: int = 8,
    retry_budget: int = 500,
    max_backoff_s: float = 60.0,
    on_complete: Callable[[psycopg.Connection[Any], str, str], Any] | None = None,
) -> RunOutcome:
    config = ClientConfig(
        api_base=api_base or sim.base_url,
        auth_key=SecretStr(KEY),
        user_agent="faults@tasman-etl.invalid",
        requests_per_second=1000,
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        retry_budget=retry_budget,
        max_backoff_s=max_backoff_s,
    )
    sleeps = Sleeps()
    with UsajobsClient(config, sleep=sleeps) as client:
        try:
            result = execute_run(
                conn,
                store,
                client,
                opts,
                stop=stop or threading.Event(),
                progress=progress,
                on_complete=on_complete,
            )
        finally:
            stats = dict(client.stats)
    return RunOutcome(result, stats, sleeps.calls)


@pytest.fixture
def run_search() -> RunSearch:
    """`run_search(conn, store, sim, opts, **client_options)` -> RunOutcome (see `_run_search`)."""
    return _run_search


def loaded(conn: psycopg.Connection[Any]) -> set[str]:
    """Control numbers in silver."""
    return {r[0] for r in conn.execute("SELECT control_number FROM job").fetchall()}


@pytest.fixture
def silver() -> Callable[[psycopg.Connection[Any]], set[str]]:
    """`silver(conn)`: the control numbers in `job`."""
    return loaded


# --------------------------------------------------------------------------- fault proxy

_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """TCP proxy 127.0.0.1:port -> target, with faults decided per connection.

    ``reset_after(n)`` (n = 1-based connection number) returns how many response bytes to
    forward on that connection before resetting both sides, or None to pass everything.
    ``down = True`` resets every live connection and every new one at once (a dead server
    whose port still answers); ``down = False`` brings it back.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.reset_after: Callable[[int], int | None] = lambda n: None
        self._down = False
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self.connections = 0
        self.resets = 0
        self.refused = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)  # accept() wakes up to notice close()
        self.port: int = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="proxy")
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def down(self) -> bool:
        """Whether the proxy currently resets every connection."""
        return self._down

    @down.setter
    def down(self, value: bool) -> None:
        with self._lock:
            self._down = value
            victims = list(self._live) if value else []
        for sock in victims:
            _reset(sock)

    def close(self) -> None:
        """Stop accepting and reset whatever is still open."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            victims = list(self._live)
        for sock in victims:
            _reset(sock)
        self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self.connections += 1
                number = self.connections
                down = self._down
            if down:
                with self._lock:
                    self.refused += 1
                _reset(client)
                continue
            threading.Thread(
                target=self._serve, args=(client, number), daemon=True, name=f"proxy-{number}"
            ).start()

    def _serve(self, client: socket.socket, number: int) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        limit = self.reset_after(number)
        sent = 0
        cut = False
        with self._lock:
            self._live.update((client, upstream))
        try:
            while not cut and not self._closing.is_set():
                try:
                    readable, _, _ = select.select([client, upstream], [], [], 0.5)
                except (OSError, ValueError):
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        upstream.sendall(data)
                    elif limit is not None and sent + len(data) >= limit:
                        client.sendall(data[: max(0, limit - sent)])
                        with self._lock:
                            self.resets += 1
                        cut = True
                        break
                    else:
                        sent += len(data)
                        client.sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._live.difference_update((client, upstream))
            if cut:
                _reset(client)
                _reset(upstream)
            else:
                client.close()
                upstream.close()


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str, int], FaultProxy]]:
    """`fault_proxy(host, port)` starts a `FaultProxy`; all are closed after the test."""
    made: list[FaultProxy] = []

    def make(host: str, port: int) -> FaultProxy:
        proxy = FaultProxy(host, port)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()

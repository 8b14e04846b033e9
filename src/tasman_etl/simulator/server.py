"""The simulated USAJOBS API over real HTTP on 127.0.0.1 (the HTTP plumbing: `transport.py`).

Routes (paths and parameter names are case-insensitive):

* ``GET /api/search`` (also ``/api/Search``): needs non-empty ``Authorization-Key`` and
  ``User-Agent`` headers (and the configured key, if any), else 401. 400 for malformed
  numeric parameters. Body and headers as the real API (`search.py`).
* ``GET /api/codelist/{name}`` (also ``/codelist/{name}``): no auth; 404 for unknown names.
* ``GET /api/historicjoa`` and ``/api/historicjoa/announcementtext``: no auth; 400 for a
  malformed date or token; paging by continuation token (`historic_api.py`).
* Anything else: 404; methods other than GET: 405.

Faults apply to search and Historic JOA requests (and to codelists with
``apply_to_codelists``). Each fault-eligible request gets the next 1-based number, which
`FaultPlan.by_request` refers to and `RequestRecord.n` records (other requests record
``n=0``). Every request is logged in `requests()` before its response is sent; header
values are never stored or logged.
"""

from __future__ import annotations

import contextlib
import hmac
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog

from tasman_etl.errors import ConfigError
from tasman_etl.simulator.codelists import codelist_payload
from tasman_etl.simulator.config import FaultPlan, SimulatorConfig
from tasman_etl.simulator.data import ItemsView, Universe
from tasman_etl.simulator.faults import ERROR_BODIES, decide_fault
from tasman_etl.simulator.historic import HistoricUniverse
from tasman_etl.simulator.historic_api import (
    HISTORIC_PATH,
    TEXT_PATH,
    dropped,
    historic_page,
    is_short,
    parse_filter,
)
from tasman_etl.simulator.query import QueryError, parse_query
from tasman_etl.simulator.search import search_payload
from tasman_etl.simulator.transport import (
    CONTENT_TYPE,
    RequestHandler,
    Response,
    SimulatorHTTPServer,
    json_response,
    send,
)

__all__ = ["CONTENT_TYPE", "RequestRecord", "SimulatorServer", "serve"]

log = structlog.get_logger(__name__)

_HOST = "127.0.0.1"
_JSON = "application/json; charset=utf-8"
_PLAIN = "text/plain; charset=utf-8"
_UNAUTHORIZED = b'{"Message":"Authorization has been denied for this request."}'


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the simulator saw it (never any header value).

    n: 1-based number among fault-eligible requests (0 for the others); path as sent;
    params: query parameters (last duplicate wins); status: HTTP status sent (0 = dropped
    connection); fault: the injected fault kind or None; had_auth: a non-empty
    Authorization-Key header was present; at: arrival time (epoch seconds).
    """

    n: int
    path: str
    params: dict[str, str]
    status: int
    fault: str | None
    had_auth: bool
    at: float


class SimulatorServer:
    """A seeded, fault-injecting USAJOBS API on 127.0.0.1 (see the module docstring).

    Usable as a context manager (`start` on enter, `stop` on exit). The universe is generated
    in the constructor, so `items`, `matching`, `withdraw` and `update` work before `start`.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        started = time.perf_counter()
        self.universe = Universe(config)
        self.history = HistoricUniverse(self.universe, config)
        self._faults = config.faults
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._counter = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        self._codelists: dict[str, bytes | None] = {}
        self.before_search: Callable[[Mapping[str, str]], None] | None = None
        """Called with a search request's parameters just before it is answered (tests use it
        to change the universe while a sweep runs, as the live API does)."""
        log.debug(
            "simulator.universe_ready",
            jobs=config.jobs,
            seed=config.seed,
            seconds=round(time.perf_counter() - started, 3),
        )

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> str:
        """Bind 127.0.0.1 (config port, or a free one), serve in a daemon thread, return the URL."""
        if self._httpd is not None:
            return self.base_url
        self._stopping.clear()
        try:
            httpd = SimulatorHTTPServer(
                (_HOST, self.config.port), on_request=self._handle, on_connection=self._track
            )
        except OSError as exc:
            raise ConfigError(
                f"simulator cannot listen on {_HOST}:{self.config.port}: {exc}"
            ) from exc
        self._httpd = httpd
        self._base_url = f"http://{_HOST}:{httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="usajobs-simulator",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "simulator.started",
            base_url=self._base_url,
            jobs=self.config.jobs,
            seed=self.config.seed,
            text=self.config.text,
            locations=self.config.locations,
        )
        return self._base_url

    def stop(self) -> None:
        """Stop serving, close open connections and wake sleeping 'slow' responses."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None
        log.info("simulator.stopped", base_url=self._base_url, requests=len(self._log))

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``, once started."""
        if self._base_url is None:
            raise RuntimeError("the simulator has not been started")
        return self._base_url

    # ---- control and truth -----------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        """The active fault plan; assign a new `FaultPlan` to change it mid-run."""
        with self._lock:
            return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        with self._lock:
            self._faults = plan

    @property
    def items(self) -> ItemsView:
        """Live items (not withdrawn) in result order, materialized lazily; read-only copies."""
        return ItemsView(self.universe)

    def item(self, control_number: str) -> dict[str, Any]:
        """One job as a search item (a fresh copy), withdrawn or not."""
        return self.universe.item(self.universe.index_of(control_number))

    def control_numbers(self) -> list[str]:
        """Control numbers of the live jobs, in result order."""
        specs = self.universe.specs()
        return [specs[i].control_number for i in self.universe.live_order()]

    def matching(self, params: Mapping[str, str]) -> list[str]:
        """Truth: control numbers matching search `params` (paging ignored, no 10,000 cap)."""
        return self.universe.matching(params)

    def withdraw(self, control_number: str) -> None:
        """Make a job disappear from later results (KeyError for an unknown number)."""
        self.universe.withdraw(control_number)

    def restore(self, control_number: str) -> None:
        """Bring a withdrawn job back."""
        self.universe.restore(control_number)

    def update(self, control_number: str, **changes: Any) -> None:
        """Change a job's content, e.g. ``update(cn, pay_min="90000")`` (see `Universe.update`)."""
        self.universe.update(control_number, **changes)

    def historic_records(
        self, params: Mapping[str, str] | None = None, *, as_served: bool = False
    ) -> list[dict[str, Any]]:
        """Truth: every Historic JOA record matching `params` (all when None), in API order.

        Paging is ignored. With `as_served`, the rows a shortfall fault leaves out are left
        out here too (what a client can collect); by default every record is returned.
        """
        flt = parse_filter(params or {})
        specs = self.history.select(flt.keep, key=flt.params)
        if as_served and is_short(flt, self.config.historic_shortfall_months):
            specs = [s for i, s in enumerate(specs) if not dropped(i)]
        return [self.history.record(s) for s in specs]

    def historic_texts(self, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Truth: the AnnouncementText records matching `params` (all when None)."""
        flt = parse_filter(params or {})
        return [self.history.text_record(s) for s in self.history.select(flt.keep, key=flt.params)]

    def historic_count(self, params: Mapping[str, str] | None = None) -> int:
        """The `totalCount` the Historic JOA reports for `params` (cheap: nothing rendered)."""
        flt = parse_filter(params or {})
        return len(self.history.select(flt.keep, key=flt.params))

    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, in arrival order."""
        with self._lock:
            return list(self._log)

    @property
    def request_log(self) -> list[RequestRecord]:
        """Same as `requests()`."""
        return self.requests()

    # ---- HTTP ------------------------------------------------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handle(self, h: RequestHandler) -> None:
        arrived = time.time()
        split = urlsplit(h.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        route = split.path.rstrip("/").lower()
        had_auth = bool((h.headers.get("Authorization-Key") or "").strip())
        is_get = h.command == "GET"
        is_search = is_get and route == "/api/search"
        historic = (route == TEXT_PATH) if is_get and route in (HISTORIC_PATH, TEXT_PATH) else None
        codelist = None
        for prefix in ("/api/codelist/", "/codelist/"):
            if is_get and route.startswith(prefix) and len(route) > len(prefix):
                codelist = route[len(prefix) :]
        with self._lock:
            plan = self._faults
            eligible = (
                is_search
                or historic is not None
                or (codelist is not None and plan.apply_to_codelists)
            )
            if eligible:
                self._counter += 1
            number = self._counter if eligible else 0
        fault = decide_fault(plan, number) if eligible else None

        if fault in ERROR_BODIES:
            status, ctype, body = ERROR_BODIES[fault]
            retry = plan.retry_after if fault in ("429", "503") else None
            response = Response(status, ctype, body, retry)
        elif is_search:
            if self.before_search is not None:
                self.before_search(params)
            response = self._search(h, params)
        elif historic is not None:
            response = self._historic(params, text=historic)
        elif codelist is not None:
            response = self._codelist(codelist)
        elif not is_get:
            response = json_response(405, "This resource supports GET only.")
        else:
            response = json_response(404, f"No HTTP resource was found that matches {split.path}.")

        record = RequestRecord(
            n=number,
            path=split.path,
            params=params,
            status=0 if fault == "drop" else response.status,
            fault=fault,
            had_auth=had_auth,
            at=arrived,
        )
        with self._lock:
            self._log.append(record)
        log.debug("simulator.request", n=number, path=split.path, status=record.status, fault=fault)

        if fault == "drop":
            h.close_connection = True
            return
        if fault == "slow":
            self._stopping.wait(plan.slow_seconds)
        send(h, response, truncate=fault == "truncate")

    def _search(self, h: RequestHandler, params: Mapping[str, str]) -> Response:
        key = (h.headers.get("Authorization-Key") or "").strip()
        agent = (h.headers.get("User-Agent") or "").strip()
        expected = self.config.auth_key
        if (
            not key
            or not agent
            or (expected is not None and not hmac.compare_digest(key, expected))
        ):
            return Response(401, CONTENT_TYPE, _UNAUTHORIZED)
        try:
            query = parse_query(params)
        except QueryError as exc:
            return json_response(400, str(exc))
        return Response(200, CONTENT_TYPE, search_payload(self.universe, query))

    def _historic(self, params: Mapping[str, str], *, text: bool) -> Response:
        try:
            body, is_json = historic_page(self.history, params, text=text)
        except QueryError as exc:
            return json_response(400, str(exc))
        return Response(200, _JSON if is_json else _PLAIN, body)

    def _codelist(self, name: str) -> Response:
        if name not in self._codelists:
            self._codelists[name] = codelist_payload(name, self.universe.now)
        body = self._codelists[name]
        if body is None:
            return json_response(404, f"Unknown code list {name!r}.")
        return Response(200, CONTENT_TYPE, body)


def serve(config: SimulatorConfig, port: int = 0) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM.

    Prints the base URL as one line on stdout (logs go to stderr). `port` (if non-zero)
    overrides `config.port`.
    """
    if port:
        config = config.model_copy(update={"port": port})
    server = SimulatorServer(config)
    stop = threading.Event()
    previous: Any = None
    in_main = threading.current_thread() is threading.main_thread()

    def _on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if in_main:
        previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        url = server.start()
        print(url, flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

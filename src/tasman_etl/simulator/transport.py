"""The simulator's HTTP plumbing: a stdlib `ThreadingHTTPServer` and how a response is sent.

What a request means (routes, auth, faults, the request log) is decided by
`tasman_etl.simulator.server.SimulatorServer`; this module only carries requests to it and
its `Response` back: every method goes to one ``on_request`` callback, and each connection
is reported opened and closed (``on_connection``) so a stop can shut the open ones.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

__all__ = [
    "CONTENT_TYPE",
    "RequestHandler",
    "Response",
    "SimulatorHTTPServer",
    "json_response",
    "send",
]

log = structlog.get_logger(__name__)

CONTENT_TYPE = "application/hr+json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Response:
    """One response to send: status, Content-Type, body and an optional Retry-After."""

    status: int
    content_type: str
    body: bytes
    retry_after: str | None = None


def json_response(status: int, message: str) -> Response:
    """An error response as the API writes them: ``{"Message": message}``."""
    return Response(status, CONTENT_TYPE, json.dumps({"Message": message}).encode())


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server handing every request to ``on_request`` (daemon threads)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        on_request: Callable[[RequestHandler], None],
        on_connection: Callable[[socket.socket, bool], None],
    ) -> None:
        self.on_request = on_request
        self.on_connection = on_connection
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log at debug level: clients that time out or hang up mid-response are expected."""
        log.debug("simulator.connection_error", client=str(client_address), exc_info=True)


class RequestHandler(BaseHTTPRequestHandler):
    """Passes every request, whatever its method, to the server's ``on_request``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY keep-alive clients
    # wait ~40 ms per response on delayed ACKs.
    disable_nagle_algorithm = True
    server_version = "USAJOBS-Simulator/1.0"
    sys_version = ""
    timeout = 30.0

    def _server(self) -> SimulatorHTTPServer:
        server = self.server
        assert isinstance(server, SimulatorHTTPServer)
        return server

    def setup(self) -> None:
        """Set the connection up and report it open."""
        super().setup()
        self._server().on_connection(self.connection, True)

    def finish(self) -> None:
        """Finish the connection and report it closed."""
        try:
            super().finish()
        finally:
            self._server().on_connection(self.connection, False)

    def do_GET(self) -> None:
        """Answer a GET (see `SimulatorServer`)."""
        self._server().on_request(self)

    def do_HEAD(self) -> None:
        """Answer a HEAD: the GET's headers, no body."""
        self._server().on_request(self)

    def do_POST(self) -> None:
        """Answer a POST (405)."""
        self._server().on_request(self)

    def do_PUT(self) -> None:
        """Answer a PUT (405)."""
        self._server().on_request(self)

    def do_DELETE(self) -> None:
        """Answer a DELETE (405)."""
        self._server().on_request(self)

    def do_PATCH(self) -> None:
        """Answer a PATCH (405)."""
        self._server().on_request(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's per-request stderr lines (we log via structlog)."""


def send(h: RequestHandler, response: Response, *, truncate: bool = False) -> None:
    """Write `response` to the client of `h` (headers only for HEAD).

    With `truncate`, the full Content-Length is promised but only half the body is sent and
    the connection closes. A client that went away is not an error.
    """
    body = response.body
    try:
        h.send_response(response.status)
        h.send_header("Content-Type", response.content_type)
        h.send_header("Content-Length", str(len(body)))
        if response.retry_after is not None:
            h.send_header("Retry-After", response.retry_after)
        h.end_headers()
        if h.command == "HEAD":
            pass
        elif truncate:
            # Full Content-Length promised, half the body sent, then the connection closes.
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
        else:
            h.wfile.write(body)
    except OSError:
        h.close_connection = True  # the client went away (e.g. timed out on 'slow')

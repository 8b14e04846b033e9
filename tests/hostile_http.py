"""A hostile HTTP server on 127.0.0.1 in front of the simulator (issue 11, items 4 and 5).

`HostileServer(upstream)` forwards every request to ``upstream`` (a `SimulatorServer`) and
answers as it did, except for search requests of the pages named in ``plan``: each request
for page N takes (and removes) the first treatment of ``plan[N]``, one of:

* ``trickle``: the real status line and headers, then the body one byte per ``interval_s``
  (1 s): no single read ever times out, the whole answer takes hours;
* ``trickle-headers``: the status line and headers themselves one byte per ``interval_s``;
* ``bomb``: ``200``, ``Content-Encoding: gzip``, a body of ``bomb_mb`` MB of spaces gzipped
  (a 600 MB page is about 580 KB on the wire);
* ``bad-dates``: ``503`` with ``Retry-After`` and ``Date`` of a 20-digit zone offset
  (``Mon, 01 Jan 2024 00:00:00 +99999999999999999999``: ``OverflowError`` in the stdlib).

``started`` is set once a trickle has begun (for signal tests); ``log`` lists
``(page, treatment)`` of every search request, in order.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BAD_DATE = "Mon, 01 Jan 2024 00:00:00 +99999999999999999999"


@functools.cache
def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of spaces, gzipped (about 1 KB per MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * (1 << 20)
    parts = [packer.compress(block) for _ in range(megabytes)]
    parts.append(packer.flush())
    return b"".join(parts)


class HostileServer:
    """See the module docstring. Use as a context manager; ``base_url`` is its address."""

    def __init__(
        self,
        upstream: str,
        plan: dict[int, list[str]] | None = None,
        *,
        interval_s: float = 1.0,
        bomb_mb: int = 600,
    ) -> None:
        self.upstream = urlsplit(upstream)
        self.plan = {page: list(todo) for page, todo in (plan or {}).items()}
        self.interval_s = interval_s
        self.bomb_mb = bomb_mb
        self.started = threading.Event()
        self.log: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _treatment(self, path: str) -> tuple[int, str]:
        parts = urlsplit(path)
        if not parts.path.startswith("/api/search"):
            return 0, "pass"
        query = {k.lower(): v for k, v in parse_qsl(parts.query)}
        page = int(query.get("page", "1"))
        with self._lock:
            todo = self.plan.get(page) or []
            treatment = todo.pop(0) if todo else "pass"
            self.log.append((page, treatment))
        return page, treatment

    def _forward(self, handler: BaseHTTPRequestHandler) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30
        )
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
            upstream.request("GET", handler.path, headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            kept = [
                (k, v)
                for k, v in answer.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            ]
            return answer.status, kept, body
        finally:
            upstream.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(OSError):  # the client hung up between requests
                    super().handle()

            def do_GET(self) -> None:
                _, treatment = server._treatment(self.path)
                try:
                    if treatment == "bomb":
                        self._send(200, [("Content-Type", "application/json")], b"", bomb=True)
                        return
                    if treatment == "bad-dates":
                        headers = [("Retry-After", BAD_DATE), ("Date", BAD_DATE)]
                        self._send(503, headers, b'{"error": "busy"}')
                        return
                    status, headers, body = server._forward(self)
                    if treatment in ("trickle", "trickle-headers"):
                        self._trickle(status, headers, body, headers_too=treatment != "trickle")
                        return
                    self._send(status, headers, body)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client gave up: that is the point

            def _head(self, status: int, headers: list[tuple[str, str]], length: int) -> bytes:
                lines = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Oops'}"]
                lines += [f"{k}: {v}" for k, v in headers]
                lines.append(f"Content-Length: {length}")
                return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

            def _send(
                self,
                status: int,
                headers: list[tuple[str, str]],
                body: bytes,
                *,
                bomb: bool = False,
            ) -> None:
                if bomb:
                    body = gzip_bomb(server.bomb_mb)
                    headers = [*headers, ("Content-Encoding", "gzip")]
                self.wfile.write(self._head(status, headers, len(body)) + body)
                self.wfile.flush()

            def _trickle(
                self,
                status: int,
                headers: list[tuple[str, str]],
                body: bytes,
                *,
                headers_too: bool,
            ) -> None:
                head = self._head(status, headers, len(body))
                if not headers_too:
                    self.wfile.write(head)
                    self.wfile.flush()
                    head = b""
                server.started.set()
                for byte in head + body:
                    if server._closing.is_set():
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(server.interval_s)
                self.close_connection = True

        return Handler

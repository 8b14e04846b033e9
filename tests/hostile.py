"""A hostile USAJOBS API on 127.0.0.1: valid HTTP, answers chosen by the test.

`HostileApi(answer)` serves every request with ``answer(params)`` -> a JSON-able payload (sent
as ``200 application/hr+json``). With ``upstream`` (a simulator's base URL), the request is
first forwarded there and ``rewrite(params, payload)`` edits the real answer: an answer that
lies about its totals, drops rows, or is empty although the API has jobs.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from factories import search_page

Answer = Callable[[Mapping[str, str]], Any]
Rewrite = Callable[[Mapping[str, str], dict[str, Any]], Any]

EMPTY = search_page([])
"""The empty answer the red team served after a clean run."""


class HostileApi:
    """A threaded HTTP server on 127.0.0.1 answering searches as the test says."""

    def __init__(
        self,
        answer: Answer | None = None,
        *,
        upstream: str | None = None,
        rewrite: Rewrite | None = None,
    ) -> None:
        if (answer is None) == (upstream is None):
            raise ValueError("give either `answer` or `upstream` (with `rewrite`)")
        self.answer = answer
        self.upstream = upstream
        self.rewrite = rewrite or (lambda params, payload: payload)
        self.requests: list[dict[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                params = dict(parse_qsl(split.query, keep_blank_values=True))
                api.requests.append(params)
                if api.answer is not None:
                    payload = api.answer(params)
                else:
                    payload = api.rewrite(params, api._forward(self.path, self.headers))
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/hr+json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _forward(self, path: str, headers: Any) -> dict[str, Any]:
        assert self.upstream is not None
        request = urllib.request.Request(
            self.upstream.rstrip("/") + path,
            headers={
                name: headers[name]
                for name in ("Authorization-Key", "User-Agent", "Accept")
                if headers.get(name)
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload: dict[str, Any] = json.loads(response.read())
        return payload

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> HostileApi:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

"""Headless Chromium over the DevTools protocol on a pipe: open, drive and photograph a page.

Used by ``tasman-etl site --screenshot``, by the site's end-to-end tests and by
``bench/site_bench.py``. No Python dependency: Chromium's ``--remote-debugging-pipe`` speaks
the protocol as NUL-terminated JSON on file descriptors 3 (commands in) and 4 (replies and
events out), which a ``/bin/sh`` wrapper maps from the child's stdin and stdout.

Every request the page makes is observed (``Network.requestWillBeSent``), and requests to
``http``, ``https``, ``ws`` and ``wss`` URLs are failed before they leave (``Fetch``), so a
caller can check that a page used nothing but its own files: `Page.requests`,
`Page.blocked`. ``offline=True`` (the default) also maps every host name to nothing.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from tasman_etl.errors import ConfigError, TasmanError

__all__ = ["BrowserError", "Chromium", "Page", "find_chromium"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-quic",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)
_BLOCKED_PATTERNS = [{"urlPattern": p} for p in ("http://*", "https://*", "ws://*", "wss://*")]


class BrowserError(TasmanError):
    """Chromium failed, timed out or answered a command with an error."""


def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable on PATH, or None."""
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """One headless Chromium process; `open` gives a `Page`. A context manager (closes it)."""

    def __init__(
        self,
        executable: str | None = None,
        *,
        offline: bool = True,
        timeout_s: float = 60.0,
        profile_dir: Path | None = None,
    ) -> None:
        exe = executable or find_chromium()
        if exe is None:
            raise ConfigError("no Chromium found (install the `chromium` package)")
        self.timeout_s = timeout_s
        self._owned_profile = profile_dir is None
        import tempfile

        self._profile = profile_dir or Path(tempfile.mkdtemp(prefix="tasman-chromium-"))
        flags = [*_FLAGS, f"--user-data-dir={self._profile}"]
        if offline:
            flags.append("--host-resolver-rules=MAP * ~NOTFOUND")
        # fd 3 <- our commands (the child's stdin), fd 4 -> replies (the child's stdout).
        self._proc = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell expansion of input
            ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null', exe, *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if self._proc.stdin is None or self._proc.stdout is None:  # pragma: no cover
            raise BrowserError("Chromium's pipes were not opened")
        self._out: IO[bytes] = self._proc.stdin
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(
            target=self._read, args=(self._proc.stdout,), daemon=True, name="chromium-pipe"
        )
        self._reader.start()
        self._next_id = 0
        self._lock = threading.Lock()
        self._handlers: list[Callable[[dict[str, Any]], None]] = []
        self._replies: dict[int, dict[str, Any]] = {}

    # ---- protocol -----------------------------------------------------------------------

    def _read(self, stream: IO[bytes]) -> None:
        buffer = b""
        while True:
            chunk = os.read(stream.fileno(), 1 << 20)
            if not chunk:
                self._inbox.put(None)
                return
            buffer += chunk
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                self._inbox.put(json.loads(message))

    def post(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> int:
        """Send a command without waiting for its reply; return its id."""
        with self._lock:
            self._next_id += 1
            msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            self._out.write(json.dumps(msg).encode() + b"\0")
            self._out.flush()
            return self._next_id

    def pump(self, until: Callable[[], bool], timeout_s: float | None = None) -> None:
        """Handle incoming messages until ``until()`` holds; BrowserError after the timeout."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("timed out waiting for Chromium")
            try:
                msg = self._inbox.get(timeout=min(left, 0.25))
            except queue.Empty:
                continue
            if msg is None:
                raise BrowserError("Chromium exited")
            if "id" in msg:
                self._replies[int(msg["id"])] = msg
            else:
                for handler in list(self._handlers):
                    handler(msg)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str = "",
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Send a command and return its result (BrowserError if Chromium reports an error)."""
        ident = self.post(method, params, session)
        self.pump(lambda: ident in self._replies, timeout_s)
        reply = self._replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message', reply['error'])}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    # ---- pages ------------------------------------------------------------------------

    def open(self, url: str, *, width: int = 1280, height: int = 900, mobile: bool = False) -> Page:
        """A new tab of ``width`` x ``height`` CSS pixels, watched and guarded, at ``url``."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, str(session))
        page.prepare(width, height, mobile)
        page.goto(url)
        return page

    def close(self) -> None:
        """End the browser (politely, then by force) and remove its profile folder."""
        if self._proc.poll() is None:
            try:
                self.post("Browser.close")
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(timeout=10)
        if self._owned_profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One tab: navigate, evaluate, click, type, photograph; every request it made is kept."""

    def __init__(self, browser: Chromium, session: str) -> None:
        self.browser = browser
        self.session = session
        self.requests: list[str] = []
        """URL of every request the page made, in order (``file://`` only, for a site)."""
        self.blocked: list[str] = []
        """URLs of requests to the network that were failed before they left."""
        self.console_errors: list[str] = []
        self._loaded = 0
        browser._handlers.append(self._on_event)

    def _on_event(self, msg: dict[str, Any]) -> None:
        if msg.get("sessionId") != self.session:
            return
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(str(params["request"]["url"]))
        elif method == "Fetch.requestPaused":
            self.blocked.append(str(params["request"]["url"]))
            self.browser.post(
                "Fetch.failRequest",
                {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
                self.session,
            )
        elif method == "Page.loadEventFired":
            self._loaded += 1
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console_errors.append(str(text))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.console_errors.append(str(params["entry"].get("text", "")))

    def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.call(method, params, self.session)

    def prepare(self, width: int, height: int, mobile: bool) -> None:
        """Enable the domains used here, the request guard and the viewport."""
        for domain in ("Page", "Network", "Runtime", "Log"):
            self._call(f"{domain}.enable")
        self._call("Fetch.enable", {"patterns": _BLOCKED_PATTERNS})
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        seen = self._loaded
        self._call("Page.navigate", {"url": url})
        self.browser.pump(lambda: self._loaded > seen)

    def evaluate(self, expression: str, *, timeout_s: float | None = None) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        result = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            self.session,
            timeout_s,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"script failed: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float = 30.0) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element ``selector`` (scrolled into view)."""
        self._call("Page.bringToFront")
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) "
            "return null; e.scrollIntoView({block: 'center'}); const r = "
            "e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if not box:
            raise BrowserError(f"nothing matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self._call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    def press(self, key: str) -> None:
        """Press and release one key (``Enter``, ``Tab``, ``Escape``) on the focused element."""
        codes = {"Enter": 13, "Tab": 9, "Escape": 27}
        base: dict[str, Any] = {"key": key, "code": key, "windowsVirtualKeyCode": codes[key]}
        down = {**base, "type": "keyDown"}
        if key == "Enter":
            down["text"] = "\r"
        self._call("Input.dispatchKeyEvent", down)
        self._call("Input.dispatchKeyEvent", {**base, "type": "keyUp"})

    def screenshot(self) -> bytes:
        """The visible viewport as PNG bytes (the tab is brought to the front: a background
        tab draws no frames)."""
        self._call("Page.bringToFront")
        data = self._call("Page.captureScreenshot", {"format": "png"})["data"]
        return base64.b64decode(data)

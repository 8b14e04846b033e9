"""One redaction helper for logs, bronze envelopes, exceptions and printed URLs.

Secrets are registered once (by `Settings`) and scrubbed from every string that
passes through `scrub`; request headers are never kept (`safe_headers` keeps an
allow-list of response headers only).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["MASK", "mask_url", "register_secret", "safe_headers", "scrub", "scrub_obj"]

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# Response headers worth keeping in bronze; anything else (cookies, auth echoes) is dropped.
_KEEP_HEADERS = {
    "content-type",
    "content-length",
    "content-encoding",
    "date",
    "etag",
    "last-modified",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
}
_PASSWORD_IN_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@"
)
_PASSWORD_PARAM = re.compile(r"(?i)\b(password|passwd|pwd)=([^&\s]+)")


def register_secret(value: str | None) -> None:
    """Remember a secret value so `scrub` masks it everywhere (ignores short values)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """Mask registered secrets and passwords embedded in URLs in ``text``."""
    with _lock:
        secrets: Iterable[str] = sorted(_secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
    text = _PASSWORD_IN_URL.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _PASSWORD_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)


def scrub_obj(value: Any) -> Any:
    """Recursively `scrub` every string inside dicts, lists and tuples."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: scrub_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_obj(v) for v in value]
    return value


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (for printing DB URLs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = parts.username or ""
        parts = parts._replace(netloc=f"{user}:{MASK}@{host}")
    return scrub(urlunsplit(parts))


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Keep only harmless response headers (allow-list), for bronze and logs."""
    return {k: v for k, v in headers.items() if k.lower() in _KEEP_HEADERS}

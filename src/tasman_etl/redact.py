"""One redaction helper for logs, bronze envelopes, exceptions and printed URLs.

Secrets are registered once (by `Settings` and the search client) and scrubbed from every
string that passes through `scrub`, in every spelling they can take on the way out: raw,
stripped of surrounding whitespace, ``repr``-escaped (also of bytes, and escaped twice, as in
``repr(exc)`` of an error quoting ``b'key\\r'``), JSON-escaped, and URL-encoded (upper or lower
case hex, ``+`` for spaces) or URL-decoded. Request headers are never kept (`safe_headers`
keeps an allow-list of response headers only); URLs to be stored go through `safe_url`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "ScrubFilter",
    "mask_url",
    "register_secret",
    "safe_headers",
    "safe_url",
    "scrub",
    "scrub_obj",
    "spellings",
]

MASK = "***"
_MIN_LEN = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

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
# Query/conninfo parameters that carry credentials (``password=``, ``?apikey=``, S3 signatures).
_CREDENTIAL_PARAMS = (
    r"password|passwd|pwd|api[_-]?key|access[_-]?token|auth[_-]?token|token|secret"
    r"|client[_-]?secret|authorization[_-]?key|sig|signature"
    r"|x-amz-signature|x-amz-credential|x-amz-security-token"
)
_PASSWORD_PARAM = re.compile(rf"(?i)(?<![\w-])({_CREDENTIAL_PARAMS})=([^&\s]+)")
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _escapes(value: str) -> set[str]:
    """``value`` as repr, bytes repr, JSON, unicode_escape and URL encoding would write it."""
    out = {
        repr(value)[1:-1],
        repr(value.encode("utf-8", "surrogatepass"))[2:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
        quote(value, safe=""),
        quote(value),
        quote_plus(value, safe=""),
    }
    out |= {_HEX_ESCAPE.sub(lambda m: m.group(0).lower(), v) for v in out if "%" in v}
    return out


def spellings(value: str) -> set[str]:
    """Every way ``value`` may be written out by an error, a log line, a URL or JSON.

    The value itself and stripped of surrounding whitespace; URL-decoded (a password given
    percent-encoded in a URL); each of those escaped once (`_escapes`) and twice (the repr of
    an error message that quotes a repr). Spellings shorter than 4 characters are left out.
    """
    bases = {value, value.strip()}
    bases |= {unquote(v) for v in set(bases)} | {unquote_plus(v) for v in set(bases)}
    once: set[str] = set()
    for base in bases:
        once |= _escapes(base)
    twice: set[str] = set()
    for spelled in once:
        twice |= _escapes(spelled)
    return {s for s in bases | once | twice if len(s) >= _MIN_LEN}


def register_secret(value: str | None) -> None:
    """Remember a secret so `scrub` masks it everywhere, in every spelling (see `spellings`).

    Values shorter than 4 characters (after stripping whitespace) are ignored.
    """
    global _pattern
    if not value or len(value.strip()) < _MIN_LEN:
        return
    new = spellings(value)
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: mask it whole
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def scrub(text: str) -> str:
    """Mask registered secrets (any spelling), URL passwords and credential parameters."""
    with _lock:
        pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
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


def safe_url(url: str) -> str:
    """``url`` as it may be stored: no user or password at all, credential parameters masked.

    For endpoints written to bronze, the ledger and logs. An unparsable URL is `scrub`-bed.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return scrub(url)
    if "@" in parts.netloc:
        netloc = host or ""
        if ":" in netloc:  # IPv6 literal
            netloc = f"[{netloc}]"
        if port is not None:
            netloc = f"{netloc}:{port}"
        parts = parts._replace(netloc=netloc)
    return scrub(urlunsplit(parts))


class ScrubFilter(logging.Filter):
    """A stdlib logging filter that scrubs a record's message and traceback (third parties)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template only
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = scrub(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Keep only harmless response headers (allow-list), for bronze and logs."""
    return {k: v for k, v in headers.items() if k.lower() in _KEEP_HEADERS}

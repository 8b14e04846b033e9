"""Secrets in every spelling (issue 11, item 6).

A key with a trailing ``\\r`` (a CRLF ``.env`` sourced by a shell, ``docker --env-file``, a
secret store's trailing newline) used to reach httpx, whose error quotes it escaped
(``Illegal header value b'KEY\\r'``); the redaction knew the raw string only, so the key was
printed, logged and stored in the ledger. A server echoing the key URL-encoded, or in an
allow-listed response header, leaked it the same way; credentials inside
``USAJOBS_API_BASE`` were stored with every endpoint.

Now: secrets are stripped of surrounding whitespace and refused (exit 2, never echoed) when a
control character is left inside; `scrub` masks every spelling (raw, repr/bytes-repr escaped
once or twice, JSON-escaped, URL-encoded or decoded); ``USAJOBS_API_BASE`` with a user,
password, query or fragment is refused; bronze stores endpoints without credentials and
scrubs the response headers it keeps; stdlib log records and unexpected CLI errors are
scrubbed too.

Every hunt below looks for the secret in all of `_forms` (written here, independently of
`tasman_etl.redact.spellings`) in stdout, stderr, bronze objects (decompressed) and every
row of every table.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import threading
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import psycopg
import pytest
import structlog
import typer
from psycopg import sql
from pydantic import SecretStr, ValidationError

from tasman_etl import redact
from tasman_etl.config import load_settings
from tasman_etl.errors import ConfigError
from tasman_etl.http.usajobs import ClientConfig
from tasman_etl.redact import MASK, register_secret, scrub
from tasman_etl.simulator import SimulatorConfig, SimulatorServer
from tasman_etl.storage.bronze import build_envelope

from e2e_helpers import CLI, cli, last_json

__all__ = ["cli"]

# Base64-like, as USAJOBS keys are: `+`, `/` and `=` change under URL encoding.
KEY = "SeCrEt+usajobs/Key7f3a9c2e41d8=="
PASSWORD = "Pw/4b9e+1d7c:s@cret"  # URL-encoded in DB URLs; decoded by libpq
UA = "secrets@tasman-etl.invalid"


def _forms(secret: str) -> set[str]:
    """The spellings a leak could take: raw, escaped, repr'd twice, JSON, URL-encoded."""
    out: set[str] = set()
    for base in {secret, secret.strip()}:
        once = {
            base,
            repr(base)[1:-1],
            repr(base.encode())[2:-1],
            json.dumps(base)[1:-1],
            quote(base, safe=""),
            re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(base, safe="")),
            quote(base),
            quote_plus(base),
        }
        out |= once | {repr(s)[1:-1] for s in once} | {json.dumps(s)[1:-1] for s in once}
    return out


def _assert_absent(secret: str, where: str, text: str | bytes) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    for form in sorted(_forms(secret)):
        assert form.encode() not in data, f"secret spelled {form!r} found in {where}"


def _bronze_texts(root: Path) -> list[bytes]:
    out = []
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if path.is_file():
            data = path.read_bytes()
            out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return out


def _database_text(url: str) -> str:
    chunks = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            row = conn.execute(
                sql.SQL("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {}.{} AS t").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchone()
            chunks.append(f"== {schema}.{table}\n{row[0] if row else ''}")
    return "\n".join(chunks)


def _count(url: str, table: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return int(row.fetchone()[0])  # type: ignore[index]


class ReflectingApi:
    """A hostile USAJOBS API on 127.0.0.1 in front of the simulator that echoes the key.

    Every search answer carries the key it received in ``ETag`` (a header bronze keeps) and
    ``X-Echo-Key``; the second search request is a 503 whose body quotes the key in every
    spelling; page ``bad_page`` is always a 200 HTML page whose ``Content-Type`` holds the
    key URL-encoded (the client reports the content type of a body that is not JSON).
    """

    def __init__(self, upstream: str, *, bad_page: str = "2") -> None:
        self.upstream = upstream
        self.searches = 0
        self.keys_seen: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                key = self.headers.get("Authorization-Key") or ""
                is_search = self.path.lower().split("?")[0].endswith("/search")
                if is_search:
                    api.searches += 1
                    api.keys_seen.append(key)
                status, headers, body = api._forward(self.path, self.headers)
                if is_search and key:
                    echo = {"ETag": f'"{key}"', "X-Echo-Key": key}
                    if api.searches == 2:
                        status, body = 503, _echo_body(key)
                        headers = {"Content-Type": "text/plain", "Retry-After": "0"}
                    elif dict(parse_qsl(urlsplit(self.path).query)).get("Page") == bad_page:
                        status, body = 200, b"<html>key " + key.encode() + b"</html>"
                        headers = {"Content-Type": f"text/html; key={quote(key, safe='')}"}
                    headers = {**headers, **echo}
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _forward(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            self.upstream + path,
            headers={
                name: headers[name]
                for name in ("Authorization-Key", "User-Agent", "Accept")
                if headers.get(name)
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ReflectingApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _echo_body(key: str) -> bytes:
    text = "\n".join(
        [
            f"bad key {key}",
            f"repr {key!r}",
            f"bytes {key.encode()!r}",
            f"json {json.dumps({'key': key})}",
            f"url {quote(key, safe='')}",
        ]
    )
    return text.encode()


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Restore stdlib and structlog configuration after a test that configures logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


# ----------------------------------------------------------------------- no database


def test_scrub_masks_every_spelling_of_a_secret() -> None:
    key = "Spelled+key/9d1c7e=\r"  # as read from a CRLF file
    register_secret(key)
    encoded = quote("Pw/9x+spell:s@cret", safe="")
    register_secret(encoded)  # a DB password as urlsplit gives it: percent-encoded
    for secret in (key, "Pw/9x+spell:s@cret"):
        for form in _forms(secret):
            text = f"error: Illegal header value {form} (while sending)"
            out = scrub(text)
            assert MASK in out, (form, out)
            _assert_absent(secret, f"scrub({text!r}) = {out!r}", out)
    # The repr of an httpx error quoting the bytes, as `repr(exc)` shows it.
    error = repr(Exception(f"Illegal header value {key.encode()!r}"))
    _assert_absent(key, "repr of the error", scrub(error))


def test_secrets_are_stripped_of_surrounding_whitespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("USAJOBS_AUTH_KEY", KEY + "\r\n")
    monkeypatch.setenv("USAJOBS_USER_AGENT", " " + UA + "\r")
    monkeypatch.setenv("DB_URL", f"postgresql://tasman:{quote(PASSWORD, safe='')}@db/x\r\n")
    settings = load_settings(_env_file=None)
    assert settings.usajobs_auth_key is not None and settings.db_url is not None
    assert settings.usajobs_auth_key.get_secret_value() == KEY
    assert settings.usajobs_user_agent == UA
    assert settings.db_url.get_secret_value().endswith("@db/x")
    # A CRLF .env with quoted values (python-dotenv turns the CR into a newline).
    (tmp_path / ".env").write_bytes(f'USAJOBS_AUTH_KEY="{KEY}\r"\r\n'.encode())
    monkeypatch.delenv("USAJOBS_AUTH_KEY")
    from_file = load_settings(_env_file=tmp_path / ".env")
    assert from_file.usajobs_auth_key is not None
    assert from_file.usajobs_auth_key.get_secret_value() == KEY
    # The client refuses or cleans the same way when built directly.
    config = ClientConfig(auth_key=SecretStr(KEY + "\n"), user_agent=UA + "\r\n")
    assert config.auth_key is not None and config.auth_key.get_secret_value() == KEY
    assert config.user_agent == UA


@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        ("USAJOBS_AUTH_KEY", "SeCrEt+ke\ry/inner==", "SeCrEt+ke\ry/inner=="),
        ("USAJOBS_AUTH_KEY", "SeCrEt+ke\x1by/esc==", "SeCrEt+ke\x1by/esc=="),
        ("USAJOBS_AUTH_KEY", "SeCrEt+k\u200bey/zw==", "SeCrEt+k\u200bey/zw=="),
        ("USAJOBS_USER_AGENT", "agent\r\nX-Injected: 1", "agent\r\nX-Injected: 1"),
        ("DB_URL", "postgresql://u:Pw\tsecret9@db/x", "Pw\tsecret9"),
    ],
    ids=["key-inner-cr", "key-escape", "key-zero-width", "agent-header-injection", "db-tab"],
)
def test_control_characters_in_secrets_are_refused_without_echo(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, secret: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    message = str(raised.value)
    assert variable in message and ("control character" in message), message
    whole = "".join(traceback.format_exception(raised.value)) + repr(raised.value)
    for part in {secret, *secret.split("\r"), *secret.split("\x1b"), *secret.split("\t")}:
        if len(part.strip()) >= 6:
            _assert_absent(part, "the config error", whole)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://user:Pw-api-secret9@data.usajobs.gov", "Pw-api-secret9"),
        ("https://Tok3n-api-secret9@data.usajobs.gov/", "Tok3n-api-secret9"),
        ("https://data.usajobs.gov/?apikey=Qk3y-api-secret9", "Qk3y-api-secret9"),
        ("https://data.usajobs.gov/#Fr4g-api-secret9", "Fr4g-api-secret9"),
    ],
    ids=["user-password", "token-as-user", "query-key", "fragment"],
)
def test_base_urls_with_credentials_are_refused(url: str, secret: str) -> None:
    for name in ("usajobs_api_base", "aws_endpoint_url"):
        with pytest.raises(ConfigError) as raised:
            load_settings(_env_file=None, **{name: url})
        message = str(raised.value)
        assert name.upper() in message, message
        _assert_absent(secret, "the config error", message + repr(raised.value))
    with pytest.raises(ValidationError) as invalid:
        ClientConfig(api_base=url)
    assert "USAJOBS_AUTH_KEY" in str(invalid.value)


def test_bronze_envelope_keeps_no_credentials() -> None:
    echoed = "Echo+key/bronze5e1=="
    register_secret(echoed + "\r")
    now = datetime(2026, 1, 2, tzinfo=UTC)
    payload = b'{"SearchResult": {"SearchResultCount": 0, "SearchResultItems": []}}'
    for parsed in (None, json.loads(payload)):
        body = build_envelope(
            endpoint="http://user:Pw-bronze-secret9@127.0.0.1:9/api/Search?apikey=Q-bronze-key9",
            params={"Keyword": "data"},
            sent_at=now,
            status=200,
            received_at=now,
            headers={
                "ETag": f'"{echoed}"',
                "Content-Type": f"application/json; k={quote(echoed, safe='')}",
                "X-Echo": echoed,
            },
            payload_bytes=payload,
            run_id="r1",
            page=1,
            part=None,
            code_version="test",
            payload=parsed,
        )
        text = gzip.decompress(body)
        envelope = json.loads(text)
        assert envelope["request"]["endpoint"] == "http://127.0.0.1:9/api/Search?apikey=***"
        assert envelope["response"]["headers"]["ETag"] == f'"{MASK}"'
        for secret in (echoed, "Pw-bronze-secret9", "Q-bronze-key9", "user:"):
            _assert_absent(secret, "the bronze envelope", text)
    assert redact.safe_url("https://[::1]:8/x") == "https://[::1]:8/x"
    assert redact.safe_url("https://u:p@[::1]:8/x") == "https://[::1]:8/x"


def test_stdlib_log_records_are_scrubbed(clean_logging: None) -> None:
    from tasman_etl.logging_setup import configure_logging

    key = "Stdlib+key/log4a2=="
    register_secret(key)
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    logging.getLogger("httpx").warning("sent %r to %s", key + "\r", "http://u:Pw-std9@h/")
    try:
        raise RuntimeError(f"Illegal header value {(key + chr(13)).encode()!r}")
    except RuntimeError:
        logging.getLogger("botocore").exception("failed with %s", quote(key, safe=""))
    structlog.get_logger("t").error("x", error=repr(OSError(f"bad {key!r}")))
    text = out.getvalue()
    assert "sent" in text and "RuntimeError" in text and '"event": "x"' in text
    _assert_absent(key, "the log", text)
    assert "Pw-std9" not in text


def test_an_unexpected_error_is_one_scrubbed_line(capsys: pytest.CaptureFixture[str]) -> None:
    from tasman_etl.cli import handle_errors

    key = "Crash+key/cli7b3=="
    register_secret(key)

    @handle_errors
    def command() -> None:
        raise UnicodeError(f"Illegal header value {(key + chr(13)).encode()!r}")

    with pytest.raises(typer.Exit) as raised:
        command()
    assert raised.value.exit_code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected UnicodeError: Illegal header value"), err
    _assert_absent(key, "stderr", err)


# ----------------------------------------------------------------------- CLI, hostile API


def _run_env(tmp_path: Path, db_url: str, base: str) -> dict[str, str]:
    return {
        "DB_URL": db_url,
        "USAJOBS_AUTH_KEY": KEY,
        "USAJOBS_USER_AGENT": UA,
        "USAJOBS_API_BASE": base,
        "KEYWORD": "",
        "LOCATION_NAME": "",
        "RESULTS_PER_PAGE": "20",
        "REQUESTS_PER_SECOND": "1000",
        "MAX_BACKOFF_S": "0.01",
        "MAX_ATTEMPTS": "3",
        "LOG_LEVEL": "DEBUG",
        "BRONZE_DIR": str(tmp_path / "bronze"),
    }


@pytest.mark.e2e
@pytest.mark.parametrize("source", ["environment", "dotenv"])
def test_crlf_key_is_stripped_and_a_reflecting_server_cannot_make_it_leak(
    cli: CLI, migrated_db_url: str, tmp_path: Path, source: str
) -> None:
    sim = SimulatorServer(SimulatorConfig(jobs=60, seed=11, auth_key=KEY))
    with sim, ReflectingApi(sim.base_url) as api:
        env = _run_env(tmp_path, migrated_db_url, api.base_url)
        if source == "environment":  # `set -a; . ./.env` of a CRLF file, docker --env-file
            env["USAJOBS_AUTH_KEY"] = KEY + "\r"
        else:  # a CRLF .env in the working directory, quoted value
            del env["USAJOBS_AUTH_KEY"]
            (tmp_path / ".env").write_bytes(f'USAJOBS_AUTH_KEY="{KEY}\r"\r\n'.encode())
        run = cli("run", env=env, timeout=180)
        summary = last_json(run.stdout)
        shown = cli("runs", "show", summary["run_id"], "--format", "json", env=env)
    bronze = _bronze_texts(tmp_path / "bronze")
    database = _database_text(migrated_db_url)
    assert summary["run_id"] in database
    _assert_absent(KEY, "run stdout+stderr", run.stdout + run.stderr)
    _assert_absent(KEY, "runs show", shown.stdout + shown.stderr)
    for i, body in enumerate(bronze):
        _assert_absent(KEY, f"bronze object {i}", body)
    _assert_absent(KEY, "the database", database)
    # The key went over the wire, clean; page 2 was refused (HTML) and failed with a reason.
    assert api.keys_seen and set(api.keys_seen) == {KEY}, api.keys_seen
    assert run.returncode == 1, run.stderr[-3000:]
    assert summary["status"] == "failed", summary
    assert "not valid JSON" in shown.stdout, shown.stdout[-2000:]
    assert f"key={MASK}" in shown.stdout  # the echoed content type, masked
    pages = [json.loads(gzip.decompress(p.read_bytes())) for p in tmp_path.rglob("page=*.json.gz")]
    etags = [v for e in pages for k, v in e["response"]["headers"].items() if k.lower() == "etag"]
    assert len(etags) == len(pages) >= 2 and set(etags) == {f'"{MASK}"'}, etags


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        ("USAJOBS_AUTH_KEY", KEY[:10] + "\r" + KEY[10:], KEY[10:]),
        ("USAJOBS_AUTH_KEY", KEY + "\r\x1b[2K", KEY),
        ("USAJOBS_USER_AGENT", UA + "\r\nX-Forwarded-For: 1", UA),
        ("DB_URL", "", PASSWORD),  # a control character in the password, filled in below
    ],
    ids=["key-inner-cr", "key-ansi-escape", "agent-header-injection", "db-password"],
)
def test_a_control_character_in_a_secret_exits_2_before_anything_happens(
    cli: CLI, migrated_db_url: str, tmp_path: Path, variable: str, value: str, secret: str
) -> None:
    sim = SimulatorServer(SimulatorConfig(jobs=20, seed=5, auth_key=KEY))
    with sim:
        env = _run_env(tmp_path, migrated_db_url, sim.base_url)
        if variable == "DB_URL":
            user_host = migrated_db_url.split("://", 1)[1].split("@", 1)[-1]
            value = f"postgresql://postgres:{quote(PASSWORD, safe='')}%7F\x7f@{user_host}"
        env[variable] = value
        run = cli("run", env=env, timeout=180)
        requests = sim.requests()
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    assert variable in run.stderr and "control character" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert requests == [], "the API was called"
    assert not (tmp_path / "bronze").exists()
    assert _count(migrated_db_url, "ingest_run") == 0
    _assert_absent(secret, "stdout+stderr", run.stdout + run.stderr)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "shape", ["user-password", "token-as-user", "query-key", "flag-user-password"]
)
def test_api_base_with_credentials_exits_2_and_stores_nothing(
    cli: CLI, migrated_db_url: str, tmp_path: Path, shape: str
) -> None:
    secret = "Pw+base/8c2e7a=="
    sim = SimulatorServer(SimulatorConfig(jobs=20, seed=5, auth_key=KEY))
    with sim:
        host = sim.base_url.split("://", 1)[1]
        enc = quote(secret, safe="")
        base = {
            "user-password": f"http://user:{enc}@{host}",
            "token-as-user": f"http://{enc}@{host}",
            "query-key": f"http://{host}/?apikey={enc}",
            "flag-user-password": f"http://user:{enc}@{host}",
        }[shape]
        env = _run_env(tmp_path, migrated_db_url, base)
        args = ["run"]
        if shape.startswith("flag-"):
            env["USAJOBS_API_BASE"] = sim.base_url
            args += ["--api-base", base]
        run = cli(*args, env=env, timeout=180)
        requests = sim.requests()
    _assert_absent(secret, "stdout+stderr", run.stdout + run.stderr)
    for i, body in enumerate(_bronze_texts(tmp_path / "bronze")):
        _assert_absent(secret, f"bronze object {i}", body)
    _assert_absent(secret, "the database", _database_text(migrated_db_url))
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    assert "USAJOBS_API_BASE" in run.stderr, run.stderr
    assert requests == [], "the API was called"
    assert not (tmp_path / "bronze").exists()
    assert _count(migrated_db_url, "ingest_run") == 0
    assert _count(migrated_db_url, "ingest_page") == 0


@pytest.mark.e2e
def test_db_url_with_a_crlf_line_end_works(cli: CLI, migrated_db_url: str) -> None:
    doctor = cli("doctor", env={"DB_URL": migrated_db_url + "\r\n"}, timeout=120)
    assert doctor.returncode == 0, doctor.stderr[-2000:]
    assert "database: ok" in doctor.stdout

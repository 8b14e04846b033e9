"""Database connections: TLS for remote hosts, verify-full with a CA bundle, timeouts.

`tls_conninfo` decides the TLS settings; a fake PostgreSQL server on 127.0.0.1 (it answers
the SSLRequest with 'N', "no TLS here") shows what libpq really does with them: with
``sslmode=require`` the client refuses to go on, with ``disable`` it never asks, with the
default ``prefer`` (loopback) it asks, then goes on in clear. A remote host is named with
``hostaddr=127.0.0.1`` so nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote_plus, urlsplit

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tasman_etl.config import Settings, load_settings
from tasman_etl.db.engine import open_database, tls_conninfo
from tasman_etl.errors import ConfigError, DatabaseError

SSL_REQUEST = 80877103


class FakePostgres:
    """Accepts connections; records each first message; says 'N' to SSLRequest (or nothing)."""

    def __init__(self, *, answer: bool = True) -> None:
        self.answer = answer
        self.seen: list[str] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        for _ in range(2):
            head = conn.recv(8)
            if len(head) < 8:
                return
            length, code = struct.unpack("!ii", head)
            if code == SSL_REQUEST and length == 8:
                self.seen.append("ssl-request")
                if not self.answer:
                    self._stop.wait(30)  # never answer: the client's connect timeout fires
                    return
                conn.sendall(b"N")
                continue
            self.seen.append("startup")
            return

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(5)


@pytest.fixture
def fake_pg() -> Iterator[FakePostgres]:
    server = FakePostgres()
    yield server
    server.close()


def _params(conninfo: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(conninfo).query).items()}


# --------------------------------------------------------------------------- tls_conninfo

REMOTE = "postgresql://etl:pw@db.example.internal:5432/tasman"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (REMOTE, {"sslmode": "require"}),
        ("postgresql://etl@10.0.0.5/tasman", {"sslmode": "require"}),
        ("postgresql://etl@local.example,db.example.internal/tasman", {"sslmode": "require"}),
        (REMOTE + "?sslmode=disable", {"sslmode": "disable"}),
        (REMOTE + "?sslmode=verify-ca", {"sslmode": "verify-ca"}),
        ("postgresql://postgres:@/tasman?host=/tmp/pg", {}),
        ("postgresql:///tasman", {}),
        ("postgresql://etl@localhost/tasman", {}),
        ("postgresql://etl@127.0.0.1:5433/tasman", {}),
        ("postgresql://etl@[::1]/tasman", {}),
    ],
)
def test_remote_hosts_require_tls_unless_the_url_says_otherwise(
    url: str, expected: dict[str, str]
) -> None:
    conninfo = tls_conninfo(url, environ={})
    assert {k: v for k, v in _params(conninfo).items() if k.startswith("ssl")} == expected
    assert conninfo.startswith(url)  # only appended to: user, host and password untouched


def test_a_ca_bundle_means_verify_full(tmp_path: Path) -> None:
    bundle = tmp_path / "ca bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    params = _params(tls_conninfo(REMOTE, root_cert=bundle, environ={}))
    assert params == {"sslmode": "verify-full", "sslrootcert": str(bundle)}


@pytest.mark.parametrize("weaker", ["disable", "allow", "prefer", "require", "verify-ca"])
def test_with_a_ca_bundle_the_stronger_mode_wins(tmp_path: Path, weaker: str) -> None:
    """A URL saying `?sslmode=require` (or any weaker mode) cannot switch off verification:
    DB_SSL_ROOT_CERT asks for verify-full, and the weaker mode is replaced, not kept."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    conninfo = tls_conninfo(
        f"{REMOTE}?sslmode={weaker}&connect_timeout=5", root_cert=bundle, environ={}
    )
    query = parse_qs(urlsplit(conninfo).query)
    assert query["sslmode"] == ["verify-full"], conninfo  # one value, not two
    assert query["sslrootcert"] == [str(bundle)]
    assert query["connect_timeout"] == ["5"]
    assert conninfo.startswith(REMOTE + "?")  # user, password and host untouched
    # libpq itself reads the same
    assert conninfo_to_dict(conninfo)["sslmode"] == "verify-full"
    # the environment's weaker mode loses too
    from_env = tls_conninfo(REMOTE, root_cert=bundle, environ={"PGSSLMODE": weaker})
    assert _params(from_env)["sslmode"] == "verify-full"
    assert (
        _params(tls_conninfo(REMOTE, root_cert=bundle, environ={"PGREQUIRESSL": "1"}))["sslmode"]
        == "verify-full"
    )


def test_verify_full_in_the_url_is_kept_as_written(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    url = REMOTE + "?sslmode=verify-full"
    assert tls_conninfo(url, root_cert=bundle, environ={}) == url + "&sslrootcert=" + quote_plus(
        str(bundle)
    )


def test_replacing_the_mode_keeps_a_password_with_a_question_mark(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    url = "postgresql://etl:p?ss=1&sslmode=x@db.example.internal:5432/tasman?sslmode=require"
    conninfo = tls_conninfo(url, root_cert=bundle, environ={})
    params = conninfo_to_dict(conninfo)
    assert params["password"] == "p?ss=1&sslmode=x"
    assert params["host"] == "db.example.internal"
    assert params["sslmode"] == "verify-full"
    assert conninfo.count("sslmode=") == 2  # the password's text and the new mode


def test_libpq_environment_counts_as_saying_otherwise() -> None:
    assert tls_conninfo(REMOTE, environ={"PGSSLMODE": "disable"}) == REMOTE
    assert _params(tls_conninfo("postgresql:///x", environ={"PGHOST": "db.example.internal"})) == {
        "sslmode": "require"
    }


def test_ca_bundle_setting_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_SSL_ROOT_CERT", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="DB_SSL_ROOT_CERT"):
        load_settings(_env_file=None)
    (tmp_path / "ca.pem").write_text("x")
    monkeypatch.setenv("DB_SSL_ROOT_CERT", str(tmp_path / "ca.pem"))
    assert load_settings(_env_file=None).db_ssl_root_cert == tmp_path / "ca.pem"


# --------------------------------------------------------------------------- on the wire


def _remote(port: int, extra: str = "") -> str:
    return f"postgresql://etl:pw@db.example.internal:{port}/tasman?hostaddr=127.0.0.1{extra}"


def test_remote_connection_refuses_a_server_without_tls(fake_pg: FakePostgres) -> None:
    db = open_database(
        Settings(db_url=_remote(fake_pg.port), db_connect_timeout_s=5, _env_file=None)
    )
    with pytest.raises(DatabaseError, match="SSL"):
        db.connect()
    assert fake_pg.seen == ["ssl-request"]  # asked for TLS, got 'N', sent nothing else


def test_ca_bundle_connection_refuses_a_server_without_tls(
    fake_pg: FakePostgres, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked before the server agrees to TLS")
    settings = Settings(
        db_url=_remote(fake_pg.port),
        db_ssl_root_cert=bundle,
        db_connect_timeout_s=5,
        _env_file=None,
    )
    db = open_database(settings)
    assert _params(db.conninfo)["sslmode"] == "verify-full"
    with pytest.raises(DatabaseError, match="SSL"):
        db.connect()
    assert fake_pg.seen == ["ssl-request"]


def test_the_url_may_turn_tls_off(fake_pg: FakePostgres) -> None:
    url = _remote(fake_pg.port, "&sslmode=disable")
    db = open_database(Settings(db_url=url, db_connect_timeout_s=5, _env_file=None))
    with pytest.raises(DatabaseError):
        db.connect()
    assert fake_pg.seen == ["startup"]  # straight to the startup message, in clear


def test_loopback_keeps_libpqs_default(fake_pg: FakePostgres) -> None:
    url = f"postgresql://etl:pw@127.0.0.1:{fake_pg.port}/tasman"
    db = open_database(Settings(db_url=url, db_connect_timeout_s=5, _env_file=None))
    assert db.conninfo == url
    with pytest.raises(DatabaseError):
        db.connect()
    assert fake_pg.seen == ["ssl-request", "startup"]  # prefer: tried TLS, went on without


# --------------------------------------------------------------------------- timeouts


def test_connect_timeout_applies() -> None:
    silent = FakePostgres(answer=False)
    try:
        url = f"postgresql://etl:pw@127.0.0.1:{silent.port}/tasman"
        db = open_database(Settings(db_url=url, db_connect_timeout_s=2, _env_file=None))
        with pytest.raises(DatabaseError, match=r"(?i)timeout"):
            db.connect()
        assert silent.seen == ["ssl-request"]
    finally:
        silent.close()


def test_statement_timeout_applies(migrated_db_url: str) -> None:
    settings = Settings(db_url=migrated_db_url, db_statement_timeout_s=1, _env_file=None)
    with open_database(settings) as db, db.connect(autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("1s",)
        assert conn.execute("SELECT current_setting('application_name')").fetchone() == (
            "tasman-etl",
        )
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(5)")

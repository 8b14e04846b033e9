# The backfill (backfill.tf) planned with the example variables and backfill_enabled = true
# against the REAL hashicorp/aws provider, offline, as plan.tftest.hcl does: the provider's
# schema and plan-time checks of the state machine, its log group, roles and task definition.
# The definition's content is asserted in backfill.tftest.hcl (mock provider, apply).

# Credentials: the fake AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY tests/run.sh exports.
provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    id         = "123456789012"
    user_id    = "AIDAOFFLINETEST"
  }
}

override_data {
  target = data.aws_availability_zones.available
  values = {
    names    = ["us-east-1a", "us-east-1b", "us-east-1c"]
    zone_ids = ["use1-az1", "use1-az2", "use1-az4"]
  }
}

run "example_plans_with_the_backfill_on" {
  command = plan

  variables {
    backfill_enabled = true
  }

  assert {
    condition = (
      aws_sfn_state_machine.backfill[0].name == "tasman-etl-backfill"
      && aws_sfn_state_machine.backfill[0].type == "STANDARD"
      && aws_sfn_state_machine.backfill[0].logging_configuration[0].level == "ALL"
    )
    error_message = "The state machine tasman-etl-backfill (STANDARD, full execution logging)."
  }
  assert {
    condition = (
      aws_iam_role.backfill_states[0].name == "prod-tasman-etl-us-east-1-bf-sfn"
      && aws_iam_role.backfill_task[0].name == "prod-tasman-etl-us-east-1-bf-task"
    )
    error_message = "Backfill role names follow <environment>-<name>-<region>-<role>."
  }
  assert {
    condition = (
      aws_cloudwatch_log_group.backfill[0].name == "/aws/vendedlogs/states/tasman-etl-backfill"
      && aws_cloudwatch_log_group.backfill[0].retention_in_days == var.log_retention_days
    )
    error_message = "Execution logs go to a vended-logs group with the project's retention."
  }
  assert {
    condition     = aws_ecs_task_definition.backfill[0].family == "tasman-etl-backfill" && aws_ecs_task_definition.backfill[0].cpu == "1024"
    error_message = "The backfill task definition is its own family, sized by backfill_task_cpu/memory."
  }
  # The scheduled task is what it was: the backfill adds, it does not change.
  assert {
    condition     = aws_ecs_task_definition.etl.family == "tasman-etl" && aws_scheduler_schedule.etl.state == "DISABLED"
    error_message = "Enabling the backfill must leave the scheduled task and its schedule alone."
  }
}

# The root module planned with the example variables (terraform.tfvars, copied from
# terraform.tfvars.example by tests/run.sh) against the REAL hashicorp/aws provider, offline:
# fake credentials, no credential/account/metadata checks, and the two data sources that
# would call an AWS API overridden. The provider's own schema and plan-time checks run.
#
# Values an ARN feeds are unknown at plan, so the wiring is asserted in wiring.tftest.hcl
# (mock provider, apply); this file asserts what plan knows.

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

# Item 1: the example plans a DISABLED schedule; nothing starts before the guide says so.
run "example_plans_with_the_schedule_off" {
  command = plan

  assert {
    condition     = var.schedule_enabled == false
    error_message = "terraform.tfvars.example must leave the schedule off (schedule_enabled = false)."
  }
  assert {
    condition     = aws_scheduler_schedule.etl.state == "DISABLED"
    error_message = "The schedule must be DISABLED with the example variables."
  }
  # Item 5: the deployed tag is protected by its own rule, before the "any" rule.
  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.etl.policy).rules[0].selection == {
      tagStatus      = "tagged"
      tagPatternList = [var.image_tag]
      countType      = "imageCountMoreThan"
      countNumber    = 1
    }
    error_message = "Rule 1 of the ECR lifecycle policy must keep the deployed image_tag."
  }
  assert {
    condition = [for r in jsondecode(aws_ecr_lifecycle_policy.etl.policy).rules : r.selection.tagStatus] == [
      "tagged", "untagged", "any",
    ]
    error_message = "ECR rules: protected tags first, untagged, then any (last, as ECR requires)."
  }
  # Item 2: the "no success" metric counts only complete `run`s.
  assert {
    condition     = strcontains(aws_cloudwatch_log_metric_filter.etl["run_succeeded"].pattern, "$.command = \"run\"")
    error_message = "RunsSucceeded must count only run_summary events of the `run` command."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.task_failed.name == "tasman-etl-task-failed"
    error_message = "The task-stopped rule is missing."
  }
  # Item 7: IAM names carry the environment and region.
  assert {
    condition     = aws_iam_role.execution.name == "prod-tasman-etl-us-east-1-exec"
    error_message = "IAM role names must be <environment>-<name>-<region>-<role>."
  }
  assert {
    condition     = aws_db_parameter_group.this.family == "postgres18"
    error_message = "The parameter group family must follow the engine major (postgres18)."
  }
  assert {
    condition     = aws_ecs_task_definition.etl.cpu == "1024" && aws_ecs_task_definition.etl.memory == "2048"
    error_message = "Default Fargate size: 1024 CPU units, 2048 MiB."
  }
}

# The same stack for another environment, scheduled, with a rollback tag kept: it plans, the
# schedule is ENABLED, each protected tag has its own rule, and no IAM name is shared.
run "staging_with_schedule_and_a_protected_rollback_tag" {
  command = plan

  variables {
    environment              = "staging"
    schedule_enabled         = true
    ecr_protected_image_tags = ["fedcba9876543210fedcba9876543210fedcba98"]
    github_repository        = "example/tasman-etl"
  }

  assert {
    condition     = aws_scheduler_schedule.etl.state == "ENABLED"
    error_message = "schedule_enabled = true must enable the schedule."
  }
  assert {
    condition = [for r in slice(jsondecode(aws_ecr_lifecycle_policy.etl.policy).rules, 0, 2) : r.selection.tagPatternList] == [
      [var.image_tag], ["fedcba9876543210fedcba9876543210fedcba98"],
    ]
    error_message = "Each protected tag needs a rule of its own (a tag list matches images carrying ALL its tags)."
  }
  assert {
    condition = toset([
      aws_iam_role.execution.name, aws_iam_role.admin_execution.name, aws_iam_role.task.name,
      aws_iam_role.scheduler.name, aws_iam_role.rds_monitoring[0].name, aws_iam_role.flow_logs[0].name,
      aws_iam_role.github_release[0].name,
      ]) == toset([
      "staging-tasman-etl-us-east-1-exec", "staging-tasman-etl-us-east-1-admin-exec",
      "staging-tasman-etl-us-east-1-task", "staging-tasman-etl-us-east-1-sched",
      "staging-tasman-etl-us-east-1-rdsmon", "staging-tasman-etl-us-east-1-flowlogs",
      "staging-tasman-etl-us-east-1-release",
    ])
    error_message = "Every IAM role name must carry the environment and region."
  }
}

# The wiring, after an apply against a MOCK aws provider (no AWS, every computed value made
# up): what the scheduled task's container receives is exactly what the app reads (config.py
# Settings names; tests/infra/test_terraform_tests.py checks this file's name list against
# Settings), the schedule starts that task definition, each execution role reads exactly the
# secrets injected into its task, and the failure paths reach the alarm topic.

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
run "wiring" {
  command = apply

  # Names the scheduled container receives (environment and secrets). Every one but none is a
  # config.py Settings field (upper-cased): the Python test reads this list and checks it.
  # BEGIN settings-names
  variables {
    expected_settings_names = [
      "USAJOBS_AUTH_KEY", "DB_URL", "BRONZE_S3_BUCKET", "BRONZE_S3_PREFIX", "USAJOBS_USER_AGENT",
      "LOG_FORMAT", "AWS_REGION", "TASMAN_HOME", "DB_SSL_ROOT_CERT", "REQUIRE_DB_URL",
      "KEYWORD", "LOCATION_NAME", "RADIUS_MILES",
    ]
  }
  # END settings-names

  # The scheduled container: exactly these names, secrets from Secrets Manager only.
  assert {
    condition = toset(concat(
      [for e in jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].environment : e.name],
      [for s in jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].secrets : s.name],
    )) == toset(var.expected_settings_names)
    error_message = "The scheduled container's environment and secrets must be exactly the Settings the app reads."
  }
  assert {
    condition = {
      for s in jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].secrets : s.name => s.valueFrom
      } == {
      USAJOBS_AUTH_KEY = aws_secretsmanager_secret.usajobs_auth_key.arn
      DB_URL           = aws_secretsmanager_secret.db_loader_url.arn
    }
    error_message = "Item 4: the scheduled task gets the API key and the LOADER's DB_URL, nothing else (no master password)."
  }
  # Item 3: verify-full against the bundle the image ships.
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].environment : e.name => e.value
    }["DB_SSL_ROOT_CERT"] == "/etc/ssl/rds/rds-global-bundle.pem"
    error_message = "DB_SSL_ROOT_CERT must point at the RDS CA bundle in the image."
  }
  assert {
    condition     = endswith(output.db_url_without_password, "?sslmode=verify-full") && endswith(output.db_loader_url_template, "?sslmode=verify-full")
    error_message = "The DB URLs the guide stores must ask for verify-full."
  }
  # Item 7: the container refuses to start an embedded database without DB_URL.
  assert {
    condition = {
      for e in jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].environment : e.name => e.value
    }["REQUIRE_DB_URL"] == "true"
    error_message = "REQUIRE_DB_URL=true must be set in the task definition."
  }

  # Item 4: the admin task connects as the owner (master user) and has nothing else.
  assert {
    condition = {
      for s in jsondecode(aws_ecs_task_definition.admin.container_definitions)[0].secrets : s.name => s.valueFrom
      } == {
      DB_URL     = aws_secretsmanager_secret.db_url.arn
      PGPASSWORD = "${aws_db_instance.this.master_user_secret[0].secret_arn}:password::"
    }
    error_message = "The admin task gets the owner's DB_URL and the master password only."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.admin.container_definitions)[0].command == ["tasman-etl", "migrate"]
    error_message = "The admin task runs `tasman-etl migrate` by default."
  }
  assert {
    condition     = aws_ecs_task_definition.admin.task_role_arn == null || aws_ecs_task_definition.admin.task_role_arn == ""
    error_message = "The admin task needs no task role (no bronze, no AWS API)."
  }

  # Each execution role reads exactly the secrets injected into its task.
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.execution.statement : s.resources if contains(s.actions, "secretsmanager:GetSecretValue")
      ])) == toset([
      for s in jsondecode(aws_ecs_task_definition.etl.container_definitions)[0].secrets : s.valueFrom
    ])
    error_message = "The execution role must read exactly the scheduled task's injected secrets."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.admin_execution.statement : s.resources if contains(s.actions, "secretsmanager:GetSecretValue")
      ])) == toset([
      for s in jsondecode(aws_ecs_task_definition.admin.container_definitions)[0].secrets : split(":password::", s.valueFrom)[0]
    ])
    error_message = "The admin execution role must read exactly the admin task's injected secrets."
  }
  assert {
    condition     = aws_iam_role_policy.execution.role == aws_iam_role.execution.id && aws_ecs_task_definition.etl.execution_role_arn == aws_iam_role.execution.arn
    error_message = "The scheduled task must use the execution role that carries the policy."
  }

  # The schedule starts the scheduled task definition (latest revision) on this cluster.
  assert {
    condition     = aws_scheduler_schedule.etl.target[0].arn == aws_ecs_cluster.this.arn
    error_message = "The schedule must target the cluster."
  }
  assert {
    condition     = aws_scheduler_schedule.etl.target[0].ecs_parameters[0].task_definition_arn == aws_ecs_task_definition.etl.arn_without_revision
    error_message = "The schedule must start the scheduled task definition."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.scheduler.statement : s.resources if contains(s.actions, "iam:PassRole")
    ])) == toset([aws_iam_role.execution.arn, aws_iam_role.task.arn])
    error_message = "The scheduler may pass only the scheduled task's two roles."
  }
  # Item 7: the scheduler's key use goes through SQS and Scheduler only.
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.scheduler.statement : anytrue([
        for c in s.condition : c.variable == "kms:ViaService" && c.test == "StringEquals"
      ]) if anytrue([for a in s.actions : startswith(a, "kms:")])
    ])
    error_message = "Every kms: statement of the scheduler role needs a kms:ViaService condition."
  }

  # Item 2: tasks that stop failed reach the alarm topic, which lets the rule publish.
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.task_failed.event_pattern) == {
      source        = ["aws.ecs"]
      "detail-type" = ["ECS Task State Change"]
      detail = {
        clusterArn = [aws_ecs_cluster.this.arn]
        lastStatus = ["STOPPED"]
        "$or" = [
          { stopCode = ["TaskFailedToStart"] },
          { containers = { exitCode = [{ "anything-but" = 0 }] } },
        ]
      }
    }
    error_message = "The rule must match this cluster's tasks that failed to start or exited non-zero."
  }
  assert {
    condition     = aws_cloudwatch_event_target.task_failed.arn == aws_sns_topic.alarms.arn && aws_cloudwatch_event_target.task_failed.rule == aws_cloudwatch_event_rule.task_failed.name
    error_message = "The rule must send to the alarm topic."
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.alarms_topic.statement :
      contains(s.actions, "sns:Publish") && anytrue([for p in s.principals : contains(p.identifiers, "events.amazonaws.com")])
      && anytrue([for c in s.condition : contains(c.values, aws_cloudwatch_event_rule.task_failed.arn)])
    ])
    error_message = "The topic policy must let (only) this rule publish through EventBridge."
  }
  assert {
    condition = anytrue([
      for st in jsondecode(aws_kms_key.ops.policy).Statement :
      try(st.Principal.Service, "") == "events.amazonaws.com" && contains(flatten([st.Action]), "kms:GenerateDataKey*")
    ])
    error_message = "The ops key (the topic's key) must let EventBridge encrypt messages for the topic."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.no_success.metric_name == aws_cloudwatch_log_metric_filter.etl["run_succeeded"].metric_transformation[0].name
    error_message = "The no-success alarm must watch the run-only metric."
  }
}

# Without the master password the admin task gets the owner URL only, and its role reads it only.
run "admin_without_master_password" {
  command = apply

  variables {
    db_use_master_password = false
  }

  assert {
    condition = [
      for s in jsondecode(aws_ecs_task_definition.admin.container_definitions)[0].secrets : s.name
    ] == ["DB_URL"]
    error_message = "db_use_master_password = false: no PGPASSWORD."
  }
  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.admin_execution.statement : s.resources if contains(s.actions, "secretsmanager:GetSecretValue")
    ])) == toset([aws_secretsmanager_secret.db_url.arn])
    error_message = "db_use_master_password = false: the admin role must not read the master secret."
  }
}

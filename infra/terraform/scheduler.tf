# EventBridge Scheduler starts the task on schedule_expression (UTC). The schedule is created
# DISABLED unless schedule_enabled = true: turn it on only after the image is pushed, the
# secrets hold values and a run by hand has succeeded (docs/deploy.md).
# When the RunTask call fails (throttling, no Fargate capacity, bad network config), it
# retries per retry_policy and then sends the event to an encrypted SQS dead-letter queue,
# which has its own alarm (monitoring.tf). A task that is started but fails to start its
# container (image missing, secret empty) or exits non-zero is reported by the
# task_failed EventBridge rule; a run that fails inside also trips the log-based alarms.

resource "aws_sqs_queue" "scheduler_dlq" {
  name                              = "${var.name}-scheduler-dlq"
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum
  kms_master_key_id                 = aws_kms_key.ops.arn
  kms_data_key_reuse_period_seconds = 3600
}

data "aws_iam_policy_document" "scheduler_dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.scheduler_dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "scheduler_dlq" {
  queue_url = aws_sqs_queue.scheduler_dlq.id
  policy    = data.aws_iam_policy_document.scheduler_dlq.json
}

resource "aws_scheduler_schedule" "etl" {
  name                         = "${var.name}-run"
  description                  = "Runs tasman-etl (image CMD: run) on ECS Fargate"
  group_name                   = "default"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = "UTC"
  state                        = var.schedule_enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = aws_kms_key.ops.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_ecs_cluster.this.arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      # Without the revision: each run uses the latest ACTIVE revision of the family.
      task_definition_arn     = aws_ecs_task_definition.etl.arn_without_revision
      launch_type             = "FARGATE"
      task_count              = 1
      enable_ecs_managed_tags = true
      propagate_tags          = "TASK_DEFINITION"

      network_configuration {
        subnets          = local.private_subnet_ids
        security_groups  = [aws_security_group.task.id]
        assign_public_ip = false
      }
    }

    retry_policy {
      maximum_event_age_in_seconds = var.schedule_max_event_age_seconds
      maximum_retry_attempts       = var.schedule_max_retry_attempts
    }

    dead_letter_config {
      arn = aws_sqs_queue.scheduler_dlq.arn
    }
  }
}

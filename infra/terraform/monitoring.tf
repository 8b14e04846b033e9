# Metrics from the application's JSON logs (one object per line on stderr, shipped by the
# awslogs driver), alarms on them, an EventBridge rule on tasks that stop with a failure, and
# an SNS topic that receives every alarm and every such event.
#
# Log events the app emits (names are a contract with src/tasman_etl):
#   any line            {"level": "error", ...}                      -> Errors
#   under-collection    {"event": "under_collection", ...}           -> UnderCollection
#   end of every run    {"event": "run_summary", "command": "run|load|replay",
#                        "status": "...", "complete": true|false, "items": N, ...}
#                          items = 0                                  -> ZeroItemRuns
#                          command = run, succeeded and complete      -> RunsSucceeded
#   (a manual `load` or `replay` also logs run_summary; it does not count as a fresh pull)

locals {
  log_metrics = {
    errors = {
      metric  = "Errors"
      pattern = "{ $.level = \"error\" }"
    }
    under_collection = {
      metric  = "UnderCollection"
      pattern = "{ $.event = \"under_collection\" }"
    }
    zero_items = {
      metric  = "ZeroItemRuns"
      pattern = "{ $.event = \"run_summary\" && $.items = 0 }"
    }
    run_succeeded = {
      metric  = "RunsSucceeded"
      pattern = "{ $.event = \"run_summary\" && $.command = \"run\" && $.status = \"succeeded\" && $.complete IS TRUE }"
    }
  }

  # Alarm on any occurrence within five minutes.
  occurrence_alarms = {
    errors = {
      metric      = "Errors"
      description = "tasman-etl logged at least one error (level=error). See the log group for the run_id."
    }
    under_collection = {
      metric      = "UnderCollection"
      description = "tasman-etl collected fewer jobs than the API reported (under_collection)."
    }
    zero_items = {
      metric      = "ZeroItemRuns"
      description = "A tasman-etl run finished with zero items loaded (run_summary items = 0)."
    }
  }
}

resource "aws_cloudwatch_log_metric_filter" "etl" {
  for_each = local.log_metrics

  name           = "${var.name}-${replace(each.key, "_", "-")}"
  log_group_name = aws_cloudwatch_log_group.etl.name
  pattern        = each.value.pattern

  metric_transformation {
    name      = each.value.metric
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = aws_kms_key.ops.arn
}

data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

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

  statement {
    sid       = "TheTaskStoppedRulePublishes"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.task_failed.arn]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "occurrence" {
  for_each = local.occurrence_alarms

  alarm_name          = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = local.metric_namespace
  metric_name         = each.value.metric
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  depends_on = [aws_cloudwatch_log_metric_filter.etl]
}

# "No successful run for 26 hours": hourly sums of RunsSucceeded (complete `run`s only); every one of the last 26
# hours must be below 1 (an hour with no data counts as breaching) for the alarm to fire.
# 3600 s x 26 = 93,600 s, inside CloudWatch's 7-day limit for periods of an hour or more.
resource "aws_cloudwatch_metric_alarm" "no_success" {
  alarm_name          = "${var.name}-no-successful-run"
  alarm_description   = "No tasman-etl run has succeeded and completed (run_summary command=run, status=succeeded, complete=true) in the last ${var.no_success_alarm_hours} hours. It is in ALARM from creation until the first such run."
  namespace           = local.metric_namespace
  metric_name         = "RunsSucceeded"
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.no_success_alarm_hours
  datapoints_to_alarm = var.no_success_alarm_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  depends_on = [aws_cloudwatch_log_metric_filter.etl]
}

# Scheduled invocations that EventBridge Scheduler gave up on land in the dead-letter queue.
resource "aws_cloudwatch_metric_alarm" "scheduler_dlq" {
  alarm_name          = "${var.name}-scheduler-dead-letters"
  alarm_description   = "EventBridge Scheduler could not start tasman-etl (message in ${aws_sqs_queue.scheduler_dlq.name})."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  dimensions = {
    QueueName = aws_sqs_queue.scheduler_dlq.name
  }
}

# ---------------------------------------------------------------------------------------------
# Tasks that stop with a failure
# ---------------------------------------------------------------------------------------------
# A task that never starts (image not pushed: CannotPullContainerError; a secret without a
# value: ResourceInitializationError) writes no log line, so no log alarm can see it, and the
# scheduler's dead-letter queue only catches RunTask calls that fail. ECS reports every task's
# end as an "ECS Task State Change" event: this rule sends the ones of this cluster that failed
# to start, or whose container exited non-zero, to the alarm topic, one message per task.

resource "aws_cloudwatch_event_rule" "task_failed" {
  name        = "${var.name}-task-failed"
  description = "tasman-etl task on ${var.name} stopped: failed to start, or a container exited non-zero"

  event_pattern = jsonencode({
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
  })
}

resource "aws_cloudwatch_event_target" "task_failed" {
  rule      = aws_cloudwatch_event_rule.task_failed.name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.alarms.arn

  # The message names the task, its revision, why it stopped and every container's exit code.
  input_transformer {
    input_paths = {
      task           = "$.detail.taskArn"
      taskDefinition = "$.detail.taskDefinitionArn"
      group          = "$.detail.group"
      stopCode       = "$.detail.stopCode"
      stoppedReason  = "$.detail.stoppedReason"
      containers     = "$.detail.containers"
      time           = "$.time"
    }
    input_template = <<-EOT
      {
        "alarm": "${var.name}-task-failed",
        "summary": "A tasman-etl task stopped: it failed to start or exited non-zero. Exit 1: the run finished with failures; 2: bad configuration; no exit code: it never started (see stoppedReason).",
        "time": <time>,
        "group": <group>,
        "task": <task>,
        "taskDefinition": <taskDefinition>,
        "stopCode": <stopCode>,
        "stoppedReason": <stoppedReason>,
        "containers": <containers>
      }
    EOT
  }

  # The topic policy must let this rule publish before the first event arrives.
  depends_on = [aws_sns_topic_policy.alarms]
}

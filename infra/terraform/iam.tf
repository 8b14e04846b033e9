# Four roles, each with only what it needs (names: <environment>-<name>-<region>-<role>, so
# stacks in other environments or regions of the account never collide):
#   execution role        used by ECS *before* the scheduled task starts: pull the image, create
#                         the log stream, read its two secrets (API key, loader DB URL) and inject
#                         them as environment variables.
#   admin execution role  the same for the one-off admin task: the owner's DB URL and (with
#                         db_use_master_password) the RDS-managed master password. Nothing else.
#   task role             used by the app itself: read/write bronze objects under the prefix.
#                         Nothing else: it cannot read any secret.
#   scheduler role        used by EventBridge Scheduler: run the scheduled task definition on
#                         this cluster, pass its two roles to ECS, and dead-letter failed
#                         invocations.

locals {
  # The secrets ECS injects into each container (see ecs.tf). Only the execution roles read them.
  execution_secret_arns = [
    aws_secretsmanager_secret.usajobs_auth_key.arn,
    aws_secretsmanager_secret.db_loader_url.arn,
  ]
  admin_execution_secret_arns = concat(
    [aws_secretsmanager_secret.db_url.arn],
    var.db_use_master_password ? [aws_db_instance.this.master_user_secret[0].secret_arn] : [],
  )
}

# ---------------------------------------------------------------------------------------------
# Execution role
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.iam_prefix}-exec"
  description        = "ECS execution role of the scheduled tasman-etl task: image pull, log stream, secret injection"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  lifecycle {
    precondition {
      condition     = length("${local.iam_prefix}-admin-exec") <= 64
      error_message = "IAM role names (${local.iam_prefix}-admin-exec) would exceed 64 characters: shorten name or environment."
    }
  }
}

resource "aws_iam_role" "admin_execution" {
  name               = "${local.iam_prefix}-admin-exec"
  description        = "ECS execution role of the one-off tasman-etl admin task: image pull, log stream, owner DB secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "admin_execution" {
  source_policy_documents = [data.aws_iam_policy_document.pull_and_log.json]

  statement {
    sid       = "ReadTheInjectedSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.admin_execution_secret_arns
  }

  statement {
    sid       = "DecryptTheInjectedSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.secrets.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "admin_execution" {
  name   = "pull-log-owner-secrets"
  role   = aws_iam_role.admin_execution.id
  policy = data.aws_iam_policy_document.admin_execution.json
}

# What both execution roles need before any secret: the image and the log stream.
data "aws_iam_policy_document" "pull_and_log" {
  statement {
    sid       = "EcrAuthToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # this action has no resource-level permissions
  }

  statement {
    sid = "PullTheEtlImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage",
    ]
    resources = [aws_ecr_repository.etl.arn]
  }

  statement {
    sid       = "WriteContainerLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.etl.arn}:*"]
  }
}

data "aws_iam_policy_document" "execution" {
  source_policy_documents = [data.aws_iam_policy_document.pull_and_log.json]

  statement {
    sid       = "ReadTheInjectedSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.execution_secret_arns
  }

  statement {
    sid       = "DecryptTheInjectedSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.secrets.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# ---------------------------------------------------------------------------------------------
# Task role
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "task_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "task" {
  name               = "${local.iam_prefix}-task"
  description        = "Role of the tasman-etl application: bronze objects under the prefix only"
  assume_role_policy = data.aws_iam_policy_document.task_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadWriteBronzeObjectsUnderThePrefix"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.bronze.arn}/${var.bronze_s3_prefix}/*"]
  }

  statement {
    sid       = "ListOnlyUnderThePrefix"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.bronze.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.bronze_s3_prefix, "${var.bronze_s3_prefix}/*"]
    }
  }

  # SSE-KMS: S3 calls KMS with the caller's credentials, so writing needs GenerateDataKey and
  # reading needs Decrypt on the bucket key. kms:ViaService keeps these usable only through S3.
  statement {
    sid       = "UseTheBronzeKeyThroughS3Only"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.bronze.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "bronze-prefix-only"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ---------------------------------------------------------------------------------------------
# Scheduler role
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.iam_prefix}-sched"
  description        = "EventBridge Scheduler role of tasman-etl: RunTask, PassRole, dead-letter"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunTheEtlTaskOnTheEtlCluster"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.etl.family}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  # RunTask with propagated/managed tags also needs ecs:TagResource on the new task.
  statement {
    sid       = "TagTheTasksItStarts"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "PassTheTwoTaskRolesToEcs"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.task.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "DeadLetterFailedInvocations"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.scheduler_dlq.arn]
  }

  # The dead-letter queue and the schedule are encrypted with the ops key; the key is usable
  # only through SQS and EventBridge Scheduler, not directly.
  statement {
    sid       = "UseTheOpsKeyForTheQueueAndSchedule"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.ops.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "sqs.${local.region}.amazonaws.com",
        "scheduler.${local.region}.amazonaws.com",
      ]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-task-dead-letter"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

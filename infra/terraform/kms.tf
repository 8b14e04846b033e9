# One customer managed key per purpose, so a grant on one (e.g. the task role's use of the
# bronze key) never reaches another's data. All rotate yearly. Each key policy delegates to IAM
# in this account (the account root statement); the roles in iam.tf then get exactly the key
# actions they need. Service principals that cannot use IAM roles (CloudWatch Logs,
# CloudWatch alarms and EventBridge rules publishing to SNS) are named in the ops key's policy,
# scoped to this account.

locals {
  kms_account_admin_statement = {
    Sid       = "AccountAdministersKeyThroughIam"
    Effect    = "Allow"
    Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*" # in a key policy, "*" is this key
  }

  kms_account_admin_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.kms_account_admin_statement]
  })
}

resource "aws_kms_key" "bronze" {
  description             = "${var.name}: bronze S3 bucket"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_account_admin_policy
}

resource "aws_kms_alias" "bronze" {
  name          = "alias/${var.name}-bronze"
  target_key_id = aws_kms_key.bronze.key_id
}

resource "aws_kms_key" "secrets" {
  description             = "${var.name}: Secrets Manager secrets (API key, DB URL, RDS master password)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_account_admin_policy
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_kms_key" "rds" {
  description             = "${var.name}: RDS storage, snapshots and Performance Insights"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_account_admin_policy
}

resource "aws_kms_alias" "rds" {
  name          = "alias/${var.name}-rds"
  target_key_id = aws_kms_key.rds.key_id
}

resource "aws_kms_key" "ecr" {
  description             = "${var.name}: ECR images"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_account_admin_policy
}

resource "aws_kms_alias" "ecr" {
  name          = "alias/${var.name}-ecr"
  target_key_id = aws_kms_key.ecr.key_id
}

locals {
  kms_ops_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      local.kms_account_admin_statement,
      {
        Sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        Sid       = "EventBridgePublishesTaskEventsToTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        Sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_key" "ops" {
  description             = "${var.name}: CloudWatch log groups, alarm topic, scheduler and its dead-letter queue"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = local.kms_ops_policy
}

resource "aws_kms_alias" "ops" {
  name          = "alias/${var.name}-ops"
  target_key_id = aws_kms_key.ops.key_id
}

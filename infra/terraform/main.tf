# Shared look-ups and names. Each concern lives in its own file:
#   network.tf    VPC, subnets, NAT, flow logs, security groups (or an existing VPC)
#   kms.tf        customer managed keys, one per purpose
#   s3.tf         bronze bucket
#   ecr.tf        image repository
#   secrets.tf    Secrets Manager secrets (created empty)
#   iam.tf        execution roles (scheduled and admin task), task role, scheduler role
#   ecs.tf        cluster, log group, task definitions (scheduled `run`, one-off admin)
#   scheduler.tf  EventBridge Scheduler schedule + dead-letter queue
#   rds.tf        PostgreSQL
#   monitoring.tf metric filters, alarms, SNS topic, task-stopped-with-failure rule

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two names are used (new zones get later letters), and var.availability_zones pins the zones outright; the list is never iterated whole.
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # <env>-<name>-<account>-<region>: the environment first, as the design has it; account and
  # region keep the name globally unique (ADR 0017). Objects go under layer prefixes (bronze/).
  bronze_bucket_name = coalesce(var.bronze_bucket_name, "${var.environment}-${var.name}-${local.account_id}-${local.region}")

  # Image by digest when given, else by tag; `latest` is rejected by the variable validation.
  image = (
    var.image_digest != null
    ? "${aws_ecr_repository.etl.repository_url}@${var.image_digest}"
    : "${aws_ecr_repository.etl.repository_url}:${var.image_tag}"
  )

  container_name = "tasman-etl"
  log_group_name = "/ecs/${var.name}"
  db_identifier  = "${var.name}-db"

  # IAM names are global to the account: environment and region keep two stacks of the same
  # name (prod and staging, or two regions) from claiming the same role. At most
  # 16 + 1 + 20 + 1 + 14 + 11 ("-admin-exec") = 63 characters, under IAM's 64.
  iam_prefix = "${var.environment}-${var.name}-${local.region}"

  # The Amazon RDS CA bundle the image ships (docker/Dockerfile); DB_SSL_ROOT_CERT points at it,
  # so the app connects with sslmode=verify-full.
  rds_ca_bundle_path = "/etc/ssl/rds/rds-global-bundle.pem"

  # CPU units -> memory sizes (MiB) Fargate offers for them (Linux). task_memory must be one.
  fargate_memory_options = {
    "256"   = [512, 1024, 2048]
    "512"   = range(1024, 4096 + 1, 1024)
    "1024"  = range(2048, 8192 + 1, 1024)
    "2048"  = range(4096, 16384 + 1, 1024)
    "4096"  = range(8192, 30720 + 1, 1024)
    "8192"  = range(16384, 61440 + 1, 4096)
    "16384" = range(32768, 122880 + 1, 8192)
  }

  # Namespace of the metrics the log metric filters produce.
  metric_namespace = "TasmanEtl/${var.name}"
}

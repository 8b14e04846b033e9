# Shared look-ups and names. Each concern lives in its own file:
#   network.tf    VPC, subnets, NAT, flow logs, security groups (or an existing VPC)
#   kms.tf        customer managed keys, one per purpose
#   s3.tf         bronze bucket
#   ecr.tf        image repository
#   secrets.tf    Secrets Manager secrets (created empty)
#   iam.tf        execution role, task role, scheduler role
#   ecs.tf        cluster, log group, task definition
#   scheduler.tf  EventBridge Scheduler schedule + dead-letter queue
#   rds.tf        PostgreSQL
#   monitoring.tf metric filters, alarms, SNS topic

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

  # Namespace of the metrics the log metric filters produce.
  metric_namespace = "TasmanEtl/${var.name}"
}

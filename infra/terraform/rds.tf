# PostgreSQL for silver and gold. Private (no public address, reachable on 5432 from the task's
# security group only), encrypted with its own key, TLS required, automated backups (point-in-time
# restore), deletion protection, and a master password RDS generates and keeps in Secrets
# Manager, so it never enters Terraform state.

locals {
  db_major_version = split(".", var.db_engine_version)[0]
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Private subnets of tasman-etl"
  subnet_ids  = local.private_subnet_ids
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg${local.db_major_version}-"
  family      = "postgres${local.db_major_version}"
  description = "tasman-etl: TLS only, slow-statement and DDL logging"

  # pending-reboot is accepted whether the engine treats the parameter as static or dynamic;
  # a new instance starts with it in force either way.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "1000" # ms
  }

  lifecycle {
    create_before_destroy = true
  }
}

# RDS would create these log groups itself, unencrypted and kept forever; create them first.
resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.db_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ops.arn
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  count = var.db_monitoring_interval > 0 ? 1 : 0

  name               = "${local.iam_prefix}-rdsmon"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  count = var.db_monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.rds_monitoring[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = local.db_identifier
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = var.db_username
  # RDS generates the password into a Secrets Manager secret it owns (and rotates).
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.secrets.arn
  iam_database_authentication_enabled = true

  allocated_storage     = var.db_allocated_storage_gib
  max_allocated_storage = var.db_max_allocated_storage_gib
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.rds.arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az
  port                   = 5432
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  parameter_group_name = aws_db_parameter_group.this.name

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.db_identifier}-final"
  delete_automated_backups  = false

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false

  performance_insights_enabled          = var.db_performance_insights_enabled
  performance_insights_kms_key_id       = var.db_performance_insights_enabled ? aws_kms_key.rds.arn : null
  performance_insights_retention_period = var.db_performance_insights_enabled ? 7 : null

  monitoring_interval = var.db_monitoring_interval
  monitoring_role_arn = var.db_monitoring_interval > 0 ? aws_iam_role.rds_monitoring[0].arn : null

  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]

  # Enhanced Monitoring starts with the instance: the role must already carry its policy, or
  # RDS refuses the create ("IAM role ARN value is invalid or does not include the required
  # permissions"). The log groups must exist before RDS creates its own, unencrypted.
  depends_on = [aws_cloudwatch_log_group.rds, aws_iam_role_policy_attachment.rds_monitoring]

  lifecycle {
    precondition {
      condition     = var.db_max_allocated_storage_gib == 0 || var.db_max_allocated_storage_gib >= var.db_allocated_storage_gib
      error_message = "db_max_allocated_storage_gib (${var.db_max_allocated_storage_gib}) must be 0 (no autoscaling) or at least db_allocated_storage_gib (${var.db_allocated_storage_gib})."
    }
  }
}

# The ECS cluster and the Fargate task definition the schedule runs.

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "etl" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ops.arn
}

locals {
  # Secrets ECS reads (with the execution role) and injects as environment variables. Their
  # values never appear in the task definition or in Terraform state.
  container_app_secrets = [
    { name = "USAJOBS_AUTH_KEY", valueFrom = aws_secretsmanager_secret.usajobs_auth_key.arn },
    { name = "DB_URL", valueFrom = aws_secretsmanager_secret.db_url.arn },
  ]
  # libpq reads PGPASSWORD when DB_URL has no password. The value is the `password` key of the
  # secret RDS manages and rotates, resolved afresh each time a task starts.
  container_master_password_secret = [
    { name = "PGPASSWORD", valueFrom = "${aws_db_instance.this.master_user_secret[0].secret_arn}:password::" },
  ]
  container_secrets = concat(
    local.container_app_secrets,
    var.db_use_master_password ? local.container_master_password_secret : [],
  )

  container_base_environment = [
    { name = "BRONZE_S3_BUCKET", value = aws_s3_bucket.bronze.id },
    { name = "BRONZE_S3_PREFIX", value = var.bronze_s3_prefix },
    { name = "USAJOBS_USER_AGENT", value = var.usajobs_user_agent },
    { name = "LOG_FORMAT", value = "json" },
    { name = "AWS_REGION", value = local.region },
    { name = "TASMAN_HOME", value = "/data" },
  ]
  container_environment = concat(
    local.container_base_environment,
    [for k in sort(keys(var.app_environment)) : { name = k, value = var.app_environment[k] }],
  )

  container_definition = {
    name      = local.container_name
    image     = local.image
    essential = true
    # ENTRYPOINT (tini -- tasman-etl) and CMD (run) come from the image.
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    privileged             = false
    # ECS sends SIGTERM, then SIGKILL after this many seconds (Fargate maximum: 120).
    stopTimeout = 120

    environment = local.container_environment
    secrets     = local.container_secrets

    # /data (TASMAN_HOME, TMPDIR, HOME) is task ephemeral storage; the image declares it a
    # VOLUME owned by uid 10001, so the bind mount is writable with a read-only root.
    mountPoints = [
      { sourceVolume = "data", containerPath = "/data", readOnly = false },
    ]

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.etl.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "etl"
        mode                  = "non-blocking"
        max-buffer-size       = "25m"
      }
    }
  }
}

resource "aws_ecs_task_definition" "etl" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # 20 GiB is the free default; ask for more only when configured.
  dynamic "ephemeral_storage" {
    for_each = var.task_ephemeral_storage_gib > 20 ? [var.task_ephemeral_storage_gib] : []
    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([local.container_definition])
}

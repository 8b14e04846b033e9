# The ECS cluster and two Fargate task definitions from the same image:
#   etl    (family <name>)        what the schedule runs: `tasman-etl run`, connected as the loader
#                                 login (tasman_loader: no DDL, no gold), with the USAJOBS key.
#   admin  (family <name>-admin)  one-off tasks run by hand (`tasman-etl migrate`, `jobs`, creating
#                                 the loader login), connected as the owner (the RDS master user
#                                 by default); no USAJOBS key, no bronze access.

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
  # Secrets ECS reads (with each task's execution role) and injects as environment variables.
  # Their values never appear in the task definitions or in Terraform state.
  container_app_secrets = [
    { name = "USAJOBS_AUTH_KEY", valueFrom = aws_secretsmanager_secret.usajobs_auth_key.arn },
    # The loader login's full URL, password included (docs/deploy.md, step 6).
    { name = "DB_URL", valueFrom = aws_secretsmanager_secret.db_loader_url.arn },
  ]
  container_secrets = local.container_app_secrets

  # libpq reads PGPASSWORD when DB_URL has no password. The value is the `password` key of the
  # secret RDS manages and rotates, resolved afresh each time a task starts. Admin task only.
  container_master_password_secret = [
    { name = "PGPASSWORD", valueFrom = "${aws_db_instance.this.master_user_secret[0].secret_arn}:password::" },
  ]
  admin_container_secrets = concat(
    [{ name = "DB_URL", valueFrom = aws_secretsmanager_secret.db_url.arn }],
    var.db_use_master_password ? local.container_master_password_secret : [],
  )

  # Settings both tasks share (names are config.py Settings fields, upper-cased).
  container_common_environment = [
    { name = "LOG_FORMAT", value = "json" },
    { name = "AWS_REGION", value = local.region },
    { name = "TASMAN_HOME", value = "/data" },
    # verify-full against the RDS CA bundle in the image, whatever sslmode the URL names.
    { name = "DB_SSL_ROOT_CERT", value = local.rds_ca_bundle_path },
    # No DB_URL (an empty secret, a typo): exit 2 at once instead of starting an embedded server.
    { name = "REQUIRE_DB_URL", value = "true" },
  ]
  # What only the scheduled task needs: bronze and the USAJOBS User-Agent.
  container_base_environment = [
    { name = "BRONZE_S3_BUCKET", value = aws_s3_bucket.bronze.id },
    { name = "BRONZE_S3_PREFIX", value = var.bronze_s3_prefix },
    { name = "USAJOBS_USER_AGENT", value = var.usajobs_user_agent },
  ]
  container_environment = concat(
    local.container_base_environment,
    local.container_common_environment,
    [for k in sort(keys(var.app_environment)) : { name = k, value = var.app_environment[k] }],
  )

  container_common = {
    name                   = local.container_name
    image                  = local.image
    essential              = true
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    privileged             = false
    # ECS sends SIGTERM, then SIGKILL after this many seconds (Fargate maximum: 120).
    stopTimeout = 120

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

  # ENTRYPOINT (tini -- tasman-etl) and CMD (run) come from the image.
  container_definition = merge(local.container_common, {
    environment = local.container_environment
    secrets     = local.container_secrets
  })

  # The admin task names its entry point so an override can run `tasman-etl <command>` or, to
  # create the loader login, `python -c ...` (docs/deploy.md, step 6). Default: migrate.
  admin_container_definition = merge(local.container_common, {
    entryPoint  = ["/usr/bin/tini", "--"]
    command     = ["tasman-etl", "migrate"]
    environment = local.container_common_environment
    secrets     = local.admin_container_secrets
  })
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

  lifecycle {
    precondition {
      condition     = contains(local.fargate_memory_options[tostring(var.task_cpu)], var.task_memory)
      error_message = "Fargate offers no task with task_cpu = ${var.task_cpu} and task_memory = ${var.task_memory} MiB. With ${var.task_cpu} CPU units, task_memory must be one of: ${join(", ", [for m in local.fargate_memory_options[tostring(var.task_cpu)] : tostring(m)])}."
    }
  }
}

resource "aws_ecs_task_definition" "admin" {
  family                   = "${var.name}-admin"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.admin_execution.arn
  # No task role: migrations and queries need the database only, not bronze or any AWS API.

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([local.admin_container_definition])
}

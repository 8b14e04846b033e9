output "aws_region" {
  description = "Region the stack is in."
  value       = local.region
}

output "ecr_repository_url" {
  description = "Push images here (tag = git SHA): docker push <url>:<sha>."
  value       = aws_ecr_repository.etl.repository_url
}

output "image" {
  description = "The image reference the task definition runs."
  value       = local.image
}

output "bronze_bucket_name" {
  description = "Bronze bucket (BRONZE_S3_BUCKET)."
  value       = aws_s3_bucket.bronze.id
}

output "bronze_s3_prefix" {
  description = "Bronze key prefix (BRONZE_S3_PREFIX)."
  value       = var.bronze_s3_prefix
}

output "ecs_cluster_name" {
  description = "ECS cluster name (aws ecs run-task --cluster)."
  value       = aws_ecs_cluster.this.name
}

output "task_definition_family" {
  description = "Task definition family (aws ecs run-task --task-definition runs its latest ACTIVE revision)."
  value       = aws_ecs_task_definition.etl.family
}

output "admin_task_definition_family" {
  description = "Family of the one-off admin task (owner login): migrate, jobs, creating the loader login (docs/deploy.md)."
  value       = aws_ecs_task_definition.admin.family
}

output "task_definition_arn" {
  description = "ARN of the current task definition revision."
  value       = aws_ecs_task_definition.etl.arn
}

output "container_name" {
  description = "Container name, for --overrides when running the task by hand."
  value       = local.container_name
}

output "private_subnet_ids" {
  description = "Private subnets the task runs in."
  value       = local.private_subnet_ids
}

output "task_security_group_id" {
  description = "Security group of the task."
  value       = aws_security_group.task.id
}

output "run_task_network_configuration" {
  description = "Value for `aws ecs run-task --network-configuration` (JSON)."
  value = jsonencode({
    awsvpcConfiguration = {
      subnets        = local.private_subnet_ids
      securityGroups = [aws_security_group.task.id]
      assignPublicIp = "DISABLED"
    }
  })
}

output "log_group_name" {
  description = "CloudWatch log group of the task (aws logs tail <name>)."
  value       = aws_cloudwatch_log_group.etl.name
}

output "usajobs_auth_key_secret_arn" {
  description = "Secret to fill with the USAJOBS API key (aws secretsmanager put-secret-value)."
  value       = aws_secretsmanager_secret.usajobs_auth_key.arn
}

output "db_url_secret_arn" {
  description = "Secret to fill with the admin task's DB_URL, the owner (aws secretsmanager put-secret-value)."
  value       = aws_secretsmanager_secret.db_url.arn
}

output "db_loader_url_secret_arn" {
  description = "Secret to fill with the scheduled task's DB_URL: the loader login, password included (docs/deploy.md, step 6)."
  value       = aws_secretsmanager_secret.db_loader_url.arn
}

output "db_url_without_password" {
  description = "A DB_URL for the db_url secret when db_use_master_password is true (the password arrives as PGPASSWORD). Contains no secret."
  value       = "postgresql://${var.db_username}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.db_name}?sslmode=verify-full"
}

output "db_loader_username" {
  description = "Login name of the scheduled task (member of tasman_loader)."
  value       = var.db_loader_username
}

output "db_loader_url_template" {
  description = "The loader's DB_URL with the placeholder PASSWORD where its password goes (docs/deploy.md, step 6 substitutes it). Contains no secret."
  value       = "postgresql://${var.db_loader_username}:PASSWORD@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.db_name}?sslmode=verify-full"
}

output "db_address" {
  description = "Database host name (private)."
  value       = aws_db_instance.this.address
}

output "db_master_user_secret_arn" {
  description = "Secret RDS manages for the master user (username and password keys)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm and every failed task stop notifies; subscribe more endpoints to it as needed."
  value       = aws_sns_topic.alarms.arn
}

output "scheduler_dlq_url" {
  description = "Dead-letter queue of the schedule (aws sqs receive-message --queue-url)."
  value       = aws_sqs_queue.scheduler_dlq.url
}

output "schedule_name" {
  description = "EventBridge Scheduler schedule (group \"default\")."
  value       = aws_scheduler_schedule.etl.name
}

output "github_release_role_arn" {
  description = "Role for the release workflow (GitHub variable AWS_ROLE_ARN); null unless github_repository is set."
  value       = local.github_release ? aws_iam_role.github_release[0].arn : null
}

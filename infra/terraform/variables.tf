# ---------------------------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like an AWS region name, e.g. us-east-1."
  }
}

variable "name" {
  description = "Name prefix for every resource (lower-case letters, digits and hyphens)."
  type        = string
  default     = "tasman-etl"

  # RDS identifiers and parameter groups (built from name) refuse "--" and a trailing hyphen.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must be 3-20 characters: lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen (RDS refuses \"--\")."
  }
}

variable "environment" {
  description = "Environment label, added to the default tags."
  type        = string
  default     = "prod"

  # Part of the bucket and IAM role names: no "--", no leading or trailing hyphen.
  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$", var.environment)) && !strcontains(var.environment, "--")
    error_message = "environment must be 1-16 lower-case letters, digits or single hyphens, starting and ending with a letter or digit."
  }
}

variable "tags" {
  description = "Extra tags added to every resource (merged into the provider's default_tags)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR of the VPC created when existing_vpc_id is null. Needs room for four /24 subnets."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of /20 or larger."
  }
}

variable "availability_zones" {
  description = "The two Availability Zones of the created subnets, e.g. [\"us-east-1a\", \"us-east-1b\"]. Empty: the first two available zones of the region."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) == 2
    error_message = "availability_zones must be empty or name exactly two zones."
  }
}

variable "existing_vpc_id" {
  description = "Use this VPC instead of creating one. Its private subnets (existing_private_subnet_ids) need egress to the internet (NAT) or VPC endpoints for ECR, Logs, Secrets Manager and S3."
  type        = string
  default     = null

  validation {
    condition     = var.existing_vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.existing_vpc_id))
    error_message = "existing_vpc_id must be null or a VPC id (vpc-...)."
  }
}

variable "existing_private_subnet_ids" {
  description = "Private subnets (in at least two AZs) of existing_vpc_id, for the ECS task and the database. Required when existing_vpc_id is set; ignored otherwise."
  type        = list(string)
  default     = []

  validation {
    condition = (
      length(var.existing_private_subnet_ids) == 0 ||
      (length(var.existing_private_subnet_ids) >= 2 && alltrue([for s in var.existing_private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))]))
    )
    error_message = "existing_private_subnet_ids must be empty or list at least two subnet ids (subnet-...)."
  }
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group (only when this module creates the VPC)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

# ---------------------------------------------------------------------------------------------
# Image and task
# ---------------------------------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the tasman-etl image in the ECR repository (the release workflow pushes the git SHA). Never \"latest\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && lower(var.image_tag) != "latest"
    error_message = "image_tag must be a valid Docker tag other than \"latest\" (use the git SHA the release workflow pushed)."
  }
}

variable "image_digest" {
  description = "Optional image digest (sha256:...). When set, the task runs the image by digest and image_tag is only informational."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[a-f0-9]{64}$", var.image_digest))
    error_message = "image_digest must be null or sha256: followed by 64 hex characters."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "task_memory" {
  description = "Fargate task memory in MiB. Must be a combination Fargate offers with task_cpu (checked at plan): 256 CPU: 512-2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384; 4096: 8192-30720 (steps of 1024); 8192: 16384-61440 (steps of 4096); 16384: 32768-122880 (steps of 8192)."
  type        = number
  default     = 2048

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 122880 && var.task_memory % 512 == 0
    error_message = "task_memory must be a multiple of 512 MiB between 512 and 122880."
  }
}

variable "task_ephemeral_storage_gib" {
  description = "Fargate ephemeral storage for the task in GiB (20 is the free default, up to 200). /data lives here."
  type        = number
  default     = 20

  validation {
    condition     = var.task_ephemeral_storage_gib >= 20 && var.task_ephemeral_storage_gib <= 200 && floor(var.task_ephemeral_storage_gib) == var.task_ephemeral_storage_gib
    error_message = "task_ephemeral_storage_gib must be a whole number between 20 and 200."
  }
}

variable "usajobs_user_agent" {
  description = "USAJOBS_USER_AGENT: the e-mail address registered with the USAJOBS API key."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.usajobs_user_agent))
    error_message = "usajobs_user_agent must be the e-mail address you registered with USAJOBS."
  }
}

variable "bronze_s3_prefix" {
  description = "Key prefix of bronze objects in the bucket (BRONZE_S3_PREFIX): the layer prefix bronze/, then the source. The task role may only touch keys under it."
  type        = string
  default     = "bronze/usajobs"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_=/-]*[a-z0-9]$", var.bronze_s3_prefix)) && !strcontains(var.bronze_s3_prefix, "//")
    error_message = "bronze_s3_prefix must be non-empty, without leading/trailing slashes, using a-z 0-9 _ = - and /."
  }

  # The bucket is laid out by layer (ADR 0017): bronze objects live under bronze/.
  validation {
    condition     = startswith(var.bronze_s3_prefix, "bronze/")
    error_message = "bronze_s3_prefix must start with the layer prefix \"bronze/\", e.g. bronze/usajobs."
  }
}

variable "bronze_bucket_name" {
  description = "Name of the data-lake bucket that holds bronze. Null derives \"<environment>-<name>-<account id>-<region>\" (ADR 0017). A stack created before that naming keeps its bucket by setting the old name, \"<name>-bronze-<account id>-<region>\"."
  type        = string
  default     = null

  validation {
    condition     = var.bronze_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bronze_bucket_name))
    error_message = "bronze_bucket_name must be null or a valid S3 bucket name."
  }
}

variable "bronze_glacier_ir_after_days" {
  description = "Days after which bronze objects move to S3 Glacier Instant Retrieval (the lifecycle's transition)."
  type        = number
  default     = 30

  validation {
    condition     = var.bronze_glacier_ir_after_days >= 0 && floor(var.bronze_glacier_ir_after_days) == var.bronze_glacier_ir_after_days
    error_message = "bronze_glacier_ir_after_days must be a whole number of days, 0 or more."
  }
}

variable "bronze_expire_after_days" {
  description = "Days after which bronze objects expire (are deleted); must be later than bronze_glacier_ir_after_days. Silver in PostgreSQL keeps the loaded data."
  type        = number
  default     = 180

  validation {
    condition     = var.bronze_expire_after_days >= 1 && floor(var.bronze_expire_after_days) == var.bronze_expire_after_days
    error_message = "bronze_expire_after_days must be a whole number of days, 1 or more."
  }
}

variable "app_environment" {
  description = "Extra plain (non-secret) environment variables for the container, e.g. KEYWORD, LOCATION_NAME, RADIUS_MILES, MAX_PAGES, LOG_LEVEL. Secrets must go through Secrets Manager."
  type        = map(string)
  default     = {}

  validation {
    condition = length(setintersection(
      toset([for k in keys(var.app_environment) : upper(k)]),
      toset(["USAJOBS_AUTH_KEY", "DB_URL", "PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "BRONZE_S3_BUCKET", "BRONZE_S3_PREFIX", "TASMAN_HOME"]),
    )) == 0
    error_message = "app_environment must not set secrets (USAJOBS_AUTH_KEY, DB_URL, PGPASSWORD, AWS credentials) or the variables this module sets itself (BRONZE_S3_BUCKET, BRONZE_S3_PREFIX, TASMAN_HOME)."
  }
}

variable "log_retention_days" {
  description = "Retention of the application log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------

variable "schedule_expression" {
  description = "EventBridge Scheduler expression (evaluated in UTC), e.g. \"cron(15 6 * * ? *)\" for 06:15 UTC daily or \"rate(12 hours)\"."
  type        = string
  default     = "cron(15 6 * * ? *)"

  validation {
    condition     = can(regex("^(cron\\(.+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|at\\([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\))$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...), rate(N unit) or at(yyyy-mm-ddThh:mm:ss)."
  }
}

variable "schedule_enabled" {
  description = "Whether the schedule is ENABLED (true) or DISABLED (false). Off by default: turn it on once the image is pushed, the secrets hold values and a run by hand has succeeded (docs/deploy.md, step 8)."
  type        = bool
  default     = false
}

variable "schedule_max_retry_attempts" {
  description = "How many times EventBridge Scheduler retries a failed RunTask call (0-185) before sending the event to the dead-letter queue."
  type        = number
  default     = 3

  validation {
    condition     = var.schedule_max_retry_attempts >= 0 && var.schedule_max_retry_attempts <= 185
    error_message = "schedule_max_retry_attempts must be between 0 and 185."
  }
}

variable "schedule_max_event_age_seconds" {
  description = "How long EventBridge Scheduler keeps retrying a failed invocation (60-86400 seconds)."
  type        = number
  default     = 3600

  validation {
    condition     = var.schedule_max_event_age_seconds >= 60 && var.schedule_max_event_age_seconds <= 86400
    error_message = "schedule_max_event_age_seconds must be between 60 and 86400."
  }
}

# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------

variable "db_engine_version" {
  description = "RDS PostgreSQL engine version. Major 18 matches the embedded PostgreSQL the tests run; its parameter group family is postgres18."
  type        = string
  default     = "18"

  # Every major needs a parameter group family (postgres<major>) that RDS and the provider know;
  # only the tested major is admitted, so a plan never asks for a family that does not exist.
  validation {
    condition     = can(regex("^18(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be PostgreSQL 18, e.g. \"18\" or \"18.1\" (the schema is tested on 18 and its parameter group family is postgres18)."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.small"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like db.<family>.<size>, e.g. db.t4g.small."
  }
}

variable "db_allocated_storage_gib" {
  description = "Initial gp3 storage in GiB."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage_gib >= 20 && var.db_allocated_storage_gib <= 65536
    error_message = "db_allocated_storage_gib must be between 20 and 65536."
  }
}

variable "db_max_allocated_storage_gib" {
  description = "Storage autoscaling ceiling in GiB (0 disables autoscaling). When set, at least db_allocated_storage_gib (checked at plan)."
  type        = number
  default     = 100

  validation {
    condition     = var.db_max_allocated_storage_gib == 0 || (var.db_max_allocated_storage_gib >= 20 && var.db_max_allocated_storage_gib <= 65536)
    error_message = "db_max_allocated_storage_gib must be 0 or between 20 and 65536."
  }
}

variable "db_name" {
  description = "Name of the application database."
  type        = string
  default     = "tasman"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must start with a letter and use only lower-case letters, digits and underscores (max 63)."
  }
}

variable "db_username" {
  description = "Master user name. Its password is generated and kept by RDS in Secrets Manager (never in Terraform state)."
  type        = string
  default     = "tasman"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.db_username)) && !contains(["postgres", "admin", "rdsadmin"], var.db_username)
    error_message = "db_username must be 1-16 lower-case letters, digits or underscores, start with a letter, and not be a reserved name."
  }
}

variable "db_multi_az" {
  description = "Run the database Multi-AZ (a standby in a second AZ). Set false for a cheaper non-production stack."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Automated backup retention (enables point-in-time restore). At least 7."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be between 7 and 35."
  }
}

variable "deletion_protection" {
  description = "Deletion protection on the database. Set false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bronze bucket and the ECR repository although they still hold objects and images. Keep false; set true (and apply) only to tear the stack down."
  type        = bool
  default     = false
}

variable "db_performance_insights_enabled" {
  description = "Enable Performance Insights (encrypted with the database KMS key). Not every instance class supports it."
  type        = bool
  default     = true
}

variable "db_monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds (0 disables it)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.db_monitoring_interval)
    error_message = "db_monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

variable "db_use_master_password" {
  description = "Inject the RDS-managed master password into the admin task (migrate) as PGPASSWORD (read from the secret RDS keeps and rotates), so the db_url secret can hold a URL without a password. Set false if that URL carries its own owner user and password. The scheduled task never gets it: it connects as the loader login (db_loader_url secret)."
  type        = bool
  default     = true
}

variable "db_loader_username" {
  description = "Login the scheduled task connects as: a member of tasman_loader (migration 004), created once by the operator (docs/deploy.md, step 6). Its URL, password included, goes into the db_loader_url secret."
  type        = string
  default     = "tasman_etl"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_loader_username)) && !contains(["postgres", "admin", "rdsadmin", "tasman_owner", "tasman_loader", "tasman_reader"], var.db_loader_username) && !startswith(var.db_loader_username, "rds")
    error_message = "db_loader_username must be a lower-case PostgreSQL name (letters, digits, underscores; starting with a letter), not a reserved or group role name."
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets and alarms
# ---------------------------------------------------------------------------------------------

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can be restored (0 deletes at once, 7-30 otherwise)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription e-mail AWS sends). Null: no subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be null or an e-mail address."
  }
}

variable "no_success_alarm_hours" {
  description = "Alarm when no run has succeeded for this many hours (1-168)."
  type        = number
  default     = 26

  validation {
    condition     = var.no_success_alarm_hours >= 1 && var.no_success_alarm_hours <= 168
    error_message = "no_success_alarm_hours must be between 1 and 168 (CloudWatch evaluates at most 7 days)."
  }
}

# ---------------------------------------------------------------------------------------------
# Release (GitHub Actions -> ECR)
# ---------------------------------------------------------------------------------------------

variable "ecr_protected_image_tags" {
  description = "Image tags the ECR lifecycle policy never expires, besides image_tag (always protected): e.g. the previous release, to roll back to."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.ecr_protected_image_tags) <= 10 && alltrue([for t in var.ecr_protected_image_tags : can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", t))])
    error_message = "ecr_protected_image_tags must list at most 10 valid Docker tags (no wildcards)."
  }
}

variable "ecr_keep_images" {
  description = "How many of the newest images the ECR lifecycle policy keeps (protected tags are kept on top of these)."
  type        = number
  default     = 100

  validation {
    condition     = var.ecr_keep_images >= 10 && var.ecr_keep_images <= 10000 && floor(var.ecr_keep_images) == var.ecr_keep_images
    error_message = "ecr_keep_images must be a whole number between 10 and 10000."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose release workflow may push images to ECR through OIDC. Null: no release role."
  type        = string
  default     = null

  validation {
    condition     = var.github_repository == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be null or owner/name."
  }
}

variable "github_release_ref" {
  description = "Git ref whose workflow runs may assume the release role."
  type        = string
  default     = "refs/heads/main"

  # The trust policy compares the token's sub with StringEquals, where "*" is a literal star,
  # not a wildcard: a pattern would never match. Name one exact branch or tag.
  validation {
    condition     = can(regex("^refs/(heads|tags)/[A-Za-z0-9_./-]+$", var.github_release_ref)) && !strcontains(var.github_release_ref, "..")
    error_message = "github_release_ref must name one exact ref, refs/heads/<branch> or refs/tags/<tag>, without \"*\" (the trust policy matches it with StringEquals)."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's existing GitHub OIDC provider (token.actions.githubusercontent.com). Null creates one (only one may exist per account)."
  type        = string
  default     = null

  validation {
    condition     = var.github_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be null or the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

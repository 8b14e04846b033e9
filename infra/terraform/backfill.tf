# Optional (backfill_enabled = true): a Step Functions state machine that fans a history backfill
# (issue 15) out over ECS Fargate tasks, one task per window, against the same database.
#
#   input {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "agency": [..]?, "series": [..]?}
#     or  {"run_id": "<an earlier run>"} to run every window of that run's plan again
#   run id = the execution name
#
#   Start ─▶ CheckInput ─▶ Plan ─────────────▶ Windows ───────────────▶ Finish ─▶ Verdict ─▶ Done
#                │         tasman-etl backfill   DISTRIBUTED Map over     tasman-etl      │
#                │         --plan --json         the plan object: one     backfill        └─▶ Failed
#                │         --plan-out s3://..    ECS task per window      --finish            (report
#                ▼                               (MaxConcurrency, Retry,                      location)
#             BadInput                           ToleratedFailure%, report
#                                                to backfill/reports/)
#
# The tasks run a task definition of their own, <name>-backfill: the same image, container
# name, environment, secrets and execution role as the scheduled task, a `backfill` default
# command, and a task role that adds one permission to the scheduled task's (write the plan under
# backfill/plans/). The scheduled `run` keeps its role of bronze only.
#
# Objects live in the lake bucket under backfill/ (plans/<run id>.json, reports/<run id>/<map
# run id>/{manifest,SUCCEEDED_n,FAILED_n,PENDING_n}.json), SSE-KMS with the bronze key and
# under the bucket's lifecycle (Glacier IR after 30 days, expiry after 180).

locals {
  backfill_enabled           = var.backfill_enabled
  backfill_name              = "${var.name}-backfill"
  backfill_plans_prefix      = "backfill/plans"
  backfill_reports_prefix    = "backfill/reports"
  backfill_state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.backfill_name}"
  backfill_task_arns         = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.this.name}/*"

  # The backfill container: the scheduled one (image, environment, secrets, read-only root,
  # uid 10001), its own log stream prefix, and a harmless default command (the state machine
  # always overrides it).
  backfill_container_definition = merge(local.container_definition, {
    command = ["backfill", "--help"]
    logConfiguration = merge(local.container_common.logConfiguration, {
      options = merge(local.container_common.logConfiguration.options, {
        awslogs-stream-prefix = "backfill"
      })
    })
  })

  # RunTask arguments of every state (written out in each, below). The family ARN without a revision runs the latest
  # ACTIVE revision, as the schedule does: a deploy during a long backfill moves the remaining
  # windows to the new image instead of failing them on a deregistered revision.
  backfill_task_definition = one(aws_ecs_task_definition.backfill[*].arn_without_revision)
  backfill_network_configuration = {
    AwsvpcConfiguration = {
      Subnets        = local.private_subnet_ids
      SecurityGroups = [aws_security_group.task.id]
      AssignPublicIp = "DISABLED"
    }
  }

  # Errors of the RunTask call itself: the API refused or throttled (ECS.AmazonECSException), or
  # answered with a non-empty `failures` list such as no Fargate capacity (AmazonECS.Unknown).
  # Nothing ran, so retrying is always safe.
  backfill_retry_start = {
    ErrorEquals     = ["ECS.AmazonECSException", "AmazonECS.Unknown"]
    IntervalSeconds = 30
    MaxAttempts     = 8
    BackoffRate     = 2
    MaxDelaySeconds = 600
    JitterStrategy  = "FULL"
  }

  backfill_run_id_pattern = "/^[A-Za-z0-9_.-]{1,80}$/"
  backfill_date_pattern   = "/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/"

  # The Amazon States Language definition (JSONata). Built as an object so that the tests can
  # read it from the HCL (tests/infra/test_backfill_state_machine.py) and from the applied
  # resource (tests/backfill.tftest.hcl).
  backfill_definition = {
    Comment       = "tasman-etl history backfill: plan, one ECS Fargate task per window, finish. Run id = execution name."
    QueryLanguage = "JSONata"
    StartAt       = "Start"
    States = {
      Start = {
        Type    = "Pass"
        Comment = "A fresh run is named after the execution; {\"run_id\": ...} re-runs an earlier run's plan."
        Assign = {
          runId        = "{% $exists($states.input.run_id) ? $states.input.run_id : $states.context.Execution.Name %}"
          resume       = "{% $exists($states.input.run_id) %}"
          planKey      = "{% '${local.backfill_plans_prefix}/' & ($exists($states.input.run_id) ? $states.input.run_id : $states.context.Execution.Name) & '.json' %}"
          planUri      = "{% 's3://${aws_s3_bucket.bronze.id}/${local.backfill_plans_prefix}/' & ($exists($states.input.run_id) ? $states.input.run_id : $states.context.Execution.Name) & '.json' %}"
          reportPrefix = "{% '${local.backfill_reports_prefix}/' & ($exists($states.input.run_id) ? $states.input.run_id : $states.context.Execution.Name) %}"
          report       = "{% 's3://${aws_s3_bucket.bronze.id}/${local.backfill_reports_prefix}/' & ($exists($states.input.run_id) ? $states.input.run_id : $states.context.Execution.Name) & '/' %}"
          planError    = null
          windowsError = null
          finishError  = null
        }
        Next = "CheckInput"
      }

      CheckInput = {
        Type = "Choice"
        Choices = [
          {
            Condition = "{% $resume and $type($runId) = 'string' and $contains($runId, ${local.backfill_run_id_pattern}) %}"
            Next      = "Windows"
          },
          {
            Condition = "{% $not($resume) and $contains($runId, ${local.backfill_run_id_pattern}) and $type($states.input.from) = 'string' and $contains($states.input.from, ${local.backfill_date_pattern}) and $type($states.input.to) = 'string' and $contains($states.input.to, ${local.backfill_date_pattern}) and ($not($exists($states.input.agency)) or $type($states.input.agency) in ['string', 'array']) and ($not($exists($states.input.series)) or $type($states.input.series) in ['string', 'array']) %}"
            Next      = "Plan"
          },
        ]
        Default = "BadInput"
      }

      BadInput = {
        Type  = "Fail"
        Error = "Backfill.BadInput"
        Cause = "Input must be {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\", \"agency\": [\"CODE\", ...], \"series\": [\"CODE\", ...]} (agency and series optional) or {\"run_id\": \"<earlier run>\"}; execution names and run ids may use letters, digits, '.', '_' and '-' only."
      }

      Plan = {
        Type           = "Task"
        Comment        = "tasman-etl backfill --from --to [--agency]... [--series]... --run-id RUN --plan --json --plan-out s3://.../<run>.json"
        Resource       = "arn:${local.partition}:states:::ecs:runTask.sync"
        TimeoutSeconds = 3600
        Arguments = {
          Cluster              = aws_ecs_cluster.this.arn
          TaskDefinition       = local.backfill_task_definition
          LaunchType           = "FARGATE"
          NetworkConfiguration = local.backfill_network_configuration
          PropagateTags        = "TASK_DEFINITION"
          EnableECSManagedTags = true
          Overrides = {
            ContainerOverrides = [{
              Name    = local.container_name
              Command = "{% $append($append($append(['backfill', '--from', $states.input.from, '--to', $states.input.to], $reduce($append([], $states.input.agency), function($acc, $v) { $append($acc, ['--agency', $v]) }, [])), $reduce($append([], $states.input.series), function($acc, $v) { $append($acc, ['--series', $v]) }, [])), ['--run-id', $runId, '--plan', '--json', '--plan-out', $planUri]) %}"
            }]
          }
        }
        Output = "{% {'run_id': $runId, 'plan': $planUri} %}"
        Retry = [
          local.backfill_retry_start,
          {
            # The task started and failed (could not start its container, or exited non-zero):
            # once more, in case the cause was passing (a database failover, an S3 error).
            ErrorEquals     = ["States.TaskFailed"]
            IntervalSeconds = 60
            MaxAttempts     = 1
            JitterStrategy  = "FULL"
          },
        ]
        Catch = [{
          ErrorEquals = ["States.ALL"]
          Assign      = { planError = "{% $states.errorOutput %}" }
          Next        = "PlanFailed"
        }]
        Next = "Windows"
      }

      PlanFailed = {
        Type  = "Fail"
        Error = "Backfill.PlanFailed"
        Cause = "{% 'Run ' & $runId & ': the plan task failed (' & $planError.Error & '): ' & $substring($string($planError.Cause), 0, 4000) %}"
      }

      Windows = {
        Type  = "Map"
        Label = "Windows"
        ItemReader = {
          Resource     = "arn:${local.partition}:states:::s3:getObject"
          ReaderConfig = { InputType = "JSON" }
          Arguments = {
            Bucket = aws_s3_bucket.bronze.id
            Key    = "{% $planKey %}"
          }
        }
        # Child executions cannot see this execution's variables: pass the run id along.
        ItemSelector = {
          run_id = "{% $runId %}"
          window = "{% $states.context.Map.Item.Value.id %}"
        }
        MaxConcurrency             = var.backfill_max_concurrency
        ToleratedFailurePercentage = var.backfill_tolerated_failure_percentage
        ItemProcessor = {
          ProcessorConfig = {
            Mode          = "DISTRIBUTED"
            ExecutionType = "STANDARD" # .sync tasks and hours-long windows: EXPRESS allows neither
          }
          StartAt = "Window"
          States = {
            Window = {
              Type           = "Task"
              QueryLanguage  = "JSONata"
              Comment        = "tasman-etl backfill --run-id RUN --window ID (resumable, idempotent)"
              Resource       = "arn:${local.partition}:states:::ecs:runTask.sync"
              TimeoutSeconds = var.backfill_window_timeout_seconds
              Arguments = {
                Cluster              = aws_ecs_cluster.this.arn
                TaskDefinition       = local.backfill_task_definition
                LaunchType           = "FARGATE"
                NetworkConfiguration = local.backfill_network_configuration
                PropagateTags        = "TASK_DEFINITION"
                EnableECSManagedTags = true
                Overrides = {
                  ContainerOverrides = [{
                    Name    = local.container_name
                    Command = "{% ['backfill', '--run-id', $states.input.run_id, '--window', $states.input.window] %}"
                  }]
                }
              }
              Output = "{% {'window': $states.input.window, 'task': $states.result.TaskArn, 'exit_code': $states.result.Containers[0].ExitCode} %}"
              Retry = [
                local.backfill_retry_start,
                {
                  # Exit 1 (failures, a shortfall), a task that could not start, or a timeout:
                  # re-running a window resumes it and is safe.
                  ErrorEquals     = ["States.TaskFailed", "States.Timeout"]
                  IntervalSeconds = 120
                  MaxAttempts     = 2
                  BackoffRate     = 2
                  MaxDelaySeconds = 900
                  JitterStrategy  = "FULL"
                },
              ]
              End = true
            }
          }
        }
        # The failure report: every failed window (its input, error and cause) in FAILED_n.json.
        ResultWriter = {
          Resource = "arn:${local.partition}:states:::s3:putObject"
          Arguments = {
            Bucket = aws_s3_bucket.bronze.id
            Prefix = "{% $reportPrefix %}"
          }
        }
        Assign = {
          report = "{% 's3://' & $states.result.ResultWriterDetails.Bucket & '/' & $states.result.ResultWriterDetails.Key %}"
        }
        Output = "{% {'run_id': $runId, 'map_run': $states.result.MapRunArn} %}"
        # More failures than tolerated, or the plan could not be read: still close the run.
        Catch = [{
          ErrorEquals = ["States.ALL"]
          Assign      = { windowsError = "{% $states.errorOutput %}" }
          Next        = "Finish"
        }]
        Next = "Finish"
      }

      Finish = {
        Type           = "Task"
        Comment        = "tasman-etl backfill --run-id RUN --finish (exit 1 when a window failed)"
        Resource       = "arn:${local.partition}:states:::ecs:runTask.sync"
        TimeoutSeconds = 3600
        Arguments = {
          Cluster              = aws_ecs_cluster.this.arn
          TaskDefinition       = local.backfill_task_definition
          LaunchType           = "FARGATE"
          NetworkConfiguration = local.backfill_network_configuration
          PropagateTags        = "TASK_DEFINITION"
          EnableECSManagedTags = true
          Overrides = {
            ContainerOverrides = [{
              Name    = local.container_name
              Command = "{% ['backfill', '--run-id', $runId, '--finish'] %}"
            }]
          }
        }
        Output = "{% {'run_id': $runId, 'report': $report, 'finish_exit_code': $states.result.Containers[0].ExitCode} %}"
        # Exit 1 means "a window failed", which no retry changes: only the start is retried.
        Retry = [local.backfill_retry_start]
        Catch = [{
          ErrorEquals = ["States.ALL"]
          Assign      = { finishError = "{% $states.errorOutput %}" }
          Next        = "Verdict"
        }]
        Next = "Verdict"
      }

      Verdict = {
        Type = "Choice"
        Choices = [{
          Condition = "{% $windowsError = null and $finishError = null %}"
          Next      = "Done"
        }]
        Default = "Failed"
      }

      Done = {
        Type = "Succeed"
      }

      Failed = {
        Type  = "Fail"
        Error = "{% $windowsError != null ? 'Backfill.MapRunFailed' : 'Backfill.WindowsFailed' %}"
        Cause = "{% 'Run ' & $runId & ': ' & ($windowsError != null ? 'the fan-out stopped early (' & $windowsError.Error & ')' : 'a window failed or fell short, or the run could not be closed (finish: ' & $finishError.Error & ')') & '. Failure report (FAILED_*.json beside it): ' & $report & '. Re-run a window: tasman-etl backfill --run-id ' & $runId & ' --window ID; then --finish. Or start an execution with {\"run_id\": \"' & $runId & '\"}.' %}"
      }
    }
  }
}

# ---------------------------------------------------------------------------------------------
# The backfill task: its task role and task definition
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "backfill_task" {
  count = local.backfill_enabled ? 1 : 0

  name               = "${local.iam_prefix}-bf-task"
  description        = "Role of the tasman-etl backfill tasks: bronze under its prefix, and writing backfill plans"
  assume_role_policy = data.aws_iam_policy_document.task_assume.json
}

data "aws_iam_policy_document" "backfill_task" {
  count = local.backfill_enabled ? 1 : 0

  # Everything the scheduled task may do (bronze objects under the prefix, the bronze key
  # through S3), and nothing else but the plan the state machine's ItemReader reads.
  source_policy_documents = [data.aws_iam_policy_document.task.json]

  statement {
    sid       = "WriteBackfillPlans"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.bronze.arn}/${local.backfill_plans_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "backfill_task" {
  count = local.backfill_enabled ? 1 : 0

  name   = "bronze-prefix-and-backfill-plans"
  role   = aws_iam_role.backfill_task[0].id
  policy = data.aws_iam_policy_document.backfill_task[0].json
}

resource "aws_ecs_task_definition" "backfill" {
  count = local.backfill_enabled ? 1 : 0

  family                   = local.backfill_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.backfill_task_cpu
  memory                   = var.backfill_task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.backfill_task[0].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([local.backfill_container_definition])

  lifecycle {
    precondition {
      condition     = contains(local.fargate_memory_options[tostring(var.backfill_task_cpu)], var.backfill_task_memory)
      error_message = "Fargate offers no task with backfill_task_cpu = ${var.backfill_task_cpu} and backfill_task_memory = ${var.backfill_task_memory} MiB."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# The state machine's role
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "backfill_states_assume" {
  count = local.backfill_enabled ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "backfill_states" {
  count = local.backfill_enabled ? 1 : 0

  name               = "${local.iam_prefix}-bf-sfn"
  description        = "Role of the tasman-etl backfill state machine: run the backfill task, read plans, write reports"
  assume_role_policy = data.aws_iam_policy_document.backfill_states_assume[0].json
}

data "aws_iam_policy_document" "backfill_states" {
  count = local.backfill_enabled ? 1 : 0

  statement {
    sid       = "RunTheBackfillTaskOnTheEtlCluster"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${aws_ecs_task_definition.backfill[0].family}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  # .sync polls the tasks it started and stops them when a state times out or the execution
  # is stopped. Scoped to tasks of this cluster (AWS's template uses "*").
  statement {
    sid       = "WatchAndStopTasksOnTheEtlCluster"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.backfill_task_arns]
  }

  # RunTask with PropagateTags/EnableECSManagedTags tags the new task.
  statement {
    sid       = "TagTheTasksItStarts"
    actions   = ["ecs:TagResource"]
    resources = [local.backfill_task_arns]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "PassTheBackfillTaskRolesToEcs"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.backfill_task[0].arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # The managed EventBridge rule through which .sync learns that an ECS task stopped.
  statement {
    sid       = "EcsSyncManagedRule"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForECSTaskRule"]
  }

  statement {
    sid       = "ReadThePlans"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.bronze.arn}/${local.backfill_plans_prefix}/*"]
  }

  # ResultWriter: the manifest and the SUCCEEDED/FAILED/PENDING files, multipart when large.
  statement {
    sid = "WriteTheReports"
    actions = [
      "s3:PutObject",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${aws_s3_bucket.bronze.arn}/${local.backfill_reports_prefix}/*"]
  }

  # The bucket is SSE-KMS with the bronze key: decrypt plans, encrypt reports, through S3 only.
  statement {
    sid       = "UseTheBronzeKeyThroughS3Only"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.bronze.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  # The Distributed Map runs each window as a child execution of this state machine. The ARN is
  # built from the name: the state machine itself needs this policy before it can be created.
  statement {
    sid       = "StartItsOwnChildExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.backfill_state_machine_arn]
  }

  statement {
    sid       = "WatchAndStopItsOwnChildExecutions"
    actions   = ["states:DescribeExecution", "states:StopExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.backfill_name}/*"]
  }

  # Execution logs to CloudWatch Logs go through log delivery, whose actions take no resource
  # ARN (AWS: "Resource": "*" for these).
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.backfill_tracing_enabled ? [1] : []
    content {
      sid = "SendTraces"
      actions = [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
      ]
      resources = ["*"] # X-Ray has no resource-level permissions for these
    }
  }
}

resource "aws_iam_role_policy" "backfill_states" {
  count = local.backfill_enabled ? 1 : 0

  name   = "run-backfill-tasks-plans-reports"
  role   = aws_iam_role.backfill_states[0].id
  policy = data.aws_iam_policy_document.backfill_states[0].json
}

# ---------------------------------------------------------------------------------------------
# The state machine and its log group
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "backfill" {
  count = local.backfill_enabled ? 1 : 0

  # /aws/vendedlogs/ keeps the account's CloudWatch Logs resource policy from growing.
  name              = "/aws/vendedlogs/states/${local.backfill_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.ops.arn
}

resource "aws_sfn_state_machine" "backfill" {
  count = local.backfill_enabled ? 1 : 0

  name       = local.backfill_name
  type       = "STANDARD"
  role_arn   = aws_iam_role.backfill_states[0].arn
  definition = jsonencode(local.backfill_definition)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.backfill[0].arn}:*"
    include_execution_data = true # dates, codes, run ids and task ARNs: no secret passes through
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = var.backfill_tracing_enabled
  }

  # Step Functions checks at creation that the role may deliver logs.
  depends_on = [aws_iam_role_policy.backfill_states]
}

# ---------------------------------------------------------------------------------------------
# Variables
# ---------------------------------------------------------------------------------------------

variable "backfill_enabled" {
  description = "Create the history backfill state machine (Step Functions fanning windows out over ECS Fargate tasks), its task definition and roles. Off by default."
  type        = bool
  default     = false
}

variable "backfill_max_concurrency" {
  description = "How many backfill windows run at once (the Distributed Map's MaxConcurrency): each is one Fargate task, one database connection and its own request rate against the Historic JOA API."
  type        = number
  default     = 8

  validation {
    condition     = var.backfill_max_concurrency >= 1 && var.backfill_max_concurrency <= 100 && floor(var.backfill_max_concurrency) == var.backfill_max_concurrency
    error_message = "backfill_max_concurrency must be a whole number from 1 to 100."
  }
}

variable "backfill_tolerated_failure_percentage" {
  description = "ToleratedFailurePercentage of the backfill map: the fan-out stops early only when more than this share of windows has failed (after retries). 100: every window runs whatever the others do; the execution fails at the end when any failed."
  type        = number
  default     = 100

  validation {
    condition     = var.backfill_tolerated_failure_percentage >= 0 && var.backfill_tolerated_failure_percentage <= 100
    error_message = "backfill_tolerated_failure_percentage must be between 0 and 100."
  }
}

variable "backfill_window_timeout_seconds" {
  description = "Time limit of one window's task (TimeoutSeconds); a window that exceeds it is stopped and retried, resuming where it was."
  type        = number
  default     = 14400

  validation {
    condition     = var.backfill_window_timeout_seconds >= 300 && var.backfill_window_timeout_seconds <= 86400
    error_message = "backfill_window_timeout_seconds must be between 300 and 86400."
  }
}

variable "backfill_task_cpu" {
  description = "Fargate CPU units of a backfill task (plan, window, finish)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.backfill_task_cpu)
    error_message = "backfill_task_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "backfill_task_memory" {
  description = "Fargate memory (MiB) of a backfill task; a combination Fargate offers with backfill_task_cpu (checked at plan)."
  type        = number
  default     = 2048

  validation {
    condition     = var.backfill_task_memory >= 512 && var.backfill_task_memory <= 122880 && var.backfill_task_memory % 512 == 0
    error_message = "backfill_task_memory must be a multiple of 512 MiB between 512 and 122880."
  }
}

variable "backfill_tracing_enabled" {
  description = "Send X-Ray traces of backfill executions."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Outputs (null while backfill_enabled = false)
# ---------------------------------------------------------------------------------------------

output "backfill_state_machine_arn" {
  description = "Backfill state machine (aws stepfunctions start-execution --state-machine-arn)."
  value       = one(aws_sfn_state_machine.backfill[*].arn)
}

output "backfill_task_definition_family" {
  description = "Task definition family of the backfill tasks (re-run one window by hand with aws ecs run-task)."
  value       = one(aws_ecs_task_definition.backfill[*].family)
}

output "backfill_plans_uri" {
  description = "Where each run's plan (the windows JSON array) is written: <uri><run id>.json."
  value       = local.backfill_enabled ? "s3://${aws_s3_bucket.bronze.id}/${local.backfill_plans_prefix}/" : null
}

output "backfill_reports_uri" {
  description = "Where each run's failure report is written: <uri><run id>/<map run id>/manifest.json and FAILED_n.json."
  value       = local.backfill_enabled ? "s3://${aws_s3_bucket.bronze.id}/${local.backfill_reports_prefix}/" : null
}

output "backfill_log_group_name" {
  description = "CloudWatch log group of the backfill state machine's executions (the tasks log to log_group_name, stream prefix backfill/)."
  value       = one(aws_cloudwatch_log_group.backfill[*].name)
}

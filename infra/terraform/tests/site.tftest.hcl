# The job seeker's page (site.tf), after an apply against a MOCK aws provider (no AWS, every
# computed value made up): a private bucket (public access blocked, ACLs off, SSE-KMS with its
# own key), read only by its CloudFront distribution through Origin Access Control (bucket
# policy and key policy both scoped by the distribution's ARN), HTTPS only with security
# headers, index.html at the root; a publish policy that syncs and invalidates, nothing more.
# Off by default: nothing of it exists.
#
# The mock provider and the overrides up to "Site" are those of wiring.tftest.hcl (each test
# file configures its own providers).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["us-east-1a", "us-east-1b", "us-east-1c"]
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      address = "tasman-etl-db.abcdefghijkl.us-east-1.rds.amazonaws.com"
      port    = 5432
      master_user_secret = [{
        secret_arn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0000-abcdef"
        kms_key_id    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        secret_status = "active"
      }]
    }
  }
}

# Computed values the provider validates as ARNs (a mock's random strings are refused), one
# per resource so that comparisons between them stay meaningful.

override_resource {
  target = aws_iam_role.execution
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-exec"
  }
}

override_resource {
  target = aws_iam_role.admin_execution
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-admin-exec"
  }
}

override_resource {
  target = aws_iam_role.task
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-task"
  }
}

override_resource {
  target = aws_iam_role.scheduler
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-sched"
  }
}

override_resource {
  target = aws_iam_role.rds_monitoring
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-rdsmon"
  }
}

override_resource {
  target = aws_iam_role.flow_logs
  values = {
    arn = "arn:aws:iam::123456789012:role/prod-tasman-etl-us-east-1-flowlogs"
  }
}

override_resource {
  target = aws_sns_topic.alarms
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:tasman-etl-alarms"
  }
}

override_resource {
  target = aws_sqs_queue.scheduler_dlq
  values = {
    arn  = "arn:aws:sqs:us-east-1:123456789012:tasman-etl-scheduler-dlq"
    url  = "https://sqs.us-east-1.amazonaws.com/123456789012/tasman-etl-scheduler-dlq"
    name = "tasman-etl-scheduler-dlq"
  }
}

override_resource {
  target = aws_kms_key.bronze
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001"
  }
}

override_resource {
  target = aws_kms_key.secrets
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000002"
  }
}

override_resource {
  target = aws_kms_key.rds
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000003"
  }
}

override_resource {
  target = aws_kms_key.ecr
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000004"
  }
}

override_resource {
  target = aws_kms_key.ops
  values = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000005"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.etl
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/tasman-etl"
  }
}

override_resource {
  target = aws_cloudwatch_log_group.flow_logs
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/tasman-etl/flow-logs"
  }
}

override_resource {
  target = aws_ecs_cluster.this
  values = {
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/tasman-etl"
  }
}

override_resource {
  target = aws_ecs_task_definition.etl
  values = {
    arn                  = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl:1"
    arn_without_revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl"
  }
}

override_resource {
  target = aws_ecs_task_definition.admin
  values = {
    arn                  = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-admin:1"
    arn_without_revision = "arn:aws:ecs:us-east-1:123456789012:task-definition/tasman-etl-admin"
  }
}

override_resource {
  target = aws_secretsmanager_secret.usajobs_auth_key
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tasman-etl/usajobs-auth-key-AbCdEf"
  }
}

override_resource {
  target = aws_secretsmanager_secret.db_url
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tasman-etl/db-url-AbCdEf"
  }
}

override_resource {
  target = aws_secretsmanager_secret.db_loader_url
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tasman-etl/db-loader-url-AbCdEf"
  }
}

override_resource {
  target = aws_s3_bucket.bronze
  values = {
    arn = "arn:aws:s3:::prod-tasman-etl-123456789012-us-east-1"
    id  = "prod-tasman-etl-123456789012-us-east-1"
  }
}

override_resource {
  target = aws_ecr_repository.etl
  values = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/tasman-etl"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tasman-etl"
  }
}

override_resource {
  target = aws_cloudwatch_event_rule.task_failed
  values = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/tasman-etl-task-failed"
  }
}
# Backfill

override_resource {
  target = aws_security_group.task
  values = {
    id = "sg-0123456789abcdef0"
  }
}


# Site

override_resource {
  target = aws_s3_bucket.site
  values = {
    arn                         = "arn:aws:s3:::prod-tasman-etl-site-123456789012-us-east-1"
    id                          = "prod-tasman-etl-site-123456789012-us-east-1"
    bucket_regional_domain_name = "prod-tasman-etl-site-123456789012-us-east-1.s3.us-east-1.amazonaws.com"
  }
}

override_resource {
  target = aws_kms_key.site
  values = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000006"
    key_id = "00000000-0000-0000-0000-000000000006"
  }
}

override_resource {
  target = aws_cloudfront_origin_access_control.site
  values = {
    id = "E1OACSITETEST"
  }
}

override_resource {
  target = aws_cloudfront_response_headers_policy.site
  values = {
    id = "11111111-2222-3333-4444-555555555555"
  }
}

override_resource {
  target = aws_cloudfront_distribution.site
  values = {
    arn         = "arn:aws:cloudfront::123456789012:distribution/E2SITETEST0001"
    id          = "E2SITETEST0001"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

override_resource {
  target = aws_iam_policy.site_publish
  values = {
    arn = "arn:aws:iam::123456789012:policy/prod-tasman-etl-us-east-1-site-publish"
  }
}

# Off unless asked for: nothing of the site exists.
run "site_is_off_by_default" {
  command = apply

  assert {
    condition = (
      length(aws_s3_bucket.site) == 0 && length(aws_cloudfront_distribution.site) == 0
      && length(aws_kms_key.site) == 0 && length(aws_s3_bucket_policy.site) == 0
      && length(aws_cloudfront_origin_access_control.site) == 0 && length(aws_iam_policy.site_publish) == 0
    )
    error_message = "site_enabled defaults to false: no bucket, key, distribution or policy."
  }
  assert {
    condition = (
      output.site_bucket == null && output.site_url == null
      && output.site_distribution_id == null && output.site_publish_policy_arn == null
    )
    error_message = "The site outputs are null while it is off."
  }
}

run "site_private_bucket_behind_cloudfront" {
  command = apply

  variables {
    site_enabled = true
  }

  # --- The bucket: private -----------------------------------------------------------------

  assert {
    condition     = aws_s3_bucket.site[0].bucket == "prod-tasman-etl-site-123456789012-us-east-1"
    error_message = "The bucket is <environment>-<name>-site-<account>-<region>."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.site[0].bucket == aws_s3_bucket.site[0].id
      && aws_s3_bucket_public_access_block.site[0].block_public_acls
      && aws_s3_bucket_public_access_block.site[0].block_public_policy
      && aws_s3_bucket_public_access_block.site[0].ignore_public_acls
      && aws_s3_bucket_public_access_block.site[0].restrict_public_buckets
    )
    error_message = "All four public access blocks are on for the site bucket."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.site[0].rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are off: the bucket owner owns every object."
  }
  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.site[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
      && one(aws_s3_bucket_server_side_encryption_configuration.site[0].rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.site[0].arn
      && one(aws_s3_bucket_server_side_encryption_configuration.site[0].rule).bucket_key_enabled == true
    )
    error_message = "SSE-KMS with the site's own key and a bucket key."
  }
  assert {
    condition     = aws_kms_key.site[0].enable_key_rotation && aws_kms_key.site[0].arn != aws_kms_key.bronze.arn
    error_message = "The site key is its own, and rotates."
  }

  # --- Only the distribution reads it (OAC) ----------------------------------------------------

  assert {
    condition = (
      aws_cloudfront_origin_access_control.site[0].origin_access_control_origin_type == "s3"
      && aws_cloudfront_origin_access_control.site[0].signing_behavior == "always"
      && aws_cloudfront_origin_access_control.site[0].signing_protocol == "sigv4"
    )
    error_message = "Origin Access Control signs every request to S3 (sigv4)."
  }
  assert {
    condition = (
      one(aws_cloudfront_distribution.site[0].origin).domain_name == aws_s3_bucket.site[0].bucket_regional_domain_name
      && one(aws_cloudfront_distribution.site[0].origin).origin_access_control_id == aws_cloudfront_origin_access_control.site[0].id
      && length(one(aws_cloudfront_distribution.site[0].origin).s3_origin_config) == 0
    )
    error_message = "The one origin is the bucket, reached through the OAC (no legacy OAI)."
  }
  assert {
    condition     = aws_s3_bucket_policy.site[0].bucket == aws_s3_bucket.site[0].id && aws_s3_bucket_policy.site[0].policy == data.aws_iam_policy_document.site[0].json
    error_message = "The site bucket's policy is the site policy document."
  }
  # Allow: s3:GetObject to cloudfront.amazonaws.com, only when AWS:SourceArn is this distribution.
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.site[0].statement :
      tolist(s.actions) == tolist(["s3:GetObject"])
      && tolist(s.resources) == tolist(["arn:aws:s3:::prod-tasman-etl-site-123456789012-us-east-1/*"])
      && one(s.principals).type == "Service" && tolist(one(s.principals).identifiers) == tolist(["cloudfront.amazonaws.com"])
      && one(s.condition).test == "StringEquals" && one(s.condition).variable == "AWS:SourceArn"
      && tolist(one(s.condition).values) == tolist(["arn:aws:cloudfront::123456789012:distribution/E2SITETEST0001"])
      if s.effect != "Deny"
    ]) && length([for s in data.aws_iam_policy_document.site[0].statement : s if s.effect != "Deny"]) == 1
    error_message = "The bucket policy allows one thing: GetObject by CloudFront for this distribution's ARN."
  }
  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.site[0].statement :
      s.effect == "Deny" && one(s.condition).variable == "aws:SecureTransport" && tolist(one(s.condition).values) == tolist(["false"])
    ])
    error_message = "The bucket policy denies every request without TLS."
  }
  # The key: the account (IAM) and CloudFront's Decrypt for this distribution, nothing else.
  assert {
    condition = (
      length(jsondecode(aws_kms_key.site[0].policy).Statement) == 2
      && one([
        for s in jsondecode(aws_kms_key.site[0].policy).Statement : s if try(s.Principal.Service, "") == "cloudfront.amazonaws.com"
        ]).Action == "kms:Decrypt" && one([
        for s in jsondecode(aws_kms_key.site[0].policy).Statement : s if try(s.Principal.Service, "") == "cloudfront.amazonaws.com"
      ]).Condition.StringEquals["AWS:SourceArn"] == aws_cloudfront_distribution.site[0].arn
    )
    error_message = "The key lets CloudFront decrypt only for this distribution's ARN."
  }

  # --- The distribution ------------------------------------------------------------------------

  assert {
    condition = (
      aws_cloudfront_distribution.site[0].enabled
      && aws_cloudfront_distribution.site[0].default_root_object == "index.html"
      && aws_cloudfront_distribution.site[0].price_class == "PriceClass_100"
    )
    error_message = "Enabled, index.html at the root, PriceClass_100 by default."
  }
  assert {
    condition = (
      aws_cloudfront_distribution.site[0].default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"
      && aws_cloudfront_distribution.site[0].default_cache_behavior[0].target_origin_id == one(aws_cloudfront_distribution.site[0].origin).origin_id
      && toset(aws_cloudfront_distribution.site[0].default_cache_behavior[0].allowed_methods) == toset(["GET", "HEAD"])
    )
    error_message = "Viewers are redirected to HTTPS; only GET and HEAD reach the bucket."
  }
  assert {
    condition = (
      aws_cloudfront_distribution.site[0].default_cache_behavior[0].response_headers_policy_id == aws_cloudfront_response_headers_policy.site[0].id
      && aws_cloudfront_response_headers_policy.site[0].security_headers_config[0].strict_transport_security[0].access_control_max_age_sec >= 31536000
      && aws_cloudfront_response_headers_policy.site[0].security_headers_config[0].frame_options[0].frame_option == "DENY"
    )
    error_message = "The security headers policy (HSTS a year, frames denied) is attached to the default behaviour."
  }
  assert {
    condition     = aws_cloudfront_distribution.site[0].viewer_certificate[0].cloudfront_default_certificate
    error_message = "The default *.cloudfront.net certificate."
  }

  # --- Publishing --------------------------------------------------------------------------------

  assert {
    condition = (
      aws_iam_policy.site_publish[0].name == "prod-tasman-etl-us-east-1-site-publish"
      && aws_iam_policy.site_publish[0].policy == data.aws_iam_policy_document.site_publish[0].json
    )
    error_message = "The publish policy is <prefix>-site-publish, from its document."
  }
  assert {
    condition = (
      toset(flatten([for s in data.aws_iam_policy_document.site_publish[0].statement : tolist(s.actions)]))
      == toset(["s3:ListBucket", "s3:PutObject", "s3:DeleteObject", "kms:GenerateDataKey", "kms:Decrypt", "cloudfront:CreateInvalidation"])
      && one([for s in data.aws_iam_policy_document.site_publish[0].statement : s.resources if contains(s.actions, "s3:ListBucket")])
      == toset(["arn:aws:s3:::prod-tasman-etl-site-123456789012-us-east-1"])
      && one([for s in data.aws_iam_policy_document.site_publish[0].statement : s.resources if contains(s.actions, "s3:PutObject")])
      == toset(["arn:aws:s3:::prod-tasman-etl-site-123456789012-us-east-1/*"])
      && one([for s in data.aws_iam_policy_document.site_publish[0].statement : s.resources if contains(s.actions, "kms:GenerateDataKey")])
      == toset([aws_kms_key.site[0].arn])
      && one([for s in data.aws_iam_policy_document.site_publish[0].statement : s.resources if contains(s.actions, "cloudfront:CreateInvalidation")])
      == toset([aws_cloudfront_distribution.site[0].arn])
    )
    error_message = "Publishing may list, put and delete in the site bucket, use its key, and invalidate its distribution: nothing else."
  }
  assert {
    condition = anytrue([
      for c in one([for s in data.aws_iam_policy_document.site_publish[0].statement : s if contains(s.actions, "kms:GenerateDataKey")]).condition :
      c.variable == "kms:ViaService" && tolist(c.values) == tolist(["s3.us-east-1.amazonaws.com"])
    ])
    error_message = "The site key only through S3."
  }
  # The scheduled task is what it was: the site adds, it does not change.
  assert {
    condition     = aws_iam_role_policy.task.policy == data.aws_iam_policy_document.task.json
    error_message = "Enabling the site must leave the task role alone."
  }

  assert {
    condition = (
      output.site_bucket == "prod-tasman-etl-site-123456789012-us-east-1"
      && output.site_url == "https://d111111abcdef8.cloudfront.net/"
      && output.site_distribution_id == "E2SITETEST0001"
      && output.site_publish_policy_arn == aws_iam_policy.site_publish[0].arn
    )
    error_message = "The outputs name the bucket, the HTTPS address, the distribution and the publish policy."
  }
}

run "site_price_class_is_checked" {
  command = plan

  variables {
    site_enabled     = true
    site_price_class = "PriceClass_50"
  }

  expect_failures = [var.site_price_class]
}

# 16 + 1 + 20 + "-site-" + 12 + 1 + 9 = 65 characters: refused at plan, with the way out named.
run "site_bucket_name_too_long" {
  command = plan

  variables {
    site_enabled = true
    environment  = "abcdefghijklmnop"
    name         = "abcdefghijklmnopqrst"
  }

  expect_failures = [aws_s3_bucket.site]
}

run "site_bucket_name_can_be_set" {
  command = plan

  variables {
    site_enabled     = true
    environment      = "abcdefghijklmnop"
    name             = "abcdefghijklmnopqrst"
    site_bucket_name = "jobs-page-example"
  }

  assert {
    condition     = aws_s3_bucket.site[0].bucket == "jobs-page-example"
    error_message = "site_bucket_name replaces the derived name."
  }
}

# The job seeker's page (site.tf) planned with the example variables and site_enabled = true
# against the REAL hashicorp/aws provider, offline, as plan.tftest.hcl does: the provider's
# schema and plan-time checks of the bucket, key, origin access control, headers policy,
# distribution and publish policy. The wiring (ARNs, policies) is asserted in site.tftest.hcl
# (mock provider, apply).

# Credentials: the fake AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY tests/run.sh exports.
provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    id         = "123456789012"
    user_id    = "AIDAOFFLINETEST"
  }
}

override_data {
  target = data.aws_availability_zones.available
  values = {
    names    = ["us-east-1a", "us-east-1b", "us-east-1c"]
    zone_ids = ["use1-az1", "use1-az2", "use1-az4"]
  }
}

run "example_plans_with_the_site_on" {
  command = plan

  variables {
    site_enabled = true
  }

  assert {
    condition = (
      aws_s3_bucket.site[0].bucket == "prod-tasman-etl-site-123456789012-us-east-1"
      && aws_s3_bucket.site[0].force_destroy == true
    )
    error_message = "The bucket is <environment>-<name>-site-<account>-<region>, rebuilt at will."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.site[0].block_public_acls
      && aws_s3_bucket_public_access_block.site[0].block_public_policy
      && aws_s3_bucket_public_access_block.site[0].ignore_public_acls
      && aws_s3_bucket_public_access_block.site[0].restrict_public_buckets
    )
    error_message = "All four public access blocks are on."
  }
  assert {
    condition = (
      aws_cloudfront_origin_access_control.site[0].name == "tasman-etl-prod-site"
      && aws_cloudfront_origin_access_control.site[0].origin_access_control_origin_type == "s3"
      && aws_cloudfront_origin_access_control.site[0].signing_behavior == "always"
    )
    error_message = "An S3 Origin Access Control that signs every request."
  }
  assert {
    condition = (
      aws_cloudfront_distribution.site[0].default_root_object == "index.html"
      && aws_cloudfront_distribution.site[0].default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"
      && aws_cloudfront_distribution.site[0].price_class == "PriceClass_100"
      && aws_cloudfront_distribution.site[0].viewer_certificate[0].cloudfront_default_certificate
    )
    error_message = "index.html at the root, HTTPS only, PriceClass_100, the default certificate."
  }
  assert {
    condition     = aws_kms_key.site[0].enable_key_rotation && aws_kms_alias.site[0].name == "alias/tasman-etl-site"
    error_message = "The site's own key, rotating, alias/<name>-site."
  }
  assert {
    condition     = aws_iam_policy.site_publish[0].name == "prod-tasman-etl-us-east-1-site-publish"
    error_message = "The publish policy follows <environment>-<name>-<region>-<role>."
  }
  # The rest is what it was: the site adds, it does not change.
  assert {
    condition     = aws_ecs_task_definition.etl.family == "tasman-etl" && aws_scheduler_schedule.etl.state == "DISABLED"
    error_message = "Enabling the site must leave the scheduled task and its schedule alone."
  }
}

run "example_plans_without_the_site" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket.site) == 0 && length(aws_cloudfront_distribution.site) == 0 && length(aws_kms_key.site) == 0
    error_message = "site_enabled = false in the example: nothing of the site is planned."
  }
}

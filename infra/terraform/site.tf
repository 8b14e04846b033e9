# Optional (site_enabled = true): the job seeker's page (`tasman-etl site DIR`, issue 18) served
# from a private S3 bucket behind CloudFront. Off by default: nothing below is created.
#
#   browser ─▶ CloudFront (HTTPS only, default certificate, security headers) ─▶ S3 bucket
#              (private: public access blocked, bucket-owner objects, SSE-KMS with its own key,
#              TLS only; readable only by this distribution through Origin Access Control)
#
# Publishing is a build, a sync and an invalidation, run from a machine that reaches the
# database (docs/deploy.md, "Publishing the job seeker's page"): the scheduled task cannot do
# it (its loader login has no gold, and the image has no AWS CLI). The `<prefix>-site-publish`
# policy below holds exactly what that machine's role needs. The page is static: no server, no
# API; it makes no request outside its own files unless it was built with --tiles.
#
# checkov: the 10 skips below are what an optional public page accepts (no WAF, no log bucket
# in this project, the default certificate, one origin, no geo restriction, no replica, no
# event consumer); each has its reason inline. .ci/static.sh scans this file with
# site_enabled = true, and tests/infra/test_terraform.py counts the skips.

variable "site_enabled" {
  description = "Create the private S3 bucket, its KMS key and the CloudFront distribution that serve the job seeker's page."
  type        = bool
  default     = false
}

variable "site_price_class" {
  description = "CloudFront price class of the page's distribution (PriceClass_100: North America and Europe edges)."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.site_price_class)
    error_message = "site_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "site_bucket_name" {
  description = "Name of the page's bucket. Null (default) derives <environment>-<name>-site-<account>-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.site_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.site_bucket_name))
    error_message = "site_bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)."
  }
}

locals {
  site_count       = var.site_enabled ? 1 : 0
  site_bucket_name = coalesce(var.site_bucket_name, "${var.environment}-${var.name}-site-${local.account_id}-${local.region}")
}

# --- Key: SSE-KMS that CloudFront can read -----------------------------------------------------

# Its own key (kms.tf: one key per purpose). Besides the account (IAM delegation, as every key
# here), only CloudFront may decrypt, and only for this distribution (AWS:SourceArn): the OAC
# grant of the bucket policy, repeated on the key. The publisher encrypts through IAM
# (aws_iam_policy.site_publish).
resource "aws_kms_key" "site" {
  count                   = local.site_count
  description             = "${var.name}: the job seeker's page (S3 bucket read by CloudFront)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      local.kms_account_admin_statement,
      {
        Sid       = "CloudFrontDecryptsForThisDistributionOnly"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = "kms:Decrypt"
        Resource  = "*" # in a key policy, "*" is this key
        Condition = {
          StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.site[0].arn }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "site" {
  count         = local.site_count
  name          = "alias/${var.name}-site"
  target_key_id = aws_kms_key.site[0].key_id
}

# --- Bucket ------------------------------------------------------------------------------------

resource "aws_s3_bucket" "site" {
  count = local.site_count
  #checkov:skip=CKV_AWS_18:No log bucket in this project: bronze is SSE-KMS (access logs need SSE-S3 targets); reads come only from CloudFront.
  #checkov:skip=CKV_AWS_144:A page rebuilt from the database by `tasman-etl site` at any time: a second-region copy recovers nothing.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: publishing is a sync and an invalidation, nothing reacts to uploads.
  bucket        = local.site_bucket_name
  force_destroy = true # the content is rebuilt from the database at any time

  lifecycle {
    precondition {
      condition     = length(local.site_bucket_name) <= 63
      error_message = "The derived site bucket name \"${local.site_bucket_name}\" is longer than 63 characters: shorten name or environment, or set site_bucket_name."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "site" {
  count  = local.site_count
  bucket = aws_s3_bucket.site[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "site" {
  count  = local.site_count
  bucket = aws_s3_bucket.site[0].id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off
  }
}

resource "aws_s3_bucket_versioning" "site" {
  count  = local.site_count
  bucket = aws_s3_bucket.site[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  count  = local.site_count
  bucket = aws_s3_bucket.site[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.site[0].arn
    }
    bucket_key_enabled = true # one data key per bucket: CloudFront misses cost no KMS call each
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "site" {
  count  = local.site_count
  bucket = aws_s3_bucket.site[0].id

  rule {
    id     = "old-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expired-object-delete-markers"
    status = "Enabled"

    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.site]
}

# --- CloudFront --------------------------------------------------------------------------------

resource "aws_cloudfront_origin_access_control" "site" {
  count                             = local.site_count
  name                              = "${var.name}-${var.environment}-site"
  description                       = "The job seeker's page: CloudFront reads the private bucket."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "site" {
  count = local.site_count
  name  = "${var.name}-${var.environment}-site"

  security_headers_config {
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    # preload only states consent: it has no effect until a domain is submitted to the
    # browsers' preload list, which the default *.cloudfront.net name never is.
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

resource "aws_cloudfront_distribution" "site" {
  count = local.site_count
  #checkov:skip=CKV_AWS_68:A static page of public job announcements with no forms or API: a WAF web ACL (billed monthly) is the operator's choice.
  #checkov:skip=CKV2_AWS_47:No WAF web ACL at all (see CKV_AWS_68), so no Log4j managed rule either; nothing here runs Java.
  #checkov:skip=CKV_AWS_86:Standard logs need an ACL-enabled log bucket, which this project does not keep (bronze is BucketOwnerEnforced).
  #checkov:skip=CKV_AWS_310:One origin: a failover origin means a second bucket kept in sync, for a page rebuilt at any time.
  #checkov:skip=CKV_AWS_374:No geo restriction: federal job announcements are public, and applicants may be abroad.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate, where CloudFront fixes the TLS policy itself; a custom domain is the operator's.
  #checkov:skip=CKV2_AWS_42:The default *.cloudfront.net certificate (see CKV_AWS_174); an ACM certificate needs a domain this module does not own.
  enabled             = true
  comment             = "${var.name} ${var.environment}: the job seeker's page"
  default_root_object = "index.html"
  price_class         = var.site_price_class
  http_version        = "http2and3"
  is_ipv6_enabled     = true

  origin {
    domain_name              = aws_s3_bucket.site[0].bucket_regional_domain_name
    origin_id                = "site"
    origin_access_control_id = aws_cloudfront_origin_access_control.site[0].id
  }

  default_cache_behavior {
    target_origin_id           = "site"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = "658327ea-f89d-4fab-a63d-7e88639e58f6" # Managed-CachingOptimized
    response_headers_policy_id = aws_cloudfront_response_headers_policy.site[0].id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

# --- Bucket policy: this distribution reads, nothing without TLS ------------------------------

data "aws_iam_policy_document" "site" {
  count = local.site_count

  statement {
    sid       = "CloudFrontReadsThroughOac"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site[0].arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.site[0].arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.site[0].arn,
      "${aws_s3_bucket.site[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "site" {
  count  = local.site_count
  bucket = aws_s3_bucket.site[0].id
  policy = data.aws_iam_policy_document.site[0].json

  # Put the public access block in place first so the policy can never be public, even briefly.
  depends_on = [aws_s3_bucket_public_access_block.site]
}

# --- Publishing: what the publishing machine's role needs, attached by the operator ----------

# `aws s3 sync --delete` lists the bucket and puts and deletes objects (SSE-KMS: a data key for
# each put, Decrypt for multipart uploads); `aws cloudfront create-invalidation` on this
# distribution. Nothing else: no reads of objects, no bucket settings.
data "aws_iam_policy_document" "site_publish" {
  count = local.site_count

  statement {
    sid       = "ListTheSiteBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.site[0].arn]
  }

  statement {
    sid       = "PutAndDeletePageObjects"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.site[0].arn}/*"]
  }

  statement {
    sid       = "SiteKeyThroughS3Only"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.site[0].arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "InvalidateThisDistribution"
    actions   = ["cloudfront:CreateInvalidation"]
    resources = [aws_cloudfront_distribution.site[0].arn]
  }
}

resource "aws_iam_policy" "site_publish" {
  count       = local.site_count
  name        = "${local.iam_prefix}-site-publish"
  description = "Publish the job seeker's page: sync the site bucket and invalidate its distribution."
  policy      = data.aws_iam_policy_document.site_publish[0].json
}

# --- Outputs -----------------------------------------------------------------------------------

output "site_bucket" {
  description = "S3 bucket the job seeker's page is published to (null unless site_enabled)."
  value       = one(aws_s3_bucket.site[*].bucket)
}

output "site_url" {
  description = "HTTPS address of the job seeker's page (null unless site_enabled)."
  value       = var.site_enabled ? "https://${aws_cloudfront_distribution.site[0].domain_name}/" : null
}

output "site_distribution_id" {
  description = "CloudFront distribution id, for the invalidation after a publish (null unless site_enabled)."
  value       = one(aws_cloudfront_distribution.site[*].id)
}

output "site_publish_policy_arn" {
  description = "IAM policy to attach to the role or user that publishes the page (null unless site_enabled)."
  value       = one(aws_iam_policy.site_publish[*].arn)
}

# The environment's data-lake bucket, laid out by layer prefix (ADR 0017). It holds bronze
# (under var.bronze_s3_prefix, bronze/usajobs): every API page as received (gzipped JSON
# envelope), written once by the task. Silver and gold live in PostgreSQL, not here.
# Private, SSE-KMS with a customer managed key, versioned, TLS only, and aged out by lifecycle:
# Glacier Instant Retrieval after var.bronze_glacier_ir_after_days (30), deleted after
# var.bronze_expire_after_days (180).

resource "aws_s3_bucket" "bronze" {
  #checkov:skip=CKV_AWS_144:Bronze is a 180-day raw cache whose content is also loaded into silver (RDS, with backups and PITR); a second-region copy would double storage cost for no recovery need of this tool.
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket per deployment; object-level auditing is left to an account-wide CloudTrail data-event trail.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bronze events; the run ledger in PostgreSQL records every object written.
  bucket = local.bronze_bucket_name

  # false protects a bucket that still holds objects from `terraform destroy` (docs/deploy.md).
  force_destroy = var.force_destroy

  lifecycle {
    precondition {
      condition     = length(local.bronze_bucket_name) <= 63
      error_message = "The derived bucket name \"${local.bronze_bucket_name}\" is longer than 63 characters: shorten name or environment, or set bronze_bucket_name."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "bronze" {
  bucket = aws_s3_bucket.bronze.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "bronze" {
  bucket = aws_s3_bucket.bronze.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off
  }
}

resource "aws_s3_bucket_versioning" "bronze" {
  bucket = aws_s3_bucket.bronze.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bronze" {
  bucket = aws_s3_bucket.bronze.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.bronze.arn
    }
    bucket_key_enabled = true # one data key per bucket, not per object: far fewer KMS calls
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "bronze" {
  bucket = aws_s3_bucket.bronze.id

  rule {
    id     = "bronze-retention"
    status = "Enabled"

    filter {}

    transition {
      days          = var.bronze_glacier_ir_after_days
      storage_class = "GLACIER_IR"
    }

    expiration {
      days = var.bronze_expire_after_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
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

  depends_on = [aws_s3_bucket_versioning.bronze]

  lifecycle {
    precondition {
      condition     = var.bronze_expire_after_days > var.bronze_glacier_ir_after_days
      error_message = "bronze_expire_after_days must be later than bronze_glacier_ir_after_days."
    }
  }
}

data "aws_iam_policy_document" "bronze_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.bronze.arn,
      "${aws_s3_bucket.bronze.arn}/*",
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

resource "aws_s3_bucket_policy" "bronze" {
  bucket = aws_s3_bucket.bronze.id
  policy = data.aws_iam_policy_document.bronze_bucket.json

  # Put the public access block in place first so the policy can never be public, even briefly.
  depends_on = [aws_s3_bucket_public_access_block.bronze]
}

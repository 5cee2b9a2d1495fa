# The same hardened backend revive-deploy creates when it finds none: a private, versioned, encrypted,
# TLS-only S3 bucket for the state and an on-demand DynamoDB table for the locks.

locals {
  state_bucket = var.state_bucket != "" ? var.state_bucket : "${var.project}-terraform-state-${data.aws_caller_identity.current.account_id}"
  lock_table   = var.lock_table != "" ? var.lock_table : "${var.project}-terraform-locks"
  use_kms      = var.state_kms_key_id != ""

  tags = {
    Project   = var.project
    ManagedBy = "revive-deploy"
    Purpose   = "terraform-state"
  }
}

resource "aws_s3_bucket" "state" {
  bucket = local.state_bucket
  tags   = local.tags

  # Losing this bucket loses every stack's state. Remove this line only to retire the backend.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = local.use_kms ? var.state_kms_key_id : null
    }
    bucket_key_enabled = local.use_kms ? true : null
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "state_tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

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

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_tls_only.json

  # One bucket-level write at a time: S3 can refuse a policy written while the access block changes.
  depends_on = [aws_s3_bucket_public_access_block.state]
}

resource "aws_dynamodb_table" "locks" {
  name         = local.lock_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = local.tags

  lifecycle {
    prevent_destroy = true
  }
}

variable "project" {
  description = "The project name revive-deploy uses (its `project` input; by default the repository name, lowercased)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.project))
    error_message = "project must be lowercase letters, digits, dots and hyphens, as in an S3 bucket name."
  }
}

variable "aws_region" {
  description = "Region of the bucket and the table. null: from AWS_REGION / AWS_DEFAULT_REGION / the profile."
  type        = string
  default     = null
}

variable "state_bucket" {
  description = "State bucket name (the action's `state-bucket`). Empty: <project>-terraform-state-<account id>."
  type        = string
  default     = ""
}

variable "lock_table" {
  description = "Lock table name (the action's `lock-table`). Empty: <project>-terraform-locks."
  type        = string
  default     = ""
}

variable "state_kms_key_id" {
  description = "KMS key (id, ARN or alias ARN) for the bucket's default encryption (the action's `state-kms-key-id`). Empty: SSE-S3."
  type        = string
  default     = ""
}

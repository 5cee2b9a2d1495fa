variable "project" {
  description = "Short project name, used as a prefix for every resource name."
  type        = string
  default     = "revive"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project))
    error_message = "project must be 3-32 characters of lowercase letters, digits and hyphens."
  }
}

variable "environment" {
  description = "Deployment environment (production, staging, ...)."
  type        = string
  default     = "production"
}

variable "aws_region" {
  description = "Region the stack would live in; only used to shape the demo's URLs and ARNs."
  type        = string
  default     = "us-east-1"
}

variable "app_version" {
  description = "Version of the function code. Changing it updates the 7 functions in place."
  type        = string
  default     = "1.0.0"
}

variable "lambda_runtime" {
  description = "Runtime of every function."
  type        = string
  default     = "nodejs20.x"
}

variable "sync_schedule" {
  description = "EventBridge schedule of the shop-sync function."
  type        = string
  default     = "rate(15 minutes)"
}

variable "frontend_bucket" {
  description = "Name of the S3 bucket that serves the frontend (the frontend_bucket output)."
  type        = string
  default     = "revive-demo-site"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.frontend_bucket)) && !can(regex("\\.\\.", var.frontend_bucket))
    error_message = "frontend_bucket must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens."
  }
}

variable "cloudfront_distribution_id" {
  description = "Id of the CloudFront distribution in front of the site bucket (the cloudfront_distribution_id output)."
  type        = string
  default     = "EDEMO1234567"

  validation {
    condition     = can(regex("^E[A-Z0-9]{5,20}$", var.cloudfront_distribution_id))
    error_message = "cloudfront_distribution_id must look like a CloudFront id: E followed by uppercase letters and digits."
  }
}

variable "site_url" {
  description = "Overrides the site_url output (for example a local server in the demo). Empty: the distribution's https URL."
  type        = string
  default     = ""
}

variable "api_url" {
  description = "Overrides the api_url output (for example a local server in the demo). Empty: the API stage's invoke URL."
  type        = string
  default     = ""
}

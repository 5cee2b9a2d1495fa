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
  description = "Region of the stack. CloudFront is global; everything else lives here."
  type        = string
  default     = "us-east-1"
}

variable "lambda_package" {
  description = "Path (relative to this directory) of the zip holding every function's code: <function>/index.js, built by your pipeline before terraform plan."
  type        = string
  default     = "build/functions.zip"
}

variable "lambda_runtime" {
  description = "Runtime of every function."
  type        = string
  default     = "nodejs20.x"
}

variable "log_retention_days" {
  description = "How long the functions' CloudWatch logs are kept."
  type        = number
  default     = 30
}

variable "sync_schedule" {
  description = "EventBridge schedule expression of the shop-sync function."
  type        = string
  default     = "rate(15 minutes)"
}

variable "site_bucket_name" {
  description = "Name of the site bucket. Empty: <project>-<environment>-site-<account id>."
  type        = string
  default     = ""
}

variable "extra_cors_origins" {
  description = "Origins allowed to call the API besides the CloudFront site (e.g. http://localhost:5173 for development)."
  type        = list(string)
  default     = []
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

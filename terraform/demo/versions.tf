# The demo stack needs no provider: every resource is Terraform's built-in terraform_data, so
# `terraform init` works offline. The shape (and the outputs) match ../example, which is the real AWS
# version of the same application.
terraform {
  required_version = ">= 1.5.0"

  # Empty on purpose: revive-deploy supplies bucket, key, region, lock table and encryption with
  # -backend-config at init time.
  backend "s3" {}
}

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # No backend block: this module's own state is local (terraform.tfstate beside these files) until
  # you move it into the bucket it creates. See README.md.
}

provider "aws" {
  # null: the provider reads AWS_REGION / AWS_DEFAULT_REGION / the profile, like revive-deploy does.
  region = var.aws_region
}

data "aws_caller_identity" "current" {}

# The outputs revive-deploy picks up by convention.

output "frontend_bucket" {
  description = "S3 bucket the built frontend is synced to."
  value       = terraform_data.site_bucket.input.bucket
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution invalidated after a sync."
  value       = terraform_data.distribution.input.id
}

output "site_url" {
  description = "Public URL of the site."
  value       = var.site_url != "" ? var.site_url : "https://${terraform_data.distribution.input.domain_name}"
}

output "api_url" {
  description = "Base URL of the HTTP API; hand it to the build with build-env: VITE_API_URL=api_url."
  value       = var.api_url != "" ? var.api_url : terraform_data.stage.input.invoke_url
}

# Other outputs a real stack would have.

output "function_names" {
  description = "Function names by key."
  value       = { for k, f in terraform_data.function : k => f.input.name }
}

output "table_names" {
  description = "Table names by key."
  value       = { for k, t in terraform_data.table : k => t.input.name }
}

output "webhook_api_key" {
  description = "Key for server-to-server callers. Sensitive: revive-deploy masks it and leaves it out of terraform-outputs."
  value       = "rk_${substr(sha256("${terraform_data.api_key.id}/${terraform_data.api_key.input.name}"), 0, 40)}"
  sensitive   = true
}

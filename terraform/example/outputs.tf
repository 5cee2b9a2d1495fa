# The outputs revive-deploy picks up by convention.

output "frontend_bucket" {
  description = "S3 bucket the built frontend is synced to."
  value       = aws_s3_bucket.site.id
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution invalidated after a sync."
  value       = aws_cloudfront_distribution.site.id
}

output "site_url" {
  description = "Public URL of the site."
  value       = "https://${aws_cloudfront_distribution.site.domain_name}"
}

output "api_url" {
  description = "Base URL of the HTTP API; hand it to the build with build-env: VITE_API_URL=api_url."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "function_names" {
  description = "Function names by key."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "table_names" {
  description = "Table names by key."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

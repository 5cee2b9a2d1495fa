output "state_bucket" {
  description = "State bucket name: the action's `state-bucket` (the default needs no input)."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_arn" {
  description = "State bucket ARN, for IAM policies of the deploy role."
  value       = aws_s3_bucket.state.arn
}

output "lock_table" {
  description = "Lock table name: the action's `lock-table` (the default needs no input)."
  value       = aws_dynamodb_table.locks.name
}

output "lock_table_arn" {
  description = "Lock table ARN, for IAM policies of the deploy role."
  value       = aws_dynamodb_table.locks.arn
}

output "region" {
  description = "Region of the bucket and the table."
  value       = aws_s3_bucket.state.region
}

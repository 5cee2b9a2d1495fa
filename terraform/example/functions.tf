# Lambda: one execution role for all seven functions, basic execution (logs) plus access to the tables.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.prefix}-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy_attachment" "lambda_basic" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "aws_iam_policy_document" "lambda_tables" {
  statement {
    sid = "Tables"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = flatten([
      for t in aws_dynamodb_table.this : [t.arn, "${t.arn}/index/*"]
    ])
  }
}

resource "aws_iam_role_policy" "lambda_tables" {
  name   = "tables"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda_tables.json
}

# Created before the functions so Terraform, not Lambda, owns the log groups (and their retention).
resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${local.prefix}-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name    = "${local.prefix}-${each.key}"
  role             = aws_iam_role.lambda.arn
  runtime          = var.lambda_runtime
  handler          = "${each.key}/index.handler"
  filename         = "${path.module}/${var.lambda_package}"
  source_code_hash = filebase64sha256("${path.module}/${var.lambda_package}")
  memory_size      = each.value.memory
  timeout          = each.value.timeout

  environment {
    variables = merge(
      { ENVIRONMENT = var.environment },
      { for t in each.value.tables : "TABLE_${upper(replace(t, "-", "_"))}" => aws_dynamodb_table.this[t].name }
    )
  }

  depends_on = [
    aws_cloudwatch_log_group.function,
    aws_iam_role_policy_attachment.lambda_basic,
  ]
}

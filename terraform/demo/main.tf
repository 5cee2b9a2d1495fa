# Resources refer to each other through `input` (the configured values, like a real resource's name or
# id) rather than `output`, so an update of one resource does not ripple through its dependents, just as
# updating a Lambda's code does not change the routes that point at it.

locals {
  prefix = "${var.project}-${var.environment}"

  tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  # The six tables of the callback CRM.
  tables = {
    callbacks  = { hash_key = "shop_id", range_key = "callback_id" }
    customers  = { hash_key = "shop_id", range_key = "customer_id" }
    calls      = { hash_key = "callback_id", range_key = "called_at" }
    users      = { hash_key = "user_id", range_key = null }
    settings   = { hash_key = "shop_id", range_key = null }
    sync-state = { hash_key = "source", range_key = null }
  }

  # The seven functions: five behind the HTTP API, an authorizer, and a scheduled sync.
  functions = {
    callbacks  = { memory = 256, timeout = 15, tables = ["callbacks", "customers", "calls"] }
    customers  = { memory = 256, timeout = 15, tables = ["customers"] }
    calls      = { memory = 256, timeout = 15, tables = ["calls", "callbacks"] }
    reports    = { memory = 512, timeout = 30, tables = ["callbacks", "calls"] }
    settings   = { memory = 128, timeout = 10, tables = ["settings"] }
    authorizer = { memory = 128, timeout = 5, tables = ["users"] }
    shop-sync  = { memory = 512, timeout = 120, tables = ["callbacks", "customers", "sync-state"] }
  }

  # HTTP API routes -> function.
  routes = {
    "GET /callbacks"        = "callbacks"
    "POST /callbacks"       = "callbacks"
    "PATCH /callbacks/{id}" = "callbacks"
    "GET /customers"        = "customers"
    "GET /calls"            = "calls"
    "POST /calls"           = "calls"
    "GET /reports"          = "reports"
    "GET /settings"         = "settings"
    "PUT /settings"         = "settings"
  }

  account_id = "123456789012"
  api_id     = substr(sha1("${local.prefix}-api"), 0, 10)
  stage_name = var.environment == "production" ? "v1" : var.environment
  invoke_url = "https://${local.api_id}.execute-api.${var.aws_region}.amazonaws.com/${local.stage_name}"
  cdn_domain = "d${substr(sha1(var.cloudfront_distribution_id), 0, 13)}.cloudfront.net"
}

# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------

resource "terraform_data" "table" {
  for_each = local.tables

  input = {
    kind                   = "aws_dynamodb_table"
    name                   = "${local.prefix}-${each.key}"
    arn                    = "arn:aws:dynamodb:${var.aws_region}:${local.account_id}:table/${local.prefix}-${each.key}"
    billing_mode           = "PAY_PER_REQUEST"
    hash_key               = each.value.hash_key
    range_key              = each.value.range_key
    point_in_time_recovery = true
    server_side_encryption = true
    tags                   = local.tags
  }
}

# ---------------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------------

resource "terraform_data" "lambda_role" {
  input = {
    kind     = "aws_iam_role"
    name     = "${local.prefix}-lambda"
    policies = ["service-role/AWSLambdaBasicExecutionRole"]
    tables   = sort([for t in terraform_data.table : t.input.arn])
    tags     = local.tags
  }
}

resource "terraform_data" "function" {
  for_each = local.functions

  input = {
    kind        = "aws_lambda_function"
    name        = "${local.prefix}-${each.key}"
    handler     = "${each.key}/index.handler"
    runtime     = var.lambda_runtime
    memory_size = each.value.memory
    timeout     = each.value.timeout
    role        = terraform_data.lambda_role.input.name
    version     = var.app_version
    environment = merge(
      { APP_VERSION = var.app_version, ENVIRONMENT = var.environment },
      { for t in each.value.tables : "TABLE_${upper(replace(t, "-", "_"))}" => terraform_data.table[t].input.name }
    )
    tags = local.tags
  }
}

# ---------------------------------------------------------------------------------------------------
# HTTP API
# ---------------------------------------------------------------------------------------------------

resource "terraform_data" "api" {
  input = {
    kind          = "aws_apigatewayv2_api"
    id            = local.api_id
    name          = "${local.prefix}-api"
    protocol_type = "HTTP"
    authorizer    = terraform_data.function["authorizer"].input.name
    cors_origins  = [var.site_url != "" ? var.site_url : "https://${local.cdn_domain}"]
    tags          = local.tags
  }
}

resource "terraform_data" "route" {
  for_each = local.routes

  input = {
    kind      = "aws_apigatewayv2_route"
    api_id    = terraform_data.api.input.id
    route_key = each.key
    target    = terraform_data.function[each.value].input.name
  }
}

resource "terraform_data" "stage" {
  input = {
    kind        = "aws_apigatewayv2_stage"
    api_id      = terraform_data.api.input.id
    name        = local.stage_name
    auto_deploy = true
    invoke_url  = local.invoke_url
  }

  # A new route set means a new deployment of the stage.
  triggers_replace = sort(keys(terraform_data.route))
}

# A key for server-to-server callers (the shop's webhook). Derived from the resource's random id, so
# it is only known after apply; it is exposed as a sensitive output.
resource "terraform_data" "api_key" {
  input = {
    kind   = "aws_api_gateway_api_key"
    name   = "${local.prefix}-webhook"
    api_id = terraform_data.api.input.id
  }
}

# ---------------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------------

resource "terraform_data" "sync_schedule" {
  input = {
    kind                = "aws_cloudwatch_event_rule"
    name                = "${local.prefix}-shop-sync"
    schedule_expression = var.sync_schedule
    target              = terraform_data.function["shop-sync"].input.name
    tags                = local.tags
  }
}

# ---------------------------------------------------------------------------------------------------
# Frontend: private bucket behind CloudFront
# ---------------------------------------------------------------------------------------------------

resource "terraform_data" "site_bucket" {
  input = {
    kind                    = "aws_s3_bucket"
    bucket                  = var.frontend_bucket
    block_public_access     = true
    object_ownership        = "BucketOwnerEnforced"
    server_side_encryption  = "AES256"
    readable_only_by_origin = "origin-access-control"
    tags                    = local.tags
  }
}

resource "terraform_data" "distribution" {
  input = {
    kind                = "aws_cloudfront_distribution"
    id                  = var.cloudfront_distribution_id
    domain_name         = local.cdn_domain
    origin              = "${terraform_data.site_bucket.input.bucket}.s3.${var.aws_region}.amazonaws.com"
    default_root_object = "index.html"
    spa_error_responses = { "403" = "/index.html", "404" = "/index.html" }
    price_class         = "PriceClass_100"
    tags                = local.tags
  }
}

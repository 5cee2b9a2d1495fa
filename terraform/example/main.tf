locals {
  prefix     = "${var.project}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id

  # The six tables. range_key = null: hash key only.
  tables = {
    callbacks  = { hash_key = "shop_id", range_key = "callback_id" }
    customers  = { hash_key = "shop_id", range_key = "customer_id" }
    calls      = { hash_key = "callback_id", range_key = "called_at" }
    users      = { hash_key = "user_id", range_key = null }
    settings   = { hash_key = "shop_id", range_key = null }
    sync-state = { hash_key = "source", range_key = null }
  }

  # The seven functions: five behind the HTTP API, the API's authorizer, and a scheduled sync.
  # Each gets the names of the tables it uses as TABLE_<NAME> environment variables.
  functions = {
    callbacks  = { memory = 256, timeout = 15, tables = ["callbacks", "customers", "calls"] }
    customers  = { memory = 256, timeout = 15, tables = ["customers"] }
    calls      = { memory = 256, timeout = 15, tables = ["calls", "callbacks"] }
    reports    = { memory = 512, timeout = 30, tables = ["callbacks", "calls"] }
    settings   = { memory = 128, timeout = 10, tables = ["settings"] }
    authorizer = { memory = 128, timeout = 5, tables = ["users"] }
    shop-sync  = { memory = 512, timeout = 120, tables = ["callbacks", "customers", "sync-state"] }
  }

  # HTTP API routes -> function. Every route goes through the authorizer.
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

  api_functions = toset(values(local.routes))

  site_bucket_name = var.site_bucket_name != "" ? var.site_bucket_name : "${local.prefix}-site-${local.account_id}"
}

# EventBridge: run shop-sync on a schedule.

resource "aws_cloudwatch_event_rule" "shop_sync" {
  name                = "${local.prefix}-shop-sync"
  description         = "Pull new repair orders and create callbacks."
  schedule_expression = var.sync_schedule
}

resource "aws_cloudwatch_event_target" "shop_sync" {
  rule = aws_cloudwatch_event_rule.shop_sync.name
  arn  = aws_lambda_function.this["shop-sync"].arn
}

resource "aws_lambda_permission" "shop_sync" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["shop-sync"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.shop_sync.arn
}

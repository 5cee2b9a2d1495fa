#!/usr/bin/env bash
# Regenerates the real `terraform show -json` fixtures in __tests__/fixtures/plans/.
#
# Every fixture comes from a small stack of built-in `terraform_data` resources (no provider is
# downloaded) with local state in a temporary directory: the "before" configuration is applied,
# the "after" configuration is planned with -out, and the saved plan is shown as JSON (and, for
# some, as text). Run from the repository root:
#
#   scripts/make-plan-fixtures.sh            # uses `terraform` on PATH (fixtures made with 1.11.4)
#
# The hand-written fixtures (drift.json, not-a-plan-*.json) are not touched; see the README.
set -euo pipefail

out_dir="$(cd "$(dirname "$0")/.." && pwd)/__tests__/fixtures/plans"
mkdir -p "$out_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TF_IN_AUTOMATION=1

tf() { terraform "$@" 2>"$work/stderr.log" || { cat "$work/stderr.log" >&2; return 1; }; }

# pretty <src> <dest>: re-indent JSON so the fixtures can be read and diffed.
pretty() { node -e 'const fs=require("fs");fs.writeFileSync(process.argv[2],JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1],"utf8")),null,2)+"\n")' "$1" "$2"; }

# scenario <name> <before.tf or -> <after.tf> [plan args...]
# Applies <before> (unless "-"), runs $between (a command, if set) in the stack directory, then
# plans <after> and writes <name>.json and <name>.txt (`terraform show -no-color` of the plan).
scenario() {
  local name="$1" before="$2" after="$3"
  shift 3
  local dir="$work/$name"
  mkdir -p "$dir"
  if [ "$before" != "-" ]; then
    printf '%s\n' "$before" >"$dir/main.tf"
    (cd "$dir" && tf init -input=false >/dev/null && tf apply -input=false -auto-approve "$@" >/dev/null)
  fi
  if [ -n "${between:-}" ]; then (cd "$dir" && eval "$between"); fi
  printf '%s\n' "$after" >"$dir/main.tf"
  (
    cd "$dir"
    tf init -input=false >/dev/null
    set +e
    terraform plan -input=false -no-color -lock-timeout=5s -detailed-exitcode -out=plan.tfplan "$@" \
      >plan.log 2>"$work/stderr.log"
    echo $? >exitcode
    set -e
    tf show -json plan.tfplan >plan.json
    tf show -no-color plan.tfplan >plan.txt
  )
  pretty "$dir/plan.json" "$out_dir/$name.json"
  cp "$dir/plan.txt" "$out_dir/$name.txt"
  echo "$name: terraform plan -detailed-exitcode exit $(cat "$dir/exitcode")"
}

# --- create: empty state, resources in the root and in a local module, odd for_each keys ------
mkdir -p "$work/create/mod"
cat >"$work/create/mod/main.tf" <<'EOF'
variable "name" { type = string }
resource "terraform_data" "inner" { input = var.name }
output "id" { value = terraform_data.inner.id }
EOF
scenario create - '
resource "terraform_data" "api" { input = "v1" }
resource "terraform_data" "keyed" {
  for_each = toset(["plain", "pipe|key", "tick`key", "</details><!-- x -->"])
  input    = each.key
}
module "site" {
  source = "./mod"
  name   = "site"
}
output "api_id" { value = terraform_data.api.id }
output "greeting" { value = "hello" }
'

# --- update in place: terraform_data input change ----------------------------------------------
scenario update '
resource "terraform_data" "api" { input = "v1" }
resource "terraform_data" "same" { input = "unchanged" }
' '
resource "terraform_data" "api" { input = "v2" }
resource "terraform_data" "same" { input = "unchanged" }
'

# --- replace, destroy before create (the default) ----------------------------------------------
scenario replace-destroy-first '
resource "terraform_data" "db" { triggers_replace = ["one"] }
' '
resource "terraform_data" "db" { triggers_replace = ["two"] }
'

# --- replace, create before destroy -------------------------------------------------------------
scenario replace-create-first '
resource "terraform_data" "web" {
  triggers_replace = ["one"]
  lifecycle { create_before_destroy = true }
}
' '
resource "terraform_data" "web" {
  triggers_replace = ["two"]
  lifecycle { create_before_destroy = true }
}
'

# --- delete: a resource removed from the configuration ------------------------------------------
scenario delete '
resource "terraform_data" "keep" { input = "k" }
resource "terraform_data" "old" {
  count = 2
  input = "o${count.index}"
}
' '
resource "terraform_data" "keep" { input = "k" }
'

# --- outputs: created/updated/deleted outputs, a sensitive output, a sensitive variable ---------
scenario outputs '
variable "db_password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" { input = var.db_password }
output "url" { value = "https://old.example.com" }
output "removed" { value = "bye" }
output "password" {
  value     = var.db_password
  sensitive = true
}
' '
variable "db_password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "db" { input = var.db_password }
resource "terraform_data" "fresh" { input = "new" }
output "url" { value = "https://new.example.com" }
output "password" {
  value     = var.db_password
  sensitive = true
}
output "config" { value = { tier = "gold", ports = [80, 443] } }
output "fresh_id" { value = terraform_data.fresh.id }
output "same" { value = "unchanged" }
' -var "db_password=old-secret-hunter2"
# the plan above keeps the password; this one changes a sensitive value:
scenario outputs-secret-change '
variable "db_password" {
  type      = string
  sensitive = true
  default   = "old-secret-hunter2"
}
resource "terraform_data" "db" { input = var.db_password }
output "password" {
  value     = var.db_password
  sensitive = true
}
# terraform_data does not mark `output` sensitive although `input` is: this output is not sensitive
output "derived" { value = terraform_data.db.output }
' '
variable "db_password" {
  type      = string
  sensitive = true
  default   = "new-secret-correcthorse"
}
resource "terraform_data" "db" { input = var.db_password }
output "password" {
  value     = var.db_password
  sensitive = true
}
# terraform_data does not mark `output` sensitive although `input` is: this output is not sensitive
output "derived" { value = terraform_data.db.output }
'

# --- no changes ---------------------------------------------------------------------------------
scenario no-changes '
resource "terraform_data" "api" { input = "v1" }
output "api" { value = "fixed" }
' '
resource "terraform_data" "api" { input = "v1" }
output "api" { value = "fixed" }
'

# --- moved, import, forget (removed block keeping the object), tainted, -replace ---------------
between='tf taint terraform_data.tainted >/dev/null'
scenario lifecycle '
resource "terraform_data" "old_name" { input = "m" }
resource "terraform_data" "forgotten" { input = "f" }
resource "terraform_data" "tainted" { input = "t" }
resource "terraform_data" "requested" { input = "r" }
' '
moved {
  from = terraform_data.old_name
  to   = terraform_data.new_name
}
resource "terraform_data" "new_name" { input = "m" }
removed {
  from = terraform_data.forgotten
  lifecycle { destroy = false }
}
import {
  to = terraform_data.imported
  id = "existing-id"
}
resource "terraform_data" "imported" { input = "i" }
resource "terraform_data" "tainted" { input = "t" }
resource "terraform_data" "requested" { input = "r" }
data "terraform_remote_state" "later" {
  backend = "local"
  config  = { path = "${terraform_data.fresh.output}.tfstate" }
}
resource "terraform_data" "fresh" { input = "x" }
' -replace=terraform_data.requested
between=''

# --- errored: a failing precondition; Terraform still writes the plan file ----------------------
scenario errored '
resource "terraform_data" "api" { input = "v1" }
' '
resource "terraform_data" "api" { input = "v2" }
resource "terraform_data" "guarded" {
  input = "g"
  lifecycle {
    precondition {
      condition     = terraform_data.api.input == "v1"
      error_message = "api must stay at v1"
    }
  }
}
'

# --- not a plan: `terraform show -json` without a plan file prints the state instead -----------
(cd "$work/no-changes" && tf show -json >state.json)
pretty "$work/no-changes/state.json" "$out_dir/not-a-plan-state.json"
echo "not-a-plan-state: state of the no-changes stack"

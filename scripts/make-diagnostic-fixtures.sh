#!/usr/bin/env bash
# Regenerates the real Terraform stderr captures in __tests__/fixtures/terraform/diagnostics/.
#
# Each capture is what `terraform` printed on stderr for a small stack of built-in `terraform_data`
# resources with local state in a temporary directory (no provider is downloaded). Run from the
# repository root:
#
#   scripts/make-diagnostic-fixtures.sh      # uses `terraform` on PATH (captures made with 1.11.4)
#
# The hand-written AWS-provider texts (aws-*.txt) are not touched; see the README.
set -euo pipefail

out_dir="$(cd "$(dirname "$0")/.." && pwd)/__tests__/fixtures/terraform/diagnostics"
mkdir -p "$out_dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TF_IN_AUTOMATION=1

# lock-no-color.txt / lock-colour.txt: plan while a concurrent apply holds the lock.
mkdir -p "$work/lock"
cat >"$work/lock/main.tf" <<'TF'
resource "terraform_data" "slow" {
  input = "x"
  provisioner "local-exec" {
    command = "sleep 6"
  }
}
TF
(
  cd "$work/lock"
  terraform init -input=false >/dev/null 2>&1
  terraform apply -input=false -auto-approve >/dev/null 2>&1 &
  holder=$!
  sleep 2
  terraform plan -input=false -no-color -lock-timeout=1s >/dev/null 2>"$out_dir/lock-no-color.txt" || true
  terraform plan -input=false -lock-timeout=1s >/dev/null 2>"$out_dir/lock-colour.txt" || true
  wait "$holder"
)

# local-exec-exists.txt: an apply whose local-exec prints an IAM EntityAlreadyExists error.
mkdir -p "$work/exists"
cat >"$work/exists/main.tf" <<'TF'
resource "terraform_data" "role" {
  input = "x"
  provisioner "local-exec" {
    command = "echo 'creating IAM Role (app-lambda): operation error IAM: CreateRole, https response error StatusCode: 409, RequestID: 5b2a3b1e, EntityAlreadyExists: Role with name app-lambda already exists.' >&2; exit 1"
  }
}
TF
(
  cd "$work/exists"
  terraform init -input=false >/dev/null 2>&1
  terraform plan -input=false -no-color -out=p.tfplan >/dev/null 2>&1
  terraform apply -input=false -no-color p.tfplan >/dev/null 2>"$out_dir/local-exec-exists.txt" || true
)

# config-errors.txt: two configuration errors in one plan.
mkdir -p "$work/config"
cat >"$work/config/main.tf" <<'TF'
resource "terraform_data" "a" {
  input = var.missing
}
output "b" {
  value = terraform_data.nope.id
}
TF
(
  cd "$work/config"
  terraform init -input=false >/dev/null 2>&1
  terraform plan -input=false -no-color >/dev/null 2>"$out_dir/config-errors.txt" || true
)
# init-syntax-error.txt: init of a configuration with a syntax error (Terraform wraps the error in
# "Terraform encountered problems during initialisation", whose summary spans two lines).
mkdir -p "$work/syntax"
cat >"$work/syntax/main.tf" <<'TF'
resource "terraform_data" "a" {
  input = "x"
}

resource "terraform_data" "b" {
  input = "y"
  oops oops
}
TF
(
  cd "$work/syntax"
  terraform init -input=false -no-color >/dev/null 2>"$out_dir/init-syntax-error.txt" || true
)
echo "written to $out_dir"

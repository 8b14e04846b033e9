#!/usr/bin/env bash
# Runs `terraform test` on the root module offline: the AWS provider comes from a filesystem
# mirror (hashicorp/aws 5.x), credentials are fake and every data source that would call AWS
# is overridden in the test files. Nothing is written into the repository: the module and its
# tests are copied into a temporary directory, with the data dir and CLI config there too.
#
#   infra/terraform/tests/run.sh [terraform test options, e.g. -filter=tests/plan.tftest.hcl]
#
# Environment: TF_PROVIDER_MIRROR (the mirror's root; found under /opt, /usr/local/share,
# /usr/share or ~/.terraform.d when unset). Exit codes: terraform's, or 3 when the terraform
# binary or the mirror is missing (the caller decides whether that is a skip).

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULE="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$MODULE/../.." && pwd)"

if ! command -v terraform >/dev/null 2>&1; then
    echo "terraform test: no terraform binary on PATH" >&2
    exit 3
fi

find_mirror() {
    if [[ -n "${TF_PROVIDER_MIRROR:-}" ]]; then
        [[ -d "$TF_PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws" ]] && echo "$TF_PROVIDER_MIRROR"
        return 0
    fi
    local r hit
    for r in /opt /usr/local/share /usr/share "${HOME:-/root}/.terraform.d"; do
        [[ -d "$r" ]] || continue
        hit="$(find "$r" -maxdepth 7 -type d -name linux_amd64 \
            -path '*registry.terraform.io/hashicorp/aws/5.*' -print -quit 2>/dev/null)"
        if [[ -n "$hit" ]]; then
            (cd "$hit/../../../../.." && pwd)
            return 0
        fi
    done
    return 0
}

MIRROR="$(find_mirror)"
if [[ -z "$MIRROR" ]]; then
    echo "terraform test: no offline provider mirror with hashicorp/aws 5.x (set TF_PROVIDER_MIRROR)" >&2
    exit 3
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tasman-tftest.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/module/tests" "$WORK/data"
cp "$MODULE"/*.tf "$WORK/module/"
cp "$HERE"/*.tftest.hcl "$WORK/module/tests/"
# The example variables are what the plan test plans with: terraform test reads terraform.tfvars.
cp "$MODULE/terraform.tfvars.example" "$WORK/module/terraform.tfvars"
{
    cat "$ROOT/infra/terraformrc"
    cat <<CFG

provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
CFG
} >"$WORK/terraformrc"

export TF_CLI_CONFIG_FILE="$WORK/terraformrc"
export TF_DATA_DIR="$WORK/data"
export CHECKPOINT_DISABLE=1
export TF_IN_AUTOMATION=1
# Fake credentials: the provider never reaches AWS (the tests skip every credential and
# metadata check, and override the data sources that would call an API).
export AWS_ACCESS_KEY_ID=AKIAOFFLINETESTKEY00 AWS_SECRET_ACCESS_KEY=offline-test-secret
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

echo "provider mirror: $MIRROR"
terraform -chdir="$WORK/module" init -backend=false -input=false -no-color >"$WORK/init.log" 2>&1 \
    || { cat "$WORK/init.log" >&2; exit 1; }
terraform -chdir="$WORK/module" test -no-color "$@"

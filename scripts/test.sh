#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs (Debian packages, Rust crates, the pinned
# moto server in a venv), starts the local AWS endpoint on 127.0.0.1, runs formatting, lints and tests, stops
# the endpoint by PID. Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Debian packages the tests use (installed only when missing).
need=()
command -v python3 >/dev/null || need+=(python3 python3-venv)
# The HTML report is checked in a real headless browser (tests/offline/evidence_html.rs, tests/moto/evidence.rs).
command -v chromium >/dev/null || need+=(chromium)
# `cell migrate` is tested against a real PostgreSQL server (tests/pg), a throw-away cluster of scripts/pg-start.sh.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
if [[ ${#need[@]} -gt 0 ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

eval "$("$root/scripts/moto-start.sh")"
trap '"$root/scripts/moto-stop.sh"; "$root/scripts/pg-stop.sh"' EXIT
eval "$("$root/scripts/pg-start.sh")"
export ATREST_TEST_PG_URL

# Only the local endpoint is ever called: fixed test credentials, no profile files, no instance metadata.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_DEFAULT_REGION
export ATREST_TEST_ENDPOINT
# checkov scans the plan's Terraform (tests/moto/plan_iac.rs); its pins conflict with moto's, so it has its own venv.
ATREST_CHECKOV_VENV="$("$root/scripts/checkov-env.sh")"
export ATREST_CHECKOV_VENV

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
# The advisor and cell cores must build and pass with ring alone (no AWS SDK).
cargo test --locked --no-default-features "$@"
cargo test --locked "$@"
# The fuzz targets build against today's library and run briefly from their seeds (longer runs: scripts/fuzz.sh).
ATREST_FUZZ_DIR="$root/target/fuzz-smoke" "$root/scripts/fuzz.sh" "${ATREST_FUZZ_SECONDS:-10}"

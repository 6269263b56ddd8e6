#!/usr/bin/env bash
# Measures `atrest audit` on a synthetic account of about 1,000 resources: starts a fresh local AWS endpoint
# (its own state directory, stopped by PID on exit), seeds it with scripts/seed-account.py, and times one audit
# of all seeded regions with /usr/bin/time -v (wall time, maximum RSS).
# Usage: scripts/perf-audit.sh [TOTAL]        (ATREST_BIN=path to use a prebuilt binary)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
total="${1:-1000}"
regions="us-west-2,eu-west-1,ap-south-1"

export ATREST_MOTO_STATE="$root/.cache/moto-perf"
"$root/scripts/moto-stop.sh"
eval "$("$root/scripts/moto-start.sh")"
trap '"$root/scripts/moto-stop.sh"' EXIT
venv="$("$root/scripts/moto-env.sh")"

echo "seeding about $total resources in $regions ..." >&2
seed_start=$(date +%s)
counts="$("$venv/bin/python" "$root/scripts/seed-account.py" --endpoint "$ATREST_TEST_ENDPOINT" --regions "$regions" --total "$total")"
echo "seeded in $(( $(date +%s) - seed_start )) s: $counts" >&2

work="$(mktemp -d)"
bin="${ATREST_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --quiet --locked --bin atrest
  # The target directory may be shared: measure a private copy.
  cp "${CARGO_TARGET_DIR:-$root/target}/debug/atrest" "$work/atrest"
  bin="$work/atrest"
fi

# Only the local endpoint: fixed test credentials, no profile files, no instance metadata. Retries are the SDK
# defaults (standard mode, 3 attempts) unless AWS_MAX_ATTEMPTS is set by the caller.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-west-2
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

status=0
/usr/bin/time -v -o "$work/time.txt" "$bin" audit --endpoint-url "$ATREST_TEST_ENDPOINT" --regions "$regions" \
  --format json --inventory-out "$work/inventory.json" >"$work/report.json" 2>"$work/stderr.txt" || status=$?
wall="$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')"
rss="$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')"
python3 - "$work/report.json" "$work/inventory.json" "$wall" "$rss" "$status" <<'PY'
import json, sys, os
report = json.load(open(sys.argv[1]))
inv = json.load(open(sys.argv[2]))
seen = {k: len(v) for k, v in inv.items() if isinstance(v, list) and k not in ("regions", "errors")}
print(json.dumps({
    "resources_in_inventory": sum(seen.values()),
    "by_kind": seen,
    "findings": len(report["findings"]),
    "databases": len(report["databases"]),
    "api_errors": len(report["errors"]),
    "inventory_bytes": os.path.getsize(sys.argv[2]),
    "wall_clock": sys.argv[3],
    "max_rss_kib": int(sys.argv[4]),
    "exit_code": int(sys.argv[5]),
}, indent=2))
PY
rm -rf "$work"

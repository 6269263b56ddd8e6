#!/usr/bin/env bash
# Measures `atrest audit` on a synthetic account of about 1,000 resources: starts a fresh local AWS endpoint
# (its own state directory, stopped by PID on exit), seeds it with scripts/seed-account.py, and times one audit
# of all seeded regions with /usr/bin/time -v (wall time, maximum RSS), with the API calls it made.
# Usage: scripts/perf-audit.sh [TOTAL]
#   ATREST_BIN="path..."  prebuilt binaries (e.g. target/release/atrest); several are run in turn on the same seed
#   PERF_RUNS=N           rounds over the binaries (default 1)
#   PERF_REGIONS=LIST     the regions to seed and audit (default us-west-2,eu-west-1,ap-south-1)
#   PERF_SEED_ARGS=...    more seed-account.py flags (e.g. --aws-managed-keys)
#   PERF_COUNT=proxy      count the requests with scripts/count-requests.py in front of the endpoint (for a binary
#                         without --stats), beside the binary's own --stats counts (passed when it has the flag)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
total="${1:-1000}"
regions="${PERF_REGIONS:-us-west-2,eu-west-1,ap-south-1}"

export ATREST_MOTO_STATE="$root/.cache/moto-perf"
"$root/scripts/moto-stop.sh"
eval "$("$root/scripts/moto-start.sh")"
trap '"$root/scripts/moto-stop.sh"' EXIT
venv="$("$root/scripts/moto-env.sh")"

echo "seeding about $total resources in $regions ..." >&2
seed_start=$(date +%s)
counts="$("$venv/bin/python" "$root/scripts/seed-account.py" --endpoint "$ATREST_TEST_ENDPOINT" --regions "$regions" --total "$total" ${PERF_SEED_ARGS:-})"
echo "seeded in $(( $(date +%s) - seed_start )) s: $counts" >&2

work="$(mktemp -d)"
read -r -a bins <<<"${ATREST_BIN:-}"
if [[ ${#bins[@]} -eq 0 ]]; then
  cargo build --quiet --locked --bin atrest
  # The target directory may be shared: measure a private copy.
  cp "${CARGO_TARGET_DIR:-$root/target}/debug/atrest" "$work/atrest"
  bins=("$work/atrest")
fi

# Only the local endpoint: fixed test credentials, no profile files, no instance metadata. Retries are the SDK
# defaults (standard mode, 3 attempts) unless AWS_MAX_ATTEMPTS is set by the caller.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-west-2
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

measure() {
  local bin="$1" endpoint="$ATREST_TEST_ENDPOINT" proxy="" status=0
  local stats=()
  "$bin" audit --help | grep -q -- '--stats' && stats=(--stats)
  rm -f "$work/requests.json"
  if [[ "${PERF_COUNT:-}" == proxy ]]; then
    coproc PROXY { exec python3 "$root/scripts/count-requests.py" --upstream "$ATREST_TEST_ENDPOINT" --out "$work/requests.json"; }
    proxy="$PROXY_PID"
    read -r port <&"${PROXY[0]}"
    endpoint="http://127.0.0.1:$port"
  fi
  /usr/bin/time -v -o "$work/time.txt" "$bin" audit --endpoint-url "$endpoint" --regions "$regions" "${stats[@]}" \
    --format json --inventory-out "$work/inventory.json" >"$work/report.json" 2>"$work/stderr.txt" || status=$?
  if [[ -n "$proxy" ]]; then
    kill -TERM "$proxy"
    wait "$proxy" || true
  fi
  grep '^stats: ' "$work/stderr.txt" | sed 's/^stats: //' >"$work/stats.json" || true
  local wall rss
  wall="$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')"
  rss="$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')"
  python3 - "$work" "$bin" "$wall" "$rss" "$status" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys, os
work, binary, wall, rss, status, load = sys.argv[1:7]
report = json.load(open(os.path.join(work, "report.json")))
inv = json.load(open(os.path.join(work, "inventory.json")))
seen = {k: len(v) for k, v in inv.items() if isinstance(v, list) and k not in ("regions", "errors")}
stats = open(os.path.join(work, "stats.json")).read().strip()
calls = json.loads(stats)["calls"] if stats else None
requests = os.path.join(work, "requests.json")
requests = json.load(open(requests)) if os.path.exists(requests) else None
print(json.dumps({
    "binary": binary,
    "resources_in_inventory": sum(seen.values()),
    "by_kind": seen,
    "findings": len(report["findings"]),
    "databases": len(report["databases"]),
    "api_errors": len(report["errors"]),
    "inventory_bytes": os.path.getsize(os.path.join(work, "inventory.json")),
    "wall_clock": wall,
    "max_rss_kib": int(rss),
    "exit_code": int(status),
    "load_average_1min": float(load),
    "calls": calls,
    "calls_total": sum(calls.values()) if calls else None,
    "requests": requests,
    "requests_total": sum(requests.values()) if requests else None,
}, indent=2))
PY
}

for _ in $(seq "${PERF_RUNS:-1}"); do
  for bin in "${bins[@]}"; do
    measure "$bin"
  done
done
rm -rf "$work"

#!/usr/bin/env bash
# Measures `atrest audit --accounts org` on organisations of 10, 30 and 100 member accounts (each with the audit
# role, a KMS key, 2 RDS instances and 2 EBS volumes): for each size a fresh local AWS endpoint (its own state
# directory, stopped by PID), seeded by scripts/seed-org.py, then one audit timed with /usr/bin/time -v (wall time,
# maximum RSS), writing one inventory per account to --out-dir. Prints one line per size.
# Usage: scripts/bench-org.sh [SIZES...]        (default 10 30 100; ATREST_BIN=path to use a prebuilt binary)
# ATREST_QUOTAS="rds=20 ec2=40 ..." puts scripts/count-requests.py in front of the endpoint with those request
# quotas (requests a second per service in each account and Region; the excess is answered with the service's
# throttling error), and adds the requests sent and throttled to each line. The `errors` column counts the report's
# errors other than GetEbsDefaultKmsKeyId, which the endpoint lacks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10 30 100)
region=eu-central-1

work="$(mktemp -d)"
bin="${ATREST_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --quiet --locked --bin atrest
  # The target directory may be shared: measure a private copy.
  cp "${CARGO_TARGET_DIR:-$root/target}/debug/atrest" "$work/atrest"
  bin="$work/atrest"
fi
venv="$("$root/scripts/moto-env.sh")"
export ATREST_MOTO_STATE="$work/moto"
proxy_pid=
trap '[[ -z "$proxy_pid" ]] || kill "$proxy_pid"; "$root/scripts/moto-stop.sh"' EXIT

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=$region
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
printf '%-9s %-10s %-10s %-10s %-12s %-6s %-7s %-9s %-10s %s\n' accounts databases findings wall_s max_rss_mb exit errors requests throttled load_1m
for n in "${sizes[@]}"; do
  "$root/scripts/moto-stop.sh"
  eval "$("$root/scripts/moto-start.sh")"
  "$venv/bin/python" "$root/scripts/seed-org.py" --endpoint "$ATREST_TEST_ENDPOINT" --accounts "$n" \
    --region "$region" >"$work/seed-$n.json"
  endpoint="$ATREST_TEST_ENDPOINT"
  if [[ -n "${ATREST_QUOTAS:-}" ]]; then
    quotas=()
    for q in $ATREST_QUOTAS; do quotas+=(--quota "$q"); done
    coproc PROXY { exec "$venv/bin/python" "$root/scripts/count-requests.py" --upstream "$ATREST_TEST_ENDPOINT" \
      --out "$work/requests-$n.json" "${quotas[@]}"; }
    proxy_pid=$PROXY_PID
    read -r port <&"${PROXY[0]}"
    endpoint="http://127.0.0.1:$port"
  fi
  status=0
  /usr/bin/time -v -o "$work/time-$n.txt" "$bin" audit --endpoint-url "$endpoint" \
    --accounts org --role-name atrest-audit --regions "$region" --format json \
    --out-dir "$work/inventories-$n" >"$work/report-$n.json" 2>"$work/stderr-$n.txt" || status=$?
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$n.txt" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')"
  rss_kb="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$n.txt")"
  requests=- throttled=-
  if [[ -n "${ATREST_QUOTAS:-}" ]]; then
    kill "$proxy_pid" && wait "$proxy_pid" || true
    proxy_pid=
    read -r requests throttled < <("$venv/bin/python" -c 'import json,sys
c = json.load(open(sys.argv[1])); t = c.pop("throttled", {})
print(sum(c.values()), sum(t.values()))' "$work/requests-$n.json")
  fi
  counts="$("$venv/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["databases"]), len(r["findings"]), sum(1 for e in r["errors"] if e.get("operation") != "GetEbsDefaultKmsKeyId"))' "$work/report-$n.json")"
  read -r dbs findings errors <<<"$counts"
  printf '%-9s %-10s %-10s %-10s %-12s %-6s %-7s %-9s %-10s %s\n' "$((n + 1))" "$dbs" "$findings" "$wall" \
    "$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k/1024}')" "$status" "$errors" "$requests" "$throttled" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done

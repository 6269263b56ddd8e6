#!/usr/bin/env bash
# The `cell migrate` benchmark (benches/migrate.rs) on a throw-away PostgreSQL cluster: starts it, runs the
# benchmark with ATREST_BENCH_PG_URL set, stops it. Extra arguments go to the benchmark (e.g. a filter).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ATREST_PG_STATE="${ATREST_PG_STATE:-$root/.cache/pg-bench}"
trap '"$root/scripts/pg-stop.sh"' EXIT
eval "$("$root/scripts/pg-start.sh")"
export ATREST_BENCH_PG_URL="$ATREST_TEST_PG_URL"
# The AWS SDK is not needed here (a key file), so it is left out of the optimized build.
cargo bench --locked --no-default-features --features postgres --bench migrate -- "$@"

#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ with libFuzzer's coverage instrumentation on the stable toolchain and runs each
# for a fixed time from a copy of its seeds, then prints one line per target: executions, corpus growth, crashes.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (default 60 s, every target)
#
# Crashing inputs are kept under $ATREST_FUZZ_DIR/<target>/ (default target/fuzz-runs); the exit status is 1 when
# any target crashed. The sanitizer-coverage flags are the ones cargo-fuzz passes; only AddressSanitizer, which
# needs a nightly compiler, is left out (the crate has no `unsafe`).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
triple="$(rustc -vV | sed -n 's/^host: //p')"

flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    --cfg fuzzing
    -Cdebug-assertions
    -Coverflow-checks
)
# --target keeps the instrumentation off build scripts and proc macros, which would not link with it.
(cd "$here/fuzz" && RUSTFLAGS="${flags[*]}" cargo build --locked --release --bins --target "$triple")

bin_dir="$here/fuzz/target/$triple/release"
runs_dir="${ATREST_FUZZ_DIR:-$here/target/fuzz-runs}"
if [ "$#" -eq 0 ]; then
    set -- $(sed -n 's/^name = "\(.*\)"$/\1/p' "$here/fuzz/Cargo.toml" | grep -v '^atrest-fuzz$')
fi

crashed=0
for target in "$@"; do
    work="$runs_dir/$target"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/crashes"
    if [ -d "$here/fuzz/seeds/$target" ]; then
        cp "$here/fuzz/seeds/$target"/* "$work/corpus/"
    fi
    seeds="$(find "$work/corpus" -type f | wc -l)"
    set +e
    "$bin_dir/$target" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" >"$work/log" 2>&1
    status=$?
    set -e
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")"
    corpus="$(find "$work/corpus" -type f | wc -l)"
    crashes="$(find "$work/crashes" -type f | wc -l)"
    rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log")"
    printf '%-16s %ss  runs %s  corpus %s -> %s  crashes %s  peak %s MB\n' \
        "$target" "$seconds" "${runs:-?}" "$seeds" "$corpus" "$crashes" "${rss:-?}"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        crashed=1
        echo "  $target: exit $status; see $work/log and $work/crashes/" >&2
    fi
done
exit "$crashed"

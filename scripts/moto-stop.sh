#!/usr/bin/env bash
# Stops the moto server started by moto-start.sh, by its PID.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${ATREST_MOTO_STATE:-$root/.cache/moto}"
if [[ -f "$state/pid" ]]; then
  pid="$(cat "$state/pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$state/pid" "$state/port"
fi

#!/usr/bin/env bash
# Stops the PostgreSQL cluster started by pg-start.sh (`pg_ctl -m immediate`, else by its PID) and removes its data.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${ATREST_PG_STATE:-$root/.cache/pg}"
if [[ -f "$state/pid" ]]; then
  pid="$(cat "$state/pid")"
  dir="$(cat "$state/dir" 2>/dev/null || true)"
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  as=()
  [[ "$(id -u)" == 0 ]] && as=(runuser -u postgres --)
  if [[ -n "$dir" && -d "$dir/data" ]]; then
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  [[ -n "$dir" && "$dir" == */atrest-pg.* ]] && rm -rf "$dir"
  rm -f "$state/pid" "$state/port" "$state/dir" "$state/user"
fi

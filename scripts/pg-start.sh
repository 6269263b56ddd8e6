#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster on 127.0.0.1 on a free port (data in a temporary directory) and waits
# until it answers. Prints `export` lines for its URL, so: eval "$(scripts/pg-start.sh)"
# State (pid, port, data dir) lives in $ATREST_PG_STATE (default: .cache/pg), so pg-stop.sh can stop it by PID.
# As root, the server runs as the `postgres` user (initdb refuses root); otherwise as the calling user.
# ATREST_PG_OPTIONS adds server settings, e.g. "-c wal_level=logical" for a logical replication source.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${ATREST_PG_STATE:-$root/.cache/pg}"
mkdir -p "$state"
if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
  port="$(cat "$state/port")"
else
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2; exit 1
  fi
  as=()
  user="$(id -un)"
  if [[ "$(id -u)" == 0 ]]; then as=(runuser -u postgres --); user=postgres; fi
  dir="$(mktemp -d "${TMPDIR:-/tmp}/atrest-pg.XXXXXX")"
  [[ "$(id -u)" == 0 ]] && chown postgres "$dir"
  # A free port chosen by the kernel; a small race with other processes is acceptable for a test server.
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U "$user" -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # Throw-away: no fsync; enough connections for parallel tests.
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 ${ATREST_PG_OPTIONS:-}" >/dev/null \
    || { cat "$dir/pg.log" >&2; exit 1; }
  head -1 "$dir/data/postmaster.pid" >"$state/pid"
  echo "$port" >"$state/port"
  echo "$dir" >"$state/dir"
  echo "$user" >"$state/user"
fi
user="$(cat "$state/user")"
echo "export ATREST_TEST_PG_URL=postgresql://$user@127.0.0.1:$port/postgres"

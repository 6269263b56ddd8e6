#!/usr/bin/env bash
# Starts moto server on 127.0.0.1 on a free port and waits until it answers.
# Prints `export` lines for the endpoint, so: eval "$(scripts/moto-start.sh)"
# State (pid, port, log) lives in $ATREST_MOTO_STATE (default: .cache/moto), so moto-stop.sh can stop it by PID.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${ATREST_MOTO_STATE:-$root/.cache/moto}"
mkdir -p "$state"
if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
  port="$(cat "$state/port")"
else
  venv="$("$root/scripts/moto-env.sh")"
  # A free port chosen by the kernel; a small race with other processes is acceptable for a test endpoint.
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
  # No default AMIs: otherwise ~1,300 foreign snapshots appear in DescribeSnapshots.
  MOTO_EC2_LOAD_DEFAULT_AMIS=false MOTO_RDS_SNAPSHOT_LIMIT=100000 \
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$state/log" 2>&1 &
  echo $! >"$state/pid"
  echo "$port" >"$state/port"
  for _ in $(seq 1 200); do
    if python3 - "$port" <<'PY' 2>/dev/null; then break; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1)
PY
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "moto server exited; see $state/log" >&2; cat "$state/log" >&2; exit 1
    fi
    sleep 0.1
  done
fi
echo "export ATREST_TEST_ENDPOINT=http://127.0.0.1:$port"

#!/usr/bin/env bash
# Creates (once) the Python venv that holds the pinned local AWS endpoint (moto server).
# Usage: scripts/moto-env.sh            -> prints the venv directory
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ATREST_MOTO_VENV:-$root/.cache/moto-venv}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/scripts/moto-requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/moto_server" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setting up the local AWS endpoint (moto server) in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/moto-requirements.txt" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"

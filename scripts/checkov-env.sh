#!/usr/bin/env bash
# Creates (once) the Python venv that holds the pinned checkov (scripts/checkov-requirements.txt).
# Usage: scripts/checkov-env.sh         -> prints the venv directory
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ATREST_CHECKOV_VENV:-$root/.cache/checkov-venv}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/scripts/checkov-requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/checkov" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setting up checkov in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/checkov-requirements.txt" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"

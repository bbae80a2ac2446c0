#!/usr/bin/env bash
# Installs tests/tools/requirements.txt (zizmor, actionlint, maturin: pinned) into
# target/tools-venv when it is missing or out of date, under a lock so that parallel callers
# install once. Prints nothing on success when up to date. Needs python3 with venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${ROLLCALL_TOOLS_VENV:-$root/target/tools-venv}"
requirements="$root/tests/tools/requirements.txt"
stamp="$venv/.rollcall-requirements"

mkdir -p "$(dirname "$venv")"
exec 9>"$(dirname "$venv")/.tools-venv.lock"
flock -w 900 9 || { echo "install.sh: timed out waiting for another install of $venv" >&2; exit 1; }
if [ -x "$venv/bin/zizmor" ] && [ -x "$venv/bin/actionlint" ] && [ -x "$venv/bin/maturin" ] \
  && [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
  exit 0
fi
echo "install.sh: installing zizmor, actionlint and maturin into $venv" >&2
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || { echo "install.sh: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  -r "$requirements" >&2 || { echo "install.sh: pip install -r $requirements failed" >&2; exit 1; }
cp "$requirements" "$stamp"

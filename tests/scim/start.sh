#!/usr/bin/env bash
# Starts scim2-server (the SCIM 2.0 peer of tests/scim.rs) on a free loopback port.
#
#   tests/scim/start.sh --install-only
#   tests/scim/start.sh --token TOKEN --log FILE [--spc FILE]
#
# Installs tests/scim/requirements.txt into target/scim-venv when it is missing or out of
# date (under a lock, so parallel tests install once), starts the server with a bearer token
# and, if given, a ServiceProviderConfig file, waits (bounded) until it answers, and prints
#   url=http://127.0.0.1:PORT/v2
#   pid=PID
# Stop it with `kill PID`. Exits non-zero, saying why, when any step fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${SCIM_VENV:-$root/target/scim-venv}"
requirements="$root/tests/scim/requirements.txt"

install_only=0 token="" log="" spc=""
while [ $# -gt 0 ]; do
  case "$1" in
    --install-only) install_only=1 ;;
    --token) token="$2"; shift ;;
    --log) log="$2"; shift ;;
    --spc) spc="$2"; shift ;;
    *) echo "start.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

install() {
  local stamp="$venv/.rollcall-requirements"
  if [ -x "$venv/bin/scim2-server" ] && [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
    return 0
  fi
  echo "start.sh: installing scim2-server into $venv" >&2
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || {
      echo "start.sh: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
      return 1
    }
  fi
  timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
    -r "$requirements" >&2 || { echo "start.sh: pip install -r $requirements failed" >&2; return 1; }
  cp "$requirements" "$stamp"
}

mkdir -p "$(dirname "$venv")"
exec 9>"$(dirname "$venv")/.scim-venv.lock"
flock -w 900 9 || { echo "start.sh: timed out waiting for another install of the venv" >&2; exit 1; }
install
flock -u 9
exec 9>&-
[ "$install_only" = 1 ] && exit 0

[ -n "$token" ] || { echo "start.sh: --token is required" >&2; exit 2; }
[ -n "$log" ] || { echo "start.sh: --log is required" >&2; exit 2; }
args=(--hostname 127.0.0.1 --bearer-token "$token")
[ -n "$spc" ] && args+=(--service-provider-config "$spc")

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A port picked free can be taken before the server binds it: try a few.
for attempt in 1 2 3 4 5; do
  port="$(free_port)"
  # setsid: the server outlives this script; its output goes to the log, never to our stdout.
  setsid "$venv/bin/scim2-server" "${args[@]}" --port "$port" </dev/null >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    if "$venv/bin/python" - "$port" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/ServiceProviderConfig", timeout=1).read()
PY
      # The answer must be our server's: when another test's server took the port first,
      # ours failed to bind and died, and printing its pid would have that test's `kill PID`
      # hit whatever process gets the pid next (another test's rollcall, under load).
      if kill -0 "$pid" 2>/dev/null && grep -q "GET /v2/ServiceProviderConfig" "$log"; then
        echo "url=http://127.0.0.1:$port/v2"
        echo "pid=$pid"
        exit 0
      fi
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "start.sh: attempt $attempt: scim2-server did not answer on port $port; its log:" >&2
  cat "$log" >&2 || true
done
echo "start.sh: scim2-server did not start" >&2
exit 1

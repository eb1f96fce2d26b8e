#!/usr/bin/env bash
# The main job (`make run`): the bundled CA on its embedded default (SQLite) and the
# desktop app (its local signing API inside) with the demo citizen's keys preselected; without a
# display, the terminal API instead.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${QALAM_RUN_DIR:-.data}
ca_home="$data/ca"
ca_port=${QALAM_CA_PORT:-8080}
api_port=${QALAM_PORT:-13579}

if [ ! -f "$ca_home/ca.json" ]; then
  echo "run: creating the bundled CA in $ca_home (adopting the demo PKI in certs/)"
  .venv/bin/qalam-ca init --data-dir "$ca_home" --base-url "http://127.0.0.1:$ca_port"
fi

.venv/bin/qalam demo

.venv/bin/qalam-ca serve --data-dir "$ca_home" --port "$ca_port" &
ca_pid=$!
trap 'kill "$ca_pid" 2>/dev/null; wait "$ca_pid" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 50); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$ca_port/api/v1/health', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
echo "run: the CA answers on http://127.0.0.1:$ca_port (OpenAPI at /docs, OCSP /ocsp, TSA /tsp)"

# The demo citizen's two keys (TEST ONLY, password Qwerty12), offered first in the key chooser.
mapfile -t citizen_keys < <(.venv/bin/python -c "
import json
for key in json.load(open('certs/demo/index.json')):
    if key['id'] in ('citizen_sign', 'citizen_auth'):
        print('certs/' + key['path'])
")
key_args=()
for key in "${citizen_keys[@]}"; do key_args+=(--key "$key"); done

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  # The desktop app in the foreground: tray icon, window, and the local API portals reach on
  # wss://127.0.0.1:$api_port; every request is confirmed in its dialogs.
  .venv/bin/qalam app --data-dir "$data/qalam" --port "$api_port" \
    --tsa-url "http://127.0.0.1:$ca_port/tsp" "${key_args[@]}"
else
  echo "run: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop app cannot"
  echo "run: open its windows. Falling back to the terminal: 'qalam serve' asks on this terminal."
  echo "run: demo keys to type at its prompt: ${citizen_keys[*]} (password Qwerty12)"
  .venv/bin/qalam serve --data-dir "$data/qalam" --port "$api_port" \
    --tsa-url "http://127.0.0.1:$ca_port/tsp"
fi

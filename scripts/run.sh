#!/usr/bin/env bash
# The main job (`make run`): the bundled CA on its embedded default (SQLite) and the local
# signing API that portals reach, with the demo PKI's keys listed for the person at the keyboard.
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

# The local API in the foreground: portals connect to wss://127.0.0.1:$api_port and every
# request is confirmed on this terminal.
.venv/bin/qalam serve --data-dir "$data/qalam" --port "$api_port" --tsa-url "http://127.0.0.1:$ca_port/tsp"

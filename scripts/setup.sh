#!/usr/bin/env bash
# Prepare a machine for Qalam: the Debian tools the tests drive, then a local virtual environment.
# Safe to run again: it installs only what is missing and reuses .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, one per line with the command (or absolute file) that proves it is present.
need=()
while read -r pkg probe; do
  [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ] && continue
  if [ "${probe:0:1}" = "/" ]; then
    [ -e "$probe" ] || need+=("$pkg")
  else
    command -v "$probe" >/dev/null 2>&1 || need+=("$pkg")
  fi
done < scripts/debian-packages.txt

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${need[*]}" >&2
    echo "setup: run as root, or: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: Python 3.11 or newer is needed (found $($PY --version 2>&1))" >&2; exit 1; }
  "$PY" -m venv .venv
fi
# Reinstall only when the project's dependencies changed.
stamp=.venv/.qalam-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev,package]'
  touch "$stamp"
fi

#!/usr/bin/env bash
# `make package`: the one-folder app in dist/qalam/ (PyInstaller, packaging/qalam.spec) with the
# desktop entry, icon, AppStream file and install.sh beside it, and the same folder as
# dist/qalam-<version>-linux-<arch>.tar.gz. tests/packaging runs this once per test session.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

version=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
# build/pyinstaller keeps PyInstaller's analysis between runs, so an unchanged tree rebuilds fast.
"$PY" -m PyInstaller packaging/qalam.spec --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller

app=dist/qalam
install -D -m 644 packaging/linux/kz.qalam.Qalam.desktop "$app/share/applications/kz.qalam.Qalam.desktop"
install -D -m 644 packaging/linux/kz.qalam.Qalam.svg \
  "$app/share/icons/hicolor/scalable/apps/kz.qalam.Qalam.svg"
install -D -m 644 packaging/linux/kz.qalam.Qalam.metainfo.xml \
  "$app/share/metainfo/kz.qalam.Qalam.metainfo.xml"
install -m 755 packaging/linux/install.sh "$app/install.sh"

tarball="dist/qalam-$version-linux-$(uname -m).tar.gz"
# gzip -1 (tests) is some 5x faster than the default -6 and 7 % bigger.
tar -C dist -cf - qalam | gzip "-${QALAM_GZIP_LEVEL:-6}" > "$tarball"
echo "built $app and $tarball"

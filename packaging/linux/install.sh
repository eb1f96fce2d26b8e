#!/usr/bin/env bash
# Install the unpacked Qalam folder for one user (default PREFIX=~/.local) or system-wide
# (PREFIX=/usr/local, as root): the app in PREFIX/lib/qalam, the `qalam` command in PREFIX/bin,
# the menu entry, icon and AppStream file under PREFIX/share. Run it from the unpacked folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}

mkdir -p "$prefix/lib" "$prefix/bin"
if [ "$here" != "$prefix/lib/qalam" ]; then
  rm -rf "$prefix/lib/qalam.new"
  cp -a "$here" "$prefix/lib/qalam.new"
  rm -rf "$prefix/lib/qalam"
  mv "$prefix/lib/qalam.new" "$prefix/lib/qalam"
fi
ln -sfn "$prefix/lib/qalam/qalam" "$prefix/bin/qalam"
for f in applications/kz.qalam.Qalam.desktop icons/hicolor/scalable/apps/kz.qalam.Qalam.svg \
         metainfo/kz.qalam.Qalam.metainfo.xml; do
  install -D -m 644 "$prefix/lib/qalam/share/$f" "$prefix/share/$f"
done
# The menu entry runs `qalam`: say so when PREFIX/bin is not on PATH.
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "install.sh: add $prefix/bin to PATH" >&2 ;; esac
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
echo "Qalam installed in $prefix/lib/qalam"

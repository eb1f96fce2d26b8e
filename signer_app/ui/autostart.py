"""Start on login (Linux): the XDG autostart entry, written or removed by the Settings page.

freedesktop's Desktop Application Autostart spec: a .desktop file in
$XDG_CONFIG_HOME/autostart (default ~/.config/autostart) is started at login. It is written
atomically, like every file the app keeps.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..crypto.atomicfile import atomic_write

# The application id of packaging/linux/kz.qalam.Qalam.desktop: the entry's file name and its
# icon's theme name, so the login entry shows the same icon as the menu entry.
APP_ID = "kz.qalam.Qalam"
FILE_NAME = f"{APP_ID}.desktop"


def autostart_dir() -> Path:
    """$XDG_CONFIG_HOME/autostart, or ~/.config/autostart."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


def autostart_file() -> Path:
    """Where the entry lives."""
    return autostart_dir() / FILE_NAME


def default_command() -> list[str]:
    """How this installation starts the app: the `qalam` script beside this Python, or -m."""
    script = Path(sys.executable).with_name("qalam")
    if script.is_file():
        return [str(script), "app", "--hidden"]
    return [sys.executable, "-m", "signer_app.cli", "app", "--hidden"]


def desktop_entry(command: Sequence[str]) -> str:
    """The .desktop text that starts ``command`` at login (quoted as the spec asks)."""
    exec_line = " ".join(_quote(arg) for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Qalam\n"
        "Comment=E-signature client (NCALayer-compatible)\n"
        f"Exec={exec_line}\n"
        f"Icon={APP_ID}\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _quote(arg: str) -> str:
    # The spec's Exec quoting: double quotes, with ", `, $ and \ escaped; % doubled.
    arg = arg.replace("%", "%%")
    if arg and all(c.isalnum() or c in "-_./=:+,@" for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def is_enabled() -> bool:
    """True when the entry exists."""
    return autostart_file().is_file()


def set_start_on_login(enabled: bool, command: Sequence[str] | None = None) -> Path:
    """Write (enabled) or remove the entry; returns its path."""
    path = autostart_file()
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = desktop_entry(command or default_command())
        atomic_write(path, text.encode("utf-8"), mode=0o644)
    else:
        path.unlink(missing_ok=True)
    return path


def command_of(entry_text: str) -> list[str]:
    """The argv of an entry's Exec line (for tests and diagnostics)."""
    for line in entry_text.splitlines():
        if line.startswith("Exec="):
            return [a.replace("%%", "%") for a in shlex.split(line[len("Exec=") :])]
    return []


__all__ = [
    "APP_ID",
    "autostart_dir",
    "autostart_file",
    "command_of",
    "default_command",
    "desktop_entry",
    "is_enabled",
    "set_start_on_login",
]

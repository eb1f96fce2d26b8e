"""One Qalam per user and data dir: a second start brings the first one's window forward.

The first instance listens on a QLocalServer (a Unix socket / Windows named pipe) named after
the user and the data dir; a later start connects, says "show" and exits 0. A name left by a
crashed instance (nobody answers) is removed and taken over.

A start with files (a file manager's "Open with Qalam") hands them over in the same message:
one ``open <path>`` line per file after ``show``, the path absolute and percent-encoded (a file
name may hold a newline). The first instance reads until the sender hangs up, then opens them.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote_to_bytes

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW = b"show\n"
OPEN = b"open "
CONNECT_MS = 500
# A handoff is a few paths; anything longer is not from a Qalam.
MAX_MESSAGE = 1 << 20


def server_name(data_dir: Path) -> str:
    """The local socket name for this user and data dir (short: socket paths are limited)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    digest = hashlib.sha256(f"{user}\0{data_dir.resolve()}".encode()).hexdigest()[:16]
    return f"qalam-{digest}"


def handoff(files: Sequence[Path] = ()) -> bytes:
    """The message a later start sends: show, then one line per file to open."""
    lines = [OPEN + quote_from_bytes(os.fsencode(p.absolute())).encode() + b"\n" for p in files]
    return SHOW + b"".join(lines)


def parse_handoff(message: bytes) -> tuple[bool, list[Path]]:
    """(show asked, files to open) from a handoff message; unknown lines are ignored."""
    show = False
    files: list[Path] = []
    for line in message.split(b"\n"):
        if line == SHOW.strip():
            show = True
        elif line.startswith(OPEN) and len(line) > len(OPEN):
            files.append(Path(os.fsdecode(unquote_to_bytes(line[len(OPEN) :]))))
    return show, files


def ask_running_instance(name: str, files: Sequence[Path] = ()) -> bool:
    """True when an instance answered on ``name`` and was asked to show its window (and to
    open ``files``)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_MS):
        return False
    socket.write(handoff(files))
    socket.flush()
    socket.waitForBytesWritten(CONNECT_MS)
    socket.disconnectFromServer()
    return True


class SingleInstance(QObject):
    """The first instance's listener; ``activated`` fires when a later start asks to show,
    ``files_opened`` with the files it handed over."""

    activated = Signal()
    files_opened = Signal(list)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._on_connection)
        self._received: dict[QLocalSocket, bytearray] = {}

    def listen(self) -> bool:
        """Take the name (removing a stale one a crashed instance left); False if impossible."""
        if self.server.listen(self.name):
            return True
        QLocalServer.removeServer(self.name)
        return self.server.listen(self.name)

    def close(self) -> None:
        """Stop listening (at quit)."""
        self.server.close()

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._received[socket] = bytearray()
            socket.readyRead.connect(lambda s=socket: self._on_ready(s))
            socket.disconnected.connect(lambda s=socket: self._on_done(s))
            if socket.bytesAvailable():
                self._on_ready(socket)
            if socket.state() == QLocalSocket.LocalSocketState.UnconnectedState:
                self._on_done(socket)

    def _on_ready(self, socket: QLocalSocket) -> None:
        buffer = self._received.get(socket)
        if buffer is None:
            return
        buffer += bytes(socket.readAll().data())
        if len(buffer) > MAX_MESSAGE:
            buffer.clear()
            socket.abort()

    def _on_done(self, socket: QLocalSocket) -> None:
        buffer = self._received.pop(socket, None)
        if buffer is None:
            return
        buffer += bytes(socket.readAll().data())
        socket.deleteLater()
        show, files = parse_handoff(bytes(buffer))
        if show:
            self.activated.emit()
        if files:
            self.files_opened.emit(files)


__all__ = ["SingleInstance", "ask_running_instance", "handoff", "parse_handoff", "server_name"]

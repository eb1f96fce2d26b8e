"""Cold start of the desktop app: `qalam app` launched to its first API greeting.

* app_start: Popen of `python -m signer_app.cli app --hidden` (offscreen Qt, its own data dir,
  a free port) until a WebSocket client gets the greeting frame: by then the QApplication, the
  tray, the window and the API listener all exist. First run (the TLS identity is made) and the
  median of three runs with the data dir in place. Target < 1.5 s.
* raw primitive, same run: the bare `python -c "from PySide6.QtWidgets import QApplication;
  QApplication([])"` start (offscreen), median of three; the figure is reported as a ratio to it.
* what dominates: `python -X importtime -c "import signer_app.ui.app"`: the whole import and
  the largest of its direct imports, by cumulative time.

Loopback only, bounded (each start has a 30 s timeout), nothing on stdout.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5
ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _greeting(port: int, deadline: float) -> None:
    # Timing only: the server's root is made by the run being timed, so it is not pinned here.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    while True:
        try:
            async with connect(f"wss://127.0.0.1:{port}", ssl=context, open_timeout=5) as ws:
                await ws.recv()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.005)


def _app_start(data_dir: Path) -> float:
    port = _free_port()
    command = [sys.executable, "-m", "signer_app.cli", "app", "--hidden"]
    command += ["--data-dir", str(data_dir), "--port", str(port)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        asyncio.run(_greeting(port, time.monotonic() + 30))
        return time.perf_counter() - start
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _empty_qapplication() -> float:
    code = "from PySide6.QtWidgets import QApplication; QApplication([])"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, timeout=30)
    return time.perf_counter() - start


def _import_costs(top: int = 6) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import signer_app.ui.app"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rows: list[dict[str, object]] = []
    total = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if name.strip() == "signer_app.ui.app":
            total = int(cumulative)
        elif depth == 1:
            # What signer_app.ui.app imports directly, each with all it pulled in first.
            rows.append({"module": name.strip(), "ms": round(int(cumulative) / 1000, 1)})
    rows.sort(key=lambda row: float(str(row["ms"])), reverse=True)
    rows.insert(0, {"module": "signer_app.ui.app (all)", "ms": round(total / 1000, 1)})
    return rows[:top]


def run(raw: Raw) -> dict[str, object]:
    """The figures above, as a JSON-able dict (``raw`` unused: the primitive here is Qt's)."""
    del raw
    with tempfile.TemporaryDirectory(prefix="qalam-bench-app-") as tmp:
        folder = Path(tmp)
        first = _app_start(folder)
        warm = statistics.median(_app_start(folder) for _ in range(3))
    empty = statistics.median(_empty_qapplication() for _ in range(3))
    return {
        "first_run_s": round(first, 3),
        "app_start_s": round(warm, 3),
        "target_s": TARGET_S,
        "empty_qapplication_s": round(empty, 3),
        "ratio_to_empty_qapplication": round(warm / empty, 2),
        "dominant_imports": _import_costs(),
    }

"""Fixtures for interop tests that talk to a real `qalam serve --scripted` process.

`qalam_serve(answers)` starts the server on a free loopback port with its own data dir and
script, waits for the "listening" line and stops it (SIGTERM) when the test ends.
`node_modules` runs `npm ci` in tests/node once per session (node and npm are required tools:
CI installs them; a missing one fails, it does not skip).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running `qalam serve`: where it listens, the root it generated, its process."""

    port: int
    data_dir: Path
    script: Path
    proc: subprocess.Popen[str]
    stdout: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"wss://127.0.0.1:{self.port}"

    @property
    def root_pem(self) -> Path:
        return self.data_dir / "tls" / "root.pem"

    @property
    def server_pem(self) -> Path:
        return self.data_dir / "tls" / "server.pem"


def _tool(name: str) -> str:
    import shutil

    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh (CI installs it)")
    return path


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/node/node_modules from the committed package-lock.json (npm ci when missing)."""
    _tool("node")
    npm = _tool("npm")
    modules = NODE_DIR / "node_modules"
    if not (modules / "ncalayer-js-client" / "package.json").is_file():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci in {NODE_DIR} failed:\n{done.stdout}\n{done.stderr}")
    return modules


def start_qalam_serve(folder: Path, answers: object) -> Served:
    """Start `qalam serve --scripted` in ``folder`` (script, data dir) and wait until it listens."""
    folder.mkdir(parents=True)
    script = folder / "answers.json"
    script.write_text(json.dumps(answers), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "signer_app.cli", "serve", "--scripted", str(script)]
    command += ["--port", str(port), "--data-dir", str(folder / "home")]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(port, folder / "home", script, proc)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        served.stdout.append(line)
        if line.startswith("Root certificate to trust:"):
            break
    if not any("listening" in line for line in served.stdout):
        stop_qalam_serve(served)
        pytest.fail(f"qalam serve did not start: {''.join(served.stdout)}")
    return served


def stop_qalam_serve(served: Served) -> str:
    """SIGTERM (kill after 10 s); its stderr (the audit log) is kept beside the script."""
    served.proc.terminate()
    try:
        _, err = served.proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        _, err = served.proc.communicate(timeout=10)
    (served.script.parent / "serve.stderr.txt").write_text(err or "", encoding="utf-8")
    return err or ""


@pytest.fixture
def qalam_serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `qalam serve --scripted` with the given answers (an object or a list)."""
    started: list[Served] = []

    def start(answers: object, name: str = "serve") -> Served:
        served = start_qalam_serve(tmp_path / name, answers)
        started.append(served)
        return served

    yield start
    for served in started:
        stop_qalam_serve(served)


@pytest.fixture(scope="session")
def qalam_process() -> tuple[Callable[[Path, object], Served], Callable[[Served], str]]:
    """(start, stop) for tests that manage a server's lifetime themselves (module scope)."""
    return start_qalam_serve, stop_qalam_serve

"""A real, throwaway PostgreSQL for tests: one private cluster per test session.

Debian's server binaries (/usr/lib/postgresql/*/bin) start a cluster in a temporary directory
(under /dev/shm when there is one), listening on 127.0.0.1 at a free port with trust
authentication, only when a test first asks for it. Root cannot run postgres, so as root the
cluster runs as the `postgres` OS user (runuser).

Import `postgres_server` into a conftest (or a test module) to use the fixture: every importer
gets the same cluster, so the CA tests and the end-to-end tests share one server per session;
it is stopped and deleted when the session ends.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

__all__ = ["PostgresServer", "postgres_server"]


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: "
            "run scripts/setup.sh (CI installs Debian's postgresql)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running throwaway cluster: connect as `postgres` to 127.0.0.1:`port`."""

    port: int
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def create_database(self, template: str | None = None) -> str:
        name = f"qalam_{next(self._names)}"
        with self.admin() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(f"CREATE DATABASE {name}{suffix}")  # type: ignore[arg-type]
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@dataclass
class _Cluster:
    server: PostgresServer
    stop: contextlib.ExitStack


_running: list[_Cluster] = []


def _start() -> _Cluster:
    bindir = _pg_bin()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="qalam-pg-", dir=shm if shm.is_dir() else None))
    data = root / "data"
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_postgres, *argv], check=True, capture_output=True, timeout=120)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=100"
        )
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}")

    def stop() -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)

    stack = contextlib.ExitStack()
    stack.callback(stop)
    return _Cluster(PostgresServer(port), stack)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL cluster of this test session, stopped and deleted at the end."""
    if not _running:
        _running.append(_start())
    try:
        yield _running[0].server
    finally:
        # Every importer's fixture ends with the session; the first to end stops the cluster.
        while _running:
            _running.pop().stop.close()

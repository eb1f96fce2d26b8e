"""`qalam-ca serve` as real processes: two servers on one PostgreSQL database issue at the same
time with unique serial numbers, a one-time code pays for one pair only, time-stamp serials never
repeat; and `serve` refuses a data directory that holds no instance, with one clear sentence."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import tsp as asn1_tsp
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ca_server import cli, registry
from ca_server.ca_keys import PASSPHRASE_ENV
from ca_server.db import CertificateRecord
from ca_server.http.app import PASSPHRASE_FILE_ENV, SKIP_MIGRATE_ENV, app_from_env
from ca_server.instance import HOME_ENV, Instance

CITIZEN = "850101300124"
PASSPHRASE = "test-instance-passphrase"
CsrFactory = Callable[..., tuple[Any, bytes]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def launch(
    data_dir: Path, port: int, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `qalam-ca serve` on 127.0.0.1:`port` (see `ready`)."""
    log = data_dir.parent / f"serve-{port}.log"
    return subprocess.Popen(
        [sys.executable, "-m", "ca_server", "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--log-level", "warning", *options],
        env={**os.environ, PASSPHRASE_ENV: PASSPHRASE, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )  # fmt: skip


def ready(process: subprocess.Popen[bytes], data_dir: Path, port: int) -> None:
    """Wait until the server answers /api/v1/health."""
    log = data_dir.parent / f"serve-{port}.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"serve did not answer in time: {log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
def two_servers(instance: Instance) -> Iterator[list[str]]:
    """Two serve processes over the test instance's PostgreSQL database."""
    ports = [free_port(), free_port()]
    started = [launch(instance.data_dir, port, "--db", instance.db.url) for port in ports]
    try:
        for process, port in zip(started, ports, strict=True):
            ready(process, instance.data_dir, port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in started:
            stop(process)


def _pem(der: bytes) -> str:
    return (
        "-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(der).decode()
        + ("-----END CERTIFICATE REQUEST-----\n")
    )


def _certificates(instance: Instance) -> int:
    with instance.db.reading() as session:
        return session.scalar(select(func.count()).select_from(CertificateRecord)) or 0


@pytest.mark.parametrize("instance", ["postgresql"], indirect=True)
def test_two_servers_on_one_postgresql_never_repeat_a_serial_nor_redeem_a_code_twice(
    instance: Instance, two_servers: list[str], make_csr: CsrFactory
) -> None:
    codes = [
        registry.create_ticket(instance.db, CITIZEN, "operator:t", "enroll").code for _ in range(4)
    ]
    before = _certificates(instance)
    request = {
        "iin": CITIZEN,
        "csr_auth": _pem(make_csr(CITIZEN)[1]),
        "csr_sign": _pem(make_csr(CITIZEN)[1]),
    }
    answers: list[tuple[str, int, dict[str, Any]]] = []
    barrier = threading.Barrier(len(codes) * len(two_servers))

    def enrol(base: str, code: str) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            barrier.wait(30)
            answer = client.post("/api/v1/enroll", json={**request, "code": code})
            answers.append((code, answer.status_code, answer.json()))

    threads = [
        threading.Thread(target=enrol, args=(base, code)) for code in codes for base in two_servers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert len(answers) == 8
    for code in codes:
        outcomes = sorted(
            (status, body.get("code", "")) for c, status, body in answers if c == code
        )
        assert outcomes == [(201, ""), (403, "code_used")], outcomes
    serials = [
        body["serials"][p] for _, status, body in answers if status == 201 for p in ("auth", "sign")
    ]
    assert len(set(serials)) == 8
    assert _certificates(instance) == before + 8
    # Time-stamp serials come from one database counter, in blocks: never twice the same.
    query = asn1_tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": b"\1" * 32,
            },
        }
    ).dump()
    stamped = []
    for turn in range(20):
        answer = httpx.post(
            f"{two_servers[turn % 2]}/tsp",
            content=query,
            headers={"Content-Type": "application/timestamp-query"},
        )
        content = asn1_tsp.TimeStampResp.load(answer.content)["time_stamp_token"]["content"]
        stamped.append(content["encap_content_info"]["content"].parsed["serial_number"].native)
    assert len(set(stamped)) == 20


def test_serve_refuses_a_data_dir_without_an_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    status = cli.main(["serve", "--data-dir", str(tmp_path / "nothing"), "--port", "1"])
    err = capsys.readouterr().err
    assert status == 1
    assert "run `qalam-ca init` first" in err
    assert "[instance_missing]" in err


def test_each_worker_opens_the_instance_from_the_environment_serve_sets(
    sqlite_instance: Instance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.setenv(HOME_ENV, str(sqlite_instance.data_dir))
    monkeypatch.setenv(PASSPHRASE_FILE_ENV, str(secret))
    monkeypatch.setenv(SKIP_MIGRATE_ENV, "1")
    with TestClient(app_from_env()) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"

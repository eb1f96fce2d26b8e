"""The PSC re-issue flow end to end, between real processes, checked with openssl.

A real `qalam-ca serve` (two workers) on each database, SQLite and PostgreSQL (the session's
cluster of tests/postgres.py), and the real `qalam` command line: the operator signs in with
the GOV CA key and makes a code, the citizen re-issues with it; `openssl ocsp` then says the
old SIGN certificate is revoked and the new one good, the new SIGN key signs a CMS that
`openssl cms -verify` accepts with the CA chain, and the CA's audit log holds every step, in
order, with the operator's identity.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from postgres import PostgresServer, postgres_server  # noqa: F401 - postgres_server is a fixture
from test_ca_http_openssl import (
    PASSPHRASE,
    Server,
    _wait_ready,
    fetch,
    free_port,
    openssl_csr,
    post_json,
    run,
)

from ca_server.authority import PAUSE_BEFORE_COMMIT_ENV, TEST_HOOKS_ENV
from ca_server.ca_keys import PASSPHRASE_ENV
from signer_app.crypto.keystores import open_pkcs12

pytestmark = pytest.mark.interop

CITIZEN = "850101300124"
OPERATOR = "880612300019"
NEW_PASSWORD = "Reissued-At-Home-1"


@dataclass
class Served(Server):
    """`qalam-ca serve` and, on PostgreSQL, its database (for a look at pg_locks)."""

    postgres: tuple[PostgresServer, str] | None = None

    def queued_on_a_lock(self) -> bool:
        """Whether some transaction of the CA waits on an advisory lock (PostgreSQL only)."""
        assert self.postgres is not None
        cluster, name = self.postgres
        with psycopg.connect(
            host="127.0.0.1", port=cluster.port, user="postgres", dbname=name, autocommit=True
        ) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
        return bool(row and row[0])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """`qalam-ca init` then `qalam-ca serve --workers 2` on each kind of database (with the
    pause-before-commit test hook of authority.py armed by a file)."""
    work = tmp_path_factory.mktemp(f"reissue-{request.param}")
    data_dir = work / "ca"
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE}
    database: list[str] = []
    pg: PostgresServer | None = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        name = pg.create_database()
        database = ["--db", pg.url(name)]  # kept in ca.json: serve and the CLI find it there
    init = subprocess.run(
        [sys.executable, "-m", "ca_server", "init", "--data-dir", str(data_dir),
         "--base-url", url, *database],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert ("postgresql" in init.stdout) == (pg is not None), init.stdout
    log = work / "serve.log"
    pause = work / "pause-before-commit"
    process = subprocess.Popen(
        [sys.executable, "-m", "ca_server", "serve", "--data-dir", str(data_dir),
         "--port", url.rsplit(":", 1)[1], "--workers", "2", "--log-level", "warning"],
        env={**env, TEST_HOOKS_ENV: "1", PAUSE_BEFORE_COMMIT_ENV: str(pause)},
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )  # fmt: skip
    try:
        _wait_ready(url, process, log)
        on_pg = (pg, database[1].rsplit("/", 1)[1]) if pg is not None else None
        yield Served(data_dir, work, url, process, pause, on_pg)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if pg is not None:
            pg.drop_database(database[1].rsplit("/", 1)[1])


def qalam(home: Path, *argv: str, **env: str) -> str:
    """Run the `qalam` command line as a separate process."""
    result = subprocess.run(
        [sys.executable, "-m", "signer_app.cli", *argv],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "QALAM_HOME": str(home), **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def pem_file(folder: Path, name: str, certificate: Any) -> Path:
    path = folder / name
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def ocsp_status(openssl: str, ca: Server, issuer: Path, leaf: Path, chain: Path) -> str:
    answer = run(
        [openssl, "ocsp", "-issuer", str(issuer), "-cert", str(leaf), "-url",
         f"{ca.url}/ocsp", "-CAfile", str(chain)]
    ).stdout  # fmt: skip
    return answer.split(f"{leaf}: ", 1)[1].split()[0]


def test_operator_code_then_citizen_reissue_then_openssl_sees_old_revoked_and_new_good(
    server: Server,
    demo: dict[str, Any],
    openssl: str,
    tmp_path: Path,
) -> None:
    operator = demo["psc_operator_auth"]
    desk = tmp_path / "psc-desk"
    signed_in = qalam(desk, "operator", "login", "--key", str(operator.path),
                      "--ca-url", server.url, QALAM_PASSWORD=operator.password)  # fmt: skip
    assert f"IIN {OPERATOR}" in signed_in
    assert CITIZEN in qalam(desk, "operator", "find", CITIZEN)
    made = qalam(desk, "operator", "code", CITIZEN, "--document-type", "id_card",
                 "--document-number", "0" + CITIZEN[-8:])  # fmt: skip
    found = re.search(r"code for IIN \d{12}: (\S+)", made)
    assert found is not None
    qalam(desk, "operator", "logout")

    home, keys = tmp_path / "citizen-home", tmp_path / "new-keys"
    keys.mkdir()
    qalam(home, "reissue", "--iin", CITIZEN, "--code", found.group(1), "--out", str(keys),
          "--ca-url", server.url, QALAM_NEW_PASSWORD=NEW_PASSWORD)  # fmt: skip
    (sign_file,) = keys.glob("RSA256_*.p12")
    new_sign = open_pkcs12(sign_file, NEW_PASSWORD).entry
    issuer, root = new_sign.chain

    work = tmp_path / "openssl"
    work.mkdir()
    issuer_pem = pem_file(work, "nac.pem", issuer)
    chain = work / "chain.pem"
    chain.write_bytes(issuer_pem.read_bytes() + pem_file(work, "root.pem", root).read_bytes())
    old_leaf = pem_file(work, "old-sign.pem", demo["citizen_sign"].open().certificate)
    new_leaf = pem_file(work, "new-sign.pem", new_sign.certificate)
    assert ocsp_status(openssl, server, issuer_pem, new_leaf, chain) == "good"
    # Superseded by the re-issue; each worker notices within a second (its revocation watch).
    deadline = time.monotonic() + 10
    while ocsp_status(openssl, server, issuer_pem, old_leaf, chain) != "revoked":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    document = work / "statement.txt"
    document.write_text("Заявление: новые ключи получены.\n", encoding="utf-8")
    signature = work / "statement.txt.cms"
    qalam(home, "sign", str(document), "-k", str(sign_file), "-o", str(signature),
          QALAM_PASSWORD=NEW_PASSWORD)  # fmt: skip
    run([openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signature),
         "-CAfile", str(chain), "-purpose", "any", "-out", str(work / "content.out")])  # fmt: skip
    assert (work / "content.out").read_bytes() == document.read_bytes()

    trail = server.cli("audit", "--since", "1h")
    steps = [
        (f"operator:{OPERATOR}", "operator.sign_in"),
        (f"operator:{OPERATOR}", "ticket.create"),
        (f"applicant:{CITIZEN}", "ticket.redeem"),
        (f"applicant:{CITIZEN}", "certificate.issue"),
    ]
    lines = trail.splitlines()
    at = 0
    for actor, action in steps:
        while at < len(lines) and not (actor in lines[at] and f"  {action}  " in lines[at]):
            at += 1
        assert at < len(lines), f"{actor} {action} missing or out of order in:\n{trail}"
    assert "certificate.revoke" in trail.split("ticket.redeem", 1)[1]


def test_two_reissues_for_one_iin_at_once_exactly_one_wins(
    server: Served, openssl: str, tmp_path: Path
) -> None:
    """Two codes, two requests: the first is held signed but uncommitted (the test hook) while
    the second arrives; on PostgreSQL the second is seen queued on the holder's lock."""
    codes = [
        server.cli("ticket", "--iin", CITIZEN, "--purpose", "reissue").split(": ", 1)[1].split()[0]
        for _ in range(2)
    ]
    bodies = [
        {
            "iin": CITIZEN,
            "code": code,
            "csr_auth": openssl_csr(openssl, tmp_path, f"auth-{n}", CITIZEN),
            "csr_sign": openssl_csr(openssl, tmp_path, f"sign-{n}", CITIZEN),
        }
        for n, code in enumerate(codes)
    ]
    answers: dict[int, tuple[int, dict[str, object]]] = {}

    def send(n: int) -> None:
        answers[n] = post_json(f"{server.url}/api/v1/enroll", bodies[n])

    marker = server.pause.with_name(server.pause.name + ".pid")
    server.pause.touch()
    try:
        first = threading.Thread(target=send, args=(0,))
        first.start()
        deadline = time.monotonic() + 60
        while not marker.exists() or not marker.read_text():
            assert time.monotonic() < deadline, "the first issuance never reached the hook"
            time.sleep(0.05)
        second = threading.Thread(target=send, args=(1,))
        second.start()
        if server.postgres is not None:
            while not server.queued_on_a_lock():
                assert time.monotonic() < deadline, "the second never queued behind the first"
                time.sleep(0.05)
    finally:
        server.pause.unlink()
    first.join(60)
    second.join(60)
    marker.unlink()
    (won, issued), (lost, refusal) = answers[0], answers[1]
    assert won == 201, issued
    assert (lost, refusal["code"]) == (409, "reissue_conflict"), refusal
    serials = issued["serials"]
    assert isinstance(serials, dict)
    for serial in serials.values():
        status = json.loads(fetch(f"{server.url}/api/v1/certificates/{serial}"))
        assert status["status"] == "good"  # the loser revoked nothing

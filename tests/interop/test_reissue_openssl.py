"""The PSC re-issue flow end to end, between real processes, checked with openssl.

A real `qalam-ca serve` (two workers) on each database, SQLite and PostgreSQL (the session's
cluster of tests/postgres.py), and the real `qalam` command line: the operator signs in with
the GOV CA key and makes a code, the citizen re-issues with it; `openssl ocsp` then says the
old SIGN certificate is revoked and the new one good, the new SIGN key signs a CMS that
`openssl cms -verify` accepts with the CA chain, and the CA's audit log holds every step, in
order, with the operator's identity.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from postgres import PostgresServer, postgres_server  # noqa: F401 - postgres_server is a fixture
from test_ca_http_openssl import PASSPHRASE, Server, _wait_ready, free_port, run

from ca_server.ca_keys import PASSPHRASE_ENV
from signer_app.crypto.keystores import open_pkcs12

pytestmark = pytest.mark.interop

CITIZEN = "850101300124"
OPERATOR = "880612300019"
NEW_PASSWORD = "Reissued-At-Home-1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`qalam-ca init` then `qalam-ca serve --workers 2` on each kind of database."""
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
    process = subprocess.Popen(
        [sys.executable, "-m", "ca_server", "serve", "--data-dir", str(data_dir),
         "--port", url.rsplit(":", 1)[1], "--workers", "2", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
    )  # fmt: skip
    try:
        _wait_ready(url, process, log)
        yield Server(data_dir, work, url, process, work / "no-pause")
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

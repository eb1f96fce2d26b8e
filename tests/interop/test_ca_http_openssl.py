"""A real `qalam-ca serve` (two uvicorn workers, SQLite) checked with tools nobody here wrote.

The instance is made with `qalam-ca init --base-url http://127.0.0.1:PORT`, so the certificates
it issues name this server in their AIA and CDP, and openssl follows them. In order:
`openssl req` CSRs enrol with a one-time code from `qalam-ca ticket`; `openssl ocsp` says good,
`qalam-ca revoke` (another process) runs, and `openssl ocsp` says revoked; the CRL fetched with
curl lists the serial and `openssl verify -crl_check` refuses the certificate; a time-stamp
from `openssl ts -query`, POSTed to /tsp, passes `openssl ts -verify`. Last, a worker is killed
(SIGKILL) while an issuance waits between "signed" and "committed" (a test hook, active only
with QALAM_CA_TEST_HOOKS=1): the client gets nothing, the database has no new certificate, and
the code still works once the supervisor has replaced the worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from ca_server.authority import PAUSE_BEFORE_COMMIT_ENV, TEST_HOOKS_ENV
from ca_server.ca_keys import PASSPHRASE_ENV
from ca_server.db import CertificateRecord, default_url, open_database

pytestmark = pytest.mark.interop

PASSPHRASE = "interop-passphrase"
CITIZEN = "850101300124"
CEO = "750315300018"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `qalam-ca serve` over an instance of its own."""

    data_dir: Path
    work: Path
    url: str
    process: subprocess.Popen[bytes]
    pause: Path  # exists: issuances wait before their commit

    def env(self) -> dict[str, str]:
        return {**os.environ, PASSPHRASE_ENV: PASSPHRASE}

    def cli(self, *argv: str) -> str:
        """Run qalam-ca against the same data directory (another process)."""
        result = subprocess.run(
            [sys.executable, "-m", "ca_server", *argv, "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, env=self.env(), timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    def certificates(self) -> int:
        db = open_database(default_url(self.data_dir), migrate=False)
        try:
            with db.reading() as session:
                return session.scalar(select(func.count()).select_from(CertificateRecord)) or 0
        finally:
            db.dispose()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {log.read_text()}")
        try:
            health = f"{url}/api/v1/health"
            with urllib.request.urlopen(health, timeout=5) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"serve did not start: {log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("ca-http")
    data_dir = work / "ca"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE}
    init = subprocess.run(
        [sys.executable, "-m", "ca_server", "init", "--data-dir", str(data_dir), "--base-url", url],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    pause = work / "pause-before-commit"
    log = work / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "ca_server", "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env={**env, TEST_HOOKS_ENV: "1", PAUSE_BEFORE_COMMIT_ENV: str(pause)},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )  # fmt: skip
    try:
        _wait_ready(url, process, log)
        yield Server(data_dir, work, url, process, pause)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def fetch(url: str, data: bytes | None = None, content_type: str | None = None) -> bytes:
    """GET or POST with curl, as a portal developer would; urllib where curl is absent."""
    curl = shutil.which("curl")
    if curl is not None:
        argv = [curl, "-sS", "--fail-with-body", url]
        if data is not None:
            argv += ["--data-binary", "@-", "-H", f"Content-Type: {content_type}"]
        result = subprocess.run(argv, input=data, capture_output=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout
    request = urllib.request.Request(url, data=data)  # noqa: S310 - loopback only
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        body: bytes = answer.read()
        return body


def post_json(url: str, body: object) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv[:3]} failed:\n{result.stdout}\n{result.stderr}")
    return result


def one_time_code(server: Server, iin: str = CITIZEN) -> str:
    out = server.cli("ticket", "--iin", iin, "--purpose", "enroll")
    return out.split(": ", 1)[1].split()[0]


def openssl_csr(openssl: str, folder: Path, name: str, iin: str) -> str:
    key, csr = folder / f"{name}.key", folder / f"{name}.csr"
    run([openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(csr), "-subj", f"/serialNumber=IIN{iin}"])  # fmt: skip
    return csr.read_text()


@dataclass
class Enrolled:
    leaf: Path  # the AUTH certificate, PEM
    issuer: Path  # the NAC issuing CA, PEM
    chain: Path  # issuing CA and root, PEM
    serial: str
    ocsp_url: str
    crl_url: str


@pytest.fixture(scope="module")
def enrolled(server: Server, openssl: str) -> Enrolled:
    """A citizen enrolled over HTTP with CSRs made by `openssl req` and a code from the CLI."""
    folder = server.work / "citizen"
    folder.mkdir()
    status, issued = post_json(
        f"{server.url}/api/v1/enroll",
        {
            "iin": CITIZEN,
            "code": one_time_code(server),
            "csr_auth": openssl_csr(openssl, folder, "auth", CITIZEN),
            "csr_sign": openssl_csr(openssl, folder, "sign", CITIZEN),
        },
    )
    assert status == 201, issued
    leaf, issuer, chain = folder / "auth.pem", folder / "ca.pem", folder / "chain.pem"
    leaf.write_text(str(issued["auth"]))
    chain_pems = issued["chain"]
    assert isinstance(chain_pems, list)
    issuer.write_text(chain_pems[0])
    chain.write_text("".join(chain_pems))
    certificate = x509.load_pem_x509_certificate(leaf.read_bytes())
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    cdp = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    ocsp_url = next(str(d.access_location.value) for d in aia if d.access_method._name == "OCSP")
    full_name = cdp[0].full_name
    assert full_name is not None
    return Enrolled(
        leaf, issuer, chain, f"{certificate.serial_number:x}", ocsp_url, str(full_name[0].value)
    )


def test_openssl_req_csrs_enrol_and_the_certificates_name_this_server(
    server: Server, enrolled: Enrolled, openssl: str
) -> None:
    run([openssl, "verify", "-CAfile", str(enrolled.chain), str(enrolled.leaf)])
    assert enrolled.ocsp_url == f"{server.url}/ocsp"
    assert enrolled.crl_url == f"{server.url}/crl/nac.crl"
    subject = run([openssl, "x509", "-in", str(enrolled.leaf), "-noout", "-subject"]).stdout
    assert f"IIN{CITIZEN}" in subject


def _ocsp(openssl: str, enrolled: Enrolled) -> str:
    result = run(
        [openssl, "ocsp", "-issuer", str(enrolled.issuer), "-cert", str(enrolled.leaf),
         "-url", enrolled.ocsp_url, "-CAfile", str(enrolled.chain), "-resp_text"]
    )  # fmt: skip
    assert "Response verify OK" in result.stderr
    return result.stdout


def test_openssl_ocsp_says_good_then_revoked_after_qalam_ca_revoke(
    server: Server, enrolled: Enrolled, openssl: str
) -> None:
    assert f"{enrolled.leaf}: good" in _ocsp(openssl, enrolled)
    server.cli("revoke", enrolled.serial, "--reason", "keyCompromise")
    # Another process revoked it: each worker notices within a second (its revocation watch).
    deadline = time.monotonic() + 10
    while f"{enrolled.leaf}: revoked" not in (answer := _ocsp(openssl, enrolled)):
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)
    assert "Reason: keyCompromise" in answer


def test_the_crl_from_the_cdp_url_lists_the_revocation_and_openssl_verify_refuses(
    server: Server, enrolled: Enrolled, openssl: str
) -> None:
    status = json.loads(fetch(f"{server.url}/api/v1/certificates/{enrolled.serial}"))
    if status["status"] != "revoked":
        server.cli("revoke", enrolled.serial, "--reason", "keyCompromise")
    crl_der = server.work / "nac.crl"
    crl_der.write_bytes(fetch(enrolled.crl_url))
    text = run([openssl, "crl", "-inform", "DER", "-in", str(crl_der), "-noout", "-text"]).stdout
    assert enrolled.serial.upper() in text
    crl_pem = server.work / "nac-crl.pem"
    run([openssl, "crl", "-inform", "DER", "-in", str(crl_der), "-out", str(crl_pem)])
    refused = run(
        [openssl, "verify", "-crl_check", "-CRLfile", str(crl_pem), "-CAfile",
         str(enrolled.chain), str(enrolled.leaf)],
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_an_openssl_time_stamp_query_posted_to_tsp_verifies_with_openssl(
    server: Server, openssl: str, trust_chain_pem: Path
) -> None:
    document = server.work / "document.txt"
    document.write_text("Қалам — time-stamped\n", encoding="utf-8")
    query = run_bytes([openssl, "ts", "-query", "-data", str(document), "-sha256", "-cert"])
    reply = server.work / "document.tsr"
    reply.write_bytes(fetch(f"{server.url}/tsp", query, "application/timestamp-query"))
    chain = server.work / "tsa-chain.pem"
    nac = fetch(f"{server.url}/ca/nac.crt")
    root = fetch(f"{server.url}/ca/nac-root.crt")
    chain.write_bytes(
        b"".join(
            x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
            for der in (nac, root)
        )
    )
    verified = run(
        [openssl, "ts", "-verify", "-data", str(document), "-in", str(reply),
         "-CAfile", str(chain)]
    )  # fmt: skip
    assert "Verification: OK" in verified.stdout


def run_bytes(argv: list[str]) -> bytes:
    result = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_worker_killed_between_signing_and_commit_leaves_nothing_issued(
    server: Server, openssl: str
) -> None:
    folder = server.work / "killed"
    folder.mkdir()
    code = one_time_code(server, CEO)
    request = {
        "iin": CEO,
        "code": code,
        "role": "individual",
        "csr_auth": openssl_csr(openssl, folder, "auth", CEO),
        "csr_sign": openssl_csr(openssl, folder, "sign", CEO),
    }
    before = server.certificates()
    server.pause.touch()
    outcome: list[object] = []

    def enrol() -> None:
        try:
            outcome.append(post_json(f"{server.url}/api/v1/enroll", request))
        except (OSError, ValueError) as error:  # the connection died with the worker
            outcome.append(error)

    client = threading.Thread(target=enrol)
    client.start()
    marker = server.pause.with_name(server.pause.name + ".pid")
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the issuance never reached the hook"
        time.sleep(0.05)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    client.join(60)
    server.pause.unlink()
    marker.unlink()
    assert len(outcome) == 1
    assert isinstance(outcome[0], OSError | ValueError), f"something was returned: {outcome}"
    assert server.certificates() == before
    # The code was never consumed: the transaction died with the worker.
    _wait_ready(server.url, server.process, server.work / "serve.log")
    status, issued = post_json(f"{server.url}/api/v1/enroll", request)
    assert status == 201, issued
    assert server.certificates() == before + 2

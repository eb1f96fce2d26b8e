"""OpenSSL accepts what the CA's responders make: OCSP responses, CRLs and RFC 3161 tokens.

OpenSSL writes the requests (`openssl ocsp -reqout`, `openssl ts -query`), our responder cores
answer them in-process (no HTTP here), and OpenSSL checks the answers against the demo trust
chain: the delegated responder's authority, the nonce, the statuses, the CRL's signature and
entries, and the time-stamp token. The statuses come from the demo PKI itself (its CRL and
certs/demo/index.json), as an adopted demo PKI answers from the first request. The `openssl`
fixture is tests/conftest.py's (require_tool: a missing openssl fails the test).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server import crl, ocsp, tsa
from ca_server.ocsp import CertId, CertStatus, OcspSigner
from ca_server.tsa import TsaSigner

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
CERTS = ROOT / "certs"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("responders")


def _write_pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


@pytest.fixture(scope="module")
def nac() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    certificate = x509.load_pem_x509_certificate((CERTS / "nac" / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (CERTS / "nac" / "ca.key.pem").read_bytes(), b"demo-ca-passphrase"
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return certificate, key


@pytest.fixture(scope="module")
def responder(nac: tuple[x509.Certificate, rsa.RSAPrivateKey], work: Path) -> OcspSigner:
    """The NAC delegated OCSP responder; its certificate is written to responder.pem."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    certificate = ocsp.make_responder_certificate(
        nac[0], nac[1], key.public_key(), not_before=start
    )
    _write_pem(work / "responder.pem", certificate)
    return OcspSigner(certificate, key, {"nac": nac[0]})


@pytest.fixture(scope="module")
def time_stamper(nac: tuple[x509.Certificate, rsa.RSAPrivateKey], work: Path) -> TsaSigner:
    """The NAC TSA; its certificate is written to tsa.pem."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    certificate = tsa.make_tsa_certificate(nac[0], nac[1], key.public_key(), not_before=start)
    _write_pem(work / "tsa.pem", certificate)
    return TsaSigner(certificate, key, fractional_digits=3)


@pytest.fixture(scope="module")
def leaf(demo: dict[str, Any], work: Path) -> Callable[[str], Path]:
    """A demo certificate (by index id) as a PEM file."""

    def write(key_id: str) -> Path:
        path = work / f"{key_id}.pem"
        if not path.exists():
            _write_pem(path, demo[key_id].open().certificate)
        return path

    return write


@pytest.fixture(scope="module")
def demo_statuses(demo: dict[str, Any]) -> Callable[[CertId], CertStatus]:
    """What an adopted demo PKI answers: its own CRL's entries are revoked, the rest good."""
    demo_crl = x509.load_der_x509_crl((CERTS / "nac" / "crl.der").read_bytes())
    revoked = {entry.serial_number: entry for entry in demo_crl}
    issued = {key.open().certificate.serial_number for key in demo.values() if key.ca == "nac"}

    def lookup(cert_id: CertId) -> CertStatus:
        entry = revoked.get(cert_id.serial_number)
        if entry is not None:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            return CertStatus.revoked(entry.revocation_date_utc, reason)
        if cert_id.serial_number in issued:
            return CertStatus.good()
        return CertStatus.unknown()

    return lookup


def _serial(key: Any) -> str:
    serial: int = key.open().certificate.serial_number
    return f"{serial:x}"


def run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{argv[1:3]} failed:\n{result.stdout}\n{result.stderr}")
    return result


# -- OCSP ------------------------------------------------------------------------------------


def _ocsp_round_trip(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    lookup: Callable[[CertId], CertStatus],
    leaves: list[Path],
    options: list[str],
    name: str,
) -> tuple[Path, Path]:
    request, response = work / f"{name}.req", work / f"{name}.resp"
    certs = [arg for path in leaves for arg in ("-cert", str(path))]
    issuer = str(CERTS / "nac" / "ca.pem")
    run([openssl, "ocsp", "-issuer", issuer, *options, *certs, "-reqout", str(request)])
    response.write_bytes(ocsp.respond(request.read_bytes(), responder, lookup))
    return request, response


def _check(openssl: str, request: Path, response: Path, trust: list[str]) -> str:
    """openssl checks the response against the request it made (nonce) and the trust given."""
    result = run(
        [openssl, "ocsp", "-reqin", str(request), "-respin", str(response), *trust, "-resp_text"]
    )
    assert "Response verify OK" in result.stderr
    assert "Nonce Verify error" not in result.stdout + result.stderr
    assert "WARNING: no nonce in response" not in result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("options", "name"),
    [
        (["-nonce"], "sha1-nonce"),
        (["-no_nonce"], "sha1-no-nonce"),
        (["-sha256", "-nonce"], "sha256-nonce"),
    ],
)
def test_openssl_reads_good_for_a_valid_demo_certificate(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    demo_statuses: Callable[[CertId], CertStatus],
    leaf: Callable[[str], Path],
    trust_chain_pem: Path,
    options: list[str],
    name: str,
) -> None:
    citizen = leaf("citizen_sign")
    request, response = _ocsp_round_trip(
        openssl, work, responder, demo_statuses, [citizen], options, name
    )
    text = _check(openssl, request, response, ["-CAfile", str(trust_chain_pem)])
    assert "Cert Status: good" in text
    if "-nonce" in options:
        assert "OCSP Nonce" in text
    digest = ["-sha256"] if "-sha256" in options else []
    summary = run(
        [
            openssl,
            "ocsp",
            "-respin",
            str(response),
            "-issuer",
            str(CERTS / "nac" / "ca.pem"),
            *digest,
            "-cert",
            str(citizen),
            "-CAfile",
            str(trust_chain_pem),
            "-no_nonce",
        ]
    )
    assert f"{citizen}: good" in summary.stdout
    assert "WARNING" not in summary.stdout + summary.stderr


def test_openssl_reads_revoked_with_reason_for_the_revoked_demo_certificate(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    demo_statuses: Callable[[CertId], CertStatus],
    leaf: Callable[[str], Path],
    trust_chain_pem: Path,
) -> None:
    request, response = _ocsp_round_trip(
        openssl, work, responder, demo_statuses, [leaf("revoked_sign")], ["-nonce"], "revoked"
    )
    text = _check(openssl, request, response, ["-CAfile", str(trust_chain_pem)])
    assert "Cert Status: revoked" in text
    assert "Revocation Reason: keyCompromise" in text
    assert "Revocation Time:" in text


def test_openssl_trusts_the_responder_named_with_vafile(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    demo_statuses: Callable[[CertId], CertStatus],
    leaf: Callable[[str], Path],
) -> None:
    request, response = _ocsp_round_trip(
        openssl, work, responder, demo_statuses, [leaf("ceo_sign")], ["-nonce"], "vafile"
    )
    text = _check(openssl, request, response, ["-VAfile", str(work / "responder.pem")])
    assert "Cert Status: good" in text


def test_openssl_gets_every_answer_of_a_request_for_several_certificates(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    demo_statuses: Callable[[CertId], CertStatus],
    leaf: Callable[[str], Path],
    trust_chain_pem: Path,
) -> None:
    leaves = [leaf("citizen_sign"), leaf("revoked_sign"), leaf("employee_auth")]
    request, response = _ocsp_round_trip(
        openssl, work, responder, demo_statuses, leaves, ["-nonce"], "several"
    )
    text = _check(openssl, request, response, ["-CAfile", str(trust_chain_pem)])
    assert re.findall(r"Cert Status: (\w+)", text) == ["good", "revoked", "good"]


def test_openssl_sees_unauthorized_for_another_ca_s_certificate(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    demo_statuses: Callable[[CertId], CertStatus],
    leaf: Callable[[str], Path],
) -> None:
    request, response = work / "gov.req", work / "gov.resp"
    run(
        [
            openssl,
            "ocsp",
            "-issuer",
            str(CERTS / "gov" / "ca.pem"),
            "-cert",
            str(leaf("civil_servant_sign")),
            "-reqout",
            str(request),
        ]
    )
    response.write_bytes(ocsp.respond(request.read_bytes(), responder, demo_statuses))
    result = run(
        [openssl, "ocsp", "-respin", str(response), "-resp_text", "-noverify"], check=False
    )
    assert "Responder Error: unauthorized (6)" in result.stdout


def test_openssl_reads_malformed_request_for_garbage(
    openssl: str,
    work: Path,
    responder: OcspSigner,
    demo_statuses: Callable[[CertId], CertStatus],
) -> None:
    response = work / "garbage.resp"
    response.write_bytes(ocsp.respond(b"GET / HTTP/1.1\r\n", responder, demo_statuses))
    result = run(
        [openssl, "ocsp", "-respin", str(response), "-resp_text", "-noverify"], check=False
    )
    assert "Responder Error: malformedrequest (1)" in result.stdout


# -- CRL -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crl_pem(
    openssl: str,
    work: Path,
    nac: tuple[x509.Certificate, rsa.RSAPrivateKey],
    demo: dict[str, Any],
) -> Path:
    """A CRL of the NAC issuing CA listing the demo PKI's revoked certificates."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    entries = [
        crl.RevokedEntry(
            key.open().certificate.serial_number,
            now - dt.timedelta(days=1),
            x509.ReasonFlags.key_compromise,
        )
        for key in demo.values()
        if key.ca == "nac" and key.status == "revoked"
    ]
    der = crl.build_crl(nac[0], nac[1], entries, 42, now, now + dt.timedelta(days=1))
    (work / "nac.crl").write_bytes(der)
    run(
        [
            openssl,
            "crl",
            "-inform",
            "DER",
            "-in",
            str(work / "nac.crl"),
            "-out",
            str(work / "nac-crl.pem"),
        ]
    )
    return work / "nac-crl.pem"


def test_openssl_lists_the_revoked_serials_with_their_reasons(
    openssl: str, work: Path, crl_pem: Path, demo: dict[str, Any], trust_chain_pem: Path
) -> None:
    result = run(
        [
            openssl,
            "crl",
            "-inform",
            "DER",
            "-in",
            str(work / "nac.crl"),
            "-text",
            "-noout",
            "-CAfile",
            str(trust_chain_pem),
        ]
    )
    text = result.stdout
    assert "verify OK" in result.stderr
    assert "Version 2 (0x1)" in text
    assert re.search(r"X509v3 CRL Number:\s+42", text)
    assert "X509v3 Authority Key Identifier" in text
    listed = {s.lower() for s in re.findall(r"Serial Number: ([0-9A-F]+)", text)}
    revoked = {_serial(k) for k in demo.values() if k.ca == "nac" and k.status == "revoked"}
    assert listed == revoked
    assert text.count("Key Compromise") == len(revoked)


@pytest.mark.parametrize(
    ("key_id", "revoked"),
    [("revoked_sign", True), ("revoked_auth", True), ("citizen_sign", False)],
)
def test_openssl_verify_with_the_crl_fails_only_for_a_revoked_certificate(
    openssl: str,
    crl_pem: Path,
    leaf: Callable[[str], Path],
    trust_chain_pem: Path,
    key_id: str,
    revoked: bool,
) -> None:
    result = run(
        [
            openssl,
            "verify",
            "-crl_check",
            "-CRLfile",
            str(crl_pem),
            "-CAfile",
            str(trust_chain_pem),
            str(leaf(key_id)),
        ],
        check=False,
    )
    if revoked:
        assert result.returncode != 0
        assert "certificate revoked" in result.stdout + result.stderr
    else:
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().endswith("OK")


# -- TSA -------------------------------------------------------------------------------------


@pytest.mark.parametrize("digest", ["-sha256", "-sha512"])
@pytest.mark.parametrize("nonce", [None, "-no_nonce"])  # openssl ts sends a nonce by default
@pytest.mark.parametrize("cert", ["-cert", None])
def test_openssl_verifies_our_time_stamp_token(
    openssl: str,
    work: Path,
    time_stamper: TsaSigner,
    trust_chain_pem: Path,
    digest: str,
    nonce: str | None,
    cert: str | None,
) -> None:
    name = f"ts{digest}{nonce or ''}{cert or ''}"
    data = work / "document.txt"
    data.write_bytes("Құжат — документ — document\n".encode() * 100)
    query, reply = work / f"{name}.tsq", work / f"{name}.tsr"
    options = [digest] + [option for option in (nonce, cert) if option]
    run([openssl, "ts", "-query", "-data", str(data), *options, "-out", str(query)])
    reply.write_bytes(tsa.respond(query.read_bytes(), time_stamper, serial=0x5EED0001))
    text = run([openssl, "ts", "-reply", "-in", str(reply), "-text"]).stdout
    assert "Status: Granted." in text
    assert "Policy OID: 1.2.398.3.3.2.6.2" in text
    assert "Serial number: 0x5EED0001" in text
    assert "Accuracy: 0x01 seconds" in text
    assert ("Nonce: unspecified" in text) == (nonce == "-no_nonce")
    untrusted = ["-untrusted", str(work / "tsa.pem")]
    for against in (["-queryfile", str(query)], ["-data", str(data)]):
        result = run(
            [
                openssl,
                "ts",
                "-verify",
                "-in",
                str(reply),
                *against,
                "-CAfile",
                str(trust_chain_pem),
                *untrusted,
            ]
        )
        assert "Verification: OK" in result.stdout


def test_openssl_reads_our_refusal_of_a_sha1_imprint(
    openssl: str, work: Path, time_stamper: TsaSigner
) -> None:
    data = work / "document.txt"
    data.write_bytes(b"document\n")
    query, reply = work / "sha1.tsq", work / "sha1.tsr"
    run([openssl, "ts", "-query", "-data", str(data), "-sha1", "-out", str(query)])
    reply.write_bytes(tsa.respond(query.read_bytes(), time_stamper, serial=1))
    text = run([openssl, "ts", "-reply", "-in", str(reply), "-text"]).stdout
    assert "Status: Rejected." in text
    assert "unrecognized or unsupported algorithm identifier" in text


def test_openssl_reads_our_refusal_of_garbage(
    openssl: str, work: Path, time_stamper: TsaSigner
) -> None:
    reply = work / "garbage.tsr"
    reply.write_bytes(tsa.respond(b"GET / HTTP/1.1\r\n", time_stamper, serial=1))
    text = run([openssl, "ts", "-reply", "-in", str(reply), "-text"]).stdout
    assert "Status: Rejected." in text
    assert "the data submitted has the wrong format" in text

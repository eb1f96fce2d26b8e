"""OpenSSL and our archive-time-stamp-v3: `openssl cms -verify` accepts an LTA and a renewed one
(unsigned attributes are not its business), and `openssl ts -verify -data` accepts each archive
token over the exact bytes ETSI EN 319 122-1 §5.5.3 has it stamp (archive_timestamp.stamped_data).
No independent ATSv3 validator (EU DSS is Java, on Maven Central) is reachable from here."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_OK, main
from signer_app.crypto import archive_timestamp

pytestmark = pytest.mark.interop

DOCUMENT = "Келісімшарт № 3: ұзақ сақтау — долгое хранение — long-term\n".encode()


def run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, check=False, timeout=60)


def openssl_cms_verify(openssl: str, chain: Path, signed: Path, data: Path | None) -> None:
    argv = [openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed)]
    argv += ["-CAfile", str(chain), "-purpose", "any", "-out", os.devnull]
    if data is not None:
        argv += ["-content", str(data)]
    done = run(argv)
    assert done.returncode == 0, done.stderr.decode()


def openssl_ts_verify_each_archive_token(
    openssl: str, chain: Path, signature: bytes, data: bytes | None, folder: Path
) -> int:
    tokens = archive_timestamp.archive_tokens(signature)
    for number, token in enumerate(tokens):
        token_file = folder / f"archive-{number}.tst"
        token_file.write_bytes(token)
        stamped = folder / f"archive-{number}.stamped"
        stamped.write_bytes(archive_timestamp.stamped_data(signature, token, data))
        tsa = folder / f"archive-{number}-tsa.pem"
        tsa.write_bytes(_tsa_certificate(token).public_bytes(Encoding.PEM))
        argv = [openssl, "ts", "-verify", "-token_in", "-in", str(token_file)]
        argv += ["-data", str(stamped), "-CAfile", str(chain), "-untrusted", str(tsa)]
        done = run(argv)
        assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
        assert b"Verification: OK" in done.stdout
        # and not over anything else: the index is part of what is stamped
        stamped.write_bytes(archive_timestamp.stamped_data(signature, token, data)[:-1])
        done = run(argv)
        assert done.returncode != 0
        assert b"message imprint mismatch" in done.stdout + done.stderr
    return len(tokens)


def _tsa_certificate(token: bytes) -> x509.Certificate:
    signed = asn1_cms.ContentInfo.load(token)["content"]
    (certificate,) = [
        c.chosen for c in signed["certificates"] if c.chosen.extended_key_usage_value is not None
    ]
    return x509.load_der_x509_certificate(certificate.dump())


@pytest.mark.parametrize("detached", [False, True])
def test_openssl_accepts_our_lta_and_its_renewal_and_each_archive_token(
    bundled_ca: RunningCa,
    demo,
    openssl,
    trust_chain_pem,
    tmp_path: Path,
    monkeypatch,
    capsys,
    detached,
) -> None:
    key = demo["citizen_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    document = tmp_path / "contract.txt"
    document.write_bytes(DOCUMENT)
    lta, renewed = tmp_path / "contract.lta.cms", tmp_path / "contract.renewed.cms"
    home = ["--data-dir", str(tmp_path / "home")]
    common = ["--tsa", bundled_ca.tsa_url, "--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}"]
    argv = ["sign", str(document), "-k", str(key.path), "--level", "b-lta", *common, *home]
    assert main([*argv, *(["--detached"] if detached else []), "-o", str(lta)]) == EXIT_OK
    extend = ["extend", str(lta), "-o", str(renewed), *common, *home]
    assert main([*extend, *(["--data", str(document)] if detached else [])]) == EXIT_OK

    data_file = document if detached else None
    data = DOCUMENT if detached else None
    for signed, stamps in ((lta, 1), (renewed, 2)):
        openssl_cms_verify(openssl, trust_chain_pem, signed, data_file)
        signature = signed.read_bytes()
        assert (
            openssl_ts_verify_each_archive_token(
                openssl, trust_chain_pem, signature, data, tmp_path
            )
            == stamps
        )

        capsys.readouterr()
        verify = ["verify", str(signed), "--offline", "--json", *home]
        assert main([*verify, *(["--data", str(document)] if detached else [])]) == EXIT_OK
        report = json.loads(capsys.readouterr().out)
        assert report["indication"] == "TOTAL_PASSED"
        (signer,) = report["signers"]
        assert signer["level"] == "LTA"
        assert len(signer["timestamps"]) == 1 + stamps

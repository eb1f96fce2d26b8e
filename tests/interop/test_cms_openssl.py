"""CMS interop with OpenSSL: it accepts what we sign, and we accept what it signs (DER and BER).

OpenSSL checks the signer's chain against the demo roots and issuing CAs (trust_chain_pem);
``-purpose any`` because SIGN certificates carry nonRepudiation, not the S/MIME purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from signer_app.crypto import cms
from signer_app.crypto.keystores import KeyEntry, SoftwareKey

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]

PAYLOAD = "Құжат мәтіні — текст документа — document text\n".encode() * 40
SIGN_KEYS = ["citizen_sign", "citizen_ec_sign", "citizen_rsa4096_sign"]


@pytest.fixture(scope="module")
def ceo_sign(demo: dict[str, Any]) -> KeyEntry:
    """A second signer for co-signing."""
    return demo["ceo_sign"].open()  # type: ignore[no-any-return]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _verify(
    openssl: str, cms_path: Path, trust: Path, *, content: Path | None = None, inform: str = "DER"
) -> subprocess.CompletedProcess[bytes]:
    argv = [openssl, "cms", "-verify", "-binary", "-inform", inform, "-in", str(cms_path)]
    argv += ["-CAfile", str(trust), "-purpose", "any", "-out", os.devnull]
    if content is not None:
        argv += ["-content", str(content)]
    return subprocess.run(argv, capture_output=True, check=False)


def _pem_files(entry: KeyEntry, folder: Path) -> tuple[Path, Path]:
    """The demo key and certificate as PEM files for ``openssl cms -sign``."""
    assert isinstance(entry.key, SoftwareKey)
    key = entry.key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert = entry.certificate.public_bytes(serialization.Encoding.PEM)
    return _write(folder / "signer.key", key), _write(folder / "signer.pem", cert)


def _openssl_sign(openssl: str, entry: KeyEntry, folder: Path, data: Path, *options: str) -> bytes:
    key, cert = _pem_files(entry, folder)
    out = folder / "openssl.p7"
    argv = [openssl, "cms", "-sign", "-binary", "-md", "sha256", "-signer", str(cert)]
    argv += ["-inkey", str(key), "-in", str(data), "-outform", "DER", "-out", str(out), *options]
    subprocess.run(argv, capture_output=True, check=True)
    return out.read_bytes()


# -- OpenSSL verifies ours ---------------------------------------------------------------------


@pytest.mark.parametrize("key_id", SIGN_KEYS)
def test_attached_cms_verifies_with_openssl(
    key_id: str, demo: dict[str, Any], openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    blob = cms.sign(PAYLOAD, demo[key_id].open())

    result = _verify(openssl, _write(tmp_path / "a.p7", blob), trust_chain_pem)

    assert result.returncode == 0, result.stderr.decode()
    assert b"Verification successful" in result.stderr


@pytest.mark.parametrize("key_id", SIGN_KEYS)
def test_detached_cms_verifies_with_openssl_given_the_content(
    key_id: str, demo: dict[str, Any], openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    blob = cms.sign(PAYLOAD, demo[key_id].open(), detached=True)
    content = _write(tmp_path / "content.bin", PAYLOAD)

    result = _verify(openssl, _write(tmp_path / "d.p7", blob), trust_chain_pem, content=content)

    assert result.returncode == 0, result.stderr.decode()


def test_cms_over_a_hash_verifies_with_openssl_given_the_content(
    citizen_sign: KeyEntry, openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    blob = cms.sign_digest(hashlib.sha256(PAYLOAD).digest(), citizen_sign)
    content = _write(tmp_path / "content.bin", PAYLOAD)

    result = _verify(openssl, _write(tmp_path / "h.p7", blob), trust_chain_pem, content=content)

    assert result.returncode == 0, result.stderr.decode()


def test_cms_with_chain_verifies_with_openssl(
    citizen_sign: KeyEntry, openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign, include_chain=True)

    result = _verify(openssl, _write(tmp_path / "c.p7", blob), trust_chain_pem)

    assert result.returncode == 0, result.stderr.decode()


def test_cosigned_cms_lists_two_signer_infos_and_verifies_with_openssl(
    demo: dict[str, Any],
    ceo_sign: KeyEntry,
    openssl: str,
    trust_chain_pem: Path,
    tmp_path: Path,
) -> None:
    first = cms.sign(PAYLOAD, demo["citizen_ec_sign"].open())
    path = _write(tmp_path / "co.p7", cms.cosign(first, ceo_sign))

    printed = subprocess.run(
        [openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = _verify(openssl, path, trust_chain_pem)

    signer_infos = printed.split("signerInfos:", 1)[1]
    assert len(re.findall(r"^ {8}signatureAlgorithm:", signer_infos, re.M)) == 2
    assert result.returncode == 0, result.stderr.decode()


def test_changed_content_is_rejected_by_openssl_and_by_us(
    citizen_sign: KeyEntry, openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign)
    position = blob.index(PAYLOAD) + 10
    tampered = blob[:position] + bytes([blob[position] ^ 0x20]) + blob[position + 1 :]

    result = _verify(openssl, _write(tmp_path / "t.p7", tampered), trust_chain_pem)

    assert result.returncode != 0
    assert not cms.verify(tampered).valid


def test_changed_detached_content_is_rejected_by_openssl_and_by_us(
    citizen_sign: KeyEntry, openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    blob = cms.sign(PAYLOAD, citizen_sign, detached=True)
    other = PAYLOAD[:-1] + b"?"

    result = _verify(
        openssl,
        _write(tmp_path / "d.p7", blob),
        trust_chain_pem,
        content=_write(tmp_path / "other.bin", other),
    )

    assert result.returncode != 0
    assert not cms.verify(blob, other).valid


# -- we verify (and co-sign) OpenSSL's ---------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(("-nodetach",), id="DER attached"),
        pytest.param(("-nodetach", "-stream"), id="BER indefinite-length attached"),
        pytest.param(("-nodetach", "-cades"), id="CAdES signingCertificateV2"),
        pytest.param(("-nodetach", "-keyid"), id="signer by subjectKeyIdentifier"),
        pytest.param(("-nodetach", "-noattr"), id="no signed attributes"),
    ],
)
def test_we_verify_openssl_attached_output(
    options: tuple[str, ...], citizen_sign: KeyEntry, openssl: str, tmp_path: Path
) -> None:
    data = _write(tmp_path / "data.bin", PAYLOAD)

    blob = _openssl_sign(openssl, citizen_sign, tmp_path, data, *options)

    if "-stream" in options:
        assert blob[:2] == b"\x30\x80"  # really indefinite length
    result = cms.verify(blob)
    assert result.valid, [s.problems for s in result.signers]
    assert result.content == PAYLOAD
    assert result.signers[0].certificate == citizen_sign.certificate


def test_we_verify_openssl_ec_output(demo: dict[str, Any], openssl: str, tmp_path: Path) -> None:
    entry = demo["citizen_ec_sign"].open()
    data = _write(tmp_path / "data.bin", PAYLOAD)

    blob = _openssl_sign(openssl, entry, tmp_path, data, "-nodetach")

    assert cms.verify(blob).valid


def test_we_verify_openssl_detached_output_from_a_stream(
    citizen_sign: KeyEntry, openssl: str, tmp_path: Path
) -> None:
    data = _write(tmp_path / "data.bin", PAYLOAD)

    blob = _openssl_sign(openssl, citizen_sign, tmp_path, data)  # DER without -stream: detached

    assert cms.verify(blob, PAYLOAD).detached
    with data.open("rb") as stream:
        assert cms.verify(blob, stream=stream).valid
    assert not cms.verify(blob, PAYLOAD + b"\n").valid


def test_we_read_openssl_pem_output(citizen_sign: KeyEntry, openssl: str, tmp_path: Path) -> None:
    data = _write(tmp_path / "data.bin", PAYLOAD)
    der_blob = _openssl_sign(openssl, citizen_sign, tmp_path, data, "-nodetach")
    pem = subprocess.run(
        [openssl, "cms", "-cmsout", "-inform", "DER", "-outform", "PEM"],
        input=der_blob,
        capture_output=True,
        check=True,
    ).stdout

    assert pem.startswith(b"-----BEGIN CMS-----")
    assert cms.load(pem.decode()) == der_blob
    assert cms.verify(pem).valid


def test_tampered_openssl_ber_is_rejected_by_us(
    citizen_sign: KeyEntry, openssl: str, tmp_path: Path
) -> None:
    data = _write(tmp_path / "data.bin", PAYLOAD)
    blob = _openssl_sign(openssl, citizen_sign, tmp_path, data, "-nodetach", "-stream")
    position = blob.index(PAYLOAD[:32]) + 5

    tampered = blob[:position] + bytes([blob[position] ^ 0x01]) + blob[position + 1 :]

    assert cms.verify(tampered).signers[0].problems == (cms.DIGEST_MISMATCH,)


def test_cosigned_openssl_ber_verifies_with_openssl_and_us(
    citizen_sign: KeyEntry,
    ceo_sign: KeyEntry,
    openssl: str,
    trust_chain_pem: Path,
    tmp_path: Path,
) -> None:
    data = _write(tmp_path / "data.bin", PAYLOAD)
    blob = _openssl_sign(openssl, citizen_sign, tmp_path, data, "-nodetach", "-stream", "-cades")

    both = cms.cosign(blob, ceo_sign)

    assert cms.verify(both).valid
    result = _verify(openssl, _write(tmp_path / "both.p7", both), trust_chain_pem)
    assert result.returncode == 0, result.stderr.decode()


# -- a large file in constant memory ----------------------------------------------------------

_STREAM_CHILD = textwrap.dedent(
    """
    import json, sys
    from signer_app.crypto import cms
    from signer_app.crypto.keystores import open_pkcs12
    entry = open_pkcs12(sys.argv[1], sys.argv[2]).entry
    with open(sys.argv[3], "rb") as stream:
        signature = cms.sign_stream(stream, entry)
    with open(sys.argv[4], "wb") as out:
        out.write(signature)
    status = open("/proc/self/status", encoding="ascii").read()
    print(json.dumps({"vmhwm_kb": int(status.split("VmHWM:")[1].split()[0])}))
    """
)


@pytest.mark.slow
def test_two_gib_sparse_file_signs_in_constant_memory_and_openssl_agrees(
    demo: dict[str, Any], openssl: str, trust_chain_pem: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as sparse:
        sparse.truncate(2 << 30)  # 2 GiB of zeros that take no disk
    key = demo["citizen_sign"]
    out = tmp_path / "big.p7"

    child = subprocess.run(
        [
            sys.executable,
            "-c",
            _STREAM_CHILD,
            str(key.path),
            key.password,
            str(big),
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    peak_mb = json.loads(child.stdout)["vmhwm_kb"] / 1024
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB"
    result = _verify(openssl, out, trust_chain_pem, content=big)
    assert result.returncode == 0, result.stderr.decode()
    with big.open("rb") as stream:
        assert cms.verify(out.read_bytes(), stream=stream).valid

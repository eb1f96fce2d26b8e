"""Checking a renewed CAdES-LTA's archive-time-stamp-v3 chain against the raw primitive under it.

* check: archive_timestamp.check_archive_timestamps over an attached CMS (1 KiB payload) that
  carries the demo chain and CRLs, a signature timestamp and STAMPS archive timestamps (each a
  renewal of the one before), per second, times STAMPS, divided by ``openssl speed rsa2048``
  public-key operations per second: each archive token costs one RSA-2048 verification (the
  TSA's) plus hashing the index entries and the signed data, so a ratio near 1 means the
  hash-index bookkeeping around that verification is cheap.

The tokens come from ca_server.tsa called in-process (no HTTP). Rates are the median of several
short windows. Nothing is printed to stdout: the harness prints the JSON.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server import tsa
from signer_app.crypto import archive_timestamp, cades_lt, cms
from signer_app.crypto import tsp as tsp_client
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.keystores import open_pkcs12

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
NAC_PASSPHRASE = b"demo-ca-passphrase"  # the demo PKI's, TEST ONLY (certs/README.md)
PAYLOAD = b"\x5a" * 1024
STAMPS = 3
WINDOWS = 5
WINDOW_SECONDS = 0.6


def _stamper() -> tsa.TsaSigner:
    ca_cert = x509.load_pem_x509_certificate((CERTS / "nac" / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key(
        (CERTS / "nac" / "ca.key.pem").read_bytes(), NAC_PASSPHRASE
    )
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise RuntimeError("the demo NAC key is not RSA")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    certificate = tsa.make_tsa_certificate(ca_cert, ca_key, key.public_key(), not_before=start)
    return tsa.TsaSigner(certificate, key)


def _renewed_lta() -> bytes:
    signer = _stamper()
    serials = itertools.count(1)

    def stamp(imprint: bytes) -> bytes:
        number = next(serials)
        query = tsp_client.build_query(imprint, DigestAlgorithm.SHA256, nonce=number, cert_req=True)
        answer = tsa.respond(query, signer, serial=number)
        return tsp_client.parse_response(answer, query).der

    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    entry = open_pkcs12(CERTS / row["path"], row["password"]).entry
    signed = cms.add_signature_timestamp(cms.sign(PAYLOAD, entry), stamp)
    chain = [
        c.public_bytes(serialization.Encoding.DER)
        for c in x509.load_pem_x509_certificates((CERTS / "trust" / "demo-chain.pem").read_bytes())
    ]
    crls = tuple((CERTS / "nac" / name).read_bytes() for name in ("crl.der", "root-crl.der"))
    signed = cades_lt.add_validation_data(signed, cades_lt.ValidationData(tuple(chain), (), crls))
    for _ in range(STAMPS):
        signed = archive_timestamp.add_archive_timestamp(signed, stamp)
    return signed


def _rate(signature: bytes) -> float:
    rates = []
    for _ in range(WINDOWS):
        count = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < WINDOW_SECONDS:
            (checks,) = archive_timestamp.check_archive_timestamps(signature)
            if any(c.token is None for c in checks):
                raise RuntimeError("a freshly made archive timestamp does not hold")
            count += 1
        rates.append(count / elapsed)
    return statistics.median(rates)


def run(raw: Raw) -> dict[str, object]:
    """Measure the archive-time-stamp-v3 checks of a renewed LTA; return figures and ratio."""
    print("  lta check ...", file=sys.stderr)
    per_s = _rate(_renewed_lta())
    return {
        "archive_stamps": STAMPS,
        "check_per_s": round(per_s, 1),
        "check_ratio": round(per_s * STAMPS / raw.rsa2048_verify_per_s, 3),
    }

"""Full validation of a CAdES-T signature, warm caches, against the raw RSA-2048 verify rate.

One validation = cms.verify (digest, signed attributes, signature), the timestamp token
(imprint, TSA signature), pyhanko-certvalidator path validation of the signer's and the TSA's
certificates to the demo root, and revocation (OCSP for the end-entity certificates, the root's
CRL for the issuing CA) against the bundled CA served over HTTP on a loopback port, all through
one shared RevocationCache (OCSP answers reused until nextUpdate or 5 minutes, CRLs until
nextUpdate, AIA certificates for a day, validated paths and the revocation statuses drawn from
that evidence: see crypto/validation.py): "warm caches". Figure: validations per second divided
by ``openssl speed rsa2048`` verifications per second (one core), same run; target >= 0.1.
Both rates are per CPU second (openssl speed's own divisor); the wall-clock rate is printed too.

Also measured: ``cms.verify`` alone on the same signature (digest, the signature over the signed
attributes, the timestamp token's imprint and TSA signature): the work no cache may skip, so
the ceiling of a warm full validation.

`python -m bench validation`
"""

from __future__ import annotations

import json
import sys

from cryptography import x509

from signer_app.crypto import cms
from signer_app.crypto.keystores import open_pkcs12
from signer_app.crypto.revocation import RevocationCache
from signer_app.crypto.validation import TOTAL_PASSED, Fetching, validate_cms
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.tsa_client import HttpTsa

from .raw import Raw
from .served_ca import CERTS, rates, served_ca

WINDOWS = 5
WINDOW_SECONDS = 1.0
TARGET = 0.1


def run(raw: Raw) -> dict[str, object]:
    """Serve the bundled CA, make a CAdES-T, measure warm full validations per second."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    entry = open_pkcs12(CERTS / row["path"], row["password"]).entry
    anchors = list(
        x509.load_pem_x509_certificates((CERTS / "trust" / "demo-roots.pem").read_bytes())
    )
    with served_ca() as base:
        signature = cms.add_signature_timestamp(
            cms.sign(b"x" * 1024, entry), HttpTsa(f"{base}/tsp").stamp
        )
        fetching = Fetching(HttpTransport(), RevocationCache(), {"http://127.0.0.1:8080": base})

        def once() -> None:
            report = validate_cms(signature, anchors=anchors, fetching=fetching)
            if report.indication != TOTAL_PASSED:
                raise AssertionError(f"{report.indication} {report.sub_indication}")

        once()  # warm the caches
        print("  full validation ...", file=sys.stderr)
        per_s, wall_per_s = rates(once, WINDOWS, WINDOW_SECONDS)
        print("  cms.verify alone (never cached) ...", file=sys.stderr)
        verify_per_s, _ = rates(lambda: cms.verify(signature), WINDOWS, WINDOW_SECONDS)
    raw_verify = raw.rsa2048_verify_per_s
    ratio = per_s / raw_verify
    return {
        "full_validation_per_cpu_s": round(per_s, 1),
        "full_validation_per_wall_s": round(wall_per_s, 1),
        "openssl_rsa2048_verify_per_s": raw_verify,
        "ratio": round(ratio, 5),
        "cms_verify_with_timestamp_per_s": round(verify_per_s, 1),
        "cms_verify_ratio": round(verify_per_s / raw_verify, 5),
        "target": TARGET,
        "meets_target": ratio >= TARGET,
    }

"""XAdES-LT/LTA: offline validation from the embedded data, against the raw RSA-2048 verify rate.

An XML document is signed XAdES-LTA against the bundled CA served on a loopback port (the
signer's and the TSA's paths, OCSP answers and the root's CRL embedded, then an archive
timestamp). One validation = xmldsig.verify_xml (both references, the signature value), the
signature timestamp and the archive timestamp (imprint, TSA signature, the archive input
re-canonicalized), path validation of the signer's and the TSA's certificates to the demo root
and revocation judged from the embedded OCSP/CRL data at the timestamp's time, with no network
(``Fetching`` offline). Embedded evidence is never cached (validation.py): every run does it all.
Figures: validations per CPU second (served_ca.rates), and that divided by ``openssl speed
rsa2048`` verifications per second (one core), same run; also the XAdES-LTA signing time
(network to the local CA included).

`python -m bench xades_lt`
"""

from __future__ import annotations

import json
import sys
import time

from cryptography import x509

from signer_app.crypto import xades_lt
from signer_app.crypto.keystores import open_pkcs12
from signer_app.crypto.revocation import RevocationCache
from signer_app.crypto.validation import OFFLINE, TOTAL_PASSED, Fetching
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.tsa_client import HttpTsa

from .raw import Raw
from .served_ca import CERTS, rates, served_ca

DOCUMENT = "<req><iin>850101300124</iin><name>ЖҰМАБЕКОВ АСХАТ</name></req>"


def run(raw: Raw) -> dict[str, object]:
    """Serve the bundled CA, sign an XAdES-LTA, measure offline validations per second."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    entry = open_pkcs12(CERTS / row["path"], row["password"]).entry
    anchors = list(
        x509.load_pem_x509_certificates((CERTS / "trust" / "demo-roots.pem").read_bytes())
    )
    with served_ca() as base:
        rewrites = {"http://127.0.0.1:8080": base}
        start = time.perf_counter()
        signed = xades_lt.sign_xades_long_term(
            DOCUMENT,
            entry,
            level="lta",
            stamp=HttpTsa(f"{base}/tsp").stamp,
            anchors=anchors,
            fetching=Fetching(HttpTransport(), RevocationCache(), rewrites),
        )
        sign_ms = (time.perf_counter() - start) * 1000

    def once() -> None:
        report = xades_lt.validate_xades(signed, anchors=anchors, fetching=OFFLINE)
        signer = report.signers[0]
        if report.indication != TOTAL_PASSED or signer.level != "LTA":
            raise AssertionError(f"{report.indication} {report.sub_indication} {signer.level}")

    once()
    print("  offline XAdES-LTA validation ...", file=sys.stderr)
    per_s, _ = rates(once)
    raw_verify = raw.rsa2048_verify_per_s
    return {
        "offline_lta_validation_per_cpu_s": round(per_s, 1),
        "openssl_rsa2048_verify_per_s": raw_verify,
        "ratio": round(per_s / raw_verify, 5),
        "lta_signing_ms_with_local_ca": round(sign_ms, 1),
        "document_bytes": len(signed.encode("utf-8")),
    }

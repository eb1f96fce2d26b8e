"""XAdES-LT/LTA: offline validation from the embedded data, against the raw RSA-2048 verify rate.

An XML document is signed XAdES-LTA against the bundled CA served on a loopback port (the
signer's and the TSA's paths, OCSP answers and the root's CRL embedded, then an archive
timestamp). One validation = xmldsig.verify_xml (both references, the signature value), the
signature timestamp and the archive timestamp (imprint, TSA signature, the archive input
re-canonicalized), path validation of the signer's and the TSA's certificates to the demo root
and revocation judged from the embedded OCSP/CRL data at the timestamp's time, with no network
(``Fetching`` offline). Embedded evidence is never cached (validation.py): every run does it all.
Figures: validations per second, and that divided by ``openssl speed rsa2048`` verifications per
second (one core), same run; also the XAdES-LTA signing time (network to the local CA included).

`python -m bench xades_lt`
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from cryptography import x509

from ca_server.http import HttpSettings, create_app
from ca_server.instance import init_instance, load_instance
from signer_app.crypto import xades_lt
from signer_app.crypto.keystores import open_pkcs12
from signer_app.crypto.revocation import RevocationCache
from signer_app.crypto.validation import OFFLINE, TOTAL_PASSED, Fetching
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.tsa_client import HttpTsa

from .raw import Raw
from .validation import _free_port, _rate

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
DOCUMENT = "<req><iin>850101300124</iin><name>ЖҰМАБЕКОВ АСХАТ</name></req>"


def run(raw: Raw) -> dict[str, object]:
    """Serve the bundled CA, sign an XAdES-LTA, measure offline validations per second."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    entry = open_pkcs12(CERTS / row["path"], row["password"]).entry
    anchors = list(
        x509.load_pem_x509_certificates((CERTS / "trust" / "demo-roots.pem").read_bytes())
    )
    with tempfile.TemporaryDirectory() as folder:
        passphrase = b"bench-xades-lt"
        init_instance(Path(folder) / "ca", certs_dir=CERTS, passphrase=passphrase)
        instance = load_instance(Path(folder) / "ca", passphrase=passphrase, migrate=False)
        port = _free_port()
        app = create_app(instance, HttpSettings(ocsp_poll=dt.timedelta(0)))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            base = f"http://127.0.0.1:{port}"
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
        finally:
            server.should_exit = True
            thread.join(10)
            instance.close()

    def once() -> None:
        report = xades_lt.validate_xades(signed, anchors=anchors, fetching=OFFLINE)
        signer = report.signers[0]
        if report.indication != TOTAL_PASSED or signer.level != "LTA":
            raise AssertionError(f"{report.indication} {report.sub_indication} {signer.level}")

    once()
    print("  offline XAdES-LTA validation ...", file=sys.stderr)
    per_s = _rate(once)
    raw_verify = raw.rsa2048_verify_per_s
    return {
        "offline_lta_validation_per_s": round(per_s, 1),
        "openssl_rsa2048_verify_per_s": raw_verify,
        "ratio": round(per_s / raw_verify, 5),
        "lta_signing_ms_with_local_ca": round(sign_ms, 1),
        "document_bytes": len(signed.encode("utf-8")),
    }

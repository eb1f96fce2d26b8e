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

import datetime as dt
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from cryptography import x509

from ca_server.http import HttpSettings, create_app
from ca_server.instance import init_instance, load_instance
from signer_app.crypto import cms
from signer_app.crypto.keystores import open_pkcs12
from signer_app.crypto.revocation import RevocationCache
from signer_app.crypto.validation import TOTAL_PASSED, Fetching, validate_cms
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.tsa_client import HttpTsa

from .raw import Raw

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
WINDOWS = 5
WINDOW_SECONDS = 1.0
TARGET = 0.1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rate(once: object) -> tuple[float, float]:
    """Calls per CPU second and per wall-clock second, each the median of WINDOWS windows.

    The ratio uses CPU seconds because ``openssl speed`` divides by CPU (user) time unless
    told ``-elapsed``: the same divisor on both sides, so that other work on the machine does
    not count against one side only. CPU time is the whole process's (the CA's server thread
    included), so nothing done on the validation's behalf is left out.
    """
    cpu_rates, wall_rates = [], []
    for _ in range(WINDOWS):
        count = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        while time.perf_counter() - start < WINDOW_SECONDS:
            once()  # type: ignore[operator]
            count += 1
        cpu_rates.append(count / max(time.process_time() - cpu_start, 1e-9))
        wall_rates.append(count / (time.perf_counter() - start))
    return statistics.median(cpu_rates), statistics.median(wall_rates)


def run(raw: Raw) -> dict[str, object]:
    """Serve the bundled CA, make a CAdES-T, measure warm full validations per second."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    entry = open_pkcs12(CERTS / row["path"], row["password"]).entry
    anchors = list(
        x509.load_pem_x509_certificates((CERTS / "trust" / "demo-roots.pem").read_bytes())
    )
    with tempfile.TemporaryDirectory() as folder:
        passphrase = b"bench-validation"
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
            per_s, wall_per_s = _rate(once)
            print("  cms.verify alone (never cached) ...", file=sys.stderr)
            verify_per_s, _ = _rate(lambda: cms.verify(signature))
        finally:
            server.should_exit = True
            thread.join(10)
            instance.close()
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

"""Opening a demo PKCS#12 key file: milliseconds, and where they go."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
)

from signer_app.crypto import pkcs12_kdf
from signer_app.crypto.keystores import SoftwareKey, open_pkcs12

from .raw import Raw

CERTS = Path(__file__).resolve().parent.parent / "certs"


def _ms(action: Callable[[], object], seconds: float = 1.0) -> float:
    action()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        action()
        runs += 1
    return (time.perf_counter() - start) / runs * 1000


def run(raw: Raw) -> dict[str, object]:
    """Open each kind of demo key file; split the time into MAC check and key loading."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    wanted = ["citizen_sign", "ceo_sign", "citizen_rsa4096_sign", "citizen_ec_sign"]
    report: dict[str, object] = {}
    for row in (r for r in rows if r["id"] in wanted):
        path, password = CERTS / row["path"], row["password"]
        data = path.read_bytes()
        entry = open_pkcs12(path, password).entry
        assert isinstance(entry.key, SoftwareKey)
        pkcs8 = entry.key.private_key.private_bytes(
            Encoding.DER, PrivateFormat.PKCS8, NoEncryption()
        )
        total = _ms(lambda p=path, pw=password: open_pkcs12(p, pw))
        mac = _ms(
            lambda d=data, pw=password: pkcs12_kdf.mac_matches(asn1_pkcs12.Pfx.load(d), pw.encode())
        )
        checked = _ms(lambda k=pkcs8: load_der_private_key(k, None))
        unchecked = _ms(
            lambda k=pkcs8: load_der_private_key(k, None, unsafe_skip_rsa_key_validation=True)
        )
        report[row["id"]] = {
            "key": f"{row['algorithm']}-{row['key_size']}",
            "encryption": row["encryption"],
            "open_ms": round(total, 2),
            "mac_check_ms": round(mac, 2),
            "raw_key_load_with_validation_ms": round(checked, 2),
            "raw_key_load_without_validation_ms": round(unchecked, 3),
            "open_ratio_to_raw_key_load": round(total / checked, 2),
        }
    report["explanation"] = (
        "RSA: key loading dominates, because OpenSSL validates the private key (primality "
        "checks) on every load; EC: the password-based key derivation (our MAC check plus "
        "cryptography's own KDF and decryption) is all there is, a few ms."
    )
    return report

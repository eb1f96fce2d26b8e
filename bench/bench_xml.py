"""signXml speed: a ~10 KiB e-gov request signed with the demo RSA-2048 key, against raw RSA.

The ratio is XML signatures per second over `openssl speed rsa2048` signatures per second: it
says how much of the time goes into parsing, canonicalizing and writing the document rather
than into the one private-key operation. Target: at least 0.50.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from signer_app.crypto.keystores import KeyEntry, open_pkcs12
from signer_app.crypto.xmldsig import sign_xml, verify_xml

from .raw import Raw

TARGET_RATIO = 0.50
SECONDS = 3.0
DEMO_INDEX = Path(__file__).resolve().parent.parent / "certs" / "demo" / "index.json"


def _citizen_sign() -> KeyEntry:
    rows = json.loads(DEMO_INDEX.read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    return open_pkcs12(DEMO_INDEX.parent.parent / row["path"], row["password"]).entry


def _person(number: int) -> str:
    return (
        f'    <ppl:Person Id="p{number}" role="{"applicant" if number == 0 else "member"}">\n'
        f"      <ppl:IIN>85010130{number:04d}</ppl:IIN>\n"
        "      <ppl:LastName>ЖҰМАБЕКОВ</ppl:LastName><ppl:FirstName>АСХАТ</ppl:FirstName>\n"
        "      <ppl:MiddleName>НҰРЛАНҰЛЫ</ppl:MiddleName>\n"
        "      <ppl:BirthDate>1985-01-01</ppl:BirthDate>\n"
        "      <ppl:Address><ppl:Region>Алматы қаласы</ppl:Region>"
        "<ppl:Street>Абай даңғылы, 52</ppl:Street><ppl:Flat>17</ppl:Flat></ppl:Address>\n"
        '      <ppl:Document type="UDL" number="043218765" issuer="МВД РК"/>\n'
        "    </ppl:Person>\n"
    )


def request_document() -> str:
    """A realistic e-gov style request of about 10 KiB."""
    people = "".join(_person(n) for n in range(18))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<req:SendMessage xmlns:req="urn:kz:gov:egov:shep:request" '
        'xmlns:ppl="urn:kz:gov:egov:people">\n'
        "  <!-- Запрос справки о составе семьи / Отбасы құрамы туралы анықтама -->\n"
        "  <req:Header>\n"
        "    <req:MessageId>3f2b9c1e-6a47-4d2e-9b1a-0c5e7d8f9a10</req:MessageId>\n"
        "    <req:ServiceId>FamilyCompositionCertificate</req:ServiceId>\n"
        "    <req:MessageDate>2024-05-01T10:00:00+05:00</req:MessageDate>\n"
        "    <req:Sender><req:SenderId>bank-portal</req:SenderId></req:Sender>\n"
        "  </req:Header>\n"
        '  <req:Data Id="data">\n'
        f"{people}"
        "    <req:Purpose>Несие алу үшін / для получения кредита &amp; ипотеки</req:Purpose>\n"
        "  </req:Data>\n"
        "</req:SendMessage>\n"
    )


def _rate(action: Callable[[], object], seconds: float) -> float:
    action()  # warm up: first-call costs are not what a user waits for in a batch
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        action()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def run(raw: Raw) -> dict[str, object]:
    """Sign and verify the request repeatedly; ratio of signing rate to raw RSA-2048."""
    entry = _citizen_sign()
    document = request_document()
    signed = sign_xml(document, entry)
    sign_per_s = _rate(lambda: sign_xml(document, entry), SECONDS)
    verify_per_s = _rate(lambda: verify_xml(signed), SECONDS)
    raw_sign = raw.rsa2048_sign_per_s
    ratio = sign_per_s / raw_sign
    return {
        "document_bytes": len(document.encode("utf-8")),
        "signed_bytes": len(signed.encode("utf-8")),
        "sign_per_s": round(sign_per_s, 1),
        "verify_per_s": round(verify_per_s, 1),
        "raw_rsa2048_sign_per_s": raw_sign,
        "raw_rsa2048_verify_per_s": raw.rsa2048_verify_per_s,
        "sign_ratio": round(ratio, 3),
        "verify_ratio_to_raw_verify": round(verify_per_s / raw.rsa2048_verify_per_s, 3),
        "target_sign_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }

"""The bundled CA serves its GOST 2015 line like the others, and our own revocation client
checks GOST certificates: CA certificates and CRLs at the URLs the certificates name, and OCSP
answers signed by the GOST issuing CA itself (the RSA responder is not authorised for it).

openssl cannot check any of this: it knows no GOST-2015 OID under 1.2.398.3.10 (NCA's), so
the signatures are checked with gost.py, inside pyhanko-certvalidator through
gost_certvalidator.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from ca_live import LiveCa, ca_fixture  # noqa: F401 - ca is a fixture
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from signer_app.crypto import gost
from signer_app.crypto.gost_certvalidator import GOST_AWARE
from signer_app.crypto.validation import Fetching, certificate_status
from signer_app.service.ca_client import CaClient
from signer_app.service.http_fetch import HttpTransport

ROOT = Path(__file__).resolve().parents[2]
NAC_GOST = ROOT / "certs" / "nac-gost"
CERTIFIED_BASE = "http://127.0.0.1:8080"  # the base URL written into the demo certificates


def pem(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((NAC_GOST / name).read_bytes())


def gost_citizen(demo: dict[str, Any]) -> x509.Certificate:
    return demo["citizen_gost_sign"].open().certificate  # type: ignore[no-any-return]


def fetching(ca: LiveCa) -> Fetching:
    return Fetching(HttpTransport(), rewrites={CERTIFIED_BASE: ca.url})


def status_of(ca: LiveCa, certificate: x509.Certificate) -> str:
    found = certificate_status(
        certificate, anchors=[pem("root.pem")], intermediates=[pem("ca.pem")], fetching=fetching(ca)
    )
    assert found.source == "ocsp", found.detail
    return found.status


def ocsp_request(certificate: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A SHA-256 CertID, as NCA's own responder is asked (KZ_PKI_NOTES §1.6)."""
    key = gost.public_key_from_certificate(issuer)
    assert key is not None
    cert_id = {
        "hash_algorithm": {"algorithm": "sha256"},
        "issuer_name_hash": hashlib.sha256(issuer.subject.public_bytes()).digest(),
        "issuer_key_hash": hashlib.sha256(key.subject_public_key).digest(),
        "serial_number": certificate.serial_number,
    }
    request = {"tbs_request": {"request_list": [{"req_cert": cert_id}]}}
    return bytes(asn1_ocsp.OCSPRequest(request).dump())


def test_a_gost_citizen_certificate_is_good_then_revoked_through_our_ocsp_client(
    ca: LiveCa, demo: dict[str, Any]
) -> None:
    certificate = gost_citizen(demo)
    assert status_of(ca, certificate) == "good"
    operator = CaClient(ca.url)
    operator.sign_in(demo["psc_operator_auth"].open())
    operator.revoke(f"{certificate.serial_number:040x}", "keyCompromise")
    assert status_of(ca, certificate) == "revoked"


def test_the_ocsp_answer_for_a_gost_certificate_is_signed_by_the_gost_issuing_ca(
    ca: LiveCa, demo: dict[str, Any]
) -> None:
    issuer = pem("ca.pem")
    body, _ = HttpTransport().post(
        f"{ca.url}/ocsp", ocsp_request(gost_citizen(demo), issuer), "application/ocsp-request"
    )
    response = asn1_ocsp.OCSPResponse.load(body)
    assert response["response_status"].native == "successful"
    basic = response.basic_ocsp_response
    assert basic["signature_algorithm"]["algorithm"].dotted == gost.GOST2015_512_SIGNATURE_OID
    tbs = basic["tbs_response_data"]
    assert tbs["responses"][0]["cert_status"].name == "good"
    key = gost.public_key_from_certificate(issuer)
    assert key is not None
    by_key = tbs["responder_id"].chosen.native
    assert by_key == hashlib.sha1(key.subject_public_key, usedforsecurity=False).digest()
    assert key.verify(basic["signature"].native, tbs.dump())
    (carried,) = basic["certs"]
    assert carried.dump() == issuer.public_bytes(Encoding.DER)


def test_the_gost_line_is_served_at_the_urls_its_certificates_name(
    ca: LiveCa, demo: dict[str, Any]
) -> None:
    issuing, root = pem("ca.pem"), pem("root.pem")
    urls = []
    for certificate in (gost_citizen(demo), issuing):
        access = certificate.extensions.get_extension_for_oid(
            ExtensionOID.AUTHORITY_INFORMATION_ACCESS
        ).value
        urls += [
            d.access_location.value
            for d in access
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        ]
        points = certificate.extensions.get_extension_for_oid(
            ExtensionOID.CRL_DISTRIBUTION_POINTS
        ).value
        urls += [name.value for point in points for name in point.full_name or ()]
    paths = [urlsplit(url).path for url in urls]
    assert paths == [
        "/ca/nac-gost.crt",
        "/crl/nac-gost.crl",
        "/ca/nac-gost-root.crt",
        "/crl/nac-gost-root.crl",
    ]
    transport = HttpTransport()
    fetched = {path: transport.get(ca.url + path)[0] for path in paths}
    assert fetched["/ca/nac-gost.crt"] == issuing.public_bytes(Encoding.DER)
    assert fetched["/ca/nac-gost-root.crt"] == root.public_bytes(Encoding.DER)
    for path, signer in (("/crl/nac-gost.crl", issuing), ("/crl/nac-gost-root.crl", root)):
        crl = asn1_crl.CertificateList.load(fetched[path])
        key = gost.public_key_from_certificate(signer)
        assert key is not None
        assert crl["tbs_cert_list"]["issuer"].dump() == signer.subject.public_bytes()
        assert key.verify(crl["signature"].native, crl["tbs_cert_list"].dump())


def test_the_gost_aware_validator_refuses_a_changed_certificate_or_algorithm(
    demo: dict[str, Any],
) -> None:
    issuer = asn1_x509.Certificate.load(pem("ca.pem").public_bytes(Encoding.DER))
    signed = asn1_x509.Certificate.load(gost_citizen(demo).public_bytes(Encoding.DER))
    key_info, algorithm = issuer.public_key, signed["signature_algorithm"]
    tbs, signature = signed["tbs_certificate"].dump(), signed["signature_value"].native
    GOST_AWARE.validate_signature(signature, tbs, key_info, algorithm)
    with pytest.raises(InvalidSignature):
        GOST_AWARE.validate_signature(
            signature, tbs[:-1] + bytes([tbs[-1] ^ 1]), key_info, algorithm
        )
    sha256_rsa = asn1_x509.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})
    with pytest.raises(InvalidSignature):
        GOST_AWARE.validate_signature(signature, tbs, key_info, sha256_rsa)

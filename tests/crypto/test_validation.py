"""Validation of CMS / CAdES signatures against the bundled CA served over HTTP: each case gets
the verdict and the reason a court or a bank would expect (ETSI EN 319 102-1 indications)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from tsa_helpers import closed_port_url
from validation_helpers import CERTIFIED_BASE, CERTS, RunningCa, demo_anchors

from signer_app.crypto import cms, xmldsig
from signer_app.crypto.keystores import KeyEntry
from signer_app.crypto.revocation import RevocationCache
from signer_app.crypto.validation import (
    INDETERMINATE,
    OFFLINE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    Fetching,
    ValidationPolicy,
    validate_cms,
    validate_xml,
)
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.tsa_client import HttpTsa

DOCUMENT = "Келісімшарт № 7 — договор — contract\n".encode()


def demo_chain() -> list[x509.Certificate]:
    return list(x509.load_pem_x509_certificates((CERTS / "trust" / "demo-chain.pem").read_bytes()))


@pytest.fixture
def stamped(bundled_ca: RunningCa) -> Callable[[KeyEntry], bytes]:
    """stamped(entry): a CAdES-T over DOCUMENT with the served CA's TSA."""

    def make(entry: KeyEntry) -> bytes:
        return cms.add_signature_timestamp(
            cms.sign(DOCUMENT, entry), HttpTsa(bundled_ca.tsa_url).stamp
        )

    return make


def validate(signature: bytes, ca: RunningCa, **options: object) -> object:
    return validate_cms(signature, anchors=demo_anchors(), fetching=ca.fetching(), **options)  # type: ignore[arg-type]


def test_a_timestamped_demo_signature_passes_with_ocsp_good(bundled_ca, stamped, demo) -> None:
    report = validate(stamped(demo["citizen_sign"].open()), bundled_ca)
    assert report.indication == TOTAL_PASSED, report.signers[0].warnings
    signer = report.signers[0]
    assert signer.level == "T"
    assert signer.signing_time_source == "timestamp"
    assert signer.timestamps[0].valid
    assert signer.timestamps[0].tsa == "TIME-STAMPING AUTHORITY"
    assert signer.revocation is not None
    assert (signer.revocation.status, signer.revocation.source) == ("good", "ocsp")
    roles = [link.role for link in signer.chain]
    assert roles == ["signer", "intermediate", "anchor"]
    # the issuing CA came by AIA caIssuers (the CMS holds only the signer's certificate) and its
    # own status from the root's CRL (it names no OCSP responder)
    assert signer.chain[1].revocation is not None
    assert signer.chain[1].revocation.source == "crl"
    assert signer.identity is not None
    assert signer.identity.iin == demo["citizen_sign"].iin


def test_a_signature_by_a_certificate_revoked_before_signing_fails(
    bundled_ca, stamped, demo
) -> None:
    entry = demo["revoked_sign"].open()
    for signature in (cms.sign(DOCUMENT, entry), stamped(entry)):
        report = validate(signature, bundled_ca)
        assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")
        assert report.signers[0].revocation.status == "revoked"


def test_revoked_after_a_timestamped_signing_still_passes(bundled_ca, stamped, demo) -> None:
    entry = demo["signer_sign"].open()
    signature = stamped(entry)
    unstamped = cms.sign(
        DOCUMENT, entry, signing_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )
    # Times are whole seconds: revoke two seconds on, so the stamp is strictly earlier.
    bundled_ca.revoke(entry.certificate, later=dt.timedelta(seconds=2))
    report = validate(signature, bundled_ca)
    assert report.indication == TOTAL_PASSED
    signer = report.signers[0]
    assert signer.revocation.status == "revoked"
    assert signer.revocation.revoked_at > signer.signing_time
    assert any("after the timestamped signing" in w for w in signer.warnings)
    # without a timestamp nothing proves the signature is older than the revocation
    report = validate(unstamped, bundled_ca)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "REVOKED_NO_POE")


def test_an_expired_certificate_without_timestamp_follows_the_policy(bundled_ca, demo) -> None:
    signature = cms.sign(DOCUMENT, demo["expired_sign"].open())
    report = validate(signature, bundled_ca)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")
    strict = ValidationPolicy(expired_without_poe="failed")
    report = validate(signature, bundled_ca, policy=strict)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "EXPIRED")


def _self_signed_entry() -> KeyEntry:
    """A key whose certificate names itself as issuer: a root nobody trusts."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from signer_app.crypto.keystores import SoftwareKey

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, "IIN850101300124")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return KeyEntry("self-signed", certificate, SoftwareKey(key))


def test_an_unknown_root_gives_no_chain(bundled_ca, demo) -> None:
    for entry in (_self_signed_entry(), demo["civil_servant_sign"].open()):
        gov_root_missing = [c for c in demo_anchors() if "МО " not in c.subject.rfc4514_string()]
        report = validate_cms(
            cms.sign(DOCUMENT, entry), anchors=gov_root_missing, fetching=bundled_ca.fetching()
        )
        assert (report.indication, report.sub_indication) == (
            INDETERMINATE,
            "NO_CERTIFICATE_CHAIN_FOUND",
        )


def test_a_broken_chain_without_the_issuing_ca_gives_no_chain(citizen_sign) -> None:
    # offline: no AIA fetch, the CMS lacks the issuing CA, the trust store holds roots only
    report = validate_cms(cms.sign(DOCUMENT, citizen_sign), anchors=demo_anchors())
    assert (report.indication, report.sub_indication) == (
        INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    assert report.signers[0].warnings


def test_offline_says_revocation_is_unknown_not_good(citizen_sign) -> None:
    report = validate_cms(
        cms.sign(DOCUMENT, citizen_sign), anchors=demo_anchors(), intermediates=demo_chain()
    )
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "TRY_LATER")
    assert report.signers[0].revocation.status == "unknown"
    assert "offline" in report.signers[0].revocation.detail


def test_an_ocsp_responder_that_is_down_soft_and_hard_fail(citizen_sign) -> None:
    down = closed_port_url().removesuffix("/tsp")
    fetching = Fetching(HttpTransport(timeout=2), RevocationCache(), {CERTIFIED_BASE: down})
    signature = cms.sign(DOCUMENT, citizen_sign)
    options = {"anchors": demo_anchors(), "intermediates": demo_chain(), "fetching": fetching}
    report = validate_cms(signature, **options)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "TRY_LATER")
    assert report.signers[0].revocation.status == "unknown"
    report = validate_cms(signature, policy=ValidationPolicy(revocation="hard-fail"), **options)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "TRY_LATER")


def test_a_tampered_timestamp_is_not_used(bundled_ca, stamped, demo) -> None:
    genuine = stamped(demo["citizen_sign"].open())
    (info,) = asn1_cms.ContentInfo.load(genuine)["content"]["signer_infos"]
    token = info["unsigned_attrs"][0]["values"][0].dump()
    # a byte of the TSA's signature flipped (unsigned attributes are outside the signer's
    # signature: anyone can change them)
    at = genuine.find(token) + len(token) - 10
    tampered = genuine[:at] + bytes([genuine[at] ^ 0x01]) + genuine[at + 1 :]
    report = validate(tampered, bundled_ca)
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
    signer = report.signers[0]
    assert not signer.timestamps[0].valid
    assert signer.signing_time_source == "claimed"
    assert signer.level == "B"


def _swap_signer_certificate(signature: bytes, other: x509.Certificate) -> bytes:
    info = asn1_cms.ContentInfo.load(signature)
    signed = info["content"]
    replacement = asn1_x509.Certificate.load(other.public_bytes(Encoding.DER))
    signed["certificates"] = asn1_cms.CertificateSet([replacement])
    signer = signed["signer_infos"][0]
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        signer["sid"] = asn1_cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": replacement.issuer, "serial_number": replacement.serial_number},
        )
    else:
        signer["sid"] = asn1_cms.SignerIdentifier(
            name="subject_key_identifier", value=replacement.key_identifier
        )
    return info.dump(force=True)


def test_a_cms_whose_signer_certificate_was_swapped_fails(bundled_ca, demo) -> None:
    signature = cms.sign(DOCUMENT, demo["citizen_sign"].open())
    swapped = _swap_signer_certificate(signature, demo["ceo_sign"].open().certificate)
    report = validate(swapped, bundled_ca)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


def test_changed_content_is_a_hash_failure(citizen_sign) -> None:
    detached = cms.sign(DOCUMENT, citizen_sign, detached=True)
    report = validate_cms(detached, DOCUMENT + b"!", anchors=demo_anchors(), fetching=OFFLINE)
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    assert report.signers[0].level is None


def test_an_xml_signature_is_validated_the_same_way(bundled_ca, citizen_sign) -> None:
    signed = xmldsig.sign_xml(b"<request><iin>850101300124</iin></request>", citizen_sign)
    report = validate_xml(signed, anchors=demo_anchors(), fetching=bundled_ca.fetching())
    assert report.indication == TOTAL_PASSED
    assert report.format == "xml"
    assert report.signers[0].revocation.status == "good"

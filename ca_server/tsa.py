"""RFC 3161 time-stamping authority core: a TimeStampReq in, a DER TimeStampResp out, always.

Pure: no database and no HTTP. The caller supplies the serial number (the database keeps serials
unique across workers) and the TSA's key and certificate (`TsaSigner`). Bad input never raises;
it becomes a `rejection` with the failInfo RFC 3161 §2.4.2 names.

Decisions:

* **Hashes.** SHA-256, SHA-384 and SHA-512 imprints are accepted. SHA-1 and MD5 get `badAlg`:
  a SHA-1 imprint can be made to stand for two documents (chosen-prefix collisions), so a token
  over it proves little. NCA's own test TSA still stamped a SHA-1 imprint (KZ_PKI_NOTES §1.6); a
  deployment that must serve such clients can list "sha1" in `TsaSigner.accepted_digests`.
* **Policy.** The default is 1.2.398.3.3.2.6.2, in NCA's TSA policy arc 1.2.398.3.3.2.6. That
  .6.2 is the RSA policy comes from one unverified third-party mapping (KZ_PKI_NOTES §1.6: .6.1
  GOST, .6.2 RSA, .6.3 GOSTGT; .6.4 is GOST-2015, NCANode's default): **uncertain**. A request
  naming another policy gets `unacceptedPolicy` unless it is in `accepted_policies`; the token
  then carries the requested policy. We sign with RSA or ECDSA only, so accepting a GOST
  policy would be a lie.
* **Extensions** in a request get `unacceptedExtension` (RFC 3161 §2.4.1: we recognise none).
* **Token.** TSTInfo v1 with the request's messageImprint and nonce (the same values, written
  in DER whatever BER the request used; hash parameters NULL or absent as sent), the caller's
  serial, genTime in UTC (whole seconds, or `fractional_digits` decimals) and accuracy;
  ordering false and no tsa name. It is signed in a CMS SignedData v3 (eContentType
  id-ct-TSTInfo) with SHA-256 and the signed attributes contentType, signingTime, messageDigest
  and signingCertificateV2 (ESSCertIDv2 with issuerSerial, RFC 5816). certReq=true puts the TSA
  certificate (and `chain`) in the SignedData.

Requests are read, and the fixed parts of every token (signingCertificateV2) built once, with
asn1crypto. The token itself is concatenated DER (signer_app.crypto.der): built with asn1crypto
objects it cost about 18 ms, twenty RSA-2048 signatures, because asn1crypto re-serialises the
embedded certificate and names on every dump (measured with bench_responders and cProfile);
concatenated, a token costs little more than its one signature.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from ca_server.responder_keys import (
    DIGITAL_SIGNATURE_ONLY,
    build_service_certificate,
    service_subject,
)
from signer_app.crypto import der
from signer_app.crypto.algorithms import DigestAlgorithm
from signer_app.crypto.keystores import SoftwareKey

__all__ = [
    "DEFAULT_ACCEPTED_DIGESTS",
    "DEFAULT_POLICY",
    "MAX_SERIAL",
    "TsaSigner",
    "make_tsa_certificate",
    "respond",
]

DEFAULT_POLICY = "1.2.398.3.3.2.6.2"  # uncertain: see the module's docstring
DEFAULT_ACCEPTED_DIGESTS = frozenset({"sha256", "sha384", "sha512"})
MAX_SERIAL = (1 << 160) - 1  # RFC 3161 §2.4.2: serials up to 160 bits

TsaKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Imprint lengths of the digests a deployment may accept (asn1crypto's names).
_DIGEST_SIZES = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_tsa_certificate(certificate: x509.Certificate) -> None:
    """RFC 3161 §2.3: exactly the timeStamping EKU, critical; and a signing key usage."""
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise ValueError("a TSA certificate needs the timeStamping EKU") from None
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise ValueError("a TSA certificate's EKU is timeStamping only, and critical")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise ValueError("a TSA certificate's key usage must allow signatures")


@dataclass(frozen=True)
class _Fixed:
    """The DER every token of one TsaSigner shares, built once."""

    signer_prefix: bytes  # SignerInfo: version, sid, digestAlgorithm
    signing_certificate: bytes  # the signingCertificateV2 attribute
    signature_algorithm: bytes
    certificates: bytes  # [0] IMPLICIT CertificateSet, for certReq
    accuracy: bytes  # the Accuracy element, or nothing


@dataclass(frozen=True)
class TsaSigner:
    """A time-stamping authority: key, certificate, policies and the shape of its tokens."""

    certificate: x509.Certificate
    private_key: TsaKey
    policy: str = DEFAULT_POLICY
    accepted_policies: frozenset[str] = frozenset()
    accepted_digests: frozenset[str] = DEFAULT_ACCEPTED_DIGESTS
    accuracy: dt.timedelta | None = dt.timedelta(seconds=1)
    fractional_digits: int = 0
    chain: tuple[x509.Certificate, ...] = ()
    _fixed: _Fixed = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError("the TSA key must be an RSA or EC private key")
        if _public_der(self.private_key.public_key()) != _public_der(self.certificate.public_key()):
            raise ValueError("the TSA key does not match the TSA certificate")
        _check_tsa_certificate(self.certificate)
        for oid in (self.policy, *self.accepted_policies):
            x509.ObjectIdentifier(oid)  # raises ValueError for a malformed OID
        unknown = set(self.accepted_digests) - set(_DIGEST_SIZES)
        if unknown or not self.accepted_digests:
            raise ValueError(f"accepted digests are some of {sorted(_DIGEST_SIZES)}")
        if not 0 <= self.fractional_digits <= 6:
            raise ValueError("genTime has 0 to 6 fractional digits")
        if self.accuracy is not None and self.accuracy <= dt.timedelta(0):
            raise ValueError("the accuracy must be positive")
        object.__setattr__(self, "_fixed", self._build_fixed())

    def _build_fixed(self) -> _Fixed:
        certificate_der = self.certificate.public_bytes(serialization.Encoding.DER)
        certificate = asn1_x509.Certificate.load(certificate_der)
        issuer_serial = {
            "issuer": [asn1_x509.GeneralName(name="directory_name", value=certificate.issuer)],
            "serial_number": certificate.serial_number,
        }
        ess = asn1_tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(certificate_der).digest(),
                        "issuer_serial": issuer_serial,
                    }
                ]
            }
        )
        attribute = asn1_cms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]})
        sid = der.sequence(certificate.issuer.dump(), der.integer(certificate.serial_number))
        is_rsa = isinstance(self.private_key, rsa.RSAPrivateKey)
        chain = [c.public_bytes(serialization.Encoding.DER) for c in self.chain]
        return _Fixed(
            signer_prefix=der.integer(1) + sid + _SHA256,
            signing_certificate=attribute.dump(),
            signature_algorithm=_SHA256_RSA if is_rsa else _SHA256_ECDSA,
            certificates=der.tlv(0xA0, b"".join([certificate_der, *chain])),
            accuracy=b"" if self.accuracy is None else _accuracy(self.accuracy),
        )

    def accepts_policy(self, policy: str) -> bool:
        """Whether a request may ask for `policy`."""
        return policy == self.policy or policy in self.accepted_policies

    def sign(self, data: bytes) -> bytes:
        """The TSA's signature over `data` (SHA-256 with its RSA or EC key)."""
        return SoftwareKey(self.private_key).sign(data, DigestAlgorithm.SHA256)


def make_tsa_certificate(
    ca_cert: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    tsa_public_key: CertificateIssuerPublicKeyTypes,
    subject_cn: str = "TIME-STAMPING AUTHORITY",
    validity: dt.timedelta = dt.timedelta(days=3 * 365),
    *,
    not_before: dt.datetime | None = None,
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
    crl_url: str | None = None,
) -> x509.Certificate:
    """A TSA certificate as NCA issues it: KU digitalSignature and EKU timeStamping, both critical.

    NCA's production TSA certificate runs three years (KZ_PKI_NOTES §2.7). The URLs, when given,
    go into AIA and CDP so that verifiers can check the TSA certificate's own status.
    """
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) if not_before is None else not_before
    usage = DIGITAL_SIGNATURE_ONLY
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (usage, True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),
    ]
    extensions += _locators(ocsp_url, ca_issuers_url, crl_url)
    return build_service_certificate(
        ca_certificate=ca_cert,
        ca_key=ca_key,
        public_key=tsa_public_key,
        subject=service_subject(subject_cn, ca_cert),
        not_before=start,
        validity=validity,
        extensions=extensions,
    )


def _locators(
    ocsp_url: str | None, ca_issuers_url: str | None, crl_url: str | None
) -> Iterable[tuple[x509.ExtensionType, bool]]:
    access = [
        x509.AccessDescription(method, x509.UniformResourceIdentifier(url))
        for method, url in (
            (AuthorityInformationAccessOID.OCSP, ocsp_url),
            (AuthorityInformationAccessOID.CA_ISSUERS, ca_issuers_url),
        )
        if url is not None
    ]
    if access:
        yield x509.AuthorityInformationAccess(access), False
    if crl_url is not None:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        yield x509.CRLDistributionPoints([point]), False


# -- responses -------------------------------------------------------------------------------


@cache
def _rejection(fail_info: str, text: str) -> bytes:
    """An unsigned TimeStampResp with status rejection (made once per kind of failure)."""
    status = asn1_tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [text],
            "fail_info": asn1_tsp.PKIFailureInfo({fail_info}),
        }
    )
    # asn1crypto's TimeStampResp declares timeStampToken mandatory (RFC 3161 has it OPTIONAL).
    return der.sequence(status.dump())


_GRANTED = der.sequence(der.integer(0))  # PKIStatusInfo { status granted }


class _Rejected(Exception):
    """A request refused (internal): carries the TimeStampResp that says why."""

    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.response = _rejection(fail_info, text)


@dataclass(frozen=True, slots=True)
class _Query:
    message_imprint: bytes  # the request's MessageImprint, in DER
    policy: str
    nonce: bytes  # the request's nonce INTEGER in DER, or nothing
    cert_req: bool


def _read_query(query_der: bytes, tsa: TsaSigner) -> _Query:
    """The request's parts, checked in openssl's order; raises _Rejected."""
    try:
        request = asn1_tsp.TimeStampReq.load(bytes(query_der), strict=True)
        version = request["version"].native
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]
        digest = algorithm["algorithm"].native
        parameters = algorithm["parameters"]
        hashed = imprint["hashed_message"].native
        policy = request["req_policy"]
        nonce = request["nonce"]
        nonce_value = nonce.native
        cert_req = bool(request["cert_req"].native)
        extensions = request["extensions"]
        has_extensions = not isinstance(extensions, asn1_core.Void) and len(extensions) > 0
        policy_oid = None if isinstance(policy, asn1_core.Void) else policy.dotted
        oid = algorithm["algorithm"].dotted
    except Exception:  # asn1crypto raises many kinds of error on bad input; all mean the same
        raise _Rejected("bad_data_format", "the request is not a DER TimeStampReq") from None
    if version != "v1":
        raise _Rejected("bad_data_format", "the request version is not 1")
    if has_extensions:
        raise _Rejected("unaccepted_extensions", "no request extension is supported")
    if digest not in tsa.accepted_digests:
        accepted = ", ".join(sorted(tsa.accepted_digests))
        raise _Rejected("bad_alg", f"the imprint must be made with one of: {accepted}")
    if not isinstance(parameters, asn1_core.Void | asn1_core.Null):
        raise _Rejected("bad_alg", "the imprint's hash algorithm has unexpected parameters")
    if len(hashed) != _DIGEST_SIZES[digest]:
        raise _Rejected("bad_data_format", f"a {digest} imprint has {_DIGEST_SIZES[digest]} bytes")
    if policy_oid is not None and not tsa.accepts_policy(policy_oid):
        raise _Rejected("unaccepted_policy", "the requested policy is not offered")
    # Both echoed in DER, whatever BER liberties the request took; hash parameters as sent.
    null = der.null() if isinstance(parameters, asn1_core.Null) else b""
    algorithm_id = der.sequence(_oid(oid), null)
    return _Query(
        message_imprint=der.sequence(algorithm_id, der.octet_string(hashed)),
        policy=tsa.policy if policy_oid is None else policy_oid,
        nonce=b"" if nonce_value is None else der.integer(nonce_value),
        cert_req=cert_req,
    )


# Only accepted digests and policies reach it, so the cache stays small.
_oid = cache(der.oid)
_SHA256 = der.sequence(der.oid("2.16.840.1.101.3.4.2.1"))
_SHA256_RSA = der.sequence(der.oid("1.2.840.113549.1.1.11"), der.null())
_SHA256_ECDSA = der.sequence(der.oid("1.2.840.10045.4.3.2"))
_ID_SIGNED_DATA = der.oid("1.2.840.113549.1.7.2")
_ID_CT_TST_INFO = der.oid("1.2.840.113549.1.9.16.1.4")
_CONTENT_TYPE = der.sequence(der.oid("1.2.840.113549.1.9.3"), der.set_of(_ID_CT_TST_INFO))
_SIGNING_TIME = der.oid("1.2.840.113549.1.9.5")
_MESSAGE_DIGEST = der.oid("1.2.840.113549.1.9.4")
_VERSION_1 = der.integer(1)
_VERSION_3 = der.integer(3)


def _accuracy(accuracy: dt.timedelta) -> bytes:
    """Accuracy ::= SEQUENCE { seconds INTEGER, millis [0], micros [1] }, zero parts left out."""
    micros = accuracy // dt.timedelta(microseconds=1)
    seconds, millis, micros = micros // 1_000_000, micros // 1000 % 1000, micros % 1000
    parts = [der.integer(seconds) if seconds else b""]
    for tag, value in ((0x80, millis), (0x81, micros)):
        if value:
            parts.append(bytes((tag,)) + der.integer(value)[1:])  # [n] IMPLICIT INTEGER
    return der.sequence(*parts)


def _gen_time(now: dt.datetime, digits: int) -> bytes:
    """GeneralizedTime in UTC with up to `digits` fractional digits, trailing zeros dropped."""
    fraction = f"{now.microsecond:06d}"[:digits].rstrip("0")
    text = now.strftime("%Y%m%d%H%M%S") + (f".{fraction}" if fraction else "") + "Z"
    return der.tlv(der.GENERALIZED_TIME, text.encode("ascii"))


def _token(query: _Query, tsa: TsaSigner, serial: int, now: dt.datetime) -> bytes:
    fixed = tsa._fixed
    tst_info = der.sequence(
        _VERSION_1,
        _oid(query.policy),
        query.message_imprint,
        der.integer(serial),
        _gen_time(now, tsa.fractional_digits),
        fixed.accuracy,
        query.nonce,
    )
    attributes = der.set_of(
        _CONTENT_TYPE,
        der.sequence(_SIGNING_TIME, der.set_of(der.time(now))),  # UTCTime until 2049
        der.sequence(
            _MESSAGE_DIGEST, der.set_of(der.octet_string(hashlib.sha256(tst_info).digest()))
        ),
        fixed.signing_certificate,
    )
    signer_info = der.sequence(
        fixed.signer_prefix,
        b"\xa0" + attributes[1:],  # [0] IMPLICIT: the same bytes with another tag
        fixed.signature_algorithm,
        der.octet_string(tsa.sign(attributes)),
    )
    signed_data = der.sequence(
        _VERSION_3,
        der.set_of(_SHA256),
        der.sequence(_ID_CT_TST_INFO, der.tlv(0xA0, der.octet_string(tst_info))),
        fixed.certificates if query.cert_req else b"",
        der.set_of(signer_info),
    )
    return der.sequence(_ID_SIGNED_DATA, der.tlv(0xA0, signed_data))


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    return now.astimezone(dt.UTC)


def respond(
    query_der: bytes, tsa: TsaSigner, *, serial: int, now: dt.datetime | None = None
) -> bytes:
    """Answer a DER TimeStampReq with a DER TimeStampResp; never raises for bad input.

    `serial` must be unique per TSA (the caller's database guarantees it) and 1..2**160-1;
    a bad serial or a naive `now` is the caller's error and raises ValueError.
    """
    if not 0 < serial <= MAX_SERIAL:
        raise ValueError("a time-stamp serial number is 1 to 160 bits")
    moment = _now(now)
    try:
        query = _read_query(query_der, tsa)
    except _Rejected as rejected:
        return rejected.response
    return der.sequence(_GRANTED, _token(query, tsa, serial, moment))

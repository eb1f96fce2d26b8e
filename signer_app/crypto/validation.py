"""Signature validation: mathematics, chain, revocation and timestamps -> one ValidationReport.

In the spirit of ETSI EN 319 102-1 (and EU DSS, whose indication names are used verbatim): each
signer gets an indication (TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE) with a sub-indication, and
the report's overall verdict is the worst of its signers'.

The steps for one signer:

1. **Mathematics** (cms.verify / xmldsig.verify_xml): digest, signed attributes, signature.
   A broken digest is HASH_FAILURE, a signature that does not verify (or names another
   certificate in signingCertificate: a swapped certificate) SIG_CRYPTO_FAILURE, both
   TOTAL_FAILED; no signer certificate is INDETERMINATE / NO_SIGNING_CERTIFICATE_FOUND.
2. **Timestamps** (CAdES-T): each signature timestamp token must stamp the signature value
   (tsp.verify_token: imprint, TSA signature, critical timeStamping EKU) and its TSA certificate
   must chain to a trust anchor at genTime with the timeStamping EKU, not revoked before it.
   The earliest valid genTime is the *proof of existence* (POE) and becomes the signing time.
   A timestamp present but not valid is SIG_CONSTRAINTS_FAILURE (the signature carries an
   attribute that lies): INDETERMINATE, and its time is not used.
3. **Chain** (pyhanko-certvalidator, RFC 5280): from the signer certificate to an anchor, with
   intermediates from the signature, the caller and AIA caIssuers; key usage digitalSignature;
   validity at the POE (or now, without one). No path: NO_CERTIFICATE_CHAIN_FOUND. Expired
   without a POE: OUT_OF_BOUNDS_NO_POE (INDETERMINATE) or EXPIRED (TOTAL_FAILED) as the policy
   says; expired before the POE: EXPIRED (TOTAL_FAILED).
4. **Revocation** (revocation.py: OCSP, then CRL) of every certificate of the path below the
   anchor, asked now. Revoked at R: fine if the POE is before R (a signature timestamped before
   the revocation stays valid); TOTAL_FAILED / REVOKED if the POE is at or after R, or without a
   POE if the signature's own claimed signing time is at or after R; else INDETERMINATE /
   REVOKED_NO_POE (REVOKED_CA_NO_POE for a CA). Unknown (offline, responder down): TRY_LATER,
   INDETERMINATE under soft-fail, TOTAL_FAILED under hard-fail. When embedded evidence does not
   settle a status, the warning names it ("embedded OCSP: ...") with the first sentence of
   certvalidator's reason, never the response bytes its message may carry.
5. **Archive timestamps** (LTA, judged by cades_lt / xades_lt through ``ValidationRun``): a
   valid one proves the signature existed at its time (EN 319 102-1's past signature
   validation). A signer that no valid signature timestamp proves earlier (none, none valid,
   level B) is judged again at the oldest valid archive time, source "archive_timestamp":
   revoked or expired after it, PASSED with a warning; revoked before it, REVOKED. A signature
   timestamp that does not hold still counts against the signature; a broken archive
   timestamp proves nothing. Each TimestampReport says its ``kind``.

The long-term modules build on ``ValidationRun`` (paths, revocations, fetched evidence, timestamp
checks and judgements, verdicts, reports), ``check_timestamp``, ``overall`` and ``xml_signers``:
nothing outside this module touches its private names (a test checks it with ``ast``).

**Warm validations** (the caches live in ``Fetching.cache``, shared by the caller): what a
validation checks every time is the CMS mathematics (cms.verify: digest, the signature over the
signed attributes, each timestamp's imprint and TSA signature) and the time windows; what it
reuses is what depends only on bytes already checked and on the trust anchors:

* a *validated path* per (certificate, key usage, EKU, the anchor set's fingerprint), reused for a
  moment inside the intersection of the path's validity windows, and only when every
  intermediate of the path is at hand in this run (given, in the signature or in the AIA cache):
  the cache saves checking, never finding; a changed anchor set misses; kept a day at most;
* a *revocation status* per (certificate, path), reused only while the evidence the fetchers
  would use now (the cached OCSP answer, else the cached CRLs) is byte for byte the evidence it
  was derived from; it expires with that evidence (OCSP: nextUpdate or thisUpdate + ocsp_max_age,
  the reuse-without-nonce window of revocation.py; CRL: nextUpdate). "unknown" is never kept;
* the *statuses of a whole path* together, once each has been matched to the evidence as above:
  one lookup serves them while the cache's OCSP and CRL tables have not changed at all since
  (any answer or CRL added, expired, evicted or cleared makes it a miss, and the per-certificate
  comparison above runs again) and until the earliest of that evidence expires;
* certificates parsed once per DER (and per ``x509.Certificate``, compared by its DER): a pure
  function of the bytes. Timestamp tokens are not kept: a CMS's are taken as cms.verify checked
  them in this very run, an XML signature's or archive timestamp's are checked here each time.

Validation is synchronous; it runs certvalidator's coroutines in a private event loop, so call
it from a worker thread, not from inside a running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, BinaryIO, Final, Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from . import cms, tsp, xades, xmldsig
from .errors import QalamError
from .gost_certvalidator import GOST_AWARE
from .identity import Identity, identity_of
from .revocation import (
    RevocationCache,
    RevocationFetchers,
    RevocationStatus,
    Transport,
    cached_evidence,
    check_revocation,
    used_evidence,
)

TOTAL_PASSED: Final = "TOTAL_PASSED"
TOTAL_FAILED: Final = "TOTAL_FAILED"
INDETERMINATE: Final = "INDETERMINATE"
Indication = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]
Level = Literal["B", "T", "LT", "LTA"]
# What a timestamp stamps: the signature value, or (LTA) the signature with its evidence.
TimestampKind = Literal["signature", "archive"]
# Where a signer's signing time comes from: a signature timestamp or an archive timestamp (both
# proofs of existence), the signer's own signingTime attribute (not proof), or nowhere.
TimeSource = Literal["timestamp", "archive_timestamp", "claimed", "none"]
# A timestamp token checked over what it stamps (imprint, TSA signature), or why it does not hold.
CheckedToken = tuple[tsp.TimeStampToken | None, str | None]

_ID_SIGNATURE_TIME_STAMP = "1.2.840.113549.1.9.16.2.14"
_NO_REVOCATION_CHECK = CertRevTrustPolicy(
    RevocationCheckingPolicy(RevocationCheckingRule.NO_CHECK, RevocationCheckingRule.NO_CHECK)
)

# A validated path is re-validated from scratch at least this often (a changed CA certificate
# served by AIA, a policy change in certvalidator's defaults between releases of a long run).
PATH_MAX_AGE: Final = timedelta(days=1)

# What a path is validated for: (key usages, extended key usages); part of the cache keys.
_Use = tuple[frozenset[str], frozenset[str]]
_ANY_USE: Final[_Use] = (frozenset(), frozenset())
_SIGNER_USE: Final[_Use] = (frozenset({"digital_signature"}), frozenset())
_TSA_USE: Final[_Use] = (frozenset({"digital_signature"}), frozenset({"time_stamping"}))
PARSED_LIMIT: Final = 512

# cms problem codes -> (indication, sub-indication); the first listed that occurs wins.
_CRYPTO_VERDICTS: tuple[tuple[str, Indication, str], ...] = (
    (cms.DIGEST_MISMATCH, TOTAL_FAILED, "HASH_FAILURE"),
    (cms.SIGNING_CERTIFICATE_MISMATCH, TOTAL_FAILED, "SIG_CRYPTO_FAILURE"),
    (cms.BAD_SIGNATURE, TOTAL_FAILED, "SIG_CRYPTO_FAILURE"),
    (cms.CONTENT_TYPE_MISMATCH, TOTAL_FAILED, "FORMAT_FAILURE"),
    (cms.MESSAGE_DIGEST_MISSING, TOTAL_FAILED, "FORMAT_FAILURE"),
    (cms.MALFORMED_ATTRIBUTE, TOTAL_FAILED, "FORMAT_FAILURE"),
    (cms.CERTIFICATE_MISSING, INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND"),
    (cms.UNSUPPORTED_ALGORITHM, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE"),
)


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """What the verifier demands beyond the mathematics."""

    # soft-fail: revocation unknown -> INDETERMINATE; hard-fail: -> TOTAL_FAILED.
    revocation: Literal["soft-fail", "hard-fail"] = "soft-fail"
    # An expired signer certificate and no timestamp to prove the signature is older.
    expired_without_poe: Literal["indeterminate", "failed"] = "indeterminate"


@dataclass(frozen=True, slots=True)
class Fetching:
    """How to reach the network: a transport (None = offline), a shared cache, URL rewrites."""

    transport: Transport | None = None
    cache: RevocationCache = field(default_factory=RevocationCache)
    rewrites: Mapping[str, str] = field(default_factory=dict)


OFFLINE = Fetching()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One certificate of a validated path, signer first, anchor last."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    sha256: str
    role: Literal["signer", "intermediate", "anchor", "tsa"]
    revocation: RevocationStatus | None = None


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class TimestampReport:
    """One timestamp (a signature's or an archive one): its time, its TSA, whether it holds
    and why not."""

    time: datetime | None
    valid: bool
    tsa: str | None
    chain: tuple[ChainLink, ...] = ()
    problem: str | None = None
    kind: TimestampKind = "signature"


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class SignerReport:
    """One signer's verdict and everything it rests on (plain fields for every front end)."""

    indication: Indication
    sub_indication: str | None
    certificate: x509.Certificate | None
    identity: Identity | None
    # The time the verdict is about, and where it comes from (TimeSource): a signature or an
    # archive timestamp (proofs of existence), the signer's own claim (not proof), or none.
    signing_time: datetime | None
    signing_time_source: TimeSource
    claimed_signing_time: datetime | None
    chain: tuple[ChainLink, ...]
    revocation: RevocationStatus | None
    timestamps: tuple[TimestampReport, ...]
    level: Level | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """TOTAL_PASSED."""
        return self.indication == TOTAL_PASSED


# Read-only by convention, not frozen: one is made per signature checked, and a frozen
# dataclass's __init__ costs three times a plain one's (a visible share of a warm validation).
@dataclass(slots=True)
class ValidationReport:
    """A document's signatures validated: the overall verdict and one report per signer."""

    indication: Indication
    sub_indication: str | None
    format: str
    detached: bool
    validation_time: datetime
    policy: ValidationPolicy
    signers: tuple[SignerReport, ...]

    @property
    def passed(self) -> bool:
        """TOTAL_PASSED: at least one signer, and every signer passed."""
        return self.indication == TOTAL_PASSED


# -- entry points -----------------------------------------------------------------------------


def validate_cms(
    signature: bytes | str,
    data: bytes | None = None,
    *,
    stream: BinaryIO | None = None,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    policy: ValidationPolicy = ValidationPolicy(),
    fetching: Fetching = OFFLINE,
    now: datetime | None = None,
    ocsp_responses: Sequence[bytes] = (),
    crls: Sequence[bytes] = (),
) -> ValidationReport:
    """Validate every signer of a CMS / CAdES signature (see the module's text); DER
    ``ocsp_responses`` and ``crls`` (a CAdES-LT's embedded data) are used beside fetching."""
    der = cms.load(signature) if not isinstance(signature, bytes) else signature
    if der[:1] != b"\x30":
        der = cms.load(der)
    checked = cms.verify(der, data, stream=stream)
    extra = [*checked.certificates, *intermediates]
    run = _Run(anchors, extra, policy, fetching, now or datetime.now(UTC), ocsp_responses, crls)
    reports = []
    for signer in checked.signers:
        # cms.verify has checked each token over this signer's signature value, this run.
        tokens = [
            (stamp.token, stamp.error.message("en") if stamp.error is not None else None)
            for stamp in signer.timestamps
        ]
        reports.append(run.signer(signer.certificate, signer.problems, signer.signing_time, tokens))
    return _report("cms", checked.detached, run, reports)


def validate_xml(
    document: bytes | str,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    policy: ValidationPolicy = ValidationPolicy(),
    fetching: Fetching = OFFLINE,
    now: datetime | None = None,
    ocsp_responses: Sequence[bytes] = (),
    crls: Sequence[bytes] = (),
) -> ValidationReport:
    """Validate every XMLDSig / XAdES signature of a document (XAdES-T: level T); DER
    ``ocsp_responses`` and ``crls`` (a XAdES-LT's embedded data) are used beside fetching."""
    run = ValidationRun(
        anchors,
        intermediates,
        policy=policy,
        fetching=fetching,
        now=now,
        ocsp_responses=ocsp_responses,
        crls=crls,
    )
    return run.report("xml", False, xml_signers(run, xmldsig.parse(document)))


def xml_signers(run: ValidationRun, tree: etree._ElementTree) -> list[SignerReport]:
    """Each XMLDSig / XAdES signature of a document (parsed once, by xmldsig.parse) judged by
    ``run``, in document order."""
    checked = xmldsig.verify_tree(tree)
    found = xades.inspect_tree(tree, [s.certificate for s in checked.signatures])
    return [
        run.signer(
            s.certificate,
            (*s.problems, *x.problems),
            x.claimed_signing_time,
            [check_timestamp(token, x.stamped_data) for token in x.timestamp_tokens],
            xml=True,
        )
        for s, x in zip(checked.signatures, found, strict=True)
    ]


def certificate_status(
    certificate: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Sequence[x509.Certificate] = (),
    fetching: Fetching = OFFLINE,
    now: datetime | None = None,
) -> RevocationStatus:
    """One certificate's revocation status now (OCSP, then CRL), over a chain to ``anchors``;
    "unknown" with the reason when no chain is found or nothing could be fetched."""
    run = _Run(anchors, list(intermediates), ValidationPolicy(), fetching, now or datetime.now(UTC))
    outcome = run._path(_asn1(certificate), run.now, _ANY_USE)
    if outcome.path is None:
        return RevocationStatus("unknown", "none", detail=outcome.sub or outcome.note)
    return run._revocations(outcome.path)[0]


def overall(signers: Sequence[SignerReport]) -> tuple[Indication, str | None]:
    """A document's verdict from its signers': none is FORMAT_FAILURE, else the first failed
    signer's, else the first one's that did not pass, else TOTAL_PASSED."""
    if not signers:
        return TOTAL_FAILED, "FORMAT_FAILURE"
    if all(r.indication == TOTAL_PASSED for r in signers):
        return TOTAL_PASSED, None
    worst = next((r for r in signers if r.indication == TOTAL_FAILED), None)
    worst = worst or next(r for r in signers if not r.passed)
    return worst.indication, worst.sub_indication


def _report(kind: str, detached: bool, run: _Run, reports: list[SignerReport]) -> ValidationReport:
    indication, sub = overall(reports)
    return ValidationReport(
        indication=indication,
        sub_indication=sub,
        format=kind,
        detached=detached,
        validation_time=run.now,
        policy=run.policy,
        signers=tuple(reports),
    )


# -- one validation run -----------------------------------------------------------------------


# id(object) -> (object, what was read from it); holding the object keeps its id unique.
# cms and tsp hand out the same ``x509.Certificate`` for the same DER, and callers pass the same
# anchors again: found by identity, no hashing of the DER (as ``cryptography`` does on hash()).
_BY_IDENTITY: dict[tuple[str, int], tuple[Any, Any]] = {}


def _by_identity(kind: str, thing: Any, read: Any) -> Any:
    found = _BY_IDENTITY.get((kind, id(thing)))
    if found is not None and found[0] is thing:
        return found[1]
    value = read(thing)
    if len(_BY_IDENTITY) >= 4 * PARSED_LIMIT:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[(kind, id(thing))] = (thing, value)
    return value


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto form of ``certificate`` (parsed once per DER)."""
    parsed: asn1_x509.Certificate = _by_identity("asn1", certificate, _asn1_by_value)
    return parsed


@lru_cache(maxsize=PARSED_LIMIT)
def _asn1_by_value(certificate: x509.Certificate) -> asn1_x509.Certificate:
    # Keyed by the certificate itself (`cryptography` hashes and compares it by its DER):
    # encoding it to DER again on every call cost more than the lookup.
    return _parsed(certificate.public_bytes(Encoding.DER))


@lru_cache(maxsize=PARSED_LIMIT)
def _parsed(der: bytes) -> asn1_x509.Certificate:
    # One asn1crypto object per DER: its lazily parsed names, keys and hashes are kept, so a
    # certificate seen again is not re-parsed. The objects are shared between threads (the
    # desktop validates in a pool), so every part is parsed here, once: asn1crypto's lazy
    # parsing fills a structure's children in place and is not safe to race.
    # A part asn1crypto cannot read stays lazy; path validation will say what is wrong with it.
    certificate = asn1_x509.Certificate.load(der)
    with contextlib.suppress(ValueError, TypeError, KeyError):
        certificate.native  # noqa: B018
    return certificate


def check_timestamp(token_der: bytes, stamped: bytes) -> CheckedToken:
    """The token checked over ``stamped`` (imprint, TSA signature), or why it does not hold.
    Its TSA's path is not judged here: ValidationRun.judge_timestamp does that."""
    try:
        return tsp.verify_token(bytes(token_der), bytes(stamped)), None
    except QalamError as error:
        return None, error.message("en")


def _identity(certificate: x509.Certificate) -> Identity:
    identity: Identity = _by_identity("identity", certificate, _identity_by_value)
    return identity


@lru_cache(maxsize=PARSED_LIMIT)
def _identity_by_value(certificate: x509.Certificate) -> Identity:
    # A pure reading of the certificate, which hashes and compares by its DER.
    return identity_of(certificate)


def _anchor_set(anchors: Sequence[asn1_x509.Certificate]) -> str:
    """The anchor set's fingerprint: a cached path is only good for the same set."""
    return hashlib.sha256(b"".join(sorted(a.sha256 for a in anchors))).hexdigest()


_ANCHOR_SETS: dict[tuple[int, ...], tuple[tuple[x509.Certificate, ...], Any]] = {}


def _anchor_facts(
    anchors: tuple[x509.Certificate, ...],
) -> tuple[tuple[asn1_x509.Certificate, ...], str]:
    # A caller validating with the same anchor objects again gets the same parsed set and
    # fingerprint without re-reading them (the objects are held, so their ids stay unique).
    ids = tuple(map(id, anchors))
    found = _ANCHOR_SETS.get(ids)
    if found is not None and all(map(operator.is_, found[0], anchors)):
        facts: tuple[tuple[asn1_x509.Certificate, ...], str] = found[1]
        return facts
    parsed = tuple(_asn1(c) for c in anchors)
    facts = (parsed, _anchor_set(parsed))
    if len(_ANCHOR_SETS) >= 64:
        _ANCHOR_SETS.clear()
    _ANCHOR_SETS[ids] = (anchors, facts)
    return facts


def _name(certificate: asn1_x509.Certificate, which: str = "subject") -> str:
    name = certificate.issuer if which == "issuer" else certificate.subject
    try:
        cn = name.native.get("common_name")
    except (ValueError, KeyError, AttributeError):
        cn = None
    return str(cn) if cn else str(name.human_friendly)


def _link(
    certificate: asn1_x509.Certificate,
    role: Literal["signer", "intermediate", "anchor", "tsa"],
    revocation: RevocationStatus | None = None,
) -> ChainLink:
    bare = _bare_link(certificate, role)
    if revocation is None:
        return bare
    # Field by field: dataclasses.replace's generic walk was a visible share of a warm run.
    return ChainLink(
        bare.subject,
        bare.issuer,
        bare.serial,
        bare.not_before,
        bare.not_after,
        bare.sha256,
        bare.role,
        revocation,
    )


_LINKS: dict[tuple[bytes, str], ChainLink] = {}


def _bare_link(
    certificate: asn1_x509.Certificate, role: Literal["signer", "intermediate", "anchor", "tsa"]
) -> ChainLink:
    # Names are costly to read (string preparation): a certificate's link is made once.
    key = (certificate.sha256, role)
    found = _LINKS.get(key)
    if found is None:
        if len(_LINKS) >= PARSED_LIMIT:
            _LINKS.clear()
        found = _LINKS[key] = _new_link(certificate, role)
    return found


def _new_link(
    certificate: asn1_x509.Certificate, role: Literal["signer", "intermediate", "anchor", "tsa"]
) -> ChainLink:
    validity = certificate["tbs_certificate"]["validity"]
    return ChainLink(
        subject=_name(certificate),
        issuer=_name(certificate, "issuer"),
        serial=format(certificate.serial_number, "x"),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        sha256=hashlib.sha256(certificate.dump()).hexdigest(),
        role=role,
    )


@dataclass(frozen=True, slots=True)
class _PathFacts:
    """What a warm validation reads from a validated path, read once per path object."""

    certs: tuple[asn1_x509.Certificate, ...]  # below the anchor, leaf first
    key: tuple[bytes, ...]  # every certificate's SHA-256, anchor included
    # Each certificate's issuer's key fingerprint: the next one up the path, the anchor above
    # the last (read from the path's order: find_issuing_authority compares names, slowly).
    issuer_keys: tuple[bytes, ...]
    anchor: ChainLink | None


# id(path) -> (path, facts); holding the path keeps its id unique. The paths table of a cache
# hands out the same path object while it keeps it, so this is read once per validated path.
_FACTS: dict[int, tuple[ValidationPath, _PathFacts]] = {}


def _facts(path: ValidationPath) -> _PathFacts:
    found = _FACTS.get(id(path))
    if found is not None and found[0] is path:
        return found[1]
    certs = tuple(path.iter_certs(include_root=False))[::-1]
    authority = path.trust_anchor.authority
    issuer_keys = (*(c.public_key.sha256 for c in certs[1:]), authority.public_key.sha256)
    anchor_cert = getattr(authority, "certificate", None)
    facts = _PathFacts(
        certs=certs,
        key=tuple(cert.sha256 for cert in path.iter_certs(include_root=True)),
        issuer_keys=issuer_keys,
        anchor=(
            _link(anchor_cert, "anchor") if isinstance(anchor_cert, asn1_x509.Certificate) else None
        ),
    )
    if len(_FACTS) >= PARSED_LIMIT:
        _FACTS.clear()
    _FACTS[id(path)] = (path, facts)
    return facts


# (id(facts), role) -> (facts, the statuses, the links made from them); see _Run._links.
_LINKS_OF: dict[
    tuple[int, str],
    tuple[_PathFacts, tuple[RevocationStatus | None, ...], tuple[ChainLink, ...]],
] = {}


@dataclass
class _PathOutcome:
    path: ValidationPath | None
    indication: Indication | None = None
    sub: str | None = None
    note: str = ""
    expired: bool = False


_RANK: Final[dict[Indication, int]] = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}


@dataclass(slots=True)
class _Verdict:
    indication: Indication = TOTAL_PASSED
    sub: str | None = None
    warnings: list[str] = field(default_factory=list)

    def worsen(self, indication: Indication, sub: str | None, note: str = "") -> None:
        """Keep the worst verdict: TOTAL_FAILED over INDETERMINATE over TOTAL_PASSED."""
        rank = _RANK
        if rank[indication] > rank[self.indication]:
            self.indication, self.sub = indication, sub
        if note:
            self.warnings.append(note)


def _judge_problems(problems: Sequence[str], verdict: _Verdict) -> None:
    """The verdict of the mathematics' problems (cms / xmldsig codes)."""
    for code, indication, sub in _CRYPTO_VERDICTS:
        if code in problems:
            verdict.worsen(indication, sub)
            return
    if set(problems) - {cms.TIMESTAMP_INVALID}:
        verdict.worsen(TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


class _Run:
    """What one document's validation shares: anchors, certificates, fetchers, the time."""

    def __init__(
        self,
        anchors: Sequence[x509.Certificate],
        extra: Sequence[x509.Certificate],
        policy: ValidationPolicy,
        fetching: Fetching,
        now: datetime,
        ocsp_responses: Sequence[bytes] = (),
        crls: Sequence[bytes] = (),
    ) -> None:
        parsed_anchors, self.anchor_set = _anchor_facts(tuple(anchors))
        self.anchors = list(parsed_anchors)
        # Revocation data carried by the signature itself (CAdES-LT): usable offline.
        self.embedded_ocsp = [asn1_ocsp.OCSPResponse.load(d) for d in ocsp_responses]
        self.embedded_crls = [asn1_crl.CertificateList.load(d) for d in crls]
        self.extra = [_asn1(c) for c in extra]
        self.cache = fetching.cache
        self.policy = policy
        self.fetching = fetching
        self.now = now
        self.online = fetching.transport is not None
        # Made when first asked for: a warm validation that finds everything cached needs none.
        self._fetch_state: RevocationFetchers | None = None
        self._fetchers: Fetchers | None = None
        # Fingerprints of ``extra``, made when first needed and dropped when it grows.
        self._given_set: set[bytes] | None = None

    @property
    def fetch_state(self) -> RevocationFetchers | None:
        """The fetchers' state (None offline): what they fetched and what failed."""
        transport = self.fetching.transport
        if self._fetch_state is None and transport is not None:
            fetching = self.fetching
            self._fetch_state = RevocationFetchers(transport, fetching.cache, fetching.rewrites)
        return self._fetch_state

    @property
    def fetchers(self) -> Fetchers | None:
        """certvalidator's fetchers over this run's transport (None offline)."""
        if self._fetchers is None and self.fetch_state is not None:
            self._fetchers = self.fetch_state.fetchers()
        return self._fetchers

    # contexts

    def _context(self, moment: datetime | None, revinfo: bool) -> ValidationContext:
        options: dict[str, Any] = {}
        if not revinfo:
            options["revinfo_policy"] = _NO_REVOCATION_CHECK
        else:
            options["revocation_mode"] = "hard-fail"
        if self.fetchers is not None:
            options["fetchers"] = self.fetchers
        if revinfo:
            options.update(ocsps=self.embedded_ocsp, crls=self.embedded_crls)
            # Embedded evidence is judged at the time it proves (see _evidence_time), and was
            # fetched after it.
            options["retroactive_revinfo"] = moment is not None
        return ValidationContext(
            trust_roots=self.anchors,
            other_certs=[*self.extra, *self._fetched()],
            moment=moment,
            allow_fetching=self.online,
            signature_validator=GOST_AWARE,  # NCA's GOST line: certificates, OCSP, CRLs
            **options,
        )

    def _fetched(self) -> list[asn1_x509.Certificate]:
        state = self._fetch_state
        return list(state.certs_from_aia) if state is not None else []

    # one signer

    def signer(
        self,
        certificate: x509.Certificate | None,
        problems: Sequence[str],
        claimed: datetime | None,
        checked: list[CheckedToken],
        *,
        xml: bool = False,
    ) -> SignerReport:
        """One signer's report from its cryptographic problems and its checked timestamps."""
        verdict = _Verdict()
        if problems:
            _judge_problems(problems, verdict)
        identity = _identity(certificate) if certificate is not None else None
        # The signer's chain is validated first, at the earliest genTime of the tokens that
        # verify: its CA certificates (fetched by AIA) are then at hand for the TSA's chain,
        # which the token does not carry. Should that timestamp fail, the chain is redone.
        times = [tok.gen_time for tok, _ in checked if tok is not None]
        optimistic = min(times) if times else None
        chain: tuple[ChainLink, ...] = ()
        revocation: RevocationStatus | None = None
        signer_verdict = _Verdict()
        leaf = _asn1(certificate) if certificate is not None else None
        if leaf is not None and verdict.indication != TOTAL_FAILED:
            chain, revocation = self._signer_chain(leaf, optimistic, claimed, signer_verdict)
        timestamps = tuple(self._tsa_check(tok, problem) for tok, problem in checked)
        valid_times = [t.time for t in timestamps if t.valid and t.time is not None]
        poe = min(valid_times) if valid_times else None
        if leaf is not None and verdict.indication != TOTAL_FAILED and poe != optimistic:
            signer_verdict = _Verdict()
            chain, revocation = self._signer_chain(leaf, poe, claimed, signer_verdict)
        for stamp in timestamps:
            if not stamp.valid:
                verdict.worsen(
                    INDETERMINATE,
                    "SIG_CONSTRAINTS_FAILURE",
                    f"a signature timestamp is not valid ({stamp.problem}); its time is not used",
                )
        level: Level | None = None
        if verdict.indication != TOTAL_FAILED:
            level = "T" if poe is not None else "B"
        if certificate is None:
            verdict.worsen(INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND")
        elif verdict.indication != TOTAL_FAILED:
            verdict.worsen(signer_verdict.indication, signer_verdict.sub)
            verdict.warnings.extend(signer_verdict.warnings)
        if poe is not None:
            when: datetime | None = poe
            source: TimeSource = "timestamp"
        elif claimed is not None:
            when, source = claimed, "claimed"
        else:
            when, source = None, "none"
        if xml and not problems and not checked:
            verdict.warnings.append("XML signatures carry no timestamp here: level B")
        return SignerReport(
            indication=verdict.indication,
            sub_indication=verdict.sub,
            certificate=certificate,
            identity=identity,
            signing_time=when,
            signing_time_source=source,
            claimed_signing_time=claimed,
            chain=chain,
            revocation=revocation,
            timestamps=timestamps,
            level=level,
            problems=tuple(problems),
            warnings=tuple(dict.fromkeys(verdict.warnings)) if verdict.warnings else (),
        )

    def at_archive_time(
        self, signer: SignerReport, archive: Sequence[TimestampReport], *, xml: bool = False
    ) -> SignerReport:
        """``signer`` judged again at the oldest valid archive timestamp of ``archive`` when
        that proves its existence earlier than its own signature timestamps do (none valid,
        or level B): ETSI EN 319 102-1's past signature validation with that proof of
        existence. Broken mathematics stays broken; a signature timestamp that does not
        hold still counts against the signature (the archive timestamp sealed it as it was)."""
        times = [a.time for a in archive if a.valid and a.time is not None]
        if not times or signer.certificate is None:
            return signer
        poe = min(times)
        own = signer.signing_time if signer.signing_time_source == "timestamp" else None
        if own is not None and own <= poe:
            return signer
        verdict = _Verdict()
        if signer.problems:
            _judge_problems(signer.problems, verdict)
        if verdict.indication == TOTAL_FAILED:
            return signer
        for stamp in signer.timestamps:
            if stamp.kind == "signature" and not stamp.valid:
                verdict.worsen(
                    INDETERMINATE,
                    "SIG_CONSTRAINTS_FAILURE",
                    f"a signature timestamp is not valid ({stamp.problem}); its time is not used",
                )
        chain_verdict = _Verdict()
        leaf = _asn1(signer.certificate)
        claimed = signer.claimed_signing_time
        chain, revocation = self._signer_chain(leaf, poe, claimed, chain_verdict, archive=True)
        verdict.worsen(chain_verdict.indication, chain_verdict.sub)
        verdict.warnings.extend(chain_verdict.warnings)
        verdict.warnings.append(
            f"no signature timestamp proves the signing time: an archive timestamp proves the "
            f"signature existed at {poe:%Y-%m-%d %H:%M:%S %Z}, and it is judged at that time"
        )
        if xml and not signer.problems and all(t.kind != "signature" for t in signer.timestamps):
            verdict.warnings.append("XML signatures carry no timestamp here: level B")
        return replace(
            signer,
            indication=verdict.indication,
            sub_indication=verdict.sub,
            signing_time=poe,
            signing_time_source="archive_timestamp",
            chain=chain,
            revocation=revocation,
            warnings=tuple(dict.fromkeys(verdict.warnings)),
        )

    def _signer_chain(
        self,
        leaf: asn1_x509.Certificate,
        poe: datetime | None,
        claimed: datetime | None,
        verdict: _Verdict,
        *,
        archive: bool = False,
    ) -> tuple[tuple[ChainLink, ...], RevocationStatus | None]:
        outcome, statuses, links = self._chain(leaf, poe or self.now, _SIGNER_USE, "signer", poe)
        if outcome.path is None:
            indication, sub = outcome.indication or INDETERMINATE, outcome.sub
            if outcome.expired and poe is None:
                if self.policy.expired_without_poe == "failed":
                    indication, sub = TOTAL_FAILED, "EXPIRED"
                else:
                    indication, sub = INDETERMINATE, "OUT_OF_BOUNDS_NO_POE"
            verdict.worsen(indication, sub, outcome.note)
            return (_link(leaf, "signer"),), None
        leaf_status = statuses.get(0)
        for index, status in statuses.items():
            self._judge_revocation(status, index == 0, poe, claimed, verdict, archive)
        return links, leaf_status

    def _judge_revocation(
        self,
        status: RevocationStatus,
        is_leaf: bool,
        poe: datetime | None,
        claimed: datetime | None,
        verdict: _Verdict,
        archive: bool = False,
    ) -> None:
        whose = "the signer's certificate" if is_leaf else "a CA certificate of the chain"
        if status.status == "unknown":
            note = f"revocation of {whose} is unknown: {_brief(status.detail)}"
            if self.policy.revocation == "hard-fail":
                verdict.worsen(TOTAL_FAILED, "TRY_LATER", note)
            else:
                verdict.worsen(INDETERMINATE, "TRY_LATER", note)
            return
        if status.status != "revoked" or status.revoked_at is None:
            return
        at = f"{status.revoked_at:%Y-%m-%d %H:%M:%S %Z}"
        if poe is not None and poe < status.revoked_at:
            after = "the time an archive timestamp proves" if archive else "the timestamped signing"
            verdict.warnings.append(f"{whose} was revoked at {at} ({status.reason}), after {after}")
        elif poe is not None or (claimed is not None and claimed >= status.revoked_at):
            verdict.worsen(
                TOTAL_FAILED, "REVOKED", f"{whose} was revoked at {at} ({status.reason})"
            )
        else:
            sub = "REVOKED_NO_POE" if is_leaf else "REVOKED_CA_NO_POE"
            note = f"{whose} was revoked at {at} and nothing proves the signature is older"
            verdict.worsen(INDETERMINATE, sub, note)

    # paths and revocation

    def _chain(
        self,
        leaf: asn1_x509.Certificate,
        moment: datetime,
        use: _Use,
        role: Literal["signer", "tsa"],
        poe: datetime | None,
    ) -> tuple[_PathOutcome, Mapping[int, RevocationStatus], tuple[ChainLink, ...]]:
        """``leaf``'s validated path at ``moment``, its statuses (asked as _evidence_time says)
        and its links; nothing but the outcome when no path is found.

        Online, a warm run finds all three in one lookup: the entry holds exactly what the
        steps below produced, under the conditions each of them checks (the path's windows
        and intermediates, the evidence tables unchanged, the earliest expiry of both).
        """
        warm = self.online and not (self.embedded_ocsp or self.embedded_crls)
        key = ("chain", leaf.sha256, self.anchor_set, use, role)
        if warm:
            found = self.cache._get_current(self.cache.chains, key)
            if found is not None:
                path, certs, start, end, intermediates, statuses, links = found
                if start <= moment <= end and self._has(intermediates):
                    self._add_extra(certs)
                    return _PathOutcome(path), statuses, links
        outcome = self._path(leaf, moment, use)
        if outcome.path is None:
            return outcome, {}, ()
        statuses = self._revocations(outcome.path, self._evidence_time(poe))
        links = self._links(outcome.path, statuses, role)
        if warm:
            self._keep_chain(key, leaf, use, outcome.path, statuses, links)
        return outcome, statuses, links

    def _keep_chain(
        self,
        key: tuple[Any, ...],
        leaf: asn1_x509.Certificate,
        use: _Use,
        path: ValidationPath,
        statuses: Mapping[int, RevocationStatus],
        links: tuple[ChainLink, ...],
    ) -> None:
        # Kept only when both entries it is made of are cached now: the path, and the whole
        # path's statuses at the current generation (both as _path and _revocations find them).
        cache = self.cache
        facts = _facts(path)
        generation = cache.evidence_generation()
        path_entry = cache._entry(cache.paths, (leaf.sha256, self.anchor_set, *use))
        whole_entry = cache._entry(cache.chains, facts.key)
        if path_entry is None or whole_entry is None:
            return
        path_until, (kept_path, start, end, intermediates) = path_entry
        whole_until, (whole_generation, whole) = whole_entry
        if kept_path is not path or whole_generation != generation or whole != statuses:
            return
        value = (path, facts.certs, start, end, intermediates, dict(statuses), links)
        cache._put(cache.chains, key, min(path_until, whole_until), (generation, value))

    def _has(self, intermediates: frozenset[bytes]) -> bool:
        """Whether this run holds (or could fetch without asking) every one of ``intermediates``."""
        if not intermediates:
            return True
        fetched = self.cache.fetched_fingerprints() if self.online else frozenset()
        if intermediates <= fetched:
            return True
        given = self._given_set
        if given is None:
            given = self._given_set = {cert.sha256 for cert in self.extra}
        return all(sha in given or sha in fetched for sha in intermediates)

    def _add_extra(self, certs: Sequence[asn1_x509.Certificate]) -> None:
        self.extra.extend(certs)
        self._given_set = None

    def _path(self, leaf: asn1_x509.Certificate, moment: datetime, use: _Use) -> _PathOutcome:
        """``leaf``'s path at ``moment`` for these usages, validated or found cached."""
        if leaf.self_signed != "no" and leaf.dump() not in {a.dump() for a in self.anchors}:
            note = f"{_name(leaf)} is self-signed and not a trust anchor"
            return _PathOutcome(None, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", note)
        key = (leaf.sha256, self.anchor_set, *use)
        key_usage, eku = set(use[0]), set(use[1]) or None
        cached = self._cached_path(key, moment)
        if cached is not None:
            return _PathOutcome(cached)
        context = self._context(moment, revinfo=False)
        validator = CertificateValidator(leaf, self.extra, validation_context=context)
        try:
            path = _run(validator.async_validate_usage(key_usage, eku))  # type: ignore[no-untyped-call]
        except cv_errors.PathBuildingError as exc:
            return _PathOutcome(None, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", str(exc))
        except cv_errors.ExpiredError as exc:
            return _PathOutcome(None, TOTAL_FAILED, "EXPIRED", str(exc), expired=True)
        except cv_errors.NotYetValidError as exc:
            return _PathOutcome(None, TOTAL_FAILED, "NOT_YET_VALID", str(exc))
        except cv_errors.DisallowedAlgorithmError as exc:
            return _PathOutcome(None, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", str(exc))
        except cv_errors.InvalidCertificateError as exc:
            return _PathOutcome(None, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE", str(exc))
        except (cv_errors.PathValidationError, cv_errors.ValidationError) as exc:
            return _PathOutcome(None, INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE", str(exc))
        self._keep_path(key, path)
        return _PathOutcome(path)

    def _cached_path(self, key: tuple[Any, ...], moment: datetime) -> ValidationPath | None:
        found = self.cache._get(self.cache.paths, key)
        if found is None:
            return None
        path, start, end, intermediates = found
        if not start <= moment <= end:
            return None
        if not self._has(intermediates):
            return None
        self._add_extra(_facts(path).certs)
        return path  # type: ignore[no-any-return]

    def _keep_path(self, key: tuple[Any, ...], path: ValidationPath) -> None:
        certs = list(path.iter_certs(include_root=True))
        windows = [c["tbs_certificate"]["validity"] for c in certs]
        start = max(w["not_before"].native for w in windows)
        end = min(w["not_after"].native for w in windows)
        leaf = path.leaf
        intermediates = frozenset(
            c.sha256 for c in path.iter_certs(include_root=False) if c is not leaf
        )
        until = self.cache.clock() + PATH_MAX_AGE
        self.cache._put(self.cache.paths, key, until, (path, start, end, intermediates))

    def _evidence_time(self, poe: datetime | None) -> datetime | None:
        """When revocation is asked: now, or offline with a CAdES-LT's embedded data, at the
        proof of existence (the data was fresh then; years later it has expired)."""
        embedded = bool(self.embedded_ocsp or self.embedded_crls)
        return poe if embedded and not self.online else None

    def _revocations(
        self, path: ValidationPath, moment: datetime | None = None
    ) -> dict[int, RevocationStatus]:
        """Status of each non-anchor certificate of ``path`` (0 = the leaf), asked now (or at
        ``moment``)."""
        facts = _facts(path)
        certs = facts.certs  # leaf first
        embedded = bool(self.embedded_ocsp or self.embedded_crls)
        if not self.online and not embedded:
            reason = "offline: no revocation data could be fetched"
            unknown = RevocationStatus("unknown", "none", detail=reason)
            return dict.fromkeys(range(len(certs)), unknown)
        if not self.online:
            # A CAdES-LT checked offline: the signature's own data, judged at ``moment``; it
            # is not the fetch cache's evidence, so nothing here is cached.
            context = self._context(moment, revinfo=True)

            async def all_of() -> dict[int, RevocationStatus]:
                return {
                    index: await check_revocation(cert, path, context, self.fetchers)
                    for index, cert in enumerate(certs)
                }

            embedded_result: dict[int, RevocationStatus] = _run(all_of())
            return {i: _from_embedded(status) for i, status in embedded_result.items()}
        path_key = facts.key
        # The whole path's statuses, kept while the evidence tables have not changed at all
        # since every status was last matched to the evidence the cache offers (then that
        # evidence is still what it offers) and until the earliest of that evidence expires.
        whole = self.cache._get_current(self.cache.chains, path_key)
        if whole is not None:
            return dict(whole)
        # Taken before the evidence is compared: a change meanwhile makes the entry a miss.
        generation = self.cache.evidence_generation()
        issuer_keys = facts.issuer_keys
        result: dict[int, RevocationStatus] = {}
        usable_until: list[datetime] = []
        for index, cert in enumerate(certs):
            issuer_key = issuer_keys[index]
            kept = self.cache._get(self.cache.statuses, (cert.sha256, path_key))
            if kept is None:
                continue
            evidence = cached_evidence(self.cache, cert, issuer_key)
            if evidence is not None and kept[0] == evidence[0]:
                result[index] = kept[1]
                usable_until.append(evidence[1])
        missing = [index for index in range(len(certs)) if index not in result]
        if not missing:
            if usable_until:  # none for a path of the anchor alone: nothing to keep
                whole_entry = (generation, dict(result))
                self.cache._put(self.cache.chains, path_key, min(usable_until), whole_entry)
            return result
        context = self._context(None, revinfo=True)
        fetchers = self.fetchers
        if fetchers is None:  # not reached: offline returned above
            raise RuntimeError("revocation checking needs fetchers")

        async def the_rest() -> dict[int, RevocationStatus]:
            return {
                index: await check_revocation(certs[index], path, context, fetchers)
                for index in missing
            }

        fresh: dict[int, RevocationStatus] = _run(the_rest())
        for index, status in fresh.items():
            used = (
                used_evidence(self.cache, certs[index], status, fetchers)
                if status.source != "none"
                else None
            )
            now_cached = cached_evidence(self.cache, certs[index], issuer_keys[index])
            # Kept only when the evidence used is what the cache will offer next time.
            if used is not None and now_cached is not None and now_cached[0] == used:
                entry = (used, status)
                self.cache._put(
                    self.cache.statuses, (certs[index].sha256, path_key), now_cached[1], entry
                )
        result.update(fresh)
        return result

    def _links(
        self,
        path: ValidationPath,
        statuses: Mapping[int, RevocationStatus],
        leaf_role: Literal["signer", "tsa"],
    ) -> tuple[ChainLink, ...]:
        facts = _facts(path)
        per_cert = tuple(statuses.get(index) for index in range(len(facts.certs)))
        # A warm run hands out the very status objects it kept, so the links made from them
        # last time are found by identity (ChainLink is frozen: building it field by field costs).
        key = (id(facts), leaf_role)
        found = _LINKS_OF.get(key)
        if (
            found is not None
            and found[0] is facts
            and all(a is b for a, b in zip(found[1], per_cert, strict=True))
        ):
            return found[2]
        links = [
            _link(cert, leaf_role if index == 0 else "intermediate", per_cert[index])
            for index, cert in enumerate(facts.certs)
        ]
        if facts.anchor is not None:
            links.append(facts.anchor)
        made = tuple(links)
        if len(_LINKS_OF) >= PARSED_LIMIT:
            _LINKS_OF.clear()
        _LINKS_OF[key] = (facts, per_cert, made)
        return made

    # timestamps

    def _token(
        self, token_der: bytes, stamped: bytes
    ) -> tuple[tsp.TimeStampToken | None, str | None]:
        return check_timestamp(token_der, stamped)

    def _tsa_check(self, token: tsp.TimeStampToken | None, problem: str | None) -> TimestampReport:
        if token is None:
            return TimestampReport(None, False, None, problem=problem)
        tsa_cert = _asn1(token.tsa_certificate)
        tsa_name = _bare_link(tsa_cert, "tsa").subject  # read once per certificate
        outcome, statuses, chain = self._chain(
            tsa_cert, token.gen_time, _TSA_USE, "tsa", token.gen_time
        )
        if outcome.path is None:
            problem = f"the TSA certificate does not validate: {outcome.sub} ({outcome.note})"
            return TimestampReport(token.gen_time, False, tsa_name, problem=problem)
        for status in statuses.values():
            revoked_at = status.revoked_at if status.status == "revoked" else None
            if revoked_at is not None and revoked_at <= token.gen_time:
                problem = "the TSA certificate was revoked before the time it stamped"
                return TimestampReport(token.gen_time, False, tsa_name, chain, problem)
            if status.status == "unknown" and self.policy.revocation == "hard-fail":
                problem = f"the TSA certificate's revocation is unknown: {_brief(status.detail)}"
                return TimestampReport(token.gen_time, False, tsa_name, chain, problem)
        return TimestampReport(token.gen_time, True, tsa_name, chain)


class ValidationRun:
    """One document's validation, for the modules that build on the validator (CAdES and
    XAdES LT/LTA): paths, revocation, timestamps and verdicts by the very rules, caches and
    evidence validate_cms and validate_xml use. Synchronous, like them (see the module's text).
    """

    __slots__ = ("_run",)

    def __init__(
        self,
        anchors: Sequence[x509.Certificate],
        intermediates: Iterable[x509.Certificate] = (),
        *,
        policy: ValidationPolicy = ValidationPolicy(),
        fetching: Fetching = OFFLINE,
        now: datetime | None = None,
        ocsp_responses: Sequence[bytes] = (),
        crls: Sequence[bytes] = (),
    ) -> None:
        # ocsp_responses and crls: DER evidence the document carries, used beside fetching.
        now = now or datetime.now(UTC)
        self._run = _Run(anchors, list(intermediates), policy, fetching, now, ocsp_responses, crls)

    @property
    def now(self) -> datetime:
        """The validation time."""
        return self._run.now

    @property
    def policy(self) -> ValidationPolicy:
        """The policy verdicts follow."""
        return self._run.policy

    def path(
        self,
        certificate: x509.Certificate,
        at: datetime | None = None,
        *,
        key_usage: Iterable[str] = (),
        eku: Iterable[str] = (),
    ) -> ValidationPath | None:
        """``certificate``'s validated path to an anchor at ``at`` (default: now) for these key
        usages and EKUs (asn1crypto names: "digital_signature", "time_stamping"), or None."""
        use = (frozenset(key_usage), frozenset(eku))
        return self._run._path(_asn1(certificate), at or self.now, use).path

    def revocations(self, path: ValidationPath) -> dict[int, RevocationStatus]:
        """The status of each certificate of ``path`` below its anchor (0 = the leaf), fetched
        now or taken from the cache (offline: from the embedded evidence, or "unknown")."""
        return self._run._revocations(path)

    def fetched_evidence(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """The DER OCSP responses and CRLs this run's fetchers fetched so far (none offline)."""
        fetchers = self._run.fetchers
        if fetchers is None:
            return (), ()
        responses = dict.fromkeys(r.dump() for r in fetchers.ocsp_fetcher.fetched_responses())
        crls = dict.fromkeys(c.dump() for c in fetchers.crl_fetcher.fetched_crls())
        return tuple(responses), tuple(crls)

    def judge_timestamp(
        self, checked: CheckedToken, kind: TimestampKind = "signature"
    ) -> TimestampReport:
        """A checked token (check_timestamp) judged: its TSA's path at genTime with the
        timeStamping EKU, not revoked before it (unknown fails it under hard-fail)."""
        report = self._run._tsa_check(*checked)
        return report if kind == "signature" else replace(report, kind=kind)

    def signer(
        self,
        certificate: x509.Certificate | None,
        problems: Sequence[str],
        claimed: datetime | None,
        checked: list[CheckedToken],
        *,
        xml: bool = False,
    ) -> SignerReport:
        """One signer's report from its mathematics' problems (cms / xmldsig codes), its
        claimed signing time and its signature timestamps checked over its signature value."""
        return self._run.signer(certificate, problems, claimed, checked, xml=xml)

    def at_archive_time(
        self, signer: SignerReport, archive: Sequence[TimestampReport], *, xml: bool = False
    ) -> SignerReport:
        """``signer`` judged again at the oldest valid one of its judged ``archive`` timestamps
        when nothing earlier proves its existence (see _Run.at_archive_time); else as it is."""
        return self._run.at_archive_time(signer, archive, xml=xml)

    def report(
        self, format: str, detached: bool, signers: Sequence[SignerReport]
    ) -> ValidationReport:
        """The document's report: ``format`` ("cms", "xml"), its signers, the overall verdict."""
        return _report(format, detached, self._run, list(signers))


def _from_embedded(status: RevocationStatus) -> RevocationStatus:
    if status.source == "none":
        # Each of certvalidator's reasons names the evidence ("OCSP: ...", "CRL: ...") and may
        # carry the whole response's bytes: said briefly, as the signature's own evidence.
        reasons = [f"embedded {part}" for part in _REASONS.split(_brief(status.detail)) if part]
        return replace(status, detail="; ".join(reasons) or status.detail)
    return replace(status, source="embedded", detail=f"embedded {status.detail}".strip())


# A reason of revocation.check_revocation's, one per kind of evidence tried.
_REASONS: Final = re.compile(r"; (?=(?:OCSP|CRL): )")
# The first sentence of a reason, within this length: certvalidator's messages can hold a whole
# OCSP response or CRL, kilobytes no one reads in a warning.
REASON_LIMIT: Final = 160


def _brief(detail: str) -> str:
    """``detail`` (one or more "OCSP: ..." / "CRL: ..." reasons) with each reason cut to its
    first sentence, at most REASON_LIMIT characters."""
    if len(detail) <= REASON_LIMIT:
        return detail
    return "; ".join(_first_sentence(part) for part in _REASONS.split(detail))


def _first_sentence(reason: str) -> str:
    cut = len(reason)
    for end in (". ", ".\n", "\n", ": b'", ': b"'):
        at = reason.find(end)
        if 0 < at < cut:
            cut = at + (1 if end[0] == "." else 0)
    text = reason[:cut].rstrip()
    if len(text) > REASON_LIMIT:
        text = text[: REASON_LIMIT - 1].rstrip() + "…"
    return text


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


__all__ = [
    "INDETERMINATE",
    "OFFLINE",
    "TOTAL_FAILED",
    "TOTAL_PASSED",
    "ChainLink",
    "CheckedToken",
    "Fetching",
    "Indication",
    "Level",
    "SignerReport",
    "TimeSource",
    "TimestampKind",
    "TimestampReport",
    "ValidationPolicy",
    "ValidationReport",
    "ValidationRun",
    "certificate_status",
    "check_timestamp",
    "overall",
    "validate_cms",
    "validate_xml",
    "xml_signers",
]

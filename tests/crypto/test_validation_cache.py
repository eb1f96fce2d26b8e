"""Warm validations are correct, not just fast: what the caches keep is reused only while it
still holds (same anchors, a time inside the path's validity, the same revocation evidence),
and the signature and its timestamp are checked every time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from validation_helpers import CERTS, RunningCa, demo_anchors, running_ca

from signer_app.crypto import cms, validation
from signer_app.crypto.revocation import ExpiringLru, RevocationCache
from signer_app.crypto.validation import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    Fetching,
    validate_cms,
)
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.trust_store import fingerprint
from signer_app.service.tsa_client import HttpTsa

DOCUMENT = b"warm caches must not lie\n"


class Clock:
    """A cache clock that tests move forward."""

    def __init__(self) -> None:
        self.shift = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.shift


@pytest.fixture(scope="module")
def own_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCa]:
    """A CA of this module's own: the revocations here show nowhere else."""
    with running_ca(tmp_path_factory.mktemp("cache-ca")) as ca:
        yield ca


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often validation builds a path and asks for a revocation status."""
    counts = {"paths": 0, "revocation": 0}
    real_validator, real_check = validation.CertificateValidator, validation.check_revocation

    def validator(*args: object, **kwargs: object) -> object:
        counts["paths"] += 1
        return real_validator(*args, **kwargs)  # type: ignore[arg-type]

    async def check(*args: object) -> object:
        counts["revocation"] += 1
        return await real_check(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(validation, "CertificateValidator", validator)
    monkeypatch.setattr(validation, "check_revocation", check)
    return counts


def fetching(ca: RunningCa, cache: RevocationCache) -> Fetching:
    return Fetching(HttpTransport(timeout=5), cache, ca.rewrites)


def demo_chain() -> list[x509.Certificate]:
    return list(x509.load_pem_x509_certificates((CERTS / "trust" / "demo-chain.pem").read_bytes()))


def test_a_warm_validation_builds_no_path_and_asks_no_status(
    own_ca: RunningCa, demo, counted
) -> None:
    entry = demo["citizen_sign"].open()
    signature = cms.add_signature_timestamp(
        cms.sign(DOCUMENT, entry), HttpTsa(own_ca.tsa_url).stamp
    )
    cache = RevocationCache()
    first = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert first.indication == TOTAL_PASSED
    assert counted["paths"] == 2  # the signer's and the TSA's
    assert counted["revocation"] >= 2
    before = dict(counted)
    second = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert counted == before
    assert second.indication == TOTAL_PASSED
    assert second.signers[0].chain == first.signers[0].chain
    assert second.signers[0].timestamps == first.signers[0].timestamps


def test_the_signature_and_its_timestamp_are_still_checked_when_warm(
    own_ca: RunningCa, demo
) -> None:
    entry = demo["citizen_sign"].open()
    cache = RevocationCache()
    detached = cms.sign(DOCUMENT, entry, detached=True)
    warm = validate_cms(
        detached, DOCUMENT, anchors=demo_anchors(), fetching=fetching(own_ca, cache)
    )
    assert warm.indication == TOTAL_PASSED
    changed = validate_cms(
        detached, DOCUMENT + b"!", anchors=demo_anchors(), fetching=fetching(own_ca, cache)
    )
    assert (changed.indication, changed.sub_indication) == (TOTAL_FAILED, "HASH_FAILURE")
    stamped = cms.add_signature_timestamp(cms.sign(DOCUMENT, entry), HttpTsa(own_ca.tsa_url).stamp)
    assert validate_cms(stamped, anchors=demo_anchors(), fetching=fetching(own_ca, cache)).passed
    at = len(stamped) - 10  # inside the TSA's signature, the last unsigned attribute
    tampered = stamped[:at] + bytes([stamped[at] ^ 0x01]) + stamped[at + 1 :]
    report = validate_cms(tampered, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")


def test_a_revocation_shows_once_the_cached_answer_may_no_longer_be_reused(
    own_ca: RunningCa, demo
) -> None:
    entry = demo["employee_sign"].open()
    signature = cms.sign(DOCUMENT, entry)
    clock = Clock()
    cache = RevocationCache(clock=clock)
    assert validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache)).passed
    # Dated before the claimed signing time, so the verdict is REVOKED whatever second the
    # revocation lands in (at or after it, without a timestamp, it is REVOKED_NO_POE).
    own_ca.revoke(entry.certificate, later=-dt.timedelta(minutes=5))
    # The policy: an OCSP answer (and the status drawn from it) is reused without a new nonce
    # until its nextUpdate or thisUpdate + ocsp_max_age, whichever is first.
    still = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert still.passed
    clock.shift = cache.ocsp_max_age + dt.timedelta(seconds=1)
    report = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")
    assert report.signers[0].revocation.status == "revoked"


def test_a_cache_that_may_not_reuse_answers_sees_a_revocation_at_once(
    own_ca: RunningCa, demo
) -> None:
    entry = demo["ceo_sign"].open()
    signature = cms.sign(DOCUMENT, entry)
    cache = RevocationCache(ocsp_max_age=dt.timedelta(0))
    assert validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache)).passed
    own_ca.revoke(entry.certificate, later=-dt.timedelta(minutes=5))  # before the signing
    report = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")


def test_a_removed_trust_anchor_fails_the_next_validation(own_ca: RunningCa, demo) -> None:
    signature = cms.sign(DOCUMENT, demo["citizen_sign"].open())
    cache = RevocationCache()
    anchors = demo_anchors()
    warm = validate_cms(signature, anchors=anchors, fetching=fetching(own_ca, cache))
    assert warm.passed
    root = warm.signers[0].chain[-1]
    assert root.role == "anchor"
    fewer = [a for a in anchors if fingerprint(a) != root.sha256]
    assert len(fewer) == len(anchors) - 1
    report = validate_cms(signature, anchors=fewer, fetching=fetching(own_ca, cache))
    assert (report.indication, report.sub_indication) == (
        INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


def test_a_time_outside_the_cached_windows_is_validated_again(own_ca: RunningCa, demo) -> None:
    entry = demo["citizen_sign"].open()
    signature = cms.sign(DOCUMENT, entry)
    cache = RevocationCache()
    assert validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache)).passed
    certificate = entry.certificate
    after = certificate.not_valid_after_utc + dt.timedelta(days=1)
    report = validate_cms(
        signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache), now=after
    )
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")
    before = certificate.not_valid_before_utc - dt.timedelta(days=1)
    report = validate_cms(
        signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache), now=before
    )
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "NOT_YET_VALID")


def test_a_chain_found_whole_in_one_lookup_still_honours_the_path_s_windows(
    own_ca: RunningCa, demo, counted
) -> None:
    # The second validation keeps the path, its statuses and links as one entry; the third
    # finds them in one lookup, and a time outside the path's windows must not.
    entry = demo["citizen_sign"].open()
    signature = cms.sign(DOCUMENT, entry)
    cache = RevocationCache()
    for _ in range(2):
        assert validate_cms(
            signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache)
        ).passed
    before = dict(counted)
    warm = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert warm.passed
    assert counted == before
    after = entry.certificate.not_valid_after_utc + dt.timedelta(days=1)
    report = validate_cms(
        signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache), now=after
    )
    assert (report.indication, report.sub_indication) == (INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")


def test_a_cached_path_needs_its_intermediates_at_hand(demo) -> None:
    # offline: the issuing CA given once fills the cache; without it the path is not found
    signature = cms.sign(DOCUMENT, demo["citizen_sign"].open())
    shared = Fetching(cache=RevocationCache())
    given = validate_cms(
        signature, anchors=demo_anchors(), intermediates=demo_chain(), fetching=shared
    )
    assert given.sub_indication == "TRY_LATER"  # a chain, revocation unknown offline
    report = validate_cms(signature, anchors=demo_anchors(), fetching=shared)
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"


def test_the_cache_tables_are_bounded_and_expire() -> None:
    now = dt.datetime.now(dt.UTC)
    table = ExpiringLru(limit=2)
    table.put("a", now + dt.timedelta(hours=1), 1)
    table.put("b", now + dt.timedelta(hours=1), 2)
    assert table.get("a", now) == 1  # "b" is now the least recently used
    table.put("c", now + dt.timedelta(hours=1), 3)
    assert (table.get("a", now), table.get("b", now), table.get("c", now)) == (1, None, 3)
    assert table.get("c", now + dt.timedelta(hours=2)) is None
    assert len(table) == 1


def test_clear_forgets_paths_and_statuses(own_ca: RunningCa, demo, counted) -> None:
    signature = cms.sign(DOCUMENT, demo["citizen_sign"].open())
    cache = RevocationCache()
    validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    cache.clear()
    before = counted["paths"]
    validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert counted["paths"] == before + 1


def test_a_path_s_statuses_are_not_reused_once_the_evidence_cached_changes(
    own_ca: RunningCa, demo, counted
) -> None:
    entry = demo["civil_servant_sign"].open()
    signature = cms.sign(DOCUMENT, entry)
    cache = RevocationCache()
    assert validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache)).passed
    assert validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache)).passed
    own_ca.revoke(entry.certificate, later=-dt.timedelta(minutes=5))  # before the signing
    # Well inside the reuse window, the OCSP answers are dropped: the next validation must ask
    # again (and see the revocation), not serve the whole path's statuses kept before.
    cache._ocsp.clear()
    before = counted["revocation"]
    report = validate_cms(signature, anchors=demo_anchors(), fetching=fetching(own_ca, cache))
    assert counted["revocation"] > before
    assert (report.indication, report.sub_indication) == (TOTAL_FAILED, "REVOKED")


def test_an_evidence_table_counts_every_change_of_what_it_offers() -> None:
    now = dt.datetime.now(dt.UTC)
    table = ExpiringLru(limit=1)
    table.put("a", now + dt.timedelta(minutes=1), 1)
    seen = table.changes
    assert table.get("a", now) == 1
    assert table.changes == seen  # a lookup of a live entry changes nothing
    table.put("b", now + dt.timedelta(minutes=1), 2)  # and evicts "a"
    assert table.changes > seen
    seen = table.changes
    assert table.get("b", now + dt.timedelta(minutes=2)) is None  # expired when met
    assert table.changes > seen
    seen = table.changes
    table.clear()
    assert table.changes > seen


def test_the_fetched_certificates_fingerprints_follow_their_table() -> None:
    from asn1crypto import x509 as asn1_x509

    clock = Clock()
    cache = RevocationCache(clock=clock)
    first, second = (
        asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in demo_chain()[:2]
    )
    assert cache.fetched_fingerprints() == frozenset()
    now = clock()
    cache._put(cache._certs, "http://ca/one.crt", now + dt.timedelta(minutes=1), [first])
    assert cache.fetched_fingerprints() == {first.sha256}
    cache._put(cache._certs, "http://ca/two.crt", now + dt.timedelta(hours=1), [second])
    assert cache.fetched_fingerprints() == {first.sha256, second.sha256}
    clock.shift = dt.timedelta(minutes=2)  # the first entry has expired, unseen by any lookup
    assert cache.fetched_fingerprints() == {second.sha256}

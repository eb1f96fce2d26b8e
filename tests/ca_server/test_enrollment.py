"""Enrolment: a new AUTH + SIGN pair for whoever an authoriser allows (a PSC operator's one-time
code, a renewal signed with a still-valid AUTH key, an operator on the spot), and nobody else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from ca_http_support import foreign_entry

from ca_server import audit, authority, registry
from ca_server.db import Database, utcnow
from ca_server.enrollment import (
    AuthKeySignature,
    OneTimeCode,
    OperatorAction,
    enroll,
    renewal_request,
)
from ca_server.errors import CaError
from ca_server.instance import Instance
from ca_server.profiles import Purpose, Role
from signer_app.crypto import cms
from signer_app.crypto.identity import dn_string
from signer_app.crypto.keystores import KeyEntry

CITIZEN = "850101300124"
CEO = "750315300018"
COMPANY = "940140000385"
OPERATOR = "operator:psc-1"

Counts = Callable[[Database], dict[str, int]]
CsrFactory = Callable[..., tuple[Any, bytes]]


def _csrs(make_csr: CsrFactory, iin: str) -> dict[str, bytes]:
    return {"auth": make_csr(iin)[1], "sign": make_csr(iin)[1]}


def _good(instance: Instance, serial: str) -> bool:
    return authority.status(instance.db, serial).status == "good"


def _signed_request(entry: KeyEntry, iin: str, csrs: dict[str, bytes], **options: Any) -> bytes:
    auth = authority.check_csr(csrs["auth"]).der
    sign = authority.check_csr(csrs["sign"]).der
    return cms.sign(renewal_request(iin, auth, sign), entry, **options)


# -- one-time codes ---------------------------------------------------------------------------


def test_an_enrolment_code_gets_a_pair_and_is_used_up(
    instance: Instance, make_csr: CsrFactory, demo_rows: dict[str, Any], counts: Counts
) -> None:
    code = registry.create_ticket(instance.db, CITIZEN, OPERATOR, "enroll").code
    before = counts(instance.db)
    pair = enroll(
        instance.db, instance.authorities, OneTimeCode(code), CITIZEN, _csrs(make_csr, CITIZEN)
    )
    assert (pair.auth.role, pair.auth.ca, pair.sign.purpose) == (
        Role.INDIVIDUAL,
        "nac",
        Purpose.SIGN,
    )
    after = counts(instance.db)
    assert after["certificates"] == before["certificates"] + 2
    assert after["used_tickets"] == before["used_tickets"] + 1
    assert after["revoked"] == before["revoked"]  # enrolment adds, it does not replace
    assert _good(instance, demo_rows["citizen_auth"]["serial"])
    issued = audit.read(instance.db, action="certificate.issue")[-1]
    assert issued.actor == f"applicant:{CITIZEN}"
    assert issued.details["authorised_by"] == "one_time_code"
    assert issued.details["ticket_created_by"] == OPERATOR


def test_a_reissue_code_supersedes_the_old_pair_in_the_same_transaction(
    instance: Instance, make_csr: CsrFactory, demo_rows: dict[str, Any]
) -> None:
    code = registry.create_ticket(instance.db, CITIZEN, OPERATOR, "reissue").code
    pair = enroll(
        instance.db, instance.authorities, OneTimeCode(code), CITIZEN, _csrs(make_csr, CITIZEN)
    )
    old_auth = authority.status(instance.db, demo_rows["citizen_auth"]["serial"])
    old_sign = authority.status(instance.db, demo_rows["citizen_sign"]["serial"])
    assert (old_auth.status, old_auth.reason, old_auth.superseded_by) == (
        "revoked",
        "superseded",
        pair.auth.serial,
    )
    assert (old_sign.reason, old_sign.superseded_by) == ("superseded", pair.sign.serial)
    assert old_auth.revoked_at == authority.status(instance.db, pair.auth.serial).not_before
    # Other people's certificates are untouched.
    assert _good(instance, demo_rows["ceo_auth"]["serial"])


@pytest.mark.parametrize(
    ("scenario", "code"),
    [("replayed", "code_used"), ("expired", "code_expired"), ("other iin", "code_invalid")],
)
def test_a_bad_code_issues_nothing(
    instance: Instance,
    make_csr: CsrFactory,
    counts: Counts,
    newest_audit: Callable[[Database], Any],
    scenario: str,
    code: str,
) -> None:
    owner = CEO if scenario == "other iin" else CITIZEN
    created = utcnow() - dt.timedelta(hours=2) if scenario == "expired" else None
    ticket = registry.create_ticket(
        instance.db, owner, OPERATOR, "enroll", dt.timedelta(hours=1), now=created
    )
    if scenario == "replayed":
        enroll(
            instance.db,
            instance.authorities,
            OneTimeCode(ticket.code),
            CITIZEN,
            _csrs(make_csr, CITIZEN),
        )
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        enroll(
            instance.db,
            instance.authorities,
            OneTimeCode(ticket.code),
            CITIZEN,
            _csrs(make_csr, CITIZEN),
        )
    assert caught.value.code == code
    assert counts(instance.db) == before
    refusal = newest_audit(instance.db)
    assert (refusal.outcome, refusal.actor) == (code, f"applicant:{CITIZEN}")


def test_a_bad_csr_does_not_use_up_the_code(
    instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    code = registry.create_ticket(instance.db, CITIZEN, OPERATOR, "enroll").code
    before = counts(instance.db)
    for csrs, error in (
        ({"auth": b"garbage", "sign": make_csr(CITIZEN)[1]}, "csr_malformed"),
        ({"auth": make_csr(CEO)[1], "sign": make_csr(CITIZEN)[1]}, "csr_subject_mismatch"),
        ({"auth": make_csr(CITIZEN)[1]}, "invalid_input"),
    ):
        with pytest.raises(CaError) as caught:
            enroll(instance.db, instance.authorities, OneTimeCode(code), CITIZEN, csrs)
        assert caught.value.code == error
    assert counts(instance.db) == before
    pair = enroll(
        instance.db, instance.authorities, OneTimeCode(code), CITIZEN, _csrs(make_csr, CITIZEN)
    )
    assert pair.auth.serial


# -- renewal with the still-valid AUTH key ----------------------------------------------------


@pytest.mark.parametrize("detached", [False, True], ids=["attached", "detached"])
def test_a_renewal_signed_with_the_valid_auth_key_replaces_the_pair(
    instance: Instance,
    make_csr: CsrFactory,
    demo: dict[str, Any],
    demo_rows: dict[str, Any],
    detached: bool,
) -> None:
    csrs = _csrs(make_csr, CITIZEN)
    signed = _signed_request(demo["citizen_auth"].open(), CITIZEN, csrs, detached=detached)
    pair = enroll(instance.db, instance.authorities, AuthKeySignature(signed), CITIZEN, csrs)
    old = authority.status(instance.db, demo_rows["citizen_auth"]["serial"])
    assert (old.status, old.reason, old.superseded_by) == (
        "revoked",
        "superseded",
        pair.auth.serial,
    )
    issued = audit.read(instance.db, action="certificate.issue")[-1]
    assert issued.details["authorised_by"] == "auth_key_signature"
    assert issued.details["signer"] == demo_rows["citizen_auth"]["serial"]


def test_a_renewal_keeps_the_role_and_organisation(
    instance: Instance, make_csr: CsrFactory, demo: dict[str, Any]
) -> None:
    csrs = _csrs(make_csr, CEO)
    signed = _signed_request(demo["ceo_auth"].open(), CEO, csrs)
    pair = enroll(instance.db, instance.authorities, AuthKeySignature(signed), CEO, csrs)
    assert pair.sign.role is Role.HEAD
    assert "OU=BIN940140000385" in dn_string(pair.sign.certificate.subject)


def test_a_renewal_signature_cannot_be_replayed(
    instance: Instance, make_csr: CsrFactory, demo: dict[str, Any], counts: Counts
) -> None:
    csrs = _csrs(make_csr, CITIZEN)
    signed = _signed_request(demo["citizen_auth"].open(), CITIZEN, csrs)
    enroll(instance.db, instance.authorities, AuthKeySignature(signed), CITIZEN, csrs)
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        enroll(instance.db, instance.authorities, AuthKeySignature(signed), CITIZEN, csrs)
    assert caught.value.code == "signer_revoked"  # the old AUTH key was superseded
    assert counts(instance.db) == before


RENEWAL_REFUSALS = [
    ("signed with the sign key", "citizen_sign", CITIZEN, "signer_not_auth"),
    ("signed with a revoked auth key", "revoked_auth", "000101600127", "signer_revoked"),
    ("signed with an expired auth key", "expired_auth", "950228400013", "signer_expired"),
    ("signed by another person", "ceo_auth", CITIZEN, "signer_mismatch"),
    ("signed with a key from elsewhere", "foreign", CITIZEN, "signer_unknown"),
]


@pytest.mark.parametrize(
    ("signer", "applicant", "code"),
    [pytest.param(s, a, c, id=name) for name, s, a, c in RENEWAL_REFUSALS],
)
def test_a_renewal_not_signed_by_the_applicants_valid_auth_key_is_refused(
    instance: Instance,
    make_csr: CsrFactory,
    demo: dict[str, Any],
    counts: Counts,
    signer: str,
    applicant: str,
    code: str,
) -> None:
    entry = foreign_entry(CITIZEN) if signer == "foreign" else demo[signer].open()
    csrs = _csrs(make_csr, applicant)
    signed = _signed_request(entry, applicant, csrs)
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        enroll(instance.db, instance.authorities, AuthKeySignature(signed), applicant, csrs)
    assert caught.value.code == code
    assert caught.value.status == 403
    assert counts(instance.db) == before


def test_a_renewal_signature_over_other_csrs_or_garbage_is_signature_invalid(
    instance: Instance, make_csr: CsrFactory, demo: dict[str, Any], counts: Counts
) -> None:
    signed_for_other_keys = _signed_request(
        demo["citizen_auth"].open(), CITIZEN, _csrs(make_csr, CITIZEN)
    )
    csrs = _csrs(make_csr, CITIZEN)
    before = counts(instance.db)
    for blob in (signed_for_other_keys, b"\x30\x80garbage", b""):
        with pytest.raises(CaError) as caught:
            enroll(instance.db, instance.authorities, AuthKeySignature(blob), CITIZEN, csrs)
        assert caught.value.code == "signature_invalid"
    assert counts(instance.db) == before


def test_a_renewal_signed_long_ago_is_refused(
    instance: Instance, make_csr: CsrFactory, demo: dict[str, Any]
) -> None:
    csrs = _csrs(make_csr, CITIZEN)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    signed = _signed_request(demo["citizen_auth"].open(), CITIZEN, csrs, signing_time=old)
    with pytest.raises(CaError) as caught:
        enroll(instance.db, instance.authorities, AuthKeySignature(signed), CITIZEN, csrs)
    assert caught.value.code == "signature_invalid"


# -- operators ----------------------------------------------------------------------------------


def test_an_operator_issues_any_role_the_registry_allows(
    instance: Instance, make_csr: CsrFactory
) -> None:
    pair = enroll(
        instance.db,
        instance.authorities,
        OperatorAction(OPERATOR),
        CEO,
        _csrs(make_csr, CEO),
        role="head",
        bin=COMPANY,
    )
    assert (pair.auth.role, pair.auth.ca) == (Role.HEAD, "nac")
    entry = audit.read(instance.db, action="certificate.issue")[-1]
    assert (entry.actor, entry.details["authorised_by"]) == (OPERATOR, "operator")
    with pytest.raises(CaError) as caught:
        enroll(
            instance.db,
            instance.authorities,
            OperatorAction(OPERATOR),
            CITIZEN,
            _csrs(make_csr, CITIZEN),
            role="head",
            bin=COMPANY,
        )
    assert caught.value.code == "profile_not_allowed"

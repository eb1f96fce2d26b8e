"""The authority: what it issues (subject from the registry, never the CSR), what it refuses
(precisely, changing nothing), how it revokes, and that a crash before commit issues nothing."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from ca_server import audit, authority
from ca_server.db import CertificateRecord, Database, utcnow
from ca_server.errors import CaError
from ca_server.instance import Instance, load_instance
from ca_server.ocsp import CertId, Status
from ca_server.profiles import Purpose, Role
from signer_app.crypto.identity import dn_string

CITIZEN = "850101300124"
CEO = "750315300018"
COMPANY = "940140000385"
CIVIL_SERVANT = "790424400014"
UNREGISTERED = "980102200348"
ACTOR = "operator:test"
PASSPHRASE = b"test-instance-passphrase"

Counts = Callable[[Database], dict[str, int]]
CsrFactory = Callable[..., tuple[Any, bytes]]


def _issue(instance: Instance, csr: bytes | str, **kwargs: Any) -> authority.IssuedCertificate:
    options: dict[str, Any] = {
        "iin": CITIZEN,
        "role": Role.INDIVIDUAL,
        "purpose": Purpose.AUTH,
        "actor": ACTOR,
    }
    options.update(kwargs)
    ca = instance.authority(options.pop("ca", "nac"))
    return authority.issue(instance.db, ca, csr, **options)


def _row(db: Database, serial: str) -> CertificateRecord | None:
    with db.reading() as session:
        return session.get(CertificateRecord, serial)


# -- what is issued -----------------------------------------------------------------------------


def test_a_csr_made_by_cryptography_gets_a_certificate_named_by_the_registry(
    instance: Instance, make_csr: CsrFactory
) -> None:
    key, csr = make_csr(CITIZEN)
    issued = _issue(instance, csr)
    cert = issued.certificate
    assert dn_string(cert.subject) == (
        "CN=ЖҰМАБЕКОВ АСХАТ,SURNAME=ЖҰМАБЕКОВ,SERIALNUMBER=IIN850101300124,C=KZ,"
        "G=НҰРЛАНҰЛЫ,E=citizen@qalam.test"
    )
    nac = instance.authority("nac").certificate
    cert.verify_directly_issued_by(nac)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert len(issued.serial) == 40
    assert cert.serial_number.bit_length() > 150
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=365)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [
        ExtendedKeyUsageOID.CLIENT_AUTH,
        x509.ObjectIdentifier("1.2.398.3.3.4.1.1"),
    ]
    row = _row(instance.db, issued.serial)
    assert row is not None
    assert (row.status, row.iin, row.role, row.purpose, row.profile) == (
        "good",
        CITIZEN,
        "individual",
        "auth",
        "AUTH_INDIVIDUAL",
    )
    assert row.der == issued.der


def test_a_csr_made_by_openssl_req_is_accepted(
    instance: Instance, openssl: str, tmp_path: Path
) -> None:
    request = tmp_path / "req.pem"
    subprocess.run(
        [
            openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes",
            "-subj", f"/CN=whatever/serialNumber=IIN{CITIZEN}",
            "-keyout", str(tmp_path / "key.pem"), "-out", str(request),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    issued = _issue(instance, request.read_text(), purpose="sign")
    assert issued.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "ЖҰМАБЕКОВ АСХАТ"
    )
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    verified = subprocess.run(
        [
            openssl, "verify",
            "-CAfile", str(instance.data_dir / "nac" / "root.pem"),
            "-untrusted", str(instance.data_dir / "nac" / "ca.pem"),
            str(leaf),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_nothing_but_the_key_is_taken_from_the_csr(
    instance: Instance, make_csr: CsrFactory
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "ADMINISTRATOR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EVIL CORP"),
        ]
    )
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("bank.kz")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    issued = _issue(instance, csr.public_bytes(serialization.Encoding.PEM).decode())
    cert = issued.certificate
    assert "EVIL" not in dn_string(cert.subject)
    assert "ADMINISTRATOR" not in dn_string(cert.subject)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_a_head_of_a_company_gets_the_organisation_and_bin_in_the_subject(
    instance: Instance, make_csr: CsrFactory
) -> None:
    _, csr = make_csr(CEO)
    issued = _issue(instance, csr, iin=CEO, role="head", bin=COMPANY, purpose="sign")
    assert dn_string(issued.certificate.subject) == (
        "CN=ӘБДІҒАЛИЕВ ҚАНАТ,SURNAME=ӘБДІҒАЛИЕВ,SERIALNUMBER=IIN750315300018,C=KZ,"
        "O=ТОО «QALAM DEMO» TEST,OU=BIN940140000385,G=СЕРІКҰЛЫ"
    )


def test_a_civil_servant_is_issued_by_gov_ca(instance: Instance, make_csr: CsrFactory) -> None:
    _, csr = make_csr()
    issued = _issue(
        instance, csr, iin=CIVIL_SERVANT, role="civil_servant", bin="990140004654", ca="gov"
    )
    issued.certificate.verify_directly_issued_by(instance.authority("gov").certificate)
    assert issued.ca == "gov"


def test_an_ecdsa_p256_key_is_accepted(instance: Instance, make_csr: CsrFactory) -> None:
    _, csr = make_csr(key=ec.generate_private_key(ec.SECP256R1()))
    assert isinstance(_issue(instance, csr).certificate.public_key(), ec.EllipticCurvePublicKey)


def test_a_pair_is_two_certificates_for_two_keys_in_one_transaction(
    instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    before = counts(instance.db)
    pair = authority.issue_pair(
        instance.db,
        instance.authority("nac"),
        make_csr(CITIZEN)[1],
        make_csr(CITIZEN)[1],
        iin=CITIZEN,
        role=Role.INDIVIDUAL,
        actor=ACTOR,
    )
    assert (pair.auth.purpose, pair.sign.purpose) == (Purpose.AUTH, Purpose.SIGN)
    assert pair.auth.serial != pair.sign.serial
    after = counts(instance.db)
    assert after["certificates"] == before["certificates"] + 2
    assert after["audit_ok"] == before["audit_ok"] + 2
    issued = audit.read(instance.db, action="certificate.issue")[-2:]
    assert {e.target for e in issued} == {pair.auth.serial, pair.sign.serial}
    assert {e.actor for e in issued} == {ACTOR}
    assert all(e.request_sha256 and e.details["authorised_by"] == "operator" for e in issued)


# -- what is refused -----------------------------------------------------------------------------


def _flip_signature(der: bytes) -> bytes:
    damaged = bytearray(der)
    damaged[-1] ^= 0x01  # the last byte of a CSR is inside its signature
    return bytes(damaged)


def _p384_csr(make: CsrFactory) -> bytes:
    return make(key=ec.generate_private_key(ec.SECP384R1()))[1]


BAD_INPUTS: list[tuple[str, Callable[[CsrFactory], bytes], dict[str, Any], str]] = [
    ("malformed csr", lambda make: b"\x30\x03garbage", {}, "csr_malformed"),
    ("empty csr", lambda make: b"", {}, "csr_malformed"),
    ("pem that is not a csr", lambda make: b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", {},
     "csr_malformed"),
    ("csr with a wrong signature", lambda make: _flip_signature(make(CITIZEN)[1]), {},
     "csr_bad_signature"),
    ("csr claiming another iin", lambda make: make(CEO)[1], {}, "csr_subject_mismatch"),
    ("unknown iin", lambda make: make()[1], {"iin": UNREGISTERED}, "unknown_person"),
    ("iin with a wrong check digit", lambda make: make()[1], {"iin": "850101300125"},
     "invalid_iin"),
    ("rsa-1024 key", lambda make: make(bits=1024)[1], {}, "key_too_weak"),
    ("ec p-384 key", _p384_csr, {}, "key_unsupported"),
    ("role the person does not hold", lambda make: make()[1],
     {"role": "head", "bin": COMPANY}, "profile_not_allowed"),
    ("gov role from nac", lambda make: make()[1],
     {"iin": CIVIL_SERVANT, "role": "civil_servant", "bin": "990140004654"},
     "profile_not_allowed"),
    ("unknown role", lambda make: make()[1], {"role": "king"}, "unknown_role"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("csr_of", "options", "code"),
    [pytest.param(csr, options, code, id=name) for name, csr, options, code in BAD_INPUTS],
)
def test_each_bad_input_is_a_precise_error_that_changes_nothing(
    instance: Instance,
    make_csr: CsrFactory,
    counts: Counts,
    newest_audit: Callable[[Database], Any],
    csr_of: Callable[[CsrFactory], bytes],
    options: dict[str, Any],
    code: str,
) -> None:
    csr = csr_of(make_csr)
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        _issue(instance, csr, **options)
    assert caught.value.code == code
    assert 400 <= caught.value.status < 500
    assert counts(instance.db) == before
    refusal = newest_audit(instance.db)
    assert (refusal.action, refusal.outcome, refusal.actor) == ("certificate.issue", code, ACTOR)


def test_one_key_for_both_auth_and_sign_is_refused(
    instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    key, auth = make_csr(CITIZEN)
    _, sign = make_csr(CITIZEN, key=key)
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        authority.issue_pair(
            instance.db, instance.authority("nac"), auth, sign, iin=CITIZEN, role="individual",
            actor=ACTOR,
        )  # fmt: skip
    assert caught.value.code == "key_reused"
    assert counts(instance.db) == before


# -- serial numbers and concurrency ------------------------------------------------------------


def test_a_serial_that_is_already_taken_is_replaced_by_a_fresh_one(
    instance: Instance, make_csr: CsrFactory, demo_rows: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    taken = int(demo_rows["ceo_auth"]["serial"], 16)
    fresh = taken + 1
    serials: Iterator[int] = iter([taken, fresh])
    monkeypatch.setattr(authority, "random_serial_number", lambda: next(serials))
    issued = _issue(instance, make_csr()[1])
    assert issued.certificate.serial_number == fresh
    kept = _row(instance.db, demo_rows["ceo_auth"]["serial"])
    assert kept is not None
    assert kept.iin == CEO


def test_eight_threads_issuing_at_once_get_eight_different_serials(
    instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    csrs = [make_csr(key=ec.generate_private_key(ec.SECP256R1()))[1] for _ in range(8)]
    ca = instance.authority("nac")
    before = counts(instance.db)["certificates"]
    start = threading.Barrier(8)
    serials: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(csr: bytes) -> None:
        start.wait(10)
        try:
            issued = authority.issue(
                instance.db, ca, csr, iin=CITIZEN, role="individual", purpose="sign", actor=ACTOR
            )
        except BaseException as exc:
            with lock:
                failures.append(exc)
            return
        with lock:
            serials.append(issued.serial)

    threads = [threading.Thread(target=worker, args=(csr,)) for csr in csrs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(set(serials)) == 8
    assert counts(instance.db)["certificates"] == before + 8


def _issue_then_die_before_commit(data_dir: Path, url: str, csr: bytes, report: Connection) -> None:
    """A forked worker: issues, and is killed the moment the transaction would commit."""
    try:
        instance = load_instance(data_dir, db_url=url, passphrase=PASSPHRASE, migrate=False)

        def killed_at_commit(session: Session) -> None:
            # What this transaction wrote and nobody else can see yet.
            pending = session.scalars(
                select(CertificateRecord.serial).where(CertificateRecord.created_at > started)
            ).all()
            report.send(("signed, about to commit", list(pending)))
            os._exit(17)

        started = utcnow() - dt.timedelta(seconds=1)

        Session.commit = killed_at_commit  # type: ignore[method-assign]
        issued = authority.issue(
            instance.db, instance.authority("nac"), csr, iin=CITIZEN, role="individual",
            purpose="auth", actor=ACTOR,
        )  # fmt: skip
        report.send(("returned", issued.serial))
    finally:
        os._exit(0)


def test_a_worker_killed_after_signing_but_before_commit_leaves_no_certificate(
    instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    before = counts(instance.db)
    worker = context.Process(
        target=_issue_then_die_before_commit,
        args=(instance.data_dir, instance.db.url, make_csr(CITIZEN)[1], sender),
    )
    worker.start()
    worker.join(60)
    assert worker.exitcode == 17
    assert receiver.poll(5)
    what, pending = receiver.recv()
    assert what == "signed, about to commit"
    assert len(pending) == 1  # the certificate was signed and its row written, uncommitted
    assert not receiver.poll(0.1)  # and nothing was ever returned
    assert _row(instance.db, pending[0]) is None
    assert counts(instance.db) == before
    # The database is usable afterwards: the lock of the dead worker is gone.
    assert _issue(instance, make_csr(CITIZEN)[1]).serial


# -- revocation, status, CRL, OCSP ---------------------------------------------------------------


def test_revoking_records_the_reason_and_time_and_is_audited(
    instance: Instance, demo_rows: dict[str, Any], counts: Counts
) -> None:
    serial = demo_rows["citizen_auth"]["serial"]
    before = counts(instance.db)
    done = authority.revoke(instance.db, serial.upper(), "keyCompromise", actor=ACTOR)
    assert (done.serial, done.ca, done.reason) == (serial, "nac", x509.ReasonFlags.key_compromise)
    found = authority.status(instance.db, serial)
    assert (found.status, found.reason, found.revoked_at) == (
        "revoked",
        "keyCompromise",
        done.revoked_at,
    )
    after = counts(instance.db)
    assert after["revoked"] == before["revoked"] + 1
    assert after["crl_state_stale"] == before["crl_state_stale"] + 1
    entry = audit.read(instance.db, action="certificate.revoke")[-1]
    assert (entry.actor, entry.target, entry.details["reason"]) == (ACTOR, serial, "keyCompromise")


@pytest.mark.parametrize(
    ("serial_of", "reason", "code"),
    [
        (lambda rows: rows["revoked_auth"]["serial"], "keyCompromise", "already_revoked"),
        (lambda rows: "7f" * 20, "keyCompromise", "not_found"),
        (lambda rows: "not hex", "keyCompromise", "invalid_input"),
        (lambda rows: rows["citizen_auth"]["serial"], "certificateHold", "invalid_reason"),
        (lambda rows: rows["citizen_auth"]["serial"], "cACompromise", "invalid_reason"),
        (lambda rows: rows["citizen_auth"]["serial"], "removeFromCRL", "invalid_reason"),
    ],
    ids=["revoked twice", "unknown serial", "garbage serial", "hold", "ca reason", "remove"],
)
def test_a_revocation_that_cannot_be_done_changes_nothing(
    instance: Instance,
    demo_rows: dict[str, Any],
    counts: Counts,
    newest_audit: Callable[[Database], Any],
    serial_of: Callable[[dict[str, Any]], str],
    reason: str,
    code: str,
) -> None:
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        authority.revoke(instance.db, serial_of(demo_rows), reason, actor=ACTOR)
    assert caught.value.code == code
    assert counts(instance.db) == before
    assert (newest_audit(instance.db).action, newest_audit(instance.db).outcome) == (
        "certificate.revoke",
        code,
    )


def test_revoking_the_same_certificate_twice_keeps_the_first_revocation(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    serial = demo_rows["ceo_sign"]["serial"]
    first = authority.revoke(instance.db, serial, "affiliationChanged", actor=ACTOR)
    with pytest.raises(CaError, match="already revoked"):
        authority.revoke(instance.db, serial, "keyCompromise", actor=ACTOR)
    found = authority.status(instance.db, serial)
    assert (found.reason, found.revoked_at) == ("affiliationChanged", first.revoked_at)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("keyCompromise", x509.ReasonFlags.key_compromise),
        ("key_compromise", x509.ReasonFlags.key_compromise),
        ("KEYCOMPROMISE", x509.ReasonFlags.key_compromise),
        (1, x509.ReasonFlags.key_compromise),
        ("4", x509.ReasonFlags.superseded),
        ("cessation-of-operation", x509.ReasonFlags.cessation_of_operation),
    ],
)
def test_reasons_are_understood_by_rfc_name_or_code(
    given: str | int, expected: x509.ReasonFlags
) -> None:
    assert authority.parse_reason(given) is expected


def test_the_crl_is_made_anew_after_a_revocation_with_the_next_number(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    ca = instance.authority("nac")
    adopted = x509.load_der_x509_crl(authority.current_crl(instance.db, ca))
    adopted_number = adopted.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    serial = demo_rows["signer_sign"]["serial"]
    authority.revoke(instance.db, serial, "privilegeWithdrawn", actor=ACTOR)
    crl = x509.load_der_x509_crl(authority.current_crl(instance.db, ca))
    assert crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number == adopted_number + 1
    entry = crl.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.privilege_withdrawn
    for old in adopted:  # the demo's revoked certificates are still listed
        assert crl.get_revoked_certificate_by_serial_number(old.serial_number) is not None
    assert crl.next_update_utc - crl.last_update_utc == dt.timedelta(days=1)
    made = audit.read(instance.db, action="crl.generate")[-1]
    assert (made.target, made.details["crl_number"]) == ("nac", number)


def test_a_fresh_crl_is_reused_until_half_its_life_is_gone(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    ca = instance.authority("gov")
    authority.revoke(instance.db, demo_rows["civil_servant_sign"]["serial"], 1, actor=ACTOR)
    first = authority.current_crl(instance.db, ca)
    issued_at = x509.load_der_x509_crl(first).last_update_utc
    assert authority.current_crl(instance.db, ca, now=issued_at + dt.timedelta(hours=11)) == first
    later = authority.current_crl(instance.db, ca, now=issued_at + dt.timedelta(hours=13))
    assert later != first
    numbers = [
        x509.load_der_x509_crl(d).extensions.get_extension_for_class(x509.CRLNumber).value
        for d in (first, later)
    ]
    assert numbers[1].crl_number == numbers[0].crl_number + 1


def test_openssl_finds_the_revoked_certificate_on_the_crl(
    instance: Instance, demo_rows: dict[str, Any], openssl: str, tmp_path: Path
) -> None:
    ca = instance.authority("nac")
    serial = demo_rows["employee_auth"]["serial"]
    authority.revoke(instance.db, serial, "keyCompromise", actor=ACTOR)
    crl = tmp_path / "nac.crl"
    crl.write_bytes(authority.current_crl(instance.db, ca))
    text = subprocess.run(
        [openssl, "crl", "-inform", "DER", "-in", str(crl), "-noout", "-text"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert serial.upper() in text.replace(":", "").upper()
    assert "Key Compromise" in text


def test_the_ocsp_status_lookup_answers_from_the_database(
    instance: Instance, demo_rows: dict[str, Any]
) -> None:
    lookup = authority.status_lookup(instance.db)

    def ask(issuer: str, row: str) -> Status:
        return lookup(CertId(issuer, int(demo_rows[row]["serial"], 16))).status

    assert ask("nac", "citizen_sign") is Status.GOOD
    assert ask("nac", "expired_sign") is Status.GOOD  # expiry is not revocation
    assert ask("nac", "revoked_sign") is Status.REVOKED
    assert ask("gov", "citizen_sign") is Status.UNKNOWN  # right serial, wrong issuer
    assert lookup(CertId("nac", 12345)).status is Status.UNKNOWN
    revoked = lookup(CertId("nac", int(demo_rows["revoked_auth"]["serial"], 16)))
    assert revoked.reason is x509.ReasonFlags.key_compromise


def test_status_of_an_unknown_serial_is_not_found(instance: Instance) -> None:
    with pytest.raises(CaError) as caught:
        authority.status(instance.db, "01")
    assert (caught.value.code, caught.value.status) == ("not_found", 404)


def test_every_issued_certificate_is_in_the_database_with_its_der(instance: Instance) -> None:
    with instance.db.reading() as session:
        rows = session.scalars(select(CertificateRecord)).all()
        for row in rows:
            cert = x509.load_der_x509_certificate(row.der)
            assert authority.serial_hex(cert.serial_number) == row.serial
            assert cert.not_valid_after_utc == row.not_after

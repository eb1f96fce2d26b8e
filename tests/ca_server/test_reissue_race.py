"""Two re-issues for one IIN at once: exactly one wins, the other is refused whole.

A superseding authority (a re-issue code, a renewal signature) is granted against the holder's
state at one moment; whoever commits first makes the other stale, and the loser gets
`reissue_conflict` (or `signer_revoked`, when the winner superseded the loser's signing key)
with nothing issued and nothing revoked, instead of silently revoking the winner's new pair.
The race tests hold the first issuance inside its transaction (just before commit) while the
second one enters, on SQLite and on a real PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from ca_server import audit, authority, registry
from ca_server.db import Database
from ca_server.enrollment import (
    AuthKeySignature,
    Authoriser,
    OneTimeCode,
    OperatorAction,
    enroll,
    renewal_request,
)
from ca_server.errors import CaError
from ca_server.instance import Instance
from signer_app.crypto import cms
from signer_app.crypto.keystores import KeyEntry

CITIZEN = "850101300124"
OPERATOR = "operator:psc-1"
_WAIT_S = 30.0

Counts = Callable[[Database], dict[str, int]]
CsrFactory = Callable[..., tuple[Any, bytes]]


def _csrs(make_csr: CsrFactory) -> dict[str, bytes]:
    return {"auth": make_csr(CITIZEN)[1], "sign": make_csr(CITIZEN)[1]}


def _code(instance: Instance, purpose: str = "reissue") -> OneTimeCode:
    return OneTimeCode(registry.create_ticket(instance.db, CITIZEN, OPERATOR, purpose).code)


def _renewal(entry: KeyEntry, csrs: dict[str, bytes]) -> AuthKeySignature:
    auth = authority.check_csr(csrs["auth"]).der
    sign = authority.check_csr(csrs["sign"]).der
    return AuthKeySignature(cms.sign(renewal_request(CITIZEN, auth, sign), entry))


def _status(instance: Instance, serial: str) -> tuple[str, str | None]:
    found = authority.status(instance.db, serial)
    return found.status, found.reason


def _waiting_for_holder_lock(db: Database) -> bool:
    """Whether some PostgreSQL backend is queued on an advisory lock right now."""
    with db.reading() as session:
        waiting = session.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
    return bool(waiting)


@contextmanager
def _first_holds_before_commit(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Callable[[], None]], None]]:
    """race(second): the issuance running in thread "first" waits just before its commit while
    `second` runs in thread "second"; the first is let go once the second waits on the holder's
    lock (observed in pg_locks on PostgreSQL; on SQLite it waits on BEGIN IMMEDIATE)."""
    inside = threading.Event()
    release = threading.Event()
    second_at_lock = threading.Event()
    real_lock = instance.db.lock_holder

    def pause() -> None:
        if threading.current_thread().name == "first":
            inside.set()
            assert release.wait(_WAIT_S), "the test never released the first issuance"

    def lock_holder(session: Session, iin: str) -> None:
        if threading.current_thread().name == "second":
            second_at_lock.set()
        real_lock(session, iin)

    monkeypatch.setattr(authority, "_pause_before_commit", pause)
    monkeypatch.setattr(instance.db, "lock_holder", lock_holder)

    def releaser() -> None:
        assert second_at_lock.wait(_WAIT_S)
        if instance.db.dialect == "postgresql":
            # The second is inside its transaction, queued behind the first (bounded: if it
            # never queues, the outcome assertions say why).
            for _ in range(int(_WAIT_S / 0.01)):
                if _waiting_for_holder_lock(instance.db) or release.wait(0.01):
                    break
        release.set()

    def race(second: Callable[[], None]) -> None:
        assert inside.wait(_WAIT_S), "the first issuance never reached its commit"
        helper = threading.Thread(target=releaser, name="releaser", daemon=True)
        helper.start()
        thread = threading.Thread(target=second, name="second")
        thread.start()
        thread.join(_WAIT_S)
        release.set()
        helper.join(_WAIT_S)

    yield race


def _run_race(
    instance: Instance,
    monkeypatch: pytest.MonkeyPatch,
    first: tuple[Authoriser, dict[str, bytes]],
    second: tuple[Authoriser, dict[str, bytes]],
) -> tuple[authority.IssuedPair, CaError]:
    """Run both issuances at once (the first commits first); the winner's pair, the refusal."""
    outcome: dict[str, Any] = {}

    def issue(name: str, grant: tuple[Authoriser, dict[str, bytes]]) -> None:
        try:
            outcome[name] = enroll(instance.db, instance.authorities, grant[0], CITIZEN, grant[1])
        except CaError as exc:
            outcome[name] = exc

    with _first_holds_before_commit(instance, monkeypatch) as race:
        thread = threading.Thread(target=issue, args=("first", first), name="first")
        thread.start()
        try:
            race(lambda: issue("second", second))
        finally:
            thread.join(_WAIT_S)
    winner, loser = outcome["first"], outcome["second"]
    assert isinstance(winner, authority.IssuedPair), winner
    assert isinstance(loser, CaError), loser
    return winner, loser


def _current(instance: Instance) -> list[str]:
    """The citizen's good NAC certificates, RSA and GOST: what one re-issue supersedes."""
    return [
        c.serial
        for c in authority.certificates_of(instance.db, CITIZEN)
        if c.status == "good" and c.ca in ("nac", "nac-gost")
    ]


def _assert_only_the_winner_changed(
    instance: Instance,
    winner: authority.IssuedPair,
    old: list[str],
    before: dict[str, int],
    after: dict[str, int],
) -> None:
    assert sorted(_current(instance)) == sorted([winner.auth.serial, winner.sign.serial])
    for serial in old:
        assert _status(instance, serial) == ("revoked", "superseded")
    assert after["certificates"] == before["certificates"] + 2  # one pair, not two
    assert after["revoked"] == before["revoked"] + len(old)  # not the winner's pair


def test_of_two_codes_used_at_once_the_first_to_commit_wins(
    instance: Instance,
    make_csr: CsrFactory,
    monkeypatch: pytest.MonkeyPatch,
    counts: Counts,
) -> None:
    first, second = _code(instance), _code(instance)
    old, before = _current(instance), counts(instance.db)
    winner, loser = _run_race(
        instance, monkeypatch, (first, _csrs(make_csr)), (second, _csrs(make_csr))
    )
    assert (loser.code, loser.status) == ("reissue_conflict", 409)
    assert "new one" in loser.message
    after = counts(instance.db)
    _assert_only_the_winner_changed(instance, winner, old, before, after)
    assert after["used_tickets"] == before["used_tickets"] + 1  # the loser's code stays unused
    refusal = audit.read(instance.db, action="certificate.issue")[-1]
    assert (refusal.outcome, refusal.target) == ("reissue_conflict", CITIZEN)


def test_a_code_used_while_a_renewal_commits_is_refused(
    instance: Instance,
    make_csr: CsrFactory,
    monkeypatch: pytest.MonkeyPatch,
    counts: Counts,
    demo: dict[str, Any],
) -> None:
    code = _code(instance)
    renewal_csrs = _csrs(make_csr)
    renewal = _renewal(demo["citizen_auth"].open(), renewal_csrs)
    old, before = _current(instance), counts(instance.db)
    winner, loser = _run_race(
        instance, monkeypatch, (renewal, renewal_csrs), (code, _csrs(make_csr))
    )
    assert loser.code == "reissue_conflict"
    _assert_only_the_winner_changed(instance, winner, old, before, counts(instance.db))


def test_a_renewal_while_a_code_commits_is_refused_because_its_key_was_superseded(
    instance: Instance,
    make_csr: CsrFactory,
    monkeypatch: pytest.MonkeyPatch,
    counts: Counts,
    demo: dict[str, Any],
) -> None:
    code = _code(instance)
    renewal_csrs = _csrs(make_csr)
    renewal = _renewal(demo["citizen_auth"].open(), renewal_csrs)
    old, before = _current(instance), counts(instance.db)
    winner, loser = _run_race(
        instance, monkeypatch, (code, _csrs(make_csr)), (renewal, renewal_csrs)
    )
    assert loser.code == "signer_revoked"
    _assert_only_the_winner_changed(instance, winner, old, before, counts(instance.db))


# -- the rule without a race ------------------------------------------------------------------


def test_a_code_older_than_the_holders_newest_certificate_stays_stale(
    instance: Instance, make_csr: CsrFactory, counts: Counts
) -> None:
    stale = _code(instance)
    enroll(instance.db, instance.authorities, _code(instance), CITIZEN, _csrs(make_csr))
    before = counts(instance.db)
    for _ in range(2):  # refused again: the code is unused but can never win
        with pytest.raises(CaError) as caught:
            enroll(instance.db, instance.authorities, stale, CITIZEN, _csrs(make_csr))
        assert caught.value.code == "reissue_conflict"
    assert counts(instance.db) == before
    fresh = _code(instance)  # a code made after the re-issue works
    pair = enroll(instance.db, instance.authorities, fresh, CITIZEN, _csrs(make_csr))
    assert _status(instance, pair.auth.serial) == ("good", None)


def test_a_renewal_signed_with_an_older_auth_key_than_the_newest_is_refused(
    instance: Instance, make_csr: CsrFactory, demo: dict[str, Any], counts: Counts
) -> None:
    # An operator issued a second pair without superseding: the demo AUTH key is still good,
    # but it is no longer the holder's newest.
    enroll(instance.db, instance.authorities, OperatorAction(OPERATOR), CITIZEN, _csrs(make_csr))
    csrs = _csrs(make_csr)
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        enroll(
            instance.db,
            instance.authorities,
            _renewal(demo["citizen_auth"].open(), csrs),
            CITIZEN,
            csrs,
        )
    assert caught.value.code == "reissue_conflict"
    assert counts(instance.db) == before


def test_enrolment_codes_do_not_supersede_so_they_never_conflict(
    instance: Instance, make_csr: CsrFactory
) -> None:
    first, second = _code(instance, "enroll"), _code(instance, "enroll")
    enroll(instance.db, instance.authorities, first, CITIZEN, _csrs(make_csr))
    pair = enroll(instance.db, instance.authorities, second, CITIZEN, _csrs(make_csr))
    assert _status(instance, pair.auth.serial) == ("good", None)

"""The registry: who exists, who may get which certificate, and one-time codes that work once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import re
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier

import pytest
from sqlalchemy import select

from ca_server import audit, registry
from ca_server.db import Database, Ticket, open_database, utcnow
from ca_server.errors import CaError
from ca_server.instance import Instance
from ca_server.profiles import Role

CITIZEN = "850101300124"
CEO = "750315300018"
COMPANY = "940140000385"
MINISTRY = "990140004654"
PSC = "160240000018"
PSC_OPERATOR = "880612300019"
UNREGISTERED = "980102200348"  # a valid IIN nobody registered
OPERATOR = "operator:test"

Counts = Callable[[Database], dict[str, int]]


def _code(caught: pytest.ExceptionInfo[CaError]) -> str:
    return caught.value.code


# -- persons, entities, roles -----------------------------------------------------------------


def test_the_adopted_registry_knows_every_demo_person_by_their_certificate_names(
    instance: Instance,
) -> None:
    person = registry.get_person(instance.db, CITIZEN)
    assert (person.surname, person.given_name, person.patronymic) == (
        "ЖҰМАБЕКОВ",
        "АСХАТ",
        "НҰРЛАНҰЛЫ",
    )
    assert person.email == "citizen@qalam.test"
    assert person.birth_date == dt.date(1985, 1, 1)


def test_the_demo_company_has_its_head_signer_and_employee(instance: Instance) -> None:
    staff = {(job.iin, job.role) for job in registry.employees(instance.db, COMPANY)}
    assert staff == {
        (CEO, Role.HEAD),
        ("821109300016", Role.SIGNER),
        ("900705400126", Role.EMPLOYEE),
    }
    assert registry.get_legal_entity(instance.db, COMPANY).kind == "company"
    assert registry.get_legal_entity(instance.db, MINISTRY).kind == "state_agency"


def test_which_profiles_a_person_may_get(instance: Instance) -> None:
    def grants(iin: str) -> set[tuple[Role, str | None, str]]:
        return {(g.role, g.bin, g.ca) for g in registry.allowed_roles(instance.db, iin)}

    assert grants(CITIZEN) == {(Role.INDIVIDUAL, None, "nac")}
    assert grants(CEO) == {(Role.INDIVIDUAL, None, "nac"), (Role.HEAD, COMPANY, "nac")}
    assert grants(PSC_OPERATOR) == {
        (Role.INDIVIDUAL, None, "nac"),
        (Role.PSC_OPERATOR, PSC, "gov"),
    }


def test_the_subject_comes_from_the_registry_with_the_organisation_for_a_role(
    instance: Instance,
) -> None:
    holder = registry.subject_person(instance.db, CEO, Role.HEAD, COMPANY)
    assert (holder.surname, holder.given_name, holder.patronymic) == (
        "ӘБДІҒАЛИЕВ",
        "ҚАНАТ",
        "СЕРІКҰЛЫ",
    )
    assert (holder.organisation, holder.bin) == ("ТОО «QALAM DEMO» TEST", COMPANY)


@pytest.mark.parametrize(
    ("iin", "role", "bin_", "code"),
    [
        (CITIZEN, Role.HEAD, COMPANY, "profile_not_allowed"),
        (CEO, Role.SIGNER, COMPANY, "profile_not_allowed"),
        (CEO, Role.HEAD, MINISTRY, "profile_not_allowed"),
        (CEO, Role.HEAD, None, "invalid_input"),
        (CITIZEN, Role.INDIVIDUAL, COMPANY, "invalid_input"),
        (CEO, Role.HEAD, "940140000386", "invalid_bin"),
        (UNREGISTERED, Role.INDIVIDUAL, None, "unknown_person"),
        (CEO, Role.HEAD, "100140000013", "unknown_legal_entity"),
    ],
)
def test_a_role_the_registry_does_not_give_is_refused(
    instance: Instance, iin: str, role: Role, bin_: str | None, code: str
) -> None:
    with pytest.raises(CaError) as caught:
        registry.subject_person(instance.db, iin, role, bin_)
    assert _code(caught) == code


def test_a_wrong_check_digit_says_which_digit_was_expected(instance: Instance) -> None:
    with pytest.raises(CaError) as caught:
        registry.get_person(instance.db, "850101300125")
    assert caught.value.code == "invalid_iin"
    assert caught.value.status == 422
    assert "should be 4, not 5" in caught.value.detail


@pytest.mark.parametrize("iin", ["123456789011", "12345", "85010130012X", ""])
def test_impossible_iins_are_invalid_iin_not_a_crash(instance: Instance, iin: str) -> None:
    with pytest.raises(CaError) as caught:
        registry.get_person(instance.db, iin)
    assert caught.value.code == "invalid_iin"


def test_a_person_added_can_be_read_back_and_is_audited(instance: Instance) -> None:
    added = registry.add_person(
        instance.db,
        iin=UNREGISTERED,
        surname="Ахметова",
        given_name="Дина",
        patronymic="Маратқызы",
        birth_date=dt.date(1998, 1, 2),
        id_document_number="012345678",
        actor=OPERATOR,
    )
    assert registry.get_person(instance.db, UNREGISTERED) == added
    entry = audit.read(instance.db, action="registry.add_person")[-1]
    assert (entry.actor, entry.target, entry.outcome) == (OPERATOR, UNREGISTERED, "ok")


def test_adding_a_person_twice_is_refused(instance: Instance, counts: Counts) -> None:
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        registry.add_person(instance.db, iin=CITIZEN, surname="X", given_name="Y", actor=OPERATOR)
    assert caught.value.code == "person_exists"
    assert counts(instance.db) == before


def test_roles_are_added_to_registered_people_in_registered_entities(instance: Instance) -> None:
    registry.add_person(instance.db, iin=UNREGISTERED, surname="A", given_name="B", actor=OPERATOR)
    registry.add_employment(
        instance.db, bin=COMPANY, iin=UNREGISTERED, role="employee", actor=OPERATOR
    )
    assert Role.EMPLOYEE in {g.role for g in registry.allowed_roles(instance.db, UNREGISTERED)}
    with pytest.raises(CaError) as caught:
        registry.add_employment(
            instance.db, bin=COMPANY, iin=UNREGISTERED, role="civil_servant", actor=OPERATOR
        )
    assert caught.value.code == "invalid_input"  # a civil servant works in a state agency
    with pytest.raises(CaError) as caught:
        registry.add_employment(
            instance.db, bin=COMPANY, iin=UNREGISTERED, role="janitor", actor=OPERATOR
        )
    assert caught.value.code == "unknown_role"


# -- one-time codes -------------------------------------------------------------------------


def test_a_code_is_four_groups_of_four_crockford_characters(instance: Instance) -> None:
    new = registry.create_ticket(instance.db, CITIZEN, OPERATOR)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", new.code)
    assert new.expires_at - utcnow() > dt.timedelta(hours=23)
    created = audit.read(instance.db, action="ticket.create")[-1]
    assert (created.actor, created.target, created.details["ticket"]) == (OPERATOR, CITIZEN, new.id)


def test_codes_are_stored_only_as_a_hash_and_never_in_the_audit_log(instance: Instance) -> None:
    new = registry.create_ticket(instance.db, CITIZEN, OPERATOR, "enroll")
    bare = new.code.replace("-", "")
    with instance.db.reading() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.id == new.id)).one()
        stored = " ".join(str(getattr(ticket, c.key)) for c in Ticket.__table__.columns)
    assert new.code not in stored
    assert bare not in stored
    logged = " ".join(str(entry.to_dict()) for entry in audit.read(instance.db))
    assert bare not in logged
    assert new.code not in logged


def test_a_code_typed_sloppily_still_works_once(instance: Instance) -> None:
    new = registry.create_ticket(instance.db, CITIZEN, OPERATOR)
    typed = new.code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    ticket = registry.redeem_ticket(instance.db, typed, CITIZEN)
    assert (ticket.id, ticket.purpose, ticket.created_by) == (new.id, "reissue", OPERATOR)
    assert ticket.used_at is not None


def test_a_replayed_code_is_code_used(instance: Instance, counts: Counts) -> None:
    new = registry.create_ticket(instance.db, CITIZEN, OPERATOR)
    registry.redeem_ticket(instance.db, new.code, CITIZEN)
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        registry.redeem_ticket(instance.db, new.code, CITIZEN)
    assert caught.value.code == "code_used"
    assert counts(instance.db) == before


def test_an_expired_code_is_code_expired(instance: Instance, counts: Counts) -> None:
    yesterday = utcnow() - dt.timedelta(days=1)
    new = registry.create_ticket(
        instance.db, CITIZEN, OPERATOR, ttl=dt.timedelta(hours=1), now=yesterday
    )
    before = counts(instance.db)
    with pytest.raises(CaError) as caught:
        registry.redeem_ticket(instance.db, new.code, CITIZEN)
    assert caught.value.code == "code_expired"
    assert counts(instance.db) == before


def test_a_code_for_another_iin_looks_exactly_like_a_code_that_does_not_exist(
    instance: Instance, counts: Counts
) -> None:
    new = registry.create_ticket(instance.db, CITIZEN, OPERATOR)
    before = counts(instance.db)
    errors = []
    for code, iin in ((new.code, CEO), ("ABCD-EFGH-JKMN-PQRS", CITIZEN), ("not a code", CITIZEN)):
        with pytest.raises(CaError) as caught:
            registry.redeem_ticket(instance.db, code, iin)
        errors.append((caught.value.code, caught.value.message, caught.value.detail))
    assert errors[0] == errors[1]
    assert {e[0] for e in errors} == {"code_invalid"}
    assert counts(instance.db) == before
    assert registry.redeem_ticket(instance.db, new.code, CITIZEN).id == new.id


def test_a_code_for_an_unknown_person_cannot_be_made(instance: Instance) -> None:
    with pytest.raises(CaError) as caught:
        registry.create_ticket(instance.db, UNREGISTERED, OPERATOR)
    assert caught.value.code == "unknown_person"


def _redeem_in_another_process(
    url: str, code: str, iin: str, barrier: Barrier, answer: Connection
) -> None:
    # A forked child: it never touches the parent's connections and leaves with os._exit.
    try:
        db = open_database(url, migrate=False)
        barrier.wait(timeout=20)
        try:
            registry.redeem_ticket(db, code, iin)
            answer.send("won")
        except CaError as error:
            answer.send(error.code)
    finally:
        os._exit(0)


def test_two_processes_redeeming_the_same_code_at_once_exactly_one_wins(
    instance: Instance,
) -> None:
    context = multiprocessing.get_context("fork")
    for _ in range(3):
        code = registry.create_ticket(instance.db, CITIZEN, OPERATOR).code
        barrier = context.Barrier(2)
        pipes = [context.Pipe(duplex=False) for _ in range(2)]
        workers = [
            context.Process(
                target=_redeem_in_another_process,
                args=(instance.db.url, code, CITIZEN, barrier, sender),
            )
            for _, sender in pipes
        ]
        for worker in workers:
            worker.start()
        answers = sorted(receiver.recv() for receiver, _ in pipes if receiver.poll(30))
        for worker in workers:
            worker.join(30)
        assert answers == ["code_used", "won"]
    redeemed = audit.read(instance.db, action="ticket.redeem")
    assert len(redeemed) == 3

"""Who may get which certificate: persons, legal entities and roles, and one-time codes.

The registry models the state databases of individuals and legal entities: a certificate's
subject is built from here, never from a CSR. It also answers which profiles a person may get
(an individual certificate: anyone registered; head / signer / employee: only with that role in
that BIN; civil servant and PSC operator: only in a state agency, from GOV CA), and keeps the
one-time codes a PSC operator hands out for enrolment and re-issue.

Functions that change something take a `Database` (and run their own transaction) or a `Session`
(and run inside the caller's, so a code is consumed in the same transaction that issues the
certificates it pays for).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ca_server import audit
from ca_server.db import Database, Employment, LegalEntity, Person, Ticket, utcnow
from ca_server.errors import CaError
from ca_server.profiles import Person as SubjectPerson
from ca_server.profiles import Role
from signer_app.crypto.identity import check_digit, is_valid_bin, is_valid_iin

__all__ = [
    "CODE_ALPHABET",
    "DEFAULT_TICKET_TTL",
    "ENTITY_KINDS",
    "ROLE_CA",
    "TICKET_PURPOSES",
    "EmploymentInfo",
    "Grant",
    "LegalEntityInfo",
    "NewTicket",
    "PersonInfo",
    "TicketInfo",
    "add_employment",
    "add_legal_entity",
    "add_person",
    "allowed_roles",
    "check_bin",
    "check_iin",
    "create_ticket",
    "employees",
    "employments_of",
    "find_person",
    "get_legal_entity",
    "get_person",
    "hash_code",
    "normalise_code",
    "normalise_document_number",
    "parse_role",
    "redeem_ticket",
    "subject_person",
]

Target = Database | Session

# Which issuing CA serves each role.
ROLE_CA: Mapping[Role, str] = MappingProxyType(
    {
        Role.INDIVIDUAL: "nac",
        Role.HEAD: "nac",
        Role.SIGNER: "nac",
        Role.EMPLOYEE: "nac",
        Role.CIVIL_SERVANT: "gov",
        Role.PSC_OPERATOR: "gov",
    }
)
_GOV_ROLES = frozenset({Role.CIVIL_SERVANT, Role.PSC_OPERATOR})
ENTITY_KINDS = ("company", "state_agency")
TICKET_PURPOSES = ("enroll", "reissue")
DEFAULT_TICKET_TTL = dt.timedelta(hours=24)

# Crockford's base32: no I, L, O, U, so a code read aloud or typed from paper survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_GROUPS = 4
_CODE_GROUP_LENGTH = 4  # 16 characters: 80 random bits
_CODE_LENGTH = _CODE_GROUPS * _CODE_GROUP_LENGTH
_CODE_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_HASH_PREFIX = b"qalam-ca one-time code v1:"


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonInfo:
    """A registered person."""

    iin: str
    surname: str
    given_name: str
    patronymic: str | None
    birth_date: dt.date | None
    id_document_number: str | None
    email: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "iin": self.iin,
            "surname": self.surname,
            "given_name": self.given_name,
            "patronymic": self.patronymic,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "id_document_number": self.id_document_number,
            "email": self.email,
        }


@dataclass(frozen=True)
class LegalEntityInfo:
    """A registered company or state agency."""

    bin: str
    name: str
    kind: str


@dataclass(frozen=True)
class EmploymentInfo:
    """A person's role in a legal entity."""

    bin: str
    iin: str
    role: Role
    organisation: str


@dataclass(frozen=True)
class Grant:
    """A profile a person may get: a role, and the BIN it is held in (None for an individual)."""

    role: Role
    bin: str | None
    ca: str


@dataclass(frozen=True)
class NewTicket:
    """A one-time code just created. `code` is shown once to the operator and never stored."""

    id: int
    code: str
    iin: str
    purpose: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class TicketInfo:
    """A one-time code as stored (without the code)."""

    id: int
    iin: str
    purpose: str
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None


# -- helpers ----------------------------------------------------------------------------------


@contextmanager
def _scope(target: Target) -> Iterator[Session]:
    if isinstance(target, Session):
        yield target
    else:
        with target.transaction() as session:
            yield session


def _describe_number(number: str) -> str:
    if len(number) != 12 or not number.isdigit():
        return f"{number!r} is not 12 digits"
    expected = check_digit(number[:11])
    if expected is None:
        return f"{number}: no number with these first 11 digits is ever issued"
    if expected != int(number[11]):
        return f"{number}: the check digit should be {expected}, not {number[11]}"
    return f"{number}: the kind digit is not possible"


def check_iin(iin: str) -> str:
    """`iin` without surrounding spaces if it is a valid IIN; `invalid_iin` says why not."""
    iin = iin.strip()
    if not is_valid_iin(iin):
        raise CaError("invalid_iin", _describe_number(iin))
    return iin


def check_bin(bin_: str) -> str:
    """`bin_` without surrounding spaces if it is a valid BIN; `invalid_bin` says why not."""
    bin_ = bin_.strip()
    if not is_valid_bin(bin_):
        raise CaError("invalid_bin", _describe_number(bin_))
    return bin_


def parse_role(value: str | Role) -> Role:
    """A Role from its name ("head", "psc_operator"); `unknown_role` otherwise."""
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise CaError("unknown_role", f"{value!r}; known roles: {known}") from None


def _required(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise CaError("invalid_input", f"{field} is empty")
    return value


def _optional(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _person_info(row: Person) -> PersonInfo:
    return PersonInfo(
        iin=row.iin,
        surname=row.surname,
        given_name=row.given_name,
        patronymic=row.patronymic,
        birth_date=row.birth_date,
        id_document_number=row.id_document_number,
        email=row.email,
    )


# -- persons and legal entities ---------------------------------------------------------------


def add_person(
    target: Target,
    *,
    iin: str,
    surname: str,
    given_name: str,
    patronymic: str | None = None,
    birth_date: dt.date | None = None,
    id_document_number: str | None = None,
    email: str | None = None,
    actor: str,
) -> PersonInfo:
    """Register a person (names are kept as given; certificates upper-case them)."""
    iin = check_iin(iin)
    with _scope(target) as session:
        if session.get(Person, iin) is not None:
            raise CaError("person_exists", iin)
        row = Person(
            iin=iin,
            surname=_required(surname, "surname"),
            given_name=_required(given_name, "given name"),
            patronymic=_optional(patronymic),
            birth_date=birth_date,
            id_document_number=_optional(id_document_number),
            email=_optional(email),
        )
        session.add(row)
        session.flush()
        audit.record(session, actor, "registry.add_person", iin)
        return _person_info(row)


def find_person(target: Target, iin: str) -> PersonInfo | None:
    """The person with this IIN, or None."""
    if isinstance(target, Session):
        row = target.get(Person, iin)
        return None if row is None else _person_info(row)
    with target.reading() as session:
        return find_person(session, iin)


def get_person(target: Target, iin: str) -> PersonInfo:
    """The person with this valid IIN; `invalid_iin` or `unknown_person` otherwise."""
    iin = check_iin(iin)
    person = find_person(target, iin)
    if person is None:
        raise CaError("unknown_person", iin)
    return person


def add_legal_entity(
    target: Target, *, bin: str, name: str, kind: str = "company", actor: str
) -> LegalEntityInfo:
    """Register a company (`kind="company"`) or a state agency (`"state_agency"`)."""
    bin_ = check_bin(bin)
    if kind not in ENTITY_KINDS:
        raise CaError("invalid_input", f"kind must be one of {', '.join(ENTITY_KINDS)}")
    with _scope(target) as session:
        if session.get(LegalEntity, bin_) is not None:
            raise CaError("legal_entity_exists", bin_)
        session.add(LegalEntity(bin=bin_, name=_required(name, "name"), kind=kind))
        session.flush()
        audit.record(session, actor, "registry.add_legal_entity", bin_, details={"kind": kind})
        return LegalEntityInfo(bin_, name.strip(), kind)


def get_legal_entity(target: Target, bin: str) -> LegalEntityInfo:
    """The legal entity with this BIN; `invalid_bin` or `unknown_legal_entity` otherwise."""
    bin_ = check_bin(bin)
    if isinstance(target, Session):
        row = target.get(LegalEntity, bin_)
        if row is None:
            raise CaError("unknown_legal_entity", bin_)
        return LegalEntityInfo(row.bin, row.name, row.kind)
    with target.reading() as session:
        return get_legal_entity(session, bin_)


def add_employment(
    target: Target, *, bin: str, iin: str, role: Role | str, actor: str
) -> EmploymentInfo:
    """Record that person `iin` holds `role` in legal entity `bin`."""
    role = parse_role(role)
    if role is Role.INDIVIDUAL:
        raise CaError("invalid_input", "'individual' is not a role in a legal entity")
    with _scope(target) as session:
        person = get_person(session, iin)
        entity = get_legal_entity(session, bin)
        if role in _GOV_ROLES and entity.kind != "state_agency":
            raise CaError("invalid_input", f"{role.value} is a role in a state agency only")
        exists = session.scalar(
            select(Employment.id).where(
                Employment.bin == entity.bin,
                Employment.iin == person.iin,
                Employment.role == role.value,
            )
        )
        if exists is None:
            session.add(Employment(bin=entity.bin, iin=person.iin, role=role.value))
            session.flush()
            audit.record(
                session,
                actor,
                "registry.add_employment",
                person.iin,
                details={"bin": entity.bin, "role": role.value},
            )
        return EmploymentInfo(entity.bin, person.iin, role, entity.name)


def _employments(session: Session, *conditions: object) -> list[EmploymentInfo]:
    rows = session.execute(
        select(Employment, LegalEntity.name)
        .join(LegalEntity, LegalEntity.bin == Employment.bin)
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(Employment.bin, Employment.iin, Employment.role)
    )
    return [EmploymentInfo(e.bin, e.iin, Role(e.role), name) for e, name in rows]


def employees(target: Target, bin: str) -> Sequence[EmploymentInfo]:
    """Everyone with a role in legal entity `bin` (heads, signers, employees, ...)."""
    bin_ = check_bin(bin)
    if isinstance(target, Session):
        return _employments(target, Employment.bin == bin_)
    with target.reading() as session:
        return _employments(session, Employment.bin == bin_)


def employments_of(target: Target, iin: str) -> Sequence[EmploymentInfo]:
    """Every role person `iin` holds in legal entities."""
    if isinstance(target, Session):
        return _employments(target, Employment.iin == iin)
    with target.reading() as session:
        return _employments(session, Employment.iin == iin)


def allowed_roles(target: Target, iin: str) -> Sequence[Grant]:
    """Which profiles the person may get: individual, plus one per role they hold."""
    person = get_person(target, iin)
    grants = [Grant(Role.INDIVIDUAL, None, ROLE_CA[Role.INDIVIDUAL])]
    if isinstance(target, Session):
        jobs = _employments(target, Employment.iin == person.iin)
        kinds = {row.bin: row.kind for row in target.scalars(select(LegalEntity))}
    else:
        with target.reading() as session:
            jobs = _employments(session, Employment.iin == person.iin)
            kinds = {row.bin: row.kind for row in session.scalars(select(LegalEntity))}
    for job in jobs:
        if job.role in _GOV_ROLES and kinds.get(job.bin) != "state_agency":
            continue
        grants.append(Grant(job.role, job.bin, ROLE_CA[job.role]))
    return grants


def subject_person(target: Target, iin: str, role: Role | str, bin: str | None) -> SubjectPerson:
    """The certificate holder as the registry names them, if they may get `role` (in `bin`).

    `profile_not_allowed` when the registry does not give them that role.
    """
    role = parse_role(role)
    person = get_person(target, iin)
    if role is Role.INDIVIDUAL:
        if bin is not None:
            raise CaError("invalid_input", "an individual certificate names no BIN")
        entity = None
    else:
        if bin is None:
            raise CaError("invalid_input", f"a {role.value} certificate needs the BIN")
        entity = get_legal_entity(target, bin)
        grants = allowed_roles(target, person.iin)
        if not any(g.role is role and g.bin == entity.bin for g in grants):
            raise CaError(
                "profile_not_allowed", f"{person.iin} is not {role.value} in {entity.bin}"
            )
    return SubjectPerson(
        surname=person.surname,
        given_name=person.given_name,
        iin=person.iin,
        patronymic=person.patronymic,
        organisation=entity.name if entity else None,
        bin=entity.bin if entity else None,
        email=person.email,
    )


# -- one-time codes -------------------------------------------------------------------------


def _new_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    groups = [chars[i : i + _CODE_GROUP_LENGTH] for i in range(0, _CODE_LENGTH, _CODE_GROUP_LENGTH)]
    return "-".join(groups)


def normalise_code(code: str) -> str | None:
    """The 16 code characters as typed by a person (any case, dashes, spaces, O for 0, I/L for 1),
    or None if it cannot be a code."""
    cleaned = "".join(code.split()).replace("-", "").upper().translate(_CODE_READ_AS)
    if len(cleaned) != _CODE_LENGTH or any(c not in CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def hash_code(code: str) -> str | None:
    """What the database keeps of a code: a SHA-256 of its normal form (None: not a code).

    A code carries 80 random bits and lives a day, so a plain hash cannot be searched back.
    """
    normal = normalise_code(code)
    if normal is None:
        return None
    return hashlib.sha256(_CODE_HASH_PREFIX + normal.encode("ascii")).hexdigest()


def normalise_document_number(number: str) -> str:
    """An identity document number as compared: no spaces or dashes, upper case."""
    return "".join(number.split()).replace("-", "").upper()


def _check_document(person: PersonInfo, document_number: str) -> None:
    registered = person.id_document_number
    if registered is None:
        raise CaError("document_mismatch", f"no identity document is registered for {person.iin}")
    if normalise_document_number(document_number) != normalise_document_number(registered):
        raise CaError("document_mismatch", f"the document number differs for {person.iin}")


def create_ticket(
    target: Target,
    iin: str,
    operator: str,
    purpose: str = "reissue",
    ttl: dt.timedelta = DEFAULT_TICKET_TTL,
    *,
    document_type: str | None = None,
    document_number: str | None = None,
    remote_addr: str | None = None,
    request: bytes = b"",
    now: dt.datetime | None = None,
) -> NewTicket:
    """A new one-time code for person `iin`, created by `operator`, valid for `ttl`.

    With `document_number` (the identity document the person showed the operator) the number
    must match the registry's, else `document_mismatch` and no code. The code is returned once;
    the database keeps only its hash. The audit row names the ticket and the kind of document
    checked, never the code or the document number. Given a Database, a refusal is audited too.
    """
    try:
        return _create_ticket(
            target,
            iin,
            operator,
            purpose,
            ttl,
            document_type=document_type,
            document_number=document_number,
            remote_addr=remote_addr,
            request=request,
            now=now,
        )
    except CaError as error:
        if isinstance(target, Database):
            audit.record_refusal(
                target,
                operator,
                "ticket.create",
                str(iin)[:64],
                error,
                remote_addr=remote_addr,
                request=request,
                details={"purpose": str(purpose)[:16], "document_type": document_type},
            )
        raise


def _create_ticket(
    target: Target,
    iin: str,
    operator: str,
    purpose: str,
    ttl: dt.timedelta,
    *,
    document_type: str | None,
    document_number: str | None,
    remote_addr: str | None,
    request: bytes,
    now: dt.datetime | None,
) -> NewTicket:
    if purpose not in TICKET_PURPOSES:
        raise CaError("invalid_input", f"purpose must be one of {', '.join(TICKET_PURPOSES)}")
    if ttl <= dt.timedelta(0):
        raise CaError("invalid_input", "a code must live for some time")
    now = now or utcnow()
    with _scope(target) as session:
        person = get_person(session, iin)
        if document_number is not None:
            _check_document(person, document_number)
        code = _new_code()
        code_hash = hash_code(code)
        assert code_hash is not None  # noqa: S101 - _new_code makes well-formed codes only
        row = Ticket(
            code_hash=code_hash,
            iin=person.iin,
            purpose=purpose,
            created_by=operator,
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(row)
        session.flush()
        details: dict[str, object] = {
            "ticket": row.id,
            "purpose": purpose,
            "expires_at": row.expires_at.isoformat(),
        }
        if document_number is not None:
            details["document_checked"] = document_type or "unspecified"
        audit.record(
            session,
            operator,
            "ticket.create",
            person.iin,
            remote_addr=remote_addr,
            request=request,
            details=details,
            at=now,
        )
        return NewTicket(row.id, code, person.iin, purpose, row.expires_at)


def redeem_ticket(
    target: Target,
    code: str,
    iin: str,
    *,
    actor: str | None = None,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> TicketInfo:
    """Use the one-time code `code` of person `iin`, once.

    The conditional UPDATE decides: of two workers redeeming the same code at once, exactly one
    changes the row. A code that does not exist and a code of another IIN are both
    `code_invalid`, so the answer does not tell whether a code exists; then `code_used`,
    `code_expired`.
    """
    now = now or utcnow()
    code_hash = hash_code(code)
    with _scope(target) as session:
        if code_hash is None:
            raise CaError("code_invalid", "not a well-formed code")
        row = session.execute(
            update(Ticket)
            .where(
                Ticket.code_hash == code_hash,
                Ticket.iin == iin,
                Ticket.used_at.is_(None),
                Ticket.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                Ticket.id,
                Ticket.purpose,
                Ticket.created_by,
                Ticket.created_at,
                Ticket.expires_at,
            )
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if row is None:
            ticket = session.scalars(
                select(Ticket).where(Ticket.code_hash == code_hash, Ticket.iin == iin)
            ).one_or_none()
            if ticket is None:
                raise CaError("code_invalid")
            if ticket.used_at is not None:
                raise CaError("code_used", f"ticket {ticket.id}")
            raise CaError("code_expired", f"ticket {ticket.id}")
        audit.record(
            session,
            actor or f"applicant:{iin}",
            "ticket.redeem",
            iin,
            remote_addr=remote_addr,
            details={"ticket": row.id, "purpose": row.purpose},
            at=now,
        )
        return TicketInfo(
            id=row.id,
            iin=iin,
            purpose=row.purpose,
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            used_at=now,
        )

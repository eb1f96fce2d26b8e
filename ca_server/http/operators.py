"""Operators: sign in with a GOV CA AUTH key (challenge, signature, bearer token), look up a
person, create a one-time code after checking their identity document. Thin handlers over
ca_server.operators_auth."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Response

from ca_server import operators_auth
from ca_server.http.deps import Caller, Operator, Service, decode_base64, error_responses
from ca_server.http.models import (
    ChallengeOut,
    Employment,
    Grant,
    OperatorOut,
    PersonOut,
    SessionOut,
    SessionRequest,
    TicketOut,
    TicketRequest,
)
from ca_server.operators_auth import OperatorIdentity

__all__ = ["router"]

router = APIRouter(tags=["operators"])

_OPERATOR_ERRORS = ("unauthenticated", "session_expired", "forbidden")
_NO_STORE = {"Cache-Control": "no-store"}


def _operator_out(who: OperatorIdentity) -> OperatorOut:
    return OperatorOut.model_validate(
        {
            "iin": who.iin,
            "role": who.role,
            "certificate_serial": who.certificate_serial,
            "session_expires_at": who.expires_at,
        }
    )


@router.post(
    "/operators/challenge",
    status_code=201,
    response_model=ChallengeOut,
    responses=error_responses("database_error"),
    summary="A single-use challenge to sign with the operator's GOV CA AUTH key (5 minutes)",
)
def challenge(service: Service, caller: Caller) -> ChallengeOut:
    made = operators_auth.create_challenge(service.db, remote_addr=caller.remote_addr)
    return ChallengeOut(
        challenge=base64.b64encode(made.value).decode("ascii"), expires_at=made.expires_at
    )


@router.post(
    "/operators/session",
    status_code=201,
    response_model=SessionOut,
    responses=error_responses(
        "challenge_invalid",
        "challenge_expired",
        "challenge_used",
        "signature_invalid",
        "signer_unknown",
        "signer_revoked",
        "signer_expired",
        "signer_not_auth",
        "operator_wrong_ca",
        "operator_not_registered",
    ),
    summary="Sign in: the challenge signed (CMS) with a registered operator's GOV CA AUTH key",
)
def open_session(
    body: SessionRequest, service: Service, caller: Caller, response: Response
) -> SessionOut:
    challenge_bytes = decode_base64(body.challenge, "challenge_invalid", "the challenge")
    signature = body.signature.strip()
    blob: bytes | str = (
        signature
        if signature.startswith("-----BEGIN")
        else decode_base64(signature, "signature_invalid", "the signature")
    )
    opened = operators_auth.open_session(
        service.db,
        challenge_bytes,
        blob,
        issuer=service.authority(operators_auth.OPERATOR_CA).certificate,
        remote_addr=caller.remote_addr,
        request=caller.request,
    )
    response.headers.update(_NO_STORE)
    return SessionOut(
        token=opened.token,
        expires_at=opened.identity.expires_at,
        operator=_operator_out(opened.identity),
    )


@router.delete(
    "/operators/session",
    status_code=204,
    response_class=Response,
    responses=error_responses(*_OPERATOR_ERRORS),
    summary="Sign out: the token stops working",
)
def close_session(service: Service, who: Operator, caller: Caller) -> Response:
    operators_auth.end_session(
        service.db, who, remote_addr=caller.remote_addr, request=caller.request
    )
    return Response(status_code=204)


@router.get(
    "/operators/me",
    response_model=OperatorOut,
    responses=error_responses(*_OPERATOR_ERRORS),
    summary="Who the token belongs to",
)
def me(who: Operator) -> OperatorOut:
    return _operator_out(who)


@router.get(
    "/persons/{iin}",
    response_model=PersonOut,
    responses=error_responses("invalid_iin", "unknown_person", *_OPERATOR_ERRORS),
    summary="Look a person up in the registry (operator)",
)
def person(
    iin: Annotated[str, Path(pattern=r"^[0-9]{12}$", examples=["850101300124"])],
    service: Service,
    who: Operator,
    caller: Caller,
) -> PersonOut:
    view = operators_auth.look_up_person(
        service.db, who, iin, remote_addr=caller.remote_addr, request=caller.request
    )
    found = view.person
    return PersonOut(
        iin=found.iin,
        surname=found.surname,
        given_name=found.given_name,
        patronymic=found.patronymic,
        birth_date=found.birth_date,
        email=found.email,
        has_id_document=found.id_document_number is not None,
        employments=[
            Employment(role=job.role.value, bin=job.bin, organisation=job.organisation)
            for job in view.employments
        ],
        may_get=[Grant(role=g.role.value, bin=g.bin, ca=g.ca) for g in view.grants],
    )


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketOut,
    responses=error_responses(
        "invalid_iin", "unknown_person", "document_mismatch", "operator_self", *_OPERATOR_ERRORS
    ),
    summary="A one-time enrolment or re-issue code, after the identity document is checked "
    "(operator)",
)
def create_ticket(
    body: TicketRequest, service: Service, who: Operator, caller: Caller, response: Response
) -> TicketOut:
    made = operators_auth.create_ticket(
        service.db,
        who,
        body.iin,
        body.purpose,
        document_type=body.id_document.type,
        document_number=body.id_document.number,
        remote_addr=caller.remote_addr,
        request=caller.request,
    )
    response.headers.update(_NO_STORE)
    return TicketOut(
        ticket_id=made.id,
        code=made.code,
        iin=made.iin,
        purpose=made.purpose,
        expires_at=made.expires_at,
    )

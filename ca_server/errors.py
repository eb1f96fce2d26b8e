"""The CA's one error type: a stable code, the HTTP status it maps to, and a plain message.

Like step-ca's errs package: the code and the message are for the client (a person or a program),
``detail`` is for the log. None of them ever holds a secret: no passphrase, no one-time code, no
key. Codes are part of the API: never rename one, add new ones at the end of their group.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["ERRORS", "CaError"]

# code -> (HTTP status, plain message). One table, so the HTTP layer, the CLI and the docs agree.
ERRORS: Mapping[str, tuple[int, str]] = MappingProxyType(
    {
        # who the applicant is
        "invalid_iin": (
            422,
            "The IIN is not valid: it must be 12 digits with a correct check digit.",
        ),
        "invalid_bin": (
            422,
            "The BIN is not valid: it must be 12 digits with a correct check digit.",
        ),
        "unknown_person": (404, "No person with this IIN is in the registry."),
        "unknown_legal_entity": (404, "No legal entity with this BIN is in the registry."),
        "person_exists": (409, "A person with this IIN is already in the registry."),
        "legal_entity_exists": (409, "A legal entity with this BIN is already in the registry."),
        "profile_not_allowed": (403, "This person may not get a certificate of this kind."),
        "unknown_role": (422, "This role is not known."),
        "unknown_ca": (404, "There is no such certification authority here."),
        # the certificate signing request
        "csr_malformed": (400, "The certificate request (PKCS#10) cannot be read."),
        "csr_bad_signature": (
            400,
            "The certificate request is not signed by the key it carries (no proof of possession).",
        ),
        "csr_subject_mismatch": (
            422,
            "The certificate request names another person than the applicant.",
        ),
        "key_too_weak": (422, "The key is too weak: RSA keys need at least 2048 bits."),
        "key_unsupported": (422, "This kind of key is not accepted: use RSA-2048+ or ECDSA P-256."),
        "key_reused": (422, "The AUTH and SIGN certificates need two different key pairs."),
        # one-time codes from a PSC operator
        "code_invalid": (403, "The code is not valid for this IIN."),
        "code_expired": (403, "The code has expired: ask the PSC operator for a new one."),
        "code_used": (403, "The code has already been used: ask the PSC operator for a new one."),
        "too_many_attempts": (
            429,
            "Too many wrong codes for this IIN or from this computer: wait 15 minutes.",
        ),
        # self-service renewal with the still-valid AUTH key
        "signature_invalid": (403, "The request's signature is missing or does not verify."),
        "signer_unknown": (403, "The request is not signed with a certificate this CA issued."),
        "signer_revoked": (403, "The certificate that signed the request is revoked."),
        "signer_expired": (403, "The certificate that signed the request is not valid now."),
        "signer_not_auth": (403, "The request must be signed with an AUTH (authentication) key."),
        "signer_mismatch": (403, "The request is signed by another person than the applicant."),
        # two superseding re-issues for one holder at once: the first to commit wins
        "reissue_conflict": (
            409,
            "The certificates were already re-issued by another request after this code or key "
            "was given; nothing was issued or revoked. The code cannot be used any more: ask the "
            "PSC operator for a new one (or renew with the newest AUTH key).",
        ),
        # certificates and revocation
        "not_found": (404, "No such certificate."),
        "already_revoked": (409, "The certificate is already revoked."),
        "invalid_reason": (422, "This is not a revocation reason that can be used here."),
        # who is calling
        "unauthenticated": (401, "Sign in first."),
        "forbidden": (403, "You are not allowed to do this."),
        "invalid_input": (422, "The input cannot be used."),
        "challenge_invalid": (403, "This sign-in challenge is not known here: ask for a new one."),
        "challenge_expired": (403, "The sign-in challenge has expired: ask for a new one."),
        "challenge_used": (403, "The sign-in challenge has already been used: ask for a new one."),
        "operator_wrong_ca": (
            403,
            "Operators sign in with a GOV CA certificate; this certificate is from another CA.",
        ),
        "operator_not_registered": (
            403,
            "This certificate does not belong to a registered operator of this CA.",
        ),
        "session_expired": (401, "The session has expired: sign in again."),
        "operator_self": (
            403,
            "Operators may not create codes for themselves: ask a colleague.",
        ),
        "document_mismatch": (
            409,
            "The identity document does not match the registry; no code was created.",
        ),
        # the instance itself
        "instance_exists": (409, "A CA instance already exists here; nothing was changed."),
        "instance_missing": (404, "There is no CA instance here: run `qalam-ca init` first."),
        "data_dir_not_empty": (409, "The data directory is not empty and holds no CA instance."),
        "passphrase_missing": (
            500,
            "The CA key passphrase is not available: give --passphrase-file or set "
            "QALAM_CA_PASSPHRASE.",
        ),
        "ca_key_locked": (500, "The CA key cannot be opened with the passphrase given."),
        "database_error": (503, "The CA database is not available."),
        "internal": (500, "Something went wrong inside the CA."),
        # the HTTP layer
        "body_too_large": (413, "The request body is too large."),
        "unsupported_media_type": (415, "The request body has the wrong content type."),
        "route_not_found": (404, "There is no such endpoint."),
        "method_not_allowed": (405, "This endpoint does not accept this method."),
        "bad_request": (400, "The request cannot be read."),
    }
)


class CaError(Exception):
    """A refusal or failure with a stable `code`, an HTTP `status`, a plain `message`, a `detail`.

    ``detail`` says what exactly was wrong for the log (a serial, a field name, a key size),
    never a secret.
    """

    def __init__(self, code: str, detail: str = "", *, message: str | None = None) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown CA error code {code!r}")
        self.code = code
        self.status, default = ERRORS[code]
        self.message = message or default
        self.detail = detail
        super().__init__(f"{self.message} ({detail})" if detail else self.message)

    def to_dict(self) -> dict[str, str | int]:
        """The JSON body the HTTP layer answers with."""
        body: dict[str, str | int] = {
            "code": self.code,
            "status": self.status,
            "message": self.message,
        }
        if self.detail:
            body["detail"] = self.detail
        return body

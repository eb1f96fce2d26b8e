"""Re-issue on a token: key pairs made on the token, certificates from the CA written back to it.

The same two ways as reissue.py (a PSC one-time code; a renewal signed with the still-valid AUTH
key) and the same care, but the private keys are made by the token and never leave it:
1. two key pairs (AUTH, SIGN) are generated on the token and sign their own requests there;
2. before the CA is asked, a *pending* file in the data dir records which token (storage,
   serial) and which CKA_IDs hold them: no key and no PIN, only where the keys are;
3. the CA issues; 4. each certificate is written to the token under its key's CKA_ID, with the
   CA chain where there is room; 5. only then is the pending file deleted.
A refusal means the CA issued nothing: the new pairs are destroyed and the file goes. Any other
failure (the CA unreachable, the answer lost, the token pulled out) keeps both for ``resume``,
which asks the CA for the pairs' certificates by key identifier or, when it never got the
request, sends the same requests again with the code.

The caller opens the token read-write with the PIN (``TokenRegistry.open(..., rw=True)``) and
closes it; nothing here sees the PIN.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from ..crypto import cms
from ..crypto.csr import build_csr
from ..crypto.errors import CorruptKeyStore, InvalidInput, QalamError
from ..crypto.identity import Purpose, identity_of
from ..crypto.keystores import KeyEntry
from ..crypto.pkcs11 import Pkcs11Token, TokenKey
from ..crypto.pkcs11_objects import (
    KEY_KINDS,
    TokenKeyPair,
    destroy_key_pair,
    find_key_pair,
    generate_key_pair,
    store_ca_certificates,
    store_certificate,
)
from .ca_client import CaClient, Issued
from .errors import TokenReissuePending
from .reissue import (
    PENDING_DIR,
    PENDING_VERSION,
    Step,
    check_iin,
    check_issued_for,
    on_refusal,
    recover_issued,
    renewal_request,
    write_pending_record,
)

log = logging.getLogger("qalam.token_reissue")

PENDING_PREFIX = "token-reissue"


@dataclass(frozen=True)
class TokenReissued:
    """The result: the token, the new key pairs' CKA_IDs and their certificates."""

    storage: str
    serial: str
    auth: x509.Certificate
    sign: x509.Certificate
    auth_id: bytes
    sign_id: bytes
    ca_certificates_written: int


@dataclass(frozen=True)
class TokenPending:
    """An enrolment on a token between "keys made" and "certificates written"."""

    path: Path
    iin: str
    storage: str
    serial: str
    token_label: str
    auth_id: bytes
    sign_id: bytes
    csr_auth: bytes
    csr_sign: bytes

    @classmethod
    def read(cls, path: Path) -> TokenPending:
        """A pending file, checked for shape."""
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("version") != PENDING_VERSION or record.get("kind") != "token":
                raise ValueError("version")
            return cls(
                path,
                str(record["iin"]),
                str(record["storage"]),
                str(record["token_serial"]),
                str(record["token_label"]),
                bytes.fromhex(record["auth_id"]),
                bytes.fromhex(record["sign_id"]),
                base64.b64decode(record["csr_auth"]),
                base64.b64decode(record["csr_sign"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise CorruptKeyStore(f"unreadable pending token enrolment {path.name}") from None

    @property
    def where(self) -> str:
        """The token as a person recognises it."""
        return f"{self.token_label} (serial {self.serial}, {self.storage})"


@dataclass(frozen=True)
class _Started:
    auth: TokenKeyPair
    sign: TokenKeyPair
    csr_auth: bytes
    csr_sign: bytes
    pending: Path


def pending_files(data_dir: Path) -> list[Path]:
    """Enrolments on tokens started and not finished, oldest first."""
    folder = data_dir / PENDING_DIR
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PENDING_PREFIX}-*.json"))


def _label(purpose: str, iin: str) -> str:
    return f"{purpose} {iin} {datetime.now(UTC):%Y-%m-%d}"


def _start(data_dir: Path, token: Pkcs11Token, iin: str, kind: str, step: Step) -> _Started:
    check_iin(iin)
    if kind not in KEY_KINDS:
        raise InvalidInput(kind, reason='the key kind is "rsa" or "ec"')
    for path in pending_files(data_dir):
        waiting = TokenPending.read(path)
        if waiting.iin == iin:
            raise TokenReissuePending(str(path), path=str(path), token=waiting.where)
    step("generating keys on the token")
    made: list[TokenKeyPair] = []
    try:
        made.append(generate_key_pair(token, kind, _label("AUTH", iin)))
        made.append(generate_key_pair(token, kind, _label("SIGN", iin)))
        auth, sign = made
        step("signing the requests on the token")
        csr_auth, csr_sign = build_csr(auth.spki, auth.key), build_csr(sign.spki, sign.key)
        record = {
            "kind": "token",
            "iin": iin,
            "storage": token.storage,
            "token_serial": token.info.serial,
            "token_label": token.info.label,
            "auth_id": auth.key_id.hex(),
            "sign_id": sign.key_id.hex(),
            "csr_auth": base64.b64encode(csr_auth).decode("ascii"),
            "csr_sign": base64.b64encode(csr_sign).decode("ascii"),
        }
        pending = write_pending_record(data_dir, f"{PENDING_PREFIX}-{iin}", record)
    except BaseException:
        # Nothing records these pairs yet and the CA has not seen them: take them back.
        for pair in made:
            with contextlib.suppress(QalamError):
                destroy_key_pair(token, pair.key_id)
        raise
    return _Started(auth, sign, csr_auth, csr_sign, pending)


def _forget(token: Pkcs11Token, pending: Path, pairs: tuple[TokenKeyPair, TokenKeyPair]) -> None:
    """Destroy the pairs and the pending file; the file stays when the token cannot be
    reached, so the pairs left there are still explained (and ``discard`` can finish)."""
    try:
        for pair in pairs:
            destroy_key_pair(token, pair.key_id)
    except QalamError as error:
        log.warning("new key pairs left on %s: %s", token.label, error.code)
        return
    os.unlink(pending)


def _finish(
    token: Pkcs11Token,
    pending: Path,
    pairs: tuple[TokenKeyPair, TokenKeyPair],
    issued: Issued,
    step: Step,
) -> TokenReissued:
    auth, sign = pairs
    check_issued_for(issued, auth.spki, sign.spki)
    step("writing the certificates to the token")
    store_certificate(token, issued.auth, auth.key_id, auth.label)
    store_certificate(token, issued.sign, sign.key_id, sign.label)
    written = store_ca_certificates(token, issued.chain)
    os.unlink(pending)
    return TokenReissued(
        token.storage, token.info.serial, issued.auth, issued.sign, auth.key_id, sign.key_id,
        written,
    )  # fmt: skip


def with_code(
    client: CaClient,
    data_dir: Path,
    token: Pkcs11Token,
    iin: str,
    code: str,
    *,
    kind: str = "rsa",
    step: Step = lambda _: None,
) -> TokenReissued:
    """New keys on the token for a PSC one-time code (the CA supersedes the old certificates)."""
    started = _start(data_dir, token, iin, kind, step)
    pairs = (started.auth, started.sign)
    step("asking the certification centre")
    with on_refusal(lambda: _forget(token, started.pending, pairs)):
        issued = client.enroll(iin, started.csr_auth, started.csr_sign, code=code.strip())
    return _finish(token, started.pending, pairs, issued, step)


def renew(
    client: CaClient,
    data_dir: Path,
    token: Pkcs11Token,
    current_auth: KeyEntry,
    iin: str,
    *,
    kind: str = "rsa",
    step: Step = lambda _: None,
) -> TokenReissued:
    """New keys on the token for a request signed with the still-valid AUTH key
    (``current_auth``: on this token, another one, or a key file)."""
    started = _start(data_dir, token, iin, kind, step)
    pairs = (started.auth, started.sign)
    step("signing the request with the current AUTH key")
    try:
        signature = cms.sign(renewal_request(iin, started.csr_auth, started.csr_sign), current_auth)
    except BaseException:
        _forget(token, started.pending, pairs)
        raise
    step("asking the certification centre")
    with on_refusal(lambda: _forget(token, started.pending, pairs)):
        issued = client.enroll(iin, started.csr_auth, started.csr_sign, renewal_signature=signature)
    return _finish(token, started.pending, pairs, issued, step)


def _pending_pairs(pending: TokenPending, token: Pkcs11Token) -> tuple[TokenKeyPair, TokenKeyPair]:
    if token.info.serial != pending.serial:
        reason = f"the new keys are on the token {pending.where}: connect that one"
        raise InvalidInput("token", reason=reason)
    auth, sign = find_key_pair(token, pending.auth_id), find_key_pair(token, pending.sign_id)
    if auth is None or sign is None:
        reason = f"the new keys are no longer on {pending.where}: discard {pending.path.name}"
        raise InvalidInput("token", reason=reason)
    return auth, sign


def resume(
    client: CaClient,
    pending_path: Path,
    token: Pkcs11Token,
    *,
    code: str | None = None,
    step: Step = lambda _: None,
) -> TokenReissued:
    """Finish an enrolment whose answer was lost: fetch what the CA issued for the pending
    pairs; if it issued nothing, send the same requests again with ``code`` (when given)."""
    pending = TokenPending.read(pending_path)
    pairs = _pending_pairs(pending, token)
    with on_refusal(lambda: _forget(token, pending_path, pairs)):
        issued = recover_issued(
            client,
            pending.iin,
            (pairs[0].ski, pairs[1].ski),
            (pending.csr_auth, pending.csr_sign),
            code,
            step,
        )
    return _finish(token, pending_path, pairs, issued, step)


def discard(pending_path: Path, token: Pkcs11Token) -> None:
    """Give up a pending enrolment: its key pairs leave the token, then its file goes."""
    pending = TokenPending.read(pending_path)
    if token.info.serial != pending.serial:
        reason = f"the new keys are on the token {pending.where}: connect that one"
        raise InvalidInput("token", reason=reason)
    for key_id in (pending.auth_id, pending.sign_id):
        destroy_key_pair(token, key_id)
    os.unlink(pending_path)


def replaced_pairs(token: Pkcs11Token, done: TokenReissued) -> list[KeyEntry]:
    """The token's older key pairs that ``done`` replaced: the same holder (IIN and BIN) from
    the same issuing CA, issued before the new pair. These are the certificates the CA revoked
    as superseded when it issued; their keys can sign nothing valid any more."""
    holder = identity_of(done.auth)
    new_ids = {done.auth_id, done.sign_id}
    found = []
    for entry in token.entries():
        cert = entry.certificate
        if not isinstance(entry.key, TokenKey) or entry.key.key_id in new_ids:
            continue
        who = identity_of(cert)
        if (
            cert.issuer == done.auth.issuer
            and (who.iin, who.bin) == (holder.iin, holder.bin)
            and cert.not_valid_before_utc <= done.auth.not_valid_before_utc
        ):
            found.append(entry)
    return found


def remove_replaced(token: Pkcs11Token, done: TokenReissued) -> list[KeyEntry]:
    """Take the pairs ``replaced_pairs`` names off the token, with their certificates; what
    went. Asked for by the person (``qalam tokens renew --remove-old``): a token's memory is
    small, and a superseded key left there is one more to pick by mistake."""
    replaced = replaced_pairs(token, done)
    for entry in replaced:
        if isinstance(entry.key, TokenKey):  # always, by replaced_pairs
            destroy_key_pair(token, entry.key.key_id, certificates=True)
    return replaced


def current_auth_key(token: Pkcs11Token, at: datetime | None = None) -> KeyEntry:
    """The token's AUTH key whose certificate is valid now, the newest when several."""
    now = at or datetime.now(UTC)
    found: list[tuple[Any, KeyEntry]] = []
    for entry in token.entries():
        cert = entry.certificate
        if identity_of(cert).purpose is not Purpose.AUTH:
            continue
        if cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            found.append((cert.not_valid_before_utc, entry))
    if not found:
        reason = f"no valid AUTH key is on the token {token.label}: use a PSC code"
        raise InvalidInput("no AUTH key", reason=reason)
    return max(found, key=lambda item: item[0])[1]


__all__ = [
    "PENDING_PREFIX",
    "TokenPending",
    "TokenReissued",
    "current_auth_key",
    "discard",
    "pending_files",
    "remove_replaced",
    "renew",
    "replaced_pairs",
    "resume",
    "with_code",
]

"""Re-issue: new key pairs made here, certificates from the CA, key files saved without loss.

Two ways to get a new AUTH + SIGN pair from the CA (ca_server POST /enroll):
* ``with_code``: a one-time code a PSC operator gave the person (forgotten password, lost key);
* ``renew``: the request signed with the person's still-valid AUTH key (self-service).

The order makes a lost answer recoverable and never loses a key (ARCHITECTURE rule 6):
1. the new key pairs are generated here (the private keys never leave this computer);
2. before the CA is asked, both private keys are written to a *pending* file in the data dir,
   encrypted with the person's new password (no password is stored);
3. the CA issues; 4. each key file is written atomically next to nothing it would overwrite
   and opened again with the new password; 5. only then is the pending file deleted.
If the answer is lost (network down after the CA issued, a crash, a full disk), ``resume``
asks the CA for the certificates of the pending keys (GET /keys/{ski}/certificates, public) and
finishes the files; a request the CA never received can be sent again from the pending keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..crypto import cms, csr, gost, gost_pkcs8
from ..crypto.algorithms import KeyAlgorithm
from ..crypto.atomicfile import atomic_write
from ..crypto.errors import CorruptKeyStore, InvalidInput, WrongPassword
from ..crypto.gost_pkcs12 import gost_file_name
from ..crypto.identity import is_valid_iin
from ..crypto.keystores import Encryption, KeyEntry, open_pkcs12, write_pkcs12
from .ca_client import CaClient, Issued
from .errors import CaRefused, FileExists, ReissuePending

PENDING_DIR = "pending"
PENDING_VERSION = 1
RENEWAL_MAGIC = b"qalam-ca renewal request v1\n"  # ca_server.enrollment.renewal_request's format

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | gost.GostPrivateKey
Step = Callable[[str], None]
KeyKind = Literal["rsa", "ec", "gost"]
KINDS: tuple[KeyKind, ...] = ("rsa", "ec", "gost")


@dataclass(frozen=True)
class NewKeys:
    """Two fresh key pairs and their certificate requests."""

    auth: PrivateKey
    sign: PrivateKey
    csr_auth: bytes
    csr_sign: bytes

    @property
    def kind(self) -> KeyKind:
        """The family of both keys."""
        return kind_of(self.auth)

    @property
    def names(self) -> tuple[str, str]:
        """NCA's file names: AUTH_RSA256_<key id>.p12 and RSA256_<key id>.p12, or
        AUTH_GOST512_<key id>.p12 and GOST512_<key id>.p12 (KZ_PKI_NOTES.md §2.8)."""
        if isinstance(self.auth, gost.GostPrivateKey) and isinstance(
            self.sign, gost.GostPrivateKey
        ):
            return gost_file_name(self.auth, auth=True), gost_file_name(self.sign)
        family = "RSA256" if isinstance(self.auth, rsa.RSAPrivateKey) else "ECDSA256"
        return f"AUTH_{family}_{key_id(self.auth)}.p12", f"{family}_{key_id(self.sign)}.p12"


@dataclass(frozen=True)
class Reissued:
    """The result: where the new key files are and their certificates."""

    auth_path: Path
    sign_path: Path
    auth: x509.Certificate
    sign: x509.Certificate


def key_id(key: PrivateKey) -> str:
    """The key's SubjectKeyIdentifier in hex (RFC 5280 method 1), as the CA records it."""
    if isinstance(key, gost.GostPrivateKey):
        return key.public_key.key_identifier().hex()
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest.hex()


def kind_of(key: PrivateKey) -> KeyKind:
    """ "gost", "ec" or "rsa": the family of a key made here."""
    if isinstance(key, gost.GostPrivateKey):
        return "gost"
    return "ec" if isinstance(key, ec.EllipticCurvePrivateKey) else "rsa"


# A renewal keeps the family of the key it renews; a GOST 2004 key (verify-only here, and no
# longer issued by NCA) renews into GOST 2015, the only GOST NCA issues today.
_RENEWED_KIND: dict[KeyAlgorithm, KeyKind] = {
    KeyAlgorithm.RSA: "rsa",
    KeyAlgorithm.EC: "ec",
    KeyAlgorithm.GOST2015: "gost",
    KeyAlgorithm.GOST2004: "gost",
}


def renewal_kind(current_auth: KeyEntry) -> KeyKind:
    """The kind of the new keys when ``current_auth`` is renewed: the same family."""
    return _RENEWED_KIND[current_auth.key.algorithm]


def _request(key: PrivateKey) -> bytes:
    if isinstance(key, gost.GostPrivateKey):
        return csr.build_csr(key.public_key.subject_public_key_info(), key)
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    return request.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def generate(kind: str = "rsa") -> NewKeys:
    """Two new key pairs ("rsa": RSA-2048, "ec": P-256, "gost": GOST 34.10-2015 512) and a
    CSR for each.

    The CSRs name nobody: the CA takes the subject from its registry (ca_server/authority.py).
    """
    if kind not in KINDS:
        raise InvalidInput(kind, reason='the key kind is "rsa", "ec" or "gost"')

    def one() -> PrivateKey:
        if kind == "gost":
            return gost.generate_private_key()
        if kind == "ec":
            return ec.generate_private_key(ec.SECP256R1())
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    auth, sign = one(), one()
    return NewKeys(auth, sign, _request(auth), _request(sign))


def renewal_request(iin: str, csr_auth: bytes, csr_sign: bytes) -> bytes:
    """The bytes a renewal signs with the old AUTH key: the IIN and both CSRs' hashes."""
    return (
        RENEWAL_MAGIC
        + f"iin={iin}\n".encode("ascii")
        + f"auth_csr_sha256={hashlib.sha256(csr_auth).hexdigest()}\n".encode("ascii")
        + f"sign_csr_sha256={hashlib.sha256(csr_sign).hexdigest()}\n".encode("ascii")
    )


# -- the pending file -------------------------------------------------------------------------


def pending_files(data_dir: Path) -> list[Path]:
    """Re-issues started and not finished, oldest first."""
    folder = data_dir / PENDING_DIR
    if not folder.is_dir():
        return []
    return sorted(folder.glob("reissue-*.json"))


def _encrypted(key: PrivateKey, password: str) -> str:
    if isinstance(key, gost.GostPrivateKey):
        # `cryptography` cannot serialise a GOST key: the same PBES2 PEM, put together by hand.
        return gost_pkcs8.encrypt_private_key(key, password.encode("utf-8")).decode("ascii")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    ).decode("ascii")


def _decrypted(pem: str, password: str, kind: str) -> PrivateKey:
    if kind == "gost":
        try:
            return gost_pkcs8.decrypt_private_key(pem.encode("ascii"), password.encode("utf-8"))
        except ValueError:
            raise WrongPassword("pending re-issue keys") from None
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password.encode("utf-8"))
    except ValueError:
        raise WrongPassword("pending re-issue keys") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CorruptKeyStore("pending re-issue keys of an unexpected kind")
    return key


@dataclass(frozen=True)
class Pending:
    """A re-issue between "keys made" and "key files saved"."""

    path: Path
    iin: str
    out_dir: Path
    encryption: Encryption
    record: dict[str, Any]

    @property
    def kind(self) -> str:
        """ "gost" for GOST keys; "rsa" or "ec" (files written before GOST said nothing)."""
        return str(self.record.get("kind", "rsa"))

    @classmethod
    def read(cls, path: Path) -> Pending:
        """A pending file, checked for shape."""
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("version") != PENDING_VERSION:
                raise ValueError("version")
            return cls(
                path,
                str(record["iin"]),
                Path(record["out_dir"]),
                record.get("encryption", "aes"),
                record,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise CorruptKeyStore(f"unreadable pending re-issue {path.name}") from None

    def keys(self, password: str) -> NewKeys:
        """The pending keys, opened with the new password."""
        auth = _decrypted(self.record["auth_key"], password, self.kind)
        sign = _decrypted(self.record["sign_key"], password, self.kind)
        return NewKeys(
            auth,
            sign,
            base64.b64decode(self.record["csr_auth"]),
            base64.b64decode(self.record["csr_sign"]),
        )


def write_pending_record(data_dir: Path, prefix: str, record: dict[str, Any]) -> Path:
    """Write ``record`` (no secret in clear) as a new ``<prefix>-<time>.json`` in the data
    dir's pending folder, atomically and readable by the owner only; its path."""
    folder = data_dir / PENDING_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{prefix}-{stamp}.json"
    created = {"version": PENDING_VERSION, "created": datetime.now(UTC).isoformat()}
    atomic_write(path, json.dumps({**created, **record}, indent=2).encode("utf-8"), mode=0o600)
    return path


def _write_pending(
    data_dir: Path, iin: str, keys: NewKeys, password: str, out_dir: Path, encryption: Encryption
) -> Path:
    record = {
        "iin": iin,
        "out_dir": str(out_dir.resolve()),
        "encryption": encryption,
        "kind": keys.kind,
        "auth_key": _encrypted(keys.auth, password),
        "sign_key": _encrypted(keys.sign, password),
        "csr_auth": base64.b64encode(keys.csr_auth).decode("ascii"),
        "csr_sign": base64.b64encode(keys.csr_sign).decode("ascii"),
    }
    return write_pending_record(data_dir, f"reissue-{iin}", record)


# -- the flow ---------------------------------------------------------------------------------


def _check_targets(out_dir: Path, names: tuple[str, str]) -> tuple[Path, Path]:
    if not out_dir.is_dir():
        raise InvalidInput(str(out_dir), reason=f"{out_dir} is not a folder")
    targets = (out_dir / names[0], out_dir / names[1])
    for target in targets:
        if target.exists():
            raise FileExists(str(target), path=str(target))
    return targets


def check_iin(iin: str) -> None:
    """InvalidInput unless ``iin`` is a well-formed IIN (checked before any key is made)."""
    if not is_valid_iin(iin):
        raise InvalidInput(iin, reason="an IIN is 12 digits with a valid check digit")


def _save(
    keys: NewKeys, issued: Issued, password: str, out_dir: Path, encryption: Encryption
) -> Reissued:
    auth_path, sign_path = _check_targets(out_dir, keys.names)
    for path, key, certificate in (
        (auth_path, keys.auth, issued.auth),
        (sign_path, keys.sign, issued.sign),
    ):
        write_pkcs12(path, key, certificate, password, chain=issued.chain, encryption=encryption)
        # Opened once from disk before the pending copy may go (rule 6).
        open_pkcs12(path, password)
    return Reissued(auth_path, sign_path, issued.auth, issued.sign)


def _spki(key: PrivateKey | x509.Certificate) -> bytes:
    if isinstance(key, gost.GostPrivateKey):
        return key.public_key.subject_public_key_info()
    if isinstance(key, x509.Certificate):
        gost_key = gost.public_key_from_certificate(key)
        if gost_key is not None:
            return gost_key.subject_public_key_info()
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def check_issued_for(issued: Issued, auth_spki: bytes, sign_spki: bytes) -> None:
    """InvalidInput unless the CA's AUTH and SIGN certificates are for these public keys."""
    for spki, certificate in ((auth_spki, issued.auth), (sign_spki, issued.sign)):
        if _spki(certificate) != spki:
            reason = "the centre returned a certificate for another key"
            raise InvalidInput("certificate", reason=reason)


def _finish(
    pending: Path,
    keys: NewKeys,
    issued: Issued,
    password: str,
    out_dir: Path,
    encryption: Encryption,
) -> Reissued:
    check_issued_for(issued, _spki(keys.auth), _spki(keys.sign))
    done = _save(keys, issued, password, out_dir, encryption)
    os.unlink(pending)
    return done


def _start(
    data_dir: Path,
    iin: str,
    password: str,
    out_dir: Path,
    kind: str,
    encryption: Encryption,
    step: Step,
) -> tuple[NewKeys, Path]:
    check_iin(iin)
    if not password:
        raise InvalidInput("password", reason="a key file needs a password")
    waiting = [p for p in pending_files(data_dir) if Pending.read(p).iin == iin]
    if waiting:
        raise ReissuePending(str(waiting[0]), path=str(waiting[0]))
    step("generating keys")
    keys = generate(kind)
    _check_targets(out_dir, keys.names)
    pending = _write_pending(data_dir, iin, keys, password, out_dir, encryption)
    return keys, pending


@contextmanager
def on_refusal(cleanup: Callable[[], None]) -> Iterator[None]:
    """A refusal means the CA issued nothing: ``cleanup`` lets the pending keys go. Any other
    failure (the CA unreachable, the answer lost) keeps them for ``resume``."""
    try:
        yield
    except CaRefused:
        cleanup()
        raise


def _refusal_clears(pending: Path) -> AbstractContextManager[None]:
    return on_refusal(lambda: os.unlink(pending))


def with_code(
    client: CaClient,
    data_dir: Path,
    iin: str,
    code: str,
    password: str,
    out_dir: Path,
    *,
    kind: str = "rsa",
    encryption: Encryption = "aes",
    step: Step = lambda _: None,
) -> Reissued:
    """New keys for a PSC one-time code (the CA revokes the old certificates as superseded);
    ``kind`` "gost" makes GOST 2015 keys in NCA's GOST512_*.p12 files."""
    keys, pending = _start(data_dir, iin, password, out_dir, kind, encryption, step)
    step("asking the certification centre")
    with _refusal_clears(pending):
        issued = client.enroll(iin, keys.csr_auth, keys.csr_sign, code=code.strip())
    step("saving the key files")
    return _finish(pending, keys, issued, password, out_dir, encryption)


def renew(
    client: CaClient,
    data_dir: Path,
    current_auth: KeyEntry,
    iin: str,
    password: str,
    out_dir: Path,
    *,
    kind: str | None = None,
    encryption: Encryption = "aes",
    step: Step = lambda _: None,
) -> Reissued:
    """New keys for a request signed with the person's still-valid AUTH key; unless ``kind``
    says otherwise, of the same family as that key (GOST renews into GOST, RSA into RSA)."""
    chosen = renewal_kind(current_auth) if kind is None else kind
    keys, pending = _start(data_dir, iin, password, out_dir, chosen, encryption, step)
    step("signing the request with the current AUTH key")
    signature = cms.sign(renewal_request(iin, keys.csr_auth, keys.csr_sign), current_auth)
    step("asking the certification centre")
    with _refusal_clears(pending):
        issued = client.enroll(iin, keys.csr_auth, keys.csr_sign, renewal_signature=signature)
    step("saving the key files")
    return _finish(pending, keys, issued, password, out_dir, encryption)


def resume(
    client: CaClient,
    pending_path: Path,
    password: str,
    *,
    code: str | None = None,
    step: Step = lambda _: None,
) -> Reissued:
    """Finish a re-issue whose answer was lost: fetch the certificates the CA issued for the
    pending keys; if it issued none, send the request again with ``code`` (when given)."""
    pending = Pending.read(pending_path)
    keys = pending.keys(password)
    issued = recover_issued(
        client,
        pending.iin,
        (key_id(keys.auth), key_id(keys.sign)),
        (keys.csr_auth, keys.csr_sign),
        code,
        step,
    )
    step("saving the key files")
    return _finish(pending_path, keys, issued, password, pending.out_dir, pending.encryption)


def discard(pending_path: Path) -> None:
    """Forget a pending re-issue (its keys were never certified, or the person gave up)."""
    Pending.read(pending_path)  # only ever delete what is a pending re-issue
    os.unlink(pending_path)


Found = tuple[dict[str, Any], x509.Certificate]


def _newest(found: list[Found]) -> Found | None:
    good = [item for item in found if item[0].get("status") == "good"]
    return good[-1] if good else None


def issued_for_keys(client: CaClient, auth_ski: str, sign_ski: str) -> Issued | None:
    """What the CA issued for these two keys (by SubjectKeyIdentifier hex), with its chain;
    None unless it holds a good certificate for both (the request never arrived)."""
    auth = _newest(client.certificates_for_key(auth_ski))
    sign = _newest(client.certificates_for_key(sign_ski))
    if auth is None or sign is None:
        return None
    ca = str(auth[0]["ca"])
    return Issued(ca=ca, auth=auth[1], sign=sign[1], chain=client.ca_chain(ca))


def recover_issued(
    client: CaClient,
    iin: str,
    skis: tuple[str, str],
    csrs: tuple[bytes, bytes],
    code: str | None,
    step: Step,
) -> Issued:
    """The certificates of a pending AUTH + SIGN pair: those the CA already issued (the
    answer was lost), else a new answer to the same requests with ``code`` (it never got them)."""
    step("asking the certification centre for the issued certificates")
    issued = issued_for_keys(client, *skis)
    if issued is not None:
        return issued
    if code is None:
        reason = "the centre never issued certificates for these keys: give the code again"
        raise InvalidInput("code", reason=reason)
    step("sending the request again")
    return client.enroll(iin, csrs[0], csrs[1], code=code.strip())


__all__ = [
    "KINDS",
    "KeyKind",
    "NewKeys",
    "Pending",
    "Reissued",
    "check_iin",
    "check_issued_for",
    "discard",
    "generate",
    "issued_for_keys",
    "key_id",
    "kind_of",
    "on_refusal",
    "pending_files",
    "recover_issued",
    "renew",
    "renewal_kind",
    "renewal_request",
    "resume",
    "with_code",
    "write_pending_record",
]

"""PKCS#11 tokens (Kaztoken, eToken, JaCarta, aKey, ID cards; SoftHSM2 in tests) as KeyStores.

A ``Pkcs11Module`` is one loaded driver library; it lists the tokens in its slots and logs in to
one with a PIN, giving a ``Pkcs11Token``: a KeyStore whose entries are the token's private keys
paired with their certificates by CKA_ID. The private key never leaves the token: ``TokenKey``
hashes on the host and asks the token for the raw operation (CKM_RSA_PKCS over a DigestInfo,
CKM_ECDSA over the digest), so every token that can do the bare mechanism works, whatever
hash mechanisms it lacks.

One logged-in session serves every signature of one use and is closed (logged out) by
``close()`` or the ``with`` block. The PIN state comes from the token flags (count low, final
try, locked) and is reported as typed errors; a locked PIN is refused before the token is
asked, so no further attempt is ever spent. A missing or broken driver is a
``Pkcs11ModuleError``, a token that disappears mid-use a ``TokenRemoved``. The PIN is never put
into an error, a log line or a repr.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pkcs11 as p11
from asn1crypto import algos, core
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11x

from .algorithms import DigestAlgorithm, KeyAlgorithm
from .errors import (
    InvalidInput,
    PinCountLow,
    PinFinalTry,
    PinIncorrect,
    PinLocked,
    Pkcs11ModuleError,
    QalamError,
    TokenError,
    TokenNotFound,
    TokenRemoved,
)
from .keystores import KeyEntry

log = logging.getLogger("qalam.pkcs11")
T = TypeVar("T")

# python-pkcs11 calls C_Initialize(NULL): the application promises never to call a module from
# two threads at once (PKCS#11 §5.4), and SoftHSM2 then drops its own locking. So every call
# into any module goes under this one lock: a signature, a token listing by the TokenWatcher's
# thread, a login. Re-entrant, because a key's signature runs inside its token's session use.
_LOCK = threading.RLock()
# Logged-in sessions per module path: a module is only re-initialised (``reload_module``) when
# none is open, since C_Finalize would end them under a signature in progress.
_SESSIONS: Counter[str] = Counter()


@dataclass
class _SharedLogin:
    """One C_Login to one token, shared by every Pkcs11Token of this process on it.

    PKCS#11 keeps the login state per application, not per session: a second C_Login gives
    CKR_USER_ALREADY_LOGGED_IN, and one session's C_Logout logs every session out. So the
    first login's session (the anchor) stays open until the last Pkcs11Token on that token
    closes. A later login must still prove the PIN: it is compared with a salted PBKDF2 digest
    of the PIN the token accepted, held in memory only while the login lasts (a wrong PIN
    there does not reach the token's retry counter; the token's own state is still reported).
    """

    anchor: Any
    salt: bytes
    digest: bytes
    users: int = 1

    @classmethod
    def of(cls, anchor: Any, pin: str) -> _SharedLogin:
        salt = secrets.token_bytes(16)
        return cls(anchor, salt, _pin_digest(pin, salt))

    def accepts(self, pin: str) -> bool:
        return hmac.compare_digest(self.digest, _pin_digest(pin, self.salt))


def _pin_digest(pin: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, _PIN_DIGEST_ROUNDS)


# Enough that a memory dump does not give the PIN away at once; a PIN has few bits anyway,
# which is why the digest lives only as long as the login.
_PIN_DIGEST_ROUNDS = 20_000
# (module path, token serial) → the login every open Pkcs11Token on that token shares.
_LOGINS: dict[tuple[str, str], _SharedLogin] = {}

# The storage name of a token reached through a module the person named themselves.
GENERIC_STORAGE = "PKCS11"

# Failures that mean the device went away (or its session with it): the person can plug it in
# again and retry. SoftHSM2 answers CKR_OBJECT_HANDLE_INVALID when its token folder vanishes.
_GONE: tuple[type[p11x.PKCS11Error], ...] = (
    p11x.DeviceRemoved,
    p11x.TokenNotPresent,
    p11x.TokenNotRecognised,
    p11x.SessionHandleInvalid,
    p11x.SessionClosed,
    p11x.ObjectHandleInvalid,
    p11x.KeyHandleInvalid,
    p11x.DeviceError,
)
_WRONG_PIN: tuple[type[p11x.PKCS11Error], ...] = (
    p11x.PinIncorrect,
    p11x.PinInvalid,
    p11x.PinLenRange,
)


# python-pkcs11's text for a failed dlopen: "OS exception while loading P: P: <the reason>".
_LOADER_TEXT = re.compile(r"^OS exception while loading .*?: (?:\S+: )?(.*)$", re.S)


class PinState(enum.Enum):
    """What the token flags say about the user PIN."""

    OK = "ok"
    COUNT_LOW = "count_low"
    FINAL_TRY = "final_try"
    LOCKED = "locked"

    @classmethod
    def of(cls, flags: int) -> PinState:
        """The state from CK_TOKEN_INFO.flags (the worst one wins)."""
        if flags & TokenFlag.USER_PIN_LOCKED:
            return cls.LOCKED
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            return cls.FINAL_TRY
        if flags & TokenFlag.USER_PIN_COUNT_LOW:
            return cls.COUNT_LOW
        return cls.OK

    @property
    def tries_left(self) -> int | None:
        """Tries left when the flags tell (0 locked, 1 final try); None when they do not."""
        return {PinState.LOCKED: 0, PinState.FINAL_TRY: 1}.get(self)


def translate(exc: p11x.PKCS11Error, what: str) -> QalamError:
    """The Qalam error for a PKCS#11 failure during ``what`` (never the PIN)."""
    reason = type(exc).__name__
    if isinstance(exc, _GONE):
        return TokenRemoved(f"{what}: {reason}")
    if isinstance(exc, p11x.PinLocked):
        return PinLocked(what)
    return TokenError(f"{what}: {reason}", reason=f"{what} ({reason})")


def _wrong_pin(state: PinState, label: str) -> QalamError:
    if state is PinState.LOCKED:
        return PinLocked(label)
    if state is PinState.FINAL_TRY:
        return PinFinalTry(label)
    if state is PinState.COUNT_LOW:
        return PinCountLow(label)
    return PinIncorrect(label)


def _text(value: object) -> str:
    raw = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return raw.strip().rstrip("\x00").strip()


@dataclass(frozen=True)
class TokenInfo:
    """A token in a slot, as a person recognises it."""

    module: str
    slot_id: int
    label: str
    serial: str
    manufacturer: str
    model: str
    pin_state: PinState

    @property
    def summary(self) -> str:
        """One line: label, model, serial, PIN state."""
        state = "" if self.pin_state is PinState.OK else f", PIN {self.pin_state.value}"
        return f"{self.label} ({self.manufacturer} {self.model}, serial {self.serial}{state})"


# --------------------------------------------------------------------------- keys


@functools.cache
def _digest_info_prefix(digest: DigestAlgorithm) -> bytes:
    # The DER before the digest value is the same for every digest of one algorithm; encoding
    # it once saves asn1crypto's ~0.1 ms on every signature.
    algorithm = {"algorithm": digest.hashlib_name, "parameters": core.Null()}
    blank = algos.DigestInfo({"digest_algorithm": algorithm, "digest": bytes(digest.size)})
    return bytes(blank.dump())[: -digest.size]


def digest_info(digest_value: bytes, digest: DigestAlgorithm) -> bytes:
    """The DER DigestInfo that PKCS#1 v1.5 signs (RFC 8017 §9.2), NULL parameters included."""
    if len(digest_value) != digest.size:
        raise ValueError(f"a {digest.hashlib_name} digest has {digest.size} bytes")
    return _digest_info_prefix(digest) + digest_value


@dataclass(frozen=True, eq=False)
class TokenKey:
    """A SigningKey whose private half stays on the token; the host only hashes."""

    handle: Any = field(repr=False)
    algorithm: KeyAlgorithm
    key_size: int
    owner: Pkcs11Token = field(repr=False)

    @property
    def key_id(self) -> bytes:
        """The pair's CKA_ID on the token (what ties the key to its certificate)."""
        key_id: bytes = self.owner.run("read a key id", lambda: bytes(self.handle[Attribute.ID]))
        return key_id

    def sign(self, data: bytes, digest: DigestAlgorithm) -> bytes:
        """Hash ``data`` here, sign the digest on the token."""
        return self.sign_digest(digest.digest(data), digest)

    def sign_digest(self, digest_value: bytes, digest: DigestAlgorithm) -> bytes:
        """PKCS#1 v1.5 (RSA) or DER ECDSA (EC) over a digest computed elsewhere."""
        if len(digest_value) != digest.size:
            raise ValueError(f"a {digest.hashlib_name} digest has {digest.size} bytes")
        if self.algorithm is KeyAlgorithm.RSA:
            message, mechanism = digest_info(digest_value, digest), Mechanism.RSA_PKCS
        else:
            message, mechanism = digest_value, Mechanism.ECDSA
        raw = bytes(self.owner.run("sign", lambda: self.handle.sign(message, mechanism=mechanism)))
        if self.algorithm is KeyAlgorithm.RSA:
            return raw
        # PKCS#11 returns r||s, each as long as the group order; CMS and XML want DER.
        half = len(raw) // 2
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return encode_dss_signature(r, s)


# --------------------------------------------------------------------------- token


class Pkcs11Token:
    """A token logged in with its PIN: a KeyStore of its key pairs. Close it when done."""

    def __init__(self, info: TokenInfo, session: Any, storage: str = GENERIC_STORAGE) -> None:
        self.info = info
        self.storage = storage
        self._session = session
        self._login_key = (info.module, info.serial)
        self._lock = _LOCK
        self._closed = False
        self._entries: tuple[KeyEntry, ...] | None = None
        self.skipped: list[str] = []

    @property
    def label(self) -> str:
        """The token's label (what is printed on it, for most vendors)."""
        return self.info.label

    @property
    def closed(self) -> bool:
        """True once the session is closed: the keys no longer sign."""
        return self._closed

    def run(self, what: str, action: Any) -> Any:
        """Run one call on the session, one thread at a time, with PKCS#11 errors translated."""
        with self._lock:
            if self._closed:
                raise TokenError(f"{what}: session closed", reason=f"{what} (session closed)")
            try:
                return action()
            except p11x.PKCS11Error as exc:
                raise translate(exc, what) from None

    def use_session(self, what: str, action: Callable[[Any], T]) -> T:
        """Run ``action(session)`` like ``run`` (for pkcs11_objects.py, which writes objects)."""
        result: T = self.run(what, lambda: action(self._session))
        return result

    def refresh(self) -> None:
        """Forget the keys read so far: the next ``entries()`` reads the token again."""
        with self._lock:
            self._entries = None
            self.skipped = []

    def entries(self) -> Sequence[KeyEntry]:
        """The private keys that have a certificate of the same CKA_ID, read once."""
        if self._entries is None:
            self._entries = self.run("list keys", self._read_entries)
        return self._entries

    def _read_entries(self) -> tuple[KeyEntry, ...]:
        certs: dict[bytes, x509.Certificate] = {}
        others: list[x509.Certificate] = []
        for obj in self._session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
            try:
                cert = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
            except (ValueError, p11x.PKCS11Error):
                self.skipped.append("an unreadable certificate object")
                continue
            try:
                ident = bytes(obj[Attribute.ID])
            except p11x.AttributeTypeInvalid:
                ident = b""
            if ident and ident not in certs:
                certs[ident] = cert
            else:
                others.append(cert)
        entries = []
        for key in self._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}):
            ident = bytes(key[Attribute.ID])
            paired = certs.get(ident)
            if paired is None:
                self.skipped.append(f"key {ident.hex() or '(no id)'}: no certificate")
                continue
            entry = self._entry(key, ident, paired, [*certs.values(), *others])
            if entry is not None:
                entries.append(entry)
        return tuple(entries)

    def _entry(
        self, key: Any, ident: bytes, cert: x509.Certificate, pool: list[x509.Certificate]
    ) -> KeyEntry | None:
        public = cert.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            algorithm = KeyAlgorithm.RSA
            try:
                modulus = int.from_bytes(bytes(key[Attribute.MODULUS]), "big")
            except p11x.PKCS11Error:
                modulus = public.public_numbers().n
            if modulus != public.public_numbers().n:
                self.skipped.append(f"key {ident.hex()}: the certificate is not the key's")
                return None
        elif isinstance(public, ec.EllipticCurvePublicKey):
            algorithm = KeyAlgorithm.EC
        else:
            # GOST keys on Kaztoken and ID cards: signing them is another module's work.
            self.skipped.append(f"key {ident.hex()}: {type(public).__name__} not supported")
            return None
        try:
            label = _text(key[Attribute.LABEL])
        except p11x.PKCS11Error:
            label = ""
        handle = TokenKey(key, algorithm, public.key_size, self)
        return KeyEntry(label or ident.hex(), cert, handle, _chain(cert, pool))

    def close(self) -> None:
        """Log out and close the session; safe to call twice and on a removed token."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            _SESSIONS[self.info.module] -= 1
            login = _LOGINS.get(self._login_key)
            if login is None or self._session is not login.anchor:
                self._close_session(self._session)
            if login is not None:
                login.users -= 1
                if login.users == 0:  # the anchor carries the login: it goes with the last user
                    del _LOGINS[self._login_key]
                    self._close_session(login.anchor)

    def _close_session(self, session: Any) -> None:
        try:
            session.close()
        except p11x.PKCS11Error as exc:
            log.info("closing a session of %s: %s", self.info.label, type(exc).__name__)

    def __enter__(self) -> Pkcs11Token:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chain(
    cert: x509.Certificate, pool: Iterable[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The issuers of ``cert`` found among the token's other certificates, issuer first."""
    by_subject = {c.subject: c for c in pool if c.subject != cert.subject}
    chain: list[x509.Certificate] = []
    current = cert
    while current.issuer != current.subject and len(chain) < 5:
        issuer = by_subject.get(current.issuer)
        if issuer is None or issuer in chain:
            break
        chain.append(issuer)
        current = issuer
    return tuple(chain)


# --------------------------------------------------------------------------- module


class Pkcs11Module:
    """One PKCS#11 driver library, loaded once per process."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if not Path(self.path).is_file():
            raise Pkcs11ModuleError(self.path, path=self.path, reason="the file does not exist")
        try:
            with _LOCK:
                self._lib = p11.lib(self.path)
        except p11x.PKCS11Error as exc:
            # python-pkcs11 raises its base error with the loader's text: not a library,
            # not a PKCS#11 library (no C_GetFunctionList), C_Initialize failing.
            match = _LOADER_TEXT.match(str(exc))
            reason = f"it does not load ({match.group(1) if match else type(exc).__name__})"
            raise Pkcs11ModuleError(self.path, path=self.path, reason=reason) from None

    @property
    def description(self) -> str:
        """The library's own name and maker."""
        return f"{_text(self._lib.library_description)} ({_text(self._lib.manufacturer_id)})"

    def _present(self) -> list[tuple[Any, Any]]:
        try:
            pairs = []
            for slot in self._lib.get_slots(token_present=True):
                try:
                    token = slot.get_token()
                except _GONE:
                    continue
                # A blank token (SoftHSM2's spare slot, a factory-fresh card) holds no key.
                if int(token.flags) & TokenFlag.TOKEN_INITIALIZED:
                    pairs.append((slot, token))
            return pairs
        except p11x.PKCS11Error as exc:
            raise translate(exc, "list tokens") from None

    def tokens(self) -> list[TokenInfo]:
        """The initialised tokens present now, one per slot."""
        with _LOCK:
            return [self._info(slot, token) for slot, token in self._present()]

    def _info(self, slot: Any, token: Any) -> TokenInfo:
        return TokenInfo(
            module=self.path,
            slot_id=int(slot.slot_id),
            label=_text(token.label),
            serial=_text(token.serial),
            manufacturer=_text(token.manufacturer_id),
            model=_text(token.model),
            pin_state=PinState.of(int(token.flags)),
        )

    def _find(self, token_id: str | None) -> tuple[Any, TokenInfo]:
        """The one present token whose serial or label is ``token_id`` (None: the only one)."""
        found = [(t, self._info(s, t)) for s, t in self._present()]
        if token_id is not None:
            found = [p for p in found if token_id in (p[1].serial, p[1].label)]
        if not found:
            name = token_id or self.path
            raise TokenNotFound(name, name=name)
        if len(found) > 1:
            names = ", ".join(f"{i.label} ({i.serial})" for _, i in found)
            reason = f"several tokens are connected ({names}): name one by its serial"
            raise InvalidInput("several tokens", reason=reason)
        return found[0]

    def token_info(self, token_id: str | None = None) -> TokenInfo:
        """The present token by serial or label (the only one when None), as it is now."""
        with _LOCK:
            return self._find(token_id)[1]

    def _fresh_state(self, token: Any) -> PinState:
        # python-pkcs11 keeps the token info it first read; ask the slot again.
        try:
            return PinState.of(int(token.slot.get_token().flags))
        except p11x.PKCS11Error:
            return PinState.OK

    def _session(self, token: Any, info: TokenInfo, pin: str, rw: bool = False) -> Any:
        if info.pin_state is PinState.LOCKED:
            raise PinLocked(info.label)
        if not pin:
            # Refused here: some tokens count an empty PIN as a wrong one.
            raise PinIncorrect(f"{info.label}: empty PIN")
        try:
            return token.open(user_pin=pin, rw=rw)
        except _WRONG_PIN:
            raise _wrong_pin(self._fresh_state(token), info.label) from None
        except p11x.PKCS11Error as exc:
            raise translate(exc, "log in") from None

    def login(
        self,
        pin: str,
        token_id: str | None = None,
        storage: str = GENERIC_STORAGE,
        *,
        rw: bool = False,
    ) -> Pkcs11Token:
        """Log in to a token (by serial or label; the only one when None) and open its store;
        ``rw`` for a session that may create and destroy objects (key generation)."""
        with _LOCK:
            token, info = self._find(token_id)
            shared = _LOGINS.get((self.path, info.serial))
            if shared is None:
                session = self._session(token, info, pin, rw=rw)
                _LOGINS[(self.path, info.serial)] = _SharedLogin.of(session, pin)
            else:
                session = self._join(token, info, shared, pin, rw=rw)
            _SESSIONS[self.path] += 1
        return Pkcs11Token(info, session, storage)

    def _join(self, token: Any, info: TokenInfo, shared: _SharedLogin, pin: str, rw: bool) -> Any:
        """A session in the login another Pkcs11Token of this process holds on the token."""
        if not shared.accepts(pin):
            raise _wrong_pin(self._fresh_state(token), info.label)
        try:
            session = token.open(rw=rw)  # no C_Login: the application is logged in already
        except p11x.PKCS11Error as exc:
            raise translate(exc, "log in") from None
        shared.users += 1
        return session

    def change_pin(self, old_pin: str, new_pin: str, token_id: str | None = None) -> None:
        """Change the user PIN (C_SetPIN in a logged-in read-write session)."""
        if not new_pin:
            raise InvalidInput("empty new PIN", reason="the new PIN is empty")
        with _LOCK:
            self._change_pin(old_pin, new_pin, token_id)

    def _change_pin(self, old_pin: str, new_pin: str, token_id: str | None) -> None:
        token, info = self._find(token_id)
        shared = _LOGINS.get((self.path, info.serial))
        if shared is None:
            session = self._session(token, info, old_pin, rw=True)
        else:  # logged in already: C_SetPIN still checks the old PIN itself
            try:
                session = token.open(rw=True)
            except p11x.PKCS11Error as exc:
                raise translate(exc, "change PIN") from None
        try:
            session.set_pin(old_pin, new_pin)
            if shared is not None:
                shared.salt = secrets.token_bytes(16)
                shared.digest = _pin_digest(new_pin, shared.salt)
        except p11x.PinLenRange:
            # python-pkcs11 does not give CK_TOKEN_INFO's ulMinPinLen/ulMaxPinLen: the token's
            # own answer is the only limit we learn, and the person hears it plainly.
            reason = "the new PIN is too short or too long for this token; the PIN is unchanged"
            raise InvalidInput("new PIN length", reason=reason) from None
        except (p11x.PinInvalid, p11x.PinTooWeak):
            reason = "the token does not accept the new PIN's characters; the PIN is unchanged"
            raise InvalidInput("new PIN refused", reason=reason) from None
        except _WRONG_PIN:
            raise _wrong_pin(self._fresh_state(token), info.label) from None
        except p11x.PKCS11Error as exc:
            raise translate(exc, "change PIN") from None
        finally:
            with contextlib.suppress(p11x.PKCS11Error):
                session.close()


def load_module(path: str | Path) -> Pkcs11Module:
    """Load a PKCS#11 library (Pkcs11ModuleError when missing or not a PKCS#11 module)."""
    return Pkcs11Module(path)


def reload_module(path: str | Path) -> bool:
    """Finalize a module so the next load initialises it again: drivers that enumerate their
    tokens only in C_Initialize (SoftHSM2, some vendors') then see one plugged in since.
    Refused (False) while a session of it is open, which finalizing would end."""
    with _LOCK:
        if _SESSIONS[str(path)] > 0:
            return False
        unload_module(path)
        return True


def unload_module(path: str | Path) -> None:
    """Finalize and forget a loaded library, so the next load starts afresh (tests, rescans)."""
    try:
        with _LOCK:
            p11.unload(str(path))
    except p11x.PKCS11Error as exc:
        log.info("unloading %s: %s", path, type(exc).__name__)


__all__ = [
    "GENERIC_STORAGE",
    "PinState",
    "Pkcs11Module",
    "Pkcs11Token",
    "TokenInfo",
    "TokenKey",
    "digest_info",
    "load_module",
    "reload_module",
    "translate",
    "unload_module",
]

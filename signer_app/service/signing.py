"""SigningService: the one entry point every front door uses (WebSocket API, window, CLI).

Flow of a request: check the input -> (one dialog at a time) ask the Prompter for a key,
retrying on a wrong password or a key the filters refuse -> show the request and ask for
approval -> sign with crypto/ in a worker thread -> result. No signature is made without
``Prompter.confirm`` returning True for a view that names the origin, the documents and the
key. A cancel anywhere raises ActionCanceled; a request whose task is cancelled (its socket
closed) cancels the dialog it waits on.

Timestamps (tsaProfile, createCMSSignatureFromBase64, applyCAdEST): the service is given a
``tsa`` (anything with ``stamp(imprint) -> token DER``, in practice tsa_client.HttpTsa). A CMS
asked for with ``timestamp=True`` is signed and then stamped (CAdES-T) in the same worker
thread, after the person approved; if the TSA cannot be reached or refuses, the request fails
with that error and no signature is returned (never a silent CAdES-BES). Without a ``tsa`` a
timestamped request is refused with NotAvailable before any dialog opens.

Per-origin permission (service/origins.py): with an ``origins`` policy, a request from a
blocked origin is refused with ActionCanceled before any dialog (checked again once the dialog
lock is held, so a request queued behind the one that blocked its site never prompts), with an
audit line. A person's "no, and always block this site" (a ``Refusal(block_origin=True)`` from
the Prompter) is recorded there. There is no "always allow".

Key status: the filters' reasons are codes (service/key_status.Reason) the prompters show in
the request's language. ``trusted`` is what ``signerParams.chain: null`` chains to (the trust
store's anchors). With a ``revocation`` checker, a key whose certificate its CA says is revoked
is refused like a filtered one unless the query allows revoked keys (``allowRevoked``, test
only); a CA that does not answer in time leaves the key selectable, with a warning in the
confirmation (soft-fail).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from cryptography import x509

from ..crypto import cms, xmldsig
from ..crypto.algorithms import DEFAULT_DIGEST
from ..crypto.errors import (
    CorruptKeyStore,
    EmptyKeyStore,
    FileIOError,
    FileNotFound,
    InvalidInput,
    KeyNotFound,
    PinFinalTry,
    PinLocked,
    Pkcs11ModuleError,
    QalamError,
    TokenError,
    TokenNotFound,
    TokenRemoved,
    UnsupportedAlgorithm,
    WrongPassword,
)
from ..crypto.identity import identity_of
from ..crypto.keystores import KeyEntry, SoftwareKey, open_pkcs12
from ..crypto.pkcs11 import Pkcs11Token
from .errors import ActionCanceled, NotAvailable, StorageEmpty, StorageUnknown, TooManyAttempts
from .file_signing import Cancelled, SignFormat, prepare
from .file_signing import Progress as FileProgress
from .filters import Candidate, KeyFilter, filters_for, refusals
from .key_status import Reason, RevocationChecker, TrustedCas, refusal_for
from .known_keys import KnownKeys
from .origins import OriginPolicy
from .prompter import (
    FILE_STORAGES,
    KNOWN_STORAGES,
    Action,
    DocumentView,
    FileRequest,
    KeyChoice,
    KeyRequest,
    KeyType,
    KeyView,
    Kind,
    Prompter,
    Refusal,
    RefusedKey,
    SignRequestView,
)
from .request_log import LoggedRequest, Outcome, RequestLog
from .tokens import TOKEN_STORAGES as DRIVER_STORAGES
from .tokens import TokenRegistry, environment_registry

T = TypeVar("T")

XadesLevel = Literal["bes", "t", "lt", "lta"]
XADES_LEVELS: tuple[XadesLevel, ...] = ("bes", "t", "lt", "lta")
# How the confirmation names each (the signature's own standard name, in every language).
XADES_NAMES: dict[XadesLevel, str] = {
    "bes": "XAdES-BES",
    "t": "XAdES-T",
    "lt": "XAdES-LT",
    "lta": "XAdES-LTA",
}

MAX_PASSWORD_ATTEMPTS = 3
MAX_KEY_CHOICES = 6

audit = logging.getLogger("qalam.audit")


@dataclass(frozen=True)
class KeyQuery:
    """Who asks and which keys may answer: storages (None = any), key type, filters."""

    origin: str | None
    storages: tuple[str, ...] | None = None
    key_type: KeyType = KeyType.ANY
    filters: tuple[KeyFilter, ...] | None = None
    locale: str = "kk"
    logo: str | None = None
    allow_revoked: bool = False

    def effective_filters(self) -> tuple[KeyFilter, ...]:
        """The filters given, or those implied by the key type alone."""
        return self.filters if self.filters is not None else filters_for(self.key_type)


@dataclass(frozen=True)
class SignResult:
    """Signatures in request order (DER CMS, raw signature bytes, or signed XML text)."""

    signatures: tuple[bytes, ...] = ()
    documents: tuple[str, ...] = ()
    certificate: x509.Certificate | None = field(default=None)


def check_storages(storages: Sequence[str] | None, active: Sequence[str] = ()) -> None:
    """StorageUnknown for a name NCALayer does not know, StorageEmpty when neither a file store
    nor a token storage in ``active`` (one with a token present) is allowed."""
    if storages is None:
        return
    for name in storages:
        if name not in KNOWN_STORAGES:
            raise StorageUnknown(name, name=name)
    if storages and not any(name in FILE_STORAGES or name in active for name in storages):
        raise StorageEmpty(storages[0], name=storages[0])


class Timestamper(Protocol):
    """A time-stamping authority: the token (DER) over a SHA-256 imprint."""

    def stamp(self, imprint: bytes) -> bytes:
        """The DER TimeStampToken over ``imprint``."""
        ...


def require_timestamp(tsa: Timestamper | None = None) -> Timestamper:
    """The TSA to use; NotAvailable (before any dialog) when none is configured."""
    if tsa is None:
        what = "timestamps (no timestamp service is configured); sign without tsaProfile"
        raise NotAvailable("tsp", what=what)
    return tsa


def is_attached_cms(data: bytes) -> bool:
    """True when ``data`` is a CMS SignedData with its content inside (then it is co-signed)."""
    if not data or data[0] != 0x30:
        return False
    try:
        return cms.verify(data).content is not None
    except (QalamError, ValueError, IndexError):
        return False


# The hash sizes some supported key signs by default; anything else is refused before a dialog
# opens, so nobody is asked to approve signing an empty or truncated hash.
_HASH_SIZES = frozenset(digest.size for digest in DEFAULT_DIGEST.values())


def _check_hash_sizes(hashes: Sequence[bytes]) -> None:
    for value in hashes:
        if len(value) not in _HASH_SIZES:
            sizes = " or ".join(str(size) for size in sorted(_HASH_SIZES))
            reason = f"a hash to sign has {sizes} bytes, not {len(value)}"
            raise InvalidInput(f"{len(value)}-byte hash", reason=reason)


_DESCRIBE_INLINE_LIMIT = 1 << 20
# A request this small, with a software RSA/EC key and no network in it, is signed on the event
# loop: the signature takes ~1.5 ms, the two thread wake-ups of a worker hop cost as much or
# more on a loaded machine (bench api_share), and heartbeats wait at most a few ms.
_SIGN_INLINE_BYTES = 64 << 10
_SIGN_INLINE_COUNT = 4


def _signs_quickly(documents: Sequence[bytes]) -> bool:
    return (
        len(documents) <= _SIGN_INLINE_COUNT
        and sum(len(d) for d in documents) <= _SIGN_INLINE_BYTES
    )


class SigningService:
    """Choose a key, ask the person, sign: for every front door alike."""

    def __init__(
        self,
        prompter: Prompter,
        *,
        max_password_attempts: int = MAX_PASSWORD_ATTEMPTS,
        max_key_choices: int = MAX_KEY_CHOICES,
        clock: Callable[[], datetime] | None = None,
        tsa: Timestamper | None = None,
        origins: OriginPolicy | None = None,
        tokens: TokenRegistry | None = None,
        trusted: TrustedCas | None = None,
        revocation: RevocationChecker | None = None,
    ) -> None:
        self.prompter = prompter
        self.trusted = trusted if trusted is not None else TrustedCas()
        self.revocation = revocation
        self.tokens = tokens if tokens is not None else environment_registry()
        # Tokens logged in during the request under way; closed (logged out) when it ends.
        self._stores: list[Pkcs11Token] = []
        self.tsa = tsa
        self.origins = origins
        self.max_password_attempts = max_password_attempts
        self.max_key_choices = max_key_choices
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dialog = asyncio.Lock()
        self.locale = "kk"

    # ------------------------------------------------------------------ origins

    def _check_origin(self, origin: str | None) -> None:
        """ActionCanceled, before any dialog, for a site the person blocked."""
        if self.origins is None or self.origins.decision(origin) != "deny":
            return
        audit.warning("origin=%s refused before any dialog: blocked in settings", origin)
        raise ActionCanceled("origin blocked")

    def _refused(self, origin: str | None, answer: object, stage: str) -> ActionCanceled:
        """The cancel for a "no"; records "always block this site" when the answer says so."""
        if isinstance(answer, Refusal) and answer.block_origin:
            if origin and self.origins is not None:
                self.origins.block(origin)
            elif origin:
                audit.warning("origin=%s: block asked, but no settings to keep it in", origin)
        return ActionCanceled(stage)

    # ------------------------------------------------------------------ key choice

    # ------------------------------------------------------------------ storages and tokens

    def active_tokens(self) -> list[str]:
        """The token storages with a token present now (getActiveTokens)."""
        return self.tokens.active_storages()

    def check_storages(self, storages: Sequence[str] | None) -> None:
        """check_storages, with the token storages that have a token present counted in."""
        if storages is None or any(name in FILE_STORAGES for name in storages):
            check_storages(storages)
            return
        asked = [name for name in storages if name in DRIVER_STORAGES]
        check_storages(storages, self.tokens.active_storages(asked) if asked else ())

    def _release(self) -> None:
        """Close every token session of the request that ends (logs out)."""
        while self._stores:
            self._stores.pop().close()

    async def _open(self, choice: KeyChoice) -> list[KeyEntry]:
        """The keys the choice allows: a file's key, or a token's keys (one if an alias)."""
        if choice.on_token:
            return await asyncio.to_thread(self._open_token, choice)
        store = await asyncio.to_thread(open_pkcs12, choice.path, choice.password)
        chosen = [e for e in store.entries() if choice.alias in (None, e.alias)][:1]
        if not chosen:
            raise KeyNotFound(choice.alias or "")
        if self.known_keys is not None:
            # Its certificate is public: remembered so the app can say whose the file is and
            # remind before it expires without asking for the password (service/known_keys.py).
            with contextlib.suppress(QalamError, OSError):
                self.known_keys.remember(choice.path, chosen[0].certificate, chosen[0].alias)
        return chosen

    def _open_token(self, choice: KeyChoice) -> list[KeyEntry]:
        store = self.tokens.open(choice.storage, choice.password, choice.token)
        self._stores.append(store)
        entries = list(store.entries())
        if choice.alias is not None:
            entries = [e for e in entries if e.alias == choice.alias]
            if not entries:
                raise KeyNotFound(choice.alias)
        if not entries:
            raise EmptyKeyStore(store.label)
        return entries

    async def _revocation_refusal(
        self, query: KeyQuery, entry: KeyEntry, warnings: list[str]
    ) -> Reason | None:
        """Refused when revoked; a warning (kept in ``warnings``) when the CA cannot say."""
        if self.revocation is None or query.allow_revoked:
            return None
        status = await self.revocation.status(entry.certificate, entry.chain)
        if status.status == "unknown":
            # The checker logs the reason once per question; each request carries the warning.
            warnings.append(Reason("warning.revocation_unknown"))
        return refusal_for(status)

    async def _choose(
        self, query: KeyQuery, action: Action, warnings: list[str] | None = None
    ) -> tuple[KeyEntry, KeyView]:
        filters = query.effective_filters()
        descriptions = tuple(f.description for f in filters)
        storages = query.storages or ("PKCS12",)
        problem: str | None = None
        wrong = 0
        for attempt in range(1, self.max_key_choices + 1):
            request = KeyRequest(
                query.origin,
                action,
                storages,
                query.key_type,
                descriptions,
                attempt,
                problem,
                query.locale,
            )
            choice = await self.prompter.choose_key(request)
            if choice is None or isinstance(choice, Refusal):
                raise self._refused(query.origin, choice, "cancelled at key choice")
            path = str(choice.path)
            try:
                entries = await self._open(choice)
            except PinLocked as error:
                # No further attempt: the dialog says the PIN is blocked and the request ends.
                await self.prompter.report_error(query.origin, error, query.locale)
                raise
            except WrongPassword as error:
                wrong += 1
                left = self.max_password_attempts - wrong
                if isinstance(error, PinFinalTry):
                    left = min(left, 1)
                await self.prompter.wrong_password(path, wrong, left)
                if left <= 0:
                    raise TooManyAttempts("wrong password") from None
                problem = error.message(query.locale)
                continue
            except (
                FileNotFound,
                FileIOError,
                CorruptKeyStore,
                EmptyKeyStore,
                KeyNotFound,
                UnsupportedAlgorithm,
                TokenRemoved,
                TokenNotFound,
                TokenError,
                Pkcs11ModuleError,
            ) as error:
                problem = error.message(query.locale)
                continue
            finally:
                del choice  # the password goes with it
            # A token holds several keys (AUTH and SIGN): the first the filters accept is used.
            now = self._clock()
            candidates = [Candidate.of(entry, now) for entry in entries]
            judged = [(c, refusals(filters, c)) for c in candidates]
            candidate, reasons = next(((c, r) for c, r in judged if not r), judged[0])
            entry = candidate.entry
            view = KeyView(path, entry.alias, candidate.identity)
            said: list[str] = []
            if not reasons:
                revoked = await self._revocation_refusal(query, entry, said)
                reasons = (revoked,) if revoked is not None else ()
            if reasons:
                await self.prompter.key_refused(RefusedKey(view, reasons, query.locale))
                problem = "; ".join(r.text(query.locale) for r in reasons)
                continue
            if warnings is not None:
                warnings.extend(said)
            return entry, view
        raise TooManyAttempts("no usable key chosen")

    async def _approved(
        self,
        query: KeyQuery,
        kind: Kind,
        documents: Sequence[bytes],
        sign: Callable[[KeyEntry], T],
        *,
        detached: bool = False,
        names: Sequence[str] | None = None,
        fits: Callable[[KeyEntry], None] | None = None,
        quick: bool = False,
        signature_format: str | None = None,
    ) -> tuple[T, KeyEntry]:
        """``_approved_unlogged``, recorded in the request log whatever the outcome."""
        try:
            result, entry = await self._approved_unlogged(
                query,
                kind,
                documents,
                sign,
                detached=detached,
                names=names,
                fits=fits,
                quick=quick,
                signature_format=signature_format,
            )
        except BaseException as error:
            await self._log_request(query.origin, kind, len(documents), None, error)
            raise
        await self._log_request(query.origin, kind, len(documents), entry, None)
        return result, entry

    async def _approved_unlogged(
        self,
        query: KeyQuery,
        kind: Kind,
        documents: Sequence[bytes],
        sign: Callable[[KeyEntry], T],
        *,
        detached: bool = False,
        names: Sequence[str] | None = None,
        fits: Callable[[KeyEntry], None] | None = None,
        quick: bool = False,
        signature_format: str | None = None,
    ) -> tuple[T, KeyEntry]:
        """The common flow: key -> confirm -> sign, under the one-dialog lock. ``fits`` raises
        when the chosen key cannot do what is asked (a hash of another size): the person hears
        why instead of being asked to approve a signature that cannot be made. ``quick``: the
        signing is small and touches no network, so a software key signs on the loop."""
        labels = list(names) if names is not None else [None] * len(documents)

        def describe() -> tuple[DocumentView, ...]:
            return tuple(
                DocumentView.of(d, kind, n) for d, n in zip(documents, labels, strict=True)
            )

        # Hashing 50 MiB takes ~35 ms; hashlib releases the GIL, so off the loop it costs the
        # heartbeats of other sockets nothing. Small requests skip the thread hop.
        large = sum(len(d) for d in documents) > _DESCRIBE_INLINE_LIMIT
        views = await asyncio.to_thread(describe) if large else describe()
        self._check_origin(query.origin)
        async with self._dialog:
            try:
                self._check_origin(query.origin)
                warnings: list[str] = []
                entry, key_view = await self._choose(query, "sign", warnings)
                if fits is not None:
                    try:
                        fits(entry)
                    except QalamError as error:
                        await self.prompter.report_error(query.origin, error, query.locale)
                        raise
                request = SignRequestView(
                    query.origin,
                    kind,
                    views,
                    key_view,
                    detached,
                    query.locale,
                    query.logo,
                    tuple(warnings),
                    signature_format,
                )
                decision = await self.prompter.confirm(request)
                if decision is not True:
                    raise self._refused(query.origin, decision, "not approved")
                try:
                    if quick and isinstance(entry.key, SoftwareKey):
                        return sign(entry), entry
                    return await asyncio.to_thread(sign, entry), entry
                except QalamError as error:
                    await self.prompter.report_error(query.origin, error, query.locale)
                    raise
            finally:
                # One token session per request: every signature of it, then log out.
                self._release()

    # ------------------------------------------------------------------ entry points

    async def get_key_info(self, query: KeyQuery) -> KeyEntry:
        """The key the person picks (getKeyInfo): the page learns its certificate, nothing is
        signed, so there is no second confirmation: picking the key is the consent."""
        self.check_storages(query.storages)
        try:
            self._check_origin(query.origin)
            async with self._dialog:
                try:
                    self._check_origin(query.origin)
                    entry, _ = await self._choose(query, "key_info")
                finally:
                    self._release()
        except BaseException as error:
            await self._log_request(query.origin, "key_info", 0, None, error)
            raise
        await self._log_request(query.origin, "key_info", 0, entry, None)
        return entry

    async def sign_cms(
        self,
        query: KeyQuery,
        documents: Sequence[bytes],
        *,
        detached: bool = False,
        digested: bool = False,
        cosign_cms: bool = False,
        names: Sequence[str] | None = None,
        timestamp: bool = False,
    ) -> SignResult:
        """One DER CMS per document. ``digested``: documents are hashes (always detached).
        ``cosign_cms``: a document that is an attached CMS gets one more signer instead.
        ``names``: the local files the documents came from, shown in the dialog.
        ``timestamp``: CAdES-T, every signer stamped by the service's TSA (all or nothing)."""
        self.check_storages(query.storages)
        if not documents:
            raise InvalidInput("no documents", reason="nothing to sign")
        tsa = require_timestamp(self.tsa) if timestamp else None
        if digested:
            _check_hash_sizes(documents)
        cosign = [cosign_cms and not digested and is_attached_cms(d) for d in documents]

        def sign(entry: KeyEntry) -> list[bytes]:
            out = []
            for data, existing in zip(documents, cosign, strict=True):
                if digested:
                    out.append(cms.sign_digest(data, entry))
                elif existing:
                    out.append(cms.cosign(data, entry))
                else:
                    out.append(cms.sign(data, entry, detached=detached))
            if tsa is not None:
                out = [cms.add_signature_timestamp(der, tsa.stamp) for der in out]
            return out

        def hashes_fit(entry: KeyEntry) -> None:
            size = DEFAULT_DIGEST[entry.key.algorithm].size
            for value in documents:
                if len(value) != size:
                    reason = f"this key signs {size}-byte hashes, not {len(value)} bytes"
                    raise InvalidInput(f"{len(value)}-byte hash", reason=reason)

        kind: Kind = "hash" if digested else "cms"
        signatures, entry = await self._approved(
            query,
            kind,
            documents,
            sign,
            detached=detached or digested,
            names=names,
            fits=hashes_fit if digested else None,
            quick=tsa is None and _signs_quickly(documents),
        )
        return SignResult(signatures=tuple(signatures), certificate=entry.certificate)

    async def timestamp_cms(self, cms_der: bytes, origin: str | None = None) -> bytes:
        """applyCAdEST: the CMS with a signature timestamp on every signer lacking one.

        No key and no dialog: nothing is signed in anyone's name; only the SHA-256 of each
        signature value goes to the TSA. The CMS is parsed before the TSA is asked.
        """
        self._check_origin(origin)
        tsa = require_timestamp(self.tsa)
        cms.load(cms_der)
        return await asyncio.to_thread(cms.add_signature_timestamp, cms_der, tsa.stamp)

    async def sign_raw(
        self, query: KeyQuery, documents: Sequence[bytes], *, digested: bool = False
    ) -> SignResult:
        """Bare signature values (basics format "raw"): PKCS#1 v1.5 for RSA, DER ECDSA for EC."""
        self.check_storages(query.storages)
        if not documents:
            raise InvalidInput("no documents", reason="nothing to sign")

        def sign(entry: KeyEntry) -> list[bytes]:
            digest = DEFAULT_DIGEST[entry.key.algorithm]
            if not digested:
                return [entry.key.sign(d, digest) for d in documents]
            for d in documents:
                if len(d) != digest.size:
                    reason = f"a {digest.hashlib_name.upper()} hash has {digest.size} bytes"
                    raise InvalidInput(f"{len(d)}-byte hash", reason=reason)
            return [entry.key.sign_digest(d, digest) for d in documents]

        signatures, entry = await self._approved(
            query, "hash" if digested else "raw", documents, sign, quick=_signs_quickly(documents)
        )
        return SignResult(signatures=tuple(signatures), certificate=entry.certificate)

    async def sign_xml(
        self,
        query: KeyQuery,
        xmls: Sequence[str],
        *,
        tbs_xpath: str = "",
        parent_xpath: str = "",
        layout: xmldsig.Layout = "ncalayer",
        xades: XadesLevel | None = None,
    ) -> SignResult:
        """One enveloped XML signature per document, laid out as NCALayer does (crypto/xmldsig;
        ``layout`` "compact" for basics.sign). Every document is parsed before the dialog: a
        malformed one costs no prompt. ``xades`` (basics.sign's Qalam-only option) makes each
        a XAdES-BES, -T, -LT or -LTA instead (crypto/xades, xades_lt; compact; the service's TSA,
        and for LT/LTA the trusted CAs' paths and revocation data fetched after approval)."""
        self.check_storages(query.storages)
        if not xmls:
            raise InvalidInput("no documents", reason="nothing to sign")
        if xades is not None and xades not in XADES_LEVELS:
            raise InvalidInput(str(xades), reason="the XAdES level is bes, t, lt or lta")
        tsa = require_timestamp(self.tsa) if xades in ("t", "lt", "lta") else None
        for xml in xmls:
            xmldsig.parse(xml)

        def sign(entry: KeyEntry) -> list[str]:
            if xades is None:
                return xmldsig.sign_xmls(
                    list(xmls), entry, tbs_xpath=tbs_xpath, parent_xpath=parent_xpath, layout=layout
                )
            return [self._sign_xades(xml, entry, xades, tsa, tbs_xpath) for xml in xmls]

        encoded = [x.encode("utf-8", "replace") for x in xmls]
        documents, entry = await self._approved(
            query,
            "xml",
            encoded,
            sign,
            quick=tsa is None and _signs_quickly(encoded),
            signature_format=XADES_NAMES[xades] if xades is not None else None,
        )
        return SignResult(documents=tuple(documents), certificate=entry.certificate)

    def _sign_xades(
        self,
        xml: str,
        entry: KeyEntry,
        level: XadesLevel,
        tsa: Timestamper | None,
        tbs_xpath: str,
    ) -> str:
        """One XAdES signature (in a worker thread: LT/LTA ask the network)."""
        from ..crypto import xades, xades_lt

        if level in ("bes", "t"):
            stamp = tsa.stamp if tsa is not None else None
            return xades.sign_xades(xml, entry, level=level, stamp=stamp, tbs_xpath=tbs_xpath)
        if tsa is None:  # not reached: require_timestamp refused before the dialog
            raise NotAvailable("tsp", what="timestamps (no timestamp service is configured)")
        from ..crypto.revocation import RevocationCache
        from ..crypto.validation import Fetching
        from .http_fetch import HttpTransport

        cas = self.trusted.current()
        checker = self.revocation
        transport = checker.transport if checker is not None else None
        rewrites = dict(checker.rewrites) if checker is not None else {}
        # A fresh cache: what is embedded is what the fetchers fetch for this signature.
        fetching = Fetching(transport or HttpTransport(timeout=10.0), RevocationCache(), rewrites)
        return xades_lt.sign_xades_long_term(
            xml,
            entry,
            level="lt" if level == "lt" else "lta",
            stamp=tsa.stamp,
            anchors=cas.anchors,
            intermediates=cas.intermediates,
            fetching=fetching,
            tbs_xpath=tbs_xpath,
        )

    # ------------------------------------------------------------------ request log

    # The Sites page's log; None keeps no log (the CLI, most tests).
    request_log: RequestLog | None = None
    known_keys: KnownKeys | None = None

    async def _log_request(
        self,
        origin: str | None,
        kind: str,
        count: int,
        entry: KeyEntry | None,
        error: BaseException | None,
    ) -> None:
        """Record one request's outcome; a log that cannot be written never fails a request."""
        if self.request_log is None:
            return
        outcome: Outcome = "done"
        code = None
        if isinstance(error, ActionCanceled | asyncio.CancelledError):
            blocked = self.origins is not None and self.origins.decision(origin) == "deny"
            outcome = "blocked" if blocked and entry is None else "refused"
        elif isinstance(error, QalamError):
            outcome, code = "failed", error.code
        elif error is not None:
            outcome, code = "failed", "internal"
        owner = None
        if entry is not None:
            owner = identity_of(entry.certificate).common_name
        item = LoggedRequest(self._clock(), origin, kind, count, owner, outcome, code)
        try:
            await asyncio.to_thread(self.request_log.record, item)
        except (OSError, QalamError) as exc:
            audit.warning("request log not written: %s", exc)

    # ------------------------------------------------------------------ local files

    async def sign_file(
        self,
        query: KeyQuery,
        path: Path,
        out: Path,
        *,
        fmt: SignFormat = "cms",
        detached: bool = False,
        timestamp: bool = False,
        overwrite: bool = False,
        progress: FileProgress | None = None,
        cancel: Cancelled | None = None,
    ) -> Path:
        """Sign a local file into ``out`` (the Sign page): the same key choice and confirmation
        as every request (``query.origin`` None: this computer's user); ``timestamp`` makes a
        CAdES-T, or for XML a XAdES-T. A detached CMS streams
        in constant memory; ``progress(done, total)`` is called from a worker thread; ``cancel``
        (or cancelling the task) stops at the next chunk. A cancelled or failed job leaves no
        output file (service/file_signing.py); ``out`` is replaced only with ``overwrite``."""
        self.check_storages(query.storages)
        tsa = require_timestamp(self.tsa) if timestamp else None
        job = await asyncio.to_thread(prepare, Path(path), Path(out), fmt, detached, overwrite)
        stamp = tsa.stamp if tsa is not None else None

        def work(entry: KeyEntry, stop: Cancelled) -> Path:
            return job.run(entry, stamp, progress, stop)

        return await self.sign_local(
            query,
            job.kind,
            job.view,
            work,
            detached=job.detached,
            cancel=cancel,
            signature_format="XAdES-T" if fmt == "xml" and tsa is not None else None,
        )

    async def sign_local(
        self,
        query: KeyQuery,
        kind: Kind,
        view: DocumentView,
        work: Callable[[KeyEntry, Cancelled], Path],
        *,
        detached: bool = False,
        fits: Callable[[KeyEntry], None] | None = None,
        cancel: Cancelled | None = None,
        signature_format: str | None = None,
    ) -> Path:
        """Sign one local file described by ``view`` (the Sign page: CMS and XML through
        ``sign_file``, PDF through service/pdf_local.py): key choice, ``fits`` (refuses a key
        that cannot do it, before the confirmation), confirmation, then ``work(entry, stop)``
        in a worker thread. ``work`` must leave no output once ``stop()`` is true; cancelling
        the task sets it and waits for the worker, so nothing appears after a cancel. Errors
        are raised, not reported through the prompter: the page that asked shows them (in its
        error box), so the person does not read the same sentence twice."""
        self.check_storages(query.storages)
        stopped = threading.Event()

        def stop() -> bool:
            return stopped.is_set() or (cancel is not None and cancel())

        entry: KeyEntry | None = None
        try:
            self._check_origin(query.origin)
            async with self._dialog:
                try:
                    self._check_origin(query.origin)
                    warnings: list[str] = []
                    entry, key_view = await self._choose(query, "sign", warnings)
                    if fits is not None:
                        fits(entry)
                    request = SignRequestView(
                        query.origin,
                        kind,
                        (view,),
                        key_view,
                        detached,
                        query.locale,
                        warnings=tuple(warnings),
                        signature_format=signature_format,
                    )
                    decision = await self.prompter.confirm(request)
                    if decision is not True:
                        raise self._refused(query.origin, decision, "not approved")
                    chosen = entry
                    done = asyncio.ensure_future(asyncio.to_thread(work, chosen, stop))
                    try:
                        written = await asyncio.shield(done)
                    except asyncio.CancelledError:
                        stopped.set()  # the worker removes its temporary file, then ends
                        await asyncio.wait([done])
                        if not done.cancelled():
                            done.exception()  # its ActionCanceled: seen, not logged as lost
                        raise
                finally:
                    self._release()  # a token session ends with its request
        except BaseException as error:
            await self._log_request(query.origin, kind, 1, entry, error)
            raise
        await self._log_request(query.origin, kind, 1, entry, None)
        return written

    async def choose_file(self, origin: str | None, extension: str, directory: str) -> Path:
        """showFileChooser: the path the person picks (ActionCanceled if they do not)."""
        self._check_origin(origin)
        async with self._dialog:
            self._check_origin(origin)
            chosen = await self.prompter.choose_file(
                FileRequest(origin, extension, directory, self.locale)
            )
        if chosen is None or isinstance(chosen, Refusal):
            raise self._refused(origin, chosen, "no file chosen")
        return chosen


__all__ = [
    "MAX_KEY_CHOICES",
    "MAX_PASSWORD_ATTEMPTS",
    "KeyQuery",
    "SignResult",
    "SigningService",
    "Timestamper",
    "check_storages",
    "is_attached_cms",
    "require_timestamp",
]

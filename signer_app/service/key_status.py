"""Why a key can or cannot answer a request: reasons as codes, trusted CAs, revocation status.

* ``Reason``: a filter's description or refusal as a stable code with parameters. Its ``str``
  value is the English sentence (so logs and older callers read it unchanged); ``text(locale)``
  gives it in kk/ru/en from the one table ``REASONS``. Front doors (the Qt key chooser, the
  terminal) show ``localized(reason, locale)``.
* ``TrustedCas``: the trust store's anchors and intermediates for ``signerParams.chain`` null,
  read again only when the store's file changes (a request must not parse PEM files).
* ``RevocationChecker``: the chosen key's certificate asked about at the CA that issued it
  (OCSP, then CRL: crypto/validation.certificate_status), soft-fail, with a short deadline and a
  cache of answers, so a CA that is down costs one short wait, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import string
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .trust_store import DEMO_CHAIN, DEMO_ROOTS, TrustStore, read_certificates

if TYPE_CHECKING:
    # Path validation (pyhanko-certvalidator) takes most of a second to import: loaded when
    # the first revocation question is asked, not when the API starts.
    from ..crypto.revocation import RevocationStatus, Transport
    from ..crypto.validation import Fetching

log = logging.getLogger("qalam.keys")

# code -> (en, ru, kk). Descriptions say what a key must be ("Keys must: ..."); refusals say
# what is wrong with the chosen one; warnings do not grey a key out.
REASONS: dict[str, tuple[str, str, str]] = {
    "filter.purpose": (
        "be a {purpose} key",
        "быть ключом {purpose}",
        "{purpose} кілті болуы керек",
    ),
    "filter.eku": (
        "carry the usages {oids}",
        "иметь назначения {oids}",
        "{oids} мақсаттары болуы керек",
    ),
    "filter.iin": (
        "belong to IIN {iin}",
        "принадлежать ИИН {iin}",
        "ЖСН {iin} иесіне тиесілі болуы керек",
    ),
    "filter.bin": (
        "belong to BIN {bin}",
        "принадлежать БИН {bin}",
        "БСН {bin} ұйымына тиесілі болуы керек",
    ),
    "filter.serial": (
        "have serial number {serial}",
        "иметь серийный номер {serial}",
        "сериялық нөмірі {serial} болуы керек",
    ),
    "filter.valid": (
        "be valid now",
        "быть действительным сейчас",
        "қазір жарамды болуы керек",
    ),
    "filter.chain": (
        "chain to {names}",
        "быть выпущенным от {names}",
        "{names} берген болуы керек",
    ),
    "filter.trusted": (
        "chain to a trusted CA",
        "быть выпущенным доверенным УЦ",
        "сенімді КО берген болуы керек",
    ),
    "filter.not_revoked": (
        "not be revoked",
        "не быть отозванным",
        "кері қайтарылмаған болуы керек",
    ),
    "refused.purpose": (
        "this is a {actual} key, the request needs a {wanted} key",
        "это ключ {actual}, а запросу нужен ключ {wanted}",
        "бұл {actual} кілті, ал сұрауға {wanted} кілті керек",
    ),
    "refused.eku": (
        "the certificate lacks the usage(s) {oids}",
        "в сертификате нет назначения {oids}",
        "сертификатта {oids} мақсаты жоқ",
    ),
    "refused.iin": (
        "the key belongs to IIN {actual}, not {wanted}",
        "ключ принадлежит ИИН {actual}, а не {wanted}",
        "кілт ЖСН {actual} иесіне тиесілі, {wanted} емес",
    ),
    "refused.bin": (
        "the key belongs to BIN {actual}, not {wanted}",
        "ключ принадлежит БИН {actual}, а не {wanted}",
        "кілт БСН {actual} ұйымына тиесілі, {wanted} емес",
    ),
    "refused.serial": (
        "the certificate's serial number is {actual}",
        "серийный номер сертификата {actual}",
        "сертификаттың сериялық нөмірі {actual}",
    ),
    "refused.expired": (
        "the certificate expired on {date}",
        "срок действия сертификата истёк {date}",
        "сертификаттың мерзімі {date} аяқталды",
    ),
    "refused.not_yet_valid": (
        "the certificate is not valid before {date}",
        "сертификат действует только с {date}",
        "сертификат {date} бастап қана жарамды",
    ),
    "refused.chain": (
        "the certificate does not chain to a CA the site accepts",
        "сертификат выпущен не тем УЦ, который принимает сайт",
        "сертификатты сайт қабылдайтын КО бермеген",
    ),
    "refused.untrusted": (
        "the certificate does not chain to a trusted CA (add its root under trust anchors)",
        "сертификат выпущен недоверенным УЦ (добавьте его корневой сертификат в доверенные)",
        "сертификатты сенімсіз КО берген (оның түбірлік сертификатын сенімділерге қосыңыз)",
    ),
    "refused.revoked": (
        "the certificate was revoked on {date}",
        "сертификат отозван {date}",
        "сертификат {date} кері қайтарылған",
    ),
    "warning.revocation_unknown": (
        "whether the certificate is revoked could not be checked (its CA did not answer)",
        "не удалось проверить, не отозван ли сертификат (его УЦ не ответил)",
        "сертификаттың кері қайтарылмағанын тексеру мүмкін болмады (оның КО жауап бермеді)",
    ),
}

LANGUAGES = ("en", "ru", "kk")


def placeholders(template: str) -> frozenset[str]:
    """The ``{names}`` a template fills in."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


class Reason(str):
    """A reason with a code and parameters; the ``str`` is its English sentence."""

    code: str
    params: Mapping[str, str]

    def __new__(cls, code: str, **params: str) -> Reason:
        """The reason ``code`` (a key of REASONS) with ``params`` filled in."""
        english = REASONS[code][0].format(**params)
        made = super().__new__(cls, english)
        made.code = code
        made.params = dict(params)
        return made

    def text(self, locale: str) -> str:
        """The sentence in ``locale`` (kk, ru or en; Kazakh when unknown, as NCALayer)."""
        index = LANGUAGES.index(locale) if locale in LANGUAGES else LANGUAGES.index("kk")
        return REASONS[self.code][index].format(**self.params)


def localized(reason: str, locale: str) -> str:
    """A reason in ``locale`` when it is a ``Reason``, else the text as it is."""
    return reason.text(locale) if isinstance(reason, Reason) else reason


# -- trusted CAs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaSet:
    """Anchors to chain to, and intermediates that help build the path."""

    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()


def _demo_set() -> CaSet:
    anchors = read_certificates(DEMO_ROOTS.read_bytes(), str(DEMO_ROOTS))
    chain = read_certificates(DEMO_CHAIN.read_bytes(), str(DEMO_CHAIN))
    return CaSet(tuple(anchors), tuple(c for c in chain if c.issuer != c.subject))


class TrustedCas:
    """The CAs ``chain: null`` means: a trust store's, or the demo roots without one."""

    def __init__(self, store: TrustStore | None = None) -> None:
        self.store = store
        self._stamp: tuple[int, int] | None = None
        self._current: CaSet | None = None

    def _file_stamp(self) -> tuple[int, int]:
        if self.store is None:
            return (0, 0)
        try:
            info = self.store.path.stat()
        except FileNotFoundError:
            return (-1, -1)
        return (info.st_mtime_ns, info.st_size)

    def current(self) -> CaSet:
        """The anchors and intermediates in force now (InvalidInput if the store is damaged)."""
        stamp = self._file_stamp()
        if self._current is not None and stamp == self._stamp:
            return self._current
        if self.store is None:
            found = _demo_set()
        else:
            found = CaSet(tuple(self.store.certificates()), tuple(self.store.intermediates()))
        self._current, self._stamp = found, stamp
        return found


# -- revocation -------------------------------------------------------------------------------

DEFAULT_TIMEOUT = 2.0
# An unanswered question is asked again after this long: a CA that is down costs one wait.
UNKNOWN_TTL = timedelta(minutes=2)
GOOD_TTL = timedelta(minutes=5)


class RevocationChecker:
    """Is a certificate revoked? Asked at its CA, soft-fail, with a deadline and a cache."""

    def __init__(
        self,
        cas: TrustedCas,
        transport: Transport | None = None,
        *,
        deadline: float = DEFAULT_TIMEOUT,
        rewrites: Mapping[str, str] | None = None,
    ) -> None:
        self.cas = cas
        self.deadline = deadline
        self.transport = transport
        self.rewrites = dict(rewrites or {})
        # Its own threads: questions hung on a dead CA never hold up the signing threads.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qalam-revocation")
        self._fetching: Fetching | None = None
        self._answers: dict[bytes, tuple[float, RevocationStatus]] = {}

    def _fetching_now(self) -> Fetching:
        if self._fetching is None:
            from ..crypto.revocation import RevocationCache
            from ..crypto.validation import Fetching
            from .http_fetch import HttpTransport

            transport = self.transport or HttpTransport(timeout=self.deadline)
            self._fetching = Fetching(transport, RevocationCache(), self.rewrites)
        return self._fetching

    def _ask(
        self, certificate: x509.Certificate, extra: Sequence[x509.Certificate]
    ) -> RevocationStatus:
        from ..crypto.validation import certificate_status

        cas = self.cas.current()
        # The key file's own chain helps build the path, but never becomes an anchor.
        return certificate_status(
            certificate,
            anchors=cas.anchors,
            intermediates=[*cas.intermediates, *extra],
            fetching=self._fetching_now(),
            now=datetime.now(UTC),
        )

    async def status(
        self, certificate: x509.Certificate, extra: Sequence[x509.Certificate] = ()
    ) -> RevocationStatus:
        """good / revoked / unknown (with the reason); never waits much over ``deadline``."""
        key = certificate.fingerprint(hashes.SHA256())
        cached = self._answers.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            asked = asyncio.get_running_loop().run_in_executor(
                self._pool, self._ask, certificate, tuple(extra)
            )
            found = await asyncio.wait_for(asked, self.deadline)
        except TimeoutError:
            from ..crypto.revocation import RevocationStatus

            found = RevocationStatus("unknown", "none", detail="the CA did not answer in time")
        ttl = UNKNOWN_TTL if found.status == "unknown" else GOOD_TTL
        if found.status != "revoked":
            # A revocation is final; a good or unknown answer is asked again later.
            self._answers[key] = (time.monotonic() + ttl.total_seconds(), found)
        else:
            self._answers[key] = (float("inf"), found)
        if found.status == "unknown":
            log.warning(
                "revocation unknown for serial %x: %s", certificate.serial_number, found.detail
            )
        return found


def refusal_for(status: RevocationStatus) -> Reason | None:
    """The refusal a revoked certificate gets (None otherwise)."""
    if status.status != "revoked":
        return None
    when = status.revoked_at.date().isoformat() if status.revoked_at else "?"
    return Reason("refused.revoked", date=when)


__all__ = [
    "REASONS",
    "CaSet",
    "Reason",
    "RevocationChecker",
    "TrustedCas",
    "localized",
    "placeholders",
    "refusal_for",
]

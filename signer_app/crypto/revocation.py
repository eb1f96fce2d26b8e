"""Revocation data for path validation: OCSP first, CRL as the fallback, with a shared cache.

The pieces pyhanko-certvalidator asks for (its ``OCSPFetcher``, ``CRLFetcher`` and
``CertificateFetcher``) are implemented here over a ``Transport`` given by the caller, so this
module opens no socket itself (ARCHITECTURE rule 1: service/http_fetch.py is the real one,
tests pass a fake). The validator checks what comes back: the OCSP response's signature, that
its responder is the issuer or a delegated responder the issuer certified (OCSPSigning EKU),
freshness against thisUpdate/nextUpdate; the CRL's signature, issuer, scope and nextUpdate.

What this module adds on top:

* **OCSP**: the request names the certificate by a SHA-256 CertID (as NCA does) and carries a
  random nonce; an answer whose nonce is missing or different is refused (a replayed answer),
  as is an answer that is not ``successful``.
* **Cache**: one ``RevocationCache`` may be shared by many validations: OCSP answers and CRLs
  are kept until their nextUpdate (an OCSP answer without one for ``ocsp_max_age``), issuer
  certificates from AIA caIssuers for a day. A cached OCSP answer is reused without a new nonce:
  its signature and freshness are still checked by the validator every time, unless
  validation.py holds the status it already drew from that very answer (see there). Every table
  is a bounded LRU (``CACHE_LIMIT`` entries) and ``clear()`` forgets all of them.
* **URL rewrites**: a prefix map applied to every URL taken from a certificate, for a CA that
  runs somewhere other than where its certificates say (the bundled CA on another port, tests).
* **Offline**: ``check_revocation`` answers ``unknown`` with the reason when nothing could be
  fetched; it never turns "could not ask" into "good".
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.common_utils import (
    format_ocsp_request,
    gather_aia_issuer_urls,
    process_ocsp_response_data,
    unpack_cert_content,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.revinfo.validate_crl import verify_crl
from pyhanko_certvalidator.revinfo.validate_ocsp import verify_ocsp_response
from pyhanko_certvalidator.util import get_ocsp_urls, get_relevant_crl_dps

from .errors import InvalidInput

OCSP_REQUEST_TYPE = "application/ocsp-request"
DEFAULT_OCSP_MAX_AGE = timedelta(minutes=5)
ISSUER_CERT_MAX_AGE = timedelta(days=1)


class FetchFailed(Exception):
    """A transport could not get an answer (refused, timed out, HTTP error, too large)."""


class Transport(Protocol):
    """How revocation data travels: the caller's HTTP client (service/http_fetch.py)."""

    def get(self, url: str) -> tuple[bytes, str]:
        """The body and Content-Type at ``url``; FetchFailed when there is none."""
        ...

    def post(self, url: str, body: bytes, content_type: str) -> tuple[bytes, str]:
        """POST ``body``; the answer's body and Content-Type; FetchFailed when there is none."""
        ...


def rewrite_url(url: str, rewrites: Mapping[str, str]) -> str:
    """``url`` with its longest matching prefix replaced by the mapped one."""
    for prefix in sorted(rewrites, key=len, reverse=True):
        if url.startswith(prefix):
            return rewrites[prefix] + url[len(prefix) :]
    return url


def parse_rewrites(pairs: Iterable[str]) -> dict[str, str]:
    """``FROM=TO`` strings (the command line's form) as a rewrite map."""
    out: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.startswith(("http://", "https://")) or not target:
            reason = f"{pair!r} is not FROM=TO with two http(s) URL prefixes"
            raise InvalidInput(pair, reason=reason)
        if not target.startswith(("http://", "https://")):
            reason = f"{target!r} is not an http(s) URL prefix"
            raise InvalidInput(pair, reason=reason)
        out[source] = target
    return out


# -- the cache --------------------------------------------------------------------------------


class ExpiringLru:
    """A bounded map whose entries also expire at a time of their own: the least recently used
    entry goes first when full, an expired one is dropped when met. Not thread-safe by itself:
    RevocationCache guards every table with its lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Any, tuple[datetime, Any]] = OrderedDict()
        # Counts every change of what the table offers (put, expiry met, eviction, clear): equal
        # counts mean the same entries, so what was derived from them may be reused unchecked.
        self.changes = 0

    def get(self, key: Any, now: datetime) -> Any:
        """The value under ``key`` if present and not expired at ``now``, else None."""
        found = self._items.get(key)
        if found is None:
            return None
        if found[0] <= now:
            del self._items[key]
            self.changes += 1
            return None
        self._items.move_to_end(key)
        return found[1]

    def entry(self, key: Any, now: datetime) -> tuple[datetime, Any] | None:
        """(expiry, value) under ``key`` if present and not expired at ``now`` (as ``get``)."""
        value = self.get(key, now)
        return (self._items[key][0], value) if value is not None else None

    def put(self, key: Any, until: datetime, value: Any) -> None:
        """Keep ``value`` until ``until``, evicting the least recently used beyond the limit."""
        self._items[key] = (until, value)
        self._items.move_to_end(key)
        self.changes += 1
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def live(self, now: datetime) -> list[tuple[datetime, Any]]:
        """(expiry, value) of every entry not expired at ``now``."""
        return [(until, value) for until, value in self._items.values() if until > now]

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()
        self.changes += 1

    def __len__(self) -> int:
        return len(self._items)


# Bounds: a desktop validates a few signers from a handful of CAs; these keep memory small even
# for a server validating many (each entry is a parsed response, CRL, path or status).
CACHE_LIMIT = 1024


@dataclass
class RevocationCache:
    """What validations share: fetched OCSP answers, CRLs and issuer certificates, kept while
    usable, plus what validation.py derived from them (validated paths, revocation statuses).

    Thread-safe; share one per process (the desktop app) or per benchmark. Every table is an
    ``ExpiringLru`` bounded by ``limit``.
    """

    ocsp_max_age: timedelta = DEFAULT_OCSP_MAX_AGE
    limit: int = CACHE_LIMIT
    # What "now" is for expiry (tests move it on; the validator's own freshness checks use the
    # real time).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _ocsp: ExpiringLru = field(init=False)
    _crls: ExpiringLru = field(init=False)
    _certs: ExpiringLru = field(init=False)
    # validation.py's: validated certification paths and revocation statuses (see there).
    paths: ExpiringLru = field(init=False)
    statuses: ExpiringLru = field(init=False)
    # validation.py's statuses of a whole path, stamped with evidence_generation() (see there).
    chains: ExpiringLru = field(init=False)
    # id(evidence) -> (evidence, SHA-256 of its bytes); holding the object keeps its id unique.
    _digests: ExpiringLru = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # fetched_fingerprints' answer: (the certificates table's changes, valid until, answer)
    _fingerprints: tuple[int, datetime, frozenset[bytes]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        for name in ("_ocsp", "_crls", "_certs", "paths", "statuses", "chains", "_digests"):
            setattr(self, name, ExpiringLru(self.limit))

    def _get(self, table: ExpiringLru, key: Any) -> Any:
        with self._lock:
            return table.get(key, self.clock())

    def evidence_generation(self) -> tuple[int, int]:
        """Where the OCSP and CRL tables stand: unchanged while no answer or CRL is added,
        expires (as met by a lookup), is evicted or cleared."""
        with self._lock:
            return self._ocsp.changes, self._crls.changes

    def _get_current(self, table: ExpiringLru, key: Any) -> Any:
        """A value kept as (evidence_generation(), value) under ``key``, if not expired and the
        evidence tables have not changed since: one lock, one clock read, one lookup."""
        with self._lock:
            found = table.get(key, self.clock())
            if found is None or found[0] != (self._ocsp.changes, self._crls.changes):
                return None
            return found[1]

    def _entry(self, table: ExpiringLru, key: Any) -> tuple[datetime, Any] | None:
        with self._lock:
            return table.entry(key, self.clock())

    def _put(self, table: ExpiringLru, key: Any, until: datetime, v: Any) -> None:
        if until > self.clock():
            with self._lock:
                table.put(key, until, v)

    def _keep_evidence(
        self, table: ExpiringLru, key: Any, until: datetime, evidence: Any, raw: bytes
    ) -> None:
        """Cache an OCSP answer or CRL with the SHA-256 of the bytes it was read from (a parsed
        asn1crypto object re-encodes itself on dump(): slow, and not necessarily those bytes)."""
        self._put(table, key, until, evidence)
        self._put(self._digests, id(evidence), until, (evidence, hashlib.sha256(raw).digest()))

    def digest_of(self, evidence: Any) -> bytes:
        """The SHA-256 of the bytes a cached OCSP answer or CRL was read from."""
        kept = self._get(self._digests, id(evidence))
        if kept is not None and kept[0] is evidence:
            return kept[1]  # type: ignore[no-any-return]
        return hashlib.sha256(evidence.dump()).digest()

    def fetched_fingerprints(self) -> frozenset[bytes]:
        """SHA-256 fingerprints of the AIA certificates the cache holds now (made again only
        when that table has changed or one of its entries has expired since)."""
        with self._lock:
            now = self.clock()
            table = self._certs
            memo = self._fingerprints
            if memo is not None and memo[0] == table.changes and now < memo[1]:
                return memo[2]
            live = table.live(now)
            soonest = min((until for until, _ in live), default=now)
            found = frozenset(cert.sha256 for _, certs in live for cert in certs)
            self._fingerprints = (table.changes, soonest, found)
            return found

    def clear(self) -> None:
        """Forget everything (after a revocation one wants to see at once)."""
        with self._lock:
            tables = (self._ocsp, self._crls, self._certs, self.paths, self.statuses, self.chains)
            for table in (*tables, self._digests):
                table.clear()


def _ocsp_until(response: asn1_ocsp.OCSPResponse, max_age: timedelta) -> datetime:
    single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
    next_update = single["next_update"].native
    this_update: datetime = single["this_update"].native
    limit = this_update + max_age
    return min(next_update, limit) if next_update is not None else limit


def _crl_until(certificate_list: asn1_crl.CertificateList) -> datetime:
    next_update = certificate_list["tbs_cert_list"]["next_update"].native
    if next_update is None:
        return datetime.now(UTC)  # no promise of a next one: do not keep it
    when: datetime = next_update
    return when


# -- certvalidator's fetchers over a Transport ------------------------------------------------


def _serial_of(cert: asn1_x509.Certificate | asn1_cms.AttributeCertificateV2) -> int:
    if isinstance(cert, asn1_x509.Certificate):
        return int(cert.serial_number)
    return int(cert["ac_info"]["serial_number"].native)


class _OcspFetcher(OCSPFetcher):
    def __init__(self, owner: RevocationFetchers) -> None:
        self._owner = owner
        self._fetched: dict[int, list[asn1_ocsp.OCSPResponse]] = {}

    async def fetch(
        self,
        cert: asn1_x509.Certificate | asn1_cms.AttributeCertificateV2,
        authority: Authority,
    ) -> asn1_ocsp.OCSPResponse:
        owner = self._owner
        if not isinstance(cert, asn1_x509.Certificate):
            raise cv_errors.OCSPFetchError("attribute certificates are not supported")
        key = (authority.public_key.sha256.hex(), _serial_of(cert))
        cached = owner.cache._get(owner.cache._ocsp, key)
        if cached is not None:
            self._fetched.setdefault(key[1], []).append(cached)
            return cached
        urls = get_ocsp_urls(cert)
        if not urls:
            raise cv_errors.OCSPFetchError("the certificate names no OCSP responder")
        last: Exception | None = None
        for url in urls:
            request = format_ocsp_request(
                cert, authority, certid_hash_algo="sha256", request_nonces=True
            )
            target = rewrite_url(url, owner.rewrites)
            try:
                body, _ = owner.transport.post(target, request.dump(), OCSP_REQUEST_TYPE)
                response = process_ocsp_response_data(body, ocsp_request=request, ocsp_url=url)
                if response.nonce_value is None:
                    raise cv_errors.OCSPValidationError(f"{url} did not echo the nonce")
                response.basic_ocsp_response  # noqa: B018 - parse now, inside the try
            except (FetchFailed, cv_errors.OCSPValidationError, ValueError, KeyError) as exc:
                owner.notes.append(f"OCSP {url}: {exc}")
                last = exc
                continue
            until = _ocsp_until(response, owner.cache.ocsp_max_age)
            owner.cache._keep_evidence(owner.cache._ocsp, key, until, response, body)
            self._fetched.setdefault(key[1], []).append(response)
            return response
        raise cv_errors.OCSPFetchError(str(last) if last else "no OCSP answer")

    def fetched_responses(self) -> Iterable[asn1_ocsp.OCSPResponse]:
        return [r for rs in self._fetched.values() for r in rs]

    def fetched_responses_for_cert(
        self, cert: asn1_x509.Certificate | asn1_cms.AttributeCertificateV2
    ) -> Iterable[asn1_ocsp.OCSPResponse]:
        return list(self._fetched.get(_serial_of(cert), []))


class _CrlFetcher(CRLFetcher):
    def __init__(self, owner: RevocationFetchers) -> None:
        self._owner = owner
        self._fetched: dict[int, list[asn1_crl.CertificateList]] = {}

    async def fetch(
        self,
        cert: asn1_x509.Certificate | asn1_cms.AttributeCertificateV2,
        *,
        use_deltas: bool | None = None,
    ) -> Iterable[asn1_crl.CertificateList]:
        if not isinstance(cert, asn1_x509.Certificate):
            raise cv_errors.CRLFetchError("attribute certificates are not supported")
        found: list[asn1_crl.CertificateList] = []
        for point in get_relevant_crl_dps(cert, use_deltas=bool(use_deltas)):
            name = point["distribution_point"]
            if name.name != "full_name":
                continue
            for general in name.chosen:
                url = general.native
                if general.name != "uniform_resource_identifier" or not url.startswith("http"):
                    continue
                one = self._one(url)
                if one is not None:
                    found.append(one)
                    break
        if not found:
            raise cv_errors.CRLFetchError("no CRL could be fetched")
        self._fetched.setdefault(_serial_of(cert), []).extend(found)
        return found

    def _one(self, url: str) -> asn1_crl.CertificateList | None:
        owner = self._owner
        cached = owner.cache._get(owner.cache._crls, url)
        if cached is not None:
            return cached
        try:
            body, _ = owner.transport.get(rewrite_url(url, owner.rewrites))
            certificate_list = asn1_crl.CertificateList.load(body, strict=True)
            certificate_list.native  # noqa: B018 - parse now, inside the try
        except (FetchFailed, ValueError, KeyError, TypeError) as exc:
            owner.notes.append(f"CRL {url}: {exc}")
            return None
        until = _crl_until(certificate_list)
        owner.cache._keep_evidence(owner.cache._crls, url, until, certificate_list, body)
        return certificate_list

    def fetched_crls(self) -> Iterable[asn1_crl.CertificateList]:
        return [c for cs in self._fetched.values() for c in cs]

    def fetched_crls_for_cert(
        self, cert: asn1_x509.Certificate | asn1_cms.AttributeCertificateV2
    ) -> Iterable[asn1_crl.CertificateList]:
        return list(self._fetched[_serial_of(cert)])


class _CertFetcher(CertificateFetcher):
    def __init__(self, owner: RevocationFetchers) -> None:
        self._owner = owner
        self._fetched: list[asn1_x509.Certificate] = []

    async def fetch_cert_issuers(
        self, cert: asn1_x509.Certificate | asn1_cms.AttributeCertificateV2
    ) -> AsyncGenerator[asn1_x509.Certificate, None]:
        for url in list(gather_aia_issuer_urls(cert))[:4]:
            for issuer in self._from(url):
                yield issuer

    async def fetch_crl_issuers(
        self, certificate_list: asn1_crl.CertificateList
    ) -> AsyncGenerator[asn1_x509.Certificate, None]:
        for url in list(gather_aia_issuer_urls(certificate_list))[:4]:
            for issuer in self._from(url):
                yield issuer

    def _from(self, url: str) -> list[asn1_x509.Certificate]:
        owner = self._owner
        cached: list[asn1_x509.Certificate] | None = owner.cache._get(owner.cache._certs, url)
        if cached is not None:
            owner.certs_from_aia.extend(cached)
            return cached
        try:
            body, content_type = owner.transport.get(rewrite_url(url, owner.rewrites))
            certs = list(unpack_cert_content(body, content_type or None, url, permit_pem=True))
        except (FetchFailed, cv_errors.CertificateFetchError, ValueError) as exc:
            owner.notes.append(f"caIssuers {url}: {exc}")
            return []
        owner.certs_from_aia.extend(certs)
        self._fetched.extend(certs)
        owner.cache._put(owner.cache._certs, url, owner.cache.clock() + ISSUER_CERT_MAX_AGE, certs)
        return certs

    def fetched_certs(self) -> Iterable[asn1_x509.Certificate]:
        return list(self._fetched)


@dataclass
class RevocationFetchers:
    """certvalidator ``Fetchers`` over one transport and cache; ``notes`` says what failed."""

    transport: Transport
    cache: RevocationCache = field(default_factory=RevocationCache)
    rewrites: Mapping[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    certs_from_aia: list[asn1_x509.Certificate] = field(default_factory=list)

    def fetchers(self) -> Fetchers:
        """The three fetchers certvalidator's ValidationContext takes."""
        return Fetchers(
            ocsp_fetcher=_OcspFetcher(self),
            crl_fetcher=_CrlFetcher(self),
            cert_fetcher=_CertFetcher(self),
        )


# -- the evidence a status rests on -----------------------------------------------------------


def evidence_digest(
    cache: RevocationCache,
    responses: Iterable[asn1_ocsp.OCSPResponse],
    crls: Iterable[asn1_crl.CertificateList],
) -> str:
    """A fingerprint of the revocation evidence (OCSP answers, else CRLs) a status came from."""
    items: list[Any] = [*responses] or [*crls]
    # A set: the same CRL fetched twice in one run is one piece of evidence.
    digests = sorted({cache.digest_of(item) for item in items})
    return hashlib.sha256(b"".join(digests)).hexdigest()


def cached_evidence(
    cache: RevocationCache, cert: asn1_x509.Certificate, issuer_key_sha256: bytes
) -> tuple[str, datetime] | None:
    """The evidence the fetchers would use now for ``cert`` from ``cache`` alone (the OCSP
    answer, else the CRLs of its distribution points): its fingerprint and how long it stays
    usable; None when the cache holds none (then the fetchers would go to the network)."""
    found = _cached_items(cache, cert, issuer_key_sha256)
    if found is None:
        return None
    responses, crls = found
    if responses:
        return evidence_digest(cache, responses, ()), _ocsp_until(responses[0], cache.ocsp_max_age)
    return evidence_digest(cache, (), crls), min(_crl_until(crl) for crl in crls)


def _cached_items(
    cache: RevocationCache, cert: asn1_x509.Certificate, issuer_key_sha256: bytes
) -> tuple[list[asn1_ocsp.OCSPResponse], list[asn1_crl.CertificateList]] | None:
    response = cache._get(cache._ocsp, (issuer_key_sha256.hex(), _serial_of(cert)))
    if response is not None:
        return [response], []
    crls = [crl for url in _crl_urls(cert) if (crl := cache._get(cache._crls, url)) is not None]
    return ([], crls) if crls else None


# A certificate's CRL URLs by its SHA-256: reading the distribution points is not free, and a
# warm validation asks for the same CA certificates' again and again.
_CRL_URLS: dict[bytes, tuple[str, ...]] = {}


def _crl_urls(cert: asn1_x509.Certificate) -> tuple[str, ...]:
    key = cert.sha256
    found = _CRL_URLS.get(key)
    if found is None:
        if len(_CRL_URLS) >= CACHE_LIMIT:
            _CRL_URLS.clear()
        found = _CRL_URLS[key] = tuple(_read_crl_urls(cert))
    return found


def _read_crl_urls(cert: asn1_x509.Certificate) -> list[str]:
    urls = []
    for point in get_relevant_crl_dps(cert, use_deltas=False):
        name = point["distribution_point"]
        if name.name != "full_name":
            continue
        for general in name.chosen:
            if general.name == "uniform_resource_identifier" and general.native.startswith("http"):
                urls.append(general.native)
                break
    return urls


def used_evidence(
    cache: RevocationCache,
    cert: asn1_x509.Certificate,
    status: RevocationStatus,
    fetchers: Fetchers,
) -> str | None:
    """The fingerprint of the evidence ``check_revocation`` used for ``status``, if any."""
    if status.source == "ocsp":
        responses = list(fetchers.ocsp_fetcher.fetched_responses_for_cert(cert))
        return evidence_digest(cache, responses[-1:], ()) if responses else None
    if status.source == "crl":
        try:
            crls = list(fetchers.crl_fetcher.fetched_crls_for_cert(cert))
        except KeyError:
            return None
        return evidence_digest(cache, (), crls) if crls else None
    return None


# -- one certificate's status -----------------------------------------------------------------

Status = Literal["good", "revoked", "unknown"]
# "embedded": evidence the signature carried (CAdES-LT), checked offline.
Source = Literal["ocsp", "crl", "embedded", "none"]


@dataclass(frozen=True, slots=True)
class RevocationStatus:
    """What is known about one certificate's revocation, and from where.

    ``checked_at`` is the thisUpdate of the evidence; ``revoked_at`` and ``reason`` only when
    revoked; ``detail`` says why the status is unknown (or which evidence was used).
    """

    status: Status
    source: Source
    checked_at: datetime | None = None
    revoked_at: datetime | None = None
    reason: str | None = None
    detail: str = ""


def _single_this_update(responses: Iterable[asn1_ocsp.OCSPResponse]) -> datetime | None:
    times = []
    for response in responses:
        try:
            single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
            times.append(single["this_update"].native)
        except (ValueError, KeyError, TypeError, IndexError):
            continue
    return max(times) if times else None


def _crl_this_update(lists: Iterable[asn1_crl.CertificateList]) -> datetime | None:
    times = [c["tbs_cert_list"]["this_update"].native for c in lists]
    return max(times) if times else None


async def check_revocation(
    cert: asn1_x509.Certificate,
    path: ValidationPath,
    context: ValidationContext,
    fetchers: Fetchers | None,
) -> RevocationStatus:
    """OCSP, then CRLs, for ``cert`` (whose issuer is in ``path``) at the context's time."""
    reasons: list[str] = []
    try:
        await verify_ocsp_response(cert, path, context)
    except cv_errors.RevokedError as revoked:
        return _revoked("ocsp", revoked)
    except (cv_errors.OCSPValidationError, cv_errors.PathValidationError, ValueError) as exc:
        reasons.append(f"OCSP: {exc}")
    else:
        found = fetchers.ocsp_fetcher.fetched_responses_for_cert(cert) if fetchers else ()
        return RevocationStatus("good", "ocsp", _single_this_update(found), detail="OCSP")
    try:
        await verify_crl(cert, path, context)
    except cv_errors.RevokedError as revoked:
        return _revoked("crl", revoked)
    except (cv_errors.CRLValidationError, cv_errors.PathValidationError, ValueError) as exc:
        reasons.append(f"CRL: {exc}")
    else:
        crls: Iterable[asn1_crl.CertificateList] = ()
        if fetchers is not None:
            try:
                crls = fetchers.crl_fetcher.fetched_crls_for_cert(cert)
            except KeyError:
                crls = ()
        return RevocationStatus("good", "crl", _crl_this_update(crls), detail="CRL")
    return RevocationStatus("unknown", "none", detail="; ".join(reasons))


def _revoked(source: Source, error: cv_errors.RevokedError) -> RevocationStatus:
    when = error.revocation_dt
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return RevocationStatus(
        "revoked",
        source,
        revoked_at=when,
        reason=str(error.reason.native),
        detail=str(error),
    )


__all__ = [
    "CACHE_LIMIT",
    "DEFAULT_OCSP_MAX_AGE",
    "ExpiringLru",
    "FetchFailed",
    "RevocationCache",
    "RevocationFetchers",
    "RevocationStatus",
    "Transport",
    "cached_evidence",
    "check_revocation",
    "evidence_digest",
    "parse_rewrites",
    "rewrite_url",
    "used_evidence",
]

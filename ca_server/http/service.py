"""What one HTTP worker process holds: the instance, opened keys, responders and their caches.

Built once per process by `create_app`. Everything here is safe to share between the event loop
and the worker threads FastAPI runs synchronous handlers in: the mappings are filled before the
first request and only read afterwards; the OCSP cache and the TSA serial blocks lock.

The OCSP cache of a worker is told at once about a revocation that worker committed
(`revoked`). A revocation committed elsewhere (another worker, another `serve` process on the
same PostgreSQL database, `qalam-ca revoke`) is noticed by `RevocationWatch`, which every
`ocsp_poll` compares the number of revoked certificates and clears the cache when it grew; and
no cached answer is ever older than `ocsp_cache_max_age` whatever happens.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import anyio
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ca_server import tsa
from ca_server.authority import (
    CertificationAuthority,
    GostCaSigner,
    IssuedPair,
    status_lookup,
)
from ca_server.db import REVOKED, Authority, CertificateRecord, Database, next_counter
from ca_server.errors import CaError
from ca_server.instance import Instance
from ca_server.ocsp import CachedResponder, OcspSigner

__all__ = ["CaService", "HttpSettings", "SerialBlocks"]

_KIB = 1024
_log = logging.getLogger("ca_server.http")


@dataclass(frozen=True)
class HttpSettings:
    """How the HTTP front door behaves; the defaults are what `qalam-ca serve` runs with."""

    ocsp_cache_max_age: dt.timedelta = dt.timedelta(seconds=60)
    ocsp_cache_entries: int = 4096
    ocsp_poll: dt.timedelta = dt.timedelta(seconds=1)  # zero: no watching
    ocsp_response_validity: dt.timedelta = dt.timedelta(hours=1)
    tsa_ca: str = "nac"  # whose TSA answers POST /tsp
    tsa_serial_block: int = 64
    protocol_body_limit: int = 16 * _KIB  # POST /ocsp and /tsp
    json_body_limit: int = 64 * _KIB  # everything else


class SerialBlocks:
    """Unique numbers from a database counter, reserved a block at a time.

    One short transaction reserves `block` numbers for this process, so a time-stamp costs no
    database write of its own; numbers stay unique across workers and processes because each
    block belongs to one of them. A process that stops leaves the rest of its block unused:
    serial numbers have gaps, never repeats (RFC 3161 asks only that they be unique).
    """

    def __init__(self, db: Database, name: str, block: int) -> None:
        if block < 1:
            raise ValueError("a block holds at least one number")
        self._db = db
        self._name = name
        self._block = block
        self._next = 1
        self._end = 0  # empty: the first call reserves
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """The next number of the block in hand, or None when it is used up (no database)."""
        with self._lock:
            if self._next > self._end:
                return None
            value = self._next
            self._next += 1
            return value

    def next(self) -> int:
        """The next number, reserving a new block (one short transaction) when needed."""
        with self._lock:
            if self._next > self._end:
                with self._db.transaction() as session:
                    end = next_counter(session, self._name, self._block)
                self._next, self._end = end - self._block + 1, end
            value = self._next
            self._next += 1
            return value


@dataclass(frozen=True)
class _Pki:
    """The DER files the PKI endpoints serve, read once."""

    certificates: Mapping[str, bytes]  # "nac", "nac-root", ...
    root_crls: Mapping[str, bytes]  # "nac", "gov"


class CaService:
    """The instance and everything the handlers share in one worker process."""

    def __init__(self, instance: Instance, settings: HttpSettings) -> None:
        self.instance = instance
        self.settings = settings
        self.db: Database = instance.db
        self._check_database(instance)
        # Opening every key now: a wrong passphrase fails at start-up, not at the first request.
        self.authorities: Mapping[str, CertificationAuthority] = dict(instance.authorities)
        # GOST issuing CAs issue through their RSA sibling (enrollment); they are known here so
        # an enrolment's reply can name them, and each answers OCSP for itself (below).
        self._gost_authorities = {
            ca_id: instance.authority(ca_id) for ca_id in instance.config.gost_authorities
        }
        signers = []
        for ca_id, ca in self.authorities.items():
            responder = instance.ocsp_signer(ca_id)
            signers.append(
                OcspSigner(
                    responder.certificate,
                    responder.private_key,
                    {ca_id: ca.certificate},
                    validity=settings.ocsp_response_validity,
                )
            )
        for ca_id, ca in self._gost_authorities.items():
            if isinstance(ca.signer, GostCaSigner):
                # The RSA responder is not authorised for the GOST line: the GOST CA signs.
                signers.append(
                    OcspSigner(
                        ca.certificate,
                        ca.signer.private_key,
                        {ca_id: ca.certificate},
                        validity=settings.ocsp_response_validity,
                    )
                )
        self.ocsp = CachedResponder(
            signers,
            status_lookup(self.db),
            max_age=settings.ocsp_cache_max_age,
            max_entries=settings.ocsp_cache_entries,
        )
        tsa_ca = self.authority(settings.tsa_ca)
        stamper = instance.tsa_signer(tsa_ca.id)
        self.tsa = tsa.TsaSigner(
            stamper.certificate, stamper.private_key, chain=(tsa_ca.certificate,)
        )
        self.tsa_serials = SerialBlocks(self.db, "tsa", settings.tsa_serial_block)
        self.pki = self._pki()

    @staticmethod
    def _check_database(instance: Instance) -> None:
        with instance.db.reading() as session:
            known = set(session.scalars(select(Authority.id)))
        missing = set(instance.config.authorities) - known
        if missing:
            raise CaError(
                "instance_missing",
                f"the database {instance.db.engine.url.render_as_string()} holds no CA "
                f"{', '.join(sorted(missing))}: run `qalam-ca init` with this --db first",
            )

    def _pki(self) -> _Pki:
        certificates = {}
        root_crls = {}
        # The GOST line is served like the others: its certificates' AIA and CDP name these.
        for ca_id, ca in (*self.authorities.items(), *self._gost_authorities.items()):
            certificates[ca_id] = ca.certificate.public_bytes(serialization.Encoding.DER)
            root = ca.root or self.instance.root_certificate(ca_id)
            certificates[f"{ca_id}-root"] = root.public_bytes(serialization.Encoding.DER)
            root_crls[ca_id] = self.instance.root_crl(ca_id)
        for ca_id in self._gost_authorities:
            root_crls[ca_id] = self.instance.root_crl(ca_id)
        return _Pki(certificates, root_crls)

    def authority(self, ca_id: str) -> CertificationAuthority:
        """The issuing CA named in a URL; `unknown_ca` for any other name."""
        found = self.authorities.get(ca_id) or self._gost_authorities.get(ca_id)
        if found is None:
            raise CaError("unknown_ca", ca_id[:32])
        return found

    # -- OCSP cache ---------------------------------------------------------------------------

    def revoked(self, serials: Iterable[str]) -> None:
        """Forget cached OCSP answers about certificates this process just revoked."""
        for serial in serials:
            self.ocsp.invalidate(int(serial, 16))

    def superseded_by(self, pair: IssuedPair) -> list[str]:
        """The certificates an enrolment just revoked as superseded."""
        with self.db.reading() as session:
            return list(
                session.scalars(
                    select(CertificateRecord.serial).where(
                        CertificateRecord.superseded_by.in_([pair.auth.serial, pair.sign.serial])
                    )
                )
            )

    def revoked_count(self) -> int:
        """How many certificates are revoked (only ever grows: revocation is final here)."""
        with self.db.reading() as session:
            counted = session.scalar(
                select(func.count())
                .select_from(CertificateRecord)
                .where(
                    CertificateRecord.ca_id.in_([*self.authorities, *self._gost_authorities]),
                    CertificateRecord.status == REVOKED,
                )
            )
        return counted or 0

    # -- time stamps --------------------------------------------------------------------------

    def timestamp(self, query: bytes, serial: int | None = None) -> bytes:
        """A TimeStampResp for a TimeStampReq, with `serial` or the next unique one."""
        return tsa.respond(query, self.tsa, serial=serial or self.tsa_serials.next())

    def database_ok(self) -> bool:
        try:
            with self.db.reading() as session:
                session.execute(text("SELECT 1"))
        except (CaError, SQLAlchemyError):
            return False
        return True

    async def watch_revocations(self) -> None:
        """Clear the OCSP cache whenever the number of revoked certificates grows (runs until
        cancelled; see the module's description)."""
        interval = self.settings.ocsp_poll.total_seconds()
        if interval <= 0:
            return
        seen: int | None = None
        while True:
            try:
                count = await anyio.to_thread.run_sync(self.revoked_count)
            except (CaError, SQLAlchemyError) as exc:
                _log.warning("cannot count revocations (%s); the cache ages out instead", exc)
            else:
                if seen is not None and count != seen:
                    self.ocsp.clear()
                seen = count
            await anyio.sleep(interval)

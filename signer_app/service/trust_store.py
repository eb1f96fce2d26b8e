"""The trust anchors signatures are validated against: the demo roots plus the user's own.

``<data-dir>/trust-anchors.json`` holds what the user changed: the roots they imported (PEM) and
the built-in roots they removed (by SHA-256), so removing the demo PKI's roots (TEST ONLY) is
possible and survives an upgrade. Writes are atomic (crypto/atomicfile). A file that cannot be
read is never replaced silently: the store refuses to load it with a clear error, since
trusting less (or more) than the user chose is worse than stopping.

Only CA certificates (basicConstraints CA) are accepted as anchors: an end-entity certificate
as an anchor would make any signature it made "trusted".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..crypto.atomicfile import atomic_write
from ..crypto.errors import FileIOError, InvalidInput

FILE_NAME = "trust-anchors.json"
FORMAT_VERSION = 1
DEMO_ROOTS = Path(__file__).resolve().parents[2] / "certs" / "trust" / "demo-roots.pem"
# The demo roots and their issuing CAs: the issuing CAs help build chains offline.
DEMO_CHAIN = DEMO_ROOTS.with_name("demo-chain.pem")
# The demo GOST line (root and issuing CA), kept in a file of its own because openssl, xmlsec1
# and node read the two above and cannot parse GOST keys; trusted like the RSA demo roots.
DEMO_GOST_CHAIN = DEMO_ROOTS.with_name("demo-gost-chain.pem")


@dataclass(frozen=True, slots=True)
class Anchor:
    """One trusted root: the certificate, where it comes from, and when it was added."""

    certificate: x509.Certificate
    origin: Literal["demo", "user"]
    added: datetime | None = None

    @property
    def sha256(self) -> str:
        """The certificate's SHA-256 fingerprint in lower-case hex."""
        return fingerprint(self.certificate)

    @property
    def subject(self) -> str:
        """The subject's common name, else the whole DN."""
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else self.certificate.subject.rfc4514_string()


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 over the DER, lower-case hex."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def read_certificates(blob: bytes, source: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle or one DER certificate; InvalidInput otherwise."""
    try:
        if b"-----BEGIN" in blob:
            return list(x509.load_pem_x509_certificates(blob))
        return [x509.load_der_x509_certificate(blob)]
    except ValueError:
        reason = f"{source} holds no readable certificate (PEM or DER)"
        raise InvalidInput(source, reason=reason) from None


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return bool(constraints.value.ca)


class TrustStore:
    """Anchors per user: built-in (demo) roots minus removed ones, plus imported ones."""

    def __init__(self, data_dir: Path, builtin: Path | None = DEMO_ROOTS) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.builtin = builtin

    def _builtin(self) -> list[x509.Certificate]:
        if self.builtin is None or not self.builtin.is_file():
            return []
        found = read_certificates(self.builtin.read_bytes(), str(self.builtin))
        if self.builtin == DEMO_ROOTS:
            found += [c for c in _demo_gost_line() if c.issuer == c.subject]
        return found

    def _load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {"version": FORMAT_VERSION, "user": [], "removed": []}
        except OSError as exc:
            raise FileIOError(exc.strerror or "", path=str(self.path)) from None
        try:
            data = json.loads(raw)
            ok = (
                isinstance(data, dict)
                and data.get("version") == FORMAT_VERSION
                and isinstance(data.get("user"), list)
                and isinstance(data.get("removed"), list)
            )
        except ValueError:
            ok = False
        if not ok:
            reason = f"the trust store {self.path} is damaged; fix or delete it, then try again"
            raise InvalidInput(str(self.path), reason=reason)
        return dict(data)

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        atomic_write(self.path, text.encode("utf-8"), mode=0o644)

    def anchors(self) -> list[Anchor]:
        """Every anchor in force: the built-in ones not removed, then the user's."""
        data = self._load()
        removed = set(data["removed"])
        out = [Anchor(c, "demo") for c in self._builtin() if fingerprint(c) not in removed]
        for row in data["user"]:
            try:
                certificate = x509.load_pem_x509_certificate(row["pem"].encode("ascii"))
                added = datetime.fromisoformat(row["added"])
            except (KeyError, TypeError, ValueError, AttributeError):
                reason = f"the trust store {self.path} holds an unreadable certificate"
                raise InvalidInput(str(self.path), reason=reason) from None
            out.append(Anchor(certificate, "user", added))
        return out

    def intermediates(self) -> list[x509.Certificate]:
        """CA certificates that are not anchors but help build chains (the demo issuing CAs,
        while the demo roots are trusted), so that validation works offline too."""
        if self.builtin != DEMO_ROOTS or not DEMO_CHAIN.is_file():
            return []
        trusted = {a.sha256 for a in self.anchors()}
        chain = read_certificates(DEMO_CHAIN.read_bytes(), str(DEMO_CHAIN)) + _demo_gost_line()
        return [
            c
            for c in chain
            if c.issuer != c.subject
            and fingerprint(c) not in trusted
            and any(fingerprint(a) in trusted for a in chain if a.subject == c.issuer)
        ]

    def certificates(self) -> list[x509.Certificate]:
        """The anchors' certificates (what validation takes)."""
        return [anchor.certificate for anchor in self.anchors()]

    def add(self, blob: bytes, source: str = "input") -> list[Anchor]:
        """Trust every CA certificate of ``blob``; the anchors newly added (none if all were)."""
        certificates = read_certificates(blob, source)
        for certificate in certificates:
            if not _is_ca(certificate):
                name = Anchor(certificate, "user").subject
                reason = f"{name} is not a CA certificate and cannot be a trust anchor"
                raise InvalidInput(source, reason=reason)
        data = self._load()
        present = {a.sha256 for a in self.anchors()}
        builtin = {fingerprint(c) for c in self._builtin()}
        now = datetime.now(UTC).replace(microsecond=0)
        added = []
        for certificate in certificates:
            digest = fingerprint(certificate)
            if digest in present:
                continue
            present.add(digest)
            if digest in builtin:
                data["removed"] = [d for d in data["removed"] if d != digest]
                added.append(Anchor(certificate, "demo"))
                continue
            pem = certificate.public_bytes(Encoding.PEM).decode("ascii")
            data["user"].append({"pem": pem, "added": now.isoformat()})
            added.append(Anchor(certificate, "user", now))
        if added:
            self._save(data)
        return added

    def remove(self, prefix: str) -> Anchor:
        """Stop trusting the one anchor whose SHA-256 starts with ``prefix`` (8+ hex digits)."""
        wanted = prefix.lower().replace(":", "")
        if len(wanted) < 8 or any(c not in "0123456789abcdef" for c in wanted):
            reason = "give at least 8 hex digits of the anchor's SHA-256 (see trust-anchors list)"
            raise InvalidInput(prefix, reason=reason)
        matches = [a for a in self.anchors() if a.sha256.startswith(wanted)]
        if len(matches) != 1:
            count = "no anchor" if not matches else f"{len(matches)} anchors"
            reason = f"{count} match {prefix!r}"
            raise InvalidInput(prefix, reason=reason)
        anchor = matches[0]
        data = self._load()
        if anchor.origin == "demo":
            data["removed"].append(anchor.sha256)
        else:
            data["user"] = [
                row
                for row in data["user"]
                if fingerprint(x509.load_pem_x509_certificate(row["pem"].encode("ascii")))
                != anchor.sha256
            ]
        self._save(data)
        return anchor


def _demo_gost_line() -> list[x509.Certificate]:
    if not DEMO_GOST_CHAIN.is_file():  # a demo PKI made without --add-gost
        return []
    return read_certificates(DEMO_GOST_CHAIN.read_bytes(), str(DEMO_GOST_CHAIN))


__all__ = ["DEMO_ROOTS", "FILE_NAME", "Anchor", "TrustStore", "fingerprint", "read_certificates"]

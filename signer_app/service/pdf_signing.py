"""Signing a PDF (PAdES) from a front door: the TSA of the settings, the network for revocation
data, the trust store's anchors for B-LT/B-LTA, around crypto/pades.sign_pdf."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..crypto import pades
from ..crypto.algorithms import DigestAlgorithm
from ..crypto.errors import InvalidInput
from ..crypto.keystores import KeyEntry
from .http_fetch import HttpTransport
from .settings import SettingsStore
from .trust_store import TrustStore
from .tsa_client import HttpTsa

DEFAULT_TIMEOUT = 10.0


def tsa_stamp(url: str, timeout: float = DEFAULT_TIMEOUT) -> pades.Stamp:
    """A ``pades.Stamp`` over the RFC 3161 TSA at ``url``."""
    tsa = HttpTsa(url, timeout=timeout)

    def stamp(imprint: bytes, digest: DigestAlgorithm) -> bytes:
        return tsa.stamp_token(imprint, digest).der

    return stamp


def sign_pdf_file(
    source: Path,
    entry: KeyEntry,
    output: Path | None = None,
    *,
    data_dir: Path,
    level: pades.PadesLevel = "b-b",
    visible: pades.VisibleField | None = None,
    tsa_url: str | None = None,
    rewrites: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Sign ``source`` at ``level`` (TSA: ``tsa_url`` or the settings'); returns the output."""
    stamp = None
    if level != "b-b":
        url = tsa_url or SettingsStore(data_dir).load().tsa_url
        if not url:
            reason = f"PAdES {level.upper()} needs a timestamp service: set one in the settings"
            raise InvalidInput(level, reason=reason)
        stamp = tsa_stamp(url, timeout)
    revocation = None
    if level in ("b-lt", "b-lta"):
        store = TrustStore(data_dir)
        revocation = pades.Revocation(
            HttpTransport(timeout=timeout),
            store.certificates(),
            rewrites=dict(rewrites or {}),
            intermediates=store.intermediates(),
        )
    return pades.sign_pdf(
        source, entry, output, level=level, stamp=stamp, revocation=revocation, visible=visible
    )


__all__ = ["DEFAULT_TIMEOUT", "sign_pdf_file", "tsa_stamp"]

"""The bundled CA as a real HTTP service for validation tests: a CA instance that adopted the demo
PKI, served by uvicorn in a thread on a free loopback port (OCSP, CRLs, CA certificates, TSA).

The demo certificates name http://127.0.0.1:8080; validation reaches this server through a URL
rewrite (Fetching.rewrites), so tests never need port 8080. Each `running_ca()` is its own
instance: revoking in one never shows in another.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from cryptography import x509

from ca_server import authority
from ca_server.http import HttpSettings, create_app
from ca_server.instance import Instance, init_instance, load_instance
from signer_app.crypto.revocation import RevocationCache
from signer_app.crypto.validation import Fetching
from signer_app.service.http_fetch import HttpTransport

CERTS = Path(__file__).resolve().parent.parent / "certs"
PASSPHRASE = b"validation-test-passphrase"
CERTIFIED_BASE = "http://127.0.0.1:8080"


def demo_anchors() -> list[x509.Certificate]:
    """The demo roots (certs/trust/demo-roots.pem)."""
    return list(x509.load_pem_x509_certificates((CERTS / "trust" / "demo-roots.pem").read_bytes()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningCa:
    """A served CA: its base URL, the instance behind it, and how validation reaches it."""

    url: str
    instance: Instance
    app: object

    @property
    def rewrites(self) -> dict[str, str]:
        return {CERTIFIED_BASE: self.url}

    def fetching(self, cache: RevocationCache | None = None) -> Fetching:
        """Online validation against this CA, with a fresh cache unless one is given."""
        return Fetching(HttpTransport(timeout=5), cache or RevocationCache(), self.rewrites)

    def revoke(
        self,
        certificate: x509.Certificate,
        reason: str = "key_compromise",
        later: dt.timedelta = dt.timedelta(0),
    ) -> None:
        """Revoke (dated ``later`` from now) through the CA's authority layer, and drop the
        server's cached OCSP answers."""
        serial = format(certificate.serial_number, "x")
        when = dt.datetime.now(dt.UTC) + later
        authority.revoke(self.instance.db, serial, reason, actor="test", now=when)
        self.app.state.ca.revoked([serial])  # type: ignore[attr-defined]

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsp"


@contextmanager
def running_ca(folder: Path) -> Iterator[RunningCa]:
    """Start a CA instance (adopting certs/) on a free port; stop it at the end."""
    data_dir = folder / "ca"
    init_instance(data_dir, certs_dir=CERTS, passphrase=PASSPHRASE)
    instance = load_instance(data_dir, passphrase=PASSPHRASE, migrate=False)
    app = create_app(instance, HttpSettings(ocsp_poll=dt.timedelta(0)))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the CA did not start")
        time.sleep(0.02)
    try:
        yield RunningCa(f"http://127.0.0.1:{port}", instance, app)
    finally:
        server.should_exit = True
        thread.join(10)
        instance.close()

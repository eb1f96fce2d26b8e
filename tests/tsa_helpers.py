"""A real time-stamping authority for tests: ca_server.tsa.respond with a TSA certificate issued
by the demo NAC issuing CA, called directly or behind a loopback HTTP server (http.server in a
thread), the way the bundled CA's POST /tsp will serve it.

Tests may import ca_server (signer_app never does): this is how the client meets a TSA it did
not write.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca_server import tsa

CERTS = Path(__file__).resolve().parent.parent / "certs"
NAC_PASSPHRASE = b"demo-ca-passphrase"

_serials = itertools.count(1)
_serial_lock = threading.Lock()


def next_serial() -> int:
    with _serial_lock:
        return next(_serials)


@cache
def nac() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The demo NAC issuing CA (certificate and key)."""
    certificate = x509.load_pem_x509_certificate((CERTS / "nac" / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (CERTS / "nac" / "ca.key.pem").read_bytes(), NAC_PASSPHRASE
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return certificate, key


@cache
def tsa_signer() -> tsa.TsaSigner:
    """A TSA (RSA-2048, fresh per test session) certified by the demo NAC issuing CA."""
    ca_cert, ca_key = nac()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    certificate = tsa.make_tsa_certificate(ca_cert, ca_key, key.public_key(), not_before=start)
    return tsa.TsaSigner(certificate, key)


def respond(query: bytes) -> bytes:
    """The TSA's answer to a DER TimeStampReq."""
    return tsa.respond(query, tsa_signer(), serial=next_serial())


def tsa_pem(folder: Path) -> Path:
    """The TSA certificate as a PEM file (for openssl ts -verify -untrusted)."""
    path = folder / "tsa.pem"
    path.write_bytes(tsa_signer().certificate.public_bytes(serialization.Encoding.PEM))
    return path


Answerer = Callable[[bytes], tuple[int, str, bytes]]


def granting(query: bytes) -> tuple[int, str, bytes]:
    return 200, "application/timestamp-reply", respond(query)


@contextmanager
def http_tsa(answer: Answerer = granting) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback HTTP TSA: yields its /tsp URL and the list of queries it received."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            query = self.rfile.read(size)
            received.append(query)
            if self.headers.get("Content-Type") != "application/timestamp-query":
                status, kind, body = 415, "text/plain", b"wrong content type"
            else:
                status, kind, body = answer(query)
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nobody to answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsp", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (a port bound then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsp"

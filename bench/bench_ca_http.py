"""The CA over real HTTP: `qalam-ca serve` with one uvicorn worker, loaded over loopback.

* OCSP without the response cache: every request carries its own nonce, so every answer is
  signed (the status lookup may come from the cache); ÷ raw RSA-2048 signs/s, target ≥ 0.5.
* OCSP from the response cache: one nonce-less request, again and again; target ≥ 2000/s.
* Time-stamps: every token is signed; ÷ raw signs/s, target ≥ 0.5.
* Issuance: AUTH + SIGN pairs per second end to end (POST /api/v1/enroll with a one-time code:
  two CSRs checked, the code redeemed, two certificates signed, rows and audit committed), on
  SQLite and, when Debian's PostgreSQL server binaries are installed, on a throwaway local
  PostgreSQL cluster. `ca_signing_share` is the part of one core the two CA signatures of each
  pair take at that rate; the rest is the database and Python.

The client is a small raw-socket HTTP/1.1 keep-alive client, one thread per connection, in
this process (the machine has two cores: one for the server, one for the client). Bounded:
each figure is measured for a few seconds, all on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from asn1crypto import tsp as asn1_tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import NameOID

from ca_server import registry
from ca_server.db import open_database
from ca_server.instance import init_instance
from signer_app.crypto.keystores import open_pkcs12

from .raw import Raw

TARGET_RATIO = 0.50
TARGET_CACHED_PER_S = 2000
SECONDS = 2.0  # per measurement
ROUNDS = 2  # best of: this machine is shared, a neighbour's burst should not be the figure
CONNECTIONS = 8
ISSUE_CONNECTIONS = 4
ISSUE_SECONDS = 3.0
ISSUE_CODES = 800
CITIZEN = "850101300124"
PASSPHRASE = "bench-passphrase"
CERTS = Path(__file__).resolve().parent.parent / "certs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _http(method: str, path: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _exchange(stream: socket.socket, reader: object, request: bytes) -> int:
    """Send one request on a keep-alive connection, read the whole answer, return its status."""
    stream.sendall(request)
    readline = reader.readline  # type: ignore[attr-defined]
    status = int(readline().split(b" ", 2)[1])
    length = 0
    while True:
        line = readline()
        if line in (b"\r\n", b""):
            break
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    reader.read(length)  # type: ignore[attr-defined]
    return status


def _load(
    port: int,
    requests: Callable[[], bytes | None],
    seconds: float,
    connections: int,
    expected: int = 200,
) -> float:
    """Answers with status `expected` per second, `connections` keep-alive connections busy."""
    done = [0] * connections
    wrong: list[int] = []
    stop_at = time.perf_counter() + seconds

    def worker(index: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as stream:
            stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = stream.makefile("rb")
            while time.perf_counter() < stop_at:
                request = requests()
                if request is None:
                    return
                status = _exchange(stream, reader, request)
                if status == expected:
                    done[index] += 1
                else:
                    wrong.append(status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if wrong:
        raise RuntimeError(f"unexpected statuses {sorted(set(wrong))} ({len(wrong)} answers)")
    return sum(done) / elapsed


def _cycle(items: Sequence[bytes]) -> Callable[[], bytes]:
    lock = threading.Lock()
    position = [0]

    def take() -> bytes:
        with lock:
            position[0] = (position[0] + 1) % len(items)
            return items[position[0]]

    return take


def _once(items: Sequence[bytes]) -> Callable[[], bytes | None]:
    lock = threading.Lock()
    remaining = iter(items)

    def take() -> bytes | None:
        with lock:
            return next(remaining, None)

    return take


class _Server:
    """`python -m ca_server serve` with one worker, quiet, on a free loopback port."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ca_server", "serve", "--data-dir", str(data_dir),
             "--port", str(self.port), "--workers", "1", "--log-level", "warning",
             "--no-access-log"],
            env={**os.environ, "QALAM_CA_PASSPHRASE": PASSPHRASE, **(extra_env or {})},
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.1)
        raise RuntimeError("serve did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _citizen_and_issuer() -> tuple[x509.Certificate, x509.Certificate]:
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == "citizen_sign")
    leaf = open_pkcs12(CERTS / row["path"], row["password"]).entry.certificate
    issuer = x509.load_pem_x509_certificate((CERTS / "nac" / "ca.pem").read_bytes())
    return leaf, issuer


def _ocsp(leaf: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None) -> bytes:
    builder = x509_ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())  # noqa: S303
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    der = builder.build().public_bytes(serialization.Encoding.DER)
    return _http("POST", "/ocsp", der, "application/ocsp-request")


def _tsp(nonce: int) -> bytes:
    query = asn1_tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": os.urandom(32),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()
    return _http("POST", "/tsp", query, "application/timestamp-query")


def _csr_pem(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{CITIZEN}")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _enrolments(db_url: str, csrs: tuple[str, str], count: int) -> list[bytes]:
    """`count` enrol requests, each with a one-time code of its own (made in one transaction)."""
    database = open_database(db_url, migrate=False)
    try:
        with database.transaction() as session:
            codes = [
                registry.create_ticket(session, CITIZEN, "bench", "enroll").code
                for _ in range(count)
            ]
    finally:
        database.dispose()
    return [
        _http(
            "POST",
            "/api/v1/enroll",
            json.dumps(
                {"iin": CITIZEN, "code": code, "csr_auth": csrs[0], "csr_sign": csrs[1]}
            ).encode(),
            "application/json",
        )
        for code in codes
    ]


def _issuance(data_dir: Path, db_url: str, csrs: tuple[str, str]) -> float:
    requests = _enrolments(db_url, csrs, ISSUE_CODES)
    server = _Server(data_dir)
    try:
        _load(server.port, _once(requests[:8]), 5.0, 1, expected=201)  # warm up
        return _load(server.port, _once(requests[8:]), ISSUE_SECONDS, ISSUE_CONNECTIONS, 201)
    finally:
        server.stop()


@contextlib.contextmanager
def _postgresql(root: Path) -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster on loopback, if Debian's server binaries are here."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        yield None
        return
    bindir = Path(found[-1]).parent
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    shm = Path("/dev/shm")
    home = Path(tempfile.mkdtemp(prefix="qalam-bench-pg-", dir=shm if shm.is_dir() else root))
    if as_postgres:
        shutil.chown(home, "postgres", "postgres")
    port = _free_port()

    def run(*argv: str) -> None:
        subprocess.run([*as_postgres, *argv], check=True, capture_output=True, timeout=120)

    data = home / "data"
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={home}"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-o", options,
            "-w", "-t", "60", "start")  # fmt: skip
    except (subprocess.CalledProcessError, OSError):
        shutil.rmtree(home, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


def _server_stack() -> str:
    try:
        import httptools  # noqa: F401

        http = "httptools"
    except ImportError:
        http = "h11"
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return f"uvicorn, 1 worker, {http}, {loop}"


def run(raw: Raw) -> dict[str, object]:
    """OCSP (signed, cached), TSA and issuance over HTTP against raw RSA-2048 signing."""
    raw_sign = raw.rsa2048_sign_per_s
    leaf, issuer = _citizen_and_issuer()
    signed_requests = [_ocsp(leaf, issuer, os.urandom(16)) for _ in range(4000)]
    cached_request = [_ocsp(leaf, issuer, None)]
    stamp_requests = [_tsp(n) for n in range(1, 2001)]
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]
    csrs = (_csr_pem(keys[0]), _csr_pem(keys[1]))
    figures: dict[str, object] = {"raw_rsa2048_sign_per_s": raw_sign}
    with tempfile.TemporaryDirectory(prefix="qalam-bench-ca-") as folder:
        root = Path(folder)
        data_dir = root / "ca"
        init_instance(data_dir, passphrase=PASSPHRASE.encode())
        server = _Server(data_dir)
        try:
            _load(server.port, _cycle(signed_requests), 0.5, CONNECTIONS)  # warm up
            signed, cached, stamped = 0.0, 0.0, 0.0
            for _ in range(ROUNDS):
                signed = max(
                    signed, _load(server.port, _cycle(signed_requests), SECONDS, CONNECTIONS)
                )
                cached = max(
                    cached, _load(server.port, _cycle(cached_request), SECONDS, CONNECTIONS)
                )
                stamped = max(
                    stamped, _load(server.port, _cycle(stamp_requests), SECONDS, CONNECTIONS)
                )
        finally:
            server.stop()
        sqlite_pairs = _issuance(data_dir, f"sqlite:///{data_dir / 'qalam-ca.sqlite'}", csrs)
        pg_pairs: float | None = None
        with _postgresql(root) as pg_url:
            if pg_url is not None:
                pg_dir = root / "ca-pg"
                init_instance(pg_dir, passphrase=PASSPHRASE.encode(), db_url=pg_url)
                pg_pairs = _issuance(pg_dir, pg_url, csrs)
    signed_ratio = signed / raw_sign
    stamp_ratio = stamped / raw_sign
    figures.update(
        {
            "ocsp_signed_per_s": round(signed, 1),
            "ocsp_signed_ratio": round(signed_ratio, 3),
            "ocsp_cached_per_s": round(cached, 1),
            "tsa_tokens_per_s": round(stamped, 1),
            "tsa_ratio": round(stamp_ratio, 3),
            "issuance_pairs_per_s_sqlite": round(sqlite_pairs, 1),
            "issuance_pairs_per_s_postgresql": None if pg_pairs is None else round(pg_pairs, 1),
            "ca_signing_share_sqlite": round(2 * sqlite_pairs / raw_sign, 3),
            "ca_signing_share_postgresql": None
            if pg_pairs is None
            else round(2 * pg_pairs / raw_sign, 3),
            "target_ratio": TARGET_RATIO,
            "target_cached_per_s": TARGET_CACHED_PER_S,
            "meets_target": signed_ratio >= TARGET_RATIO
            and stamp_ratio >= TARGET_RATIO
            and cached >= TARGET_CACHED_PER_S,
            "server": _server_stack(),
            "client": f"raw-socket HTTP/1.1 keep-alive, {CONNECTIONS} connections "
            f"({ISSUE_CONNECTIONS} for issuance), same machine",
            "note": (
                "issuance: the two CA signatures of a pair are ca_signing_share of the one "
                "worker's core; profiled in-process (cProfile), most of a pair's ~12 ms is "
                "SQLAlchemy ORM work for the ~10 statements of its one transaction (code "
                "redeemed, two certificate rows in savepoints, audit rows), then building and "
                "signing the two certificates, then the commit (~1 ms on SQLite: WAL sync; "
                "PostgreSQL adds a loopback round trip per statement). More workers scale it on "
                "PostgreSQL; SQLite serialises the write transactions. OCSP and TSA: one "
                "signature each plus ~50 us of HTTP (fast_lane.py)"
            ),
        }
    )
    return figures

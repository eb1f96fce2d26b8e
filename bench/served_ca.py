"""The bundled CA served over HTTP on a loopback port, for the benchmarks that fetch from it."""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from ca_server.http import HttpSettings, create_app
from ca_server.instance import init_instance, load_instance

CERTS = Path(__file__).resolve().parent.parent / "certs"


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served_ca(port: int | None = None) -> Iterator[str]:
    """A fresh CA instance over the demo PKI, served in a thread: yields its base URL."""
    with tempfile.TemporaryDirectory() as folder:
        passphrase = b"bench-ca"
        init_instance(Path(folder) / "ca", certs_dir=CERTS, passphrase=passphrase)
        instance = load_instance(Path(folder) / "ca", passphrase=passphrase, migrate=False)
        port = port or free_port()
        app = create_app(instance, HttpSettings(ocsp_poll=dt.timedelta(0)))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
            instance.close()


def rates(
    once: Callable[[], object], windows: int = 5, seconds: float = 1.0
) -> tuple[float, float]:
    """Calls per CPU second and per wall-clock second, each the median of ``windows`` windows.

    Ratios use CPU seconds because ``openssl speed`` divides by CPU (user) time unless told
    ``-elapsed``: the same divisor on both sides, so that other work on the machine does not
    count against one side only. CPU time is the whole process's (a CA's server thread
    included), so nothing done on the measured call's behalf is left out.
    """
    cpu_rates, wall_rates = [], []
    for _ in range(windows):
        count = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds:
            once()
            count += 1
        cpu_rates.append(count / max(time.process_time() - cpu_start, 1e-9))
        wall_rates.append(count / (time.perf_counter() - start))
    return statistics.median(cpu_rates), statistics.median(wall_rates)

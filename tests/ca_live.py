"""A live bundled CA for client tests: the real HTTP app served by uvicorn on a free port.

The demo instance is initialised once per test session (the CA keys' PBKDF2 is the slow part)
and copied for each test, so every test starts from the demo PKI's state.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ca_server.http import HttpSettings, create_app
from ca_server.instance import Instance, init_instance, load_instance
from signer_app.service.ca_client import CaClient

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
PASSPHRASE = b"live-ca-passphrase"
CITIZEN = "850101300124"


@cache
def _template() -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="qalam-live-ca-")) / "ca"
    init_instance(data_dir, certs_dir=CERTS, passphrase=PASSPHRASE)
    return data_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveCa:
    """A CA answering at ``url`` over a copy of the demo instance."""

    url: str
    instance: Instance
    server: uvicorn.Server


@contextmanager
def live_ca(tmp_path: Path) -> Iterator[LiveCa]:
    """Serve a fresh copy of the demo CA until the block ends."""
    data_dir = tmp_path / "live-ca"
    shutil.copytree(_template(), data_dir)
    instance = load_instance(data_dir, passphrase=PASSPHRASE, migrate=False)
    app = create_app(instance, HttpSettings())
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live CA did not start")
        time.sleep(0.01)
    try:
        yield LiveCa(f"http://127.0.0.1:{port}", instance, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        instance.close()


@pytest.fixture(name="ca")
def ca_fixture(tmp_path: Path) -> Iterator[LiveCa]:
    """A live CA over a fresh copy of the demo PKI (import this name to use ``ca``)."""
    with live_ca(tmp_path) as served:
        yield served


def issue_code(ca: LiveCa, demo: Mapping[str, Any], iin: str = CITIZEN) -> str:
    """What the PSC operator does: sign in with the GOV CA key, check the ID card, make a code."""
    operator = CaClient(ca.url)
    operator.sign_in(demo["psc_operator_auth"].open())
    made = operator.ticket(iin, "id_card", "0" + iin[-8:], "reissue")
    operator.close_session()
    return str(made["code"])

"""Shared fixtures: the committed demo PKI (certs/demo/index.json) and the external tools."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from signer_app.crypto.keystores import KeyEntry, open_pkcs12

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
SHARED_VECTORS = ROOT.parent / "shared" / "vectors" / "nca"


@dataclass(frozen=True)
class DemoKey:
    """One row of certs/demo/index.json."""

    id: str
    person: str
    iin: str
    bin: str | None
    name: str
    role: str
    purpose: str
    ca: str
    path: Path
    password: str
    status: str
    algorithm: str
    encryption: str

    def open(self) -> KeyEntry:
        """The key entry, opened with the indexed password."""
        return _open(self.path, self.password)


@cache
def _open(path: Path, password: str) -> KeyEntry:
    return open_pkcs12(path, password).entry


@cache
def demo_index() -> dict[str, DemoKey]:
    """Every demo key by id ("citizen_sign", "ceo_auth", ...)."""
    rows = json.loads((CERTS / "demo" / "index.json").read_text(encoding="utf-8"))
    keys = {}
    for row in rows:
        keys[row["id"]] = DemoKey(
            id=row["id"],
            person=row["person"],
            iin=row["iin"],
            bin=row.get("bin"),
            name=row["name"],
            role=row["role"],
            purpose=row["purpose"],
            ca=row["ca"],
            path=CERTS / row["path"],
            password=row["password"],
            status=row["status"],
            algorithm=row.get("algorithm", "RSA"),
            encryption=row.get("encryption", "aes"),
        )
    return keys


@pytest.fixture(scope="session")
def demo() -> dict[str, DemoKey]:
    """The demo keys by id."""
    return demo_index()


@pytest.fixture(scope="session")
def citizen_sign(demo: dict[str, DemoKey]) -> KeyEntry:
    """The demo citizen's SIGN key (RSA-2048, legacy PKCS#12 like NCA's)."""
    return demo["citizen_sign"].open()


@pytest.fixture(scope="session")
def trust_chain_pem() -> Path:
    """Both demo roots and issuing CAs in one PEM file (for openssl -CAfile, xmlsec1)."""
    return CERTS / "trust" / "demo-chain.pem"


@pytest.fixture(scope="session")
def nca_vectors() -> Path:
    """shared/vectors/nca: real NCA test material; skipped visibly when the folder is absent."""
    if not SHARED_VECTORS.is_dir():
        pytest.skip(f"real NCA vectors not found at {SHARED_VECTORS}")
    return SHARED_VECTORS


def require_tool(name: str) -> str:
    """The path of an external tool; a missing tool fails the test (CI installs them all)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup.sh (CI installs it)")
    return path


# Tools as fixtures: test modules ask for them by name instead of importing this conftest, which
# is ambiguous once a sub-folder has a conftest of its own.
@pytest.fixture(scope="session")
def openssl() -> str:
    """The openssl binary."""
    return require_tool("openssl")


@pytest.fixture(scope="session")
def xmlsec1() -> str:
    """The xmlsec1 binary."""
    return require_tool("xmlsec1")


@pytest.fixture(scope="session")
def bundled_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The bundled CA served over HTTP on a free port (tests/validation_helpers.py): one per
    session; a test that revokes uses a key no other test needs good."""
    from validation_helpers import running_ca

    with running_ca(tmp_path_factory.mktemp("bundled-ca")) as ca:
        yield ca

"""Helpers of the CA's tests: an in-process HTTP client over a test instance, signing an
operator in, and a key this CA never certified."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from ca_server.http import HttpSettings, create_app
from ca_server.instance import Instance
from signer_app.crypto import cms
from signer_app.crypto.keystores import KeyEntry, SoftwareKey

_signers: dict[bytes, Any] = {}


def share_service_keys(instance: Instance) -> None:
    """Every copy of a template instance has the same OCSP and TSA keys: decrypt them once
    (each costs a PBKDF2), as conftest's template shares the CA keys."""
    for ca_id in instance.config.authorities:
        files = instance._files(ca_id)
        for kind, name in (("ocsp", files.ocsp_certificate), ("tsa", files.tsa_certificate)):
            cert = instance._file(name).read_bytes()
            if cert not in _signers:
                _signers[cert] = instance._service(ca_id, kind)
            instance._services[ca_id, kind] = _signers[cert]


def make_client(instance: Instance, settings: HttpSettings | None = None) -> TestClient:
    """A TestClient over the CA app (no revocation polling unless `settings` ask for it);
    server errors come back as 500 answers, as a real client would see them."""
    share_service_keys(instance)
    chosen = settings or HttpSettings(ocsp_poll=dt.timedelta(0))
    return TestClient(create_app(instance, chosen), raise_server_exceptions=False)


def sign_challenge(client: TestClient, entry: KeyEntry, **options: Any) -> dict[str, str]:
    """A fresh challenge and its CMS signature with `entry`, as the session request wants them."""
    challenge = client.post("/api/v1/operators/challenge").json()["challenge"]
    signature = cms.sign(base64.b64decode(challenge), entry, **options)
    return {"challenge": challenge, "signature": base64.b64encode(signature).decode()}


def sign_in(client: TestClient, entry: KeyEntry) -> dict[str, str]:
    """Authorization headers of a new session of the operator holding `entry`."""
    answer = client.post("/api/v1/operators/session", json=sign_challenge(client, entry))
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def foreign_entry(iin: str) -> KeyEntry:
    """A self-signed key naming ``iin``: a credential this CA never issued."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return KeyEntry("foreign", certificate, SoftwareKey(key))

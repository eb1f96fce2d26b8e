"""Shared helpers of the API tests: a dispatcher over a ScriptedPrompter, run synchronously."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from signer_app.api.dispatch import ApiConfig, Dispatcher, Reply
from signer_app.service.prompter import ScriptedAnswer, ScriptedPrompter
from signer_app.service.signing import SigningService

ORIGIN = "https://portal.example.kz"
COMMON = "kz.gov.pki.knca.commonUtils"
BASICS = "kz.gov.pki.knca.basics"


class Api:
    """A dispatcher with a scripted person behind it."""

    def __init__(self, *answers: ScriptedAnswer, config: ApiConfig | None = None) -> None:
        self.prompter = ScriptedPrompter(list(answers))
        self.dispatcher = Dispatcher(SigningService(self.prompter), config=config)

    def raw(self, frame: str | dict[str, Any], origin: str | None = ORIGIN) -> Reply:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        return asyncio.run(self.dispatcher.handle(text, origin))

    def __call__(self, frame: str | dict[str, Any], origin: str | None = ORIGIN) -> Any:
        reply = self.raw(frame, origin)
        assert reply.text is not None
        return json.loads(reply.text)


def approve(key: Any) -> ScriptedAnswer:
    return ScriptedAnswer(key=key.path, password=key.password)


def common(method: str, *args: Any, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"module": COMMON, "method": method, **extra}
    if args:
        frame["args"] = list(args)
    return frame


def basics(**args: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "allowedStorages": None,
        "format": "cms",
        "data": "MTEK",
        "signingParams": {"decode": True},
        "signerParams": {"extKeyUsageOids": []},
        "locale": "ru",
    }
    base.update(args)
    return {"module": BASICS, "method": "sign", "args": base}


def self_made_key(folder: Path, password: str) -> Path:
    """A SIGN-purpose key file from a CA nobody trusts: made here, since the point of the
    tests that use it is a CA that is not in the demo PKI."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-made test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "ӨЗІМ ЖАСАДЫМ"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "IIN850101300124"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    blob = pkcs12.serialize_key_and_certificates(
        b"self-made",
        key,
        cert,
        [ca],
        serialization.BestAvailableEncryption(password.encode()),
    )
    path = folder / "self-made.p12"
    path.write_bytes(blob)
    return path

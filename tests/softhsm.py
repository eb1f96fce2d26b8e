"""SoftHSM2 tokens in a temporary folder, for the PKCS#11 tests (TEST ONLY).

``SoftHsm`` writes its own SOFTHSM2_CONF under ``tmp_path``, initialises tokens with
softhsm2-util and imports demo keys with their certificates through python-pkcs11, so every test
gets fresh tokens and no test sees another's. SoftHSM2 reads SOFTHSM2_CONF when the library is
initialised, so the library is unloaded before and after each use. A second "driver" is a copy
of libsofthsm2.so under another name: the loader gives it its own state, with its own config.

What SoftHSM2 cannot do, and how the tests stand in for it: it never locks a PIN (it only sets
CKF_USER_PIN_COUNT_LOW after a wrong one), so ``set_pin_flags`` writes the final-try and locked
flags into the token's own file; it has no hot-plug, so a removed token is its folder deleted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pkcs11 as p11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from signer_app.crypto.keystores import KeyEntry, SoftwareKey
from signer_app.crypto.pkcs11 import Pkcs11Module, load_module, unload_module

SOFTHSM_LIB = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "12345678"  # Kaztoken's factory PIN (PROTOCOL.md §11)
SO_PIN = "87654321"

# SoftHSM2's vendor attribute holding the token flags in token.object (CKA_OS_TOKENFLAGS),
# stored as: attribute type (8 bytes), value kind 2 = unsigned long (8 bytes), value (8 bytes).
_FLAGS_ATTR = (0x8000534B).to_bytes(8, "big") + (2).to_bytes(8, "big")


def require_softhsm() -> None:
    """Fail (not skip) without SoftHSM2: CI installs it (scripts/debian-packages.txt)."""
    if not SOFTHSM_LIB.is_file() or shutil.which("softhsm2-util") is None:
        pytest.fail("SoftHSM2 is not installed: run scripts/setup.sh (Debian: softhsm2)")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class SoftHsm:
    """A SoftHSM2 token folder with its config; ``lib`` is the module path tests load."""

    def __init__(self, root: Path, lib: Path = SOFTHSM_LIB) -> None:
        self.root = root
        self.tokens = root / "tokens"
        self.tokens.mkdir(parents=True)
        self.conf = root / "softhsm2.conf"
        self.conf.write_text(
            f"directories.tokendir = {self.tokens}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = true\n",
            encoding="utf-8",
        )
        self.lib = lib

    def env(self) -> dict[str, str]:
        """The environment in which this SoftHSM2 is the one loaded."""
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def activate(self) -> None:
        """Make the next load of ``lib`` in this process read this config."""
        unload_module(self.lib)
        os.environ["SOFTHSM2_CONF"] = str(self.conf)

    def load(self) -> Pkcs11Module:
        """Activate this config and load the library now (before another SoftHSM is)."""
        self.activate()
        return load_module(self.lib)

    def init_token(self, label: str, pin: str = PIN) -> None:
        """A new, empty token (the library is reloaded afterwards to see it)."""
        unload_module(self.lib)
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", pin, "--so-pin", SO_PIN],
            env=self.env(), check=True, capture_output=True,
        )  # fmt: skip

    def import_entry(
        self,
        label: str,
        entry: KeyEntry,
        key_id: bytes,
        pin: str = PIN,
        *,
        certificate: bool = True,
    ) -> None:
        """Put a demo key and (unless told not to) its certificate and chain on the token."""
        assert isinstance(entry.key, SoftwareKey)
        self.activate()
        token = p11.lib(str(self.lib)).get_token(token_label=label)
        with token.open(rw=True, user_pin=pin) as session:
            common = {
                Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.SIGN: True,
                Attribute.ID: key_id,
                Attribute.LABEL: entry.alias,
            }
            session.create_object({**common, **_key_attributes(entry.key.private_key)})
            if certificate:
                self._put_certificate(session, entry.certificate, key_id, entry.alias)
                for extra in entry.chain:
                    self._put_certificate(session, extra, b"", "CA")
        unload_module(self.lib)

    @staticmethod
    def _put_certificate(
        session: object, cert: x509.Certificate, key_id: bytes, label: str
    ) -> None:
        attrs = {
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
        }
        if key_id:
            attrs[Attribute.ID] = key_id
        session.create_object(attrs)  # type: ignore[attr-defined]

    def token_dir(self, label: str) -> Path:
        """The folder SoftHSM2 keeps a token in."""
        padded = label.encode().ljust(32)
        for folder in self.tokens.iterdir():
            if padded in (folder / "token.object").read_bytes():
                return folder
        raise LookupError(label)

    def set_pin_flags(self, label: str, extra: int) -> None:
        """OR ``extra`` (CKF_USER_PIN_*) into the token's stored flags (library unloaded)."""
        unload_module(self.lib)
        path = self.token_dir(label) / "token.object"
        data = bytearray(path.read_bytes())
        at = data.index(_FLAGS_ATTR) + len(_FLAGS_ATTR)
        flags = int.from_bytes(data[at : at + 8], "big") | extra
        data[at : at + 8] = flags.to_bytes(8, "big")
        path.write_bytes(bytes(data))

    def remove(self, label: str) -> None:
        """Pull the token out: its folder goes away under the loaded library."""
        shutil.rmtree(self.token_dir(label))


def _key_attributes(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> dict[Attribute, object]:
    if isinstance(key, rsa.RSAPrivateKey):
        n = key.private_numbers()
        return {
            Attribute.KEY_TYPE: KeyType.RSA,
            Attribute.MODULUS: _int_bytes(n.public_numbers.n),
            Attribute.PUBLIC_EXPONENT: _int_bytes(n.public_numbers.e),
            Attribute.PRIVATE_EXPONENT: _int_bytes(n.d),
            Attribute.PRIME_1: _int_bytes(n.p),
            Attribute.PRIME_2: _int_bytes(n.q),
            Attribute.EXPONENT_1: _int_bytes(n.dmp1),
            Attribute.EXPONENT_2: _int_bytes(n.dmq1),
            Attribute.COEFFICIENT: _int_bytes(n.iqmp),
        }
    size = (key.curve.key_size + 7) // 8
    return {
        Attribute.KEY_TYPE: KeyType.EC,
        Attribute.EC_PARAMS: encode_named_curve_parameters(key.curve.name),
        Attribute.VALUE: key.private_numbers().private_value.to_bytes(size, "big"),
    }


@pytest.fixture
def softhsm(tmp_path: Path) -> Iterator[SoftHsm]:
    """A fresh SoftHSM2 with no tokens yet; the library is unloaded again afterwards."""
    require_softhsm()
    old = os.environ.get("SOFTHSM2_CONF")
    hsm = SoftHsm(tmp_path / "softhsm")
    yield hsm
    unload_module(hsm.lib)
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


@pytest.fixture
def second_softhsm(tmp_path: Path) -> Iterator[SoftHsm]:
    """Another SoftHSM2 behind another driver file (a copy of the library), for two modules."""
    require_softhsm()
    lib = tmp_path / "second" / "libsecond-pkcs11.so"
    lib.parent.mkdir()
    shutil.copyfile(SOFTHSM_LIB, lib)
    hsm = SoftHsm(tmp_path / "softhsm-second", lib=lib)
    yield hsm
    unload_module(hsm.lib)

"""What to install when a token driver is missing: one table, a sentence's parts per OS."""

from __future__ import annotations

from pathlib import Path

import pytest

from signer_app.service.token_guidance import guidance_for, needs_guidance, no_driver_at_all
from signer_app.service.tokens import ALL_STORAGES, ENV_VAR, TokenRegistry


@pytest.mark.parametrize(
    ("platform", "packages"),
    [("linux", ("pcscd", "libccid")), ("win32", ()), ("darwin", ())],
)
def test_every_storage_has_guidance_on_every_os(platform: str, packages: tuple[str, ...]) -> None:
    registry = TokenRegistry(environ={}, platform=platform)
    for storage in ALL_STORAGES:
        guide = guidance_for(registry.status(storage), platform)
        assert guide.packages[:2] == packages
    assert guidance_for(registry.status("AKJaCartaStore"), platform).product == (
        "JaCarta Unified Client (Aladdin R.D.)"
    )


def test_the_generic_module_suggests_opensc_on_debian() -> None:
    status = TokenRegistry(environ={}, platform="linux").status("PKCS11")
    assert guidance_for(status, "linux").packages == ("pcscd", "libccid", "opensc")


def test_only_configured_missing_drivers_need_a_sentence(tmp_path: Path) -> None:
    present = tmp_path / "libpresent.so"
    present.write_bytes(b"")
    registry = TokenRegistry(
        {"AKJaCartaStore": str(tmp_path / "missing.so")},
        environ={ENV_VAR: f"AKKaztokenStore={present}"},
        platform="linux",
    )
    statuses = registry.statuses()
    assert [s.storage for s in needs_guidance(statuses)] == ["AKJaCartaStore"]
    assert not no_driver_at_all(statuses)
    assert no_driver_at_all(TokenRegistry(environ={}, platform="darwin").statuses())

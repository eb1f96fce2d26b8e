"""What to install when a token's driver (PKCS#11 module) is missing: one table, per OS.

The table names products and packages only (proper names, not translated; None where the
vendor's driver has no public name here, which the desktop app words as "the driver of the
token's vendor"); the app puts them into a sentence in the person's language
(ui/widgets/token_panel.py). On Debian/Ubuntu
every USB token and card reader also needs the PC/SC daemon and the CCID reader driver
(packages ``pcscd`` and ``libccid``); vendors' own Linux drivers come as .deb files from them.
OpenSC (Debian package ``opensc``) is a generic PKCS#11 module that reads many cards, offered
for the generic storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..crypto.pkcs11 import GENERIC_STORAGE
from .tokens import DriverStatus, OsName, os_name

PCSC_PACKAGES: tuple[str, ...] = ("pcscd", "libccid")

# storage -> (product to install or None, extra Debian/Ubuntu packages besides PC/SC).
_SAFENET: tuple[str | None, tuple[str, ...]] = ("SafeNet Authentication Client (Thales)", ())
_INSTALL: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "AKKaztokenStore": (None, ()),
    "AKKZIDCardStore": (None, ()),
    "AKEToken72KStore": _SAFENET,
    "AKEToken5110Store": _SAFENET,
    "AKJaCartaStore": ("JaCarta Unified Client (Aladdin R.D.)", ()),
    "AKAKEYStore": (None, ()),
    GENERIC_STORAGE: ("OpenSC", ("opensc",)),
}


@dataclass(frozen=True)
class Guidance:
    """What a person with a missing driver installs, on their OS."""

    storage: str
    title: str
    os: OsName
    product: str | None  # None: the vendor's driver, unnamed here
    packages: tuple[str, ...]  # Debian/Ubuntu packages; empty on Windows and macOS
    looked_at: tuple[str, ...]  # where the module was looked for


def guidance_for(status: DriverStatus, platform: str | None = None) -> Guidance:
    """The install guidance for one storage's status on ``platform`` (this one by default)."""
    system = os_name(platform)
    product, extra = _INSTALL[status.storage]
    packages = (*PCSC_PACKAGES, *extra) if system == "linux" else ()
    return Guidance(status.storage, status.title, system, product, packages, status.candidates)


def needs_guidance(statuses: Sequence[DriverStatus]) -> list[DriverStatus]:
    """The storages a person or packager configured (environment, settings) whose module is
    not there: those are worth a sentence; an unconfigured vendor nobody uses is not."""
    return [s for s in statuses if not s.present and s.source in ("environment", "settings")]


def no_driver_at_all(statuses: Sequence[DriverStatus]) -> bool:
    """True when not one token driver is installed (the generic guidance is then shown)."""
    return not any(s.present for s in statuses)


__all__ = ["PCSC_PACKAGES", "Guidance", "guidance_for", "needs_guidance", "no_driver_at_all"]

"""The driver registry: NCALayer's token storage names -> PKCS#11 module libraries.

Each storage of PROTOCOL.md §11 (``AKKaztokenStore`` ...) is reached through a vendor's PKCS#11
module; the generic ``PKCS11`` storage is any module the person points at. Where a module is
looked for, first match wins:

1. ``QALAM_PKCS11_MODULES`` in the environment (tests, packagers): ``NAME=PATH`` pairs
   separated by ``;`` (e.g. ``AKKaztokenStore=/tmp/libsofthsm2.so;PKCS11=/opt/x.so``);
2. the ``pkcs11_modules`` setting (storage -> path, editable in settings);
3. the default paths below for this OS.

A driver that is not installed is reported (``DriverStatus.present`` False, with what to
install), never crashed on; ``active_storages`` lists the storages whose driver loads and has a
token in a slot, which is what getActiveTokens answers.

The default paths are the vendors' usual install locations as far as they are publicly known.
For Kaztoken, the ID card and aKey no path is known here: those storages work once a path is
set (settings or the environment); the guidance says so.

For the desktop app: ``change_pin`` is the one way to change a token's PIN, and
``TokenWatcher`` polls the storages in a worker thread and reports tokens plugged in and
pulled out, re-initialising an idle driver so that one which only looks for tokens when it
starts (SoftHSM2, some vendors') still sees a token plugged in later.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..crypto.errors import InvalidInput, Pkcs11ModuleError, QalamError, TokenNotFound
from ..crypto.pkcs11 import (
    GENERIC_STORAGE,
    Pkcs11Module,
    Pkcs11Token,
    TokenInfo,
    load_module,
    reload_module,
)

log = logging.getLogger("qalam.tokens")

ENV_VAR = "QALAM_PKCS11_MODULES"
OsName = Literal["linux", "windows", "darwin"]
Source = Literal["environment", "settings", "default", "none"]

# NCALayer's token storages (PROTOCOL.md §11), in its order; JKS is a file and not here.
TOKEN_STORAGES: tuple[str, ...] = (
    "AKKaztokenStore",
    "AKKZIDCardStore",
    "AKEToken72KStore",
    "AKEToken5110Store",
    "AKJaCartaStore",
    "AKAKEYStore",
)
ALL_STORAGES: tuple[str, ...] = (*TOKEN_STORAGES, GENERIC_STORAGE)

_SAFENET = {
    "linux": ("/usr/lib/libeTPkcs11.so", "/usr/lib64/libeTPkcs11.so", "/usr/lib/libeToken.so"),
    "windows": (r"C:\Windows\System32\eTPKCS11.dll",),
    "darwin": ("/usr/local/lib/libeTPkcs11.dylib",),
}
_SAFENET_HINT = "SafeNet Authentication Client (Thales)"


@dataclass(frozen=True)
class Driver:
    """A storage's device, where its module usually is on each OS, and what to install."""

    storage: str
    title: str
    paths: Mapping[str, tuple[str, ...]]
    install: str


DRIVERS: dict[str, Driver] = {
    d.storage: d
    for d in (
        Driver("AKKaztokenStore", "Kaztoken", {}, "the Kaztoken driver from its vendor"),
        Driver("AKKZIDCardStore", "Kazakh ID card", {}, "the ID card reader's driver"),
        Driver("AKEToken72KStore", "eToken PRO 72K (Java)", _SAFENET, _SAFENET_HINT),
        Driver("AKEToken5110Store", "eToken 5110", _SAFENET, _SAFENET_HINT),
        Driver(
            "AKJaCartaStore",
            "JaCarta",
            {
                "linux": ("/usr/lib/libjcPKCS11-2.so", "/usr/lib64/libjcPKCS11-2.so"),
                "windows": (r"C:\Windows\System32\jcPKCS11-2.dll",),
                "darwin": ("/Library/Frameworks/jcPKCS11-2.framework/jcPKCS11-2",),
            },
            "JaCarta Unified Client (Aladdin R.D.)",
        ),
        Driver("AKAKEYStore", "aKey", {}, "the aKey driver from its vendor"),
        Driver(GENERIC_STORAGE, "PKCS#11 module", {}, "the module of your device's vendor"),
    )
}


def os_name(platform: str | None = None) -> OsName:
    """linux, windows or darwin, for ``sys.platform`` values."""
    value = platform or sys.platform
    if value.startswith("win") or value == "cygwin":
        return "windows"
    if value == "darwin":
        return "darwin"
    return "linux"


def parse_modules(text: str) -> dict[str, str]:
    """``NAME=PATH;NAME=PATH`` -> {storage: path}; InvalidInput names the bad part."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, path = part.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not path:
            reason = f'"{part}" in {ENV_VAR} is not NAME=PATH'
            raise InvalidInput(ENV_VAR, reason=reason)
        if name not in DRIVERS:
            known = ", ".join(ALL_STORAGES)
            reason = f"{ENV_VAR} names an unknown storage {name!r} (known: {known})"
            raise InvalidInput(ENV_VAR, reason=reason)
        found[name] = path
    return found


def is_module_map(value: object) -> bool:
    """The settings check: a mapping of known storage names to non-empty path strings."""
    if not isinstance(value, dict):
        return False
    return all(k in DRIVERS and isinstance(v, str) and v for k, v in value.items())


@dataclass(frozen=True)
class DriverStatus:
    """Where a storage's module is looked for, whether it is there, and what to install."""

    storage: str
    title: str
    candidates: tuple[str, ...]
    path: str | None
    source: Source
    install: str

    @property
    def present(self) -> bool:
        """True when a module file exists at one of the candidate paths."""
        return self.path is not None

    @property
    def guidance(self) -> str:
        """What a person reads when the driver is missing."""
        if self.present:
            return f"{self.title}: {self.path}"
        where = ", ".join(self.candidates) if self.candidates else "no known path on this system"
        return (
            f"{self.title}: driver not found ({where}). Install {self.install} (USB tokens "
            f"and card readers also need pcscd), or set its module path in settings "
            f"(pkcs11_modules) or {ENV_VAR}."
        )


class TokenRegistry:
    """Storage names to drivers, with the environment and settings applied."""

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        platform: str | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._env = parse_modules(env.get(ENV_VAR, ""))
        self._settings = dict(overrides or {})
        self._os = os_name(platform)

    def status(self, storage: str) -> DriverStatus:
        """Where ``storage``'s module is and whether it is installed."""
        driver = DRIVERS.get(storage)
        if driver is None:
            raise InvalidInput(storage, reason=f"{storage} is not a token storage")
        source: Source
        candidates: tuple[str, ...]
        if storage in self._env:
            candidates, source = (self._env[storage],), "environment"
        elif storage in self._settings:
            candidates, source = (self._settings[storage],), "settings"
        else:
            candidates = driver.paths.get(self._os, ())
            source = "default" if candidates else "none"
        path = next((c for c in candidates if Path(c).is_file()), None)
        return DriverStatus(storage, driver.title, candidates, path, source, driver.install)

    def statuses(self) -> list[DriverStatus]:
        """Every storage's status, NCALayer's order, the generic module last."""
        return [self.status(s) for s in ALL_STORAGES]

    def module(self, storage: str) -> Pkcs11Module:
        """The loaded module of ``storage`` (Pkcs11ModuleError when missing or broken)."""
        status = self.status(storage)
        if status.path is None:
            where = status.candidates[0] if status.candidates else storage
            raise Pkcs11ModuleError(status.guidance, path=where, reason="it is not installed")
        return load_module(status.path)

    def tokens(self, storage: str) -> list[TokenInfo]:
        """The tokens present behind ``storage``'s driver."""
        return self.module(storage).tokens()

    def active_storages(
        self, storages: Sequence[str] = TOKEN_STORAGES, *, rescan: bool = False
    ) -> list[str]:
        """The storages whose driver loads and has a token now (never raises). ``rescan``:
        a driver showing no token is initialised again first (when no session of it is
        open), for drivers that only look for tokens when they start."""
        active = []
        for storage in storages:
            status = self.status(storage)
            if status.path is None:
                continue
            if self._has_token(storage) or (
                rescan and reload_module(status.path) and self._has_token(storage)
            ):
                active.append(storage)
        return active

    def _has_token(self, storage: str) -> bool:
        try:
            return bool(self.tokens(storage))
        except QalamError as error:
            log.info("%s: %s", storage, error.code)
            return False

    def open(
        self, storage: str, pin: str, token_id: str | None = None, *, rw: bool = False
    ) -> Pkcs11Token:
        """Log in to the token behind ``storage`` (by serial or label when several); ``rw``
        for generating keys and writing certificates."""
        module = self.module(storage)
        if not module.tokens():
            raise TokenNotFound(storage, name=DRIVERS[storage].title)
        return module.login(pin, token_id, storage=storage, rw=rw)


def change_pin(
    registry: TokenRegistry,
    storage: str,
    old_pin: str,
    new_pin: str,
    token_id: str | None = None,
) -> TokenInfo:
    """Change the user PIN of the token behind ``storage`` (the desktop app's and the CLI's
    one way to do it); the token as it is afterwards. Wrong old PIN: PinIncorrect (or its
    count-low / final-try / locked forms); a new PIN the token refuses: InvalidInput."""
    if not new_pin:
        raise InvalidInput("empty new PIN", reason="the new PIN is empty")
    module = registry.module(storage)
    if not module.tokens():
        raise TokenNotFound(storage, name=DRIVERS[storage].title)
    module.change_pin(old_pin, new_pin, token_id)
    return module.token_info(token_id)


@dataclass(frozen=True)
class TokenChange:
    """What one poll found: storages whose token appeared, those whose token went, and all
    the storages with a token now."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    active: tuple[str, ...]


class TokenWatcher:
    """Polls the token storages every ``interval`` seconds in a worker thread and calls
    ``on_change`` (from that thread) when a token is plugged in or pulled out.

    ``start`` and ``stop`` return at once (``stop`` waits at most ``timeout`` for a driver
    call in progress), so the desktop app never waits for a driver: it forwards each
    TokenChange to the UI thread (a Qt signal) and redraws *My keys*. The first poll reports
    the tokens already present as added.
    """

    def __init__(
        self,
        registry: TokenRegistry,
        on_change: Callable[[TokenChange], None],
        *,
        interval: float = 2.0,
        storages: Sequence[str] = TOKEN_STORAGES,
        rescan: bool = True,
    ) -> None:
        if interval <= 0:
            raise InvalidInput("interval", reason="the polling interval must be positive")
        self._registry = registry
        self._on_change = on_change
        self._interval = interval
        self._storages = tuple(storages)
        self._rescan = rescan
        self._active: tuple[str, ...] = ()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> tuple[str, ...]:
        """The storages with a token at the last poll."""
        return self._active

    @property
    def running(self) -> bool:
        """True while the worker thread polls."""
        return self._thread is not None and self._thread.is_alive()

    def poll(self) -> TokenChange | None:
        """One poll, here and now; the change (also given to ``on_change``), None if none."""
        now = tuple(self._registry.active_storages(self._storages, rescan=self._rescan))
        before, self._active = self._active, now
        added = tuple(s for s in now if s not in before)
        removed = tuple(s for s in before if s not in now)
        if not added and not removed:
            return None
        change = TokenChange(added, removed, now)
        try:
            self._on_change(change)
        except Exception:
            # A broken listener must not stop the watching.
            log.exception("token change listener failed")
        return change

    def start(self) -> None:
        """Start polling in a daemon thread (a second start is ignored)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="qalam-token-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling; waits at most ``timeout`` seconds for the poll in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:
                log.exception("token poll failed")
            self._stop.wait(self._interval)


@dataclass(frozen=True)
class PresentToken:
    """A token present now, with the storage it was found through."""

    storage: str
    info: TokenInfo


def present_tokens(registry: TokenRegistry, storages: Sequence[str]) -> list[PresentToken]:
    """The tokens behind ``storages`` now (never raises); a token two storages reach through
    the same module (a generic module set to a vendor's library) is listed once, first name."""
    found: list[PresentToken] = []
    seen: set[tuple[str, int, str]] = set()
    for storage in storages:
        try:
            infos = registry.tokens(storage)
        except QalamError as error:
            log.info("%s: %s", storage, error.code)
            continue
        for info in infos:
            key = (info.module, info.slot_id, info.serial)
            if key not in seen:
                seen.add(key)
                found.append(PresentToken(storage, info))
    return found


def environment_registry(overrides: Mapping[str, str] | None = None) -> TokenRegistry:
    """The registry from the environment, the settings' ``overrides`` and OS defaults; a bad
    variable is logged, not fatal."""
    try:
        return TokenRegistry(overrides)
    except InvalidInput as error:
        log.warning("%s ignored: %s", ENV_VAR, error.message("en"))
        return TokenRegistry(overrides, environ={})


__all__ = [
    "ALL_STORAGES",
    "DRIVERS",
    "ENV_VAR",
    "TOKEN_STORAGES",
    "Driver",
    "DriverStatus",
    "PresentToken",
    "TokenChange",
    "TokenRegistry",
    "TokenWatcher",
    "change_pin",
    "environment_registry",
    "is_module_map",
    "os_name",
    "parse_modules",
    "present_tokens",
]

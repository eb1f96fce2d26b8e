"""`qalam trust install|status|remove`: the local root in the user's NSS databases (Linux).

Firefox on Linux ignores the system store and keeps one NSS database per profile (cert9.db);
Chromium and most GTK programs read ``~/.pki/nssdb`` (PROTOCOL.md §2.2, §14 item 1). This module
runs NSS's ``certutil`` (Debian: libnss3-tools) on each database found under the user's home:

* ``~/.pki/nssdb`` (created empty, no password, by ``install`` when absent);
* every Firefox profile with a cert9.db: ``~/.mozilla/firefox/*/``, the Snap
  (``~/snap/firefox/common/.mozilla/firefox/*/``) and the Flatpak
  (``~/.var/app/org.mozilla.firefox/.mozilla/firefox/*/``) ones.

The root goes in under the nickname "Qalam local root" with trust ``C,,`` (a CA for TLS server
certificates only: not for e-mail, not for code). ``status`` says per database whether that very
certificate (same bytes as ``<data-dir>/tls/root.pem``) is there and trusted; ``remove`` deletes
every certificate with the nickname. Only the user's own databases are touched; nothing needs
root privileges and the root's private key never leaves the data dir.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ..crypto.errors import FileIOError
from ..service.errors import NotAvailable

NICKNAME = "Qalam local root"
TRUST_FLAGS = "C,,"
FIREFOX_ROOTS = (
    Path(".mozilla/firefox"),
    Path("snap/firefox/common/.mozilla/firefox"),
    Path(".var/app/org.mozilla.firefox/.mozilla/firefox"),
)
TIMEOUT = 30

State = Literal["trusted", "untrusted", "different", "absent", "no database"]


@dataclass(frozen=True)
class NssDb:
    """One NSS database folder and what it belongs to."""

    folder: Path
    label: str

    @property
    def spec(self) -> str:
        """certutil's ``-d`` argument (the SQLite format, cert9.db)."""
        return f"sql:{self.folder}"

    @property
    def exists(self) -> bool:
        """True once cert9.db is there."""
        return (self.folder / "cert9.db").is_file()


@dataclass(frozen=True)
class DbStatus:
    """Whether our root is in one database."""

    db: NssDb
    state: State


def certutil() -> str:
    """The certutil binary; NotAvailable with the package to install when it is missing."""
    path = shutil.which("certutil")
    if path is None:
        what = "certutil (install it: apt install libnss3-tools, dnf install nss-tools)"
        raise NotAvailable("certutil", what=what)
    return path


def shared_db(home: Path) -> NssDb:
    """~/.pki/nssdb: Chromium's and the desktop's."""
    return NssDb(home / ".pki" / "nssdb", "~/.pki/nssdb (Chromium, GNOME)")


def nss_databases(home: Path | None = None) -> list[NssDb]:
    """~/.pki/nssdb (even when absent) and every Firefox profile holding a cert9.db."""
    home = home or Path.home()
    found = [shared_db(home)]
    for base in FIREFOX_ROOTS:
        folder = home / base
        if not folder.is_dir():
            continue
        for profile in sorted(p for p in folder.iterdir() if (p / "cert9.db").is_file()):
            found.append(NssDb(profile, f"Firefox profile {profile.name} ({home / base})"))
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [certutil(), *args], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _check(done: subprocess.CompletedProcess[str], what: str, db: NssDb) -> None:
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise FileIOError(f"certutil {what} failed: {' '.join(reason)[:300]}", path=str(db.folder))


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER, colon-separated hex (what browsers show)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def load_root(root_pem: Path) -> x509.Certificate:
    """The local root certificate."""
    try:
        return x509.load_pem_x509_certificate(root_pem.read_bytes())
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(root_pem)) from None


def _ours(db: NssDb) -> list[x509.Certificate]:
    done = _run("-L", "-d", db.spec, "-n", NICKNAME, "-a")
    if done.returncode != 0:
        return []
    return x509.load_pem_x509_certificates(done.stdout.encode("ascii", "replace"))


def _flags(db: NssDb) -> str | None:
    done = _run("-L", "-d", db.spec)
    for line in done.stdout.splitlines():
        if line.startswith(NICKNAME + " ") or line.rstrip() == NICKNAME:
            return line[len(NICKNAME) :].strip()
    return None


def db_status(db: NssDb, root: x509.Certificate) -> DbStatus:
    """trusted / untrusted (there without the TLS CA flag) / different / absent / no database."""
    if not db.exists:
        return DbStatus(db, "no database")
    certs = _ours(db)
    if not certs:
        return DbStatus(db, "absent")
    if root not in certs:
        return DbStatus(db, "different")
    flags = _flags(db) or ""
    return DbStatus(db, "trusted" if flags.startswith("C") else "untrusted")


def status(root_pem: Path, home: Path | None = None) -> list[DbStatus]:
    """Our root's state in every database found."""
    root = load_root(root_pem)
    return [db_status(db, root) for db in nss_databases(home)]


def _delete_all(db: NssDb) -> int:
    removed = 0
    for _ in range(16):  # several certificates may share the nickname
        if _run("-D", "-d", db.spec, "-n", NICKNAME).returncode != 0:
            break
        removed += 1
    return removed


def install(root_pem: Path, home: Path | None = None) -> list[str]:
    """Add the root to every database (creating ~/.pki/nssdb); returns one line per database."""
    root = load_root(root_pem)
    done: list[str] = []
    for db in nss_databases(home):
        if not db.exists:
            db.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _check(_run("-N", "-d", db.spec, "--empty-password"), "-N", db)
            done.append(f"created {db.folder}")
        state = db_status(db, root).state
        if state == "trusted":
            done.append(f"already trusted in {db.label}: {db.folder}")
            continue
        if state in ("different", "untrusted"):
            _delete_all(db)
        added = _run("-A", "-d", db.spec, "-n", NICKNAME, "-t", TRUST_FLAGS, "-i", str(root_pem))
        _check(added, "-A", db)
        replaced = " (replacing an older one)" if state == "different" else ""
        done.append(f"installed{replaced} in {db.label}: {db.folder}")
    return done


def remove(home: Path | None = None) -> list[str]:
    """Delete every certificate named "Qalam local root"; returns one line per database."""
    done: list[str] = []
    for db in nss_databases(home):
        if not db.exists:
            done.append(f"no database: {db.folder}")
            continue
        removed = _delete_all(db)
        what = f"removed {removed} certificate(s)" if removed else "was not there"
        done.append(f"{what} in {db.label}: {db.folder}")
    return done


__all__ = [
    "NICKNAME",
    "TRUST_FLAGS",
    "DbStatus",
    "NssDb",
    "certutil",
    "db_status",
    "fingerprint",
    "install",
    "load_root",
    "nss_databases",
    "remove",
    "shared_db",
    "status",
]

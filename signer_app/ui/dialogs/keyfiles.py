"""What a key file is before its password: a PKCS#12 file, or why it cannot be one.

Opening with the empty password tells the cases apart without knowing the password: a PKCS#12
file with a password fails its MAC check (WrongPassword: a real key file, owner unknown until
the person types the password), a file without one opens (its certificate names the owner), and
a 0-byte, damaged, foreign or unreadable file raises the engine's own error, whose plain
sentence the chooser shows. No Qt here, so the checks are tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...crypto.errors import CorruptKeyStore, QalamError, WrongPassword
from ...crypto.identity import Identity, identity_of
from ...crypto.keystores import open_pkcs12

KEY_FILE_SUFFIXES = (".p12", ".pfx")


@dataclass(frozen=True)
class KeyFileInfo:
    """A key file as the chooser lists it: the owner when known, the problem when unusable."""

    path: Path
    identity: Identity | None = None
    problem: QalamError | None = None

    @property
    def usable(self) -> bool:
        """True when the file may be offered (its password is still to be checked)."""
        return self.problem is None


def probe(path: Path) -> KeyFileInfo:
    """Tell a PKCS#12 key file from a file that cannot be one, without its password."""
    try:
        store = open_pkcs12(path, "")
    except WrongPassword:
        return KeyFileInfo(path)
    except QalamError as error:
        return KeyFileInfo(path, problem=error)
    except (ValueError, TypeError):
        # A structure `cryptography` rejects in a way the engine did not foresee is still
        # just a damaged file to the person.
        return KeyFileInfo(path, problem=CorruptKeyStore("unreadable structure"))
    return KeyFileInfo(path, identity=identity_of(store.entry.certificate))


__all__ = ["KEY_FILE_SUFFIXES", "KeyFileInfo", "probe"]

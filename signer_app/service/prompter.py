"""The Prompter: the only way the service reaches a person (web-eid's ui.hpp, XCA's PwDialogCore).

The service asks, the prompter answers: which key file and password (``choose_key``), whether
to sign what a site asked for (``confirm``), and it tells the person what went wrong
(``wrong_password``, ``key_refused``, ``report_error``). Every method is a coroutine, so a Qt
dialog, a terminal and a script look the same to the service, and a request whose socket goes
away is cancelled by cancelling the awaiting task (the prompter closes its dialog on
``asyncio.CancelledError``).

Implementations here: ``ScriptedPrompter`` (answers from a JSON script; tests and portal
developers' CI; it records every prompt so a test can assert what the person was shown) and
``TerminalPrompter`` (a tty). The Qt prompter comes with the desktop app.

A "no" may carry "always block this site": ``choose_key``, ``choose_file`` and ``confirm`` may
answer with a ``Refusal(block_origin=True)`` instead of None/False; the service then records
the origin as denied (service/origins.py) and refuses its later requests before any dialog.
There is no "always allow": every sign request needs its own decision.

A password lives in a ``KeyChoice`` only until the service has opened the key file with it;
it is never printed (``repr=False``) and never logged. Python strings cannot be wiped, so
"not kept" means no reference survives the request.
"""

from __future__ import annotations

import asyncio
import codecs
import enum
import getpass
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

from ..crypto.errors import InvalidInput, QalamError
from ..crypto.identity import Identity
from .key_status import localized

LOCAL_PROGRAM = "a local program (no Origin header)"

# NCALayer's storage names (shared/PROTOCOL.md §11); only PKCS12 files work in this version.
FILE_STORAGES = ("PKCS12",)
TOKEN_STORAGES = (
    "JKS",
    "AKKaztokenStore",
    "AKKZIDCardStore",
    "AKEToken72KStore",
    "AKEToken5110Store",
    "AKJaCartaStore",
    "AKAKEYStore",
)
KNOWN_STORAGES = FILE_STORAGES + TOKEN_STORAGES
# Storages a key on a PKCS#11 token can be chosen from (JKS is a file format, not supported);
# "PKCS11" is Qalam's generic module, not one of NCALayer's names.
_TOKEN_CHOICES = (*(s for s in TOKEN_STORAGES if s != "JKS"), "PKCS11")

PREVIEW_CHARS = 200


class KeyType(enum.Enum):
    """NCALayer's keyType argument: which keys the chooser offers (PROTOCOL.md §6)."""

    SIGNATURE = "SIGNATURE"
    AUTHENTICATION = "AUTHENTICATION"
    ANY = "ANY"

    @classmethod
    def from_wire(cls, value: str) -> KeyType:
        """ "SIGNATURE" and "AUTHENTICATION" filter; any other string means every key."""
        return {"SIGNATURE": cls.SIGNATURE, "AUTHENTICATION": cls.AUTHENTICATION}.get(
            value, cls.ANY
        )


Action = Literal["sign", "key_info"]
Kind = Literal["cms", "xml", "hash", "raw", "pdf"]


@dataclass(frozen=True)
class KeyRequest:
    """What the key chooser is asked for, and why the previous choice did not do.

    ``filters`` are service/key_status.Reason values (``str`` in English; ``localized`` gives
    them in the request's language); ``problem`` is already in ``locale``."""

    origin: str | None
    action: Action
    storages: tuple[str, ...]
    key_type: KeyType
    filters: tuple[str, ...]
    attempt: int = 1
    problem: str | None = None
    locale: str = "kk"

    @property
    def shown_origin(self) -> str:
        """The origin as the dialog names it."""
        return self.origin or LOCAL_PROGRAM


@dataclass(frozen=True)
class KeyChoice:
    """The person's pick: a key file and its password (and an alias when the file has several),
    or, with ``storage`` naming a token storage, that token's PIN in ``password`` (``token``: its
    serial or label when several are connected; ``path`` then only names the choice)."""

    path: Path
    password: str = field(repr=False)
    alias: str | None = None
    storage: str = "PKCS12"
    token: str | None = None

    @classmethod
    def for_token(
        cls, storage: str, pin: str, token: str | None = None, alias: str | None = None
    ) -> KeyChoice:
        """A token's key: the storage, the PIN, and which token and key when there are several."""
        return cls(Path(storage), pin, alias, storage=storage, token=token)

    @property
    def on_token(self) -> bool:
        """True when the key is on a token, not in a file."""
        return self.storage not in FILE_STORAGES


@dataclass(frozen=True)
class Refusal:
    """A "no" (cancel) that may also say "always block this site"."""

    block_origin: bool = False


@dataclass(frozen=True)
class KeyView:
    """A key as the dialog shows it: where it is and whose it is."""

    path: str
    alias: str
    identity: Identity

    @property
    def summary(self) -> str:
        """One line: name, IIN/BIN, purpose, validity end."""
        who = self.identity
        ids = f"IIN {who.iin}" if who.iin else "no IIN"
        if who.bin:
            ids += f", BIN {who.bin}"
        until = who.not_after.date().isoformat()
        return f"{who.common_name} ({ids}; {who.purpose.value}; valid until {until})"


@dataclass(frozen=True)
class RefusedKey:
    """A key the request's filters grey out, with one reason per failed filter."""

    key: KeyView
    reasons: tuple[str, ...]
    locale: str = "kk"


@dataclass(frozen=True)
class DocumentView:
    """One document of a request: its size, its SHA-256 and a short preview."""

    size: int
    sha256: str
    preview: str
    name: str | None = None

    @classmethod
    def of(cls, data: bytes, kind: Kind, name: str | None = None) -> DocumentView:
        """Describe ``data``: text and XML get a text preview, a hash its hex, binary its size.
        ``name`` is the local file the page named, shown so a page cannot slip in a file."""
        digest = hashlib.sha256(data).hexdigest()
        if kind == "hash":
            return cls(len(data), digest, f"hash {data.hex()}", name)
        # Only the beginning is decoded: decoding a 50 MiB text whole holds the GIL for tens of
        # milliseconds (the API's loop waits), and the preview shows the beginning anyway. A
        # character cut at the end of the slice is left for the decoder (final=False).
        head = data[: PREVIEW_CHARS * 8]
        whole = len(head) == len(data)
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
        except UnicodeDecodeError:
            return cls(len(data), digest, f"binary data, {len(data)} bytes", name)
        printable = "".join(c if c.isprintable() else " " for c in text[: PREVIEW_CHARS * 2])
        preview = " ".join(printable.split())[:PREVIEW_CHARS]
        if len(text) > PREVIEW_CHARS or not whole:
            preview += "…"
        return cls(len(data), digest, preview, name)


@dataclass(frozen=True)
class SignRequestView:
    """Everything the confirmation dialog names: who asks, what is signed, with which key."""

    origin: str | None
    kind: Kind
    documents: tuple[DocumentView, ...]
    key: KeyView
    detached: bool = False
    locale: str = "kk"
    logo: str | None = None
    # Things the person should know that do not stop the signature (revocation not checked).
    warnings: tuple[str, ...] = ()
    # The signature's standard name when the request asks for one ("XAdES-T"); None: the
    # kind's usual signature (NCALayer's XMLDSig, CMS).
    signature_format: str | None = None

    @property
    def shown_origin(self) -> str:
        """The origin as the dialog names it."""
        return self.origin or LOCAL_PROGRAM

    @property
    def count(self) -> int:
        """How many documents one approval signs."""
        return len(self.documents)

    @property
    def total_size(self) -> int:
        """Bytes over all documents."""
        return sum(d.size for d in self.documents)


@dataclass(frozen=True)
class FileRequest:
    """showFileChooser: a page asks the person to pick a local file (the page gets the path)."""

    origin: str | None
    extension: str
    directory: str
    locale: str = "kk"


class Prompter(Protocol):
    """The person at the computer, as the service sees them."""

    async def choose_key(self, request: KeyRequest) -> KeyChoice | Refusal | None:
        """Pick a key file and type its password; None (or a Refusal) means cancel."""
        ...

    async def wrong_password(self, path: str, attempt: int, attempts_left: int) -> None:
        """Say the password was wrong (choose_key is asked again unless no attempts are left)."""
        ...

    async def key_refused(self, refused: RefusedKey) -> None:
        """Say the chosen key does not fit the request, and why (it is greyed out)."""
        ...

    async def confirm(self, request: SignRequestView) -> bool | Refusal:
        """Ask whether to sign: True only on an explicit approval (False or a Refusal: no)."""
        ...

    async def choose_file(self, request: FileRequest) -> Path | Refusal | None:
        """Pick a local file for the page; None (or a Refusal) means cancel."""
        ...

    async def report_error(self, origin: str | None, error: QalamError, locale: str) -> None:
        """Show an error that ends the request."""
        ...


# --------------------------------------------------------------------------- scripted


@dataclass(frozen=True)
class ScriptedAnswer:
    """One scripted answer: a key file, its password, approve or cancel (and a file to pick)."""

    key: Path | None = None
    password: str = field(default="", repr=False)
    decision: Literal["approve", "cancel"] = "approve"
    file: Path | None = None
    alias: str | None = None
    block_origin: bool = False
    storage: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        if self.block_origin and self.decision != "cancel":
            reason = '"block_origin": true goes with "decision": "cancel" (blocking is a no)'
            raise InvalidInput("block_origin", reason=reason)

    @property
    def refusal(self) -> Refusal | None:
        """The "no, and block this site" this answer gives, if it does."""
        return Refusal(block_origin=True) if self.block_origin else None

    @classmethod
    def from_json(cls, obj: object, base: Path) -> ScriptedAnswer:
        """Read ``{"key", "password", "decision", "file", "alias", "block_origin"}``, or for a
        token ``{"storage", "pin", "token", "alias", ...}``; paths relative to ``base``."""
        if not isinstance(obj, dict):
            raise InvalidInput("script answer", reason="each scripted answer must be an object")
        known = {"key", "password", "decision", "file", "alias", "block_origin"}
        known |= {"storage", "pin", "token"}
        unknown = sorted(set(obj) - known)
        if unknown:
            reason = f"unknown field(s) in a scripted answer: {', '.join(unknown)}"
            raise InvalidInput("script answer", reason=reason)
        decision = obj.get("decision", "approve")
        if decision not in ("approve", "cancel"):
            raise InvalidInput("decision", reason='"decision" must be "approve" or "cancel"')
        block = obj.get("block_origin", False)
        if not isinstance(block, bool):
            raise InvalidInput("block_origin", reason='"block_origin" must be true or false')
        for name in known - {"decision", "block_origin"}:
            if obj.get(name) is not None and not isinstance(obj[name], str):
                raise InvalidInput(name, reason=f'"{name}" must be a string')
        storage = obj.get("storage")
        if storage is not None and storage not in _TOKEN_CHOICES:
            reason = f'"storage" must be a token storage ({", ".join(_TOKEN_CHOICES)})'
            raise InvalidInput("storage", reason=reason)
        key = obj.get("key")
        chosen = obj.get("file")
        return cls(
            key=(base / key) if key else None,
            password=obj.get("password") or obj.get("pin") or "",
            storage=storage,
            token=obj.get("token"),
            decision=decision,
            file=(base / chosen) if chosen else None,
            alias=obj.get("alias"),
            block_origin=block,
        )


@dataclass(frozen=True)
class Shown:
    """One prompt the scripted person was shown, in order."""

    kind: Literal["choose_key", "wrong_password", "key_refused", "confirm", "choose_file", "error"]
    payload: Any


class ScriptedPrompter:
    """Answers from a script and records what it was shown. TEST ONLY: it approves unattended.

    A single answer is used for every request; a list is consumed in order (``choose_key`` and
    ``choose_file`` take the next answer; ``confirm`` uses the answer its key came from) and,
    once used up, every further prompt is answered with cancel, so a script never approves more
    than it says.
    """

    def __init__(self, answers: ScriptedAnswer | Sequence[ScriptedAnswer]) -> None:
        self._repeat = isinstance(answers, ScriptedAnswer)
        if isinstance(answers, ScriptedAnswer):
            self._answers: list[ScriptedAnswer] = [answers]
        else:
            self._answers = list(answers)
        self._next = 0
        self._current: ScriptedAnswer | None = None
        self.shown: list[Shown] = []

    @classmethod
    def from_json(cls, text: str, base: Path | None = None) -> ScriptedPrompter:
        """A prompter from JSON: one answer object, or a list of them."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput("script", reason=f"the script is not JSON ({exc.msg})") from None
        folder = base or Path.cwd()
        if isinstance(data, list):
            return cls([ScriptedAnswer.from_json(item, folder) for item in data])
        return cls(ScriptedAnswer.from_json(data, folder))

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedPrompter:
        """A prompter from a script file; relative key paths are relative to the file's folder."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            reason = f"cannot read the script {p}: {exc.strerror}"
            raise InvalidInput("script", reason=reason) from None
        return cls.from_json(text, p.resolve().parent)

    def _take(self) -> ScriptedAnswer | None:
        if self._repeat:
            return self._answers[0]
        if self._next >= len(self._answers):
            return None
        answer = self._answers[self._next]
        self._next += 1
        return answer

    def of_kind(self, kind: str) -> list[Any]:
        """The payloads of the prompts of one kind, in order."""
        return [s.payload for s in self.shown if s.kind == kind]

    async def choose_key(self, request: KeyRequest) -> KeyChoice | Refusal | None:
        """The next answer's key and password, or None when it says cancel or none is left
        (a Refusal when a keyless answer says "block_origin")."""
        self.shown.append(Shown("choose_key", request))
        answer = self._take()
        self._current = answer
        if answer is None:
            return None
        if answer.storage is not None and answer.decision == "approve":
            return KeyChoice.for_token(answer.storage, answer.password, answer.token, answer.alias)
        if answer.key is None:
            return answer.refusal
        return KeyChoice(answer.key, answer.password, answer.alias)

    async def wrong_password(self, path: str, attempt: int, attempts_left: int) -> None:
        """Recorded."""
        self.shown.append(Shown("wrong_password", (path, attempt, attempts_left)))

    async def key_refused(self, refused: RefusedKey) -> None:
        """Recorded."""
        self.shown.append(Shown("key_refused", refused))

    async def confirm(self, request: SignRequestView) -> bool | Refusal:
        """Approve only if the answer the key came from says so."""
        self.shown.append(Shown("confirm", request))
        if self._current is not None and self._current.refusal is not None:
            return self._current.refusal
        return self._current is not None and self._current.decision == "approve"

    async def choose_file(self, request: FileRequest) -> Path | Refusal | None:
        """The next answer's file, unless it says cancel."""
        self.shown.append(Shown("choose_file", request))
        answer = self._take()
        if answer is None:
            return None
        if answer.decision == "cancel":
            return answer.refusal
        return answer.file

    async def report_error(self, origin: str | None, error: QalamError, locale: str) -> None:
        """Recorded (the code, never a detail that might hold input)."""
        self.shown.append(Shown("error", (origin, error.code)))


# --------------------------------------------------------------------------- terminal


class TerminalPrompter:
    """Asks on a terminal. Input runs in a worker thread so the event loop keeps serving.

    A blocked ``input()`` cannot be interrupted: when a request is cancelled while the terminal
    waits, the answer typed next is discarded.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr

    def _say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    @staticmethod
    async def _ask(prompt: str, secret: bool = False) -> str:
        reader = getpass.getpass if secret else input
        return await asyncio.to_thread(reader, prompt)

    async def choose_key(self, request: KeyRequest) -> KeyChoice | None:
        """Ask for a key file path and its password (an empty path cancels)."""
        self._say(f"\n== {request.shown_origin} asks for a key ({request.action}) ==")
        if request.filters:
            wanted = (localized(f, request.locale) for f in request.filters)
            self._say("Keys must: " + "; ".join(wanted))
        if request.problem:
            self._say(f"Previous attempt: {request.problem}")
        path = (await self._ask("Key file (.p12), empty to cancel: ")).strip()
        if not path:
            return None
        password = await self._ask("Password: ", secret=True)
        return KeyChoice(Path(path).expanduser(), password)

    async def wrong_password(self, path: str, attempt: int, attempts_left: int) -> None:
        """Say so, with the attempts left."""
        self._say(f"Wrong password for {path}. Attempts left: {attempts_left}.")

    async def key_refused(self, refused: RefusedKey) -> None:
        """Say which key does not fit and why."""
        self._say(f"This key cannot be used: {refused.key.summary}")
        for reason in refused.reasons:
            self._say(f"  - {localized(reason, refused.locale)}")

    async def confirm(self, request: SignRequestView) -> bool | Refusal:
        """Show origin, documents and key; approve only on "yes"; "block" refuses and blocks
        the site (not offered for a local program, which has no origin)."""
        self._say(f"\n== {request.shown_origin} asks you to sign ==")
        self._say(f"What: {request.count} {request.kind} document(s), {request.total_size} bytes")
        if request.signature_format:
            self._say(f"Signature: {request.signature_format}")
        for doc in request.documents[:5]:
            if doc.name:
                self._say(f"  file {doc.name}")
            self._say(f"  sha256 {doc.sha256}: {doc.preview}")
        if request.count > 5:
            self._say(f"  … and {request.count - 5} more")
        self._say(f"Key: {request.key.summary}")
        for warning in request.warnings:
            self._say(f"Warning: {localized(warning, request.locale)}")
        block = " 'block' to refuse and always block this site," if request.origin else ""
        answer = await self._ask(f"Sign? Type yes to sign,{block} anything else cancels: ")
        word = answer.strip().lower()
        if word == "block" and request.origin:
            return Refusal(block_origin=True)
        return word == "yes"

    async def choose_file(self, request: FileRequest) -> Path | None:
        """Ask for a path (an empty answer cancels)."""
        self._say(f"\n== {request.origin or LOCAL_PROGRAM} asks you to pick a file ==")
        path = (await self._ask("File path, empty to cancel: ")).strip()
        return Path(path).expanduser().resolve() if path else None

    async def report_error(self, origin: str | None, error: QalamError, locale: str) -> None:
        """Print the plain message."""
        self._say(f"Request from {origin or LOCAL_PROGRAM} failed: {error.message(locale)}")


__all__ = [
    "FILE_STORAGES",
    "KNOWN_STORAGES",
    "LOCAL_PROGRAM",
    "TOKEN_STORAGES",
    "DocumentView",
    "FileRequest",
    "KeyChoice",
    "KeyRequest",
    "KeyType",
    "KeyView",
    "Prompter",
    "Refusal",
    "RefusedKey",
    "ScriptedAnswer",
    "ScriptedPrompter",
    "Shown",
    "SignRequestView",
    "TerminalPrompter",
]

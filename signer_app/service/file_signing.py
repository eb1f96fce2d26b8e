"""Signing a local file from the desktop window: checks, the output name, and a safe write.

``SigningService.sign_file`` asks the person (key, confirmation) like every other request; this
module does the file work around it, in a worker thread:

* before any dialog, ``prepare`` checks the input (exists, readable, not empty, not too large
  for an in-memory format), that the output does not exist (unless replacing was agreed), and
  describes the document for the confirmation;
* after the approval, ``FileJob.run`` signs: a detached CMS is streamed with cms.sign_stream
  (constant memory, any size); an attached CMS or an XML signature holds the document in memory,
  so those are limited to ``MAX_IN_MEMORY``; progress is reported per chunk and a cancel stops
  at the next chunk;
* the signature goes to a temporary file in the output's folder and is renamed into place only
  once complete, so a cancelled or failed job leaves no partial output.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar, Literal

from ..crypto import cms, xmldsig
from ..crypto.errors import FileIOError, FileNotFound, InvalidInput, QalamError
from ..crypto.keystores import KeyEntry
from .errors import ActionCanceled
from .prompter import DocumentView, Kind

SignFormat = Literal["cms", "xml"]
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]
Stamp = Callable[[bytes], bytes]

# An attached CMS or a signed XML holds the whole document in memory (and so does checking it
# later); beyond this, a detached signature is the way.
MAX_IN_MEMORY = xmldsig.MAX_XML_SIZE
# Up to this size the confirmation shows the document's SHA-256 (one extra read, cheap); above
# it, hashing twice would double the time of a large detached signature.
MAX_DIGEST_PREVIEW = MAX_IN_MEMORY
CHUNK = 1 << 20

FILE_MESSAGES = {
    "en": "{path} already exists; choose another name or agree to replace it.",
    "ru": "{path} уже существует; выберите другое имя или согласитесь заменить файл.",
    "kk": "{path} бұрыннан бар; басқа атау таңдаңыз немесе ауыстыруға келісіңіз.",
}


class OutputExists(QalamError):
    """The signature's file already exists and replacing it was not agreed."""

    code: ClassVar[str] = "output_exists"

    def message(self, lang: str = "en") -> str:
        """The plain sentence (its own table: the crypto one knows nothing of output files)."""
        template = FILE_MESSAGES.get(lang, FILE_MESSAGES["en"])
        return template.format(path=self.params.get("path", ""))


def output_path(path: Path, fmt: SignFormat, detached: bool) -> Path:
    """report.pdf -> report.pdf.cms (attached) or report.pdf.sig (detached); doc.xml ->
    doc.signed.xml."""
    if fmt == "xml":
        if path.suffix.lower() == ".xml":
            return path.with_name(f"{path.stem}.signed{path.suffix}")
        return path.with_name(f"{path.name}.signed.xml")
    return path.with_name(path.name + (".sig" if detached else ".cms"))


def _size(path: Path) -> int:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FileNotFound(str(path), path=str(path)) from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(path)) from None
    if not path.is_file():
        raise InvalidInput(str(path), reason=f"{path.name} is not a file")
    if st.st_size == 0:
        raise InvalidInput(str(path), reason=f"{path.name} is empty: there is nothing to sign")
    return st.st_size


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(path)) from None


def _read_all(path: Path, size: int, progress: Progress | None, stop: Cancelled) -> bytes:
    data = bytearray()
    with _open(path) as handle:
        while chunk := handle.read(CHUNK):
            if stop():
                raise ActionCanceled("cancelled while reading")
            data += chunk
            if progress is not None:
                progress(len(data), size)
    return bytes(data)


@dataclass(frozen=True)
class FileJob:
    """One file to sign, checked, with what the confirmation shows."""

    path: Path
    out: Path
    fmt: SignFormat
    detached: bool
    size: int
    view: DocumentView
    overwrite: bool = False

    @property
    def kind(self) -> Kind:
        """What the confirmation calls it."""
        return self.fmt

    def run(
        self,
        entry: KeyEntry,
        stamp: Stamp | None,
        progress: Progress | None,
        stop: Cancelled,
    ) -> Path:
        """Sign into a temporary file, then rename it to ``out``; nothing is left on failure."""
        folder = self.out.parent
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{self.out.name}.", suffix=".part", dir=folder)
        except OSError as exc:
            raise FileIOError(exc.strerror or "cannot write", path=str(self.out)) from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o644)
                handle.write(self._signature(entry, stamp, progress, stop))
                handle.flush()
                os.fsync(handle.fileno())
            if stop():
                raise ActionCanceled("cancelled before the file was saved")
            self._commit(tmp)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
                raise FileIOError(exc.strerror or "cannot write", path=str(self.out)) from None
            raise
        return self.out

    def _commit(self, tmp: Path) -> None:
        if self.overwrite:
            os.replace(tmp, self.out)
            return
        try:
            # A hard link never replaces: if the file appeared meanwhile, nothing is lost.
            os.link(tmp, self.out)
        except FileExistsError:
            raise OutputExists(str(self.out), path=str(self.out)) from None
        tmp.unlink()

    def _signature(
        self, entry: KeyEntry, stamp: Stamp | None, progress: Progress | None, stop: Cancelled
    ) -> bytes:
        if self.fmt == "xml":
            text = _read_all(self.path, self.size, progress, stop)
            if stamp is None:
                return xmldsig.sign_xml(text, entry).encode("utf-8")
            # A timestamp on an XML document: XAdES-T (the signature timestamp as its unsigned
            # property), which NCALayer-style XMLDSig has no place for.
            from ..crypto import xades

            return xades.sign_xades(text, entry, level="t", stamp=stamp).encode("utf-8")
        if self.detached:

            def step(done: int) -> None:
                if stop():
                    raise ActionCanceled("cancelled while signing")
                if progress is not None:
                    progress(done, self.size)

            with _open(self.path) as handle:
                der = cms.sign_stream(handle, entry, progress=step)
        else:
            der = cms.sign(_read_all(self.path, self.size, progress, stop), entry)
        if stop():
            raise ActionCanceled("cancelled while signing")
        return cms.add_signature_timestamp(der, stamp) if stamp is not None else der


def prepare(
    path: Path,
    out: Path,
    fmt: SignFormat,
    detached: bool,
    overwrite: bool = False,
) -> FileJob:
    """Check the input and the output before any dialog; describe the document."""
    if fmt == "xml" and detached:
        raise InvalidInput("detached xml", reason="an XML signature is always inside the XML")
    size = _size(path)
    if (fmt == "xml" or not detached) and size > MAX_IN_MEMORY:
        limit = MAX_IN_MEMORY >> 20
        reason = (
            f"{path.name} is larger than {limit} MiB; sign it with a detached signature"
            if fmt == "cms"
            else f"{path.name} is larger than {limit} MiB, the largest XML that can be signed"
        )
        raise InvalidInput(str(path), reason=reason)
    if out.exists() and not overwrite:
        raise OutputExists(str(out), path=str(out))
    if not out.parent.is_dir():
        raise FileNotFound(str(out.parent), path=str(out.parent))
    kind: Kind = fmt
    if size <= MAX_DIGEST_PREVIEW:
        with _open(path) as handle:
            data = handle.read()
        if fmt == "xml":
            xmldsig.parse(data)  # a malformed document costs no dialog
        view = DocumentView.of(data, kind, str(path))
    else:
        # The SHA-256 is computed while signing; hashing the file twice would double the time.
        view = DocumentView(size, "", f"binary data, {size} bytes", str(path))
    return FileJob(path, out, fmt, detached, size, view, overwrite)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, hex (tests and the verify page)."""
    digest = hashlib.sha256()
    with _open(path) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = [
    "MAX_IN_MEMORY",
    "FileJob",
    "OutputExists",
    "SignFormat",
    "output_path",
    "prepare",
    "sha256_of",
]

"""Signing a local PDF from the Sign page: what the PDF is (read before any dialog), where a
visible stamp goes, and a signed copy that appears whole or not at all.

crypto/pades.sign_pdf (through service/pdf_signing.sign_pdf_file) writes atomically but cannot
be stopped half-way: pyHanko signs in one call. So the job signs into a private folder beside
the output and links the result into place only when nobody cancelled meanwhile; a cancel
during signing waits for pyHanko, then throws the copy away.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from ..crypto.algorithms import KeyAlgorithm
from ..crypto.errors import (
    EncryptedPdf,
    FileIOError,
    FileNotFound,
    InvalidInput,
    MalformedPdf,
    PadesAlgorithmRefused,
)
from ..crypto.keystores import KeyEntry
from .errors import ActionCanceled
from .file_signing import MAX_IN_MEMORY, Cancelled, OutputExists
from .prompter import DocumentView

if TYPE_CHECKING:
    # crypto/pades imports pyHanko (a second of start-up): the app loads it on the first PDF.
    from ..crypto.pades import PadesLevel, VisibleField

Corner = Literal["bottom-right", "bottom-left", "top-right", "top-left"]
StampPage = Literal["first", "last"]
CORNERS: Final[tuple[Corner, ...]] = ("bottom-right", "bottom-left", "top-right", "top-left")

# The stamp holds three or four lines of 9 pt text (name, IIN/BIN, time): 200 x 60 points,
# 36 points (half an inch) from the page's edges.
STAMP_WIDTH = 200
STAMP_HEIGHT = 60
MARGIN = 36
A4 = (595.0, 842.0)
_REFUSED = (KeyAlgorithm.GOST2015, KeyAlgorithm.GOST2004)
CHUNK = 1 << 20


@dataclass(frozen=True)
class PdfFacts:
    """What a readable, unencrypted PDF holds: pages, signatures, first and last page sizes."""

    pages: int
    signatures: int
    first_size: tuple[float, float]
    last_size: tuple[float, float]


def looks_like_pdf(path: Path) -> bool:
    """True when the file starts with ``%PDF-`` (its content, whatever its name)."""
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def inspect_pdf(path: Path) -> PdfFacts:
    """Read the PDF's structure; MalformedPdf or EncryptedPdf for what cannot be signed."""
    from pyhanko.pdf_utils import misc as pdf_misc
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields

    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise FileNotFound(str(path), path=str(path)) from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(path)) from None
    with handle:
        if handle.read(5) != b"%PDF-":
            raise MalformedPdf("no %PDF- header")
        handle.seek(0)
        try:
            reader = PdfFileReader(handle, strict=False)
            if reader.encrypted:
                raise EncryptedPdf("the PDF is encrypted")
            tree = reader.root["/Pages"]
            pages = int(tree["/Count"])
            if pages < 1:
                raise MalformedPdf("no pages")
            # The form's signature fields, not every annotation of every page: a co-signed
            # 2,000-page PDF is read in milliseconds.
            signatures = sum(1 for _ in fields.enumerate_sig_fields(reader, filled_status=True))
            first = _edge_page_size(tree, last=False)
            last = _edge_page_size(tree, last=True)
        except (pdf_misc.PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise MalformedPdf(f"{type(exc).__name__}: {exc}") from None
    return PdfFacts(pages, signatures, first, last)


def _edge_page_size(tree: Any, *, last: bool) -> tuple[float, float]:
    """The first or last page's size, found by walking down one edge of the page tree (a
    search by page number visits every page before it). /MediaBox is inherited (ISO 32000-1
    7.7.3.4): the nearest one on the way down counts; none at all means A4."""
    box = None
    node = tree
    for _ in range(64):  # a deeper tree is a loop or a forgery
        box = node.get("/MediaBox", box)
        if node.get("/Type") != "/Pages":
            break
        kids = list(node["/Kids"])
        # Only the kids on the edge are read; an empty subtree holds no page, so the edge is
        # the nearest kid with pages.
        ordered = (k.get_object() for k in (reversed(kids) if last else kids))
        node = next(k for k in ordered if k.get("/Type") != "/Pages" or int(k["/Count"]) > 0)
    else:
        raise MalformedPdf("the page tree is too deep")
    if box is None:
        return A4
    x1, y1, x2, y2 = (float(v) for v in box)
    return abs(x2 - x1), abs(y2 - y1)


def stamp_field(facts: PdfFacts, page: StampPage, corner: Corner) -> VisibleField:
    """The visible stamp's box on the first or last page, in the corner asked."""
    from ..crypto.pades import VisibleField

    number = 1 if page == "first" else facts.pages
    width, height = facts.first_size if page == "first" else facts.last_size
    w = min(STAMP_WIDTH, max(1, int(width) - 2 * MARGIN))
    h = min(STAMP_HEIGHT, max(1, int(height) - 2 * MARGIN))
    left = MARGIN if corner.endswith("left") else max(0, int(width) - MARGIN - w)
    bottom = MARGIN if corner.startswith("bottom") else max(0, int(height) - MARGIN - h)
    return VisibleField(number, (left, bottom, left + w, bottom + h))


def refuse_gost(entry: KeyEntry) -> None:
    """PadesAlgorithmRefused for a GOST key (asked before the confirmation, not after)."""
    if entry.key.algorithm in _REFUSED:
        name = entry.key.algorithm.value
        raise PadesAlgorithmRefused(name, name=name)


@dataclass(frozen=True)
class PdfJob:
    """One PDF to sign, checked, with what the confirmation shows."""

    source: Path
    out: Path
    level: PadesLevel
    visible: VisibleField | None
    data_dir: Path
    tsa_url: str | None
    view: DocumentView
    facts: PdfFacts
    overwrite: bool = False

    def run(self, entry: KeyEntry, stop: Cancelled) -> Path:
        """Sign into a private folder, then move the copy to ``out`` unless cancelled."""
        from .pdf_signing import sign_pdf_file

        if stop():
            raise ActionCanceled("cancelled before signing")
        try:
            folder = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        except OSError as exc:
            raise FileIOError(exc.strerror or "cannot write", path=str(self.out)) from None
        try:
            signed = sign_pdf_file(
                self.source,
                entry,
                folder / self.out.name,
                data_dir=self.data_dir,
                level=self.level,
                visible=self.visible,
                tsa_url=self.tsa_url,
            )
            if stop():
                raise ActionCanceled("cancelled while signing")
            self._commit(signed)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return self.out

    def _commit(self, signed: Path) -> None:
        try:
            if self.overwrite:
                os.replace(signed, self.out)
                return
            # A hard link never replaces: a file that appeared meanwhile is kept.
            os.link(signed, self.out)
        except FileExistsError:
            raise OutputExists(str(self.out), path=str(self.out)) from None
        except OSError as exc:
            raise FileIOError(exc.strerror or "cannot write", path=str(self.out)) from None


def prepare_pdf(
    source: Path,
    *,
    data_dir: Path,
    level: PadesLevel = "b-b",
    tsa_url: str | None = None,
    stamp: tuple[StampPage, Corner] | None = None,
    out: Path | None = None,
    overwrite: bool = False,
) -> PdfJob:
    """Check the PDF and the output before any dialog (a broken or encrypted PDF costs no
    prompt); ``out`` defaults to doc.signed.pdf next to the input."""
    from ..crypto.pades import default_output

    if level != "b-b" and not tsa_url:
        reason = f"PAdES {level.upper()} needs a timestamp service: set one in the settings"
        raise InvalidInput(level, reason=reason)
    facts = inspect_pdf(source)
    target = out or default_output(source)
    if target.exists() and not overwrite:
        raise OutputExists(str(target), path=str(target))
    with contextlib.suppress(OSError):
        if target.exists() and target.samefile(source):
            reason = "the signed PDF cannot replace the document it signs"
            raise InvalidInput(str(target), reason=reason)
    if not target.parent.is_dir():
        raise FileNotFound(str(target.parent), path=str(target.parent))
    visible = stamp_field(facts, *stamp) if stamp is not None else None
    return PdfJob(
        source, target, level, visible, data_dir, tsa_url, _view(source, facts), facts, overwrite
    )


def _view(source: Path, facts: PdfFacts) -> DocumentView:
    size = source.stat().st_size
    digest = ""
    if size <= MAX_IN_MEMORY:
        hasher = hashlib.sha256()
        with source.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                hasher.update(chunk)
        digest = hasher.hexdigest()
    signed = f", {facts.signatures} signature(s) already" if facts.signatures else ""
    return DocumentView(size, digest, f"PDF, {facts.pages} page(s){signed}", str(source))


__all__ = [
    "CORNERS",
    "Corner",
    "PdfFacts",
    "PdfJob",
    "StampPage",
    "inspect_pdf",
    "looks_like_pdf",
    "prepare_pdf",
    "refuse_gost",
    "stamp_field",
]

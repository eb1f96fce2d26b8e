"""PAdES signing (ETSI EN 319 142-1 baseline B-B, B-T, B-LT, B-LTA) through pyHanko.

pyHanko builds the PDF side (signature field, /ByteRange, CMS with the PAdES signed attributes,
DSS, document timestamp); Qalam supplies three things it cannot know:

* the raw signature, from any of our ``SigningKey`` objects (key file or token) through a
  pyHanko ``Signer`` whose ``async_sign_raw`` delegates to the key: RSA PKCS#1 v1.5 or ECDSA.
  GOST keys are refused: no PDF reader checks a GOST PAdES signature;
* timestamps, from a ``stamp`` callable (imprint, digest -> DER TimeStampToken; the service
  passes the TSA of the settings, by default the bundled CA's /tsp);
* revocation data for B-LT/B-LTA, from our revocation fetchers (OCSP, CRL, AIA) over a
  ``Fetching`` (transport, cache, URL rewrites) and the trust anchors the chain must reach.

The output goes to a temporary file next to the target and is renamed into place once complete,
so a failure leaves nothing behind; the input is never overwritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal

from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import misc as pdf_misc
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .algorithms import DigestAlgorithm, KeyAlgorithm
from .errors import (
    EncryptedPdf,
    FileIOError,
    FileNotFound,
    InvalidInput,
    MalformedPdf,
    PadesAlgorithmRefused,
    PadesValidationFailed,
    QalamError,
)
from .identity import identity_of
from .keystores import KeyEntry
from .revocation import RevocationCache, RevocationFetchers, Transport

PadesLevel = Literal["b-b", "b-t", "b-lt", "b-lta"]
LEVELS: Final[tuple[PadesLevel, ...]] = ("b-b", "b-t", "b-lt", "b-lta")
# (imprint, digest algorithm) -> DER TimeStampToken (service/tsa_client.HttpTsa.stamp_token).
Stamp = Callable[[bytes, DigestAlgorithm], bytes]

_DIGESTS = {d.hashlib_name: d for d in DigestAlgorithm}
_REFUSED = {KeyAlgorithm.GOST2015, KeyAlgorithm.GOST2004}
# Where the usual systems keep a TrueType font with Cyrillic and Kazakh letters (Debian/Ubuntu:
# fonts-dejavu-core; Fedora; Windows; macOS).
_UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),
    Path("C:/Windows/Fonts/arial.ttf"),
    Path("/System/Library/Fonts/Supplemental/Arial.ttf"),
)
# ECDSA signatures are DER of two integers: their size varies by a few bytes from one signature
# to the next, so the dry run (which sizes the /Contents placeholder) answers the largest.
_EC_DER_OVERHEAD = 9


@dataclass(frozen=True, slots=True)
class VisibleField:
    """A visible signature box: 1-based page, and the box in PDF points from the bottom left."""

    page: int
    box: tuple[int, int, int, int]

    @classmethod
    def parse(cls, text: str) -> VisibleField:
        """'PAGE,X1,Y1,X2,Y2' (the CLI's --visible)."""
        parts = text.split(",")
        try:
            page, x1, y1, x2, y2 = (int(p.strip()) for p in parts)
        except ValueError:
            reason = "--visible takes PAGE,X1,Y1,X2,Y2 (five whole numbers)"
            raise InvalidInput(text, reason=reason) from None
        if page < 1 or x2 <= x1 or y2 <= y1 or min(x1, y1) < 0:
            reason = "the page counts from 1 and the box needs X1 < X2 and Y1 < Y2, not negative"
            raise InvalidInput(text, reason=reason)
        return cls(page, (x1, y1, x2, y2))


@dataclass(frozen=True, slots=True)
class Revocation:
    """Where B-LT/B-LTA get revocation data: a transport, a cache, rewrites, and the anchors."""

    transport: Transport
    anchors: Sequence[x509.Certificate]
    cache: RevocationCache | None = None
    rewrites: dict[str, str] | None = None
    intermediates: Sequence[x509.Certificate] = ()


class _KeySigner(signers.Signer):
    """A pyHanko Signer whose raw signature comes from a Qalam SigningKey (file or token)."""

    def __init__(self, entry: KeyEntry) -> None:
        certificate = asn1_x509.Certificate.load(entry.certificate_der)
        chain = [_asn1(c) for c in entry.chain]
        # pyHanko adds the signing certificate itself: in the registry too, it went into the
        # CMS twice. The root goes into the CMS and the DSS (embed_roots), so the document
        # timestamp of B-LTA proves it existed: without that, AdES past validation (ETSI EN
        # 319 102-1; pyHanko's adesverify) finds no usable revocation data for the issuing CA
        # (the root's CRL in the DSS) and answers INDETERMINATE/NO_POE.
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
            embed_roots=True,
        )
        self._key = entry.key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        """Sign ``data`` with our key (or answer a placeholder of the largest size)."""
        if dry_run:
            size = (self._key.key_size + 7) // 8
            if self._key.algorithm is KeyAlgorithm.EC:
                size = 2 * size + _EC_DER_OVERHEAD
            return bytes(size)
        digest = _DIGESTS.get(digest_algorithm.lower())
        if digest is None:
            raise SigningError(f"digest {digest_algorithm} is not supported")
        return self._key.sign(data, digest)


class _CallableTimeStamper(TimeStamper):
    """A pyHanko TimeStamper over a Qalam ``stamp`` callable (RFC 3161 client of the service)."""

    def __init__(self, stamp: Stamp) -> None:
        super().__init__(include_nonce=False)  # type: ignore[no-untyped-call]
        self._stamp = stamp

    async def async_timestamp(
        self, message_digest: bytes, md_algorithm: str
    ) -> asn1_cms.ContentInfo:
        """The token over ``message_digest``, fetched in a thread (the stamp call blocks)."""
        digest = _DIGESTS.get(md_algorithm.lower())
        if digest is None:
            raise SigningError(f"digest {md_algorithm} is not supported for timestamps")
        token = await asyncio.to_thread(self._stamp, message_digest, digest)
        return asn1_cms.ContentInfo.load(token)


def default_output(source: Path) -> Path:
    """doc.pdf -> doc.signed.pdf (next to the input)."""
    suffix = source.suffix if source.suffix.lower() == ".pdf" else ".pdf"
    stem = source.stem if source.suffix.lower() == ".pdf" else source.name
    return source.with_name(f"{stem}.signed{suffix}")


def sign_pdf(
    source: Path,
    entry: KeyEntry,
    output: Path | None = None,
    *,
    level: PadesLevel = "b-b",
    stamp: Stamp | None = None,
    revocation: Revocation | None = None,
    visible: VisibleField | None = None,
    field_name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Sign the PDF ``source`` at ``level`` into ``output`` (default doc.signed.pdf); returns it.

    b-t and above need ``stamp``; b-lt and above also need ``revocation``."""
    if level not in LEVELS:
        raise InvalidInput(level, reason=f"the PAdES level is one of {', '.join(LEVELS)}")
    if entry.key.algorithm in _REFUSED:
        raise PadesAlgorithmRefused(entry.key.algorithm.value, name=entry.key.algorithm.value)
    if level != "b-b" and stamp is None:
        raise InvalidInput(level, reason=f"PAdES {level.upper()} needs a timestamp service")
    if level in ("b-lt", "b-lta") and revocation is None:
        reason = f"PAdES {level.upper()} needs revocation data: signing offline cannot make it"
        raise InvalidInput(level, reason=reason)
    target = output or default_output(source)
    _check_paths(source, target, overwrite)
    with _open_input(source) as handle:
        writer = _writer(handle)
        if visible is not None:
            _check_page(writer, visible)
        # B-B carries no timestamp even when a stamp is at hand (the caller's TSA setting).
        pdf_signer = _pdf_signer(
            entry,
            level,
            stamp if level != "b-b" else None,
            revocation,
            visible,
            field_name or _free_field_name(writer),
        )
        _write_atomically(target, lambda out: _sign_into(pdf_signer, writer, out))
    return target


def _pdf_signer(
    entry: KeyEntry,
    level: PadesLevel,
    stamp: Stamp | None,
    revocation: Revocation | None,
    visible: VisibleField | None,
    name: str,
) -> signers.PdfSigner:
    context = None
    if level in ("b-lt", "b-lta") and revocation is not None:
        context = _validation_context(entry, revocation)
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=context is not None,
        use_pades_lta=level == "b-lta",
        validation_context=context,
    )
    field_spec = None
    style = None
    if visible is not None:
        field_spec = fields.SigFieldSpec(name, on_page=visible.page - 1, box=visible.box)
        style = _stamp_style(entry)
    return signers.PdfSigner(
        meta,
        signer=_KeySigner(entry),
        timestamper=_CallableTimeStamper(stamp) if stamp is not None else None,
        stamp_style=style,
        new_field_spec=field_spec,
    )


def unicode_font() -> Path | None:
    """A TrueType font with Cyrillic and Kazakh letters, if the system has one."""
    return next((path for path in _UNICODE_FONTS if path.is_file()), None)


def _stamp_style(entry: KeyEntry) -> TextStampStyle:
    """The visible box: the signer's name, IIN (or BIN) and the signing time.

    PDF's standard fonts have no Cyrillic: Kazakh names need an embedded TrueType font
    (pyHanko subsets it); without one on the system, pyHanko's Courier is the last resort."""
    who = identity_of(entry.certificate)
    lines = [who.full_name or who.common_name]
    if who.iin:
        lines.append(f"IIN {who.iin}")
    if who.bin:
        lines.append(f"BIN {who.bin}")
    # pyHanko fills %(ts)s; a literal % in a name must not be read as a placeholder.
    text = "\n".join(line.replace("%", "%%") for line in lines) + "\n%(ts)s"
    font = unicode_font()
    if font is None:
        return TextStampStyle(stamp_text=text)
    box = TextBoxStyle(font=GlyphAccumulatorFactory(str(font), font_size=9))
    return TextStampStyle(stamp_text=text, text_box_style=box)


def _validation_context(entry: KeyEntry, revocation: Revocation) -> ValidationContext:
    fetch = RevocationFetchers(
        revocation.transport, revocation.cache or RevocationCache(), dict(revocation.rewrites or {})
    )
    return ValidationContext(
        trust_roots=[_asn1(c) for c in revocation.anchors],
        other_certs=[_asn1(c) for c in (*entry.chain, *revocation.intermediates)],
        allow_fetching=True,
        fetchers=fetch.fetchers(),
        revocation_mode="hard-fail",
    )


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _check_paths(source: Path, target: Path, overwrite: bool) -> None:
    if not source.is_file():
        if not source.exists():
            raise FileNotFound(str(source), path=str(source))
        raise InvalidInput(str(source), reason=f"{source.name} is not a file")
    if target.exists() and (target.samefile(source) or not overwrite):
        reason = (
            "the signed PDF cannot replace the document it signs"
            if target.samefile(source)
            else f"{target} already exists; choose another output name"
        )
        raise InvalidInput(str(target), reason=reason)


@contextlib.contextmanager
def _open_input(source: Path) -> Any:
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot read", path=str(source)) from None
    with handle:
        yield handle


def _writer(handle: IO[bytes]) -> IncrementalPdfFileWriter:
    """An incremental writer over the input, with unreadable and encrypted PDFs refused."""
    if handle.read(5) != b"%PDF-":
        raise MalformedPdf("no %PDF- header")
    handle.seek(0)
    try:
        writer = IncrementalPdfFileWriter(handle, strict=False)
    except (pdf_misc.PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise MalformedPdf(f"{type(exc).__name__}: {exc}") from None
    if writer.prev.encrypted:
        raise EncryptedPdf("the PDF is encrypted")
    return writer


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    """Signature1, or the next SignatureN no field of the document uses (co-signing)."""
    try:
        taken = {name for name, _, _ in fields.enumerate_sig_fields(writer)}
    except (pdf_misc.PdfError, ValueError, KeyError, TypeError) as exc:
        raise MalformedPdf(f"signature fields: {type(exc).__name__}: {exc}") from None
    return next(f"Signature{n}" for n in range(1, len(taken) + 2) if f"Signature{n}" not in taken)


def _check_page(writer: IncrementalPdfFileWriter, visible: VisibleField) -> None:
    pages = int(writer.root["/Pages"]["/Count"])
    if visible.page > pages:
        reason = f"page {visible.page} does not exist: the document has {pages}"
        raise InvalidInput(str(visible.page), reason=reason)


def _sign_into(
    pdf_signer: signers.PdfSigner, writer: IncrementalPdfFileWriter, out: IO[bytes]
) -> None:
    try:
        pdf_signer.sign_pdf(writer, output=out)
    except QalamError:
        raise
    except SigningError as exc:
        raise _signing_failure(exc) from None
    except pdf_misc.PdfError as exc:
        raise MalformedPdf(f"{type(exc).__name__}: {exc}") from None


def _signing_failure(error: SigningError) -> QalamError:
    """pyHanko's SigningError, told apart by its cause (B-LT validates before signing)."""
    cause = error.__cause__
    detail = f"{error}: {type(cause).__name__}: {cause}" if cause else str(error)
    if isinstance(cause, cv_errors.RevokedError):
        return PadesValidationFailed(detail, reason="the signer's certificate is revoked")
    if isinstance(cause, cv_errors.InsufficientRevinfoError):
        reason = "its revocation status could not be fetched (is the CA reachable?)"
        return PadesValidationFailed(detail, reason=reason)
    if isinstance(cause, cv_errors.PathBuildingError):
        return PadesValidationFailed(detail, reason="its chain does not reach a trusted root")
    if isinstance(cause, (cv_errors.PathValidationError, cv_errors.ValidationError)):
        return PadesValidationFailed(detail, reason=str(cause))
    return MalformedPdf(detail)


def _write_atomically(target: Path, produce: Callable[[IO[bytes]], None]) -> None:
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
    except OSError as exc:
        raise FileIOError(exc.strerror or "cannot write", path=str(target)) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as out:
            os.fchmod(out.fileno(), 0o644)
            produce(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise FileIOError(exc.strerror or "cannot write", path=str(target)) from None
        raise


__all__ = [
    "LEVELS",
    "PadesLevel",
    "Revocation",
    "Stamp",
    "VisibleField",
    "default_output",
    "sign_pdf",
    "unicode_font",
]

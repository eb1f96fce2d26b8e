"""PDF material for the PAdES tests and bench: a plain N-page document made with pyHanko's own
writer (no extra dependency), and the demo PKI's files pyHanko's CLI needs (PEM key, chain).
"""

from __future__ import annotations

import io
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from signer_app.crypto.keystores import KeyEntry, SoftwareKey

ROOT = Path(__file__).resolve().parent.parent
DEMO_ROOTS = ROOT / "certs" / "trust" / "demo-roots.pem"
DEMO_CHAIN = ROOT / "certs" / "trust" / "demo-chain.pem"


def pdf_bytes(pages: int = 10) -> bytes:
    """A valid PDF of ``pages`` pages, each with one line of Helvetica text."""
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
            }
        )
    )
    for number in range(1, pages + 1):
        text = f"BT /F1 18 Tf 72 720 Td (Qalam test document, page {number}) Tj ET"
        content = writer.add_object(generic.StreamObject(stream_data=text.encode("ascii")))
        page = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
                generic.pdf_name("/Contents"): content,
                generic.pdf_name("/Resources"): generic.DictionaryObject(
                    {
                        generic.pdf_name("/Font"): generic.DictionaryObject(
                            {generic.pdf_name("/F1"): font}
                        )
                    }
                ),
            }
        )
        writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf_bytes() -> bytes:
    """A (blank) PDF encrypted with a user password by pyHanko's writer."""
    writer = PdfFileWriter()
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_page_text_changed(signed: bytes, text: str = "Pay 1 000 000 to Mallory") -> bytes:
    """``signed`` plus an incremental update that replaces page 1's text: the kind of change a
    signature does not allow (only signature maintenance and form filling are)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    first = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = first.get_object()
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    page[generic.pdf_name("/Contents")] = writer.add_object(
        generic.StreamObject(stream_data=content)
    )
    writer.mark_update(first)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_pdf(folder: Path, pages: int = 10, name: str = "doc.pdf") -> Path:
    """``pdf_bytes(pages)`` saved as ``folder/name``."""
    path = folder / name
    path.write_bytes(pdf_bytes(pages))
    return path


def pem_files(entry: KeyEntry, folder: Path) -> tuple[Path, Path, Path]:
    """Key (unencrypted PEM), certificate and chain for `pyhanko sign addsig pemder`."""
    assert isinstance(entry.key, SoftwareKey)
    key = folder / "key.pem"
    key.write_bytes(
        entry.key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert = folder / "cert.pem"
    cert.write_bytes(entry.certificate.public_bytes(serialization.Encoding.PEM))
    chain = folder / "chain.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in entry.chain))
    return key, cert, chain

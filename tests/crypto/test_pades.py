"""PAdES signing (crypto/pades.py): what each level puts in the PDF, the visible field, the keys
it accepts, and bad input refused with a clear error and no output."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pades_helpers import encrypted_pdf_bytes, pdf_bytes, write_pdf
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from softhsm import PIN, SoftHsm, softhsm
from validation_helpers import CERTIFIED_BASE, RunningCa, demo_anchors

from signer_app.crypto import pades
from signer_app.crypto.algorithms import DigestAlgorithm, KeyAlgorithm
from signer_app.crypto.errors import (
    EncryptedPdf,
    InvalidInput,
    MalformedPdf,
    PadesAlgorithmRefused,
    PadesValidationFailed,
    TsaUnavailable,
)
from signer_app.crypto.pkcs11 import load_module
from signer_app.service.http_fetch import HttpTransport
from signer_app.service.pdf_signing import tsa_stamp

__all__ = ["softhsm"]  # fixture, used by name

NO_REVOCATION = CertRevTrustPolicy(
    RevocationCheckingPolicy(RevocationCheckingRule.NO_CHECK, RevocationCheckingRule.NO_CHECK)
)


def _roots() -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in demo_anchors()]


def _reader(path: Path) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(path.read_bytes()))


def _pyhanko_judges_valid(path: Path) -> bool:
    """pyHanko's verdict on the first signature: intact, valid, trusted (revocation not asked)."""
    context = ValidationContext(trust_roots=_roots(), revinfo_policy=NO_REVOCATION)
    status = validate_pdf_signature(_reader(path).embedded_regular_signatures[0], context)
    return bool(status.bottom_line)


def _only_the_input(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def document(tmp_path: Path) -> Path:
    return write_pdf(tmp_path)


def _online(ca: RunningCa) -> pades.Revocation:
    return pades.Revocation(HttpTransport(timeout=5), demo_anchors(), rewrites=ca.rewrites)


def test_b_b_writes_doc_signed_pdf_next_to_the_input_and_keeps_the_input(document, demo) -> None:
    before = document.read_bytes()
    out = pades.sign_pdf(document, demo["citizen_sign"].open())
    assert out == document.with_name("doc.signed.pdf")
    assert document.read_bytes() == before
    assert out.read_bytes().startswith(before)  # an incremental update of the original
    signature = _reader(out).embedded_regular_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert _pyhanko_judges_valid(out)


def test_an_ec_key_signs_a_pdf_pyhanko_accepts(document, demo, tmp_path) -> None:
    out = pades.sign_pdf(document, demo["citizen_ec_sign"].open(), tmp_path / "ec.pdf")
    signature = _reader(out).embedded_regular_signatures[0]
    assert signature.signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    assert _pyhanko_judges_valid(out)


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.RSA, KeyAlgorithm.EC])
def test_a_token_key_signs_a_pdf_pyhanko_accepts(
    softhsm: SoftHsm, demo, document, tmp_path, algorithm: KeyAlgorithm
) -> None:
    softhsm.init_token("citizen")
    softhsm.import_entry("citizen", demo["citizen_sign"].open(), b"\x01")
    softhsm.import_entry("citizen", demo["citizen_ec_sign"].open(), b"\x02")
    softhsm.activate()
    token = load_module(softhsm.lib).login(PIN, None)
    try:
        entry = next(e for e in token.entries() if e.key.algorithm is algorithm)
        out = pades.sign_pdf(document, entry, tmp_path / f"token-{algorithm.name}.pdf")
    finally:
        token.close()  # an open session would keep the driver loaded for later tests
    assert _pyhanko_judges_valid(out)


def test_visible_signature_sits_in_the_box_on_the_page_asked(document, demo) -> None:
    field = pades.VisibleField.parse("2,50,60,300,120")
    out = pades.sign_pdf(document, demo["citizen_sign"].open(), visible=field)
    reader = _reader(out)
    page = reader.root["/Pages"]["/Kids"][1].get_object()
    annotations = [a.get_object() for a in page.get("/Annots", [])]
    widgets = [a for a in annotations if a.get("/FT") == "/Sig"]
    assert [[int(v) for v in w["/Rect"]] for w in widgets] == [[50, 60, 300, 120]]
    assert "/AP" in widgets[0]  # an appearance: the signer's name and the date
    assert not reader.root["/Pages"]["/Kids"][0].get_object().get("/Annots")
    assert _pyhanko_judges_valid(out)


def test_the_visible_stamp_embeds_a_unicode_font_for_kazakh_names(document, demo) -> None:
    font = pades.unicode_font()
    assert font is not None, "fonts-dejavu-core (scripts/debian-packages.txt) is not installed"
    field = pades.VisibleField(1, (40, 40, 320, 130))
    out = pades.sign_pdf(document, demo["citizen_sign"].open(), visible=field)
    page = _reader(out).root["/Pages"]["/Kids"][0].get_object()
    (widget,) = [a.get_object() for a in page["/Annots"]]
    appearance = widget["/AP"]["/N"]
    fonts = _fonts_under(appearance["/Resources"])
    assert any(f.get("/Subtype") == "/Type0" and "DejaVuSans" in f["/BaseFont"] for f in fonts)
    # Shaped glyphs carry /ActualText: the name stays searchable and can be copied.
    assert b"/ActualText" in appearance.data


def _fonts_under(resources, depth: int = 0) -> list:
    """Every font dictionary reachable from an appearance's resources (nested forms too)."""
    found = []
    if depth > 5:
        return found
    resources = resources.get_object()
    for font in resources.get("/Font", {}).values():
        found.append(font.get_object())
    for xobject in resources.get("/XObject", {}).values():
        inner = xobject.get_object().get("/Resources")
        if inner is not None:
            found.extend(_fonts_under(inner, depth + 1))
    return found


@pytest.mark.parametrize(
    "text", ["1,2,3", "0,10,10,20,20", "1,50,50,40,80", "a,b,c,d,e", "1,-5,0,10,10"]
)
def test_a_bad_visible_box_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        pades.VisibleField.parse(text)


def test_a_visible_box_past_the_last_page_is_refused_without_output(document, demo) -> None:
    with pytest.raises(InvalidInput, match="page 11 does not exist"):
        pades.sign_pdf(
            document, demo["citizen_sign"].open(), visible=pades.VisibleField(11, (1, 1, 9, 9))
        )
    assert _only_the_input(document.parent) == ["doc.pdf"]


def test_b_t_carries_a_signature_timestamp(document, demo, bundled_ca) -> None:
    out = pades.sign_pdf(
        document, demo["citizen_sign"].open(), level="b-t", stamp=tsa_stamp(bundled_ca.tsa_url)
    )
    signature = _reader(out).embedded_regular_signatures[0]
    unsigned = signature.signer_info["unsigned_attrs"].native or []
    assert any(a["type"] == "signature_time_stamp_token" for a in unsigned)


def test_b_lt_adds_a_dss_with_revocation_data_for_the_chain(document, demo, bundled_ca) -> None:
    out = pades.sign_pdf(
        document,
        demo["citizen_sign"].open(),
        level="b-lt",
        stamp=tsa_stamp(bundled_ca.tsa_url),
        revocation=_online(bundled_ca),
    )
    reader = _reader(out)
    dss = DocumentSecurityStore.read_dss(reader)
    assert dss.ocsps  # the signer's (and the TSA's) OCSP answers
    assert dss.crls  # the root's CRL, for the issuing CA
    # The root too: a later document timestamp must prove it existed, or AdES past validation
    # cannot use the root's CRL (tests/interop/test_pades_pyhanko.py).
    assert _issuer_root(demo).sha256 in {c.sha256 for c in dss.load_certs()}
    assert [s.sig_object_type for s in reader.embedded_signatures] == ["/Sig"]


def _issuer_root(demo) -> asn1_x509.Certificate:
    """The self-signed end of the demo citizen's chain."""
    (root,) = [c for c in demo["citizen_sign"].open().chain if c.subject == c.issuer]
    return asn1_x509.Certificate.load(root.public_bytes(Encoding.DER))


def test_the_cms_carries_each_certificate_of_the_chain_once(document, demo) -> None:
    entry = demo["citizen_sign"].open()
    out = pades.sign_pdf(document, entry)
    signed = _reader(out).embedded_regular_signatures[0].signed_data
    serials = sorted(c.chosen.serial_number for c in signed["certificates"])
    expected = [entry.certificate, *entry.chain]
    assert serials == sorted(c.serial_number for c in expected)


def test_b_lta_ends_with_a_document_timestamp_over_the_dss(document, demo, bundled_ca) -> None:
    out = pades.sign_pdf(
        document,
        demo["citizen_sign"].open(),
        level="b-lta",
        stamp=tsa_stamp(bundled_ca.tsa_url),
        revocation=_online(bundled_ca),
    )
    reader = _reader(out)
    kinds = [s.sig_object_type for s in reader.embedded_signatures]
    assert kinds == ["/Sig", "/DocTimeStamp"]
    assert DocumentSecurityStore.read_dss(reader).ocsps


def test_b_lt_refuses_a_revoked_signer_without_output(document, demo, bundled_ca) -> None:
    with pytest.raises(PadesValidationFailed, match="revoked"):
        pades.sign_pdf(
            document,
            demo["revoked_sign"].open(),
            level="b-lt",
            stamp=tsa_stamp(bundled_ca.tsa_url),
            revocation=_online(bundled_ca),
        )
    assert _only_the_input(document.parent) == ["doc.pdf"]


def test_b_lt_with_the_ca_unreachable_says_so_without_output(document, demo, bundled_ca) -> None:
    nowhere = pades.Revocation(
        HttpTransport(timeout=2), demo_anchors(), rewrites={CERTIFIED_BASE: "http://127.0.0.1:9"}
    )
    with pytest.raises(PadesValidationFailed, match="CA reachable"):
        pades.sign_pdf(
            document,
            demo["citizen_sign"].open(),
            level="b-lt",
            stamp=tsa_stamp(bundled_ca.tsa_url),
            revocation=nowhere,
        )
    assert _only_the_input(document.parent) == ["doc.pdf"]


def test_a_gost_key_is_refused_before_anything_is_written(document, demo) -> None:
    with pytest.raises(PadesAlgorithmRefused) as caught:
        pades.sign_pdf(document, demo["citizen_gost_sign"].open())
    assert caught.value.code == "pades_algorithm"
    assert "RSA or EC" in caught.value.message("en")
    assert _only_the_input(document.parent) == ["doc.pdf"]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"Hello, this is a text file, not a PDF\n", MalformedPdf),
        (pdf_bytes(10)[:700], MalformedPdf),  # truncated: no cross-reference table, no trailer
        (encrypted_pdf_bytes(), EncryptedPdf),
    ],
    ids=["not-a-pdf", "truncated", "encrypted"],
)
def test_bad_input_is_refused_with_a_clear_error_and_no_output(
    tmp_path: Path, demo, content: bytes, error: type[Exception]
) -> None:
    source = tmp_path / "in.pdf"
    source.write_bytes(content)
    with pytest.raises(error):
        pades.sign_pdf(source, demo["citizen_sign"].open())
    assert _only_the_input(tmp_path) == ["in.pdf"]


def test_the_input_is_never_the_output(document, demo) -> None:
    before = document.read_bytes()
    with pytest.raises(InvalidInput, match="cannot replace the document"):
        pades.sign_pdf(document, demo["citizen_sign"].open(), document, overwrite=True)
    assert document.read_bytes() == before


def test_an_existing_output_is_kept_unless_replacing_was_asked(document, demo, tmp_path) -> None:
    existing = tmp_path / "doc.signed.pdf"
    existing.write_bytes(b"keep me")
    with pytest.raises(InvalidInput, match="already exists"):
        pades.sign_pdf(document, demo["citizen_sign"].open())
    assert existing.read_bytes() == b"keep me"
    pades.sign_pdf(document, demo["citizen_sign"].open(), overwrite=True)
    assert existing.read_bytes().startswith(b"%PDF-")


def test_levels_above_b_b_need_what_they_embed(document, demo) -> None:
    entry = demo["citizen_sign"].open()
    with pytest.raises(InvalidInput, match="timestamp"):
        pades.sign_pdf(document, entry, level="b-t")
    with pytest.raises(InvalidInput, match="revocation"):
        pades.sign_pdf(document, entry, level="b-lt", stamp=lambda i, d: b"")
    with pytest.raises(InvalidInput, match="level"):
        pades.sign_pdf(document, entry, level="b-x")  # type: ignore[arg-type]
    assert _only_the_input(document.parent) == ["doc.pdf"]


def test_a_tsa_failure_leaves_no_partial_output(document, demo) -> None:
    def down(imprint: bytes, digest: DigestAlgorithm) -> bytes:
        raise TsaUnavailable("refused", url="http://127.0.0.1:9/tsp")

    with pytest.raises(TsaUnavailable):
        pades.sign_pdf(document, demo["citizen_sign"].open(), level="b-t", stamp=down)
    assert _only_the_input(document.parent) == ["doc.pdf"]

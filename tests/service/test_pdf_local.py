"""service/pdf_local.py: a PDF is read before any dialog, the visible stamp lands in the corner
asked on a page of any size, and the job's output appears whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pades_helpers import encrypted_pdf_bytes, write_pdf

from signer_app.crypto.errors import EncryptedPdf, InvalidInput, MalformedPdf
from signer_app.service.errors import ActionCanceled
from signer_app.service.file_signing import OutputExists
from signer_app.service.pdf_local import (
    PdfFacts,
    inspect_pdf,
    looks_like_pdf,
    prepare_pdf,
    stamp_field,
)

A4 = PdfFacts(pages=5, signatures=0, first_size=(595, 842), last_size=(842, 595))


@pytest.mark.parametrize(
    ("page", "corner", "expected"),
    [
        ("first", "bottom-left", (1, (36, 36, 236, 96))),
        ("first", "top-right", (1, (359, 746, 559, 806))),
        ("last", "bottom-right", (5, (606, 36, 806, 96))),  # the last page is landscape
        ("last", "top-left", (5, (36, 499, 236, 559))),
    ],
)
def test_the_stamp_sits_half_an_inch_from_the_corner_asked(page, corner, expected) -> None:
    field = stamp_field(A4, page, corner)
    assert (field.page, field.box) == expected


def test_a_tiny_page_gets_a_stamp_that_still_fits() -> None:
    tiny = PdfFacts(1, 0, (100, 80), (100, 80))
    x1, y1, x2, y2 = stamp_field(tiny, "first", "bottom-right").box
    assert 0 <= x1 < x2 <= 100
    assert 0 <= y1 < y2 <= 80


def test_inspect_reads_pages_signatures_and_page_sizes(tmp_path: Path, demo) -> None:
    from signer_app.crypto import pades

    doc = write_pdf(tmp_path, pages=3)
    assert inspect_pdf(doc) == PdfFacts(3, 0, (595, 842), (595, 842))
    signed = pades.sign_pdf(doc, demo["citizen_sign"].open())
    assert inspect_pdf(signed).signatures == 1


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (encrypted_pdf_bytes(), EncryptedPdf),
        (b"%PDF-1.4\nnothing else", MalformedPdf),
        (b"plain text", MalformedPdf),
    ],
    ids=["encrypted", "truncated", "not-a-pdf"],
)
def test_an_unsignable_pdf_is_refused_before_any_dialog(
    tmp_path: Path, content: bytes, error: type[Exception]
) -> None:
    doc = tmp_path / "in.pdf"
    doc.write_bytes(content)
    with pytest.raises(error):
        prepare_pdf(doc, data_dir=tmp_path / "home")
    assert sorted(os.listdir(tmp_path)) == ["in.pdf"]


def test_pdf_is_told_by_content_not_name(tmp_path: Path) -> None:
    assert looks_like_pdf(write_pdf(tmp_path, name="scan.bin"))
    (tmp_path / "fake.pdf").write_text("hello")
    assert not looks_like_pdf(tmp_path / "fake.pdf")
    assert not looks_like_pdf(tmp_path / "missing.pdf")


def test_timestamped_levels_need_a_tsa_and_an_existing_output_is_kept(tmp_path: Path) -> None:
    doc = write_pdf(tmp_path)
    with pytest.raises(InvalidInput, match="timestamp service"):
        prepare_pdf(doc, data_dir=tmp_path / "home", level="b-t")
    (tmp_path / "doc.signed.pdf").write_bytes(b"earlier")
    with pytest.raises(OutputExists):
        prepare_pdf(doc, data_dir=tmp_path / "home")
    job = prepare_pdf(doc, data_dir=tmp_path / "home", overwrite=True)
    assert job.out == tmp_path / "doc.signed.pdf"
    assert job.view.preview == "PDF, 10 page(s)"


def test_a_job_stopped_before_it_commits_leaves_nothing(tmp_path: Path, demo) -> None:
    doc = write_pdf(tmp_path)
    job = prepare_pdf(doc, data_dir=tmp_path / "home")
    answers = iter([False, True])  # not stopped at the start; stopped once pyHanko is done
    with pytest.raises(ActionCanceled):
        job.run(demo["citizen_sign"].open(), lambda: next(answers))
    assert sorted(os.listdir(tmp_path)) == ["doc.pdf"]
    assert job.run(demo["citizen_sign"].open(), lambda: False) == tmp_path / "doc.signed.pdf"
    assert sorted(os.listdir(tmp_path)) == ["doc.pdf", "doc.signed.pdf"]


class _Node(dict):  # type: ignore[type-arg]
    """A page-tree node standing for its own indirect reference."""

    def get_object(self) -> _Node:
        return self


def test_the_edge_pages_are_found_through_a_nested_tree_with_inherited_sizes() -> None:
    from signer_app.service.pdf_local import _edge_page_size

    letter = _Node({"/Type": "/Page"})  # inherits US Letter from the root
    landscape = _Node({"/Type": "/Page", "/MediaBox": [0, 0, 842, 595]})
    inner = _Node({"/Type": "/Pages", "/Count": 2, "/Kids": [letter, landscape]})
    empty = _Node({"/Type": "/Pages", "/Count": 0, "/Kids": []})
    root = _Node(
        {"/Type": "/Pages", "/Count": 2, "/MediaBox": [0, 0, 612, 792], "/Kids": [inner, empty]}
    )
    assert _edge_page_size(root, last=False) == (612, 792)
    assert _edge_page_size(root, last=True) == (842, 595)  # the empty subtree is passed over
    assert _edge_page_size(_Node({"/Type": "/Page"}), last=True) == (595, 842)  # no box: A4

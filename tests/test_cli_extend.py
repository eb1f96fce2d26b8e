"""`qalam extend`: a CMS made B-LT or B-LTA, or an LTA renewed, written atomically to -o and never
over its input; each bad input says why, exits 2 and leaves every file as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_ERROR, EXIT_OK, main
from signer_app.crypto import archive_timestamp, cms

DOCUMENT = "Келісімшарт № 9 — договор — contract\n".encode()


@pytest.fixture
def options(bundled_ca: RunningCa, tmp_path: Path) -> list[str]:
    """TSA, URL map and a fresh trust store for the served bundled CA."""
    home = ["--data-dir", str(tmp_path / "home")]
    return ["--tsa", bundled_ca.tsa_url, "--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}", *home]


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "contract.txt"
    path.write_bytes(DOCUMENT)
    return path


def test_extend_makes_a_plain_cms_lta_then_renews_it(
    citizen_sign, options, document, tmp_path
) -> None:
    plain = tmp_path / "contract.cms"
    before = cms.sign(DOCUMENT, citizen_sign)
    plain.write_bytes(before)
    lta, renewed = tmp_path / "lta.cms", tmp_path / "renewed.cms"
    assert main(["extend", str(plain), "-o", str(lta), *options]) == EXIT_OK
    assert main(["extend", str(lta), "-o", str(renewed), *options]) == EXIT_OK
    assert plain.read_bytes() == before  # the input is kept as it was
    assert len(archive_timestamp.archive_tokens(lta.read_bytes())) == 1
    assert len(archive_timestamp.archive_tokens(renewed.read_bytes())) == 2
    assert cms.verify(renewed.read_bytes()).valid


def test_extend_refuses_to_write_over_its_input(citizen_sign, options, tmp_path, capsys) -> None:
    signed = tmp_path / "contract.cms"
    before = cms.sign(DOCUMENT, citizen_sign)
    signed.write_bytes(before)
    alias = tmp_path / "same.cms"
    alias.symlink_to(signed)
    for output in (signed, alias, tmp_path / "." / "contract.cms"):
        assert main(["extend", str(signed), "-o", str(output), *options]) == EXIT_ERROR
        assert "must not be the input" in capsys.readouterr().err
    assert signed.read_bytes() == before


def test_extend_of_a_detached_signature_needs_the_right_data(
    citizen_sign, options, document, tmp_path, capsys
) -> None:
    signed = tmp_path / "contract.p7s"
    signed.write_bytes(cms.sign(DOCUMENT, citizen_sign, detached=True))
    out = tmp_path / "out.p7s"
    assert main(["extend", str(signed), "-o", str(out), *options]) == EXIT_ERROR
    assert "needs the signed data" in capsys.readouterr().err
    other = tmp_path / "other.txt"
    other.write_bytes(b"another contract")
    argv = ["extend", str(signed), "-o", str(out), "--data", str(other), *options]
    assert main(argv) == EXIT_ERROR
    assert "not what the signature covers" in capsys.readouterr().err
    missing = ["extend", str(signed), "-o", str(out), "--data", str(tmp_path / "gone.txt")]
    assert main([*missing, *options]) == EXIT_ERROR
    assert not out.exists()
    argv = ["extend", str(signed), "-o", str(out), "--data", str(document), *options]
    assert main(argv) == EXIT_OK
    assert len(archive_timestamp.archive_tokens(out.read_bytes())) == 1


def test_extend_to_lt_checks_a_detached_signature_s_data_too(
    citizen_sign, options, document, tmp_path, capsys
) -> None:
    signed = tmp_path / "contract.p7s"
    signed.write_bytes(cms.sign(DOCUMENT, citizen_sign, detached=True))
    other = tmp_path / "other.txt"
    other.write_bytes(b"another contract")
    out = tmp_path / "out.p7s"
    argv = ["extend", str(signed), "-o", str(out), "--level", "b-lt", *options]
    assert main([*argv, "--data", str(other)]) == EXIT_ERROR
    assert "is not what the signature covers" in capsys.readouterr().err
    assert not out.exists()
    assert main([*argv, "--data", str(document)]) == EXIT_OK
    assert cms.verify(out.read_bytes(), DOCUMENT).valid


def test_extend_of_what_is_not_a_signature_says_so(options, document, tmp_path, capsys) -> None:
    out = tmp_path / "out.cms"
    assert main(["extend", str(document), "-o", str(out), *options]) == EXIT_ERROR
    assert capsys.readouterr().err.startswith("qalam: ")
    assert not out.exists()


def test_extend_of_an_attached_signature_takes_its_own_document_as_data(
    citizen_sign, options, document, tmp_path
) -> None:
    signed = tmp_path / "contract.cms"
    signed.write_bytes(cms.sign(DOCUMENT, citizen_sign))
    out = tmp_path / "lta.cms"
    argv = ["extend", str(signed), "-o", str(out), "--data", str(document), *options]
    assert main(argv) == EXIT_OK
    assert len(archive_timestamp.archive_tokens(out.read_bytes())) == 1
    assert cms.verify(out.read_bytes()).content == DOCUMENT


@pytest.mark.parametrize("other", [b"another contract", DOCUMENT + b" ", DOCUMENT[:-1] + b"?"])
def test_extend_of_an_attached_signature_refuses_other_data(
    citizen_sign, options, tmp_path, capsys, other: bytes
) -> None:
    signed = tmp_path / "contract.cms"
    before = cms.sign(DOCUMENT, citizen_sign)
    signed.write_bytes(before)
    data = tmp_path / "other.txt"
    data.write_bytes(other)
    out = tmp_path / "lta.cms"
    for level in ("lt", "lta"):
        argv = ["extend", str(signed), "-o", str(out), "--data", str(data), "--level", level]
        assert main([*argv, *options]) == EXIT_ERROR
        assert "is not the document inside this signature" in capsys.readouterr().err
    assert not out.exists()
    assert signed.read_bytes() == before


def test_extend_refuses_to_write_over_its_data(citizen_sign, options, document, tmp_path, capsys):
    signed = tmp_path / "contract.p7s"
    signed.write_bytes(cms.sign(DOCUMENT, citizen_sign, detached=True))
    argv = ["extend", str(signed), "-o", str(document), "--data", str(document), *options]
    assert main(argv) == EXIT_ERROR
    assert "must not be the input" in capsys.readouterr().err
    assert document.read_bytes() == DOCUMENT

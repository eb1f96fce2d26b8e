"""validation.py's public API: no other module reaches into its private names, and what it
says about failed evidence stays readable (certvalidator's messages carry whole responses)."""

from __future__ import annotations

import ast
from pathlib import Path

from signer_app.crypto import validation

PACKAGE = Path(validation.__file__).resolve().parent.parent
# How the package's modules name validation.py in ``from ... import``.
_VALIDATION = ("validation", "crypto.validation", "signer_app.crypto.validation")


def _private_uses(source: Path) -> list[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _VALIDATION:
            found += [f"import {a.name}" for a in node.names if a.name.startswith("_")]
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "validation"
            and node.attr.startswith("_")
        ):
            found.append(f"validation.{node.attr}")
    return found


def test_no_module_imports_a_private_name_of_validation() -> None:
    sources = [p for p in PACKAGE.rglob("*.py") if p != Path(validation.__file__).resolve()]
    assert sources
    offenders = {str(p.relative_to(PACKAGE)): _private_uses(p) for p in sources}
    assert {path: uses for path, uses in offenders.items() if uses} == {}


def test_the_public_api_is_declared() -> None:
    for name in ("ValidationRun", "check_timestamp", "overall", "xml_signers", "TimestampKind"):
        assert name in validation.__all__
        assert not name.startswith("_")


def test_a_certvalidator_dump_is_cut_to_its_first_sentence_naming_the_evidence() -> None:
    dump = "b'" + "30820a1b" * 800 + "'"
    detail = (
        f"OCSP: Unable to verify OCSP response signature. The response was {dump}; "
        f"CRL: No CRLs were found for this certificate: {dump}"
    )
    status = validation.RevocationStatus("unknown", "none", detail=detail)
    brief = validation._from_embedded(status).detail  # the private helper, tested in place
    assert brief == (
        "embedded OCSP: Unable to verify OCSP response signature.; "
        "embedded CRL: No CRLs were found for this certificate"
    )
    endless = "OCSP: " + "x" * 5000
    assert len(validation._brief(endless)) <= validation.REASON_LIMIT
    short = "offline: no revocation data could be fetched"
    assert validation._brief(short) == short

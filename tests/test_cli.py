"""`qalam` on the command line: plain sentences, exit statuses, and the keys/sign/verify flows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from validation_helpers import CERTIFIED_BASE, RunningCa

from signer_app.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK, main


@pytest.fixture
def online(bundled_ca: RunningCa, tmp_path: Path) -> list[str]:
    """`verify` options reaching the served bundled CA, with a fresh trust store (demo roots)."""
    return ["--url-map", f"{CERTIFIED_BASE}={bundled_ca.url}", "--data-dir", str(tmp_path / "home")]


@pytest.fixture
def citizen(demo, monkeypatch):
    """The citizen's SIGN key, its password in QALAM_PASSWORD as a script would set it."""
    key = demo["citizen_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    return key


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "contract.txt"
    path.write_text("Келісімшарт № 1: 1000 теңге\n", encoding="utf-8")
    return path


def test_keys_show_json_names_the_owner(citizen, capsys) -> None:
    assert main(["keys", "show", str(citizen.path), "--json"]) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown[0]["identity"]["iin"] == citizen.iin
    assert shown[0]["identity"]["purpose"] == "sign"
    assert shown[0]["algorithm"] == "RSA"


def test_keys_show_text_is_readable(citizen, capsys) -> None:
    assert main(["keys", "show", str(citizen.path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"IIN:          {citizen.iin}" in out
    assert "signing (SIGN)" in out


def test_a_wrong_password_is_one_plain_sentence_without_the_password(
    demo, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("QALAM_PASSWORD", "Wr0ng-Secret")
    assert main(["keys", "show", str(demo["citizen_sign"].path)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.strip() == "qalam: The password is not right for this key file."
    assert "Wr0ng-Secret" not in err
    assert "Traceback" not in err


def test_errors_speak_russian_and_kazakh_on_request(demo, monkeypatch, capsys) -> None:
    monkeypatch.setenv("QALAM_PASSWORD", "nope")
    main(["--lang", "ru", "keys", "show", str(demo["citizen_sign"].path)])
    assert "Неверный пароль" in capsys.readouterr().err
    main(["--lang", "kk", "keys", "show", str(demo["citizen_sign"].path)])
    assert "құпиясөзі дұрыс емес" in capsys.readouterr().err


def test_without_a_password_source_and_no_terminal_it_says_how_to_give_one(
    demo, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("QALAM_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))  # noqa: SIM115
    assert main(["keys", "show", str(demo["citizen_sign"].path)]) == EXIT_ERROR
    assert "QALAM_PASSWORD" in capsys.readouterr().err


def test_a_password_file_is_read_without_its_newline(
    demo, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("QALAM_PASSWORD", raising=False)
    secret = tmp_path / "pw"
    secret.write_text(demo["citizen_sign"].password + "\n")
    path = str(demo["citizen_sign"].path)
    assert main(["keys", "show", path, "--password-file", str(secret)]) == EXIT_OK


def test_sign_then_verify_attached_cms(online, citizen, document, capsys) -> None:
    assert main(["sign", str(document), "-k", str(citizen.path)]) == EXIT_OK
    signed = Path(str(document) + ".cms")
    assert signed.exists()
    capsys.readouterr()
    assert main(["verify", str(signed), "--json", *online]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["format"] == "cms"
    assert report["signers"][0]["identity"]["iin"] == citizen.iin
    assert report["signers"][0]["identity"]["name"]


def test_a_changed_byte_makes_verify_exit_1(online, citizen, document, capsys) -> None:
    out = document.with_suffix(".cms")
    main(["sign", str(document), "-k", str(citizen.path), "-o", str(out)])
    data = bytearray(out.read_bytes())
    position = bytes(data).find(b"1000")
    data[position] ^= 0x01
    out.write_bytes(bytes(data))
    assert main(["verify", str(out), *online]) == EXIT_INVALID
    assert "NOT VALID" in capsys.readouterr().out


def test_detached_signing_needs_the_original_to_verify(online, citizen, document, capsys) -> None:
    assert main(["sign", str(document), "-k", str(citizen.path), "--detached"]) == EXIT_OK
    signature = Path(str(document) + ".p7s")
    assert main(["verify", str(signature), "--data", str(document), *online]) == EXIT_OK
    assert main(["verify", str(signature), *online]) == EXIT_ERROR


def test_signing_a_hash_verifies_against_the_data(
    online, citizen, document, tmp_path: Path
) -> None:
    import hashlib

    digest = tmp_path / "digest.hex"
    digest.write_text(hashlib.sha256(document.read_bytes()).hexdigest())
    out = tmp_path / "hash.p7s"
    assert main(["sign", str(digest), "--hash", "-k", str(citizen.path), "-o", str(out)]) == EXIT_OK
    assert main(["verify", str(out), "--data", str(document), *online]) == EXIT_OK


def test_pem_output_verifies(online, citizen, document, tmp_path: Path) -> None:
    out = tmp_path / "doc.pem"
    assert (
        main(["sign", str(document), "-k", str(citizen.path), "--pem", "-o", str(out)]) == EXIT_OK
    )
    assert out.read_text().startswith("-----BEGIN CMS-----")
    assert main(["verify", str(out), *online]) == EXIT_OK


def test_xml_sign_then_verify(online, citizen, tmp_path: Path, capsys) -> None:
    request = tmp_path / "request.xml"
    request.write_text("<request><iin>850101300124</iin></request>", encoding="utf-8")
    assert main(["sign", str(request), "-k", str(citizen.path), "-f", "xml"]) == EXIT_OK
    signed = tmp_path / "request.signed.xml"
    capsys.readouterr()
    assert main(["verify", str(signed), "--json", *online]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["format"] == "xml"


def test_unreadable_input_exits_2(online, tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.cms"
    junk.write_bytes(b"\x00\x01 this is not a signature")
    assert main(["verify", str(junk), *online]) == EXIT_ERROR
    assert main(["verify", str(tmp_path / "missing.cms"), *online]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_keys_passwd_changes_the_password(demo, tmp_path: Path, monkeypatch) -> None:
    key = demo["citizen_sign"]
    copy = tmp_path / key.path.name
    copy.write_bytes(key.path.read_bytes())
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    monkeypatch.setenv("QALAM_NEW_PASSWORD", "Жаңа-құпиясөз-7")
    assert main(["keys", "passwd", str(copy)]) == EXIT_OK
    monkeypatch.setenv("QALAM_PASSWORD", "Жаңа-құпиясөз-7")
    assert main(["keys", "show", str(copy)]) == EXIT_OK


def test_demo_lists_every_demo_key(demo, capsys) -> None:
    assert main(["demo"]) == EXIT_OK
    out = capsys.readouterr().out
    for key_id in demo:
        assert f"[{key_id}]" in out


def test_the_installed_command_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "signer_app.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("qalam ")


def test_a_timestamped_signature_shows_its_timestamp(
    online, citizen, document, tmp_path: Path, capsys
) -> None:
    from tsa_helpers import http_tsa

    out = tmp_path / "stamped.cms"
    with http_tsa() as (url, _received):
        assert (
            main(["sign", str(document), "-k", str(citizen.path), "--tsa", url, "-o", str(out)])
            == 0
        )
    capsys.readouterr()
    assert main(["verify", str(out), "--json", *online]) == EXIT_OK
    signer = json.loads(capsys.readouterr().out)["signers"][0]
    assert signer["timestamp_time"] is not None
    assert main(["verify", str(out), *online]) == EXIT_OK
    assert "Timestamp:" in capsys.readouterr().out


def test_an_unstamped_signature_has_no_timestamp(online, citizen, document, capsys) -> None:
    main(["sign", str(document), "-k", str(citizen.path)])
    capsys.readouterr()
    main(["verify", str(document) + ".cms", "--json", *online])
    assert json.loads(capsys.readouterr().out)["signers"][0]["timestamp_time"] is None


def test_trust_anchors_list_add_remove(tmp_path: Path, capsys) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding
    from service.test_trust_store import make_certificate

    home = ["--data-dir", str(tmp_path / "home")]
    assert main(["trust-anchors", "list", "--json", *home]) == EXIT_OK
    listed = json.loads(capsys.readouterr().out)
    assert {row["origin"] for row in listed} == {"demo"}
    root = tmp_path / "root.pem"
    root.write_bytes(make_certificate(ca=True).public_bytes(Encoding.PEM))
    assert main(["trust-anchors", "add", str(root), *home]) == EXIT_OK
    assert "Trusted now" in capsys.readouterr().out
    assert main(["trust-anchors", "remove", listed[0]["sha256"][:10], *home]) == EXIT_OK
    assert "No longer trusted" in capsys.readouterr().out
    assert main(["trust-anchors", "list", "--json", *home]) == EXIT_OK
    origins = sorted(row["origin"] for row in json.loads(capsys.readouterr().out))
    assert origins == ["demo", "demo", "user"]  # three demo roots, one removed; one added
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(make_certificate(ca=False).public_bytes(Encoding.PEM))
    assert main(["trust-anchors", "add", str(leaf), *home]) == EXIT_ERROR
    assert "not a CA certificate" in capsys.readouterr().err


def test_verify_a_revoked_signer_exits_1_and_says_why(online, demo, document, monkeypatch, capsys):
    key = demo["revoked_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    out = document.with_suffix(".cms")
    assert main(["sign", str(document), "-k", str(key.path), "-o", str(out)]) == EXIT_OK
    capsys.readouterr()
    assert main(["verify", str(out), *online]) == EXIT_INVALID
    text = capsys.readouterr().out
    assert "NOT VALID (TOTAL_FAILED / REVOKED" in text
    assert "REVOKED at" in text


def test_verify_offline_cannot_confirm_and_exits_1(citizen, document, tmp_path, capsys) -> None:
    main(["sign", str(document), "-k", str(citizen.path)])
    capsys.readouterr()
    home = ["--data-dir", str(tmp_path / "home")]
    code = main(["verify", str(document) + ".cms", "--offline", "--json", *home])
    assert code == EXIT_INVALID
    report = json.loads(capsys.readouterr().out)
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    assert report["signers"][0]["revocation"]["status"] == "unknown"


def test_a_gost_signature_chains_to_the_demo_gost_root_offline(
    demo, document, tmp_path, monkeypatch, capsys
) -> None:
    key = demo["citizen_gost_sign"]
    monkeypatch.setenv("QALAM_PASSWORD", key.password)
    assert main(["sign", str(document), "-k", str(key.path)]) == EXIT_OK
    capsys.readouterr()
    home = ["--data-dir", str(tmp_path / "home")]
    main(["verify", str(document) + ".cms", "--offline", "--json", *home])
    report = json.loads(capsys.readouterr().out)
    # Only revocation is unknown offline: the chain reached the GOST root the demo trusts.
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    anchor = report["signers"][0]["chain"][-1]
    assert (anchor["role"], anchor["subject"]) == ("anchor", "НЕГІЗГІ КО (GOST) TEST")


def test_verify_refuses_a_bad_url_map_with_exit_2(citizen, document, capsys) -> None:
    main(["sign", str(document), "-k", str(citizen.path)])
    assert main(["verify", str(document) + ".cms", "--url-map", "nonsense"]) == EXIT_ERROR
    assert "FROM=TO" in capsys.readouterr().err


# Loading any of these takes most of a second: `--version` and `--help` must not pay for them.
HEAVY = ("PySide6", "pyhanko", "pyhanko_certvalidator", "cryptography", "lxml", "signxml")
_LOADED_HEAVY = """
import sys, types
{run}
loaded = {{name.split(".")[0] for name, module in sys.modules.items()
          if type(module) is types.ModuleType}}
print("heavy:" + ",".join(sorted(loaded & set({heavy!r}))))
"""


def _heavy_modules_after(run: str) -> str:
    """The heavy packages a fresh interpreter has really loaded (not merely registered lazily)
    after running ``run``."""
    code = _LOADED_HEAVY.format(run=run, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.rsplit("heavy:", 1)[1].strip()


@pytest.mark.parametrize("argv", [None, ["--version"], ["--help"], ["reissue", "--help"]])
def test_version_and_help_load_no_heavy_package(argv: list[str] | None) -> None:
    run = "import signer_app.cli"
    if argv is not None:
        run = f"from signer_app.cli import main\ntry: main({argv!r})\nexcept SystemExit: pass"
    assert _heavy_modules_after(run) == ""


def test_the_reissue_parser_offers_every_kind_the_service_knows() -> None:
    from signer_app import cli_reissue
    from signer_app.service import reissue

    assert cli_reissue.KINDS == reissue.KINDS

"""Re-issue against the live bundled CA: new keys made here, nothing lost on any failure.

Each test runs the real CA HTTP app (tests/ca_live.py) over a fresh copy of the demo PKI and
talks to it through the same CaClient the CLI and the desktop app use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture
from cryptography import x509

from signer_app.crypto.errors import FileIOError, WrongPassword
from signer_app.crypto.identity import identity_of
from signer_app.crypto.keystores import open_pkcs12
from signer_app.service import reissue
from signer_app.service.ca_client import CaClient, Issued
from signer_app.service.errors import CaRefused, CaUnavailable, FileExists, ReissuePending

CITIZEN = "850101300124"
NEW_PASSWORD = "New-Passw0rd-2026"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "qalam-home"


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "new-keys"
    folder.mkdir()
    return folder


def serial_of(certificate: x509.Certificate) -> str:
    return f"{certificate.serial_number:040x}"


def test_a_psc_code_gives_two_new_key_files_and_supersedes_the_old_certificates(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    client = CaClient(ca.url)
    steps: list[str] = []
    done = reissue.with_code(
        client, data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, out_dir, step=steps.append
    )
    assert done.auth_path.name.startswith("AUTH_RSA256_")
    assert done.sign_path.name.startswith("RSA256_")
    for path, purpose in ((done.auth_path, "AUTH"), (done.sign_path, "SIGN")):
        entry = open_pkcs12(path, NEW_PASSWORD).entry
        who = identity_of(entry.certificate)
        assert who.iin == CITIZEN
        assert who.purpose.value == purpose.lower()
        assert len(entry.chain) == 2  # issuing CA and root travel with the key
        assert path.stat().st_mode & 0o077 == 0
    old = demo["citizen_sign"].open().certificate
    assert client.certificate_status(serial_of(old))["status"] == "revoked"
    assert reissue.pending_files(data_dir) == []
    assert steps == ["generating keys", "asking the certification centre", "saving the key files"]


@pytest.mark.parametrize(
    ("code", "iin", "expected"),
    [
        ("WRONG-CODE-0000", CITIZEN, "code_invalid"),
        (None, "900705400126", "code_invalid"),  # the citizen's code, another person's IIN
    ],
)
def test_a_code_that_does_not_fit_is_refused_and_leaves_nothing_behind(
    ca: LiveCa,
    demo: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    code: str | None,
    iin: str,
    expected: str,
) -> None:
    with pytest.raises(CaRefused) as refused:
        reissue.with_code(
            CaClient(ca.url), data_dir, iin, code or issue_code(ca, demo), NEW_PASSWORD, out_dir
        )
    assert refused.value.ca_code == expected
    assert "код" in refused.value.message("ru")
    assert list(out_dir.iterdir()) == []
    assert reissue.pending_files(data_dir) == []


def test_a_code_pays_for_one_pair_only(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    code = issue_code(ca, demo)
    reissue.with_code(CaClient(ca.url), data_dir, CITIZEN, code, NEW_PASSWORD, out_dir)
    second = out_dir / "again"
    second.mkdir()
    with pytest.raises(CaRefused) as refused:
        reissue.with_code(CaClient(ca.url), data_dir, CITIZEN, code, NEW_PASSWORD, second)
    assert refused.value.ca_code == "code_used"


def test_a_code_overtaken_by_another_reissue_is_refused_and_leaves_nothing_behind(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    stale = issue_code(ca, demo)
    first = out_dir / "first"
    first.mkdir()
    winner = reissue.with_code(
        CaClient(ca.url), data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, first
    )
    with pytest.raises(CaRefused) as refused:
        reissue.with_code(CaClient(ca.url), data_dir, CITIZEN, stale, NEW_PASSWORD, out_dir)
    assert refused.value.ca_code == "reissue_conflict"
    assert "new code" in refused.value.message("en")
    assert "новый код" in refused.value.message("ru")
    assert "жаңа код" in refused.value.message("kk")
    assert sorted(p.name for p in out_dir.iterdir()) == ["first"]
    assert reissue.pending_files(data_dir) == []
    # The winner's keys were not revoked behind its back.
    sign = open_pkcs12(winner.sign_path, NEW_PASSWORD).entry.certificate
    assert CaClient(ca.url).certificate_status(serial_of(sign))["status"] == "good"


class LostAnswer(CaClient):
    """The CA issues, then the connection drops before the answer arrives."""

    def enroll(self, *args: Any, **kwargs: Any) -> Issued:
        super().enroll(*args, **kwargs)
        raise CaUnavailable("connection reset", url=self.base_url)


def test_a_lost_answer_is_recovered_from_the_pending_keys(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    with pytest.raises(CaUnavailable):
        reissue.with_code(
            LostAnswer(ca.url), data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, out_dir
        )
    assert list(out_dir.iterdir()) == []
    (pending,) = reissue.pending_files(data_dir)
    assert NEW_PASSWORD not in pending.read_text()
    with pytest.raises(WrongPassword):
        reissue.resume(CaClient(ca.url), pending, "not-the-password")
    assert pending.exists()
    done = reissue.resume(CaClient(ca.url), pending, NEW_PASSWORD)
    assert open_pkcs12(done.sign_path, NEW_PASSWORD).entry.certificate == done.sign
    assert len(open_pkcs12(done.auth_path, NEW_PASSWORD).entry.chain) == 2
    assert not pending.exists()


def test_a_ca_that_never_got_the_request_lets_the_same_code_finish_later(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    code = issue_code(ca, demo)
    with pytest.raises(CaUnavailable) as down:
        reissue.with_code(CaClient("http://127.0.0.1:9"), data_dir, CITIZEN, code, "pw-1", out_dir)
    assert "127.0.0.1:9" in down.value.message("en")
    (pending,) = reissue.pending_files(data_dir)
    with pytest.raises(ReissuePending):
        reissue.with_code(CaClient(ca.url), data_dir, CITIZEN, code, "pw-2", out_dir)
    done = reissue.resume(CaClient(ca.url), pending, "pw-1", code=code)
    assert identity_of(done.auth).iin == CITIZEN


def test_a_full_disk_while_saving_keeps_the_keys_pending_until_it_is_freed(
    ca: LiveCa,
    demo: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_write = reissue.write_pkcs12

    def full_disk(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).name.startswith("RSA256_"):
            raise FileIOError("No space left on device", path=str(path))
        real_write(path, *args, **kwargs)

    monkeypatch.setattr(reissue, "write_pkcs12", full_disk)
    with pytest.raises(FileIOError):
        reissue.with_code(
            CaClient(ca.url), data_dir, CITIZEN, issue_code(ca, demo), NEW_PASSWORD, out_dir
        )
    (pending,) = reissue.pending_files(data_dir)
    monkeypatch.setattr(reissue, "write_pkcs12", real_write)
    for written in out_dir.iterdir():  # the AUTH file made it; the person moves it away
        written.rename(out_dir.parent / written.name)
    done = reissue.resume(CaClient(ca.url), pending, NEW_PASSWORD)
    assert done.sign_path.exists()


def test_an_existing_file_is_never_overwritten(
    ca: LiveCa,
    demo: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = reissue.generate()
    monkeypatch.setattr(reissue, "generate", lambda kind="rsa": keys)
    precious = out_dir / keys.names[1]
    precious.write_bytes(b"somebody's key file")
    code = issue_code(ca, demo)
    with pytest.raises(FileExists):
        reissue.with_code(CaClient(ca.url), data_dir, CITIZEN, code, NEW_PASSWORD, out_dir)
    assert precious.read_bytes() == b"somebody's key file"
    assert reissue.pending_files(data_dir) == []  # refused before anything was asked
    other = out_dir / "elsewhere"
    other.mkdir()
    reissue.with_code(CaClient(ca.url), data_dir, CITIZEN, code, NEW_PASSWORD, other)


def test_self_service_renewal_signs_with_the_current_auth_key(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    client = CaClient(ca.url)
    current = demo["citizen_auth"].open()
    done = reissue.renew(client, data_dir, current, CITIZEN, NEW_PASSWORD, out_dir)
    assert identity_of(done.sign).iin == CITIZEN
    assert client.certificate_status(serial_of(current.certificate))["status"] == "revoked"


def test_a_revoked_auth_key_cannot_renew(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    revoked = demo["revoked_auth"]
    with pytest.raises(CaRefused) as refused:
        reissue.renew(
            CaClient(ca.url), data_dir, revoked.open(), revoked.iin, NEW_PASSWORD, out_dir
        )
    assert refused.value.ca_code == "signer_revoked"
    assert "ЦОН" in refused.value.message("ru")
    assert reissue.pending_files(data_dir) == []


def test_bad_arguments_are_refused_before_any_key_is_made(data_dir: Path, out_dir: Path) -> None:
    client = CaClient("http://127.0.0.1:9")
    with pytest.raises(Exception, match="IIN"):
        reissue.with_code(client, data_dir, "850101300125", "c", NEW_PASSWORD, out_dir)
    with pytest.raises(Exception, match="password"):
        reissue.with_code(client, data_dir, CITIZEN, "c", "", out_dir)
    assert reissue.pending_files(data_dir) == []


def test_wrong_codes_are_rate_limited_per_iin(
    ca: LiveCa, demo: dict[str, Any], data_dir: Path, out_dir: Path
) -> None:
    client = CaClient(ca.url)
    for _ in range(5):
        with pytest.raises(CaRefused) as refused:
            reissue.with_code(client, data_dir, CITIZEN, "AAAA-BBBB-CCCC-DDDD", "pw", out_dir)
        assert refused.value.ca_code == "code_invalid"
    with pytest.raises(CaRefused) as limited:
        reissue.with_code(client, data_dir, CITIZEN, issue_code(ca, demo), "pw", out_dir)
    assert limited.value.ca_code == "too_many_attempts"
    assert "15" in limited.value.message("kk")
    assert list(out_dir.iterdir()) == []


def test_an_operator_cannot_make_a_code_for_themselves(ca: LiveCa, demo: dict[str, Any]) -> None:
    entry = demo["psc_operator_auth"]
    operator = CaClient(ca.url)
    operator.sign_in(entry.open())
    with pytest.raises(CaRefused) as own_code:
        operator.ticket(entry.iin, "id_card", "0" + entry.iin[-8:], "reissue")
    assert own_code.value.ca_code == "operator_self"
    assert "коллег" in own_code.value.message("ru")


def test_a_citizen_key_cannot_sign_in_as_an_operator(ca: LiveCa, demo: dict[str, Any]) -> None:
    with pytest.raises(CaRefused) as refused:
        CaClient(ca.url).sign_in(demo["citizen_auth"].open())
    assert refused.value.ca_code in ("operator_wrong_ca", "operator_not_registered")


def test_the_renewal_request_bytes_are_the_ones_the_ca_checks() -> None:
    """The client writes the renewal format itself (it does not import the CA): the two must
    never drift apart."""
    from ca_server.enrollment import renewal_request as ca_side

    keys = reissue.generate("ec")
    assert reissue.renewal_request(CITIZEN, keys.csr_auth, keys.csr_sign) == ca_side(
        CITIZEN, keys.csr_auth, keys.csr_sign
    )

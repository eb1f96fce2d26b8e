"""The re-issue wizard against the live bundled CA: a PSC code or a renewal gives key files that
open with the new password; every failure shows its plain sentence and the one helpful action."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture
from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from reissue_screens import ARTIFACTS, LANGUAGES, WIZARD_PAGES, assert_not_blank, render_under_xvfb

from ca_server import registry
from signer_app.crypto.algorithms import KeyAlgorithm
from signer_app.crypto.identity import identity_of
from signer_app.crypto.keystores import open_pkcs12
from signer_app.service import reissue
from signer_app.service.ca_client import CaClient, Issued
from signer_app.service.errors import CaRefused, CaUnavailable, FileExists
from signer_app.service.known_keys import KnownKeys
from signer_app.ui.context import AppContext
from signer_app.ui.reissue_wizard import KEYRING_SERVICE, ReissueWizard

CITIZEN = "850101300124"
OTHER_PERSON = "900705400126"
OPERATOR = "880612300019"
NEW_PASSWORD = "tulpar-qyran-2026"
WAIT = 30_000  # ms: a generous ceiling for key generation and the CA on a loaded machine


class MemoryKeyring(KeyringBackend):
    """An in-memory OS keyring: no test touches the real one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(before)


def context_for(tmp_path: Path, url: str, language: str = "en") -> AppContext:
    context = AppContext.create(tmp_path / "qalam-home")
    context.settings_store.update(lambda s: replace(s, ca_url=url, locale=language))
    context.translator.set_language(language)
    return context


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "new-keys"
    folder.mkdir()
    return folder


def click(qtbot: QtBot, wizard: ReissueWizard) -> None:
    assert wizard.next_button.isEnabled(), wizard.page.name
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)


def fill_and_start(qtbot: QtBot, wizard: ReissueWizard, iin: str, code: str, out_dir: Path) -> None:
    """Type the IIN and code, the new password twice, the folder; press Start."""
    assert wizard.page is wizard.code_page
    wizard.code_page.iin.setText(iin)
    wizard.code_page.code.setText(code)
    click(qtbot, wizard)
    wizard.password_page.password.setText(NEW_PASSWORD)
    wizard.password_page.repeat.setText(NEW_PASSWORD)
    click(qtbot, wizard)
    wizard.folder_page.folder.setText(str(out_dir))
    click(qtbot, wizard)


def wait_for_end(qtbot: QtBot, wizard: ReissueWizard) -> None:
    qtbot.waitUntil(
        lambda: wizard.page in (wizard.done_page, wizard.error_page, wizard.resume_page),
        timeout=WAIT,
    )


def new_wizard(qtbot: QtBot, context: AppContext, **kwargs: Any) -> ReissueWizard:
    wizard = ReissueWizard(context, **kwargs)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def test_a_psc_code_gives_key_files_that_open_with_the_new_password_and_name_the_citizen(
    qtbot: QtBot,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    out_dir: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    context = context_for(tmp_path, ca.url)
    wizard = new_wizard(qtbot, context)
    fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    done = wizard.result_files
    assert done is not None
    for path, purpose in ((done.auth_path, "auth"), (done.sign_path, "sign")):
        assert path.parent == out_dir
        who = identity_of(open_pkcs12(path, NEW_PASSWORD).entry.certificate)
        assert (who.iin, who.purpose.value) == (CITIZEN, purpose)
    shown = [body.text() for _, body in wizard.done_page.cards]
    assert all("ЖҰМАБЕКОВ АСХАТ" in text and CITIZEN in text for text in shown)
    assert [heading.text() for heading, _ in wizard.done_page.cards] == [
        "Authentication (logging in to portals)",
        "Signing documents",
    ]
    assert {k.path for k in KnownKeys(context.data_dir).entries()} == {
        done.auth_path.resolve(),
        done.sign_path.resolve(),
    }
    assert reissue.pending_files(context.data_dir) == []
    old_serial = f"{demo['citizen_sign'].open().certificate.serial_number:040x}"
    assert CaClient(ca.url).certificate_status(old_serial)["status"] == "revoked"

    usb = tmp_path / "usb-stick"
    usb.mkdir()
    assert wizard.done_page.backup_to(usb)
    assert (usb / done.auth_path.name).read_bytes() == done.auth_path.read_bytes()
    assert (usb / done.sign_path.name).read_bytes() == done.sign_path.read_bytes()
    assert "usb-stick" in wizard.done_page.backup_state.text()
    assert not wizard.done_page.backup_to(usb)  # a second copy never overwrites the first
    assert "already exists" in wizard.done_page.backup_state.text()
    assert not wizard.done_page.backup_to(out_dir)
    assert "already in that folder" in wizard.done_page.backup_state.text()

    assert not wizard.done_page.remember.isChecked()  # off unless the person asks
    wizard.done_page.remember.setChecked(True)
    click(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted
    for path in (done.auth_path, done.sign_path):
        assert memory_keyring.get_password(KEYRING_SERVICE, str(path.resolve())) == NEW_PASSWORD


def test_without_the_tick_no_password_reaches_the_keyring(
    qtbot: QtBot,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    out_dir: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    wizard = new_wizard(qtbot, context_for(tmp_path, ca.url))
    fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
    wait_for_end(qtbot, wizard)
    click(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted
    assert memory_keyring.secrets == {}


def test_the_iin_is_checked_as_it_is_typed(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = new_wizard(qtbot, context_for(tmp_path, "http://127.0.0.1:9"))
    page = wizard.code_page
    page.code.setText("ABCD-EFGH-JKMN-PQRS")
    page.iin.setText("8501013")
    assert page.iin_state.text() == "7 of 12 digits"
    page.iin.setText("850101300125")  # one digit off: the check digit does not match
    assert page.iin_state.text().startswith("✗")
    assert not wizard.next_button.isEnabled()
    page.iin.clear()
    qtbot.keyClicks(page.iin, "85010130012x4")  # typed: the validator keeps letters out
    assert page.iin.text() == CITIZEN
    assert page.iin_state.text().startswith("✓")
    assert wizard.next_button.isEnabled()


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("short1", "Too short"),
        ("Qwerty12", "first ones an attacker tries"),
        ("password2026", "first ones an attacker tries"),
        ("my850101300124", "IIN or birth date"),
        ("aa850101zz", "IIN or birth date"),
    ],
)
def test_weak_passwords_are_explained_and_refused(
    qtbot: QtBot, tmp_path: Path, typed: str, problem: str
) -> None:
    wizard = new_wizard(qtbot, context_for(tmp_path, "http://127.0.0.1:9"))
    wizard.code_page.iin.setText(CITIZEN)
    wizard.code_page.code.setText("ABCD-EFGH-JKMN-PQRS")
    click(qtbot, wizard)
    page = wizard.password_page
    page.password.setText(typed)
    page.repeat.setText(typed)
    assert problem in page.verdict.text()
    assert not wizard.next_button.isEnabled()
    page.password.setText(NEW_PASSWORD)
    assert page.match.text() == "The two passwords differ."
    assert not wizard.next_button.isEnabled()
    page.repeat.setText(NEW_PASSWORD)
    assert page.meter.value() == 4
    assert page.verdict.text() == "Strong."
    assert wizard.next_button.isEnabled()


def expired_code(ca: LiveCa) -> str:
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    made = registry.create_ticket(
        ca.instance.db, CITIZEN, OPERATOR, ttl=dt.timedelta(hours=1), now=yesterday
    )
    return made.code


def used_code(ca: LiveCa, demo: dict[str, Any], tmp_path: Path) -> str:
    code = issue_code(ca, demo)
    folder = tmp_path / "first-use"
    folder.mkdir()
    reissue.with_code(CaClient(ca.url), tmp_path / "other-home", CITIZEN, code, "pw", folder)
    return code


def rate_limited(ca: LiveCa, demo: dict[str, Any], tmp_path: Path) -> str:
    client = CaClient(ca.url)
    keys = reissue.generate("ec")
    for _ in range(5):
        with pytest.raises(CaRefused):
            client.enroll(CITIZEN, keys.csr_auth, keys.csr_sign, code="AAAA-BBBB-CCCC-DDDD")
    return issue_code(ca, demo)


@pytest.mark.parametrize(
    ("case", "ca_code", "action"),
    [
        ("wrong code", "code_invalid", "code"),
        ("code for another IIN", "code_invalid", "code"),
        ("expired code", "code_expired", "code"),
        ("used code", "code_used", "code"),
        ("rate limited", "too_many_attempts", "close"),
    ],
)
def test_a_refused_code_shows_its_plain_sentence_and_leaves_nothing_behind(
    qtbot: QtBot,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    out_dir: Path,
    case: str,
    ca_code: str,
    action: str,
) -> None:
    iin = OTHER_PERSON if case == "code for another IIN" else CITIZEN
    code = {
        "wrong code": lambda: "WRNG-CODE-0000-0000",
        "code for another IIN": lambda: issue_code(ca, demo),
        "expired code": lambda: expired_code(ca),
        "used code": lambda: used_code(ca, demo, tmp_path),
        "rate limited": lambda: rate_limited(ca, demo, tmp_path),
    }[case]()
    context = context_for(tmp_path, ca.url, "ru")
    wizard = new_wizard(qtbot, context)
    fill_and_start(qtbot, wizard, iin, code, out_dir)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.error_page
    assert wizard.error_page.intro.text() == CaRefused(ca_code, "").message("ru")
    assert ca_code in wizard.error_page.details.toPlainText()
    assert not wizard.error_page.details.isVisibleTo(wizard)
    qtbot.mouseClick(wizard.error_page.details_button, Qt.MouseButton.LeftButton)
    assert wizard.error_page.details.isVisibleTo(wizard)
    assert list(out_dir.iterdir()) == []
    assert reissue.pending_files(context.data_dir) == []
    assert wizard.debug_state()["action"] == action
    context.translator.set_language("kk")  # the sentence follows the language switch
    assert wizard.error_page.intro.text() == CaRefused(ca_code, "").message("kk")
    click(qtbot, wizard)
    if action == "code":
        assert wizard.page is wizard.code_page
        assert wizard.code_page.code.text() == ""
        assert wizard.code_page.iin.text() == iin
    else:
        assert wizard.result() == QDialog.DialogCode.Rejected


class SwitchableUrl:
    """A client factory whose CA goes from unreachable to reachable when the test says so."""

    def __init__(self, url: str) -> None:
        self.url = "http://127.0.0.1:9"
        self.live = url

    def __call__(self, _settings_url: str) -> CaClient:
        return CaClient(self.url)


def test_an_unreachable_ca_keeps_the_new_keys_and_try_again_finishes_them(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    factory = SwitchableUrl(ca.url)
    context = context_for(tmp_path, ca.url)
    wizard = new_wizard(qtbot, context, client_factory=factory)
    fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.error_page
    assert wizard.error_page.intro.text() == CaUnavailable("", url="http://127.0.0.1:9").message(
        "en"
    )
    assert "kept" in wizard.error_page.note.text()
    (pending,) = reissue.pending_files(context.data_dir)
    assert NEW_PASSWORD not in pending.read_text()
    assert wizard.next_button.text() == "Try again"
    factory.url = factory.live  # the network is back
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    assert "Sending the request again" in wizard.progress_page.list.text()
    assert reissue.pending_files(context.data_dir) == []
    assert len(list(out_dir.iterdir())) == 2


class LostAnswer(CaClient):
    """The CA issues, then the connection drops before the answer arrives."""

    def enroll(self, *args: Any, **kwargs: Any) -> Issued:
        super().enroll(*args, **kwargs)
        raise CaUnavailable("connection reset", url=self.base_url)


def test_a_lost_answer_is_fetched_again_by_try_again(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    factories = iter([LostAnswer, CaClient])
    wizard = new_wizard(
        qtbot, context_for(tmp_path, ca.url), client_factory=lambda url: next(factories)(url)
    )
    fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.error_page
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page
    assert "Fetching the certificates already issued" in wizard.progress_page.list.text()
    done = wizard.result_files
    assert done is not None
    assert open_pkcs12(done.sign_path, NEW_PASSWORD).entry.certificate == done.sign


def test_a_re_issue_left_pending_is_offered_first_and_finished(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    context = context_for(tmp_path, ca.url)
    code = issue_code(ca, demo)
    with pytest.raises(CaUnavailable):  # an earlier run: the network was down
        reissue.with_code(
            CaClient("http://127.0.0.1:9"), context.data_dir, CITIZEN, code, NEW_PASSWORD, out_dir
        )
    wizard = new_wizard(qtbot, context)
    assert wizard.page is wizard.resume_page
    assert CITIZEN in wizard.resume_page.intro.text()
    assert str(out_dir) in wizard.resume_page.intro.text()
    wizard.resume_page.password.setText("not-the-password")
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.resume_page
    assert wizard.resume_page.problem.text() == "The password is not right for this key file."
    wizard.resume_page.password.setText(NEW_PASSWORD)
    click(qtbot, wizard)  # the CA never got the request, and no code was typed
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.resume_page
    assert "type the one-time code" in wizard.resume_page.problem.text()
    wizard.resume_page.password.setText(NEW_PASSWORD)
    wizard.resume_page.code.setText(code)
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    assert reissue.pending_files(context.data_dir) == []


def test_a_pending_re_issue_can_be_discarded_to_start_over(
    qtbot: QtBot, tmp_path: Path, out_dir: Path
) -> None:
    context = context_for(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(CaUnavailable):
        reissue.with_code(
            CaClient("http://127.0.0.1:9"), context.data_dir, CITIZEN, "C", "pw", out_dir
        )
    wizard = new_wizard(qtbot, context)
    assert wizard.page is wizard.resume_page
    wizard.discard_pending()  # what "Yes" in the confirmation does
    assert wizard.page is wizard.code_page
    assert reissue.pending_files(context.data_dir) == []


def test_a_file_in_the_way_is_never_overwritten_and_another_folder_can_be_chosen(
    qtbot: QtBot,
    ca: LiveCa,
    demo: dict[str, Any],
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = reissue.generate()
    monkeypatch.setattr(reissue, "generate", lambda kind="rsa": keys)
    precious = out_dir / keys.names[0]
    precious.write_bytes(b"somebody's key file")
    wizard = new_wizard(qtbot, context_for(tmp_path, ca.url))
    fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.error_page
    expected = FileExists("", path=str(precious)).message("en")
    assert wizard.error_page.intro.text() == expected
    assert precious.read_bytes() == b"somebody's key file"
    assert wizard.next_button.text() == "Choose another folder"
    click(qtbot, wizard)
    assert wizard.page is wizard.folder_page
    assert wizard.folder_page.problem.text() == expected
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    wizard.folder_page.folder.setText(str(elsewhere))
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    assert precious.read_bytes() == b"somebody's key file"


def test_cancel_before_the_ca_is_asked_sends_nothing_and_keeps_nothing(
    qtbot: QtBot, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    class NeverAsked(CaClient):
        def enroll(self, *args: Any, **kwargs: Any) -> Issued:
            asked.append("enroll")
            raise AssertionError("the CA was asked after Cancel")

    release = threading.Event()
    real_generate = reissue.generate

    def slow_generate(kind: str = "rsa") -> reissue.NewKeys:
        release.wait(WAIT / 1000)
        return real_generate(kind)

    monkeypatch.setattr(reissue, "generate", slow_generate)
    context = context_for(tmp_path, "http://127.0.0.1:9")
    wizard = new_wizard(qtbot, context, client_factory=NeverAsked)
    fill_and_start(qtbot, wizard, CITIZEN, "ABCD-EFGH-JKMN-PQRS", out_dir)
    qtbot.waitUntil(lambda: "Making two new key pairs" in wizard.progress_page.list.text())
    assert wizard.cancel_button.isEnabled()
    qtbot.mouseClick(wizard.cancel_button, Qt.MouseButton.LeftButton)
    assert wizard.progress_page.intro.text() == "Cancelling…"
    release.set()
    qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=WAIT)
    assert wizard.result() == QDialog.DialogCode.Rejected
    assert asked == []
    assert reissue.pending_files(context.data_dir) == []
    assert list(out_dir.iterdir()) == []


def test_renewal_signs_with_the_current_auth_key(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    current = demo["citizen_auth"]
    wizard = new_wizard(qtbot, context_for(tmp_path, ca.url), mode="renew", key_path=current.path)
    assert wizard.page is wizard.current_page
    assert wizard.windowTitle() == "Renew my keys"
    wizard.current_page.password.setText("wrong")
    click(qtbot, wizard)
    assert wizard.page is wizard.current_page
    assert wizard.current_page.problem.text() == "The password is not right for this key file."
    wizard.current_page.file.setText(str(demo["citizen_sign"].path))
    wizard.current_page.password.setText(current.password)
    click(qtbot, wizard)
    assert "SIGN" in wizard.current_page.problem.text()
    wizard.current_page.file.setText(str(current.path))
    wizard.current_page.password.setText(current.password)
    click(qtbot, wizard)
    assert wizard.page is wizard.password_page
    wizard.password_page.password.setText(NEW_PASSWORD)
    wizard.password_page.repeat.setText(NEW_PASSWORD)
    click(qtbot, wizard)
    wizard.folder_page.folder.setText(str(out_dir))
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    assert "Signing the request with your current AUTH key" in wizard.progress_page.list.text()
    done = wizard.result_files
    assert done is not None
    assert identity_of(open_pkcs12(done.auth_path, NEW_PASSWORD).entry.certificate).iin == CITIZEN
    old = f"{current.open().certificate.serial_number:040x}"
    assert CaClient(ca.url).certificate_status(old)["status"] == "revoked"


def test_the_code_path_makes_gost_2015_keys_unless_rsa_is_chosen(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    wizard = new_wizard(qtbot, context_for(tmp_path, ca.url))
    assert wizard.code_page.gost.isChecked()  # what NCA issues to new applicants since 2024
    assert "national algorithm" in wizard.code_page.gost_note.text()
    fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    done = wizard.result_files
    assert done is not None
    assert done.auth_path.name.startswith("AUTH_GOST512_")
    assert done.sign_path.name.startswith("GOST512_")
    for path in (done.auth_path, done.sign_path):
        entry = open_pkcs12(path, NEW_PASSWORD).entry
        assert entry.key.algorithm is KeyAlgorithm.GOST2015
        assert identity_of(entry.certificate).iin == CITIZEN

    rsa_wizard = new_wizard(qtbot, context_for(tmp_path / "rsa", ca.url))
    rsa_wizard.code_page.rsa.setChecked(True)
    rsa_out = tmp_path / "rsa-keys"
    rsa_out.mkdir()
    fill_and_start(qtbot, rsa_wizard, CITIZEN, issue_code(ca, demo), rsa_out)
    wait_for_end(qtbot, rsa_wizard)
    assert rsa_wizard.page is rsa_wizard.done_page, rsa_wizard.error_page.intro.text()
    rsa_done = rsa_wizard.result_files
    assert rsa_done is not None
    assert rsa_done.sign_path.name.startswith("RSA256_")
    assert open_pkcs12(rsa_done.sign_path, NEW_PASSWORD).entry.key.algorithm is KeyAlgorithm.RSA


def test_renewing_a_gost_key_makes_gost_keys_without_asking(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    current = demo["citizen_gost_auth"]
    wizard = new_wizard(qtbot, context_for(tmp_path, ca.url), mode="renew", key_path=current.path)
    wizard.current_page.password.setText(current.password)
    click(qtbot, wizard)
    assert wizard.page is wizard.password_page  # no key-type question on this path
    wizard.password_page.password.setText(NEW_PASSWORD)
    wizard.password_page.repeat.setText(NEW_PASSWORD)
    click(qtbot, wizard)
    wizard.folder_page.folder.setText(str(out_dir))
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.done_page, wizard.error_page.intro.text()
    done = wizard.result_files
    assert done is not None
    assert done.sign_path.name.startswith("GOST512_")
    assert open_pkcs12(done.sign_path, NEW_PASSWORD).entry.key.algorithm is KeyAlgorithm.GOST2015


def test_a_revoked_auth_key_cannot_renew_and_says_go_to_a_psc(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    revoked = demo["revoked_auth"]
    context = context_for(tmp_path, ca.url)
    wizard = new_wizard(qtbot, context, mode="renew", key_path=revoked.path)
    wizard.current_page.password.setText(revoked.password)
    click(qtbot, wizard)
    wizard.password_page.password.setText(NEW_PASSWORD)
    wizard.password_page.repeat.setText(NEW_PASSWORD)
    click(qtbot, wizard)
    wizard.folder_page.folder.setText(str(out_dir))
    click(qtbot, wizard)
    wait_for_end(qtbot, wizard)
    assert wizard.page is wizard.error_page
    assert wizard.error_page.intro.text() == CaRefused("signer_revoked", "").message("en")
    assert wizard.next_button.text() == "Close"
    assert reissue.pending_files(context.data_dir) == []


def test_every_wizard_page_is_drawn_in_kazakh_russian_and_english_under_xvfb() -> None:
    shots = render_under_xvfb("wizard", ARTIFACTS / "reissue")
    expected = {f"wizard-{page}-{lang}.png" for page in WIZARD_PAGES for lang in LANGUAGES}
    assert {shot.name for shot in shots} == expected
    for shot in shots:
        assert_not_blank(shot)


class LockedKeyring(MemoryKeyring):
    """A keyring that refuses to store anything (locked, or no secret service running)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the keyring is locked")


def test_a_keyring_that_refuses_is_said_plainly_and_the_keys_stay(
    qtbot: QtBot, ca: LiveCa, demo: dict[str, Any], tmp_path: Path, out_dir: Path
) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        wizard = new_wizard(qtbot, context_for(tmp_path, ca.url))
        fill_and_start(qtbot, wizard, CITIZEN, issue_code(ca, demo), out_dir)
        wait_for_end(qtbot, wizard)
        wizard.done_page.remember.setChecked(True)
        click(qtbot, wizard)
    finally:
        keyring.set_keyring(before)
    assert wizard.page is wizard.done_page  # still open, saying why
    assert "could not keep the password: PasswordSetError" in wizard.done_page.remember_state.text()
    assert not wizard.done_page.remember.isChecked()
    assert len(list(out_dir.iterdir())) == 2
    click(qtbot, wizard)
    assert wizard.result() == QDialog.DialogCode.Accepted

"""Screenshots of the re-issue wizard's pages and the operator window, in kk, ru and en.

Run by the tests (``render_under_xvfb``): a private Xvfb server (it picks a free display itself
with -displayfd), and this file as a child process with QT_QPA_PLATFORM=xcb, because a test
process already runs Qt offscreen and a Qt process cannot change its platform. The screens are
filled with the demo citizen's data (certs/demo, TEST ONLY) directly, without a CA: the point is
how they look, the behaviour is tested elsewhere. PNGs go to test-artifacts/ (git-ignored).

    python tests/ui/reissue_screens.py wizard|operator OUT_DIR
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LANGUAGES = ("kk", "ru", "en")
WIZARD_PAGES = ("code", "password", "folder", "current_key", "progress", "done", "error", "resume")
OPERATOR_PAGES = ("sign_in", "desk")


def render_under_xvfb(kind: str, out_dir: Path, timeout: float = 120) -> list[Path]:
    """Start Xvfb, render ``kind``'s screens into ``out_dir``, stop Xvfb; the PNGs written."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise FileNotFoundError("Xvfb is not installed (Debian package xvfb)")
    out_dir.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as numbers:
            display = numbers.readline().strip()
        if not display:
            raise RuntimeError("Xvfb did not report a display")
        env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": f":{display}"}
        env.pop("WAYLAND_DISPLAY", None)
        subprocess.run(
            [sys.executable, __file__, kind, str(out_dir)],
            env=env,
            check=True,
            timeout=timeout,
            capture_output=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return sorted(out_dir.glob(f"{kind}-*.png"))


def assert_not_blank(png: Path) -> None:
    """Fail unless ``png`` shows something: many colours, and ink on a fair part of it."""
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert not image.isNull(), f"{png} is not an image"
    assert image.width() > 200, f"{png} is too small"
    assert image.height() > 200, f"{png} is too small"
    colours: set[int] = set()
    ink = samples = 0
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            colour = image.pixelColor(x, y)
            colours.add(colour.rgb())
            ink += colour.lightness() < 140
            samples += 1
    assert len(colours) >= 8, f"{png} has {len(colours)} colours: blank?"
    assert 0.005 < ink / samples < 0.7, f"{png}: {ink / samples:.1%} dark pixels"


# -- the child process -------------------------------------------------------------------------


def _demo(name: str) -> tuple[Path, str]:
    rows = json.loads((ROOT / "certs" / "demo" / "index.json").read_text(encoding="utf-8"))
    row = next(r for r in rows if r["id"] == name)
    return ROOT / "certs" / row["path"], str(row["password"])


def _settle() -> None:
    from PySide6.QtCore import QCoreApplication, QThread

    for _ in range(5):
        QCoreApplication.processEvents()
        QThread.msleep(20)


def _wizard_screens(out_dir: Path, home: Path) -> None:
    from signer_app.crypto.keystores import open_pkcs12
    from signer_app.service.errors import CaRefused
    from signer_app.ui.context import AppContext
    from signer_app.ui.reissue_pages import Page, Saved
    from signer_app.ui.reissue_wizard import ReissueWizard

    auth_path, password = _demo("citizen_auth")
    sign_path, _ = _demo("citizen_sign")
    auth = open_pkcs12(auth_path, password).entry.certificate
    sign = open_pkcs12(sign_path, password).entry.certificate
    for language in LANGUAGES:
        context = AppContext.create(home / language)
        context.translator.set_language(language)
        code = ReissueWizard(context)
        renew = ReissueWizard(context, mode="renew", key_path=auth_path)
        code.code_page.iin.setText("850101300124")
        code.code_page.code.setText("7K4M-Q2XP-9RTW-H3NB")
        code.password_page.set_iin("850101300124")
        code.password_page.password.setText("tulpar-qyran")
        code.password_page.repeat.setText("tulpar-qyran")
        code.folder_page.folder.setText(str(home))
        renew.current_page.password.setText(password)

        def progress(w: ReissueWizard) -> Page:
            w.progress_page.reset()
            w.progress_page.add_stage("generating keys", True)
            w.progress_page.add_stage("asking the certification centre", False)
            return w.progress_page

        def done(w: ReissueWizard) -> Page:
            w.done_page.show_result([Saved(auth_path, auth), Saved(sign_path, sign)])
            return w.done_page

        def error(w: ReissueWizard) -> Page:
            w.show_error(CaRefused("code_expired", "the code has expired", "HTTP 403"))
            w.error_page.details_button.setChecked(True)
            return w.error_page

        def resume(w: ReissueWizard) -> Page:
            w.resume_page.show_pending(
                "850101300124", datetime.now(UTC) - timedelta(hours=3), home / "keys"
            )
            return w.resume_page

        pages: dict[str, tuple[ReissueWizard, Callable[[ReissueWizard], Page]]] = {
            "code": (code, lambda w: w.code_page),
            "password": (code, lambda w: w.password_page),
            "folder": (code, lambda w: w.folder_page),
            "current_key": (renew, lambda w: w.current_page),
            "progress": (code, progress),
            "done": (code, done),
            "error": (code, error),
            "resume": (code, resume),
        }
        for name in WIZARD_PAGES:
            wizard, make = pages[name]
            page = make(wizard)
            wizard._show(page)
            if name == "error":
                wizard._action = "code"
                wizard.retranslate()
            wizard.show()
            _settle()
            wizard.grab().save(str(out_dir / f"wizard-{name}-{language}.png"))
        code.close()
        renew.close()


def _operator_screens(out_dir: Path, home: Path) -> None:
    from signer_app.ui.context import AppContext
    from signer_app.ui.operator_mode import OperatorWindow

    key_path, _ = _demo("psc_operator_auth")
    now = datetime.now(UTC)
    for language in LANGUAGES:
        context = AppContext.create(home / language)
        context.translator.set_language(language)
        window = OperatorWindow(context, key_path=key_path)
        window.show()
        _settle()
        window.grab().save(str(out_dir / f"operator-sign_in-{language}.png"))
        window.session = {
            "expires_at": (now + timedelta(hours=8)).isoformat(),
            "operator": {"iin": "880612300019", "role": "operator"},
        }
        window.person = {
            "iin": "850101300124",
            "surname": "ЖҰМАБЕКОВ",
            "given_name": "АСХАТ",
            "patronymic": "НҰРЛАНҰЛЫ",
            "birth_date": "1985-01-01",
            "has_id_document": True,
        }
        until = (now + timedelta(days=300)).isoformat()
        window.certificates = [
            {
                "serial": "58196ec9ba6c521ff00ec136c7ea3e33090617fd",
                "purpose": "auth",
                "role": "individual",
                "not_after": until,
                "status": "revoked",
                "reason": "keyCompromise",
                "revoked_at": now.isoformat(),
                "expired": False,
            },
            {
                "serial": "71fec3ecf5eec316eb1d55a93c3eb8cd2f66e3e9",
                "purpose": "sign",
                "role": "individual",
                "not_after": until,
                "status": "good",
                "reason": None,
                "revoked_at": None,
                "expired": False,
            },
            {
                "serial": "27480ef002b9abb98ce8db1018c94d6a8c6f7d2c",
                "purpose": "sign",
                "role": "individual",
                "not_after": (now - timedelta(days=20)).isoformat(),
                "status": "good",
                "reason": None,
                "revoked_at": None,
                "expired": True,
            },
        ]
        window.ticket = {
            "code": "7K4M-Q2XP-9RTW-H3NB",
            "iin": "850101300124",
            "expires_at": (now + timedelta(hours=24)).isoformat(),
        }
        window.document_number.setText("001300124")
        window.stack.setCurrentWidget(window.desk_page)
        window.find_iin.setText("850101300124")
        window._note("operator.log.signed_in")
        window._note("operator.log.found", iin="850101300124", name="ЖҰМАБЕКОВ АСХАТ НҰРЛАНҰЛЫ")
        window._note(
            "operator.log.revoked",
            serial="58196ec9ba6c521f",
            reason=window._reason("keyCompromise"),
        )
        window.retranslate()
        _settle()
        window.grab().save(str(out_dir / f"operator-desk-{language}.png"))
        window.client = None
        window.close()


def main(argv: list[str]) -> int:
    """Render one kind of screens into a folder (run under an X server)."""
    from PySide6.QtWidgets import QApplication

    kind, out_dir = argv[0], Path(argv[1])
    app = QApplication([])
    with tempfile.TemporaryDirectory() as home:
        if kind == "wizard":
            _wizard_screens(out_dir, Path(home))
        elif kind == "operator":
            _operator_screens(out_dir, Path(home))
        else:
            raise SystemExit(f"unknown kind {kind!r}: wizard or operator")
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

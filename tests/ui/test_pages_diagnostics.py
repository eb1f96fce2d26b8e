"""Diagnostics page: port, local root, trust per browser store with a working "Fix", report."""

from __future__ import annotations

from pathlib import Path

from pages_support import certutil_path_fixture, context_fixture  # noqa: F401
from PySide6.QtGui import QGuiApplication

from signer_app.api.tls import ensure_tls
from signer_app.ui.context import AppContext
from signer_app.ui.pages.diagnostics import DiagnosticsPage


def test_without_a_root_the_page_says_so(qtbot, context: AppContext, tmp_path: Path) -> None:
    page = DiagnosticsPage(context, home=tmp_path / "home")
    qtbot.addWidget(page)
    assert "not created yet" in page.root.text()
    assert not page.fix_button.isEnabled()
    assert page.port.text() == "wss://127.0.0.1:13579"


def test_fix_trusts_the_root_in_the_users_store(
    qtbot,
    context: AppContext,
    tmp_path: Path,
    certutil_path,
) -> None:
    ensure_tls(context.data_dir)
    home = tmp_path / "home"
    page = DiagnosticsPage(context, home=home, api_port=lambda: 14000)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.checks >= 1)
    assert page.stores.item(0, 1).text() == "no store yet"
    page.fix_button.click()
    qtbot.waitUntil(lambda: page.checks >= 2, timeout=30000)
    assert page.stores.item(0, 1).text() == "trusted"
    assert "now trusted" in page.info.text()
    page.copy_button.click()
    report = QGuiApplication.clipboard().text()
    assert "API port: 14000" in report
    assert page.root.text() in report
    assert ": trusted" in report

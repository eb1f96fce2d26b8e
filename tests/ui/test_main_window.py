"""The main window: the shell's contract, keyboard and names, and the live language switch."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pages_support import context_fixture, visible_texts  # noqa: F401
from PySide6.QtGui import QPalette

from signer_app.service.prompter import ScriptedPrompter
from signer_app.service.signing import SigningService
from signer_app.ui.context import AppContext
from signer_app.ui.main_window import PAGES, MainWindow
from signer_app.ui.widgets.page_dialogs import ScriptedDialogs


@pytest.fixture
def window(qtbot, context: AppContext, demo) -> MainWindow:
    ctx = replace(context, preselected_keys=(demo["citizen_sign"].path,))
    win = MainWindow(ctx, SigningService(ScriptedPrompter([])), ScriptedDialogs())
    qtbot.addWidget(win)
    return win


def test_show_page_brings_each_page(window: MainWindow) -> None:
    for name in PAGES:
        window.show_page(name)
        assert window.current_page == name
        assert window.stack.currentWidget() is window.pages[name]
    with pytest.raises(ValueError, match="unknown page"):
        window.show_page("nowhere")


def test_sidebar_is_named_and_keyboard_driven(qtbot, window: MainWindow) -> None:
    assert window.sidebar.accessibleName() == "Pages"
    window.show()
    window.sidebar.setFocus()
    window.sidebar.setCurrentRow(0)
    from PySide6.QtCore import Qt

    qtbot.keyClick(window.sidebar, Qt.Key.Key_Down)
    assert window.current_page == "sign"
    assert window.sidebar.item(1).toolTip() == "Sign (Ctrl+2)"


def test_switching_language_rewords_every_page(window: MainWindow) -> None:
    before = {name: visible_texts(page) for name, page in window.pages.items()}
    title = window.windowTitle()
    window.translator.set_language("kk")
    assert window.windowTitle() != title
    assert window.sidebar.item(0).text() == "Менің кілттерім"
    for name, page in window.pages.items():
        after = visible_texts(page)
        assert after != before[name], name
        # Nothing registered in English is left on the page (paths and numbers may stay).
        leftovers = {t for t in after & before[name] if any(c.isalpha() for c in t)}
        assert not leftovers - {"Qalam"} - {t for t in after if "/" in t or "." in t}, name


def test_the_request_log_is_wired_for_the_sites_page(window: MainWindow, context) -> None:
    assert window.service.request_log is not None
    assert window.service.request_log.path.parent == window.context.data_dir


def test_colours_come_from_the_palette(window: MainWindow) -> None:
    offenders = [w for w in window.findChildren(type(window.sidebar)) if w.styleSheet()]
    assert offenders == []
    verify = window.pages["verify"]
    dark = QPalette(verify.palette())
    dark.setColor(QPalette.ColorRole.Window, dark.color(QPalette.ColorRole.Shadow))
    verify.setPalette(dark)
    assert verify.verdict_colour("valid") == "#7ddc95"  # type: ignore[attr-defined]


def test_saving_a_tsa_address_applies_to_the_service(window: MainWindow) -> None:
    settings = window.pages["settings"]
    settings.tsa.setText("https://tsp.example.kz/tsp")  # type: ignore[attr-defined]
    settings.save_urls.click()  # type: ignore[attr-defined]
    assert getattr(window.service.tsa, "url", None) == "https://tsp.example.kz/tsp"

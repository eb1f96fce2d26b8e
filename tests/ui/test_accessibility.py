"""Issue 5's accessibility promise under a real X server (Xvfb, Qt's xcb platform): readable at
200 % scaling, and the dark theme follows the system.

Each case runs this file as a script under `xvfb-run` with QT_SCALE_FACTOR=2 and the system's
theme given the way a GNOME desktop gives it: Qt's GTK3 platform theme reading GTK_THEME
(Adwaita or Adwaita:dark). The script shows every page of the main window (and the Sign page
with a PDF's options) and the key chooser in kk, ru and en, saves each as a PNG in
test-artifacts/accessibility/ (kept by CI) and prints one JSON report: text that does not fit
its widget (a label or button whose size hint is larger than the room it was given) and the
window's background lightness.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "accessibility"
GTK = Path("/usr/lib/x86_64-linux-gnu/libgtk-3.so.0")
LANGUAGES = ("kk", "ru", "en")


def _render(scheme: str) -> dict[str, Any]:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.fail("xvfb-run is not installed: run scripts/setup.sh (package xvfb)")
    if not GTK.is_file():
        pytest.fail(f"{GTK} is missing: run scripts/setup.sh (package libgtk-3-0)")
    out = OUT / scheme
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        QT_QPA_PLATFORM="xcb",
        QT_SCALE_FACTOR="2",
        QT_QPA_PLATFORMTHEME="gtk3",
        GTK_THEME="Adwaita:dark" if scheme == "dark" else "Adwaita",
        # No session bus under xvfb-run: say so rather than let Qt try to spawn one.
        DBUS_SESSION_BUS_ADDRESS="disabled:",
    )
    done = subprocess.run(
        [xvfb_run, "-a", "-s", "-screen 0 2560x1800x24", sys.executable, __file__, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"rendering failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    for shot in report["shots"]:
        assert (out / shot).is_file(), f"{shot} was not written"
    return report


@pytest.fixture(scope="module")
def light() -> dict[str, Any]:
    """The report of the light-theme, 200 % run."""
    return _render("light")


@pytest.fixture(scope="module")
def dark() -> dict[str, Any]:
    """The report of the dark-theme, 200 % run."""
    return _render("dark")


def test_every_window_is_drawn_at_double_scale(light: dict[str, Any]) -> None:
    assert light["device_pixel_ratio"] == 2
    # Six pages, the Sign page with a PDF's options, the key chooser.
    assert len(light["shots"]) == len(LANGUAGES) * 8


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_text_is_clipped_at_200_percent(
    scheme: str, light: dict[str, Any], dark: dict[str, Any]
) -> None:
    report = light if scheme == "light" else dark
    assert report["clipped"] == [], "\n".join(report["clipped"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_label_is_readable_on_its_background(
    scheme: str, light: dict[str, Any], dark: dict[str, Any]
) -> None:
    report = light if scheme == "light" else dark
    assert report["low_contrast"] == [], "\n".join(report["low_contrast"])


def test_dark_system_theme_gives_a_dark_window(dark: dict[str, Any]) -> None:
    assert dark["color_scheme"] == "Dark"
    assert dark["window_lightness"] < 100
    # Measured on the grabbed pixels, not just the palette: a widget painting its own light
    # background would show here.
    assert max(dark["picture_lightness"].values()) < 110, dark["picture_lightness"]


def test_light_system_theme_gives_a_light_window(light: dict[str, Any]) -> None:
    assert light["color_scheme"] == "Light"
    assert light["window_lightness"] > 180
    assert min(light["picture_lightness"].values()) > 150, light["picture_lightness"]


def test_the_clipping_check_catches_a_label_squeezed_too_narrow(qapp: Any) -> None:
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    window = QWidget()
    label = QLabel("Құпиясөз қате. Қалған әрекет саны: 2.")
    label.setFixedWidth(40)
    QVBoxLayout(window).addWidget(label)
    window.show()
    assert len(_clipped(window, "test")) == 1
    label.setMinimumWidth(0)
    label.setMaximumWidth(16777215)
    window.adjustSize()
    assert _clipped(window, "test") == []
    window.close()


@pytest.mark.parametrize("window_colour", ["#323232", "#1e1e1e", "#efefef", "#ffffff"])
def test_the_warning_red_is_readable_on_light_and_dark_windows(
    qapp: Any, window_colour: str
) -> None:
    from PySide6.QtGui import QColor, QPalette

    from signer_app.ui.style import error_colour, error_style, is_dark

    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window_colour))
    assert is_dark(palette) == (QColor(window_colour).lightness() < 128)
    assert _contrast(error_colour(palette), QColor(window_colour)) >= 4.5
    assert error_colour(palette).name() in error_style(palette)


@pytest.mark.parametrize("window_colour", ["#323232", "#1e1e1e", "#efefef", "#ffffff"])
def test_the_password_meter_is_visible_on_light_and_dark_windows(
    qapp: Any, window_colour: str
) -> None:
    from PySide6.QtGui import QColor, QPalette

    from signer_app.ui.style import strength_colour

    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window_colour))
    for score in range(5):
        # WCAG 1.4.11: a graphical object needs 3 : 1 against what is next to it.
        assert _contrast(strength_colour(palette, score), QColor(window_colour)) >= 3.0, score


# --------------------------------------------------------------------------- the renderer


def _mean_lightness(image: Any) -> float:
    """The average HSL lightness (0-255) of a sample of the image's pixels."""
    from PySide6.QtGui import QColor

    total = count = 0
    step = max(1, min(image.width(), image.height()) // 80)
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            total += QColor(image.pixel(x, y)).lightness()
            count += 1
    return total / max(count, 1)


def _luminance(colour: Any) -> float:
    """WCAG 2's relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.red())
        + 0.7152 * channel(colour.green())
        + 0.0722 * channel(colour.blue())
    )


def _contrast(a: Any, b: Any) -> float:
    """WCAG 2's contrast ratio (1 to 21) of two colours."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _low_contrast(window: Any, where: str) -> list[str]:
    """Visible labels whose text colour is hard to read on the window's background (WCAG AA:
    4.5 : 1), e.g. a colour fixed for a light theme shown on a dark one."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QLabel

    background = window.palette().color(QPalette.ColorRole.Window)
    found = []
    for label in window.findChildren(QLabel):
        if not label.text() or not label.isVisibleTo(window):
            continue
        colour = label.palette().color(label.foregroundRole())
        ratio = _contrast(colour, background)
        if ratio < 4.5:
            found.append(
                f"{where}: {label.text()[:60]!r} in {colour.name()} on {background.name()}: "
                f"contrast {ratio:.1f}"
            )
    return found


def _clipped(window: Any, where: str) -> list[str]:
    """Labels and buttons whose text needs more room than they have."""
    from PySide6.QtWidgets import QAbstractButton, QLabel

    found = []
    for widget in window.findChildren(QLabel) + window.findChildren(QAbstractButton):
        text = widget.text()
        if not text or not widget.isVisibleTo(window) or widget.width() <= 0:
            continue
        hint = widget.sizeHint()
        if isinstance(widget, QLabel) and widget.wordWrap():
            need_w, need_h = 0, widget.heightForWidth(widget.width())
        else:
            need_w, need_h = hint.width(), hint.height()
        if need_w > widget.width() + 1 or need_h > widget.height() + 1:
            found.append(
                f"{where}: {type(widget).__name__} {text[:60]!r} needs {need_w}x{need_h}, "
                f"has {widget.width()}x{widget.height()}"
            )
    return found


def render(out: Path) -> dict[str, Any]:
    """Show each window on the X server, grab it, check its text; the report."""
    import json as json_
    import tempfile

    from PySide6.QtGui import QGuiApplication, QPalette
    from PySide6.QtWidgets import QApplication, QWidget

    from signer_app.crypto.identity import identity_of
    from signer_app.crypto.keystores import open_pkcs12
    from signer_app.service.prompter import KeyRequest, KeyType
    from signer_app.service.signing import SigningService
    from signer_app.ui.context import AppContext
    from signer_app.ui.dialogs.key_chooser import KeyChooserDialog
    from signer_app.ui.main_window import PAGES, MainWindow
    from signer_app.ui.prompter import QtPrompter

    app = QApplication([sys.argv[0]])
    out.mkdir(parents=True, exist_ok=True)
    index = {k["id"]: k for k in json_.loads((ROOT / "certs/demo/index.json").read_text())}
    sign_key, auth_key = (
        ROOT / "certs" / index[i]["path"] for i in ("citizen_sign", "citizen_auth")
    )
    identity = identity_of(
        open_pkcs12(sign_key, index["citizen_sign"]["password"]).entry.certificate
    )
    context = AppContext.create(Path(tempfile.mkdtemp()), preselected_keys=(sign_key, auth_key))
    request = KeyRequest(
        "https://egov.example.kz",
        "sign",
        ("PKCS12", "AKKaztokenStore"),
        KeyType.SIGNATURE,
        ("be a SIGN key", "be valid now"),
    )
    window = MainWindow(context, SigningService(QtPrompter(context)))
    report: dict[str, Any] = {
        "color_scheme": QGuiApplication.styleHints().colorScheme().name,
        "window_lightness": app.palette().color(QPalette.ColorRole.Window).lightness(),
        "shots": [],
        "clipped": [],
        "low_contrast": [],
        "picture_lightness": {},
    }

    def shoot(widget: QWidget, name: str) -> None:
        widget.show()
        widget.raise_()
        for _ in range(20):
            app.processEvents()
        report["device_pixel_ratio"] = widget.devicePixelRatioF()
        screen = widget.screen()
        picture = screen.grabWindow(widget.winId()) if screen else widget.grab()
        if picture.isNull():
            picture = widget.grab()
        picture.save(str(out / name))
        report["shots"].append(name)
        report["picture_lightness"][name] = round(_mean_lightness(picture.toImage()), 1)
        report["clipped"].extend(_clipped(widget, name))
        report["low_contrast"].extend(_low_contrast(widget, name))

    # The Sign page as it is for a PDF: PAdES chosen, the stamp's page and corner, the note
    # that timestamped levels need a TSA, and "Verify" after signing.
    pdf = Path(tempfile.mkdtemp()) / "шарт.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    for language in LANGUAGES:
        context.translator.set_language(language)
        for page in PAGES:
            window.show_page(page)
            shoot(window, f"main_window.{page}.{language}.png")
        sign_page = window.sign_page
        sign_page.add_files([pdf])
        sign_page.pdf_options.stamp.setChecked(True)
        sign_page.verify_button.show()
        window.show_page("sign")
        shoot(window, f"main_window.sign_pdf.{language}.png")
        sign_page.files.clear()
        sign_page.add_files([])
        sign_page.verify_button.hide()
        window.hide()
        chooser = KeyChooserDialog(context.translator, request, (sign_key, auth_key))
        chooser.set_identity(sign_key, identity)
        chooser.key_list.setCurrentRow(0)
        # The red warning line must be readable too: show it as a wrong password does.
        chooser.wrong_password(2, 1)
        shoot(chooser, f"key_chooser.{language}.png")
        chooser.close()
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    result = render(Path(sys.argv[1]))
    print(json.dumps(result, ensure_ascii=False), flush=True)
    # As in test_screenshots.py: skip PySide's teardown at exit, which can crash under xcb.
    os._exit(0)

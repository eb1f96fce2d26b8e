"""Every visible string exists in Kazakh, Russian and English, and the switch is live."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime

import pytest

import signer_app.ui
from signer_app.crypto.errors import WrongPassword
from signer_app.ui.i18n import LANGUAGES, Text, Translator, placeholders, register, registered


def _import_every_ui_module() -> None:
    for info in pkgutil.walk_packages(signer_app.ui.__path__, "signer_app.ui."):
        importlib.import_module(info.name)


def test_every_string_has_all_three_languages_with_the_same_placeholders() -> None:
    _import_every_ui_module()
    problems = []
    for key, text in registered().items():
        fields = placeholders(text.en)
        for language in LANGUAGES:
            value = text.get(language)
            if not value.strip():
                problems.append(f"{key}: empty in {language}")
            elif placeholders(value) != fields:
                problems.append(f"{key}: {language} placeholders {placeholders(value)} != {fields}")
    assert not problems, "\n".join(problems)


def test_a_key_cannot_mean_two_things() -> None:
    register({"test.i18n.same": Text("a", "а", "а")})
    register({"test.i18n.same": Text("a", "а", "а")})  # the same text again is harmless
    with pytest.raises(ValueError, match="registered twice"):
        register({"test.i18n.same": Text("b", "б", "б")})


def test_switching_language_changes_strings_and_signals(qtbot) -> None:  # type: ignore[no-untyped-def]
    register({"test.i18n.hello": Text("Hello, {name}", "Привет, {name}", "Сәлем, {name}")})
    translator = Translator("en")
    assert translator.text("test.i18n.hello", name="Aigul") == "Hello, Aigul"
    with qtbot.waitSignal(translator.changed) as signal:
        translator.set_language("kk")
    assert signal.args == ["kk"]
    assert translator.text("test.i18n.hello", name="Aigul") == "Сәлем, Aigul"
    assert translator.error(WrongPassword()) == WrongPassword().message("kk")


def test_unknown_language_and_key_are_refused() -> None:
    translator = Translator("ru")
    with pytest.raises(ValueError, match="unknown language"):
        translator.set_language("de")
    with pytest.raises(KeyError):
        translator.text("test.i18n.never.registered")


def test_dates_follow_the_language() -> None:
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert "23.11.2026" in Translator("ru").date(moment) or "23.11.26" in Translator("ru").date(
        moment
    )
    assert "11/23" in Translator("en").date(moment)
    with pytest.raises(ValueError, match="timezone"):
        Translator("en").date(datetime(2026, 11, 23))

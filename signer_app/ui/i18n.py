"""Every visible string of the desktop app in Kazakh, Russian and English, and the live switch.

Why a Python table and not Qt Linguist (.ts/.qm): the engine's error sentences already live in
such a table (crypto/errors.MESSAGES), so one mechanism serves both; there is no build step to
forget (a missing .qm silently shows English); and a test (tests/ui/test_i18n.py) proves that
every string has all three languages with the same placeholders. Each UI module registers its
own strings with ``register`` next to the code that shows them, so a translator reads the three
languages side by side.

Widgets take the ``Translator`` they were built with, read strings through ``text`` and connect
``Translator.changed`` to a ``retranslate`` method: switching the language in Settings changes
every visible string at once, without a restart. Dates and numbers go through ``locale()``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from PySide6.QtCore import QDateTime, QLocale, QObject, QTimeZone, Signal

from ..crypto.errors import QalamError

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

_QT_LOCALES = {
    "kk": QLocale(QLocale.Language.Kazakh, QLocale.Country.Kazakhstan),
    "ru": QLocale(QLocale.Language.Russian, QLocale.Country.Russia),
    "en": QLocale(QLocale.Language.English, QLocale.Country.UnitedStates),
}


class Text(NamedTuple):
    """One string in the three languages."""

    en: str
    ru: str
    kk: str

    def get(self, language: str) -> str:
        """The string in ``language`` (English for an unknown one)."""
        return str(getattr(self, language, self.en))


_STRINGS: dict[str, Text] = {}
_KEY = re.compile(r"^[a-z][a-z0-9_.]*$")


def register(table: Mapping[str, Text]) -> None:
    """Add a module's strings; a key may be registered once (two meanings, one key is a bug)."""
    for key, text in table.items():
        if not _KEY.match(key):
            raise ValueError(f"string key {key!r} must be lower-case dotted words")
        if key in _STRINGS and _STRINGS[key] != text:
            raise ValueError(f"string key {key!r} is registered twice with different texts")
        _STRINGS[key] = text


def registered() -> Mapping[str, Text]:
    """Every string registered so far (for the completeness test)."""
    return dict(_STRINGS)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Translator(QObject):
    """The current language, the strings in it, and a signal when it changes."""

    changed = Signal(str)

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        super().__init__()
        self._language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    @property
    def language(self) -> str:
        """ "kk", "ru" or "en"."""
        return self._language

    def set_language(self, language: str) -> None:
        """Switch every visible string (widgets listen to ``changed``)."""
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
        if language != self._language:
            self._language = language
            self.changed.emit(language)

    def text(self, key: str, **params: object) -> str:
        """The string ``key`` in the current language, with ``params`` filled in."""
        text = _STRINGS.get(key)
        if text is None:
            raise KeyError(f"no string registered for {key!r}")
        template = text.get(self._language)
        return template.format(**params) if params else template

    def error(self, error: QalamError) -> str:
        """An engine error's plain sentence in the current language."""
        return error.message(self._language)

    def locale(self) -> QLocale:
        """The Qt locale for dates and numbers in the current language."""
        return _QT_LOCALES[self._language]

    def date(self, moment: datetime) -> str:
        """A date as people of this language write it (e.g. 23.11.2026)."""
        return self.locale().toString(_qt_datetime(moment).date(), QLocale.FormatType.ShortFormat)

    def datetime(self, moment: datetime) -> str:
        """A date and time in local time, in this language's short format."""
        local = _qt_datetime(moment).toLocalTime()
        return self.locale().toString(local, QLocale.FormatType.ShortFormat)

    def number(self, value: int) -> str:
        """An integer with this language's digit grouping."""
        return self.locale().toString(value)


def _qt_datetime(moment: datetime) -> QDateTime:
    if moment.tzinfo is None:
        raise ValueError("dates shown to people must be timezone-aware")
    utc = QDateTime.fromSecsSinceEpoch(int(moment.timestamp()), QTimeZone.utc())
    return utc


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "Text",
    "Translator",
    "placeholders",
    "register",
    "registered",
]

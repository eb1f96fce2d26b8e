"""Errors of the signing service: the person said no, no key fits, a feature is not there yet.

They extend the crypto hierarchy (one ``QalamError`` for the whole house) and carry their own
sentences, because the crypto table knows nothing of dialogs. The API maps each code to
NCALayer's reply shapes in api/errors.py; nothing here knows the wire.
"""

from __future__ import annotations

from typing import ClassVar

from ..crypto.errors import MESSAGES, QalamError

SERVICE_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "action_canceled": "The request was cancelled.",
        "too_many_attempts": "Too many failed attempts; the request was cancelled.",
        "storage_unknown": "Unknown key storage: {name}.",
        "storage_empty": "No device of this kind is connected: {name}.",
        "not_available": "This is not available yet: {what}.",
        "busy": "Another request is waiting for the person at the computer.",
    },
    "ru": {
        "action_canceled": "Запрос отменён.",
        "too_many_attempts": "Слишком много неудачных попыток; запрос отменён.",
        "storage_unknown": "Неизвестное хранилище ключей: {name}.",
        "storage_empty": "Устройство этого типа не подключено: {name}.",
        "not_available": "Пока недоступно: {what}.",
        "busy": "Другой запрос ожидает решения пользователя.",
    },
    "kk": {
        "action_canceled": "Сұрау тоқтатылды.",
        "too_many_attempts": "Сәтсіз әрекеттер тым көп; сұрау тоқтатылды.",
        "storage_unknown": "Белгісіз кілт қоймасы: {name}.",
        "storage_empty": "Бұл түрдегі құрылғы қосылмаған: {name}.",
        "not_available": "Әзірге қолжетімсіз: {what}.",
        "busy": "Басқа сұрау пайдаланушының шешімін күтуде.",
    },
}


class ServiceError(QalamError):
    """A QalamError whose sentence lives in SERVICE_MESSAGES."""

    code: ClassVar[str] = "action_canceled"

    def message(self, lang: str = "en") -> str:
        """The plain-language sentence, from this module's table (English as the fallback)."""
        table = SERVICE_MESSAGES.get(lang, SERVICE_MESSAGES["en"])
        template = table.get(self.code) or SERVICE_MESSAGES["en"].get(self.code)
        if template is None:
            template = MESSAGES["en"]["internal"]
        try:
            return template.format(**self.params)
        except KeyError:
            return template


class ActionCanceled(ServiceError):
    """The person cancelled (closed the dialog, said no, or the page went away)."""

    code = "action_canceled"


class TooManyAttempts(ActionCanceled):
    """The retry cap was reached (wrong passwords, refused keys): treated as a cancel."""

    code = "too_many_attempts"


class StorageUnknown(ServiceError):
    """A storage name that is not one of NCALayer's (PROTOCOL.md §11)."""

    code = "storage_unknown"


class StorageEmpty(ServiceError):
    """A known storage kind with no device (every token, until PKCS#11 support lands)."""

    code = "storage_empty"


class NotAvailable(ServiceError):
    """A feature of the protocol this version does not have yet (timestamps, file chooser...)."""

    code = "not_available"
    retriable = False


__all__ = [
    "SERVICE_MESSAGES",
    "ActionCanceled",
    "NotAvailable",
    "ServiceError",
    "StorageEmpty",
    "StorageUnknown",
    "TooManyAttempts",
]

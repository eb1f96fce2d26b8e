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
        "ca_unavailable": "The certification centre at {url} cannot be reached. Check the "
        "connection and try again; nothing was changed.",
        "ca_refused": "The certification centre refused the request: {reason}",
        "reissue_pending": "A re-issue was started and not finished: {path}. Finish it with "
        "'qalam reissue --resume' before starting another.",
        "file_exists": "{path} already exists; it was not overwritten. Choose another folder.",
        "token_reissue_pending": "New keys on the token {token} are waiting for their "
        "certificates ({path}). Finish with 'qalam tokens enroll --resume' before starting "
        "another.",
    },
    "ru": {
        "action_canceled": "Запрос отменён.",
        "too_many_attempts": "Слишком много неудачных попыток; запрос отменён.",
        "storage_unknown": "Неизвестное хранилище ключей: {name}.",
        "storage_empty": "Устройство этого типа не подключено: {name}.",
        "not_available": "Пока недоступно: {what}.",
        "busy": "Другой запрос ожидает решения пользователя.",
        "ca_unavailable": "Удостоверяющий центр {url} недоступен. Проверьте подключение и "
        "повторите попытку; ничего не изменено.",
        "ca_refused": "Удостоверяющий центр отклонил запрос: {reason}",
        "reissue_pending": "Перевыпуск был начат и не завершён: {path}. Завершите его командой "
        "'qalam reissue --resume', прежде чем начинать новый.",
        "file_exists": "{path} уже существует и не был перезаписан. Выберите другую папку.",
        "token_reissue_pending": "Новые ключи на токене {token} ожидают сертификатов ({path}). "
        "Завершите командой 'qalam tokens enroll --resume', прежде чем начинать новый.",
    },
    "kk": {
        "action_canceled": "Сұрау тоқтатылды.",
        "too_many_attempts": "Сәтсіз әрекеттер тым көп; сұрау тоқтатылды.",
        "storage_unknown": "Белгісіз кілт қоймасы: {name}.",
        "storage_empty": "Бұл түрдегі құрылғы қосылмаған: {name}.",
        "not_available": "Әзірге қолжетімсіз: {what}.",
        "busy": "Басқа сұрау пайдаланушының шешімін күтуде.",
        "ca_unavailable": "{url} куәландырушы орталығына қосылу мүмкін болмады. Байланысты "
        "тексеріп, қайталап көріңіз; ештеңе өзгертілмеді.",
        "ca_refused": "Куәландырушы орталық сұрауды қабылдамады: {reason}",
        "reissue_pending": "Қайта шығару басталып, аяқталмаған: {path}. Жаңасын бастамас бұрын "
        "оны 'qalam reissue --resume' командасымен аяқтаңыз.",
        "file_exists": "{path} бар болғандықтан, қайта жазылмады. Басқа қалтаны таңдаңыз.",
        "token_reissue_pending": "{token} токеніндегі жаңа кілттер сертификаттарын күтуде "
        "({path}). Жаңасын бастамас бұрын 'qalam tokens enroll --resume' командасымен "
        "аяқтаңыз.",
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
    """A token storage with no token present (or no driver for it)."""

    code = "storage_empty"


class NotAvailable(ServiceError):
    """A feature of the protocol this version does not have yet (timestamps, file chooser...)."""

    code = "not_available"
    retriable = False


class CaUnavailable(ServiceError):
    """The CA service cannot be reached (connection, DNS, timeout, a 5xx answer)."""

    code = "ca_unavailable"
    retriable = True


# The CA's refusals a citizen or an operator meets, as the reason in their language; any other
# code shows the CA's own (English) sentence, which the CA sends with every error.
CA_REASONS: dict[str, tuple[str, str, str]] = {
    # code: (en, ru, kk)
    "code_invalid": (
        "the code is not valid for this IIN.",
        "код недействителен для этого ИИН.",
        "код бұл ЖСН үшін жарамсыз.",
    ),
    "code_expired": (
        "the code has expired; ask the PSC operator for a new one.",
        "срок действия кода истёк; попросите у оператора ЦОН новый.",
        "кодтың мерзімі өтті; ХҚКО операторынан жаңасын сұраңыз.",
    ),
    "code_used": (
        "the code has already been used; ask the PSC operator for a new one.",
        "код уже использован; попросите у оператора ЦОН новый.",
        "код бұрын пайдаланылған; ХҚКО операторынан жаңасын сұраңыз.",
    ),
    "too_many_attempts": (
        "too many wrong codes for this IIN or from this computer; wait 15 minutes.",
        "слишком много неверных кодов для этого ИИН или с этого компьютера; подождите 15 минут.",
        "бұл ЖСН үшін немесе осы компьютерден қате кодтар тым көп; 15 минут күтіңіз.",
    ),
    "operator_self": (
        "operators may not create codes for themselves; ask a colleague.",
        "оператор не может создавать коды для себя; обратитесь к коллеге.",
        "оператор өзіне код жасай алмайды; әріптесіңізге жүгініңіз.",
    ),
    "operator_wrong_ca": (
        "operators sign in with a GOV CA key; this key is from another centre.",
        "операторы входят с ключом GOV CA; этот ключ выдан другим центром.",
        "операторлар GOV CA кілтімен кіреді; бұл кілт басқа орталықтан берілген.",
    ),
    "unknown_person": (
        "no person with this IIN is in the registry.",
        "человека с таким ИИН нет в реестре.",
        "тізілімде мұндай ЖСН-і бар адам жоқ.",
    ),
    "signer_revoked": (
        "the key that signed the request is revoked; go to a PSC for new keys.",
        "ключ, подписавший запрос, отозван; обратитесь в ЦОН за новыми ключами.",
        "сұрауға қол қойған кілт кері қайтарылған; жаңа кілттер үшін ХҚКО-ға барыңыз.",
    ),
    "reissue_conflict": (
        "your keys were already re-issued by another request after this code (or key) was "
        "given; nothing was changed. Ask the PSC operator for a new code.",
        "ваши ключи уже перевыпущены по другому запросу после выдачи этого кода (или ключа); "
        "ничего не изменено. Попросите у оператора ЦОН новый код.",
        "бұл код (немесе кілт) берілгеннен кейін кілттеріңіз басқа сұрау бойынша қайта "
        "шығарылған; ештеңе өзгермеді. ХҚКО операторынан жаңа код сұраңыз.",
    ),
    "signer_expired": (
        "the key that signed the request has expired; go to a PSC for new keys.",
        "срок действия ключа, подписавшего запрос, истёк; обратитесь в ЦОН.",
        "сұрауға қол қойған кілттің мерзімі өтті; ХҚКО-ға барыңыз.",
    ),
    "signer_not_auth": (
        "the request must be signed with your AUTH (authentication) key.",
        "запрос нужно подписать ключом AUTH (аутентификации).",
        "сұрауға AUTH (аутентификация) кілтімен қол қою керек.",
    ),
    "document_mismatch": (
        "the identity document does not match the registry.",
        "документ, удостоверяющий личность, не совпадает с реестром.",
        "жеке басты куәландыратын құжат тізілімге сәйкес емес.",
    ),
    "session_expired": (
        "the operator session has expired; sign in again.",
        "сеанс оператора истёк; войдите снова.",
        "оператор сеансының мерзімі өтті; қайта кіріңіз.",
    ),
    "unauthenticated": (
        "sign in as an operator first.",
        "сначала войдите как оператор.",
        "алдымен оператор ретінде кіріңіз.",
    ),
    "forbidden": (
        "you are not allowed to do this.",
        "у вас нет прав на это действие.",
        "бұл әрекетке құқығыңыз жоқ.",
    ),
    "operator_not_registered": (
        "this key does not belong to a registered operator.",
        "этот ключ не принадлежит зарегистрированному оператору.",
        "бұл кілт тіркелген операторға тиесілі емес.",
    ),
    "already_revoked": (
        "the certificate is already revoked.",
        "сертификат уже отозван.",
        "сертификат бұрын кері қайтарылған.",
    ),
}
_LANGUAGE_COLUMN = {"en": 0, "ru": 1, "kk": 2}


class CaRefused(ServiceError):
    """The CA answered with an error; ``ca_code`` is its stable code (ca_server/errors.py)."""

    code = "ca_refused"

    def __init__(self, ca_code: str, ca_message: str, detail: str = "") -> None:
        self.ca_code = ca_code
        super().__init__(detail or ca_code, reason=ca_message)

    def message(self, lang: str = "en") -> str:
        """The refusal in ``lang`` when the CA's code is one people meet, else the CA's text."""
        known = CA_REASONS.get(self.ca_code)
        reason = known[_LANGUAGE_COLUMN.get(lang, 0)] if known else self.params.get("reason", "")
        table = SERVICE_MESSAGES.get(lang, SERVICE_MESSAGES["en"])
        return table["ca_refused"].format(reason=reason)


class ReissuePending(ServiceError):
    """An earlier re-issue left new keys waiting for their certificates."""

    code = "reissue_pending"


class TokenReissuePending(ReissuePending):
    """An earlier enrolment on a token left key pairs there waiting for their certificates."""

    code = "token_reissue_pending"


class FileExists(ServiceError):
    """A file would have been overwritten; nothing was written."""

    code = "file_exists"


__all__ = [
    "SERVICE_MESSAGES",
    "ActionCanceled",
    "CaRefused",
    "CaUnavailable",
    "FileExists",
    "NotAvailable",
    "ReissuePending",
    "ServiceError",
    "StorageEmpty",
    "StorageUnknown",
    "TokenReissuePending",
    "TooManyAttempts",
]

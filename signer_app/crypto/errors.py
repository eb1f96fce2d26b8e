"""The one error hierarchy of Qalam: every failure is a value with a stable code.

A code never changes once released: the API maps codes to NCALayer's reply shapes, the UI maps
them to plain sentences (the table below, one per language), the CLI to exit statuses. ``detail``
is for the log only and must never hold a secret: callers pass what went wrong, never the
password or the data.
"""

from __future__ import annotations

import errno
import os
from typing import ClassVar

LANGUAGES = ("en", "ru", "kk")

# One table per language: code -> the sentence a person reads. Placeholders come from `params`.
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "internal": "Something went wrong inside Qalam. Please report it with the diagnostics.",
        "wrong_password": "The password is not right for this key file.",
        "pin_incorrect": "Wrong PIN.",
        "pin_count_low": "Wrong PIN. Few tries are left before the token locks.",
        "pin_final_try": "Wrong PIN. Tries left: 1. One more mistake locks the token.",
        "pin_locked": "The token's PIN is blocked: no more tries. Unblock it with the PUK "
        "(the administrator PIN) or ask the issuer of the token.",
        "token_removed": "The token was removed or stopped answering. Connect it and try again.",
        "token_not_found": "No token is connected: {name}.",
        "token_error": "The token could not do this: {reason}.",
        "pkcs11_module": "The token driver {path} cannot be used: {reason}.",
        "corrupt_keystore": "This key file is damaged or is not a key file.",
        "keystore_empty": "This key file holds no private key with a certificate.",
        "key_not_found": "No key matches the request.",
        "unsupported_algorithm": "This kind of key or signature ({name}) is not supported yet.",
        "key_type_mismatch": "This needs a {expected} key, but the chosen key is {actual}. "
        "Choose a key of the right kind.",
        "invalid_input": "The input cannot be used: {reason}.",
        "malformed_cms": "This is not a readable CMS signature.",
        "malformed_xml": "This is not well-formed XML: {reason}.",
        "forbidden_xml": "This XML uses features that are refused for safety (DTD or entities).",
        "xml_not_found": "The XML element to sign or to put the signature in was not found.",
        "file_not_found": "The file was not found: {path}.",
        "file_io": "The file could not be read or written: {path}.",
        "file_io.no_space": "There is no space left on the disk for {path}.",
        "file_io.no_permission": "You are not allowed to read or write {path}.",
        "file_io.read_only": "{path} is on a disk that can only be read.",
        "tsa_unavailable": "The timestamp service at {url} cannot be reached, so no "
        "signature was returned. Try again later.",
        "tsa_refused": "The timestamp service refused the request: {reason}.",
        "malformed_timestamp": "The timestamp service's answer is not a readable "
        "timestamp: {reason}.",
        "invalid_timestamp": "The timestamp does not match what it should prove: {reason}.",
        "malformed_pdf": "This is not a readable PDF document (damaged, truncated or not a PDF).",
        "encrypted_pdf": "This PDF is password-protected (encrypted); remove the protection "
        "before signing or checking it.",
        "pades_algorithm": "PDF signatures cannot be made with a {name} key: PDF readers cannot "
        "check them. Choose an RSA or EC key.",
        "pades_validation": "A long-term PDF signature needs the certificate checked at "
        "signing, and that failed: {reason}.",
    },
    "ru": {
        "internal": "Внутренняя ошибка Qalam. Сообщите о ней, приложив диагностический отчёт.",
        "wrong_password": "Неверный пароль для этого файла ключа.",
        "pin_incorrect": "Неверный пароль.",
        "pin_count_low": "Неверный пароль. Осталось мало попыток до блокировки токена.",
        "pin_final_try": "Неверный пароль. Осталось попыток: 1. Ещё одна ошибка заблокирует токен.",
        "pin_locked": "Пароль токена заблокирован: попыток не осталось. Разблокируйте его "
        "PUK-кодом (паролем администратора) или обратитесь к выдавшему токен.",
        "token_removed": "Токен отключён или перестал отвечать. Подключите его и повторите.",
        "token_not_found": "Токен не подключён: {name}.",
        "token_error": "Токен не смог выполнить операцию: {reason}.",
        "pkcs11_module": "Драйвер токена {path} нельзя использовать: {reason}.",
        "corrupt_keystore": "Файл ключа повреждён или не является файлом ключа.",
        "keystore_empty": "В этом файле нет закрытого ключа с сертификатом.",
        "key_not_found": "Нет ключа, подходящего под запрос.",
        "unsupported_algorithm": "Этот тип ключа или подписи ({name}) пока не поддерживается.",
        "key_type_mismatch": "Здесь нужен ключ {expected}, а выбран ключ {actual}. "
        "Выберите ключ подходящего типа.",
        "invalid_input": "Входные данные не подходят: {reason}.",
        "malformed_cms": "Это не читаемая подпись CMS.",
        "malformed_xml": "Это неправильно сформированный XML: {reason}.",
        "forbidden_xml": "Этот XML использует запрещённые из соображений безопасности "
        "возможности (DTD или сущности).",
        "xml_not_found": "Не найден элемент XML для подписи или для размещения подписи.",
        "file_not_found": "Файл не найден: {path}.",
        "file_io": "Не удалось прочитать или записать файл: {path}.",
        "file_io.no_space": "На диске не осталось места для {path}.",
        "file_io.no_permission": "Нет прав на чтение или запись {path}.",
        "file_io.read_only": "{path} находится на диске, доступном только для чтения.",
        "tsa_unavailable": "Служба меток времени {url} недоступна, поэтому подпись "
        "не возвращена. Повторите попытку позже.",
        "tsa_refused": "Служба меток времени отклонила запрос: {reason}.",
        "malformed_timestamp": "Ответ службы меток времени не является читаемой "
        "меткой времени: {reason}.",
        "invalid_timestamp": "Метка времени не соответствует тому, что должна "
        "подтверждать: {reason}.",
        "malformed_pdf": "Это не читаемый PDF-документ (повреждён, обрезан или не PDF).",
        "encrypted_pdf": "Этот PDF защищён паролем (зашифрован); снимите защиту перед "
        "подписью или проверкой.",
        "pades_algorithm": "Подпись PDF нельзя создать ключом {name}: программы просмотра PDF "
        "не могут её проверить. Выберите ключ RSA или EC.",
        "pades_validation": "Для долгосрочной подписи PDF сертификат проверяется при "
        "подписании, и проверка не прошла: {reason}.",
    },
    "kk": {
        "internal": "Qalam ішінде қате шықты. Диагностикалық есеппен бірге хабарлаңыз.",
        "wrong_password": "Бұл кілт файлының құпиясөзі дұрыс емес.",
        "pin_incorrect": "Құпиясөз қате.",
        "pin_count_low": "Құпиясөз қате. Токен бұғатталғанға дейін аз әрекет қалды.",
        "pin_final_try": "Құпиясөз қате. Қалған әрекет саны: 1. Тағы бір қате токенді бұғаттайды.",
        "pin_locked": "Токеннің құпиясөзі бұғатталған: әрекет қалмады. Оны PUK-кодымен "
        "(әкімші құпиясөзімен) ашыңыз немесе токенді берген ұйымға хабарласыңыз.",
        "token_removed": "Токен ажыратылды немесе жауап бермей қалды. Оны қосып, қайталаңыз.",
        "token_not_found": "Токен қосылмаған: {name}.",
        "token_error": "Токен бұл әрекетті орындай алмады: {reason}.",
        "pkcs11_module": "{path} токен драйверін пайдалану мүмкін емес: {reason}.",
        "corrupt_keystore": "Кілт файлы зақымдалған немесе кілт файлы емес.",
        "keystore_empty": "Бұл файлда сертификаты бар жабық кілт жоқ.",
        "key_not_found": "Сұрауға сәйкес кілт жоқ.",
        "unsupported_algorithm": "Кілттің немесе қолтаңбаның бұл түріне ({name}) "
        "әзірге қолдау жоқ.",
        "key_type_mismatch": "Мұнда {expected} кілті керек, ал таңдалған кілт {actual}. "
        "Сәйкес түрдегі кілтті таңдаңыз.",
        "invalid_input": "Кіріс деректерін пайдалану мүмкін емес: {reason}.",
        "malformed_cms": "Бұл оқылатын CMS қолтаңбасы емес.",
        "malformed_xml": "Бұл дұрыс құрылмаған XML: {reason}.",
        "forbidden_xml": "Бұл XML қауіпсіздік үшін тыйым салынған мүмкіндіктерді "
        "(DTD немесе entity) пайдаланады.",
        "xml_not_found": "Қол қоятын немесе қолтаңбаны орналастыратын XML элементі табылмады.",
        "file_not_found": "Файл табылмады: {path}.",
        "file_io": "Файлды оқу немесе жазу мүмкін болмады: {path}.",
        "file_io.no_space": "Дискіде {path} үшін орын қалмады.",
        "file_io.no_permission": "{path} файлын оқуға немесе жазуға рұқсат жоқ.",
        "file_io.read_only": "{path} тек оқуға арналған дискіде орналасқан.",
        "tsa_unavailable": "{url} уақыт белгісі қызметіне қосылу мүмкін болмады, "
        "сондықтан қолтаңба қайтарылмады. Кейінірек қайталап көріңіз.",
        "tsa_refused": "Уақыт белгісі қызметі сұрауды қабылдамады: {reason}.",
        "malformed_timestamp": "Уақыт белгісі қызметінің жауабы оқылатын уақыт "
        "белгісі емес: {reason}.",
        "invalid_timestamp": "Уақыт белгісі растауы тиіс нәрсеге сәйкес келмейді: {reason}.",
        "malformed_pdf": "Бұл оқылатын PDF құжаты емес (зақымдалған, қысқартылған "
        "немесе PDF емес).",
        "encrypted_pdf": "Бұл PDF құпиясөзбен қорғалған (шифрланған); қол қою немесе тексеру "
        "алдында қорғауды алып тастаңыз.",
        "pades_algorithm": "PDF қолтаңбасын {name} кілтімен жасау мүмкін емес: PDF "
        "бағдарламалары оны тексере алмайды. RSA немесе EC кілтін таңдаңыз.",
        "pades_validation": "Ұзақ мерзімді PDF қолтаңбасы үшін сертификат қол қою кезінде "
        "тексеріледі, ал тексеру сәтсіз болды: {reason}.",
    },
}


class QalamError(Exception):
    """Base of every error Qalam raises on purpose: a stable code, a plain message, a detail."""

    code: ClassVar[str] = "internal"
    retriable: ClassVar[bool] = False

    def __init__(self, detail: str = "", **params: str) -> None:
        self.detail = detail
        self.params = params
        super().__init__(self.message("en"))

    @property
    def message_key(self) -> str:
        """The MESSAGES entry the sentence comes from: the code, or a finer one a subclass picks."""
        return self.code

    def message(self, lang: str = "en") -> str:
        """The plain-language sentence for a person, in ``lang`` (falls back to English)."""
        key = self.message_key
        table = MESSAGES.get(lang, MESSAGES["en"])
        template = table.get(key) or MESSAGES["en"][key]
        try:
            return template.format(**self.params)
        except KeyError:
            return template

    def __str__(self) -> str:
        text = self.message("en")
        return f"{text} ({self.detail})" if self.detail else text


class WrongPassword(QalamError):
    """The password does not open the key store (the user may try again)."""

    code = "wrong_password"
    retriable = True


class CorruptKeyStore(QalamError):
    """The key store cannot be parsed: truncated, damaged, or not a key store at all."""

    code = "corrupt_keystore"


class EmptyKeyStore(QalamError):
    """The key store opens but holds no private key paired with its certificate."""

    code = "keystore_empty"


class KeyNotFound(QalamError):
    """No key in the store matches what was asked for."""

    code = "key_not_found"


class UnsupportedAlgorithm(QalamError):
    """A key, digest or signature algorithm Qalam does not implement (yet)."""

    code = "unsupported_algorithm"


class KeyTypeMismatch(QalamError):
    """The chosen key is of another family than the operation needs (a GOST key for RSA)."""

    code = "key_type_mismatch"


class InvalidInput(QalamError):
    """Input that is empty, of the wrong type, or badly encoded (e.g. bad base64)."""

    code = "invalid_input"


class MalformedCms(QalamError):
    """Bytes that do not parse as a CMS SignedData."""

    code = "malformed_cms"


class MalformedXml(QalamError):
    """XML that is not well-formed."""

    code = "malformed_xml"


class ForbiddenXml(QalamError):
    """Well-formed XML that uses DTDs or entities, refused to stop XML bombs and XXE."""

    code = "forbidden_xml"


class XmlTargetNotFound(QalamError):
    """An XPath given for the element to sign or the signature's parent matched nothing."""

    code = "xml_not_found"


class FileNotFound(QalamError):
    """A path the user named does not exist."""

    code = "file_not_found"


class FileIOError(QalamError):
    """A file exists but could not be read or written (``detail``: the system's reason)."""

    code = "file_io"

    @property
    def message_key(self) -> str:
        """The sentence naming the reason a person can act on (disk full, no rights, read-only
        disk) when the system's reason is one of those."""
        return _OS_REASONS.get(self.detail, self.code)


# The system's words (os.strerror, as OSError.strerror carries them) for the reasons worth
# telling apart, mapped to their messages.
_OS_REASONS = {
    os.strerror(errno.ENOSPC): "file_io.no_space",
    os.strerror(errno.EDQUOT): "file_io.no_space",
    os.strerror(errno.EACCES): "file_io.no_permission",
    os.strerror(errno.EPERM): "file_io.no_permission",
    os.strerror(errno.EROFS): "file_io.read_only",
}


class TsaUnavailable(QalamError):
    """The time-stamping authority cannot be reached (refused connection, timeout, DNS)."""

    code = "tsa_unavailable"
    retriable = True


class TsaRefused(QalamError):
    """The TSA answered but did not grant a timestamp (HTTP error or PKIStatus rejection).

    ``status`` is the PKIStatus number (None for an HTTP-level refusal) and ``fail_info`` the
    names of the PKIFailureInfo bits set (RFC 3161 §2.4.2), e.g. ("badAlg",).
    """

    code = "tsa_refused"

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = None,
        fail_info: tuple[str, ...] = (),
        **params: str,
    ) -> None:
        self.status = status
        self.fail_info = fail_info
        super().__init__(detail, **params)


class MalformedTimestamp(QalamError):
    """Bytes that are not a TimeStampResp or TimeStampToken we can read."""

    code = "malformed_timestamp"


class InvalidTimestamp(QalamError):
    """A readable timestamp that does not hold: wrong imprint or nonce, bad signature, a signer
    certificate that is not a TSA's."""

    code = "invalid_timestamp"


# ------------------------------------------------------------------ PKCS#11 tokens


class PinIncorrect(WrongPassword):
    """A token refused the PIN; the token's flags said nothing more."""

    code = "pin_incorrect"


class PinCountLow(PinIncorrect):
    """A wrong PIN, and the token says few tries are left (CKF_USER_PIN_COUNT_LOW)."""

    code = "pin_count_low"


class PinFinalTry(PinIncorrect):
    """A wrong PIN, and the next wrong one locks the token (CKF_USER_PIN_FINAL_TRY)."""

    code = "pin_final_try"


class PinLocked(QalamError):
    """The token's user PIN is locked: no further attempt is made (not retriable)."""

    code = "pin_locked"


class TokenRemoved(QalamError):
    """The token went away (or stopped answering) while in use."""

    code = "token_removed"
    retriable = True


class TokenNotFound(QalamError):
    """No token is present where one was looked for (slot, serial, storage)."""

    code = "token_not_found"
    retriable = True


class TokenError(QalamError):
    """Any other failure a PKCS#11 module reports (its CKR name goes in ``reason``)."""

    code = "token_error"


class Pkcs11ModuleError(QalamError):
    """A PKCS#11 module (token driver) that is missing or does not load."""

    code = "pkcs11_module"


class MalformedPdf(QalamError):
    """Bytes that are not a readable PDF: no header, truncated, a broken cross-reference table."""

    code = "malformed_pdf"


class EncryptedPdf(QalamError):
    """An encrypted PDF: Qalam neither signs nor checks one without its password."""

    code = "encrypted_pdf"


class PadesValidationFailed(QalamError):
    """B-LT/B-LTA signing could not validate the signer's chain and revocation to embed them."""

    code = "pades_validation"


class PadesAlgorithmRefused(QalamError):
    """A key family PAdES readers cannot check (GOST): refused before anything is written."""

    code = "pades_algorithm"


__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "CorruptKeyStore",
    "EmptyKeyStore",
    "EncryptedPdf",
    "FileIOError",
    "FileNotFound",
    "ForbiddenXml",
    "InvalidInput",
    "InvalidTimestamp",
    "KeyNotFound",
    "KeyTypeMismatch",
    "MalformedCms",
    "MalformedPdf",
    "MalformedTimestamp",
    "MalformedXml",
    "PadesAlgorithmRefused",
    "PadesValidationFailed",
    "PinCountLow",
    "PinFinalTry",
    "PinIncorrect",
    "PinLocked",
    "Pkcs11ModuleError",
    "QalamError",
    "TokenError",
    "TokenNotFound",
    "TokenRemoved",
    "TsaRefused",
    "TsaUnavailable",
    "UnsupportedAlgorithm",
    "WrongPassword",
    "XmlTargetNotFound",
]

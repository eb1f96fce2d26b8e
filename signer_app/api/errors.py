"""Error codes -> NCALayer's reply text, in one place (ARCHITECTURE.md rule 4).

commonUtils replies carry a message string: keys such as ``action.canceled`` or Java exception
text that pages match on (PROTOCOL.md §6). basics replies carry an enum code, a message and a
Java-style ``details`` (§7.2). Our own plain sentence goes where NCALayer's text is unknown.
"""

from __future__ import annotations

import re

from ..crypto.errors import FileNotFound, ForbiddenXml, MalformedXml, QalamError
from ..service.errors import ActionCanceled, StorageEmpty, StorageUnknown
from .wire import Base64Error

SAX = "org.xml.sax.SAXParseException; "
DOCTYPE_DISALLOWED = (
    'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/'
    'disallow-doctype-decl" set to true.'
)

# libxml2 (our parser) words a broken document differently from Xerces (NCALayer's); pages and
# tests compare the text, so the common cases are said Xerces' way. Anything else keeps
# libxml2's words after the same "lineNumber: …; columnNumber: …;" prefix.
_XERCES_WORDING: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Premature end of data in tag .*"),
        "XML document structures must start and end within the same entity.",
    ),
    (
        re.compile(r"Opening and ending tag mismatch: (\S+) line \d+ and \S+"),
        'The element type "{0}" must be terminated by the matching end-tag "</{0}>".',
    ),
    (re.compile(r"Start tag expected, '<' not found"), "Content is not allowed in prolog."),
    (
        re.compile(r"Entity '([^']+)' not defined"),
        'The entity "{0}" was referenced, but not declared.',
    ),
)
_POSITION = re.compile(r"^(lineNumber: \d+; columnNumber: \d+; )(.*)$", re.S)


def xerces_reason(reason: str) -> str:
    """A libxml2 parse error said the way Xerces says it, where we know Xerces' words."""
    match = _POSITION.match(reason)
    if match is None:
        return reason
    position, text = match.groups()
    for pattern, words in _XERCES_WORDING:
        found = pattern.fullmatch(text.strip())
        if found is not None:
            return position + words.format(*found.groups())
    return reason


BASICS_MESSAGES = {
    "INVOCATION_ERROR": "An invoked method threw an exception.",
    "GENERAL_ERROR": "General error.",
    "SIGNING_FAILURE": "Signing has failed.",
    "INVALID_SIGNING_PARAMS": "Invalid signing parameters.",
}


def java_text(error: QalamError, lang: str = "en") -> str:
    """The Java-like text of an error where clients know one, else our plain sentence."""
    if isinstance(error, Base64Error):
        return error.java
    if isinstance(error, MalformedXml):
        return SAX + xerces_reason(error.params.get("reason", ""))
    if isinstance(error, ForbiddenXml):
        return SAX + DOCTYPE_DISALLOWED
    return f"{error.code}: {error.message(lang)}"


def common_message(error: QalamError, lang: str = "en") -> str:
    """commonUtils' ``message`` for an error."""
    if isinstance(error, ActionCanceled):
        return "action.canceled"
    if isinstance(error, StorageUnknown):
        return "storage.unknown"
    if isinstance(error, StorageEmpty):
        return "storage.empty"
    if isinstance(error, FileNotFound):
        return "file.not_found"
    return java_text(error, lang)


def basics_failure(code: str, details: str | None = None) -> dict[str, object]:
    """``{"status":false,"code":…,"message":…,"details":…}``."""
    reply: dict[str, object] = {"status": False, "code": code, "message": BASICS_MESSAGES[code]}
    if details is not None:
        reply["details"] = details
    return reply


def basics_error(error: QalamError, lang: str = "en") -> dict[str, object]:
    """basics' reply for an error (a cancel is not an error there: see basics.py)."""
    if isinstance(error, StorageUnknown | StorageEmpty):
        return basics_failure("GENERAL_ERROR", java_text(error, lang))
    return basics_failure("SIGNING_FAILURE", java_text(error, lang))


__all__ = [
    "BASICS_MESSAGES",
    "basics_error",
    "basics_failure",
    "common_message",
    "java_text",
    "xerces_reason",
]

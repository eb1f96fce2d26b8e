"""The legacy applet (no ``module`` key, §8): switched off.

Its calls carry the key password over the socket; Qalam never accepts that (PROTOCOL.md §15).
Every call is answered ``{"errorCode":"COMMON",…}`` with the ``uuid`` echoed, the ones that
carry a password are logged with the origin, and ``setLocale`` gets no reply, as in NCALayer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..dispatch import APPLET, Answer, Call

log = logging.getLogger("qalam.audit")

# Methods whose positional args include the key store password.
WITH_PASSWORD = frozenset(
    {
        "getKeys",
        "getNotBefore",
        "getNotAfter",
        "getSubjectDN",
        "getIssuerDN",
        "getRdnByOid",
        "signPlainData",
        "createCMSSignature",
        "createCMSSignatureFromFile",
        "signXml",
        "signXmlByElementId",
    }
)
REFUSAL = (
    "The legacy applet API is not supported: Qalam never takes key passwords over the socket. "
    "Use kz.gov.pki.knca.commonUtils or kz.gov.pki.knca.basics."
)


class Applet:
    """The legacy applet module."""

    name = APPLET

    async def handle(self, call: Call) -> Answer:
        """COMMON for everything; no reply to setLocale."""
        if call.method == "setLocale":
            return Answer(None)
        outcome = "refused"
        if call.method in WITH_PASSWORD:
            outcome = "refused:password_over_socket"
            log.warning(
                "origin=%s sent a key password over the socket (applet %s): refused",
                call.origin or "-",
                call.method,
            )
        return Answer(self._reply(call), outcome)

    @staticmethod
    def _reply(call: Call) -> dict[str, Any]:
        reply: dict[str, Any] = {"errorCode": "COMMON", "result": REFUSAL}
        uuid = call.request.get("uuid")
        if isinstance(uuid, str) and uuid:
            reply["uuid"] = uuid
        return reply

    def internal_error(self, call: Call) -> Mapping[str, Any]:
        """COMMON."""
        return self._reply(call)


__all__ = ["REFUSAL", "WITH_PASSWORD", "Applet"]

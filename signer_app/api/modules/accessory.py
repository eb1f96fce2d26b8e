"""Module ``kz.gov.pki.ncalayerservices.accessory`` (§9): raw objects, no envelope.

getBundles lists only what Qalam really answers for (never a third-party bundle a site may be
checking for); installBundle and the window openers are answered honestly as unsupported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import __version__
from ..dispatch import Answer, Call

NAME = "kz.gov.pki.ncalayerservices.accessory"

# [I] NCALayer's own core bundle names (so sites that check the core find it) with the
# versions of the NCALayer release whose protocol we follow, plus Qalam itself.
BUNDLES = {
    "kz.gov.pki.osgi.layer.websocket": "0.3.8",
    "kz.gov.pki.osgi.layer.common": "0.3.4",
    "kz.gov.pki.knca.basics": "0.3.4",
    "kz.qalam.signer": __version__,
}
SERVICES = [
    "kz.gov.pki.knca.commonUtils",
    "kz.gov.pki.knca.basics",
    "kz.gov.pki.ncalayerservices.accessory",
]


class Accessory:
    """The accessory module."""

    name = NAME

    async def handle(self, call: Call) -> Answer:
        """getBundles, getServices; everything else says it is not supported."""
        if call.method == "getBundles":
            return Answer(dict(BUNDLES))
        if call.method == "getServices":
            return Answer({"services": list(SERVICES)})
        if call.method == "installBundle":
            symname = call.request.get("symname")
            reply: dict[str, Any] = {
                "success": False,
                "errorCode": "BUNDLE_NOT_AVAILABLE",
                "message": "Qalam cannot install NCALayer bundles (Java code)",
            }
            if isinstance(symname, str):
                reply["symname"] = symname[:200]
            return Answer(reply, "error:not_supported")
        if call.method in ("showSettings", "showBundleManager"):
            message = "no window in this mode (qalam serve)"
            return Answer(
                {"success": False, "errorCode": "NOT_SUPPORTED", "message": message},
                "error:not_supported",
            )
        return Answer({"success": False, "errorCode": "METHOD_NOT_FOUND"}, "error:no_method")

    def internal_error(self, call: Call) -> Mapping[str, Any]:
        """``{"success":false}``."""
        return {"success": False, "errorCode": "COMMON"}


__all__ = ["BUNDLES", "NAME", "SERVICES", "Accessory"]

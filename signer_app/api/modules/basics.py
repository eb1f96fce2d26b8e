"""Module ``kz.gov.pki.knca.basics`` (apiVersion 2, named args): ``sign`` (§7).

Strict where NCALayer is strict (``signingParams``/``signerParams`` must be objects,
``extKeyUsageOids`` must be an array), lenient where org.json is lenient (booleans as strings,
wrong types for optional fields behave as absent). Results: always an array (switchable), CMS
PEM-armoured, raw signatures base64. Cancel is ``{"status":true,"body":{}}``.

``tsaProfile`` as an object (even ``{}``) asks for CAdES-T: each CMS gets a signature timestamp
from the service's TSA (the bundled CA's /tsp unless configured otherwise); a TSA that cannot be
reached or refuses gives SIGNING_FAILURE with the plain reason, never an unstamped CMS. It is
ignored for xml and raw, as absent/null/non-object values are.

``signerParams.chain`` absent/null (or a wrong type) offers only keys chaining to the trust
store's anchors (the service's ``trusted``); ``[]`` no chain filter; PEM CAs those CAs.
``signingParams.allowRevoked`` (test only) lets a key whose certificate is revoked be chosen;
without it the service's revocation check greys it out. XML results are compact, as on 1.4
(one line, unbroken base64: PROTOCOL.md §7.2), unlike commonUtils' signXml.

``signingParams.xades`` (Qalam only, format xml): "bes", "t", "lt" or "lta" (any case) signs
XAdES-BES / -T / -LT / -LTA (crypto/xades, xades_lt) with the service's TSA; absent or null keeps
NCALayer's XMLDSig byte for byte. Any other value is INVALID_SIGNING_PARAMS before any dialog.
``tsaProfile`` stays ignored for xml: only ``xades`` asks for a timestamp there. For cms and raw
``xades`` is ignored, as tsaProfile is for xml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ...crypto.errors import QalamError
from ...service.errors import ActionCanceled
from ...service.filters import filters_for
from ...service.prompter import KeyType
from ...service.signing import XADES_LEVELS, KeyQuery, SignResult, XadesLevel
from ..dispatch import Answer, Call
from ..errors import basics_error, basics_failure
from ..wire import (
    JsonString,
    base64_json,
    decode_base64_off_loop,
    encode_base64,
    lenient_bool,
    pem_json,
)

NAME = "kz.gov.pki.knca.basics"
HANDLER_CLASS = "kz.gov.pki.knca.basics.BasicsHandler"  # [I] NCALayer's class name is unknown
FORMATS = ("cms", "xml", "raw")
LOCALES = {"kk": "kk", "kz": "kk", "ru": "ru", "en": "en"}
MAX_LOGO = 50_000


class BadParams(Exception):
    """A request NCALayer rejects before signing: carries the reply's code and details."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _json_error(text: str) -> BadParams:
    return BadParams("INVOCATION_ERROR", f"org.json.JSONException: {text}")


def _object(args: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    if key not in args:
        raise _json_error(f'JSONObject["{key}"] not found.')
    value = args[key]
    if not isinstance(value, dict):
        raise _json_error(f'JSONObject["{key}"] is not a JSONObject.')
    return value


def _strings(value: object, key: str) -> list[str]:
    if not isinstance(value, list):
        raise _json_error(f'JSONObject["{key}"] is not a JSONArray.')
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _json_error(f"JSONArray[{index}] is not a String.")
    return value


def _data(args: Mapping[str, Any]) -> tuple[list[str], bool]:
    if "data" not in args:
        raise _json_error('JSONObject["data"] not found.')
    value = args["data"]
    if isinstance(value, str):
        return [value], False
    if isinstance(value, list):
        items = _strings(value, "data")
        if not items:
            raise BadParams("INVALID_SIGNING_PARAMS", "data: the array is empty")
        return items, True
    raise _json_error('JSONObject["data"] is not a string.')


def _chain(value: object) -> list[x509.Certificate] | None:
    if not isinstance(value, list):
        return None  # absent, null or a wrong type: as absent
    anchors = []
    for index, item in enumerate(value):
        try:
            if not isinstance(item, str):
                raise ValueError
            anchors.append(x509.load_pem_x509_certificate(item.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise BadParams(
                "INVALID_SIGNING_PARAMS", f"chain[{index}] is not a PEM certificate"
            ) from None
    return anchors


def _opt_str(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    return value if isinstance(value, str) else ""


def _xades_level(signing: Mapping[str, Any]) -> XadesLevel | None:
    """``signingParams.xades`` (Qalam only): absent or null -> None (NCALayer's XMLDSig)."""
    value = signing.get("xades")
    if value is None:
        return None
    for level in XADES_LEVELS:
        if isinstance(value, str) and value.lower() == level:
            return level
    raise BadParams(
        "INVALID_SIGNING_PARAMS", f"xades must be one of {', '.join(XADES_LEVELS)} (or absent)"
    )


class Basics:
    """The basics module."""

    name = NAME

    async def handle(self, call: Call) -> Answer:
        """Validate, sign, wrap."""
        try:
            return await self._sign(call)
        except BadParams as bad:
            return Answer(basics_failure(bad.code, bad.details), f"error:{bad.code}")
        except ActionCanceled:
            return Answer({"status": True, "body": {}}, "canceled")
        except QalamError as error:
            return Answer(basics_error(error), f"error:{error.code}")

    async def _sign(self, call: Call) -> Answer:
        request = call.request
        api_version = request.get("apiVersion", 2)
        if api_version not in (2, "2"):
            raise BadParams(
                "GENERAL_ERROR",
                f"java.lang.IllegalArgumentException: apiVersion {api_version} is not supported",
            )
        if call.method != "sign":
            klass = request.get("class")
            where = klass if isinstance(klass, str) and klass else HANDLER_CLASS
            raise BadParams(
                "GENERAL_ERROR",
                f"java.lang.IllegalArgumentException: {call.method} is not defined in {where}",
            )
        args = request.get("args")
        if not isinstance(args, dict):
            raise BadParams(
                "GENERAL_ERROR", "java.lang.IllegalArgumentException: sign demands arguments"
            )
        fmt = args.get("format")
        if fmt not in FORMATS:
            raise BadParams("INVALID_SIGNING_PARAMS", f"format must be one of {', '.join(FORMATS)}")
        data, was_array = _data(args)
        signing = _object(args, "signingParams")
        signer = _object(args, "signerParams")
        if "extKeyUsageOids" not in signer:
            raise _json_error('JSONObject["extKeyUsageOids"] not found.')
        oids = _strings(signer["extKeyUsageOids"], "extKeyUsageOids")
        decode = lenient_bool(signing.get("decode"), False)
        encapsulate = lenient_bool(signing.get("encapsulate"), True)
        digested = lenient_bool(signing.get("digested"), False)
        output_cert = lenient_bool(signing.get("outputCert"), False)
        service = call.service
        chain = _chain(signer.get("chain"))
        filters = filters_for(
            KeyType.ANY,
            ext_key_usage_oids=oids,
            iin=_opt_str(signer, "iin"),
            bin=_opt_str(signer, "bin"),
            serial_number=_opt_str(signer, "serialNumber"),
            chain=chain,
            allow_expired=lenient_bool(signing.get("allowExpired"), False),
            trusted=service.trusted.current() if chain is None else None,
        )
        storages = args.get("allowedStorages")
        allowed = tuple(storages) if isinstance(storages, list) else None
        if allowed is not None and not all(isinstance(s, str) for s in allowed):
            allowed = None
        locale = LOCALES.get(args.get("locale") or "", "kk")
        logo = args.get("logo")
        query = KeyQuery(
            call.origin,
            allowed,
            KeyType.ANY,
            filters,
            locale,
            logo if isinstance(logo, str) and len(logo) <= MAX_LOGO else None,
            allow_revoked=lenient_bool(signing.get("allowRevoked"), False),
        )
        if fmt == "xml":
            xades = _xades_level(signing)
            if xades is not None:
                result = await service.sign_xml(query, data, layout="compact", xades=xades)
                return self._ok(call, [*result.documents], was_array)
            result = await service.sign_xml(query, data, layout="compact")
            return self._ok(call, [*result.documents], was_array)
        timestamp = isinstance(signing.get("tsaProfile"), dict)
        documents = [await decode_base64_off_loop(d) if decode else d.encode() for d in data]
        if fmt == "raw":
            result = await service.sign_raw(query, documents, digested=digested)
            return self._raw(result, output_cert)
        result = await service.sign_cms(
            query, documents, detached=not encapsulate, digested=digested, timestamp=timestamp
        )
        # Already in their JSON form, made off the loop: a 50 MiB CMS is not scanned again there.
        out: list[str | JsonString]
        if call.config.basics_cms_pem:
            out = [await pem_json("CMS", der) for der in result.signatures]
        else:
            out = [await base64_json(der) for der in result.signatures]
        return self._ok(call, out, was_array)

    @staticmethod
    def _ok(call: Call, results: list[str | JsonString], was_array: bool) -> Answer:
        single = not was_array and not call.config.basics_always_array
        return Answer({"status": True, "body": {"result": results[0] if single else results}})

    @staticmethod
    def _raw(result: SignResult, output_cert: bool) -> Answer:
        signatures = [encode_base64(s) for s in result.signatures]
        if not output_cert or result.certificate is None:
            return Answer({"status": True, "body": {"result": signatures}})
        der = result.certificate.public_bytes(serialization.Encoding.DER)
        body = {"signatures": signatures, "certificate": encode_base64(der)}
        return Answer({"status": True, "body": {"result": body}})

    def internal_error(self, call: Call) -> Mapping[str, Any]:
        """GENERAL_ERROR without details."""
        return basics_failure("GENERAL_ERROR")


__all__ = ["NAME", "Basics"]

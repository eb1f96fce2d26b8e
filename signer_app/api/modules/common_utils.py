"""Module ``kz.gov.pki.knca.commonUtils``: positional args, one handler per method (§6).

Methods are found by name and argument count, arguments checked the way Java reflection does
(a string parameter takes only a JSON string, a boolean only a JSON boolean, a string array only
an array of strings), with NCALayer's texts: ``NoSuchMethodException <m>`` and
``java.lang.IllegalArgumentException: argument type mismatch. Method: <m>``. Replies:
``{"code":"200","responseObject":…}`` / ``{"code":"500","message":…}``, never a ``status`` key,
the request's ``uuid`` echoed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ...crypto.errors import FileIOError, FileNotFound, InvalidInput, QalamError
from ...crypto.identity import identity_of
from ...crypto.keystores import KeyEntry
from ...service.errors import ActionCanceled, StorageUnknown
from ...service.prompter import KNOWN_STORAGES, KeyType
from ...service.signing import KeyQuery
from ..dispatch import Answer, Call
from ..errors import common_message
from ..wire import (
    base64_json,
    decode_base64,
    decode_base64_off_loop,
    encode_base64,
    pem,
)

NAME = "kz.gov.pki.knca.commonUtils"
NO_OBJECT = object()  # a success without responseObject (changeLocale)
LOCALES = {"kk": "kk", "kz": "kk", "ru": "ru", "en": "en"}
MAX_FILE_SIZE = 1 << 30


Handler = Callable[[Call, list[Any]], Awaitable[object]]


@dataclass(frozen=True)
class Method:
    """A method's parameter types ("s" string, "b" boolean, "a" string array) and handler."""

    params: str
    handler: Handler


def _type_ok(kind: str, value: object) -> bool:
    if kind == "s":
        return isinstance(value, str)
    if kind == "b":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# ------------------------------------------------------------------------------ helpers


class StorageNameEmpty(StorageUnknown):
    """An empty storage name (NCALayer: storageName.param.empty)."""


def _query(call: Call, storage: str, key_type: str = "ANY") -> KeyQuery:
    if not storage:
        raise StorageNameEmpty("", name="")
    if storage not in KNOWN_STORAGES:
        raise StorageUnknown(storage, name=storage)
    call.service.check_storages([storage])
    return KeyQuery(
        call.origin, (storage,), KeyType.from_wire(key_type), locale=call.service.locale
    )


def _ms(when: Any) -> str:
    return str(int(when.timestamp() * 1000))


def _hex_extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> str:
    try:
        value = cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return ""
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return (value.key_identifier or b"").hex()
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest.hex()
    return ""


def key_info(entry: KeyEntry) -> dict[str, str]:
    """NCALayer's KeyInfo object (§6.2): all strings, dates as epoch milliseconds."""
    cert = entry.certificate
    who = identity_of(cert)
    ski = _hex_extension(cert, x509.SubjectKeyIdentifier)
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "alias": entry.alias,
        "keyId": ski or entry.alias,
        "algorithm": entry.key.algorithm.name,
        "subjectCn": who.common_name,
        "subjectDn": who.subject_dn,
        "issuerCn": who.issuer_common_name,
        "issuerDn": who.issuer_dn,
        "serialNumber": who.serial_hex,
        "certNotAfter": _ms(who.not_after),
        "certNotBefore": _ms(who.not_before),
        "authorityKeyIdentifier": _hex_extension(cert, x509.AuthorityKeyIdentifier),
        "pem": pem("CERTIFICATE", der).rstrip("\n"),
    }


def _read_local(path: str) -> bytes:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_SIZE:
            raise InvalidInput(path, reason="the file is larger than 1 GiB")
        return p.read_bytes()
    except FileNotFoundError:
        raise FileNotFound(path, path=path) from None
    except IsADirectoryError:
        raise FileIOError("a directory", path=path) from None
    except OSError as exc:
        raise FileIOError(exc.strerror or "", path=path) from None


# ------------------------------------------------------------------------------ handlers


async def get_active_tokens(call: Call, args: list[Any]) -> object:
    """The token storages with a token present (drivers are asked off the event loop)."""
    return await asyncio.to_thread(call.service.active_tokens)


async def get_key_info(call: Call, args: list[Any]) -> object:
    """The key the person picks, as KeyInfo."""
    entry = await call.service.get_key_info(_query(call, args[0]))
    return key_info(entry)


async def sign_xml(call: Call, args: list[Any]) -> object:
    """One enveloped signature."""
    storage, key_type, xml, tbs, parent = args
    result = await call.service.sign_xml(
        _query(call, storage, key_type), [xml], tbs_xpath=tbs, parent_xpath=parent
    )
    return result.documents[0]


async def sign_xmls(call: Call, args: list[Any]) -> object:
    """Several documents, one dialog, one key."""
    storage, key_type, xmls, tbs, parent = args
    result = await call.service.sign_xml(
        _query(call, storage, key_type), xmls, tbs_xpath=tbs, parent_xpath=parent
    )
    return list(result.documents)


async def create_cades_from_base64(call: Call, args: list[Any]) -> object:
    """CAdES-BES over base64 data; an attached CMS given as data is co-signed."""
    storage, key_type, data, attached = args
    query = _query(call, storage, key_type)  # storage errors first, then the data
    document = await decode_base64_off_loop(data)
    result = await call.service.sign_cms(query, [document], detached=not attached, cosign_cms=True)
    return await base64_json(result.signatures[0])


async def create_cms_signature_from_base64(call: Call, args: list[Any]) -> object:
    """CAdES-T: like createCAdESFromBase64 (co-signing an attached CMS) plus a signature
    timestamp from the TSA, as NCALayer does; no TSA reachable -> an error, no signature."""
    storage, key_type, data, attached = args
    query = _query(call, storage, key_type)
    document = await decode_base64_off_loop(data)
    result = await call.service.sign_cms(
        query, [document], detached=not attached, cosign_cms=True, timestamp=True
    )
    return await base64_json(result.signatures[0])


async def create_cades_from_base64_hash(call: Call, args: list[Any]) -> object:
    """Detached CMS over a hash."""
    storage, key_type, digest = args
    query = _query(call, storage, key_type)
    result = await call.service.sign_cms(query, [decode_base64(digest)], digested=True)
    return encode_base64(result.signatures[0])


async def apply_cades_t(call: Call, args: list[Any]) -> object:
    """A signature timestamp on every signer of the CMS lacking one (CAdES-BES -> CAdES-T).

    No key is used, so no dialog opens (keyType is accepted and unused; the storage name is
    still checked as NCALayer's method signature has it)."""
    storage, _key_type, data = args
    _query(call, storage)
    stamped = await call.service.timestamp_cms(await decode_base64_off_loop(data), call.origin)
    return await base64_json(stamped)


async def create_cades_from_file(call: Call, args: list[Any]) -> object:
    """CAdES-BES over a local file (its path shown in the dialog)."""
    storage, key_type, path, attached = args
    query = _query(call, storage, key_type)
    data = await asyncio.to_thread(_read_local, path)
    result = await call.service.sign_cms(query, [data], detached=not attached, names=[path])
    return await base64_json(result.signatures[0])


async def create_cms_signature_from_file(call: Call, args: list[Any]) -> object:
    """Like createCAdESFromFile plus a signature timestamp (CAdES-T)."""
    storage, key_type, path, attached = args
    query = _query(call, storage, key_type)
    data = await asyncio.to_thread(_read_local, path)
    result = await call.service.sign_cms(
        query, [data], detached=not attached, names=[path], timestamp=True
    )
    return await base64_json(result.signatures[0])


async def show_file_chooser(call: Call, args: list[Any]) -> object:
    """The path the person picks."""
    extension, directory = args
    return str(await call.service.choose_file(call.origin, extension, directory))


async def change_locale(call: Call, args: list[Any]) -> object:
    """Dialog language (global, as in NCALayer); unknown ids keep the current one."""
    call.service.locale = LOCALES.get(args[0], call.service.locale)
    return NO_OBJECT


METHODS: dict[str, Method] = {
    "getActiveTokens": Method("", get_active_tokens),
    "getKeyInfo": Method("s", get_key_info),
    "signXml": Method("sssss", sign_xml),
    "signXmls": Method("ssass", sign_xmls),
    "createCMSSignatureFromBase64": Method("sssb", create_cms_signature_from_base64),
    "createCAdESFromBase64": Method("sssb", create_cades_from_base64),
    "createCAdESFromBase64Hash": Method("sss", create_cades_from_base64_hash),
    "applyCAdEST": Method("sss", apply_cades_t),
    "createCMSSignatureFromFile": Method("sssb", create_cms_signature_from_file),
    "createCAdESFromFile": Method("sssb", create_cades_from_file),
    "showFileChooser": Method("ss", show_file_chooser),
    "changeLocale": Method("s", change_locale),
}


class CommonUtils:
    """The commonUtils module."""

    name = NAME

    def __init__(self, methods: Mapping[str, Method] | None = None) -> None:
        self.methods = dict(methods or METHODS)

    @staticmethod
    def _reply(call: Call, body: dict[str, Any]) -> dict[str, Any]:
        uuid = call.request.get("uuid")
        if isinstance(uuid, str) and uuid:
            body["uuid"] = uuid
        return body

    def _fail(self, call: Call, message: str, outcome: str) -> Answer:
        return Answer(self._reply(call, {"code": "500", "message": message}), outcome)

    async def handle(self, call: Call) -> Answer:
        """Look up by name and arity, check types, run, wrap."""
        raw = call.request.get("args")
        args: Sequence[Any] | None = [] if raw is None else raw if isinstance(raw, list) else None
        method = self.methods.get(call.method)
        if method is None or (args is not None and len(args) != len(method.params)):
            return self._fail(call, f"NoSuchMethodException {call.method}", "error:no_method")
        if args is None or not all(map(_type_ok, method.params, args)):
            message = (
                f"java.lang.IllegalArgumentException: argument type mismatch. Method: {call.method}"
            )
            return self._fail(call, message, "error:type_mismatch")
        try:
            result = await method.handler(call, list(args))
        except ActionCanceled:
            return self._fail(call, "action.canceled", "canceled")
        except StorageNameEmpty:
            return self._fail(call, "storageName.param.empty", "error:storage")
        except QalamError as error:
            return self._fail(call, common_message(error), f"error:{error.code}")
        body: dict[str, Any] = {"code": "200"}
        if result is not NO_OBJECT and result is not None:
            body["responseObject"] = result
        return Answer(self._reply(call, body))

    def internal_error(self, call: Call) -> Mapping[str, Any]:
        """``{"code":"500"}`` (NCALayer sometimes sends just that)."""
        return self._reply(call, {"code": "500"})


__all__ = ["METHODS", "NAME", "CommonUtils", "Method", "key_info"]

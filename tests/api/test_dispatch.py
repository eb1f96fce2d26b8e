"""Dispatch tables: every method, every bad input, NCALayer's reply shapes (PROTOCOL.md §4-§9)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from api_helpers import BASICS, COMMON, ORIGIN, Api, approve, basics, common

from signer_app.api.dispatch import ApiConfig
from signer_app.api.modules.applet import REFUSAL
from signer_app.crypto import cms, xmldsig
from signer_app.service.prompter import ScriptedAnswer, SignRequestView

CANCEL = ScriptedAnswer(decision="cancel")
MISMATCH = "java.lang.IllegalArgumentException: argument type mismatch. Method: {}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ----------------------------------------------------------------------------- envelope


@pytest.mark.parametrize(
    ("frame", "outcome"),
    [
        ("not json at all", "error:not_json"),
        ("{", "error:not_json"),
        ("", "error:not_json"),
        ("[1, 2]", "error:not_object"),
        ('"text"', "error:not_object"),
        ("42", "error:not_object"),
        ("null", "error:not_object"),
        ("[" * 100_000, "error:not_json"),
    ],
)
def test_non_json_and_non_objects_get_a_500_and_no_crash(frame, outcome):
    api = Api()
    reply = api.raw(frame)
    assert reply.outcome == outcome
    body = json.loads(reply.text or "")
    assert body["code"] == "500"
    assert "status" not in body


def test_heartbeat_echoed():
    assert Api().raw("--heartbeat--").text == "--heartbeat--"


@pytest.mark.parametrize(
    "module", ["kz.digiflow.mobile.extensions", "kz.ecc.NurSignBundle", 5, None, ["x"]]
)
def test_unknown_modules_including_kaztoken_probe_are_module_not_found(module):
    reply = Api()({"module": module, "method": "getVersion"})
    assert reply == {"success": False, "errorCode": "MODULE_NOT_FOUND"}


def test_greeting_is_byte_exact_and_configurable():
    assert ApiConfig().greeting == '{"result":{"version":"1.4"}}'
    assert ApiConfig(greeting_version="1.2").greeting == '{"result":{"version":"1.2"}}'


# ----------------------------------------------------------------------------- commonUtils


def test_get_active_tokens_is_empty_without_args_key():
    assert Api()(common("getActiveTokens")) == {"code": "200", "responseObject": []}


@pytest.mark.parametrize(
    "frame",
    [
        common("doesNotExist"),
        common("getKeyInfo"),  # wrong count: none
        common("getKeyInfo", "PKCS12", "extra"),
        common("signXml", "PKCS12", "SIGNATURE", "<a/>"),
        {"module": COMMON, "method": None},
        {"module": COMMON, "method": 7, "args": []},
    ],
)
def test_unknown_method_or_wrong_count_is_no_such_method(frame):
    reply = Api()(frame)
    assert reply["code"] == "500"
    assert reply["message"].startswith("NoSuchMethodException ")


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("getKeyInfo", [None]),
        ("getKeyInfo", [12]),
        ("getKeyInfo", [["PKCS12"]]),
        ("createCAdESFromBase64", ["PKCS12", "SIGNATURE", "MTEK", "false"]),
        ("createCAdESFromBase64", ["PKCS12", "SIGNATURE", 5, False]),
        ("signXmls", ["PKCS12", "SIGNATURE", "<a/>", "", ""]),
        ("signXmls", ["PKCS12", "SIGNATURE", ["<a/>", 1], "", ""]),
        ("changeLocale", [True]),
    ],
)
def test_wrong_arg_types_are_java_type_mismatch(method, args):
    api = Api()
    assert api(common(method, *args)) == {"code": "500", "message": MISMATCH.format(method)}
    assert api.prompter.shown == []


def test_args_not_an_array_is_a_type_mismatch():
    reply = Api()({"module": COMMON, "method": "getKeyInfo", "args": {"storage": "PKCS12"}})
    assert reply["message"] == MISMATCH.format("getKeyInfo")


def test_uuid_echoed_on_success_and_failure(demo):
    api = Api(CANCEL)
    assert api(common("getKeyInfo", "PKCS12", uuid="7f1c")) == {
        "code": "500",
        "message": "action.canceled",
        "uuid": "7f1c",
    }
    assert api(common("getActiveTokens", uuid="u2"))["uuid"] == "u2"
    assert "uuid" not in api(common("getActiveTokens", uuid=""))


def test_get_key_info_fields(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(common("getKeyInfo", "PKCS12"))
    assert reply["code"] == "200"
    info = reply["responseObject"]
    cert = demo["citizen_sign"].open().certificate
    assert set(info) == {
        "alias", "keyId", "algorithm", "subjectCn", "subjectDn", "issuerCn", "issuerDn",
        "serialNumber", "certNotAfter", "certNotBefore", "authorityKeyIdentifier", "pem",
    }  # fmt: skip
    assert all(isinstance(v, str) for v in info.values())
    assert f"SERIALNUMBER=IIN{demo['citizen_sign'].iin}" in info["subjectDn"]
    assert info["algorithm"] == "RSA"
    assert info["serialNumber"] == format(cert.serial_number, "x")
    assert info["certNotAfter"] == str(int(cert.not_valid_after_utc.timestamp() * 1000))
    assert info["pem"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert api.prompter.of_kind("choose_key")[0].origin == ORIGIN


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("AKKaznetID", "storage.unknown"),
        ("", "storageName.param.empty"),
        ("AKKaztokenStore", "storage.empty"),
    ],
)
def test_storage_errors(storage, message):
    api = Api()
    assert api(common("getKeyInfo", storage)) == {"code": "500", "message": message}
    assert api.prompter.shown == []


def test_create_cades_attached_and_detached_verify(demo):
    api = Api(approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
    attached = api(common("createCAdESFromBase64", "PKCS12", "SIGNATURE", "MTEK", True))
    der = base64.b64decode(attached["responseObject"])
    assert cms.verify(der).valid
    assert cms.verify(der).content == b"11\n"
    detached = api(common("createCAdESFromBase64", "PKCS12", "SIGNATURE", "MTEK", False))
    assert cms.verify(base64.b64decode(detached["responseObject"]), b"11\n").valid
    shown: SignRequestView = api.prompter.of_kind("confirm")[0]
    assert (shown.origin, shown.kind, shown.documents[0].preview) == (ORIGIN, "cms", "11")


def test_a_large_attached_cms_comes_back_whole(demo):
    """A reply over wire.LARGE_BINARY is encoded in a worker thread (basics: PEM; commonUtils:
    one base64 line): the CMS still verifies and carries the document byte for byte."""
    document = bytes(range(256)) * (4 << 10) + b"end"  # 1 MiB and a bit, every byte value
    data = base64.b64encode(document).decode()
    api = Api(approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
    reply = api(basics(data=data, signingParams={"decode": True, "encapsulate": True}))
    (signature,) = reply["body"]["result"]
    assert all(len(line) <= 64 for line in signature.splitlines())
    assert cms.verify(signature).content == document
    cades = api(common("createCAdESFromBase64", "PKCS12", "SIGNATURE", data, True))
    der = base64.b64decode(cades["responseObject"], validate=True)
    assert cms.verify(der).valid
    assert cms.verify(der).content == document


def test_create_cades_cosigns_an_existing_cms(demo):
    api = Api(approve(demo["citizen_sign"]), approve(demo["ceo_sign"]))
    first = api(common("createCAdESFromBase64", "PKCS12", "SIGNATURE", "MTEK", True))
    second = api(
        common("createCAdESFromBase64", "PKCS12", "SIGNATURE", first["responseObject"], True)
    )
    check = cms.verify(base64.b64decode(second["responseObject"]))
    assert check.valid
    assert len(check.signers) == 2


def test_create_cades_from_hash(demo):
    api = Api(approve(demo["citizen_sign"]))
    digest = b64(hashlib.sha256(b"document").digest())
    reply = api(common("createCAdESFromBase64Hash", "PKCS12", "SIGNATURE", digest))
    assert cms.verify(base64.b64decode(reply["responseObject"]), b"document").valid


@pytest.mark.parametrize(
    ("data", "java"),
    [
        ("-----BEGIN CMS-----", "Illegal base64 character 2d"),
        ("MT*K", "Illegal base64 character 2a"),
        ("MTEKM", "Last unit does not have enough valid bits"),
        ("MTE===", "Input byte array has incorrect ending byte at 3"),
    ],
)
def test_invalid_base64_is_javas_message_and_asks_nobody(data, java):
    api = Api()
    reply = api(common("createCAdESFromBase64", "PKCS12", "SIGNATURE", data, False))
    assert reply == {"code": "500", "message": f"java.lang.IllegalArgumentException: {java}"}
    assert api.prompter.shown == []


def test_cancel_and_timestamp_methods(demo):
    api = Api(CANCEL)
    assert api(common("createCAdESFromBase64", "PKCS12", "SIGNATURE", "MTEK", False)) == {
        "code": "500",
        "message": "action.canceled",
    }
    for frame in (
        common("createCMSSignatureFromBase64", "PKCS12", "SIGNATURE", "MTEK", True),
        common("applyCAdEST", "PKCS12", "SIGNATURE", "MTEK"),
    ):
        reply = api(frame)
        assert reply["code"] == "500"
        assert reply["message"].startswith("not_available: ")
        assert "timestamps" in reply["message"]
    assert len(api.prompter.of_kind("choose_key")) == 1  # only the first call asked


def test_sign_xml_and_sax_errors(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(common("signXml", "PKCS12", "SIGNATURE", "<tag>data</tag>", "", ""))
    signed = reply["responseObject"]
    assert signed.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?><tag>data')
    assert xmldsig.verify_xml(signed).valid
    bad = api(common("signXml", "PKCS12", "SIGNATURE", "<this>is not a valid XML", "", ""))
    assert bad["code"] == "500"
    assert bad["message"].startswith("org.xml.sax.SAXParseException; lineNumber: 1; columnNumber:")
    doctype = api(
        common("signXml", "PKCS12", "SIGNATURE", '<!DOCTYPE a [<!ENTITY x "y">]><a/>', "", "")
    )
    assert doctype["message"].startswith("org.xml.sax.SAXParseException; DOCTYPE is disallowed")


def test_sign_xmls_one_dialog_many_documents(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(common("signXmls", "PKCS12", "SIGNATURE", ["<a>1</a>", "<a>2</a>"], "", ""))
    assert [xmldsig.verify_xml(d).valid for d in reply["responseObject"]] == [True, True]
    assert len(api.prompter.of_kind("confirm")) == 1


def test_key_type_authentication_refuses_a_sign_key(demo):
    api = Api(approve(demo["citizen_sign"]), approve(demo["citizen_auth"]))
    reply = api(common("createCAdESFromBase64", "PKCS12", "AUTHENTICATION", "MTEK", True))
    assert reply["code"] == "200"
    assert len(api.prompter.of_kind("key_refused")) == 1


def test_files_sign_and_missing_file(demo, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"file body")
    api = Api(approve(demo["citizen_sign"]))
    reply = api(common("createCAdESFromFile", "PKCS12", "SIGNATURE", str(doc), False))
    assert cms.verify(base64.b64decode(reply["responseObject"]), b"file body").valid
    assert api.prompter.of_kind("confirm")[0].documents[0].name == str(doc)
    missing = str(tmp_path / "nope")
    for method in ("createCAdESFromFile", "createCMSSignatureFromFile"):
        assert api(common(method, "PKCS12", "SIGNATURE", missing, True)) == {
            "code": "500",
            "message": "file.not_found",
        }


def test_show_file_chooser(tmp_path):
    picked = tmp_path / "key.p12"
    api = Api(ScriptedAnswer(file=picked), CANCEL)
    assert api(common("showFileChooser", "ALL", "")) == {
        "code": "200",
        "responseObject": str(picked),
    }
    assert api(common("showFileChooser", "P12", "")) == {
        "code": "500",
        "message": "action.canceled",
    }


def test_change_locale_has_no_response_object():
    api = Api()
    assert api(common("changeLocale", "ru")) == {"code": "200"}
    assert api.dispatcher.service.locale == "ru"
    api(common("changeLocale", "kz"))
    assert api.dispatcher.service.locale == "kk"


# ----------------------------------------------------------------------------- basics


def test_basics_cms_attached_is_an_array_of_pem(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(basics(signingParams={"decode": True, "encapsulate": True}))
    assert reply["status"] is True
    (signature,) = reply["body"]["result"]
    assert signature.startswith("-----BEGIN CMS-----\n")
    assert signature.endswith("\n-----END CMS-----\n")
    assert all(len(line) <= 64 for line in signature.splitlines())
    assert cms.verify(signature).content == b"11\n"


def test_basics_defaults_undecoded_string_attached(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(basics(data="привет", signingParams={}))
    assert cms.verify(reply["body"]["result"][0]).content == "привет".encode()


def test_basics_array_detached_with_string_booleans(demo):
    api = Api(approve(demo["citizen_sign"]))
    params = {"decode": "true", "encapsulate": "FALSE", "digested": "false"}
    reply = api(basics(data=["MTEK", "MjIK", "MzMK"], signingParams=params))
    results = reply["body"]["result"]
    assert len(results) == 3
    for pem_text, plain in zip(results, [b"11\n", b"22\n", b"33\n"], strict=True):
        assert cms.verify(pem_text, plain).valid
    assert api.prompter.of_kind("confirm")[0].count == 3


def test_basics_hash(demo):
    api = Api(approve(demo["citizen_sign"]))
    digest = b64(hashlib.sha256(b"document").digest())
    params = {"decode": True, "encapsulate": False, "digested": True}
    reply = api(basics(data=digest, signingParams=params))
    assert cms.verify(reply["body"]["result"][0], b"document").valid


def test_basics_xml(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(basics(format="xml", data="<tag>data</tag>", signingParams={}))
    signed = reply["body"]["result"][0]
    assert xmldsig.verify_xml(signed).valid
    # NCALayer 1.4's basics layout: the Signature on one line (PROTOCOL.md §7.2).
    signature = signed[signed.index("<ds:Signature") :]
    assert "\n" not in signature
    assert "\r" not in signature


def test_basics_raw_with_and_without_certificate(demo):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    api = Api(approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
    plain = api(basics(format="raw", signingParams={"decode": True}))
    assert len(plain["body"]["result"]) == 1
    reply = api(basics(format="raw", signingParams={"decode": True, "outputCert": True}))
    result = reply["body"]["result"]
    cert = x509.load_der_x509_certificate(base64.b64decode(result["certificate"]))
    cert.public_key().verify(  # type: ignore[union-attr, call-arg]
        base64.b64decode(result["signatures"][0]), b"11\n", padding.PKCS1v15(), hashes.SHA256()
    )


def test_basics_cancel_is_status_true_with_empty_body(demo):
    api = Api(CANCEL)
    assert api(basics()) == {"status": True, "body": {}}


def test_basics_signer_params_grey_out_non_heads(demo):
    api = Api(approve(demo["citizen_sign"]))
    signer = {"extKeyUsageOids": ["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2.1"]}
    assert api(basics(signerParams=signer)) == {"status": True, "body": {}}
    assert "1.2.398.3.3.4.1.2.1" in api.prompter.of_kind("key_refused")[0].reasons[0]


def test_basics_expired_key_refused_unless_allow_expired(demo):
    # refused, then the person cancels; then the same key where expired keys are allowed
    api = Api(approve(demo["expired_sign"]), CANCEL, approve(demo["expired_sign"]))
    assert api(basics()) == {"status": True, "body": {}}
    allowed = api(basics(signingParams={"decode": True, "allowExpired": "true"}))
    assert allowed["status"] is True
    assert allowed["body"]["result"]


def test_basics_result_as_plain_string_when_switched_off(demo):
    api = Api(approve(demo["citizen_sign"]), config=ApiConfig(basics_always_array=False))
    assert isinstance(api(basics())["body"]["result"], str)


INVOCATION = "An invoked method threw an exception."


@pytest.mark.parametrize(
    ("args", "code", "details"),
    [
        (
            {"signingParams": 555},
            "INVOCATION_ERROR",
            'org.json.JSONException: JSONObject["signingParams"] is not a JSONObject.',
        ),
        (
            {"signingParams": None},
            "INVOCATION_ERROR",
            'org.json.JSONException: JSONObject["signingParams"] is not a JSONObject.',
        ),
        (
            {"signerParams": "x"},
            "INVOCATION_ERROR",
            'org.json.JSONException: JSONObject["signerParams"] is not a JSONObject.',
        ),
        (
            {"signerParams": {}},
            "INVOCATION_ERROR",
            'org.json.JSONException: JSONObject["extKeyUsageOids"] not found.',
        ),
        (
            {"signerParams": {"extKeyUsageOids": "1.2"}},
            "INVOCATION_ERROR",
            'org.json.JSONException: JSONObject["extKeyUsageOids"] is not a JSONArray.',
        ),
        (
            {"data": 5},
            "INVOCATION_ERROR",
            'org.json.JSONException: JSONObject["data"] is not a string.',
        ),
        (
            {"data": [1]},
            "INVOCATION_ERROR",
            "org.json.JSONException: JSONArray[0] is not a String.",
        ),
        ({"data": []}, "INVALID_SIGNING_PARAMS", "data: the array is empty"),
        ({"format": "pdf"}, "INVALID_SIGNING_PARAMS", "format must be one of cms, xml, raw"),
        (
            {"data": "-----BEGIN CMS-----"},
            "SIGNING_FAILURE",
            "java.lang.IllegalArgumentException: Illegal base64 character 2d",
        ),
        (
            {"signingParams": {"decode": True, "tsaProfile": {}}},
            "SIGNING_FAILURE",
            None,
        ),
        ({"allowedStorages": ["AKKaznetID"]}, "GENERAL_ERROR", None),
        (
            {"signerParams": {"extKeyUsageOids": [], "chain": ["not pem"]}},
            "INVALID_SIGNING_PARAMS",
            "chain[0] is not a PEM certificate",
        ),
    ],
)
def test_basics_bad_params_answered_before_any_prompt(args, code, details):
    api = Api()
    reply = api(basics(**args))
    assert reply["status"] is False
    assert reply["code"] == code
    assert isinstance(reply["message"], str)
    if details is not None:
        assert reply["details"] == details
    assert api.prompter.shown == []


def test_basics_args_not_an_object_and_unknown_method():
    api = Api()
    assert api({"module": BASICS, "method": "sign", "args": ["x"]}) == {
        "status": False,
        "code": "GENERAL_ERROR",
        "message": "General error.",
        "details": "java.lang.IllegalArgumentException: sign demands arguments",
    }
    reply = api({"module": BASICS, "method": "generateCsr", "args": {}})
    assert reply["code"] == "GENERAL_ERROR"
    assert reply["details"].startswith("java.lang.IllegalArgumentException: generateCsr is not")
    assert api({"module": BASICS, "method": "sign", "apiVersion": 3, "args": {}})["status"] is False


def test_basics_malformed_xml(demo):
    api = Api()
    reply = api(basics(format="xml", data="<a>", signingParams={}))
    assert reply["code"] == "SIGNING_FAILURE"
    assert reply["details"].startswith("org.xml.sax.SAXParseException; lineNumber: 1")


# ----------------------------------------------------------------------------- accessory, applet


def test_accessory_bundles_and_services():
    api = Api()
    bundles = api({"module": "kz.gov.pki.ncalayerservices.accessory", "method": "getBundles"})
    assert bundles["kz.gov.pki.osgi.layer.websocket"]
    assert "kz.ecc.NurSignBundle" not in bundles
    services = api({"module": "kz.gov.pki.ncalayerservices.accessory", "method": "getServices"})
    assert COMMON in services["services"]
    install = api(
        {
            "module": "kz.gov.pki.ncalayerservices.accessory",
            "method": "installBundle",
            "symname": "kz.ecc.NurSignBundle",
        }
    )
    assert install["success"] is False


def test_legacy_applet_with_password_is_refused_and_logged(caplog):
    api = Api()
    frame = {
        "method": "signXml",
        "args": ["PKCS12", "/k.p12", "alias", "Qwerty12", "<a/>"],
        "uuid": "1",
    }
    with caplog.at_level("WARNING", logger="qalam.audit"):
        reply = api(frame)
    assert reply == {"errorCode": "COMMON", "result": REFUSAL, "uuid": "1"}
    assert ORIGIN in caplog.text
    assert "Qwerty12" not in caplog.text
    assert api.raw({"method": "setLocale", "args": ["ru"]}).text is None


def test_a_failing_handler_is_answered_in_its_family(monkeypatch):
    from signer_app.api.modules import common_utils

    async def boom(call, args):
        raise RuntimeError("bug")

    api = Api()
    methods = api.dispatcher.modules[COMMON].methods  # type: ignore[attr-defined]
    monkeypatch.setitem(methods, "getActiveTokens", common_utils.Method("", boom))
    reply = api.raw(common("getActiveTokens", uuid="z"))
    assert json.loads(reply.text or "") == {"code": "500", "uuid": "z"}
    assert reply.outcome == "error:internal"


@pytest.mark.parametrize(
    ("libxml2", "xerces"),
    [
        (
            "lineNumber: 1; columnNumber: 25; Premature end of data in tag this line 1",
            "lineNumber: 1; columnNumber: 25; "
            "XML document structures must start and end within the same entity.",
        ),
        (
            "lineNumber: 1; columnNumber: 11; Opening and ending tag mismatch: b line 1 and a",
            'lineNumber: 1; columnNumber: 11; The element type "b" must be terminated by the '
            'matching end-tag "</b>".',
        ),
        (
            "lineNumber: 1; columnNumber: 1; Start tag expected, '<' not found",
            "lineNumber: 1; columnNumber: 1; Content is not allowed in prolog.",
        ),
        (
            "lineNumber: 1; columnNumber: 9; Entity 'foo' not defined",
            'lineNumber: 1; columnNumber: 9; The entity "foo" was referenced, but not declared.',
        ),
        (
            "lineNumber: 1; columnNumber: 6; AttValue: \" or ' expected",
            "lineNumber: 1; columnNumber: 6; AttValue: \" or ' expected",
        ),
    ],
)
def test_parse_errors_are_worded_as_xerces_words_them_where_known(libxml2, xerces):
    from signer_app.api.errors import xerces_reason

    assert xerces_reason(libxml2) == xerces


def test_create_cades_from_a_streebog_hash_with_an_nca_gost_key(nca_vectors, demo):
    """A GOST 2015 key signs the 64-byte GOST 34.11-2015 hash a portal computed; an RSA key
    given the same hash says which size it needs, before any confirmation."""
    from datetime import UTC, datetime

    from signer_app.api.dispatch import Dispatcher
    from signer_app.crypto import gost
    from signer_app.service.signing import SigningService

    key = ScriptedAnswer(key=nca_vectors / "gokalkan" / "gost1.p12", password="Qwerty12")
    api = Api(key)
    # NCA's test certificate was valid in 2024: sign as of then.
    when = datetime(2024, 6, 1, tzinfo=UTC)
    api.dispatcher = Dispatcher(SigningService(api.prompter, clock=lambda: when))
    digest = gost.Streebog(data=b"document").digest()
    reply = api(common("createCAdESFromBase64Hash", "PKCS12", "SIGNATURE", b64(digest)))
    assert cms.verify(base64.b64decode(reply["responseObject"]), b"document").valid
    rsa = Api(approve(demo["citizen_sign"]))
    refused = rsa(common("createCAdESFromBase64Hash", "PKCS12", "SIGNATURE", b64(digest)))
    assert refused["code"] == "500"
    assert "32-byte" in refused["message"]
    assert not rsa.prompter.of_kind("confirm")

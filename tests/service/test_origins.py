"""Per-origin permission: "always block this site" from a dialog, refused before any dialog later,
no "always allow", the `qalam origins` commands."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from signer_app.api.dispatch import Dispatcher
from signer_app.cli import main
from signer_app.crypto.errors import InvalidInput
from signer_app.service.errors import ActionCanceled
from signer_app.service.origins import OriginPolicy, normalise_origin
from signer_app.service.prompter import (
    KeyChoice,
    KeyRequest,
    KeyType,
    Refusal,
    ScriptedAnswer,
    ScriptedPrompter,
)
from signer_app.service.settings import SettingsStore
from signer_app.service.signing import KeyQuery, SigningService

SITE = "https://portal.example.kz"
BASICS = {
    "module": "kz.gov.pki.knca.basics",
    "method": "sign",
    "args": {
        "format": "cms",
        "data": "MTEK",
        "signingParams": {},
        "signerParams": {"extKeyUsageOids": []},
    },
}
COMMON = {
    "module": "kz.gov.pki.knca.commonUtils",
    "method": "createCAdESFromBase64",
    "args": ["PKCS12", "SIGNATURE", "MTEK", False],
}


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("https://Portal.Example.KZ", SITE),
        ("https://portal.example.kz:443/", SITE),
        ("https://portal.example.kz/path?q=1", SITE),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:80", "http://[::1]"),
    ],
)
def test_origins_are_normalised(given, key):
    assert normalise_origin(given) == key


@pytest.mark.parametrize("bad", ["portal.kz", "ftp://x.kz", "https://", "https://x:99999", "null"])
def test_not_an_origin(bad):
    with pytest.raises(InvalidInput):
        normalise_origin(bad)


def policy(tmp_path) -> OriginPolicy:
    return OriginPolicy(SettingsStore(tmp_path))


def test_block_allow_forget_persist(tmp_path):
    p = policy(tmp_path)
    assert p.decision(SITE) == "ask"
    assert p.decision(None) == "ask"
    p.block("https://PORTAL.example.kz:443")
    assert p.decision(SITE) == "deny"
    assert policy(tmp_path).decision(SITE + "/") == "deny"  # from the file
    p.allow(SITE)
    assert p.entries() == {SITE: "ask"}
    assert p.decision(SITE) == "ask"
    p.forget(SITE)
    assert p.entries() == {}


def test_a_change_on_disk_reaches_a_running_policy(tmp_path):
    running = policy(tmp_path)
    assert running.decision(SITE) == "ask"
    policy(tmp_path).block(SITE)  # e.g. `qalam origins block` in another process
    assert running.decision(SITE) == "deny"


def _service(tmp_path, *answers: ScriptedAnswer) -> tuple[SigningService, ScriptedPrompter]:
    prompter = ScriptedPrompter(list(answers))
    return SigningService(prompter, origins=policy(tmp_path)), prompter


def test_block_from_the_confirm_dialog_then_refused_before_any_dialog(demo, tmp_path, caplog):
    key = demo["citizen_sign"]
    no_and_block = ScriptedAnswer(key.path, key.password, "cancel", block_origin=True)
    approve = ScriptedAnswer(key.path, key.password)
    service, prompter = _service(tmp_path, no_and_block, approve)
    query = KeyQuery(SITE)
    with pytest.raises(ActionCanceled):
        asyncio.run(service.sign_cms(query, [b"doc"]))
    assert policy(tmp_path).decision(SITE) == "deny"
    shown = len(prompter.shown)
    caplog.set_level(logging.INFO, "qalam.audit")
    for call in (
        service.sign_cms(query, [b"doc"]),
        service.sign_raw(query, [b"doc"]),
        service.sign_xml(query, ["<a/>"]),
        service.get_key_info(query),
        service.choose_file(SITE, "pdf", ""),
        service.timestamp_cms(b"0", SITE),
    ):
        with pytest.raises(ActionCanceled):
            asyncio.run(call)
    assert len(prompter.shown) == shown  # no dialog at all
    assert caplog.text.count(f"origin={SITE} refused before any dialog") == 6
    # another site (and a local program) is still asked, and can sign after approving
    other = asyncio.run(service.sign_cms(KeyQuery("https://other.kz"), [b"doc"]))
    assert other.signatures


def test_block_from_the_key_chooser_and_the_file_chooser(tmp_path):
    service, _ = _service(
        tmp_path,
        ScriptedAnswer(None, "", "cancel", block_origin=True),
        ScriptedAnswer(None, "", "cancel", block_origin=True),
    )
    with pytest.raises(ActionCanceled):
        asyncio.run(service.get_key_info(KeyQuery(SITE)))
    assert service.origins is not None
    assert service.origins.entries() == {SITE: "deny"}
    with pytest.raises(ActionCanceled):
        asyncio.run(service.choose_file("https://files.kz", "pdf", ""))
    assert service.origins.decision("https://files.kz") == "deny"


def test_a_local_program_cannot_be_blocked_and_a_plain_no_blocks_nothing(demo, tmp_path):
    key = demo["citizen_sign"]
    service, _ = _service(
        tmp_path,
        ScriptedAnswer(key.path, key.password, "cancel", block_origin=True),
        ScriptedAnswer(key.path, key.password, "cancel"),
    )
    for origin in (None, SITE):
        with pytest.raises(ActionCanceled):
            asyncio.run(service.sign_cms(KeyQuery(origin), [b"doc"]))
    assert service.origins is not None
    assert service.origins.entries() == {}


def test_there_is_no_always_allow(demo, tmp_path):
    """`allow` only lifts a block: the next request is asked about, and a no is a no."""
    key = demo["citizen_sign"]
    service, prompter = _service(tmp_path, ScriptedAnswer(key.path, key.password, "cancel"))
    assert service.origins is not None
    service.origins.block(SITE)
    service.origins.allow(SITE)
    with pytest.raises(ActionCanceled):
        asyncio.run(service.sign_cms(KeyQuery(SITE), [b"doc"]))
    assert len(prompter.of_kind("confirm")) == 1


def test_blocked_origin_gets_ncalayers_cancel_replies(tmp_path):
    service, prompter = _service(tmp_path)
    assert service.origins is not None
    service.origins.block(SITE)
    dispatcher = Dispatcher(service)
    basics = asyncio.run(dispatcher.handle(json.dumps(BASICS), SITE))
    assert basics.text is not None
    assert json.loads(basics.text) == {"status": True, "body": {}}
    assert basics.outcome == "canceled"
    common = asyncio.run(dispatcher.handle(json.dumps(COMMON), SITE))
    assert common.text is not None
    assert json.loads(common.text) == {"code": "500", "message": "action.canceled"}
    assert prompter.shown == []


def test_scripted_json_block_origin(tmp_path):
    prompter = ScriptedPrompter.from_json('{"decision": "cancel", "block_origin": true}', tmp_path)
    request = KeyRequest(SITE, "sign", ("PKCS12",), KeyType.ANY, ())
    assert asyncio.run(prompter.choose_key(request)) == Refusal(block_origin=True)
    for bad in ('{"block_origin": true}', '{"decision": "cancel", "block_origin": "yes"}'):
        with pytest.raises(InvalidInput):
            ScriptedPrompter.from_json(bad, tmp_path)
    plain = ScriptedPrompter.from_json('{"key": "k.p12", "password": "p"}', tmp_path)
    assert isinstance(asyncio.run(plain.choose_key(request)), KeyChoice)


def test_cli_origins(tmp_path, capsys):
    data = ["--data-dir", str(tmp_path)]
    assert main(["origins", "list", *data]) == 0
    assert "asked about" in capsys.readouterr().out
    assert main(["origins", "block", "https://Evil.example:443/", *data]) == 0
    assert "https://evil.example" in capsys.readouterr().out
    assert main(["origins", "list", *data]) == 0
    assert "https://evil.example\tblocked" in capsys.readouterr().out
    assert main(["origins", "allow", "https://evil.example", *data]) == 0
    assert "still needs your confirmation" in capsys.readouterr().out
    assert main(["origins", "forget", "https://evil.example", *data]) == 0
    assert main(["origins", "block", "not-an-origin", *data]) == 2
    assert SettingsStore(tmp_path).load().origins == {}

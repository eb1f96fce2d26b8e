"""The driver registry: storage names to PKCS#11 modules, overrides, and which have a token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pkcs11 import TokenFlag
from softhsm import PIN, SoftHsm, second_softhsm, softhsm

from signer_app.crypto import cms
from signer_app.crypto.errors import (
    InvalidInput,
    PinCountLow,
    PinIncorrect,
    PinLocked,
    Pkcs11ModuleError,
    TokenNotFound,
)
from signer_app.service.errors import StorageEmpty
from signer_app.service.prompter import KeyChoice, KeyRequest, KeyType, ScriptedPrompter
from signer_app.service.settings import Settings, SettingsStore
from signer_app.service.signing import KeyQuery, SigningService
from signer_app.service.tokens import (
    ALL_STORAGES,
    ENV_VAR,
    TOKEN_STORAGES,
    TokenRegistry,
    change_pin,
    os_name,
    parse_modules,
)

__all__ = ["second_softhsm", "softhsm"]  # fixtures, used by name

ORIGIN = "https://portal.example.kz"


def _registry(modules: str, **settings: str) -> TokenRegistry:
    return TokenRegistry(settings, environ={ENV_VAR: modules}, platform="linux")


def test_every_ncalayer_token_storage_and_the_generic_module_are_known() -> None:
    assert TOKEN_STORAGES == (
        "AKKaztokenStore",
        "AKKZIDCardStore",
        "AKEToken72KStore",
        "AKEToken5110Store",
        "AKJaCartaStore",
        "AKAKEYStore",
    )
    assert ALL_STORAGES[-1] == "PKCS11"


def test_the_environment_variable_maps_names_to_paths() -> None:
    text = " AKKaztokenStore=/a/lib.so ; PKCS11=C:\\x\\y.dll;"
    assert parse_modules(text) == {"AKKaztokenStore": "/a/lib.so", "PKCS11": "C:\\x\\y.dll"}


@pytest.mark.parametrize(
    ("text", "words"),
    [("AKKaztokenStore", "not NAME=PATH"), ("AKKaztokenStore=", "not NAME=PATH"),
     ("Kaztoken=/a.so", "unknown storage 'Kaztoken'"), ("PKCS12=/a.so", "unknown storage")],
)  # fmt: skip
def test_a_bad_environment_variable_is_named_clearly(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_modules(text)
    assert words in caught.value.message("en")


def test_defaults_follow_the_os() -> None:
    linux = TokenRegistry(environ={}, platform="linux").status("AKJaCartaStore")
    windows = TokenRegistry(environ={}, platform="win32").status("AKJaCartaStore")
    assert linux.candidates[0] == "/usr/lib/libjcPKCS11-2.so"
    assert windows.candidates == (r"C:\Windows\System32\jcPKCS11-2.dll",)
    assert (os_name("darwin"), os_name("cygwin"), os_name("linux2")) == (
        "darwin",
        "windows",
        "linux",
    )


def test_a_missing_driver_is_reported_with_what_to_install(tmp_path: Path) -> None:
    registry = TokenRegistry(environ={}, platform="linux")
    status = registry.status("AKKaztokenStore")
    assert not status.present
    assert status.source == "none"
    assert "Install the Kaztoken driver" in status.guidance
    assert "pkcs11_modules" in status.guidance
    with pytest.raises(Pkcs11ModuleError) as caught:
        registry.module("AKKaztokenStore")
    assert "not installed" in caught.value.message("en")
    missing = _registry(f"AKJaCartaStore={tmp_path / 'gone.so'}")
    assert registry.active_storages() == []
    assert missing.active_storages() == []


def test_environment_wins_over_settings_which_win_over_defaults(tmp_path: Path) -> None:
    env_lib, settings_lib = tmp_path / "env.so", tmp_path / "settings.so"
    env_lib.write_bytes(b"x")
    settings_lib.write_bytes(b"x")
    registry = _registry(f"AKJaCartaStore={env_lib}", AKJaCartaStore=str(settings_lib),
                         AKAKEYStore=str(settings_lib))  # fmt: skip
    jacarta, akey = registry.status("AKJaCartaStore"), registry.status("AKAKEYStore")
    assert (jacarta.path, jacarta.source) == (str(env_lib), "environment")
    assert (akey.path, akey.source) == (str(settings_lib), "settings")
    assert registry.status("AKEToken5110Store").source == "default"


def test_an_unknown_storage_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        TokenRegistry(environ={}).status("PKCS12")


# ----------------------------------------------------------------------------- with SoftHSM2


def test_active_storages_are_those_whose_driver_has_a_token(
    softhsm: SoftHsm, second_softhsm: SoftHsm, tmp_path: Path
) -> None:
    softhsm.init_token("kaztoken")
    softhsm.load()
    second_softhsm.load()  # a driver that loads but has no initialised token
    broken = tmp_path / "broken.so"
    broken.write_bytes(b"not a library")
    registry = _registry(
        f"AKKaztokenStore={softhsm.lib};AKJaCartaStore={second_softhsm.lib};"
        f"AKAKEYStore={broken};AKEToken5110Store={tmp_path / 'absent.so'}"
    )
    assert registry.active_storages() == ["AKKaztokenStore"]


def test_opening_a_storage_logs_in_to_its_token(softhsm: SoftHsm, demo: dict[str, Any]) -> None:
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_sign"].open(), b"\x01")
    softhsm.activate()
    registry = _registry(f"AKKaztokenStore={softhsm.lib}")
    with registry.open("AKKaztokenStore", PIN) as store:
        assert store.storage == "AKKaztokenStore"
        assert store.entries()[0].certificate == demo["citizen_sign"].open().certificate


def test_opening_a_storage_without_a_token_says_which(second_softhsm: SoftHsm) -> None:
    second_softhsm.activate()
    registry = _registry(f"AKJaCartaStore={second_softhsm.lib}")
    with pytest.raises(TokenNotFound) as caught:
        registry.open("AKJaCartaStore", PIN)
    assert caught.value.message("en") == "No token is connected: JaCarta."


# ----------------------------------------------------------------------------- settings


def test_module_paths_are_a_setting_with_its_check(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.save(Settings(pkcs11_modules={"AKKaztokenStore": "/opt/kaztoken/lib.so"}))
    assert store.load().pkcs11_modules == {"AKKaztokenStore": "/opt/kaztoken/lib.so"}
    bad, problems = Settings.from_json({"pkcs11_modules": {"NoSuchStore": "/x.so"}})
    assert bad.pkcs11_modules == {}
    assert problems == ["setting 'pkcs11_modules' has an invalid value; the default is used"]


# ----------------------------------------------------------------------------- the service


@pytest.fixture
def kaztoken(softhsm: SoftHsm, demo: dict[str, Any]) -> SoftHsm:
    """A Kaztoken-like token holding the citizen's AUTH and SIGN keys, as NCA issues them."""
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_auth"].open(), b"\x01")
    softhsm.import_entry("kaztoken", demo["citizen_sign"].open(), b"\x02")
    softhsm.activate()
    return softhsm


def _service(hsm: SoftHsm, *answers: dict[str, Any]) -> tuple[SigningService, ScriptedPrompter]:
    prompter = ScriptedPrompter.from_json(json.dumps(list(answers)))
    tokens = _registry(f"AKKaztokenStore={hsm.lib}")
    return SigningService(prompter, tokens=tokens), prompter


TOKEN_ANSWER = {"storage": "AKKaztokenStore", "pin": PIN}
QUERY = KeyQuery(ORIGIN, ("AKKaztokenStore",), KeyType.SIGNATURE)


def test_a_scripted_token_answer_is_a_key_choice_on_the_token() -> None:
    prompter = ScriptedPrompter.from_json(json.dumps({**TOKEN_ANSWER, "token": "123"}))
    request = KeyRequest(None, "sign", ("AKKaztokenStore",), KeyType.ANY, ())
    choice = asyncio.run(prompter.choose_key(request))
    assert choice == KeyChoice.for_token("AKKaztokenStore", PIN, "123")
    assert isinstance(choice, KeyChoice)
    assert choice.on_token
    assert PIN not in repr(choice)
    assert not KeyChoice(Path("a.p12"), "x").on_token  # the file form is unchanged
    with pytest.raises(InvalidInput):
        ScriptedPrompter.from_json(json.dumps({"storage": "JKS", "pin": PIN}))


def test_the_service_signs_with_the_token_key_the_filters_accept_and_logs_out(
    kaztoken: SoftHsm, demo: dict[str, Any]
) -> None:
    svc, prompter = _service(kaztoken, TOKEN_ANSWER)
    result = asyncio.run(svc.sign_cms(QUERY, [b"signed on a token"]))
    check = cms.verify(result.signatures[0])
    assert check.valid
    assert result.certificate == demo["citizen_sign"].open().certificate  # SIGN, not AUTH
    (shown,) = prompter.of_kind("confirm")
    assert shown.key.path == "AKKaztokenStore"
    assert svc._stores == []  # the session was closed with the request


def test_wrong_pin_twice_then_right_through_the_service(kaztoken: SoftHsm) -> None:
    wrong = {**TOKEN_ANSWER, "pin": "00000000"}
    svc, prompter = _service(kaztoken, wrong, wrong, TOKEN_ANSWER)
    asyncio.run(svc.sign_cms(QUERY, [b"third time"]))
    assert prompter.of_kind("wrong_password") == [
        ("AKKaztokenStore", 1, 2),
        ("AKKaztokenStore", 2, 1),
    ]
    problems = [r.problem for r in prompter.of_kind("choose_key")]
    # SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a wrong PIN; the dialog says so (kk default).
    assert problems == [None, PinCountLow().message("kk"), PinCountLow().message("kk")]


def test_a_locked_pin_ends_the_request_without_another_attempt(kaztoken: SoftHsm) -> None:
    kaztoken.set_pin_flags("kaztoken", TokenFlag.USER_PIN_LOCKED)
    kaztoken.activate()
    svc, prompter = _service(kaztoken, TOKEN_ANSWER, TOKEN_ANSWER)
    with pytest.raises(PinLocked):
        asyncio.run(svc.sign_cms(QUERY, [b"x"]))
    assert len(prompter.of_kind("choose_key")) == 1
    assert prompter.of_kind("error") == [(ORIGIN, "pin_locked")]


def test_allowed_storages_with_a_token_present_pass_and_without_are_empty(
    kaztoken: SoftHsm, tmp_path: Path
) -> None:
    svc, _ = _service(kaztoken)
    svc.check_storages(["AKKaztokenStore"])
    assert svc.active_tokens() == ["AKKaztokenStore"]
    with pytest.raises(StorageEmpty):
        svc.check_storages(["AKJaCartaStore"])
    bare = SigningService(ScriptedPrompter([]), tokens=TokenRegistry(environ={}))
    assert bare.active_tokens() == []


# ----------------------------------------------------------------------------- PIN change


NEW_PIN = "24681357"


def test_the_pin_is_changed_through_the_registry(kaztoken: SoftHsm) -> None:
    registry = _registry(f"AKKaztokenStore={kaztoken.lib}")
    info = change_pin(registry, "AKKaztokenStore", PIN, NEW_PIN)
    assert info.label == "kaztoken"
    with registry.open("AKKaztokenStore", NEW_PIN) as store:
        assert len(store.entries()) == 2
    with pytest.raises(PinIncorrect):
        registry.open("AKKaztokenStore", PIN)


def test_a_wrong_old_pin_changes_nothing_and_says_tries_are_low(kaztoken: SoftHsm) -> None:
    registry = _registry(f"AKKaztokenStore={kaztoken.lib}")
    with pytest.raises(PinCountLow) as caught:
        change_pin(registry, "AKKaztokenStore", "00000000", NEW_PIN)
    assert "00000000" not in str(caught.value) + caught.value.message("en")
    registry.open("AKKaztokenStore", PIN).close()  # still the old PIN


@pytest.mark.parametrize(
    ("new_pin", "words"),
    [("12", "too short or too long"), ("7" * 256, "too short or too long"),
     ("", "the new PIN is empty")],
)  # fmt: skip
def test_a_new_pin_the_token_refuses_changes_nothing(
    kaztoken: SoftHsm, new_pin: str, words: str
) -> None:
    # SoftHSM2 takes PINs of 4 to 255 characters (its CK_TOKEN_INFO min and max).
    registry = _registry(f"AKKaztokenStore={kaztoken.lib}")
    with pytest.raises(InvalidInput) as caught:
        change_pin(registry, "AKKaztokenStore", PIN, new_pin)
    text = caught.value.message("en")
    assert words in text
    assert PIN not in text
    assert not new_pin or new_pin not in text
    registry.open("AKKaztokenStore", PIN).close()


def test_a_locked_token_refuses_the_change_without_an_attempt(kaztoken: SoftHsm) -> None:
    kaztoken.set_pin_flags("kaztoken", TokenFlag.USER_PIN_LOCKED)
    kaztoken.activate()
    registry = _registry(f"AKKaztokenStore={kaztoken.lib}")
    with pytest.raises(PinLocked):
        change_pin(registry, "AKKaztokenStore", PIN, NEW_PIN)


def test_changing_the_pin_of_an_absent_token_says_which(second_softhsm: SoftHsm) -> None:
    second_softhsm.activate()
    registry = _registry(f"AKJaCartaStore={second_softhsm.lib}")
    with pytest.raises(TokenNotFound):
        change_pin(registry, "AKJaCartaStore", PIN, NEW_PIN)

"""The person reads why a key does not fit in the request's language: the service's problem
line, the terminal prompter, and what the scripted prompter records (codes)."""

from __future__ import annotations

import asyncio
import io

import pytest

from signer_app.crypto.identity import identity_of
from signer_app.service.errors import ActionCanceled
from signer_app.service.filters import filters_for
from signer_app.service.key_status import Reason
from signer_app.service.prompter import (
    KeyRequest,
    KeyType,
    KeyView,
    RefusedKey,
    ScriptedAnswer,
    ScriptedPrompter,
    TerminalPrompter,
)
from signer_app.service.signing import KeyQuery, SigningService

ORIGIN = "https://portal.example.kz"


@pytest.mark.parametrize(
    ("locale", "start"),
    [
        ("ru", "это ключ AUTH, а запросу нужен ключ SIGN"),
        ("kk", "бұл AUTH кілті, ал сұрауға SIGN кілті керек"),
        ("en", "this is a AUTH key, the request needs a SIGN key"),
    ],
)
def test_the_next_key_choice_says_the_problem_in_the_request_language(demo, locale, start):
    key = demo["citizen_auth"]
    prompter = ScriptedPrompter([ScriptedAnswer(key=key.path, password=key.password)])
    query = KeyQuery(ORIGIN, key_type=KeyType.SIGNATURE, locale=locale)
    with pytest.raises(ActionCanceled):
        asyncio.run(SigningService(prompter).sign_cms(query, [b"data"]))
    (refused,) = prompter.of_kind("key_refused")
    assert refused.locale == locale
    assert [r.code for r in refused.reasons] == ["refused.purpose"]
    second = prompter.of_kind("choose_key")[1]
    assert second.problem == start
    assert [f.code for f in second.filters] == ["filter.purpose", "filter.valid"]


def test_the_terminal_speaks_the_request_language(demo):
    out = io.StringIO()
    terminal = TerminalPrompter(out)
    who = identity_of(demo["citizen_sign"].open().certificate)
    reasons = (Reason("refused.expired", date="2025-01-31"),)
    asyncio.run(terminal.key_refused(RefusedKey(KeyView("k.p12", "alias", who), reasons, "ru")))
    assert "  - срок действия сертификата истёк 2025-01-31" in out.getvalue()


def test_the_terminal_lists_what_keys_must_be_in_kazakh(monkeypatch):
    out = io.StringIO()
    terminal = TerminalPrompter(out)
    filters = filters_for(KeyType.SIGNATURE, iin="850101300124")
    wanted = tuple(f.description for f in filters)
    request = KeyRequest(ORIGIN, "sign", ("PKCS12",), KeyType.SIGNATURE, wanted, locale="kk")

    async def nothing(prompt: str, secret: bool = False) -> str:
        return ""

    monkeypatch.setattr(TerminalPrompter, "_ask", staticmethod(nothing))
    assert asyncio.run(terminal.choose_key(request)) is None
    said = out.getvalue()
    assert "SIGN кілті болуы керек; ЖСН 850101300124 иесіне тиесілі болуы керек" in said

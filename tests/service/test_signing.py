"""SigningService with the ScriptedPrompter: consent, retries, filters, and what the person saw."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from signer_app.crypto import cms, xmldsig
from signer_app.crypto.errors import InvalidInput, MalformedXml
from signer_app.service.errors import (
    ActionCanceled,
    NotAvailable,
    StorageEmpty,
    StorageUnknown,
    TooManyAttempts,
)
from signer_app.service.filters import filters_for
from signer_app.service.prompter import (
    KeyType,
    ScriptedAnswer,
    ScriptedPrompter,
    SignRequestView,
)
from signer_app.service.signing import KeyQuery, SigningService, require_timestamp

T = TypeVar("T")
ORIGIN = "https://portal.example.kz"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def answer(key: Any, password: str | None = None, decision: str = "approve") -> ScriptedAnswer:
    secret = key.password if password is None else password
    return ScriptedAnswer(key=key.path, password=secret, decision=decision)  # type: ignore[arg-type]


def service(*answers: ScriptedAnswer) -> tuple[SigningService, ScriptedPrompter]:
    prompter = ScriptedPrompter(list(answers))
    return SigningService(prompter), prompter


def test_approved_cms_verifies_and_the_prompt_named_origin_content_and_key(demo):
    svc, prompter = service(answer(demo["citizen_sign"]))
    result = run(svc.sign_cms(KeyQuery(ORIGIN), [b"hello, portal"]))
    (der,) = result.signatures
    check = cms.verify(der)
    assert check.valid
    assert check.content == b"hello, portal"
    (shown,) = prompter.of_kind("confirm")
    assert isinstance(shown, SignRequestView)
    assert shown.origin == ORIGIN
    assert shown.kind == "cms"
    assert shown.documents[0].preview == "hello, portal"
    assert shown.documents[0].size == 13
    assert shown.key.identity.iin == demo["citizen_sign"].iin


def test_cancel_at_confirmation_signs_nothing(demo):
    svc, prompter = service(answer(demo["citizen_sign"], decision="cancel"))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]))
    assert len(prompter.of_kind("confirm")) == 1


def test_cancel_at_key_choice_never_asks_to_confirm():
    svc, prompter = service(ScriptedAnswer(decision="cancel"))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]))
    assert prompter.of_kind("confirm") == []


def test_a_sign_request_never_completes_without_approval(demo):
    class Silent(ScriptedPrompter):
        async def confirm(self, request: SignRequestView) -> bool:  # a prompter that says nothing
            return None  # type: ignore[return-value]

    svc = SigningService(Silent(answer(demo["citizen_sign"])))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]))


def test_exhausted_script_cancels_instead_of_approving(demo):
    svc, _ = service(answer(demo["citizen_sign"]))
    run(svc.sign_cms(KeyQuery(ORIGIN), [b"one"]))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"two"]))


def test_wrong_password_keeps_dialog_open_then_right_one_signs(demo):
    key = demo["citizen_sign"]
    svc, prompter = service(answer(key, password="nope"), answer(key))
    result = run(svc.sign_cms(KeyQuery(ORIGIN, locale="en"), [b"data"]))
    assert cms.verify(result.signatures[0]).valid
    assert prompter.of_kind("wrong_password") == [(str(key.path), 1, 2)]
    second = prompter.of_kind("choose_key")[1]
    assert second.attempt == 2
    assert second.problem == "The password is not right for this key file."


def test_wrong_password_attempts_are_capped(demo):
    svc, prompter = service()
    prompter = ScriptedPrompter(answer(demo["citizen_sign"], password="nope"))  # repeats forever
    svc = SigningService(prompter)
    with pytest.raises(TooManyAttempts) as caught:
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"data"]))
    assert isinstance(caught.value, ActionCanceled)
    assert len(prompter.of_kind("wrong_password")) == 3
    assert prompter.of_kind("confirm") == []


def test_auth_key_is_greyed_out_for_a_signature_with_a_reason_then_sign_key_used(demo):
    svc, prompter = service(answer(demo["citizen_auth"]), answer(demo["citizen_sign"]))
    query = KeyQuery(ORIGIN, key_type=KeyType.SIGNATURE)
    result = run(svc.sign_cms(query, [b"data"]))
    assert cms.verify(result.signatures[0]).valid
    (refused,) = prompter.of_kind("key_refused")
    assert refused.key.identity.purpose.name == "AUTH"
    assert refused.reasons == ("this is a AUTH key, the request needs a SIGN key",)
    assert prompter.of_kind("choose_key")[0].filters[0] == "be a SIGN key"


def test_expired_key_is_refused_with_a_clear_reason(demo):
    svc, prompter = service(answer(demo["expired_sign"]))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"data"]))
    (refused,) = prompter.of_kind("key_refused")
    assert refused.reasons[0].startswith("the certificate expired on ")
    assert prompter.of_kind("confirm") == []


def test_expired_key_allowed_when_the_request_says_allow_expired(demo):
    svc, _ = service(answer(demo["expired_sign"]))
    query = KeyQuery(ORIGIN, filters=filters_for(allow_expired=True))
    assert run(svc.sign_cms(query, [b"data"])).signatures


def test_signer_params_filters_all_reasons_listed(demo):
    filters = filters_for(
        KeyType.SIGNATURE,
        ext_key_usage_oids=["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2.1"],
        iin="000000000000",
        bin="940140000385",
        serial_number="abc",
    )
    svc, prompter = service(answer(demo["citizen_sign"]))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN, filters=filters), [b"data"]))
    (refused,) = prompter.of_kind("key_refused")
    text = " | ".join(refused.reasons)
    assert "lacks the usage(s) 1.2.398.3.3.4.1.2.1" in text
    assert f"IIN {demo['citizen_sign'].iin}, not 000000000000" in text
    assert "BIN —, not 940140000385" in text
    assert [r.code for r in refused.reasons] == [
        "refused.eku",
        "refused.iin",
        "refused.bin",
        "refused.serial",
    ]
    assert "serial number" in text
    assert len(refused.reasons) == 4


def test_matching_head_of_legal_entity_passes_every_filter(demo):
    ceo = demo["ceo_sign"]
    serial = format(ceo.open().certificate.serial_number, "X")
    filters = filters_for(
        KeyType.SIGNATURE,
        ext_key_usage_oids=["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2.1"],
        iin=ceo.iin,
        bin=ceo.bin or "",
        serial_number=serial,
        chain=list(ceo.open().chain),
    )
    svc, prompter = service(answer(ceo))
    assert run(svc.sign_cms(KeyQuery(ORIGIN, filters=filters), [b"data"])).signatures
    assert prompter.of_kind("key_refused") == []


def test_chain_filter_refuses_a_foreign_ca(demo):
    foreign = demo["civil_servant_sign"].open()  # GOV CA hierarchy
    citizen = demo["citizen_sign"]
    if {c.subject for c in foreign.chain} & {c.subject for c in citizen.open().chain}:
        pytest.skip("the demo hierarchies share a CA")
    svc, prompter = service(answer(citizen))
    query = KeyQuery(ORIGIN, filters=filters_for(chain=list(foreign.chain)))
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(query, [b"data"]))
    assert "does not chain" in prompter.of_kind("key_refused")[0].reasons[0]


def test_detached_hash_and_multi_documents_one_dialog(demo):
    svc, prompter = service(answer(demo["citizen_sign"]))
    docs = [b"a", b"b", b"c"]
    result = run(svc.sign_cms(KeyQuery(ORIGIN), docs, detached=True))
    for der, data in zip(result.signatures, docs, strict=True):
        assert cms.verify(der, data).valid
    assert len(prompter.of_kind("confirm")) == 1
    assert prompter.of_kind("confirm")[0].count == 3


def test_hash_signing_verifies_against_the_data(demo):
    import hashlib

    svc, prompter = service(answer(demo["citizen_sign"]))
    digest = hashlib.sha256(b"big file").digest()
    result = run(svc.sign_cms(KeyQuery(ORIGIN), [digest], digested=True))
    assert cms.verify(result.signatures[0], b"big file").valid
    assert prompter.of_kind("confirm")[0].kind == "hash"


def test_attached_cms_is_cosigned_when_asked(demo):
    first, _ = service(answer(demo["citizen_sign"]))
    existing = run(first.sign_cms(KeyQuery(None), [b"contract"])).signatures[0]
    second, _ = service(answer(demo["ceo_sign"]))
    result = run(second.sign_cms(KeyQuery(None), [existing], cosign_cms=True))
    check = cms.verify(result.signatures[0])
    assert check.valid
    assert len(check.signers) == 2


def test_xml_signed_and_malformed_xml_asks_nobody(demo):
    svc, prompter = service(answer(demo["citizen_sign"]))
    result = run(svc.sign_xml(KeyQuery(ORIGIN), ["<a>1</a>", "<b>2</b>"]))
    assert all(xmldsig.verify_xml(d).valid for d in result.documents)
    assert prompter.of_kind("confirm")[0].documents[0].preview == "<a>1</a>"
    svc, prompter = service(answer(demo["citizen_sign"]))
    with pytest.raises(MalformedXml):
        run(svc.sign_xml(KeyQuery(ORIGIN), ["<this>is not a valid XML"]))
    assert prompter.shown == []


def test_raw_signature_verifies_with_the_certificate(demo):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    svc, _ = service(answer(demo["citizen_sign"]))
    result = run(svc.sign_raw(KeyQuery(ORIGIN), [b"raw data"]))
    assert result.certificate is not None
    result.certificate.public_key().verify(  # type: ignore[call-arg, union-attr]
        result.signatures[0], b"raw data", padding.PKCS1v15(), hashes.SHA256()
    )


def test_storages_unknown_and_token_only_refused_before_any_prompt():
    svc, prompter = service()
    with pytest.raises(StorageUnknown):
        run(svc.sign_cms(KeyQuery(ORIGIN, storages=("AKKaznetID",)), [b"x"]))
    with pytest.raises(StorageEmpty):
        run(svc.sign_cms(KeyQuery(ORIGIN, storages=("AKKaztokenStore",)), [b"x"]))
    assert prompter.shown == []


def test_key_info_needs_no_confirmation(demo):
    svc, prompter = service(answer(demo["citizen_auth"]))
    entry = run(svc.get_key_info(KeyQuery(ORIGIN, key_type=KeyType.AUTHENTICATION)))
    assert entry.certificate == demo["citizen_auth"].open().certificate
    assert prompter.of_kind("choose_key")[0].action == "key_info"
    assert prompter.of_kind("confirm") == []


def test_missing_key_file_keeps_dialog_open_with_the_problem(demo, tmp_path):
    missing = ScriptedAnswer(key=tmp_path / "gone.p12", password="x")
    svc, prompter = service(missing, answer(demo["citizen_sign"]))
    assert run(svc.sign_cms(KeyQuery(ORIGIN, locale="en"), [b"x"])).signatures
    assert "not found" in prompter.of_kind("choose_key")[1].problem


def test_one_dialog_at_a_time_across_callers(demo):
    active = 0
    most = 0

    class Slow(ScriptedPrompter):
        async def confirm(self, request: SignRequestView) -> bool:
            nonlocal active, most
            active += 1
            most = max(most, active)
            await asyncio.sleep(0.02)
            active -= 1
            return await super().confirm(request)

    svc = SigningService(Slow(answer(demo["citizen_sign"])))

    async def many() -> None:
        await asyncio.gather(*(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]) for _ in range(4)))

    run(many())
    assert most == 1


def test_cancelling_the_task_cancels_the_dialog(demo):
    cancelled = asyncio.Event()
    asked = asyncio.Event()

    class Waiting(ScriptedPrompter):
        async def confirm(self, request: SignRequestView) -> bool:
            asked.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return True

    svc = SigningService(Waiting(answer(demo["citizen_sign"])))

    async def scenario() -> None:
        task = asyncio.create_task(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]))
        # The dialog is open (the key file's open takes longer on a loaded machine).
        await asyncio.wait_for(asked.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # the lock is free again: the next request gets its dialog
        waiting = asyncio.create_task(svc.get_key_info(KeyQuery(ORIGIN)))
        await asyncio.wait_for(waiting, 5)

    run(scenario())
    assert cancelled.is_set()


def test_timestamps_are_refused_clearly():
    with pytest.raises(NotAvailable) as caught:
        require_timestamp()
    assert "timestamps" in caught.value.message("en")


@pytest.mark.parametrize("digest", [b"", b"short", bytes(33)], ids=["empty", "short", "33-bytes"])
def test_a_hash_of_no_supported_size_is_refused_before_any_dialog(demo, digest):
    svc, prompter = service(answer(demo["citizen_sign"]))
    with pytest.raises(InvalidInput):
        run(svc.sign_cms(KeyQuery(ORIGIN), [digest], digested=True))
    assert prompter.shown == [], "nobody may be asked to approve signing a broken hash"


def test_key_chooser_sees_the_origin_or_local_program(demo):
    svc, prompter = service(answer(demo["citizen_sign"]), answer(demo["citizen_sign"]))
    run(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]))
    run(svc.sign_cms(KeyQuery(None), [b"x"]))
    first, second = prompter.of_kind("choose_key")
    assert first.shown_origin == ORIGIN
    assert second.shown_origin.startswith("a local program")
    assert prompter.of_kind("confirm")[1].shown_origin.startswith("a local program")


def test_clock_decides_expiry(demo):
    svc = SigningService(
        ScriptedPrompter(answer(demo["citizen_sign"])),
        clock=lambda: datetime(2999, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ActionCanceled):
        run(svc.sign_cms(KeyQuery(ORIGIN), [b"x"]))

"""basics.sign and the key's status: signerParams.chain null means the trusted CAs,
signingParams.allowRevoked, and refusals in the request's language."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from api_helpers import Api, approve, basics, self_made_key
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from signer_app.crypto import cms
from signer_app.service.key_status import TrustedCas
from signer_app.service.prompter import ScriptedAnswer
from signer_app.service.trust_store import TrustStore

PASSWORD = "Self-made-1"


def pem_cms(text: str) -> bytes:
    body = "".join(text.strip().splitlines()[1:-1])
    return base64.b64decode(body)


def test_demo_key_is_accepted_with_chain_null(demo):
    api = Api(approve(demo["citizen_sign"]))
    reply = api(basics(signerParams={"extKeyUsageOids": [], "chain": None}))
    assert reply["status"] is True, reply
    assert cms.verify(pem_cms(reply["body"]["result"][0])).valid
    assert api.prompter.of_kind("key_refused") == []


@pytest.mark.parametrize("chain", ["absent", None, "", 5])
def test_self_made_ca_key_is_greyed_when_chain_is_null_or_absent(tmp_path, chain):
    key = self_made_key(tmp_path, PASSWORD)
    api = Api(ScriptedAnswer(key=key, password=PASSWORD))
    signer: dict[str, Any] = {"extKeyUsageOids": []}
    if chain != "absent":
        signer["chain"] = chain
    reply = api(basics(signerParams=signer, locale="ru"))
    assert reply == {"status": True, "body": {}}  # the script ran out: cancel
    (refused,) = api.prompter.of_kind("key_refused")
    assert [r.code for r in refused.reasons] == ["refused.untrusted"]
    assert refused.locale == "ru"
    assert api.prompter.of_kind("confirm") == []
    (first, second) = api.prompter.of_kind("choose_key")
    assert [f.code for f in first.filters] == ["filter.trusted", "filter.valid"]
    assert second.problem.startswith("сертификат выпущен недоверенным УЦ")


def test_self_made_ca_key_signs_with_an_empty_chain(tmp_path):
    key = self_made_key(tmp_path, PASSWORD)
    api = Api(ScriptedAnswer(key=key, password=PASSWORD))
    reply = api(basics(signerParams={"extKeyUsageOids": [], "chain": []}))
    assert reply["status"] is True, reply
    assert cms.verify(pem_cms(reply["body"]["result"][0])).valid


def test_an_imported_root_makes_its_keys_selectable_with_chain_null(tmp_path):
    key = self_made_key(tmp_path, PASSWORD)
    bundle = pkcs12.load_pkcs12(key.read_bytes(), PASSWORD.encode())
    root = bundle.additional_certs[0].certificate
    store = TrustStore(tmp_path / "data")
    trusted = TrustedCas(store)
    before = Api(ScriptedAnswer(key=key, password=PASSWORD))
    before.dispatcher.service.trusted = trusted
    assert before(basics(signerParams={"extKeyUsageOids": []})) == {"status": True, "body": {}}
    assert before.prompter.of_kind("key_refused")[0].reasons[0].code == "refused.untrusted"
    store.add(root.public_bytes(Encoding.PEM), "root.pem")
    api = Api(ScriptedAnswer(key=key, password=PASSWORD))
    api.dispatcher.service.trusted = trusted  # the same store, read again as its file changed
    reply = api(basics(signerParams={"extKeyUsageOids": []}))
    assert reply["status"] is True, reply
    assert cms.verify(pem_cms(reply["body"]["result"][0])).valid


def test_a_key_chaining_to_a_removed_demo_root_is_greyed(demo, tmp_path):
    store = TrustStore(tmp_path / "data")
    nac_root = next(a for a in store.anchors() if a.subject.startswith("НЕГІЗГІ КО"))
    store.remove(nac_root.sha256[:16])
    api = Api(approve(demo["citizen_sign"]))
    api.dispatcher.service.trusted = TrustedCas(store)
    reply = api(basics(signerParams={"extKeyUsageOids": []}))
    assert reply == {"status": True, "body": {}}
    assert api.prompter.of_kind("key_refused")[0].reasons[0].code == "refused.untrusted"

"""Re-issue on a token against the live bundled CA: keys made on a SoftHSM2 token, certificates
written back to it, and no key pair left on it unexplained whatever fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ca_live import LiveCa, ca_fixture, issue_code  # noqa: F401 - ca is a fixture
from pkcs11 import Attribute, ObjectClass
from softhsm import PIN, SoftHsm, softhsm

from signer_app.crypto import cms
from signer_app.crypto.errors import InvalidInput
from signer_app.crypto.identity import Purpose, identity_of
from signer_app.crypto.pkcs11 import Pkcs11Token, load_module
from signer_app.service import token_reissue
from signer_app.service.ca_client import CaClient, Issued
from signer_app.service.errors import CaRefused, CaUnavailable, TokenReissuePending

__all__ = ["softhsm"]  # fixture, used by name

CITIZEN = "850101300124"
DOWN = "http://127.0.0.1:9"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "qalam-home"


@pytest.fixture
def kaztoken(softhsm: SoftHsm, demo: dict[str, Any]) -> SoftHsm:
    """The citizen's token with their current AUTH key on it."""
    softhsm.init_token("kaztoken")
    softhsm.import_entry("kaztoken", demo["citizen_auth"].open(), b"\x01")
    softhsm.activate()
    return softhsm


def _open(hsm: SoftHsm, label: str = "kaztoken") -> Pkcs11Token:
    return load_module(hsm.lib).login(PIN, label, storage="AKKaztokenStore", rw=True)


def _key_ids(store: Pkcs11Token) -> set[bytes]:
    def read(session: Any) -> set[bytes]:
        wanted = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        return {bytes(key[Attribute.ID]) for key in session.get_objects(wanted)}

    return store.use_session("list", read)


def _certificate_ders(session: Any) -> set[bytes]:
    wanted = {Attribute.CLASS: ObjectClass.CERTIFICATE}
    return {bytes(cert[Attribute.VALUE]) for cert in session.get_objects(wanted)}


def serial_of(certificate: Any) -> str:
    return f"{certificate.serial_number:040x}"


@pytest.fixture
def blank(softhsm: SoftHsm) -> SoftHsm:
    """A new token from the PSC's drawer: initialised, nothing on it."""
    softhsm.init_token("kaztoken")
    softhsm.activate()
    return softhsm


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_psc_code_puts_new_keys_and_their_certificates_on_a_new_token(
    ca: LiveCa, demo: dict[str, Any], blank: SoftHsm, data_dir: Path, kind: str
) -> None:
    client = CaClient(ca.url)
    steps: list[str] = []
    with _open(blank) as store:
        done = token_reissue.with_code(
            client, data_dir, store, CITIZEN, issue_code(ca, demo), kind=kind, step=steps.append
        )
        assert (done.storage, done.serial) == ("AKKaztokenStore", store.info.serial)
        assert done.ca_certificates_written == 2
        new = {e.certificate: e for e in store.entries()}
        assert set(new) == {done.auth, done.sign}
        assert {identity_of(c).purpose for c in new} == {Purpose.AUTH, Purpose.SIGN}
        for entry in new.values():
            assert identity_of(entry.certificate).iin == CITIZEN
            assert len(entry.chain) == 2  # issuing CA and root, written to the token too
            assert entry.alias.startswith(("AUTH 850101300124 ", "SIGN 850101300124 "))
        signed = cms.sign(b"the first document", new[done.sign])
        assert cms.verify(signed).valid
    old = demo["citizen_auth"].open().certificate
    assert client.certificate_status(serial_of(old))["status"] == "revoked"  # superseded
    assert token_reissue.pending_files(data_dir) == []
    assert steps == [
        "generating keys on the token",
        "signing the requests on the token",
        "asking the certification centre",
        "writing the certificates to the token",
    ]


def test_a_refused_code_takes_the_new_pairs_off_the_token(
    ca: LiveCa, kaztoken: SoftHsm, data_dir: Path
) -> None:
    with _open(kaztoken) as store:
        before = _key_ids(store)
        with pytest.raises(CaRefused) as refused:
            token_reissue.with_code(CaClient(ca.url), data_dir, store, CITIZEN, "WRONG-CODE-0000")
        assert refused.value.ca_code == "code_invalid"
        assert _key_ids(store) == before
    assert token_reissue.pending_files(data_dir) == []


def test_an_unreachable_ca_keeps_the_pairs_and_the_same_code_finishes_later(
    ca: LiveCa, demo: dict[str, Any], kaztoken: SoftHsm, data_dir: Path
) -> None:
    code = issue_code(ca, demo)
    with _open(kaztoken) as store:
        before = _key_ids(store)
        with pytest.raises(CaUnavailable):
            token_reissue.with_code(CaClient(DOWN), data_dir, store, CITIZEN, code)
        (path,) = token_reissue.pending_files(data_dir)
        pending = token_reissue.TokenPending.read(path)
        # The file says where the keys are, and holds no secret.
        assert (pending.serial, pending.storage) == (store.info.serial, "AKKaztokenStore")
        assert _key_ids(store) == before | {pending.auth_id, pending.sign_id}
        assert PIN not in path.read_text()
        assert path.stat().st_mode & 0o077 == 0
        with pytest.raises(TokenReissuePending) as waiting:
            token_reissue.with_code(CaClient(ca.url), data_dir, store, CITIZEN, code)
        assert "kaztoken" in waiting.value.message("en")
        with pytest.raises(InvalidInput, match="give the code again"):
            token_reissue.resume(CaClient(ca.url), path, store)
        done = token_reissue.resume(CaClient(ca.url), path, store, code=code)
        assert (done.auth_id, done.sign_id) == (pending.auth_id, pending.sign_id)
        assert len(store.entries()) == 3
    assert not path.exists()


class LostAnswer(CaClient):
    """The CA issues, then the connection drops before the answer arrives."""

    def enroll(self, *args: Any, **kwargs: Any) -> Issued:
        super().enroll(*args, **kwargs)
        raise CaUnavailable("connection reset", url=self.base_url)


def test_a_lost_answer_is_recovered_by_the_keys_identifiers(
    ca: LiveCa, demo: dict[str, Any], kaztoken: SoftHsm, data_dir: Path
) -> None:
    with _open(kaztoken) as store:
        with pytest.raises(CaUnavailable):
            token_reissue.with_code(
                LostAnswer(ca.url), data_dir, store, CITIZEN, issue_code(ca, demo)
            )
        (path,) = token_reissue.pending_files(data_dir)
    with _open(kaztoken) as later:  # another day, another session
        done = token_reissue.resume(CaClient(ca.url), path, later)
        assert done.sign in [e.certificate for e in later.entries()]


def test_resuming_on_another_token_is_refused_and_keeps_the_record(
    ca: LiveCa, demo: dict[str, Any], kaztoken: SoftHsm, data_dir: Path
) -> None:
    kaztoken.init_token("someone-else")
    kaztoken.activate()
    with _open(kaztoken) as store, pytest.raises(CaUnavailable):
        token_reissue.with_code(CaClient(DOWN), data_dir, store, CITIZEN, "CODE")
    (path,) = token_reissue.pending_files(data_dir)
    with _open(kaztoken, "someone-else") as other, pytest.raises(InvalidInput) as refused:
        token_reissue.resume(CaClient(ca.url), path, other, code=issue_code(ca, demo))
    assert "connect that one" in refused.value.message("en")
    assert path.exists()


def test_discard_takes_the_pairs_off_the_token_and_forgets_them(
    kaztoken: SoftHsm, data_dir: Path
) -> None:
    with _open(kaztoken) as store:
        before = _key_ids(store)
        with pytest.raises(CaUnavailable):
            token_reissue.with_code(CaClient(DOWN), data_dir, store, CITIZEN, "CODE")
        (path,) = token_reissue.pending_files(data_dir)
        token_reissue.discard(path, store)
        assert _key_ids(store) == before
    assert token_reissue.pending_files(data_dir) == []


def test_renewal_is_signed_by_the_auth_key_already_on_the_token(
    ca: LiveCa, demo: dict[str, Any], kaztoken: SoftHsm, data_dir: Path
) -> None:
    client = CaClient(ca.url)
    with _open(kaztoken) as store:
        current = token_reissue.current_auth_key(store)
        assert current.certificate == demo["citizen_auth"].open().certificate
        done = token_reissue.renew(client, data_dir, store, current, CITIZEN, kind="ec")
        assert identity_of(done.auth).iin == CITIZEN
        assert done.ca_certificates_written == 0  # the chain came with the old key
        assert token_reissue.current_auth_key(store).certificate == done.auth
    assert client.certificate_status(serial_of(current.certificate))["status"] == "revoked"


def test_remove_replaced_takes_off_only_the_holders_superseded_pairs(
    ca: LiveCa, demo: dict[str, Any], kaztoken: SoftHsm, data_dir: Path
) -> None:
    kaztoken.import_entry("kaztoken", demo["employee_sign"].open(), b"\x03")  # someone else's
    kaztoken.activate()
    with _open(kaztoken) as store:
        current = token_reissue.current_auth_key(store)
        done = token_reissue.renew(CaClient(ca.url), data_dir, store, current, CITIZEN)
        replaced = token_reissue.replaced_pairs(store, done)
        assert [e.certificate for e in replaced] == [current.certificate]
        assert token_reissue.remove_replaced(store, done) == replaced
        assert _key_ids(store) == {done.auth_id, done.sign_id, b"\x03"}
        assert token_reissue.replaced_pairs(store, done) == []
        on_token = store.use_session("list", _certificate_ders)
        assert current.certificate_der not in on_token  # its certificate went with it
        assert demo["employee_sign"].open().certificate_der in on_token


def test_a_token_without_an_auth_key_cannot_renew(softhsm: SoftHsm) -> None:
    softhsm.init_token("kaztoken")
    softhsm.activate()
    with _open(softhsm) as store, pytest.raises(InvalidInput) as refused:
        token_reissue.current_auth_key(store)
    assert "PSC code" in refused.value.message("en")


@pytest.mark.parametrize(
    ("iin", "kind", "words"),
    [("850101300125", "rsa", "IIN"), (CITIZEN, "gost", "key kind")],
)
def test_bad_arguments_are_refused_before_any_key_is_made(
    kaztoken: SoftHsm, data_dir: Path, iin: str, kind: str, words: str
) -> None:
    with _open(kaztoken) as store:
        before = _key_ids(store)
        with pytest.raises(InvalidInput) as refused:
            token_reissue.with_code(CaClient(DOWN), data_dir, store, iin, "c", kind=kind)
        assert words in refused.value.message("en")
        assert _key_ids(store) == before
    assert token_reissue.pending_files(data_dir) == []

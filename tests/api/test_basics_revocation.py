"""basics.sign and revocation: a key the CA says is revoked is greyed out unless
signingParams.allowRevoked; a CA that does not answer leaves the key selectable with a warning,
asked once per while (deadline + cache), never holding the chooser up."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from api_helpers import Api, approve, basics
from ca_live import LiveCa, ca_fixture  # noqa: F401 - ca is a fixture

from ca_server import authority
from signer_app.crypto.revocation import FetchFailed
from signer_app.service.key_status import RevocationChecker, TrustedCas

CERTIFIED_BASE = "http://127.0.0.1:8080"  # where the demo certificates say their CA answers


def checked_api(*answers: Any, rewrites: dict[str, str], transport: Any = None) -> Api:
    api = Api(*answers)
    service = api.dispatcher.service
    service.revocation = RevocationChecker(TrustedCas(), transport, deadline=2.0, rewrites=rewrites)
    return api


def revoke(ca: LiveCa, certificate: Any) -> None:
    serial = format(certificate.serial_number, "x")
    now = dt.datetime.now(dt.UTC)
    authority.revoke(ca.instance.db, serial, "key_compromise", actor="test", now=now)
    ca.server.config.app.state.ca.revoked([serial])


def test_a_good_key_signs_without_a_warning(demo, ca):
    api = checked_api(approve(demo["citizen_sign"]), rewrites={CERTIFIED_BASE: ca.url})
    assert api(basics())["status"] is True
    (shown,) = api.prompter.of_kind("confirm")
    assert shown.warnings == ()


def test_a_revoked_key_is_greyed_and_allow_revoked_signs_with_it(demo, ca):
    key = demo["citizen_sign"]
    revoke(ca, key.open().certificate)
    api = checked_api(approve(key), rewrites={CERTIFIED_BASE: ca.url})
    assert api(basics(locale="en")) == {"status": True, "body": {}}
    refused = api.prompter.of_kind("key_refused")
    assert refused
    assert {r.reasons[0].code for r in refused} == {"refused.revoked"}
    assert refused[0].reasons[0].startswith("the certificate was revoked on ")
    assert api.prompter.of_kind("confirm") == []

    allowed = checked_api(approve(key), rewrites={CERTIFIED_BASE: ca.url})
    reply = allowed(basics(signingParams={"decode": True, "allowRevoked": "true"}))
    assert reply["status"] is True, reply
    assert allowed.prompter.of_kind("key_refused") == []


def test_a_dead_ca_leaves_the_key_selectable_with_a_warning_and_is_asked_once(demo):
    dead = "http://127.0.0.1:9"  # discard port: nothing listens, the connection is refused
    api = checked_api(
        approve(demo["citizen_sign"]),
        approve(demo["citizen_sign"]),
        rewrites={CERTIFIED_BASE: dead},
    )
    checker = api.dispatcher.service.revocation
    assert api(basics())["status"] is True
    (shown,) = api.prompter.of_kind("confirm")
    assert [w.code for w in shown.warnings] == ["warning.revocation_unknown"]
    assert api(basics())["status"] is True
    assert len(checker._answers) == 1  # the unknown answer is kept for a while


class Blackhole:
    """A CA that never answers: each request waits until the test ends."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def get(self, url: str) -> tuple[bytes, str]:
        self.calls += 1
        self.release.wait(30)
        raise FetchFailed(f"{url}: timed out")

    def post(self, url: str, body: bytes, content_type: str) -> tuple[bytes, str]:
        return self.get(url)


@pytest.fixture
def blackhole():
    hole = Blackhole()
    yield hole
    hole.release.set()


def test_a_ca_that_never_answers_costs_one_deadline_then_nothing(demo, blackhole):
    api = Api(approve(demo["citizen_sign"]), approve(demo["citizen_sign"]))
    api.dispatcher.service.revocation = RevocationChecker(
        TrustedCas(), blackhole, deadline=0.2, rewrites={}
    )
    # Would hang for 30 s per request if the deadline were not kept.
    assert api(basics())["status"] is True
    asked = blackhole.calls
    assert api(basics())["status"] is True
    assert blackhole.calls == asked  # the second request did not ask the dead CA again
    warnings = [v.warnings for v in api.prompter.of_kind("confirm")]
    assert [[w.code for w in ws] for ws in warnings] == [["warning.revocation_unknown"]] * 2

"""Revocation fetching: OCSP first with a nonce, a replayed OCSP answer refused, CRL fallback,
the cache reused while fresh, URL rewrites, and a dead responder reported as unknown."""

from __future__ import annotations

import pytest
from validation_helpers import CERTIFIED_BASE, RunningCa, demo_anchors

from signer_app.crypto import cms
from signer_app.crypto.errors import InvalidInput
from signer_app.crypto.revocation import FetchFailed, RevocationCache, parse_rewrites, rewrite_url
from signer_app.crypto.validation import TOTAL_PASSED, Fetching, validate_cms
from signer_app.service.http_fetch import HttpTransport


class Recording:
    """A transport over HttpTransport that counts requests and can replay the first OCSP answer."""

    def __init__(self, replay_ocsp: bool = False) -> None:
        self.inner = HttpTransport(timeout=5)
        self.replay_ocsp = replay_ocsp
        self.first_ocsp: bytes | None = None
        self.posts: list[str] = []
        self.gets: list[str] = []

    def get(self, url: str) -> tuple[bytes, str]:
        self.gets.append(url)
        return self.inner.get(url)

    def post(self, url: str, body: bytes, content_type: str) -> tuple[bytes, str]:
        self.posts.append(url)
        answer = self.inner.post(url, body, content_type)
        if self.first_ocsp is None:
            self.first_ocsp = answer[0]
        elif self.replay_ocsp:
            return self.first_ocsp, answer[1]
        return answer


def test_rewrites_use_the_longest_prefix() -> None:
    rewrites = {"http://a": "http://x", "http://a/ocsp": "http://y/o"}
    assert rewrite_url("http://a/ocsp/1", rewrites) == "http://y/o/1"
    assert rewrite_url("http://a/crl/nac.crl", rewrites) == "http://x/crl/nac.crl"
    assert rewrite_url("http://b/", rewrites) == "http://b/"


@pytest.mark.parametrize("bad", ["no-equals", "ftp://a=http://b", "http://a=", "http://a=b"])
def test_bad_rewrites_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_rewrites([bad])


def test_a_warm_cache_asks_nothing_again(bundled_ca: RunningCa, citizen_sign) -> None:
    transport = Recording()
    fetching = Fetching(transport, RevocationCache(), bundled_ca.rewrites)
    signature = cms.sign(b"x", citizen_sign)
    first = validate_cms(signature, anchors=demo_anchors(), fetching=fetching)
    assert first.indication == TOTAL_PASSED
    asked = (len(transport.posts), len(transport.gets))
    assert asked[0] >= 1  # OCSP
    assert all(url.startswith(bundled_ca.url) for url in transport.posts + transport.gets)
    second = validate_cms(signature, anchors=demo_anchors(), fetching=fetching)
    assert second.indication == TOTAL_PASSED
    assert (len(transport.posts), len(transport.gets)) == asked


def test_a_replayed_ocsp_answer_is_refused_and_the_crl_decides(
    bundled_ca: RunningCa, citizen_sign, demo
) -> None:
    transport = Recording(replay_ocsp=True)
    fetching = Fetching(transport, RevocationCache(), bundled_ca.rewrites)
    validate_cms(cms.sign(b"x", citizen_sign), anchors=demo_anchors(), fetching=fetching)
    # another certificate, answered with the first answer (other nonce, other CertID)
    report = validate_cms(
        cms.sign(b"x", demo["ceo_sign"].open()), anchors=demo_anchors(), fetching=fetching
    )
    assert report.signers[0].revocation is not None
    assert report.signers[0].revocation.source == "crl"
    assert report.signers[0].revocation.status == "good"


def test_a_closed_port_is_a_fetch_failure_naming_the_url() -> None:
    from tsa_helpers import closed_port_url

    url = closed_port_url()
    with pytest.raises(FetchFailed, match=r"127\.0\.0\.1"):
        HttpTransport(timeout=2).get(url)


def test_rewrites_map_the_certified_base(bundled_ca: RunningCa) -> None:
    assert rewrite_url(f"{CERTIFIED_BASE}/ocsp", bundled_ca.rewrites) == f"{bundled_ca.url}/ocsp"

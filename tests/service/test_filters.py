"""Key filters speak in codes: every reason in kk/ru/en from one table, and chain null means the
trust store's CAs (built offline from the key file and the store's intermediates)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from signer_app.crypto.identity import Purpose
from signer_app.service.filters import (
    BinFilter,
    Candidate,
    ChainFilter,
    ExtKeyUsageFilter,
    IinFilter,
    PurposeFilter,
    SerialFilter,
    ValidityFilter,
    filters_for,
    refusals,
)
from signer_app.service.key_status import (
    LANGUAGES,
    REASONS,
    CaSet,
    Reason,
    TrustedCas,
    localized,
    placeholders,
)
from signer_app.service.trust_store import TrustStore


@pytest.mark.parametrize("code", sorted(REASONS))
def test_each_reason_reads_in_all_three_languages_with_the_same_blanks(code):
    texts = dict(zip(LANGUAGES, REASONS[code], strict=True))
    assert set(texts) == {"en", "ru", "kk"}
    for language, text in texts.items():
        assert text.strip(), f"{code} has no {language} text"
    assert placeholders(texts["ru"]) == placeholders(texts["en"]) == placeholders(texts["kk"])
    assert texts["ru"] != texts["en"]
    assert texts["kk"] != texts["ru"]


def test_a_reason_is_its_english_sentence_and_speaks_the_asked_language():
    reason = Reason("refused.expired", date="2025-01-31")
    assert reason == "the certificate expired on 2025-01-31"
    assert reason.code == "refused.expired"
    assert reason.params == {"date": "2025-01-31"}
    assert reason.text("ru") == "срок действия сертификата истёк 2025-01-31"
    assert reason.text("kk") == "сертификаттың мерзімі 2025-01-31 аяқталды"
    assert reason.text("xx") == reason.text("kk")  # NCALayer's default language
    assert localized(reason, "ru") == reason.text("ru")
    assert localized("plain text", "ru") == "plain text"


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(KeyError):
        Reason("refused.no_such_thing")


def _every_filter(demo):
    cas = TrustedCas().current()
    return [
        PurposeFilter(Purpose.AUTH),
        ExtKeyUsageFilter(("1.2.398.3.3.4.1.2.1",)),
        IinFilter("000000000000"),
        BinFilter("940140000385"),
        SerialFilter("abc"),
        ValidityFilter(),
        ChainFilter(tuple(demo["civil_servant_sign"].open().chain[-1:])),
        ChainFilter.to_trusted(CaSet(cas.anchors[1:], ())),
    ]


def test_every_filter_describes_and_refuses_with_codes(demo):
    filters = _every_filter(demo)
    candidate = Candidate.of(demo["citizen_sign"].open(), datetime(2099, 1, 1, tzinfo=UTC))
    assert all(isinstance(f.description, Reason) for f in filters)
    found = refusals(filters, candidate)
    assert [r.code for r in found] == [
        "refused.purpose",
        "refused.eku",
        "refused.iin",
        "refused.bin",
        "refused.serial",
        "refused.expired",
        "refused.chain",
        "refused.untrusted",
    ]
    for reason in found:
        assert len({reason.text(language) for language in LANGUAGES}) == 3, reason.code


def test_chain_null_accepts_a_demo_key_through_the_stores_intermediates(demo):
    entry = demo["citizen_sign"].open()
    cas = TrustedCas().current()
    # The key file without its chain: the issuing CA must come from the trust store.
    bare = Candidate.of(dataclasses.replace(entry, chain=()))
    (trusted,) = [f for f in filters_for(chain=None, trusted=cas) if isinstance(f, ChainFilter)]
    assert trusted.description.code == "filter.trusted"
    assert trusted.refusal(bare) is None
    assert ChainFilter.to_trusted(CaSet(cas.anchors, ())).refusal(bare) is not None


def test_chain_empty_or_no_trusted_cas_filters_nothing(demo):
    cas = TrustedCas().current()
    assert not any(isinstance(f, ChainFilter) for f in filters_for(chain=[], trusted=cas))
    assert not any(isinstance(f, ChainFilter) for f in filters_for(chain=None))


def test_trusted_cas_follow_the_store_file(demo, tmp_path):
    store = TrustStore(tmp_path)
    trusted = TrustedCas(store)
    first = trusted.current()
    assert trusted.current() is first  # not read again while the file is unchanged
    store.remove(store.anchors()[0].sha256[:16])
    second = trusted.current()
    assert len(second.anchors) == len(first.anchors) - 1

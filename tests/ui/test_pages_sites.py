"""Sites page: blocked sites can be unblocked or forgotten; the request log is readable."""

from __future__ import annotations

from datetime import UTC, datetime

from pages_support import context_fixture  # noqa: F401

from signer_app.service.request_log import LoggedRequest, RequestLog
from signer_app.ui.context import AppContext
from signer_app.ui.pages.sites import SitesPage

SITE = "https://portal.example.kz"


def test_unblock_and_forget_a_site(qtbot, context: AppContext) -> None:
    context.origins.block(SITE)
    page = SitesPage(context)
    qtbot.addWidget(page)
    assert page.permissions.item(0, 0).text() == SITE
    assert page.permissions.item(0, 1).text() == "blocked"
    page.select(SITE)
    assert page.unblock_button.isEnabled()
    page.unblock_button.click()
    assert context.origins.decision(SITE) == "ask"
    assert page.permissions.item(0, 1).text() == "asks every time"
    page.select(SITE)
    page.forget_button.click()
    assert context.origins.entries() == {}
    assert page.permissions.rowCount() == 0


def test_the_request_log_is_shown_in_plain_words(qtbot, context: AppContext) -> None:
    log = RequestLog(context.data_dir)
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    log.record(LoggedRequest(moment, SITE, "cms", 2, "SULTANOV ALI", "done"))
    log.record(LoggedRequest(moment, None, "xml", 1, None, "failed", "wrong_password"))
    page = SitesPage(context)
    qtbot.addWidget(page)
    rows = [
        [page.requests.item(r, c).text() for c in range(5)] for r in range(page.requests.rowCount())
    ]
    assert rows[0][1:] == [
        "this computer",
        "XML signature, 1 document(s)",
        "",
        "failed (wrong_password)",
    ]
    assert rows[1][1:] == [SITE, "CMS signature, 2 document(s)", "SULTANOV ALI", "done"]
    context.translator.set_language("ru")
    assert page.requests.item(1, 4).text() == "выполнен"

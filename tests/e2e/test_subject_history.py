"""The subject's audit trail and the investigator's "Awaiting your signature" card in Chromium,
at 1280 px, in English and Chinese (issue 11 C9, C16)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.sessions import signed_in
from tests.factories import enrol, make_subject
from tests.subjects.test_dashboard import adverse_events, on_treatment, screened

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUMMARY = {"en": "53 visits planned", "zh-hans": "已计划 53 次访视"}
CARD = {"en": "Awaiting your signature", "zh-hans": "待您签名"}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_trail_folds_the_schedule_and_filters(
    browser, live_server, coordinator_a, investigator_a, site_a, lang
):
    subject = enrol(make_subject(site_a, coordinator_a, initials="ZWL"), by=coordinator_a)
    context, page = signed_in(browser, live_server.url, coordinator_a, lang=lang)
    try:
        page.goto(live_server.url + reverse("subjects:history", args=[subject.pk]))
        fold = page.locator("tr.audit-fold details")
        expect(fold).to_have_count(1)
        expect(fold.locator("summary")).to_contain_text(SUMMARY[lang])
        expect(fold.locator("li").first).not_to_be_visible()
        fold.locator("summary").click()
        expect(fold.locator("li")).to_have_count(53)
        expect(fold.locator("li").first).to_be_visible()
        expect(page.locator(".audit-value").first).to_be_visible()  # a created row's values
        assert no_sideways_scroll(page)
        screenshot(page, f"subject-history-{lang}-1280")

        page.select_option("#f-kind", "changed")
        page.locator("#history-filters button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"kind=changed"))
        expect(page.locator("tr.audit-fold")).to_have_count(0)
        expect(page.locator("#history tbody tr")).to_have_count(1)  # the enrolment itself
        screenshot(page, f"subject-history-filtered-{lang}-1280")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_investigator_sees_what_awaits_their_signature(
    browser, live_server, coordinator_a, investigator_a, site_a, lang
):
    screened(site_a, coordinator_a, n=2)
    adverse_events(on_treatment(site_a, coordinator_a), coordinator_a, serious=True)
    context, page = signed_in(browser, live_server.url, investigator_a, lang=lang)
    try:
        page.goto(live_server.url + reverse("home"))
        card = page.locator("#awaiting-signature")
        expect(card).to_contain_text(CARD[lang])
        expect(card.locator("#awaiting-eligibility a")).to_have_count(2)
        expect(card.locator("#awaiting-causality a")).to_have_count(1)
        assert no_sideways_scroll(page)
        screenshot(page, f"dashboard-awaiting-signature-{lang}-1280")
        card.locator("#awaiting-eligibility a").first.click()
        expect(page).to_have_url(re.compile(r"/screening/"))
    finally:
        context.close()

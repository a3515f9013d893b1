"""End to end in headless Chromium (issue 14 section 1): on the AE page and on a visit CRF
page, a field with an open query shows a badge with the count; clicking it opens the
query's thread in place (htmx), with the author, role, text and site time + UTC."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from crfs import services as crfs
from queries import services as queries
from safety import services as safety
from safety.models import CtcaeTerm
from tests.e2e.conftest import screenshot
from tests.e2e.sessions import signed_in
from tests.factories import enrol, make_subject
from tests.safety.conftest import ensure_ctcae

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_badge_opens_the_thread_in_place(
    browser, live_server, site_a, coordinator_a, monitor_a
):
    ensure_ctcae()
    today = site_a.today()
    subject = make_subject(site_a, coordinator_a, consent_date=today - dt.timedelta(days=10))
    subject = enrol(
        subject,
        by=coordinator_a,
        on_date=today - dt.timedelta(days=2),
        c1d1=today + dt.timedelta(days=3),
    )
    ae = safety.record_ae(
        subject=subject,
        by=coordinator_a,
        term=CtcaeTerm.objects.get(term="Headache"),
        grade=1,
        onset_date=today - dt.timedelta(days=2),
        outcome="recovered",
        end_date=today - dt.timedelta(days=1),
    )
    scr = subject.visits.get(code="SCR")
    exam = crfs.save_crf(
        visit=scr,
        form_key="physical_exam",
        by=coordinator_a,
        values={"assessed_on": today - dt.timedelta(days=3), "result": "normal", "findings": ""},
    )
    for label, pk, field, text in (
        ("safety.adverseevent", ae.pk, "onset_date", "The source gives an earlier onset?"),
        ("crfs.physicalexam", exam.pk, "result", "The source notes a rash?"),
    ):
        queries.raise_query(
            user=monitor_a,
            subject=subject,
            record_type=label,
            record_id=pk,
            field=field,
            text=text,
        )
    context, page = signed_in(browser, live_server.url, coordinator_a)
    try:
        page.goto(f"{page.base}/subjects/{subject.pk}/adverse-events/{ae.pk}/")
        badge = page.locator('#ae-query-badges [data-field="onset_date"] .query-badge')
        # the monitor's query and the edit check's (onset before the first dose)
        expect(badge).to_contain_text("2")
        badge.click()
        thread = page.locator("#ae-query-badges .field-thread")
        expect(thread).to_contain_text("The source gives an earlier onset?")
        expect(thread).to_contain_text("before the first dose of anlotinib")
        expect(thread).to_contain_text("UTC")
        screenshot(page, "query-thread-in-place-ae")

        page.goto(f"{page.base}/subjects/{subject.pk}/visits/{scr.pk}/crfs/physical_exam/")
        badge = page.locator('[data-field="result"] .query-badge')
        expect(badge).to_be_visible()
        badge.click()
        expect(page.locator(".field-thread")).to_contain_text("The source notes a rash?")
        screenshot(page, "query-thread-in-place-crf")
    finally:
        context.close()

"""End to end in headless Chromium (issue 14 "What must be shown"): a monitor raises a query
on an AE onset date; the coordinator corrects the date with a reason and answers; the monitor
closes the query and verifies the form; the investigator signs the casebook; the data manager
locks the subject; the coordinator then sees the form read only, and a page opened before the
lock is refused with a clear message, nothing stored."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crfs import services as crfs
from monitoring.models import Hold, SdvMark, Signature
from queries.models import Query
from safety import services as safety
from safety.models import AdverseEvent, CtcaeTerm
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSWORD, enrol, make_subject
from tests.safety.conftest import ensure_ctcae

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shots(page, name):
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1366, "height": 900})


def sign_out(page):
    page.click("text=Sign out")


def test_query_sdv_signature_and_lock(
    page, browser, site_a, coordinator_a, investigator_a, monitor_a, data_manager
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
    vitals = crfs.save_crf(
        visit=scr,
        form_key="vital_signs",
        by=coordinator_a,
        values={
            "assessed_on": today - dt.timedelta(days=3),
            "systolic": 124,
            "diastolic": 80,
            "heart_rate": 72,
            "temperature": Decimal("36.6"),
            "weight": Decimal("64.0"),
            "height": Decimal("162.0"),
            "not_done_reason": "",
        },
    )
    ae_url = f"{page.base}/subjects/{subject.pk}/adverse-events/{ae.pk}/"
    correct_onset = today - dt.timedelta(days=3)

    # 1. the monitor raises a query on the AE onset date
    login(page, "monitor_a", PASSWORD)
    page.goto(ae_url)
    page.click("#ae-query-badges .raise-query")
    page.select_option("#id_field", "onset_date")
    page.fill("#id_text", "The clinic note dates the first headache one day earlier.")
    page.fill("#id_suggested_value", correct_onset.isoformat())
    page.click("#raise-form button[type=submit]")
    query = Query.objects.get(record_type="safety.adverseevent", record_id=ae.pk, origin="manual")
    assert (query.field, query.status) == ("onset_date", "open")
    shots(page, "e2e-monitoring-1-query-raised")
    sign_out(page)

    # 2. the coordinator corrects the date with a reason, then answers
    login(page, "coord_a", PASSWORD)
    page.goto(ae_url)
    expect(page.locator("#ae-query-badges")).to_contain_text("onset")
    page.fill("#id_onset_date", correct_onset.isoformat())
    page.fill("#id_reason", "Onset corrected from the clinic note (query)")
    page.click("#save-ae")
    assert AdverseEvent.objects.get(pk=ae.pk).onset_date == correct_onset
    page.goto(f"{page.base}/queries/{query.pk}/")
    form = page.locator("form.query-action[data-action=answer]")
    form.locator("textarea[name=text]").fill("Corrected to the clinic note's date.")
    form.locator("button[type=submit]").click()
    expect(page.locator("#query-status")).to_have_attribute("data-status", "answered")
    shots(page, "e2e-monitoring-2-answered")
    sign_out(page)

    # 3. the monitor closes the query and verifies the AE form
    login(page, "monitor_a", PASSWORD)
    page.goto(f"{page.base}/queries/{query.pk}/")
    page.locator("form.query-action[data-action=close] button[type=submit]").click()
    expect(page.locator("#query-status")).to_have_attribute("data-status", "closed")
    page.goto(ae_url)
    page.click("#monitoring-link")
    page.click("#verify-all")
    expect(page.locator("#sdv-state")).to_have_attribute("data-state", "verified")
    assert SdvMark.objects.filter(record_id=ae.pk, state="verified").count() >= 1
    shots(page, "e2e-monitoring-3-verified")
    sign_out(page)

    # 4. the investigator signs the casebook
    login(page, "inv_a", PASSWORD)
    page.goto(f"{page.base}/monitoring/subjects/{subject.pk}/casebook/sign/")
    expect(page.locator("#attestation")).to_be_visible()
    shots(page, "e2e-monitoring-4-casebook-sheet")
    page.fill("#id_password", PASSWORD)
    page.click("#sign-submit")
    expect(page.locator("#casebook-signature")).to_contain_text("Casebook signed")
    assert Signature.objects.get(level="casebook", voided_at__isnull=True)
    sign_out(page)

    # the coordinator opens the vital signs before the lock, on another computer (left open)
    form_url = f"{page.base}/subjects/{subject.pk}/visits/{scr.pk}/crfs/vital_signs/"
    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    stale = other.new_page()
    stale.base = page.base
    login(stale, "coord_a", PASSWORD)
    stale.goto(form_url)

    # 5. the data manager locks the subject
    login(page, "dm", PASSWORD)
    page.goto(f"{page.base}/monitoring/subjects/{subject.pk}/")
    page.fill("#hold-reason-subject", "Casebook signed: subject locked for the interim analysis")
    page.click("#hold-form-subject button[value=lock]")
    expect(page.locator('[data-hold="lock"]').first).to_be_visible()
    assert Hold.objects.filter(level="subject", kind="lock", lifted_at=None).exists()
    shots(page, "e2e-monitoring-5-locked")
    sign_out(page)

    # 6. the coordinator: the form is read only; the stale tab's change is refused
    login(page, "coord_a", PASSWORD)
    page.goto(form_url)
    expect(page.locator("#held-banner")).to_contain_text("Locked")
    expect(page.locator("#read-only-held")).to_be_visible()
    expect(page.locator("#id_systolic")).to_be_disabled()
    shots(page, "e2e-monitoring-6-read-only")
    stale.fill("#id_systolic", "150")
    stale.fill("#id_reason", "typo")
    stale.click("#save-crf")
    expect(stale.locator("#form-errors")).to_contain_text("locked")
    expect(stale.locator("#form-errors")).to_contain_text("interim analysis")
    screenshot(stale, "e2e-monitoring-7-refused")
    vitals.refresh_from_db()
    assert vitals.systolic == 124
    # the casebook signature survived the lock (nothing changed)
    assert Signature.objects.get(level="casebook").voided_at is None
    other.close()

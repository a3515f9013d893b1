"""End to end in headless Chromium: a coordinator registers a subject and sees the timeline."""

import datetime as dt

import pytest

from subjects.models import Subject
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_coordinator_registers_a_subject_and_sees_the_timeline(page, site_a, coordinator_a):
    today = site_a.today()
    consent = today - dt.timedelta(days=2)
    login(page, "coord_a", PASSWORD)
    page.wait_for_selector("text=Dashboard")

    page.click("text=Register subject")
    page.select_option("#id_sex", "F")
    page.fill("#id_date_of_birth", "1979-03-08")
    page.fill("#id_initials", "zwl")  # lower case is accepted and stored upper case
    page.fill("#id_consent_date", consent.isoformat())
    page.fill("#id_consent_version", "2.1")
    page.click("button[type=submit]")

    page.wait_for_selector("#timeline")
    assert page.inner_text("#subject-title") == "GZ01-S001"
    assert "Screening" in page.inner_text("#subject-status")
    scr = page.locator("#timeline li[data-code=SCR]")
    # Screening window by hand: consent date to consent + 28 days.
    window = f"{consent.isoformat()} – {(consent + dt.timedelta(days=28)).isoformat()}"
    assert window in scr.inner_text()
    screenshot(page, "e2e-registered-subject")

    subject = Subject.objects.get()
    assert (subject.initials, subject.created_by_id) == ("ZWL", coordinator_a.pk)


def test_bad_registration_shows_the_message_by_the_field(page, site_a, coordinator_a):
    login(page, "coord_a", PASSWORD)
    page.goto(page.base + "/subjects/register/")
    page.select_option("#id_sex", "M")
    tomorrow = site_a.today() + dt.timedelta(days=1)
    page.fill("#id_date_of_birth", tomorrow.isoformat())
    page.fill("#id_initials", "AB")
    page.fill("#id_consent_date", site_a.today().isoformat())
    page.fill("#id_consent_version", "2.1")
    page.click("button[type=submit]")
    error = page.locator("#div_id_date_of_birth .invalid-feedback")
    assert "cannot be in the future" in error.inner_text()
    screenshot(page, "e2e-registration-error")
    assert Subject.objects.count() == 0

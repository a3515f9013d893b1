"""End to end in headless Chromium: a reduction for an adverse event changes the calendar and
the patient's diary PDF."""

import datetime as dt
import subprocess

import pytest

from subjects import services as subject_services
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSWORD, enrol, make_subject

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_coordinator_records_a_reduction_and_the_calendar_and_diary_follow(
    page, site_a, coordinator_a
):
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=3)  # C1 day 4 is today
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=today - dt.timedelta(10))
    subject = enrol(subject, by=coordinator_a, on_date=today - dt.timedelta(days=5), c1d1=c1d1)
    subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/")
    page.click("#dosing-link")
    assert page.inner_text("#dose-now") == "12 mg"
    cell = page.locator(f'#cycle-view td[data-date="{today.isoformat()}"]')
    assert cell.get_attribute("data-dose") == "12"

    page.select_option("#id_event-kind", "reduction")
    page.fill("#id_event-start", today.isoformat())
    page.select_option("#id_event-dose_mg", "10")
    page.select_option("#id_event-reason", "toxicity")
    page.fill("#id_event-detail", "Hypertension grade 3")
    page.click("#save-event")
    page.wait_for_selector("text=Dose modification recorded.")

    # From today on, C1 days 4-14 are 10 mg; yesterday (day 3) stays 12 mg.
    assert page.inner_text("#dose-now") == "10 mg"
    assert cell.get_attribute("data-dose") == "10"
    yesterday = page.locator(f'#cycle-view td[data-date="{(today - dt.timedelta(1)).isoformat()}"]')
    assert yesterday.get_attribute("data-dose") == "12"
    assert "Hypertension grade 3" in page.inner_text("#events")
    screenshot(page, "e2e-dosing-reduced")

    # The diary covers the next cycle (C2 = C1D1 + 21 days): 14 days at 10 mg, 7 rest days.
    response = page.request.get(f"{page.base}/subjects/{subject.pk}/dosing/diary.pdf")
    assert response.headers["content-type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.body(), capture_output=True, check=True
    ).stdout.decode()
    c2 = c1d1 + dt.timedelta(days=21)
    assert "cycle 2" in text.lower()
    assert c2.isoformat() in text
    assert text.count("10 mg") == 14 and "12 mg" not in text
    assert text.count("rest day") == 7


def test_a_typing_slip_in_a_number_is_refused_by_its_field_not_sent_as_blank(
    page, site_a, coordinator_a
):
    """Issue 11 C.3: as ``type="number"`` Chromium sent "21O" as empty; now the server
    sees what was typed and says so beside the field, and nothing is stored."""
    today = site_a.today()
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=today - dt.timedelta(10))
    subject = enrol(subject, by=coordinator_a, on_date=today - dt.timedelta(days=5), c1d1=today)
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/dosing/accountability/")
    assert page.get_attribute("#id_disp-capsules", "type") == "text"
    assert page.get_attribute("#id_disp-capsules", "inputmode") == "numeric"
    page.fill("#id_disp-dispensed_on", today.isoformat())
    page.fill("#id_disp-lot_number", "LOT-1")
    page.fill("#id_disp-expiry", (today + dt.timedelta(days=365)).isoformat())
    page.fill("#id_disp-capsules", "21O")
    page.click("form button[type=submit]")

    error = page.locator("#id_disp-capsules ~ .invalid-feedback, #error_1_id_disp-capsules")
    assert "whole number" in error.first.inner_text()
    assert page.input_value("#id_disp-capsules") == "21O"  # kept as typed, to correct
    assert not subject.dispensings.exists()
    screenshot(page, "e2e-number-typing-slip")

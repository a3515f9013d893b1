"""End to end in headless Chromium: screening, live verdict, signature, enrolment, failure."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from eligibility.demo import add_reference_ranges, eligible_screening_data
from eligibility.models import EligibilitySignature, Screening
from subjects.models import StatusChange
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSWORD, make_subject

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SELECTS = {
    "ecog",
    "histology",
    "disease_status",
    "brain_metastases",
    "best_response",
    "radiotherapy_type",
    "hb_unit",
    "creatinine_unit",
    "bun_unit",
    "bilirubin_unit",
    "albumin_unit",
    "fasting_glucose_unit",
    "urine_protein_dipstick",
    "pregnancy_test_type",
    "pregnancy_test_result",
}


def fill_screening(page, data: dict) -> None:
    """Type the screening as a coordinator would: radios clicked, menus chosen, fields typed."""
    for name, value in data.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            page.check(f"input[name={name}][value={value}]")
        elif name in SELECTS:
            page.select_option(f"#id_{name}", str(value))
        elif isinstance(value, dt.date):
            page.fill(f"#id_{name}", value.isoformat())
        elif isinstance(value, Decimal | int):
            page.fill(f"#id_{name}", str(value))
        else:
            page.fill(f"#id_{name}", value)


def logout(page):
    page.click("text=Sign out")
    page.wait_for_selector("#id_username")


PENDING = "Eligible pending the investigator's attestation"


def test_coordinator_screens_investigator_signs_and_the_subject_is_enrolled(
    page, site_a, coordinator_a, investigator_a
):
    add_reference_ranges(site_a)
    subject = make_subject(site_a, coordinator_a, initials="ZWL")
    data = eligible_screening_data(subject)
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/screening/")
    assert page.inner_text("#verdict-badge") == "Incomplete"  # nothing entered yet

    fill_screening(page, data)
    # the live verdict (htmx, nothing saved) turns eligible as the last answer is given
    # eligible, but the judgement criteria (I04, E11, E16) wait for the investigator
    expect(page.locator("#verdict-badge")).to_have_text(PENDING)
    assert not Screening.objects.filter(subject=subject).exists()  # live means unsaved
    page.click("#save-screening")
    page.wait_for_selector("text=Screening data saved.")
    assert page.inner_text("#verdict-badge") == PENDING
    assert page.locator("[data-pending]").count() == 3
    assert page.locator("#sign-link").count() == 0  # coordinators do not sign
    screenshot(page, "e2e-screening-eligible")
    logout(page)

    login(page, "inv_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/screening/")
    page.click("#sign-link")
    meaning = page.inner_text("#signature-meaning")
    assert meaning == "“I confirm this subject meets all eligibility criteria”"
    # the judgement criteria must be attested one by one before anything is signed
    page.fill("#id_password", PASSWORD)
    page.click("#sign-button")
    page.wait_for_selector("text=Attest each judgement criterion yourself before signing")
    assert EligibilitySignature.objects.count() == 0
    boxes = page.locator("input[name=attested_criteria]")
    assert boxes.count() == 3
    for index in range(3):
        boxes.nth(index).check()
    page.fill("#id_password", "wrong-password-1")
    page.click("#sign-button")
    page.wait_for_selector("text=The password is not correct. Nothing was signed.")
    assert EligibilitySignature.objects.count() == 0
    page.fill("#id_password", PASSWORD)
    page.click("#sign-button")
    page.wait_for_selector("#signature-valid")
    assert "I confirm this subject meets all eligibility criteria" in page.inner_text(
        "#signature-valid"
    )
    assert "UTC" in page.inner_text("#signature-valid")
    assert "I04, E11, E16" in page.inner_text("#signature-attested")
    assert page.locator("[data-attested]").count() == 3
    assert page.inner_text("#verdict-badge") == "Eligible"

    page.click("#enrol-button")  # investigators may enrol too
    page.wait_for_selector("#timeline li[data-code=C1D1]")
    assert page.inner_text("#subject-title") == "GZ01-001"
    c1d1 = data["planned_c1d1"]
    assert f"target {c1d1.isoformat()}" in page.locator("#timeline li[data-code=C1D1]").inner_text()
    screenshot(page, "e2e-enrolled-after-signature")


def test_a_failing_criterion_is_shown_live_and_recorded_as_a_screen_failure(
    page, site_a, coordinator_a
):
    add_reference_ranges(site_a)
    subject = make_subject(site_a, coordinator_a, initials="LXM", sex="M")
    # ALT 124 U/L with ULN 40 = 3.1 x ULN; limit 2.5 x ULN without liver metastases
    data = eligible_screening_data(subject, alt_value=Decimal("124"))
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/screening/")
    fill_screening(page, data)
    expect(page.locator("#verdict-badge")).to_have_text("Not eligible")
    first = page.locator("#verdict li").first  # failing criteria are listed first
    assert first.get_attribute("data-code") == "I08"
    assert "3.1 × ULN" in first.inner_text()
    page.click("#save-screening")
    page.wait_for_selector("#screen-fail-button")
    page.click("#screen-fail-button")
    page.wait_for_selector("text=Recorded as a screen failure.")
    assert "Screen failed" in page.inner_text("#subject-status")
    reason = StatusChange.objects.get(subject=subject, to_status="screen_failed").reason
    assert reason.startswith("I08:")

    page.goto(f"{page.base}/screening-log/")
    row = page.locator("#log-rows tr", has_text="GZ01-S001")
    assert "I08" in row.inner_text()
    screenshot(page, "e2e-screening-log")


def test_after_enrolment_the_monitor_reads_the_whole_screening_without_a_save_button(
    page, site_a, coordinator_a, monitor_a
):
    """Issue 11 C4: the screening form disappeared after enrolment, for every role."""
    from tests.factories import enrol

    subject = enrol(make_subject(site_a, coordinator_a, initials="RDO"), by=coordinator_a)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, monitor_a.username, PASSWORD)

    page.goto(page.base + f"/subjects/{subject.pk}/screening/")

    readonly = page.locator("#screening-readonly")
    expect(readonly).to_be_visible()
    expect(page.locator("#save-screening")).to_have_count(0)
    expect(page.locator("#id_qtc_ms")).to_be_disabled()
    expect(page.locator("#id_qtc_ms")).to_have_value(str(Screening.objects.get().qtc_ms))
    expect(page.locator("#id_planned_c1d1")).to_have_value(
        Screening.objects.get().planned_c1d1.isoformat()
    )
    expect(page.locator("#signature-valid")).to_be_visible()
    assert readonly.locator("input:enabled, select:enabled, textarea:enabled").count() == 0
    screenshot(page, "screening-read-only-after-enrolment")

"""End to end in headless Chromium (issue 13): a coordinator completes a C2D1 visit from its
visit page: vital signs with a grade 3 blood pressure (165/95 mm Hg: CTCAE v4.03 Hypertension
grade 3 is SBP >= 160 or DBP >= 100) -> the AE is offered and recorded, ECOG, the concomitant
medications review, the lab panel -> the visit turns complete on the timeline."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from crfs import services as crfs
from dosing import services as dosing_services
from subjects import services as subject_services
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSWORD, add_reference_ranges, enrol, make_subject
from tests.safety.conftest import ensure_ctcae

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def on_cycle_2(site, user):
    today = site.today()
    c1d1 = today - dt.timedelta(days=21)
    subject = make_subject(site, user, sex="M", consent_date=c1d1 - dt.timedelta(days=9))
    subject = enrol(subject, by=user, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    subject = subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=user,
        expected_version=subject.version,
    )
    c2 = subject.visits.get(code="C2D1")
    subject_services.record_visit(
        visit=c2, expected_version=c2.version, actual_date=today, missed=False, note="", by=user
    )
    return subject, subject.visits.get(code="C2D1")


def test_coordinator_completes_a_cycle_visit(page, site_a, coordinator_a):
    ensure_ctcae()
    add_reference_ranges(site_a)
    subject, c2 = on_cycle_2(site_a, coordinator_a)
    today = site_a.today()
    # entered before (not the point of this test): exam, urinalysis, AE review, dispensing
    for key, values in (
        ("physical_exam", {"result": "normal", "findings": ""}),
        (
            "urinalysis",
            {"protein_dipstick": "negative", "protein_24h": None, "not_done_reason": ""},
        ),
        ("ae_review", {"answer": "unchanged", "comment": ""}),
    ):
        crfs.save_crf(
            visit=c2,
            form_key=key,
            by=coordinator_a,
            values={"assessed_on": today} | values,
        )
    dosing_services.record_dispensing(
        subject=subject,
        by=coordinator_a,
        dispensed_on=today,
        strength_mg=12,
        lot_number="A2311",
        expiry=today + dt.timedelta(days=300),
        capsules=28,
    )

    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/")
    item = page.locator('li[data-code="C2D1"]')
    expect(item.locator(".crf-state")).to_have_attribute("data-crf-state", "incomplete")
    item.locator("a.visit-link").click()
    expect(page.locator("#visit-completeness")).to_have_attribute("data-state", "incomplete")
    screenshot(page, "e2e-visit-crfs-before")

    # vital signs: the grade appears while typing, the AE is offered once saved
    page.locator('tr[data-form="vital_signs"] a').click()
    page.fill("#id_systolic", "165")
    page.fill("#id_diastolic", "95")
    page.fill("#id_heart_rate", "82")
    page.fill("#id_temperature", "36.7")
    page.fill("#id_weight", "68.5")
    expect(page.locator('#derived [data-grade-term="Hypertension"]')).to_contain_text("3")
    screenshot(page, "e2e-visit-crfs-vitals-live")
    page.click("#save-crf")
    expect(page.locator("#ae-offers")).to_contain_text("Hypertension")
    screenshot(page, "e2e-visit-crfs-vitals-offer")
    page.locator("#ae-offers a.ae-offer").first.click()
    expect(page.locator("#chosen-term")).to_have_text("Hypertension")
    expect(page.locator("#grade-3")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#id_onset_date")).to_have_value(today.isoformat())
    page.select_option("#id_outcome", "not_recovered")
    page.click("#save-ae")
    expect(page.locator("#ae-title")).to_contain_text("Hypertension")
    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/vital_signs/")
    expect(page.locator("#ae-offers")).to_have_count(0)

    # ECOG and the concomitant medications review
    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/")
    page.locator('tr[data-form="ecog"] a').click()
    page.select_option("#id_score", "1")
    page.click("#save-crf")
    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/")
    page.locator('tr[data-form="con_med_review"] a').click()
    # the new medication goes in the log, then the review says the log was updated
    page.click("#open-log")
    page.goto(f"{page.base}/subjects/{subject.pk}/con-meds/new/")
    page.fill("#id_name", "Amlodipine")
    page.fill("#id_indication", "Hypertension")
    page.fill("#id_dose", "5")
    page.select_option("#id_unit", "mg")
    page.select_option("#id_route", "oral")
    page.select_option("#id_frequency", "qd")
    page.fill("#id_start_date", today.isoformat())
    page.check("#id_ongoing")
    page.click("#save-con-med")
    expect(page.locator("body")).to_contain_text("Amlodipine")
    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/con_med_review/")
    page.select_option("#id_answer", "updated")
    page.fill("#id_comment", "Amlodipine 5 mg started for hypertension")
    page.click("#save-crf")

    # the lab panel, opened from the visit page with the visit chosen
    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/")
    page.locator('tr[data-form="lab_panel"] a').click()
    expect(page.locator("#id_visit")).to_have_value(str(c2.pk))
    page.fill("#id_sample_date", today.isoformat())
    page.fill("#id_anc-value", "2.1")
    page.fill("#id_hb-value", "128")
    page.click("#save-labs")

    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/")
    expect(page.locator("#visit-completeness")).to_have_attribute("data-state", "complete")
    screenshot(page, "e2e-visit-crfs-complete")
    page.goto(f"{page.base}/subjects/{subject.pk}/")
    expect(page.locator('li[data-code="C2D1"] .crf-state')).to_have_attribute(
        "data-crf-state", "complete"
    )
    screenshot(page, "e2e-visit-crfs-timeline")


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_visit_and_crf_pages_at_1280_and_1920(page, site_a, coordinator_a, lang):
    """The visit page, the vital-signs form (with a live grade) and the subject timeline in
    English and Chinese at 1,280 and 1,920 px: nothing scrolls sideways; screenshots kept."""
    ensure_ctcae()
    subject, c2 = on_cycle_2(site_a, coordinator_a)
    login(page, "coord_a", PASSWORD)
    if lang != "en":
        page.goto(f"{page.base}/subjects/{subject.pk}/")
        page.select_option("#language-select", lang)
        expect(page.locator("html")).to_have_attribute("lang", lang)
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/")
        expect(page.locator("#visit-forms")).to_be_visible()
        screenshot(page, f"crfs-visit-{lang}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.goto(f"{page.base}/subjects/{subject.pk}/visits/{c2.pk}/crfs/vital_signs/")
        page.fill("#id_systolic", "150")
        page.fill("#id_diastolic", "85")
        expect(page.locator('#derived [data-grade-term="Hypertension"]')).to_be_visible()
        screenshot(page, f"crfs-vitals-{lang}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.goto(f"{page.base}/subjects/{subject.pk}/")
        screenshot(page, f"crfs-timeline-{lang}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

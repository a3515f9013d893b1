"""End to end in headless Chromium: a coordinator records a grade 3 hypertension linked to a
dose reduction; the investigator e-signs its causality; a lab panel with ANC 0.8 x10^9/L shows
grade 3 (CTCAE 4.03 Neutrophil count decreased: "<1.0 - 0.5 x 10e9 /L") and offers the AE."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from dosing import services as dosing_services
from subjects import services as subject_services
from tests.e2e.conftest import ARTIFACTS, login, screenshot
from tests.factories import PASSWORD, add_reference_ranges, enrol, make_subject
from tests.safety.conftest import ensure_ctcae

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_grade_3_hypertension_causality_and_anc_offer(page, site_a, coordinator_a, investigator_a):
    ensure_ctcae()  # a browser test's flush empties the dictionary the migration loaded
    add_reference_ranges(site_a)
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=20)
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=c1d1 - dt.timedelta(9))
    subject = enrol(subject, by=coordinator_a, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    subject = subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    onset = today - dt.timedelta(days=3)
    reduction = dosing_services.add_event(
        subject=subject,
        by=coordinator_a,
        kind="reduction",
        start=today - dt.timedelta(days=1),
        dose_mg=10,
        reason="toxicity",
        detail="Hypertension grade 3",
    )

    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/")
    page.click("#ae-link")
    page.click("#new-ae-link")
    page.fill("#term-search", "hypertens")
    page.locator("#term-results .term-option", has_text="Hypertension").first.click()
    expect(page.locator("#chosen-term")).to_have_text("Hypertension")
    page.click("#grade-3")
    page.fill("#id_onset_date", onset.isoformat())
    page.check("#id_ongoing")
    page.select_option("#id_action_taken", "reduced")
    page.select_option("#id_dose_event", str(reduction.pk))
    page.fill("#id_treatment_given", "Amlodipine 5 mg daily")
    page.select_option("#id_outcome", "not_recovered")
    screenshot(page, "e2e-safety-ae-form")
    page.click("#save-ae")
    expect(page.locator("#ae-title")).to_contain_text("Hypertension")
    expect(page.locator("#ae-title")).to_contain_text("grade 3")
    expect(page.locator("#causality-missing")).to_be_visible()
    assert page.locator("#id_dose_event").input_value() == str(reduction.pk)
    ae_url = page.url

    page.click("text=Sign out")
    login(page, "inv_a", PASSWORD)
    page.goto(ae_url)
    page.check("input[name=relationship][value=probable]")
    page.fill("#id_password", PASSWORD)
    page.click("#sign-causality")
    expect(page.locator("#causality-signed")).to_contain_text("Probable")
    screenshot(page, "e2e-safety-causality-signed")

    page.goto(f"{page.base}/subjects/{subject.pk}/labs/")
    page.fill("#id_sample_date", today.isoformat())
    page.fill("#id_anc-value", "0.8")
    page.fill("#id_hb-value", "121")
    page.click("#save-labs")
    row = page.locator('tr[data-analyte="anc"]')
    expect(row).to_have_attribute("data-grade", "3")
    expect(row).to_contain_text("Neutrophil count decreased")
    screenshot(page, "e2e-safety-labs")
    row.locator(".offer-ae").click()
    expect(page.locator("#chosen-term")).to_have_text("Neutrophil count decreased")
    expect(page.locator("#grade-3")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#id_onset_date")).to_have_value(today.isoformat())
    page.select_option("#id_outcome", "not_recovered")
    page.click("#save-ae")
    expect(page.locator("#ae-title")).to_contain_text("Neutrophil count decreased")
    page.goto(f"{page.base}/subjects/{subject.pk}/labs/")
    expect(page.locator('tr[data-analyte="anc"] .offer-ae')).to_have_count(0)


UNITS_SHOWN = {
    "hb": ["g/L", "g/dL", "mmol/L"],
    "anc": ["10⁹/L", "/mm³"],
    "creatinine": ["µmol/L", "mg/dL"],
}


@pytest.mark.parametrize("width", [1280, 1920])
def test_lab_units_are_readable_and_written_properly(page, site_a, coordinator_a, width):
    """Issue 11 C10: at 1,280 px the unit selects were cut off, and units read "10^9/L"."""
    ensure_ctcae()
    add_reference_ranges(site_a)
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=20)
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=c1d1 - dt.timedelta(9))
    subject = enrol(subject, by=coordinator_a, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    page.set_viewport_size({"width": width, "height": 1000})
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/labs/")
    page.fill("#id_sample_date", today.isoformat())
    page.fill("#id_anc-value", "0.8")
    page.click("#save-labs")
    expect(page.locator('tr[data-analyte="anc"] td').nth(2)).to_have_text("10⁹/L")
    for analyte, shown in UNITS_SHOWN.items():
        options = page.locator(f"#id_{analyte}-unit option").all_inner_texts()
        assert options == shown
    # every unit select shows its whole text: nothing cut off, none wider than its cell
    cut = page.evaluate(
        """() => [...document.querySelectorAll('select.lab-unit')].filter(s => {
            const text = s.options[s.selectedIndex].text;
            const probe = document.createElement('span');
            probe.style.font = getComputedStyle(s).font;
            probe.textContent = text;
            document.body.appendChild(probe);
            const needed = probe.getBoundingClientRect().width;
            probe.remove();
            const style = getComputedStyle(s);
            const inner = s.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            const cell = s.parentElement.getBoundingClientRect();
            const box = s.getBoundingClientRect();
            return needed > inner || box.right > cell.right + 0.5;
        }).map(s => s.id)"""
    )
    assert cut == []
    page.locator("#lab-form").scroll_into_view_if_needed()
    screenshot(page, f"e2e-safety-lab-units-{width}")
    page.locator("#lab-form").screenshot(path=str(ARTIFACTS / f"e2e-safety-lab-form-{width}.png"))


def test_the_coordinator_prepares_an_sae_report_and_the_investigator_signs_it(
    page, site_a, coordinator_a, investigator_a
):
    """Issue 11 C14: the report is submitted by the investigator's e-signature only."""
    from safety import services as safety_services
    from tests.safety.conftest import term

    ensure_ctcae()
    add_reference_ranges(site_a)
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=20)
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=c1d1 - dt.timedelta(9))
    subject = enrol(subject, by=coordinator_a, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    subject = subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    ae = safety_services.record_ae(
        subject=subject,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=3,
        onset_date=today - dt.timedelta(days=1),
        outcome="not_recovered",
        ongoing=True,
        serious=True,
        sae_hospitalisation=True,
    )
    report = ae.sae_reports.get()
    url = f"{page.base}/subjects/{subject.pk}/adverse-events/{ae.pk}/"

    login(page, "coord_a", PASSWORD)
    page.goto(url)
    expect(page.locator(".sae-awaiting")).to_be_visible()
    expect(page.locator(".sae-sign")).to_have_count(0)
    page.fill(f"#id_draft-{report.pk}-narrative", "Admitted for blood pressure control.")
    page.locator(".sae-draft button").click()
    expect(page.locator(".sae-narrative")).to_have_text("Admitted for blood pressure control.")
    screenshot(page, "e2e-safety-sae-prepared")

    page.click("text=Sign out")
    login(page, "inv_a", PASSWORD)
    page.goto(url)
    narrative = page.locator(f"#id_sign-{report.pk}-narrative")
    expect(narrative).to_have_value("Admitted for blood pressure control.")
    page.fill(f"#id_sign-{report.pk}-password", PASSWORD)
    page.locator(".sae-sign button").click()
    signature = page.locator(".sae-signature")
    expect(signature).to_contain_text("Test Inv_A")
    expect(signature).to_contain_text("UTC")
    expect(page.locator(".sae-report .badge")).to_have_text("submitted")
    screenshot(page, "e2e-safety-sae-signed")

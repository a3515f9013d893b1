"""Per-CRF PDFs (issue 15 section 1): each form printed with its study, site, subject number,
visit, every field's label and value with its unit, derived values, state and signatures; read
back with pdftotext. Clock 2026-03-02 10:00 in Guangzhou (CST, UTC+8); C1D1 2026-01-05."""

from __future__ import annotations

import pytest
from django.urls import reverse

from monitoring.services import place_hold, verify
from safety import services as safety
from safety.models import SaeReport
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.exports.pdf_data import (
    HOSTILE,
    adverse_event,
    lab_panel,
    pike,
    text_of,
    tumour,
    vital_signs,
)
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):  # noqa: F811
    """2026-03-02 10:00 in Guangzhou."""


@pytest.fixture
def subject(treated):  # noqa: F811
    """The treated subject of site A (enrolled 2026-01-03, C1D1 2026-01-05)."""
    return treated


def crf_pdf(client, user, dataset, pk) -> bytes:
    client.force_login(user)
    response = client.get(reverse("exports_pdf:crf", args=[dataset, pk]))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return response.content


def header(subject):
    return f"ALTER-S006 · GZ01 Guangzhou Cancer Center Subject {subject} · on treatment"


def test_vital_signs_print_every_field_with_its_unit_and_the_derived_grade(
    client, subject, coordinator_a
):
    vs = vital_signs(subject, coordinator_a)
    text = text_of(crf_pdf(client, coordinator_a, "vital_signs", vs.pk))
    assert text.startswith(header(subject))
    assert "Study ALTER-S006 Site GZ01 — Guangzhou Cancer Center" in text
    assert f"Subject number {subject} Visit C1D1" in text
    assert "Printed 2026-03-02 10:00 CST (2026-03-02 02:00 UTC)" in text
    assert "Systolic blood pressure 150 mm Hg" in text
    assert "Diastolic blood pressure 95 mm Hg" in text
    assert "Temperature 36.8 °C" in text and "Weight 72.0 kg" in text
    # CTCAE v4.03 hypertension: SBP 140-159 or DBP 90-99 is grade 2; 36.8 °C no fever
    assert "Hypertension grade 2 (derived)" in text
    assert "Fever grade 0 (derived)" in text
    assert "SDV: not verified" in text
    assert "Not signed." in text
    assert "Confidential · page 1 of 1" in text
    # no identifying data: initials and date of birth are not printed
    assert subject.initials not in text.split() and "1980-05-17" not in text


def test_timepoint_prints_sums_percent_change_responses_and_measurements(
    client, subject, coordinator_a
):
    tp = tumour(subject, coordinator_a).timepoint
    text = text_of(crf_pdf(client, coordinator_a, "timepoints", tp.pk))
    # baseline 40 + 30 = 70 mm; TA1 28 + 21 = 49 mm; (49 - 70) / 70 = -30 %: PR
    assert "Visit TA1" in text
    assert "Sum of diameters (mm) 49.0 mm (derived)" in text
    assert "Change from baseline (%) -30.00 % (derived)" in text
    assert "Nadir (mm) 70.0 mm (derived)" in text
    assert "Target response PR (derived)" in text
    assert "Overall response PR (derived)" in text
    assert "Lesion measurements" in text
    assert "measured 28.0 mm" in text and "measured 21.0 mm" in text
    # the RECIST notes worded as on the tumour pages, not their codes
    flat = " ".join(text.split())
    assert "a decrease of at least 30 % is PR (RECIST 4.3.1)" in flat
    assert "pr_from_baseline" not in flat


def test_adverse_event_prints_grade_history_and_the_causality_signature(
    client, subject, coordinator_a, investigator_a
):
    ae = adverse_event(subject, coordinator_a, investigator_a)
    text = text_of(crf_pdf(client, investigator_a, "adverse_events", ae.pk))
    assert "CTCAE term Hypertension" in text and "Grade 3" in text
    assert "Relationship to anlotinib Probable" in text
    assert "Adverse event grade history" in text
    assert "2 2026-02-20 coord_a 3 2026-02-25 coord_a" in text
    assert (
        "Signed by Test Inv_A, 2026-03-02 10:00 CST (2026-03-02 02:00 UTC) — meaning: "
        "“I have assessed the relationship of this adverse event to anlotinib as stated”"
    ) in text


def test_hostile_free_text_is_printed_as_text_and_fetches_nothing(
    client, subject, coordinator_a, investigator_a
):
    ae = adverse_event(subject, coordinator_a, investigator_a, verbatim=HOSTILE)
    pdf = crf_pdf(client, coordinator_a, "adverse_events", ae.pk)
    text = text_of(pdf).replace("file:///etc/ passwd", "file:///etc/passwd")
    assert "Verbatim term <script>alert(1)</script><img src=file:///etc/passwd>" in text
    with pike(pdf) as doc:
        images = [
            name
            for page in doc.pages
            for name, xobject in (page.Resources.get("/XObject") or {}).items()
            if xobject.get("/Subtype") == "/Image"
        ]
    assert images == []


def test_lab_panel_prints_values_with_units_and_ctcae_grades(client, subject, coordinator_a):
    panel = lab_panel(subject, coordinator_a)
    text = text_of(crf_pdf(client, coordinator_a, "lab_panels", panel.pk))
    assert "Visit C3D1" in text and "Sample date 2026-02-16" in text
    assert "Lab values with CTCAE grades" in text
    # ANC 0.8 x10^9/L against LLN 1.8: grade 3 "Neutrophil count decreased"
    assert "Analyte: ANC Value: 0.800 Unit: 10^9/L LLN: 1.8" in text
    assert "CTCAE grade: 3 CTCAE term: Neutrophil count decreased" in text


def test_screening_prints_the_verdict_with_reasons_and_the_eligibility_signature(
    client, subject, coordinator_a
):
    text = text_of(crf_pdf(client, coordinator_a, "screening", subject.screening.pk))
    assert "Eligibility verdict: eligible" in text
    assert "I03 ECOG performance met ECOG 1; needs 0-2" in text
    assert "Signed by Test Inv_Gz01" in text
    assert "“I confirm this subject meets all eligibility criteria”" in text


def test_sae_report_prints_its_submission_signature(client, subject, coordinator_a, investigator_a):
    from django.test import RequestFactory

    from tests.exports.pdf_data import ensure_ctcae

    ensure_ctcae()
    from safety.models import CtcaeTerm

    ae = safety.record_ae(
        subject=subject,
        by=coordinator_a,
        term=CtcaeTerm.objects.get(term="Hypertension"),
        grade=3,
        onset_date=subject.site.today(),
        outcome="not_recovered",
        ongoing=True,
        serious=True,
        sae_hospitalisation=True,
    )
    report = ae.sae_reports.get()
    safety.submit_sae_report(
        report=report,
        by=investigator_a,
        narrative="Admitted.",
        password=PASSWORD,
        expected_hash=safety.report_hash(report),
        request=RequestFactory().post("/"),
    )
    text = text_of(crf_pdf(client, coordinator_a, "sae_reports", report.pk))
    assert "Narrative Admitted." in text or "Admitted." in text
    meaning = str(SaeReport.SUBMISSION_MEANING)
    assert (
        f"Signed by Test Inv_A, 2026-03-02 10:00 CST (2026-03-02 02:00 UTC) — meaning: “{meaning}”"
        in text
    )


def test_form_state_shows_the_lock_and_the_sdv(client, subject, coordinator_a, data_manager):
    vs = vital_signs(subject, coordinator_a)
    verify(by=data_manager, record=vs, fields=["", *()])
    place_hold(by=data_manager, kind="lock", level="subject", reason="Interim", subject=subject)
    text = text_of(crf_pdf(client, coordinator_a, "vital_signs", vs.pk))
    assert "Form state: locked (Interim)" in text
    assert "SDV: verified" in text


def test_another_sites_coordinator_gets_404(client, subject, coordinator_a, coordinator_b):
    vs = vital_signs(subject, coordinator_a)
    client.force_login(coordinator_b)
    response = client.get(reverse("exports_pdf:crf", args=["vital_signs", vs.pk]))
    assert response.status_code == 404


def test_an_unknown_form_or_record_is_404(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get(reverse("exports_pdf:crf", args=["nonsense", 1])).status_code == 404
    assert client.get(reverse("exports_pdf:crf", args=["queries", 1])).status_code == 404
    assert client.get(reverse("exports_pdf:crf", args=["vital_signs", 999999])).status_code == 404


def test_the_crf_pages_monitoring_bar_links_to_the_pdf(
    client, subject, coordinator_a, investigator_a
):
    ae = adverse_event(subject, coordinator_a, investigator_a)
    client.force_login(coordinator_a)
    page = client.get(reverse("safety:ae", args=[subject.pk, ae.pk])).content.decode()
    assert reverse("exports_pdf:crf", args=["adverse_events", ae.pk]) in page
    vs = vital_signs(subject, coordinator_a)
    visit = subject.visits.get(code="C1D1")
    page = client.get(reverse("crfs:form", args=[subject.pk, visit.pk, "vital_signs"]))
    assert reverse("exports_pdf:crf", args=["vital_signs", vs.pk]) in page.content.decode()

"""SAE submission on the pages (issue 11 C14): a coordinator prepares the report, only the
investigator's e-signature submits it; the signature and the PDF show site time and UTC.

Clock 2026-03-02 10:00 in Guangzhou (CST, UTC+8) = 02:00 UTC (tests/dosing/conftest.py)."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.test import RequestFactory
from django.urls import reverse

from safety import services
from safety.models import AdverseEvent, SaeReport
from tests.factories import PASSWORD
from tests.safety.conftest import term

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


@pytest.fixture
def report(subject, coordinator_a):
    ae = services.record_ae(
        subject=subject,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=3,
        onset_date=D(2026, 2, 20),
        outcome="not_recovered",
        ongoing=True,
        serious=True,
        sae_hospitalisation=True,
    )
    return ae.sae_reports.get()


def ae_url(report):
    return reverse("safety:ae", args=[report.ae.subject_id, report.ae_id])


def test_the_coordinator_saves_a_draft_and_is_refused_the_submission(client, report, coordinator_a):
    client.force_login(coordinator_a)
    page = client.get(ae_url(report)).content.decode()
    assert "Submission needs an investigator" in page
    assert reverse("safety:sae_draft", args=[report.pk]) in page
    assert reverse("safety:sae_submit", args=[report.pk]) not in page  # no signing form

    prefix = f"draft-{report.pk}"
    saved = client.post(
        reverse("safety:sae_draft", args=[report.pk]),
        {f"{prefix}-version": report.version, f"{prefix}-narrative": "Admitted on day 3."},
    )
    assert saved.status_code == 302
    report.refresh_from_db()
    assert (report.narrative, report.submitted_at) == ("Admitted on day 3.", None)

    sign = f"sign-{report.pk}"
    refused = client.post(
        reverse("safety:sae_submit", args=[report.pk]),
        {
            f"{sign}-narrative": "Admitted.",
            f"{sign}-password": PASSWORD,
            f"{sign}-data_hash": services.report_hash(report),
        },
    )
    assert refused.status_code == 403
    report.refresh_from_db()
    assert report.submitted_at is None and report.signed_by is None

    empty = client.post(
        reverse("safety:sae_draft", args=[report.pk]),
        {f"{prefix}-version": report.version, f"{prefix}-narrative": " "},
    )
    assert empty.status_code == 422


def test_the_investigator_signs_and_submits_with_the_password(client, report, investigator_a):
    client.force_login(investigator_a)
    page = client.get(ae_url(report)).content.decode()
    assert SaeReport.SUBMISSION_MEANING in page
    sign = f"sign-{report.pk}"
    url = reverse("safety:sae_submit", args=[report.pk])
    body = {
        f"{sign}-narrative": "Admitted for BP control.",
        f"{sign}-password": "wrong",
        f"{sign}-data_hash": services.report_hash(report),
    }
    wrong = client.post(url, body)
    assert wrong.status_code == 422
    assert "The password is not correct. Nothing was signed." in wrong.content.decode()
    assert SaeReport.objects.get().submitted_at is None

    done = client.post(url, {**body, f"{sign}-password": PASSWORD})
    assert done.status_code == 302
    report.refresh_from_db()
    assert (report.signed_by, report.submitted_by) == (investigator_a, investigator_a)
    page = client.get(ae_url(report)).content.decode()
    # the manifestation: printed name, meaning, site time and UTC
    assert "Test Inv_A" in page and SaeReport.SUBMISSION_MEANING in page
    assert "2026-03-02 10:00 CST" in page and "2026-03-02 02:00 UTC" in page


def test_a_stale_page_signs_nothing(client, report, coordinator_a, investigator_a):
    shown = services.report_hash(report)
    ae = AdverseEvent.objects.get()
    services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Grade",
        changes={"grade": 4},
        grade_from=D(2026, 2, 25),
    )
    client.force_login(investigator_a)
    sign = f"sign-{report.pk}"
    response = client.post(
        reverse("safety:sae_submit", args=[report.pk]),
        {f"{sign}-narrative": "N.", f"{sign}-password": PASSWORD, f"{sign}-data_hash": shown},
    )
    assert response.status_code == 422
    assert "changed since you opened it" in response.content.decode()
    assert SaeReport.objects.get().submitted_at is None


def test_the_sae_pdf_shows_site_time_and_utc(client, report, investigator_a):
    services.submit_sae_report(
        report=report,
        by=investigator_a,
        narrative="Admitted.",
        password=PASSWORD,
        expected_hash=services.report_hash(report),
        request=RequestFactory().post("/"),
    )
    client.force_login(investigator_a)
    pdf = client.get(reverse("safety:sae_pdf", args=[report.ae.subject_id, report.ae_id]))
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    text = " ".join(text.split())
    # due 24 h after the site learned of it (10:00 CST today): both clocks, for each time
    assert "2026-03-03 10:00 CST (2026-03-03 02:00 UTC)" in text
    assert "submitted 2026-03-02 10:00 CST (2026-03-02 02:00 UTC)" in text
    assert "printed 2026-03-02 10:00 CST (2026-03-02 02:00 UTC)" in text
    assert "Test Inv_A" in text

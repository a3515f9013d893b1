"""The outcome pages (tests/outcomes/conftest.py: today 2026-03-02, last dose 2026-03-01)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from outcomes import services
from outcomes.models import Death, EndOfTreatment, SurvivalFollowUp, Withdrawal
from subjects.models import Subject
from tests.outcomes.conftest import LAST_DOSE, TODAY, hypertension

D = dt.date
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


def error_beside(page: str, field: str) -> str:
    """The error text rendered under the field ``field`` (crispy: ``error_1_id_<field>``)."""
    found = re.search(rf'id="error_1_id_{field}"[^>]*>\s*<strong>(.*?)</strong>', page, re.S)
    return found.group(1) if found else ""


def test_end_of_treatment_page_shows_the_last_dose_and_stops_treatment(
    client, coordinator_a, subject
):
    client.force_login(coordinator_a)
    url = reverse("outcomes:end_of_treatment", args=[subject.pk])
    page = client.get(url).content.decode()
    assert "2026-03-01" in page  # the dosing calendar's last dose

    response = client.post(url, {"decision_date": "2026-03-02", "stop_reason": "progression"})

    assert response.status_code == 302
    subject = Subject.objects.get(pk=subject.pk)
    assert (subject.status, subject.last_dose_date) == ("off_treatment", LAST_DOSE)


def test_end_of_treatment_refusal_is_shown_beside_the_field(client, coordinator_a, subject):
    client.force_login(coordinator_a)
    url = reverse("outcomes:end_of_treatment", args=[subject.pk])
    response = client.post(url, {"decision_date": "2026-02-28", "stop_reason": "toxicity"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "2026-03-01" in error_beside(page, "decision_date")
    assert error_beside(page, "toxicity_ae") == "Choose the adverse event."
    assert not EndOfTreatment.objects.exists()


def test_end_of_treatment_correction_needs_reason_and_current_version(
    client, coordinator_a, subject
):
    eot = services.save_end_of_treatment(
        subject=subject, by=coordinator_a, decision_date=TODAY, stop_reason="progression"
    )
    client.force_login(coordinator_a)
    url = reverse("outcomes:end_of_treatment", args=[subject.pk])
    body = {"decision_date": "2026-03-02", "stop_reason": "investigator", "version": eot.version}
    assert 'name="reason"' in client.get(url).content.decode()

    missing = client.post(url, body)
    assert missing.status_code == 422
    assert error_beside(missing.content.decode(), "reason") == "A reason for change is required."

    stale = client.post(url, body | {"version": eot.version + 1, "reason": "Misread"})
    assert stale.status_code == 409

    done = client.post(url, body | {"reason": "Misread"})
    assert done.status_code == 302
    assert EndOfTreatment.objects.get().stop_reason == "investigator"


def test_monitor_reads_the_record_without_a_form(client, monitor_a, coordinator_a, subject):
    services.save_end_of_treatment(
        subject=subject, by=coordinator_a, decision_date=TODAY, stop_reason="progression"
    )
    client.force_login(monitor_a)
    page = client.get(reverse("outcomes:end_of_treatment", args=[subject.pk])).content.decode()
    assert 'id="record"' in page and 'id="outcome-form"' not in page
    assert "Disease progression" in page


def test_death_page_warns_when_the_adverse_event_is_not_grade_5(client, coordinator_a, subject):
    ae = hypertension(subject, coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("outcomes:death", args=[subject.pk])
    response = client.post(
        url,
        {"death_date": "2026-03-02", "cause": "adverse_event", "cause_ae": ae.pk, "autopsy": "no"},
    )
    assert response.status_code == 302
    assert Subject.objects.get(pk=subject.pk).status == "died"
    page = client.get(url).content.decode()
    assert "recorded at grade 3" in page
    assert reverse("safety:ae", args=[subject.pk, ae.pk]) in page


def test_death_page_refuses_a_future_date_beside_the_field(client, coordinator_a, subject):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("outcomes:death", args=[subject.pk]),
        {"death_date": "2026-03-03", "cause": "disease_progression", "autopsy": "no"},
    )
    assert response.status_code == 422
    assert error_beside(response.content.decode(), "death_date") == (
        "This date cannot be in the future."
    )
    assert not Death.objects.exists()


@pytest.fixture
def surv1(subject, coordinator_a):
    services.save_end_of_treatment(
        subject=subject, by=coordinator_a, decision_date=TODAY, stop_reason="progression"
    )
    return subject.visits.get(code="SURV1")


def follow_up_body(**extra):
    return {
        "contact_date": "2026-03-02",
        "mode": "telephone",
        "status": "alive",
        "last_known_alive": "2026-03-02",
        "therapies-TOTAL_FORMS": "2",
        "therapies-INITIAL_FORMS": "0",
        **extra,
    }


def test_survival_follow_up_page_stores_therapies(client, coordinator_a, subject, surv1):
    client.force_login(coordinator_a)
    url = reverse("outcomes:survival_follow_up", args=[subject.pk, surv1.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        follow_up_body(
            **{
                "therapies-1-regimen": "Trabectedin",
                "therapies-1-start_date": "2026-03-02",
                "therapies-1-line": "2",
            }
        ),
    )
    assert response.status_code == 302
    saved = SurvivalFollowUp.objects.get()
    assert [(t.regimen, t.line) for t in saved.therapies.all()] == [("Trabectedin", 2)]


def test_therapy_row_error_is_beside_its_row(client, coordinator_a, subject, surv1):
    client.force_login(coordinator_a)
    url = reverse("outcomes:survival_follow_up", args=[subject.pk, surv1.pk])
    response = client.post(
        url,
        follow_up_body(
            **{
                "therapies-1-regimen": "Trabectedin",
                "therapies-1-start_date": "2026-03-02",
                "therapies-1-line": "11",
            }
        ),
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert error_beside(page, "therapies-1-line") == "The line of therapy is from 2 to 10."
    assert not SurvivalFollowUp.objects.exists()


def test_dead_follow_up_links_to_the_death_form(client, coordinator_a, subject, surv1):
    client.force_login(coordinator_a)
    url = reverse("outcomes:survival_follow_up", args=[subject.pk, surv1.pk])
    response = client.post(url, follow_up_body(status="dead", last_known_alive=""))
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "No death is recorded" in page
    assert reverse("outcomes:death", args=[subject.pk]) in page


def test_survival_page_of_another_kind_of_visit_is_404(client, coordinator_a, subject):
    client.force_login(coordinator_a)
    screening = subject.visits.get(code="SCR")
    url = reverse("outcomes:survival_follow_up", args=[subject.pk, screening.pk])
    assert client.get(url).status_code == 404


def test_withdrawal_pages(client, coordinator_a, subject):
    client.force_login(coordinator_a)
    url = reverse("outcomes:withdrawals", args=[subject.pk])
    response = client.post(url, {"withdrawal_date": "2026-03-02", "scope": "treatment_only"})
    assert response.status_code == 302
    withdrawal = Withdrawal.objects.get()
    assert "2026-03-02" in client.get(url).content.decode()
    detail = reverse("outcomes:withdrawal", args=[subject.pk, withdrawal.pk])
    widened = client.post(
        detail,
        {
            "withdrawal_date": "2026-03-02",
            "scope": "all_follow_up",
            "version": withdrawal.version,
            "reason": "Wider",
        },
    )
    assert widened.status_code == 422
    assert "record a new withdrawal" in error_beside(widened.content.decode(), "scope")
    late = client.post(url, {"withdrawal_date": "2026-03-03", "scope": "all_follow_up"})
    assert late.status_code == 422
    assert Subject.objects.get(pk=subject.pk).status == "on_treatment"

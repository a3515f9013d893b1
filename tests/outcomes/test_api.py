"""The outcome forms over the API (tests/outcomes/conftest.py: today 2026-03-02)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outcomes import selectors, services
from outcomes.models import Withdrawal
from subjects.models import Subject
from tests.outcomes.conftest import TODAY, hypertension
from tests.subjects.test_api import Api

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


@pytest.fixture
def api(client, coordinator_a):
    return Api(client, coordinator_a)


def errors(response) -> dict[str, str]:
    return {e["field"]: e["code"] for e in response.json()["errors"]}


def test_end_of_treatment_create_read_correct(api, subject, coordinator_a):
    path = f"/subjects/{subject.pk}/end-of-treatment"
    assert api.get(path).status_code == 404  # not recorded yet
    ae = hypertension(subject, coordinator_a)

    created = api.post(
        path, {"decision_date": "2026-03-02", "stop_reason": "toxicity", "toxicity_ae_id": ae.pk}
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["last_dose_date"], body["toxicity_ae_id"]) == ("2026-03-01", ae.pk)
    assert Subject.objects.get(pk=subject.pk).status == "off_treatment"
    assert api.get(path).json()["id"] == body["id"]

    again = api.post(path, {"decision_date": "2026-03-02", "stop_reason": "progression"})
    assert (again.status_code, errors(again)) == (422, {None: "already_recorded"})

    no_reason = api.patch(path, {"version": body["version"], "reason": "", "stop_reason": "death"})
    assert (no_reason.status_code, errors(no_reason)) == (422, {"reason": "required"})
    stale = api.patch(path, {"version": 99, "reason": "x", "stop_reason": "death"})
    assert stale.status_code == 409
    fixed = api.patch(
        path,
        {"version": body["version"], "reason": "Misread", "stop_reason": "progression",
         "toxicity_ae_id": None},
    )  # fmt: skip
    assert fixed.status_code == 200, fixed.json()
    assert (fixed.json()["stop_reason"], fixed.json()["version"]) == ("progression", 2)


def test_end_of_treatment_refusals_in_the_error_shape(api, subject):
    response = api.post(
        f"/subjects/{subject.pk}/end-of-treatment",
        {"decision_date": "2026-02-28", "stop_reason": "other"},
    )
    assert response.status_code == 422
    assert errors(response) == {
        "decision_date": "before_last_dose",
        "reason_other": "other_required",
    }
    bad = api.post(
        f"/subjects/{subject.pk}/end-of-treatment",
        {"decision_date": "2026-03-02", "stop_reason": "bored"},
    )
    assert errors(bad) == {"stop_reason": "invalid_choice"}


def test_death_over_the_api_gives_os_data(api, subject):
    created = api.post(
        f"/subjects/{subject.pk}/death",
        {"death_date": "2026-03-01", "cause": "disease_progression", "autopsy": "unknown"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["warnings"] == []
    survival = api.get(f"/subjects/{subject.pk}/survival").json()
    assert survival["death_date"] == "2026-03-01"
    assert (survival["os_start"], survival["os_end"], survival["os_event"]) == (
        "2026-01-05",
        "2026-03-01",
        True,
    )
    future = api.patch(
        f"/subjects/{subject.pk}/death",
        {"version": created.json()["version"], "reason": "x", "death_date": "2026-03-03"},
    )
    assert errors(future) == {"death_date": "date_fixed"}


def test_survival_follow_up_over_the_api(api, subject, coordinator_a):
    services.save_end_of_treatment(
        subject=subject, by=coordinator_a, decision_date=TODAY, stop_reason="progression"
    )
    visit = subject.visits.get(code="SURV1")
    path = f"/visits/{visit.pk}/survival-follow-up"
    body = {
        "contact_date": "2026-03-02",
        "mode": "telephone",
        "status": "alive",
        "last_known_alive": "2026-03-03",
        "therapies": [{"regimen": "Pazopanib", "start_date": "2026-03-02", "line": 1}],
    }
    refused = api.post(path, body)
    assert errors(refused) == {
        "last_known_alive": "after_contact",
        "therapies-0-line": "line_out_of_range",
    }
    body |= {"last_known_alive": "2026-03-02", "therapies": [body["therapies"][0] | {"line": 2}]}
    created = api.post(path, body)
    assert created.status_code == 201, created.json()
    assert created.json()["therapies"] == [
        {"regimen": "Pazopanib", "start_date": "2026-03-02", "line": 2}
    ]
    survival = api.get(f"/subjects/{subject.pk}/survival").json()
    assert (survival["last_known_alive"], survival["last_known_alive_source"]) == (
        "2026-03-02",
        "survival_follow_up",
    )
    corrected = api.patch(
        path, {"version": created.json()["version"], "reason": "Call log", "therapies": []}
    )
    assert corrected.status_code == 200 and corrected.json()["therapies"] == []
    screening = subject.visits.get(code="SCR")
    assert api.get(f"/visits/{screening.pk}/survival-follow-up").status_code == 404


def test_withdrawals_over_the_api(api, subject):
    path = f"/subjects/{subject.pk}/withdrawals"
    created = api.post(path, {"withdrawal_date": "2026-03-02", "scope": "all_follow_up"})
    assert created.status_code == 201
    assert Subject.objects.get(pk=subject.pk).status == "withdrawn"
    listed = api.get(path)
    assert [w["id"] for w in listed.json()] == [created.json()["id"]]
    narrowed = api.patch(
        f"/withdrawals/{created.json()['id']}",
        {"version": 1, "reason": "x", "scope": "treatment_only"},
    )
    assert errors(narrowed) == {"scope": "scope_fixed"}


def test_other_site_and_monitor(client, subject, coordinator_b, monitor_a):
    other = Api(client, coordinator_b)
    assert other.get(f"/subjects/{subject.pk}/survival").status_code == 404
    monitor = Api(client, monitor_a)
    response = monitor.post(
        f"/subjects/{subject.pk}/withdrawals",
        {"withdrawal_date": "2026-03-02", "scope": "treatment_only"},
    )
    assert response.status_code == 403


# --- query counts ---------------------------------------------------------------------------


def counted(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured.captured_queries), result


def test_completed_forms_costs_one_query_per_form_model_for_1_or_30_visits(subject, coordinator_a):
    services.save_end_of_treatment(
        subject=subject, by=coordinator_a, decision_date=TODAY, stop_reason="progression"
    )
    visits = list(subject.visits.values_list("pk", flat=True))
    assert len(visits) >= 30
    one, found_one = counted(lambda: selectors.completed_forms(visits[:1]))
    thirty, found = counted(lambda: selectors.completed_forms(visits[:30]))
    assert one == thirty == len(selectors.VISIT_FORMS)
    eot_visit = subject.visits.get(code="EOT").pk
    everything = selectors.completed_forms(visits)
    assert (eot_visit, "end_of_treatment") in everything


def test_withdrawal_lists_same_queries_for_1_and_30_rows(client, subject, coordinator_a):
    api = Api(Client(), coordinator_a)  # no session cookie of the page's client
    path = f"/subjects/{subject.pk}/withdrawals"
    page_url = reverse("outcomes:withdrawals", args=[subject.pk])

    def add(n):
        for _ in range(n):
            services.save_withdrawal(
                subject=subject, by=coordinator_a, withdrawal_date=TODAY, scope="treatment_only"
            )

    def measure():
        api_queries, response = counted(lambda: api.get(path))
        client.force_login(coordinator_a)
        page_queries, page = counted(lambda: client.get(page_url))
        assert page.status_code == 200
        return api_queries, page_queries, len(response.json())

    add(1)
    api.get(path)  # the token's first use is recorded once
    *one, rows = measure()
    assert rows == 1
    add(29)
    *thirty, rows = measure()
    assert rows == 30 == Withdrawal.objects.count()
    assert one == thirty


def test_last_known_alive_is_one_query(subject, coordinator_a):
    hypertension(subject, coordinator_a)
    queries, known = counted(lambda: selectors.last_known_alive(subject))
    assert queries == 1
    assert (known.on, known.source) == (dt.date(2026, 2, 20), "adverse_event")

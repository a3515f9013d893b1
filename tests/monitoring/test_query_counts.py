"""The monitoring lists cost the same number of SQL queries for 1 row as for 30 (issue 14,
"Every list is paginated"): the subject matrix (page and API), the SDV worklist, dropped
verifications and the SDV log; each subject carries a hold, an SDV mark and a signature so
every branch of the cells is read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from monitoring import services
from monitoring.models import Signature
from subjects.models import Visit
from tests.factories import make_subject
from tests.subjects.test_api import Api

pytestmark = pytest.mark.django_db


def populate(site, coordinator, data_manager, monitor, investigator, n):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for i in range(n):
        subject = make_subject(site, coordinator, initials="M" + letters[i % 26] * 2)
        visit = Visit.objects.filter(subject=subject).first()
        services.verify(by=monitor, record=visit, fields=[""])
        services.place_hold(
            by=data_manager, kind="freeze", level="visit", reason="r", subject=subject, visit=visit
        )
        Signature.objects.create(
            level="casebook",
            subject=subject,
            signed_by=investigator,
            printed_name="Dr",
            meaning="m",
            content_hash="0" * 64,
        )


def count(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content[:300]
    return len(captured)


def measure(client, user):
    client.force_login(user)
    api = Api(client, user)
    pages = [reverse(f"monitoring:{n}") for n in ("matrix", "worklist", "dropped", "sdv_log")]
    for url in pages:
        client.get(url)  # session and language settle
    api.get("/subject-matrix")
    return [count(lambda url=url: client.get(url)) for url in pages] + [
        count(lambda: api.get("/subject-matrix")),
        count(lambda: api.get("/sdv/worklist")),
    ]


def test_one_and_thirty_subjects_cost_the_same(
    client, site_a, coordinator_a, data_manager, monitor_a, investigator_a
):
    populate(site_a, coordinator_a, data_manager, monitor_a, investigator_a, 1)
    one = measure(client, monitor_a)
    populate(site_a, coordinator_a, data_manager, monitor_a, investigator_a, 29)
    thirty = measure(client, monitor_a)
    assert one == thirty


def test_casebook_signing_costs_the_same_for_1_and_6_held_visits(
    client, treated, coordinator_a, investigator_a
):
    import datetime as dt

    from subjects import services as subject_services

    def add(day):
        subject_services.add_unscheduled_visit(
            subject=treated, by=coordinator_a, on_date=dt.date(2026, 2, day), note="headache"
        )

    client.force_login(investigator_a)
    url = reverse("monitoring:sign_casebook", args=[treated.pk])
    add(20)
    client.get(url)
    one = count(lambda: client.get(url))
    for day in (21, 22, 23, 24, 25):
        add(day)
    assert count(lambda: client.get(url)) == one
    bulk = reverse("monitoring:bulk_sign")
    client.get(bulk)
    assert count(lambda: client.get(bulk)) == count(lambda: client.get(bulk))

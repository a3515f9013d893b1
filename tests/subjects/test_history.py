"""A subject's audit trail: one selector for the page and the API, filters, folded schedule
rows, the values of created rows, pagination and scoping (issue 11 A7, C9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiToken
from audit.events import record_event
from audit.models import AuditEvent
from subjects import selectors
from tests.factories import enrol

pytestmark = pytest.mark.django_db


def page(client, user, subject, /, **params):
    client.force_login(user)
    return client.get(reverse("subjects:history", args=[subject.pk]), params)


def api(client, user, subject, /, **params):
    token = ApiToken.issue(user)[1]
    return client.get(
        f"/api/v1/subjects/{subject.pk}/history",
        params,
        headers={"Authorization": f"Bearer {token}"},
    )


def page_ids(response) -> list[int]:
    return selectors.row_event_ids(response.context["rows"])


def api_ids(response) -> list[int]:
    by_seq = dict(AuditEvent.objects.values_list("chain_seq", "pk"))
    return [by_seq[e["chain_seq"]] for e in response.json()]


def workflow_events(subject, user, n):
    for i in range(n):
        record_event(
            action=AuditEvent.Action.WORKFLOW,
            user=user,
            table="subjects_subject",
            record_pk=subject.pk,
            detail={"step": i},
        )


@pytest.fixture
def enrolled_a(subject_a, coordinator_a, investigator_a):
    return enrol(subject_a, by=coordinator_a)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"table": "eligibility_screening"},
        {"table": "subjects_visit", "kind": "created"},
        {"user": "inv_a"},
        {"kind": "changed"},
    ],
)
def test_page_and_api_show_the_same_events_in_the_same_order(
    client, coordinator_a, enrolled_a, params
):
    shown = page(client, coordinator_a, enrolled_a, **params)
    sent = api(client, coordinator_a, enrolled_a, **params)
    assert (shown.status_code, sent.status_code) == (200, 200)
    assert page_ids(shown) == api_ids(sent)
    assert page_ids(shown), "each filter matches something here"


def test_the_api_includes_the_screening_and_signature_rows(client, coordinator_a, enrolled_a):
    tables = {e["table_name"] for e in api(client, coordinator_a, enrolled_a).json()}
    assert {"eligibility_screening", "eligibility_eligibilitysignature"} <= tables


def test_filters_narrow_by_form_user_kind_and_day(client, coordinator_a, enrolled_a):
    events = selectors.history_events(enrolled_a)
    visits = events.filter(table_name="subjects_visit")
    rows = page(client, coordinator_a, enrolled_a, table="subjects_visit").context["rows"]
    assert sorted(selectors.row_event_ids(rows)) == sorted(visits.values_list("pk", flat=True))
    by_inv = page_ids(page(client, coordinator_a, enrolled_a, user="inv_a"))
    assert by_inv and set(
        AuditEvent.objects.filter(pk__in=by_inv).values_list("app_username", flat=True)
    ) == {"inv_a"}
    changed = page_ids(page(client, coordinator_a, enrolled_a, kind="changed"))
    assert set(AuditEvent.objects.filter(pk__in=changed).values_list("action", flat=True)) == {
        "UPDATE"
    }
    today = enrolled_a.site.today()
    assert page_ids(page(client, coordinator_a, enrolled_a, since=today, until=today)) == [
        e.pk for e in events
    ]
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert page_ids(page(client, coordinator_a, enrolled_a, since=tomorrow)) == []
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert page_ids(page(client, coordinator_a, enrolled_a, until=yesterday)) == []


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "renamed"},
        {"table": "auth_user"},
        {"since": "2026-13-01"},
        {"until": "yesterday"},
        {"since": "2026-05-02", "until": "2026-05-01"},
        {"user": "a\x00b"},
        {"page": "x"},
    ],
)
def test_a_filter_it_cannot_use_is_a_400_with_a_message(client, coordinator_a, subject_a, params):
    response = page(client, coordinator_a, subject_a, **params)
    assert response.status_code == 400
    assert next(iter(params)) in response.content.decode()


def test_the_visits_planned_at_enrolment_fold_into_one_row(client, coordinator_a, enrolled_a):
    planned = AuditEvent.objects.filter(
        table_name="subjects_visit",
        action="INSERT",
        new_data__subject_id=enrolled_a.pk,
        reason="Status: enrolled",
    ).count()
    assert planned > 40
    response = page(client, coordinator_a, enrolled_a)
    folded = [r for r in response.context["rows"] if "folded" in r]
    assert [len(r["folded"]) for r in folded] == [planned]
    assert folded[0]["summary"] == f"{planned} visits planned"
    body = response.content.decode()
    assert f"{planned} visits planned" in body
    assert body.count('class="audit-fold"') == 1


def test_a_created_row_lists_the_values_entered(client, coordinator_a, subject_a):
    rows = page(client, coordinator_a, subject_a, table="subjects_subject", kind="created")
    (row,) = rows.context["rows"]
    values = dict(row["values"])
    assert (values["initials"], values["sex"], values["consent_version"]) == ("ZWL", "F", "2.1")
    assert "id" not in values and "version" not in values
    assert '<div class="audit-value"><strong>initials</strong>: ZWL</div>' in rows.content.decode()


def test_the_trail_is_paginated_newest_first(client, coordinator_a, subject_a):
    workflow_events(subject_a, coordinator_a, selectors.HISTORY_PAGE_SIZE)
    total = selectors.history_events(subject_a).count()
    first = page(client, coordinator_a, subject_a)
    second = page(client, coordinator_a, subject_a, page=2)
    assert len(page_ids(first)) == selectors.HISTORY_PAGE_SIZE
    assert len(page_ids(second)) == total - selectors.HISTORY_PAGE_SIZE
    seqs = list(
        AuditEvent.objects.filter(pk__in=page_ids(first) + page_ids(second))
        .order_by("-chain_seq")
        .values_list("pk", flat=True)
    )
    assert page_ids(first) + page_ids(second) == seqs
    assert "page=2" in first.content.decode()
    assert api_ids(api(client, coordinator_a, subject_a, page=2)) == page_ids(second)


def _queries(client, user, subject) -> int:
    client.force_login(user)
    url = reverse("subjects:history", args=[subject.pk])
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_takes_as_many_queries_for_1_row_as_for_30(client, coordinator_a, subject_a):
    AuditEvent.objects.filter(pk__in=selectors.history_events(subject_a)).count()
    one = _queries(client, coordinator_a, subject_a)
    workflow_events(subject_a, coordinator_a, 30)
    assert _queries(client, coordinator_a, subject_a) == one


def test_a_user_of_another_site_gets_404(client, coordinator_b, subject_a):
    assert page(client, coordinator_b, subject_a).status_code == 404
    assert api(client, coordinator_b, subject_a).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "renamed"},
        {"table": "auth_user"},
        {"since": "2026-13-01"},
        {"since": "2026-05-02", "until": "2026-05-01"},
        {"page": "0"},
        {"colour": "red"},
    ],
)
def test_the_api_refuses_a_filter_it_cannot_use_with_422(client, coordinator_a, subject_a, params):
    response = api(client, coordinator_a, subject_a, **params)
    assert response.status_code == 422
    assert next(iter(params)) in response.content.decode()

"""Lists that grow with the study's open work count up to a cap (issue 12 goal 3): the
dashboard's overdue / due counts and the "see all" pages say "more than N" past the cap,
and a count never reads past it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alter_s006.pagination import CappedPaginator, count_upto
from subjects.models import Visit
from tests.factories import make_subject

pytestmark = pytest.mark.django_db


def overdue_subjects(site, by, n):
    """``n`` subjects whose screening visit closed long ago (consent 200+ days back)."""
    today = site.today()
    return [
        make_subject(
            site, by, initials="O" + chr(65 + i), consent_date=today - dt.timedelta(days=200 + i)
        )
        for i in range(n)
    ]


def test_count_upto_counts_to_the_cap_and_says_when_there_are_more(site_a, coordinator_a):
    overdue_subjects(site_a, coordinator_a, 3)
    visits = Visit.objects.filter(subject__site=site_a)
    assert count_upto(visits, 5) == (3, False)
    assert count_upto(visits, 3) == (3, False)  # exactly the cap: not "more"
    assert count_upto(visits, 2) == (2, True)
    with CaptureQueriesContext(connection) as ctx:
        count_upto(visits, 2)
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    assert "LIMIT 3" in sql  # the database stops at cap + 1 rows


def test_a_capped_paginator_pages_up_to_the_cap(site_a, coordinator_a):
    overdue_subjects(site_a, coordinator_a, 3)
    paginator = CappedPaginator(Visit.objects.filter(subject__site=site_a).order_by("id"), 1, 2)
    assert (paginator.count, paginator.capped, paginator.num_pages) == (2, True, 2)
    assert paginator.get_page(5).number == 2  # past the cap: its last page


def test_the_dashboard_and_the_list_say_more_than_the_cap(
    client, site_a, coordinator_a, monkeypatch
):
    overdue_subjects(site_a, coordinator_a, 3)
    client.force_login(coordinator_a)
    html = client.get(reverse("home")).content.decode()
    assert '<div class="stat text-danger" id="stat-overdue">3</div>' in html

    monkeypatch.setattr("subjects.views.COUNT_CAP", 2)
    html = client.get(reverse("home")).content.decode()
    assert '<div class="stat text-danger" id="stat-overdue">2+</div>' in html
    page = client.get(reverse("subjects:visits", args=["overdue"])).content.decode()
    assert "1–2 of more than 2" in page
    assert "Only the first 2 are listed: choose one site to see the others." in page


def test_due_visits_are_listed_by_the_day_their_window_closes(client, site_a, coordinator_a):
    today = site_a.today()
    # a screening window runs from consent to consent + 28 days: a consent 20 days back
    # closes in 8 days, one 25 days back in 3 days: listed first
    later = make_subject(
        site_a, coordinator_a, initials="LAT", consent_date=today - dt.timedelta(20)
    )
    sooner = make_subject(
        site_a, coordinator_a, initials="SON", consent_date=today - dt.timedelta(25)
    )
    client.force_login(coordinator_a)
    response = client.get(reverse("subjects:visits", args=["due"]))
    listed = [v.subject_id for v in response.context["page"].object_list]
    assert listed == [sooner.pk, later.pk]

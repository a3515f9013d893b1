"""No query per row (issue 12 goals 3 and 4): the subject, screening-log, query and visit lists,
pages and API alike, answer in as many SQL queries for 1 row as for 30; a subject's pages
(detail, audit trail) in as many with 1 cycle of visits as with 35; the dashboard's lists are
bounded. Every list is a page of at most 100 rows with its filters kept in the URL, scoped to
the user's sites, and a garbled ``?page=`` is a 400 page or a 422 answer, never a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alter_s006.pagination import MAX_PAGE_SIZE, PAGE_SIZE
from audit.context import audit_context
from queries.models import Query
from subjects import services
from subjects.views import DASHBOARD_SHOWN
from tests.api_errors import error_codes
from tests.dosing.conftest import NOW
from tests.factories import enrol, make_subject
from tests.subjects.test_api import Api

pytestmark = pytest.mark.django_db

D = dt.date
C1D1 = D(2026, 1, 5)  # the dosing subject's (tests/dosing/conftest.py)


def queries_of(call) -> tuple[int, object]:
    """(SQL statements, response) of one request."""
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content[:300]
    return len(captured), response


def register(site, user, n: int) -> list:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [make_subject(site, user, initials="Q" + letters[i % 26] * 2) for i in range(n)]


def page_get(client, user, name, *args, **params):
    client.force_login(user)
    url = reverse(name, args=args)
    client.get(url, params)  # the session, the language and the site switcher settle once
    return lambda: client.get(url, params)


def api_get(client, user, path, **params):
    api = Api(client, user)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    target = f"{path}?{query}" if query else path
    api.get(target)  # the token's first use is recorded once
    return lambda: api.get(target)


def same_for_1_and_30(make_rows, call):
    """The statements of ``call`` with 1 row made, then with 30."""
    make_rows(1)
    one, first = queries_of(call)
    make_rows(29)
    thirty, second = queries_of(call)
    return one, thirty, first, second


# --- the subject list ----------------------------------------------------------------------------


def test_the_subject_list_page_is_flat_and_paginated(client, site_a, coordinator_a):
    call = page_get(client, coordinator_a, "subjects:list", status="screening")
    one, thirty, first, second = same_for_1_and_30(
        lambda n: register(site_a, coordinator_a, n), call
    )
    assert one == thirty
    assert len(first.context["page"].object_list) == 1
    assert len(second.context["page"].object_list) == 30


def test_the_subject_list_page_keeps_its_filter_in_the_page_links(client, site_a, coordinator_a):
    register(site_a, coordinator_a, PAGE_SIZE + 1)
    client.force_login(coordinator_a)
    page = client.get(reverse("subjects:list"), {"status": "screening"}).content.decode()
    assert page.count('id="subject-table"') == 1
    assert len(re.findall(r"<tr><td><a href=\"/subjects/\d+/\">", page)) == PAGE_SIZE
    assert "?status=screening&amp;page=2" in page
    last = client.get(reverse("subjects:list"), {"status": "screening", "page": "2"})
    assert len(last.context["page"].object_list) == 1


def test_the_subjects_api_is_flat_and_says_how_many_there_are(client, site_a, coordinator_a):
    call = api_get(client, coordinator_a, "/subjects", page_size=20)
    one, thirty, first, second = same_for_1_and_30(
        lambda n: register(site_a, coordinator_a, n), call
    )
    assert one == thirty
    assert len(first.json()) == 1 and first["X-Total-Count"] == "1"
    assert len(second.json()) == 20 and second["X-Total-Count"] == "30"
    assert 'page_size=20&page=2>; rel="next"' in second["Link"]
    rest = Api(client, coordinator_a).get("/subjects?page=2&page_size=20")
    assert len(rest.json()) == 10 and 'rel="prev"' in rest["Link"]


def test_the_subjects_api_pages_only_the_users_sites(
    client, site_a, site_b, coordinator_a, coordinator_b
):
    register(site_a, coordinator_a, 3)
    register(site_b, coordinator_b, 1)
    response = Api(client, coordinator_b).get("/subjects?page=1&page_size=2")
    assert response["X-Total-Count"] == "1"
    assert [s["site"] for s in response.json()] == ["SH02"]
    assert Api(client, coordinator_b).get("/subjects?site=GZ01&page=1").json() == []


@pytest.mark.parametrize("value", ["0", "abc", str(10**7), "1.5"])
def test_a_garbled_page_is_422_on_the_api(client, coordinator_a, subject_a, value):
    for path in ("/subjects", f"/subjects/{subject_a.pk}/history", "/screening-log"):
        response = Api(client, coordinator_a).get(f"{path}?page={value}")
        assert "page" in error_codes(response, 422), path
    too_many = Api(client, coordinator_a).get(f"/subjects?page_size={MAX_PAGE_SIZE + 1}")
    assert "page_size" in error_codes(too_many, 422)


@pytest.mark.parametrize("value", ["0", "abc", "-1", "²", str(10**7)])
def test_a_garbled_page_is_a_400_page(client, coordinator_a, subject_a, value):
    client.force_login(coordinator_a)
    for url in (
        reverse("subjects:list"),
        reverse("subjects:history", args=[subject_a.pk]),
        reverse("eligibility:log"),
        reverse("queries:list"),
        reverse("subjects:visits", args=["overdue"]),
    ):
        response = client.get(url, {"page": value})
        assert response.status_code == 400, url
        assert "page" in response.content.decode()


# --- the screening log -----------------------------------------------------------------------


def withdraw(subject, user):
    return services.change_status(
        subject=subject,
        target="withdrawn",
        on_date=subject.site.today(),
        reason="Consent withdrawn",
        by=user,
        expected_version=subject.version,
    )


def test_the_screening_log_page_is_flat_with_counts_over_every_row(
    client, site_a, site_b, coordinator_a, coordinator_b, data_manager
):
    def make(n):
        for subject in register(site_a, coordinator_a, n):
            withdraw(subject, coordinator_a)  # each row has a reason to show

    call = page_get(client, data_manager, "eligibility:log")
    one, thirty, _first, second = same_for_1_and_30(make, call)
    assert one == thirty
    assert [reason for _s, reason in second.context["rows"]] == ["Consent withdrawn"] * 30
    # the counts are the database's over every row, not over the page shown
    register(site_a, coordinator_a, PAGE_SIZE)
    register(site_b, coordinator_b, 2)
    page = client.get(reverse("eligibility:log"), {"page": "2"})
    counts = {c["site__code"]: c for c in page.context["counts"]}
    assert counts["GZ01"]["screened"] == 30 + PAGE_SIZE
    assert counts["GZ01"]["withdrawn_in_screening"] == 30
    assert counts["SH02"]["screened"] == 2
    assert len(page.context["rows"]) == 32 and page.context["page"].paginator.count == 82


def test_the_screening_log_api_is_flat_and_paginated(client, site_a, coordinator_a, data_manager):
    call = api_get(client, data_manager, "/screening-log", page_size=10)
    one, thirty, first, second = same_for_1_and_30(
        lambda n: register(site_a, coordinator_a, n), call
    )
    assert one == thirty
    assert second["X-Total-Count"] == "30" and len(second.json()["rows"]) == 10
    assert second.json()["counts"][0]["screened"] == 30
    assert first["X-Total-Count"] == "1"


def test_the_screening_log_pages_show_another_site_nothing(
    client, site_a, site_b, coordinator_a, coordinator_b
):
    register(site_a, coordinator_a, 3)
    client.force_login(coordinator_b)
    page = client.get(reverse("eligibility:log"), {"page": "1"})
    assert page.context["page"].paginator.count == 0 and page.context["counts"] == []
    api = Api(client, coordinator_b).get("/screening-log?site=GZ01&page=1")
    assert api["X-Total-Count"] == "0" and api.json() == {"rows": [], "counts": []}


# --- the query list --------------------------------------------------------------------------


def raise_queries(subject, user, n: int):
    """``n`` open queries on the subject (the edit checks' path is not the point here)."""
    with transaction.atomic(), audit_context(user=user, reason="test data", subject=subject):
        Query.objects.bulk_create(
            Query(
                subject=subject,
                record_type="subjects.subject",
                record_id=subject.pk,
                field="initials",
                text=f"Check the initials ({i})",
                origin=Query.Origin.MANUAL,
                raised_by=user,
            )
            for i in range(n)
        )


def test_the_query_list_is_flat_and_paginated(client, subject_a, coordinator_a, monitor_a):
    call = page_get(client, monitor_a, "queries:list", status="open")
    one, thirty, first, second = same_for_1_and_30(
        lambda n: raise_queries(subject_a, coordinator_a, n), call
    )
    assert one == thirty
    assert len(first.context["rows"]) == 1 and len(second.context["rows"]) == 30
    raise_queries(subject_a, coordinator_a, PAGE_SIZE)
    page = client.get(reverse("queries:list"), {"status": "open"})
    assert len(page.context["rows"]) == PAGE_SIZE
    assert "?status=open&amp;page=2" in page.content.decode()


def test_the_query_list_shows_another_site_none(client, subject_a, coordinator_a, coordinator_b):
    raise_queries(subject_a, coordinator_a, 2)
    client.force_login(coordinator_b)
    page = client.get(reverse("queries:list"), {"page": "1"})
    assert page.context["page"].paginator.count == 0


# --- a subject's pages: 1 cycle and 35 ---------------------------------------------------------


def on_treatment(site, user):
    with time_machine.travel(NOW.replace(year=2025, month=12, day=20), tick=False):
        subject = make_subject(site, user, sex="M", consent_date=D(2025, 12, 20))
    with time_machine.travel(NOW.replace(year=2026, month=1, day=5), tick=False):
        subject = enrol(subject, by=user, on_date=D(2026, 1, 3), c1d1=C1D1)
        return services.change_status(
            subject=subject,
            target="on_treatment",
            on_date=C1D1,
            reason="",
            by=user,
            expected_version=subject.version,
        )


def record_cycles(subject, user, upto: int):
    for visit in subject.visits.filter(kind="cycle", number__lte=upto, actual_date__isnull=True):
        services.record_visit(
            visit=visit,
            expected_version=visit.version,
            actual_date=visit.target_date,
            missed=False,
            note="",
            by=user,
        )


SUBJECT_PAGES = [
    "subjects:detail",
    "subjects:history",
    "eligibility:screening",
    "dosing:calendar",
    "dosing:accountability",
    "assessments:overview",
    "safety:ae_list",
    "safety:labs",
]


@pytest.mark.parametrize("name", SUBJECT_PAGES)
def test_a_subjects_pages_take_as_many_queries_with_1_cycle_as_with_35(
    client, site_a, coordinator_a, name
):
    subject = on_treatment(site_a, coordinator_a)
    one_cycle = NOW.replace(year=2026, month=1, day=6)
    with time_machine.travel(one_cycle, tick=False):
        record_cycles(subject, coordinator_a, 1)
        one, _ = queries_of(page_get(client, coordinator_a, name, subject.pk))
    later = one_cycle + dt.timedelta(days=34 * 21)
    with time_machine.travel(later, tick=False):
        record_cycles(subject, coordinator_a, 35)
        assert subject.visits.filter(kind="cycle", actual_date__isnull=False).count() == 35
        thirty_five, response = queries_of(page_get(client, coordinator_a, name, subject.pk))
    assert one == thirty_five
    assert response.status_code == 200
    if name == "subjects:detail":
        assert 'data-code="C35D1"' in response.content.decode()


def test_the_visits_and_history_api_take_as_many_queries_with_1_cycle_as_with_35(
    client, site_a, coordinator_a
):
    subject = on_treatment(site_a, coordinator_a)
    paths = [f"/subjects/{subject.pk}/visits", f"/subjects/{subject.pk}/history?page_size=20"]
    one_cycle = NOW.replace(year=2026, month=1, day=6)
    with time_machine.travel(one_cycle, tick=False):
        record_cycles(subject, coordinator_a, 1)
        one = [queries_of(api_get(client, coordinator_a, p))[0] for p in paths]
    with time_machine.travel(one_cycle + dt.timedelta(days=34 * 21), tick=False):
        record_cycles(subject, coordinator_a, 35)
        counted = [queries_of(api_get(client, coordinator_a, p)) for p in paths]
    assert one == [n for n, _response in counted]
    history = counted[1][1]
    assert int(history["X-Total-Count"]) > 20 and len(history.json()) == 20
    assert 'rel="next"' in history["Link"]


def test_the_history_api_pages_by_page_size(client, subject_a, coordinator_a):
    api = Api(client, coordinator_a)
    total = int(api.get(f"/subjects/{subject_a.pk}/history")["X-Total-Count"])
    assert total >= 2
    first = api.get(f"/subjects/{subject_a.pk}/history?page_size=1&kind=created")
    assert len(first.json()) == 1 and "kind=created" in first["Link"]


# --- the dashboard: bounded lists, flat ---------------------------------------------------------


def test_the_dashboard_shows_the_first_overdue_visits_and_a_link_to_all(
    client, site_a, coordinator_a, investigator_a, coordinator_b
):
    subject = on_treatment(site_a, coordinator_a)
    with time_machine.travel(NOW.replace(year=2026, month=1, day=6), tick=False):
        record_cycles(subject, coordinator_a, 1)
        one, few = queries_of(page_get(client, investigator_a, "home"))
    later = NOW.replace(year=2026, month=1, day=6) + dt.timedelta(days=34 * 21)
    with time_machine.travel(later, tick=False):
        many_n, many = queries_of(page_get(client, investigator_a, "home"))
        assert many.context["overdue_count"] >= 30
        assert len(many.context["overdue"]) == DASHBOARD_SHOWN
        html = many.content.decode()
        assert reverse("subjects:visits", args=["overdue"]) in html
        assert f'id="stat-overdue">{many.context["overdue_count"]}<' in html
        # "see all": every overdue visit, a page at a time, as flat as the dashboard
        first_page = page_get(client, investigator_a, "subjects:visits", "overdue")
        n_all, all_visits = queries_of(first_page)
        assert all_visits.context["page"].paginator.count == many.context["overdue_count"]
        client.force_login(coordinator_b)  # another site's overdue visits do not exist
        other = client.get(reverse("subjects:visits", args=["overdue"]))
        assert other.context["page"].paginator.count == 0
        assert client.get(reverse("subjects:visits", args=["nothing"])).status_code == 404
    assert few.context["overdue_count"] < DASHBOARD_SHOWN
    assert one == many_n


def test_the_visit_list_takes_as_many_queries_for_1_row_as_for_30(client, site_a, coordinator_a):
    subject = on_treatment(site_a, coordinator_a)
    start = NOW.replace(year=2026, month=1, day=6)
    with time_machine.travel(start + dt.timedelta(days=34 * 21), tick=False):
        call = page_get(client, coordinator_a, "subjects:visits", "overdue")
        overdue = list(subject.visits.filter(actual_date__isnull=True, latest__lt=D.today()))
        assert len(overdue) >= 30
        with transaction.atomic(), audit_context(reason="test data", subject=subject):
            for visit in overdue[1:]:  # all but one recorded (the schedule is not the point)
                visit.actual_date = visit.target_date
                visit.save(update_fields=["actual_date"])
        one, first = queries_of(call)
        assert first.context["page"].paginator.count == 1
        with transaction.atomic(), audit_context(reason="test data", subject=subject):
            for visit in overdue[1:30]:
                visit.actual_date = None
                visit.save(update_fields=["actual_date"])
        thirty, second = queries_of(call)
        assert second.context["page"].paginator.count == 30
    assert one == thirty


def test_the_dashboards_awaiting_signature_list_is_bounded_and_flat(
    client, site_a, coordinator_a, investigator_a
):
    """Subjects eligible on their stored data and not signed: the first few listed, the count
    of all, in as many queries for 1 as for 30."""
    from eligibility import services as eligibility
    from subjects.selectors import AWAITING_SHOWN
    from tests.factories import add_reference_ranges, eligible_screening_data

    add_reference_ranges(site_a)

    def screened(n):
        for subject in register(site_a, coordinator_a, n):
            eligibility.save_screening(
                subject=subject,
                changes=eligible_screening_data(subject),
                expected_version=None,
                by=coordinator_a,
            )

    call = page_get(client, investigator_a, "home")
    one, thirty, first, second = same_for_1_and_30(screened, call)
    assert one == thirty
    assert first.context["awaiting"].eligibility_count == 1
    assert second.context["awaiting"].eligibility_count == 30
    assert len(second.context["awaiting"].eligibility) == AWAITING_SHOWN
    assert "… 30 in all" in second.content.decode()

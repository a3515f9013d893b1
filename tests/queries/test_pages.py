"""The query pages (issue 14 section 1): raise on a field, the thread and its actions, the
in-place badge and thread of a field, the list's filters / CSV / counts, the metrics, the
subject timeline's counts per visit."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alter_s006.pagination import PAGE_SIZE
from crfs.services import save_crf
from queries import services
from queries.models import Query, QueryMessage
from tests.queries.test_services import _raise

AE = "safety.adverseevent"


def test_raise_page_then_answer_and_close(client, ae, monitor_a, coordinator_a):
    url = reverse("queries:raise", args=[AE, ae.pk])
    client.force_login(monitor_a)
    page = client.get(url, {"field": "onset_date"})
    assert page.status_code == 200 and 'value="onset_date" selected' in page.content.decode()
    refused = client.post(url, {"field": "onset_date", "text": ""})
    assert refused.status_code == 422 and Query.objects.count() == 0
    done = client.post(url, {"field": "onset_date", "text": "Onset per source?"})
    query = Query.objects.get()
    assert done.status_code == 302 and done.url == reverse("queries:detail", args=[query.pk])
    detail = client.get(done.url).content.decode()
    assert "Onset per source?" in detail and 'data-action="cancel"' in detail
    assert " UTC" in detail  # site time and UTC
    assert "Test Monitor_A</strong> · Monitor · raised" in detail  # author, role, action

    client.force_login(coordinator_a)
    detail = client.get(done.url).content.decode()
    assert 'data-action="answer"' in detail and 'data-action="close"' not in detail
    act = reverse("queries:act", args=[query.pk, "answer"])
    assert client.post(act, {"text": ""}).status_code == 422
    assert client.post(reverse("queries:act", args=[query.pk, "close"])).status_code == 403
    assert client.post(act, {"text": "Source says 2026-02-20."}).status_code == 302
    client.force_login(monitor_a)
    assert client.post(reverse("queries:act", args=[query.pk, "close"])).status_code == 302
    query.refresh_from_db()
    assert query.status == "closed"
    assert QueryMessage.objects.filter(query=query).count() == 3


def test_raise_page_refuses_bad_values(client, ae, monitor_a, coordinator_a, coordinator_b):
    client.force_login(monitor_a)
    assert client.get(reverse("queries:raise", args=["auth.user", 1])).status_code == 400
    bad_field = client.get(reverse("queries:raise", args=[AE, ae.pk]), {"field": "password"})
    assert bad_field.status_code == 400 and "field" in bad_field.content.decode()
    assert client.get(reverse("queries:raise", args=[AE, 10**12])).status_code == 404
    client.force_login(coordinator_a)
    assert client.get(reverse("queries:raise", args=[AE, ae.pk])).status_code == 403
    client.force_login(coordinator_b)
    assert client.get(reverse("queries:raise", args=[AE, ae.pk])).status_code == 404
    assert Query.objects.count() == 0


def test_badge_and_thread_in_place_on_the_ae_page(client, ae, monitor_a, coordinator_a):
    _raise(ae, monitor_a)
    client.force_login(coordinator_a)
    page = client.get(reverse("safety:ae", args=[ae.subject_id, ae.pk])).content.decode()
    thread_url = reverse("queries:thread", args=[AE, ae.pk, "onset_date"])
    assert f'hx-get="{thread_url}"' in page and "raise-query" not in page
    fragment = client.get(thread_url).content.decode()
    assert "Onset date per source is 2026-02-18?" in fragment
    client.force_login(monitor_a)
    page = client.get(reverse("safety:ae", args=[ae.subject_id, ae.pk])).content.decode()
    assert "raise-query" in page


def test_thread_of_another_site_is_404(client, ae, monitor_a, coordinator_b):
    _raise(ae, monitor_a)
    client.force_login(coordinator_b)
    url = reverse("queries:thread", args=[AE, ae.pk, "onset_date"])
    assert client.get(url).status_code == 404


def test_badge_on_the_visit_crf_page_and_count_on_the_timeline(
    client, treated, monitor_a, coordinator_a
):
    visit = treated.visits.get(code="SCR")
    exam = save_crf(
        visit=visit,
        form_key="physical_exam",
        by=coordinator_a,
        values={"assessed_on": visit.actual_date or dt.date(2025, 12, 28), "result": "normal"},
    )
    query = services.raise_query(
        user=monitor_a,
        subject=treated,
        record_type="crfs.physicalexam",
        record_id=exam.pk,
        field="result",
        text="Abnormal per source?",
    )
    assert query.visit_id == visit.pk
    client.force_login(coordinator_a)
    page = client.get(
        reverse("crfs:form", args=[treated.pk, visit.pk, "physical_exam"])
    ).content.decode()
    assert reverse("queries:thread", args=["crfs.physicalexam", exam.pk, "result"]) in page
    timeline = client.get(reverse("subjects:detail", args=[treated.pk])).content.decode()
    assert 'data-open-queries="1"' in timeline


def _many(ae, user, n):
    for i in range(n):
        _raise(ae, user, text=f"Query {i}")


def _list_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_the_list_takes_as_many_queries_for_1_row_as_for_30(client, ae, monitor_a):
    client.force_login(monitor_a)
    _many(ae, monitor_a, 1)
    one, _r = _list_queries(client, reverse("queries:list"))
    _many(ae, monitor_a, PAGE_SIZE + 9)
    thirty, response = _list_queries(client, reverse("queries:list"))
    assert one == thirty
    assert response.content.decode().count("data-query=") == PAGE_SIZE  # a page


def test_list_filters_oldest_first_and_csv(client, ae, monitor_a, data_manager):
    _raise(ae, monitor_a, text="First")
    second = _raise(ae, monitor_a, field="grade", text="Second")
    services.cancel(query=second, user=monitor_a, text="Wrong field")
    with connection.cursor() as cursor:  # the first one was raised 10 days ago
        cursor.execute(
            "UPDATE queries_query SET raised_at = now() - interval '10 days' WHERE text = 'First'"
        )
    client.force_login(data_manager)
    page = client.get(reverse("queries:list"), {"status": "all"}).content.decode()
    assert page.index("First") < page.index("Second")
    assert "First" in client.get(reverse("queries:list"), {"age": "8-30"}).content.decode()
    assert "First" not in client.get(reverse("queries:list"), {"age": "0-7"}).content.decode()
    cancelled = client.get(reverse("queries:list"), {"status": "cancelled"}).content.decode()
    assert "Second" in cancelled and "First" not in cancelled
    by_field = client.get(reverse("queries:list"), {"field": "grade", "status": "all"})
    assert "Second" in by_field.content.decode() and "First" not in by_field.content.decode()
    response = client.get(reverse("queries:csv"), {"status": "all", "record_type": AE})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "query_id" and [r[-1] for r in rows[1:]] == ["First", "Second"]
    assert rows[1][10] == "10"  # days open


@pytest.mark.parametrize(
    "params",
    [
        {"status": "zz"},
        {"age": "1-2"},
        {"site": "abc"},
        {"subject": "-1"},
        {"record_type": "auth.user"},
        {"field": "x\x00"},
        {"origin": "robot"},
    ],
)
def test_bad_filters_are_400(client, monitor_a, params):
    client.force_login(monitor_a)
    for name in ("queries:list", "queries:csv"):
        response = client.get(reverse(name), params)
        assert response.status_code == 400
        assert next(iter(params)) in response.content.decode()


def test_another_site_sees_none(client, ae, monitor_a, coordinator_b):
    _raise(ae, monitor_a, text="Hidden")
    client.force_login(coordinator_b)
    assert "Hidden" not in client.get(reverse("queries:list")).content.decode()
    response = client.get(reverse("queries:csv"))
    assert b"Hidden" not in b"".join(response.streaming_content)


def test_metrics_for_monitors_and_data_managers_only(
    client,
    ae,
    monitor_a,
    coordinator_a,
    investigator_a,
    data_manager,
):
    query = _raise(ae, monitor_a)
    services.answer(query=query, user=coordinator_a, text="ok")
    for user in (coordinator_a, investigator_a):
        client.force_login(user)
        assert client.get(reverse("queries:metrics")).status_code == 403
    client.force_login(data_manager)
    page = client.get(reverse("queries:metrics")).content.decode()
    assert 'data-site="GZ01"' in page and "onset" in page.lower()


def test_a_query_on_a_removed_record_stays_listable_and_closable(
    client, ae, monitor_a, coordinator_a
):
    query = _raise(ae, monitor_a, text="About a record since removed")
    Query.objects.filter(pk=query.pk).update(record_id=10**12)  # its record is gone
    query.refresh_from_db()
    client.force_login(monitor_a)
    page = client.get(reverse("queries:list")).content.decode()
    assert "About a record since removed" in page
    assert client.get(reverse("queries:detail", args=[query.pk])).status_code == 200
    query = services.answer(query=query, user=coordinator_a, text="The record was removed.")
    assert services.close(query=query, user=monitor_a).status == "closed"

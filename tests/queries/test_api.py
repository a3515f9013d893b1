"""The query workflow over the API: the same rules and codes as the pages; 403 for a role
that may not, 404 for another site, nothing stored."""

import json

import pytest

from accounts.models import ApiToken
from queries.models import Query, QueryMessage
from tests.queries.test_services import _raise

API = "/api/v1"


def call(client, user, method, url, body=None):
    return client.generic(
        method,
        API + url,
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers={"Authorization": f"Bearer {ApiToken.issue(user)[1]}"},
    )


def codes(response):
    return [e["code"] for e in response.json()["errors"]]


def _raise_body(ae, **extra):
    return {
        "record_type": "safety.adverseevent",
        "record_id": ae.pk,
        "field": "onset_date",
        "text": "Onset per source?",
        **extra,
    }


def _on(ae):
    return f"/subjects/{ae.subject_id}/queries"


def _stored():
    return Query.objects.count(), QueryMessage.objects.count()


def test_the_whole_workflow(client, ae, monitor_a, coordinator_a):
    raised = call(client, monitor_a, "POST", _on(ae), _raise_body(ae, suggested_value="x"))
    assert raised.status_code == 201, raised.content
    body = raised.json()
    assert body["status"] == "open" and body["actions"] == ["cancel"]
    qid = body["id"]
    answered = call(client, coordinator_a, "POST", f"/queries/{qid}/answer", {"text": "ok"})
    assert answered.json()["status"] == "answered"
    sent = call(client, monitor_a, "POST", f"/queries/{qid}/send-back", {"text": "page?"})
    assert sent.json()["status"] == "open"
    call(client, coordinator_a, "POST", f"/queries/{qid}/answer", {"text": "page 3"})
    closed = call(client, monitor_a, "POST", f"/queries/{qid}/close", {})
    assert closed.json()["status"] == "closed"
    reopened = call(client, monitor_a, "POST", f"/queries/{qid}/reopen", {"text": "again"})
    assert reopened.json()["status"] == "open"
    thread = call(client, coordinator_a, "GET", f"/queries/{qid}/thread").json()
    assert [m["action"] for m in thread] == [
        "raise",
        "answer",
        "send_back",
        "answer",
        "close",
        "reopen",
    ]
    assert thread[0]["author_role"] == "monitor" and thread[0]["suggested_value"] == "x"
    listed = call(client, coordinator_a, "GET", "/queries?status=all")
    assert listed.status_code == 200, listed.content
    assert [q["id"] for q in listed.json()] == [qid]
    assert listed["X-Total-Count"] == "1"


def test_refusals_store_nothing(client, ae, monitor_a, coordinator_a, coordinator_b):
    before = _stored()
    assert call(client, coordinator_a, "POST", _on(ae), _raise_body(ae)).status_code == 403
    assert call(client, coordinator_b, "POST", _on(ae), _raise_body(ae)).status_code == 404
    refused = call(client, monitor_a, "POST", _on(ae), _raise_body(ae, field="nope"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "field"
    empty = call(client, monitor_a, "POST", _on(ae), _raise_body(ae, text=""))
    assert empty.status_code == 422 and "required" in codes(empty)
    assert _stored() == before
    query = _raise(ae, monitor_a)
    before = _stored()
    url = f"/queries/{query.pk}"
    assert call(client, coordinator_a, "POST", url + "/close", {}).status_code == 403
    assert call(client, monitor_a, "POST", url + "/answer", {"text": "x"}).status_code == 403
    assert call(client, coordinator_b, "POST", url + "/answer", {"text": "x"}).status_code == 404
    assert call(client, coordinator_b, "GET", url).status_code == 404
    state = call(client, monitor_a, "POST", url + "/close", {})
    assert state.status_code == 422 and codes(state) == ["query_state"]
    no_text = call(client, coordinator_a, "POST", url + "/answer", {"text": ""})
    assert no_text.status_code == 422 and codes(no_text) == ["required"]
    confirmed = call(client, monitor_a, "POST", url + "/close-confirmed", {"text": "src"})
    assert confirmed.status_code == 422 and codes(confirmed) == ["query_state"]
    assert _stored() == before


@pytest.mark.parametrize("params", ["status=zz", "age=1-2", "site=x", "record_type=auth.user"])
def test_bad_filters_are_422_naming_the_parameter(client, monitor_a, params):
    response = call(client, monitor_a, "GET", f"/queries?{params}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == params.split("=")[0]


def test_the_list_takes_as_many_queries_for_1_row_as_for_30(
    client, ae, monitor_a, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _raise(ae, monitor_a)
    token = {"Authorization": f"Bearer {ApiToken.issue(monitor_a)[1]}"}
    client.get(API + "/sites", headers=token)  # the token's first use is written
    with CaptureQueriesContext(connection) as one:
        assert client.get(API + "/queries", headers=token).status_code == 200
    for i in range(29):
        _raise(ae, monitor_a, text=f"q{i}")
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(API + "/queries", headers=token)
    assert len(response.json()) == 30
    assert len(one.captured_queries) == len(thirty.captured_queries)

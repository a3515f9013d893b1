"""Issue 10: bad input is a clear 4xx, never a 500, and every API error is JSON of one shape,
``{"errors": [{"field", "code", "message"}]}`` (``field`` null for the request as a whole)."""

from __future__ import annotations

import json
import re
import socket

import pytest
from django.db import connection

from accounts.models import ApiToken
from alter_s006 import api_types
from safety import services as safety
from safety.models import AdverseEvent, CtcaeTerm
from subjects.models import Subject
from tests.api_errors import error_codes, error_message, error_messages
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.factories import PASSWORD
from tests.subjects.test_api import API, Api, new_subject


@pytest.fixture
def api(client, coordinator_a):
    return Api(client, coordinator_a)


@pytest.fixture
def ctcae(db):
    if not CtcaeTerm.objects.exists():
        safety.load_ctcae()


def raw(client, method, path, body: str | bytes, token, content_type="application/json"):
    """Send ``body`` exactly as given (invalid JSON, lone surrogates, other media types)."""
    return client.generic(
        method,
        API + path,
        data=body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def assert_json_error(response, status):
    """{field: [messages]} of a 422; the one message of any other error."""
    if status == 422:
        return error_messages(response, 422)
    return error_message(response, status)


# --- 10.6: NUL, lone surrogates, wrong JSON types, oversized bodies ---------------------------


def test_nul_in_a_body_string_is_422_on_that_field_and_stores_nothing(api, site_a):
    response = api.post("/subjects", new_subject(initials="A\u0000B"))
    assert assert_json_error(response, 422) == {
        "initials": ["NUL characters (\\u0000) are not allowed."]
    }
    assert error_codes(response) == {"initials": ["nul_character"]}
    assert not Subject.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("/ctcae/terms?q=%00", "q", id="ctcae-search"),
        pytest.param("/ctcae/terms?q=neutro%00phil", "q", id="ctcae-search-inside"),
        pytest.param("/subjects?site=%00", "site", id="subject-list-site"),
    ],
)
def test_nul_in_a_query_parameter_is_422_on_that_parameter(api, ctcae, query, field):
    detail = assert_json_error(api.get(query), 422)
    assert detail == {field: ["NUL characters (\\u0000) are not allowed."]}


def test_a_lone_surrogate_in_json_is_422_on_that_field(client, coordinator_a, site_a):
    token = ApiToken.issue(coordinator_a)[1]
    body = json.dumps(new_subject()).replace('"hyq"', '"\\ud800"')  # the JSON escape itself
    assert "\\ud800" in body
    response = raw(client, "POST", "/subjects", body, token)
    assert assert_json_error(response, 422) == {
        "initials": ["Not valid Unicode (a lone surrogate)."]
    }
    assert not Subject.objects.exists()


@pytest.mark.parametrize(
    "value", [[2024, 1, 1], {"year": 2024}, 0, 1700000000, "2024-01-01T00:00:00", "20240101"]
)
def test_a_date_must_be_a_yyyy_mm_dd_string(api, site_a, value):
    response = api.post("/subjects", new_subject(consent_date=value))
    assert assert_json_error(response, 422) == {"consent_date": ["Enter a date as YYYY-MM-DD."]}
    assert error_codes(response) == {"consent_date": ["date_format"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"initials": 123}, "initials", id="number-as-text"),
        pytest.param({"initials": True}, "initials", id="bool-as-text"),
        pytest.param({"initials": ["A", "B"]}, "initials", id="list-as-text"),
        pytest.param({"year_of_birth": "1980"}, "year_of_birth", id="text-as-int"),
        pytest.param({"year_of_birth": 1980.0}, "year_of_birth", id="float-as-int"),
        pytest.param({"year_of_birth": True}, "year_of_birth", id="bool-as-int"),
    ],
)
def test_values_are_not_coerced_between_json_types(api, site_a, change, field):
    response = api.post("/subjects", new_subject(date_of_birth=None, **change))
    assert list(assert_json_error(response, 422)) == [field]
    assert not Subject.objects.exists()


def test_a_boolean_must_be_true_or_false(api, subject_a):
    visit = subject_a.visits.get(code="SCR")
    response = api.patch(f"/visits/{visit.pk}", {"version": visit.version, "missed": "yes"})
    assert list(assert_json_error(response, 422)) == ["missed"]


def test_a_body_over_the_upload_limit_is_a_json_413(client, coordinator_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    token = ApiToken.issue(coordinator_a)[1]
    body = json.dumps(new_subject(consent_version="x" * 2000))
    detail = assert_json_error(raw(client, "POST", "/subjects", body, token), 413)
    assert "1000 bytes" in detail
    assert not Subject.objects.exists()


# --- 10.8: bounded numbers and dates ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"analyte": "anc", "value": 1e999, "unit": "10^9/L", "lln": 1.8}',
        '{"analyte": "anc", "value": "1e999", "unit": "10^9/L", "lln": 1.8}',
        '{"analyte": "anc", "value": -1e999, "unit": "10^9/L", "lln": 1.8}',
        '{"analyte": "anc", "value": "\u0660.\u0668", "unit": "10^9/L", "lln": 1.8}',
    ],
    ids=["1e999", "1e999-as-text", "minus-1e999", "arabic-indic-digits"],
)
def test_grading_refuses_non_finite_and_non_ascii_numbers(client, coordinator_a, body):
    token = ApiToken.issue(coordinator_a)[1]
    detail = assert_json_error(raw(client, "POST", "/grading", body.encode(), token), 422)
    assert list(detail) == ["value"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(client, coordinator_a, constant):
    token = ApiToken.issue(coordinator_a)[1]
    body = f'{{"analyte": "anc", "value": {constant}, "unit": "10^9/L", "lln": 1.8}}'
    detail = assert_json_error(raw(client, "POST", "/grading", body, token), 400)
    assert detail.startswith("The body is not valid JSON")


def test_grading_still_takes_ascii_numbers_and_dipstick_readings(api):
    body = {"analyte": "anc", "value": "0.8", "unit": "10^9/L", "lln": 1.8}
    assert api.post("/grading", body).json()["grade"] == 3
    assert api.post("/grading", {**body, "value": 0.8}).json()["grade"] == 3
    dipstick = {"analyte": "urine_protein_dipstick", "value": "2+", "unit": "dipstick"}
    assert api.post("/grading", dipstick).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("start=0", "start", id="zero-is-not-1970"),
        pytest.param("start=1700000000", "start", id="timestamp"),
        pytest.param("end=2026-02-30", "end", id="no-such-day"),
        pytest.param("start=1899-12-31", "start", id="before-1900"),
        pytest.param("end=9999-12-31", "end", id="far-future"),
        pytest.param("start=%D9%A2%D9%A0%D9%A2%D9%A6-01-05", "start", id="arabic-indic-digits"),
    ],
)
def test_calendar_dates_are_iso_and_bounded(api, subject_a, query, field):
    response = api.get(f"/subjects/{subject_a.pk}/dosing/calendar?{query}")
    assert list(assert_json_error(response, 422)) == [field]


def test_the_documented_date_pattern_spans_the_date_bounds():
    pattern = re.compile(api_types.DATE_PATTERN)
    low, high = api_types.DATE_MIN, api_types.DATE_MAX
    assert pattern.match(low.isoformat()) and pattern.match(high.isoformat())
    assert not pattern.match(f"{low.year - 1}-12-31")
    assert not pattern.match(f"{high.year + 1}-01-01")


@pytest.mark.parametrize(
    "limit", ["-1", "0", "101", "3.0", "%D9%A3", "1e2", "true"], ids=lambda v: f"limit={v}"
)
def test_the_term_search_limit_is_a_whole_number_from_1_to_100(api, ctcae, limit):
    response = api.get(f"/ctcae/terms?q=pain&limit={limit}")
    assert list(assert_json_error(response, 422)) == ["limit"]
    assert len(api.get("/ctcae/terms?q=pain&limit=100").json()) > 20


@pytest.mark.parametrize("value", ["yes", "1", "True", ""])
def test_the_overdue_filter_is_true_or_false(api, value):
    assert list(assert_json_error(api.get(f"/sae-reports?overdue={value}"), 422)) == ["overdue"]
    assert api.get("/sae-reports?overdue=true").status_code == 200


@pytest.mark.parametrize("subject_id", ["0", "-1", "1.0", "%D9%A3", "9223372036854775808"])
def test_a_record_id_in_the_path_is_a_positive_ascii_integer(api, site_a, subject_id):
    response = api.get(f"/subjects/{subject_id}")
    assert list(assert_json_error(response, 422)) == ["subject_id"]


def test_an_unknown_query_parameter_is_422_not_ignored(api, ctcae):
    detail = assert_json_error(api.get("/ctcae/terms?q=pain&limt=5"), 422)
    assert detail == {"limt": ["Unknown query parameter; this operation takes: q, limit."]}


def test_an_unknown_subject_status_filter_is_422(api, subject_a):
    assert list(assert_json_error(api.get("/subjects?status=nonsense"), 422)) == ["status"]
    assert [s["id"] for s in api.get("/subjects?status=screening").json()] == [subject_a.pk]


# --- 10.10: the same JSON shape for every error ---------------------------------------------


def test_a_body_that_is_not_json_is_415(client, coordinator_a):
    token = ApiToken.issue(coordinator_a)[1]
    form = "site=GZ01&sex=F"
    for content_type in ("application/x-www-form-urlencoded", "text/plain"):
        response = raw(client, "POST", "/subjects", form, token, content_type=content_type)
        assert assert_json_error(response, 415) == "Send the body as application/json."
    assert not Subject.objects.exists()


def test_malformed_json_is_a_json_400(client, coordinator_a):
    token = ApiToken.issue(coordinator_a)[1]
    response = raw(client, "POST", "/subjects", '{"site": ', token)
    assert assert_json_error(response, 400).startswith("The body is not valid JSON")
    assert error_codes(response, 400) == {None: ["invalid_json"]}


def test_an_unknown_path_or_method_is_json(api, client, subject_a):
    assert assert_json_error(api.get("/no/such/endpoint"), 404) == "Not Found"
    assert assert_json_error(client.post(f"{API}/nothing-here"), 404) == "Not Found"
    response = api.send("DELETE", f"/subjects/{subject_a.pk}", {})
    assert assert_json_error(response, 405) == "Method not allowed."
    assert error_codes(response, 405) == {None: ["method_not_allowed"]}
    assert error_codes(api.get("/no/such/endpoint"), 404) == {None: ["not_found"]}
    assert set(response["Allow"].split(", ")) == {"GET", "PATCH"}


@pytest.mark.django_db(transaction=True)
def test_a_database_outage_is_a_json_503(client, coordinator_a):
    token = ApiToken.issue(coordinator_a)[1]
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    try:
        response = Api(client, token=token).get("/subjects")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert assert_json_error(response, 503).startswith("The database is not available")
    assert response["Retry-After"] == "30"
    assert Api(client, token=token).get("/subjects").status_code == 200  # back again


@pytest.fixture
def adverse_event(treated, coordinator_a, ctcae):  # noqa: F811
    return safety.record_ae(
        subject=treated,
        by=coordinator_a,
        term=CtcaeTerm.objects.get(term="Hypertension"),
        grade=2,
        onset_date=treated.c1d1_date,
        ongoing=True,
        outcome=AdverseEvent.Outcome.NOT_RECOVERED,
    )


def test_a_locked_account_is_a_json_429_and_its_token_is_refused_until_unlocked(
    client, investigator_a, adverse_event, settings
):
    token = ApiToken.issue(investigator_a)[1]
    investigator = Api(client, token=token)
    path = f"/adverse-events/{adverse_event.pk}/causality"
    body = {"version": adverse_event.version, "relationship": "possible", "password": "wrong"}
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert list(assert_json_error(investigator.post(path, body), 422)) == ["password"]
    locked = investigator.post(path, body)  # the attempt that locks the account
    assert assert_json_error(locked, 429).startswith("This account is locked")
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # While locked, the token opens nothing, even with the right password.
    assert_json_error(investigator.get(f"/adverse-events/{adverse_event.pk}"), 429)
    assert_json_error(investigator.post(path, {**body, "password": PASSWORD}), 429)
    adverse_event.refresh_from_db()
    assert not adverse_event.causality_signed
    from axes.utils import reset

    reset(username="inv_a")
    assert investigator.get(f"/adverse-events/{adverse_event.pk}").status_code == 200


# --- 10.13: every status code in the document -----------------------------------------------


def test_every_operation_documents_its_error_codes(client, db):
    document = client.get(f"{API}/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"errors"}
    item = schemas["Error"]["properties"]["errors"]["items"]
    assert set(item["required"]) == {"field", "code", "message"}
    assert set(schemas["EditConflict"]["required"]) == {"errors", "current_version", "differences"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = {int(c) for c in operation["responses"]}
            where = f"{method.upper()} {path}"
            assert {401, 403, 429, 503} <= codes, where
            if "{" in path:
                assert {404, 422} <= codes, where
            if "requestBody" in operation:
                assert {400, 413, 415, 422} <= codes, where
                ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                if "version" in schemas[ref.rsplit("/", 1)[-1]]["properties"]:
                    assert 409 in codes, where


def test_every_schema_of_the_api_has_its_own_name():
    """Two schemas of one name are one component in the OpenAPI document: the second
    silently replaced the first (the SAE signature replaced the eligibility signature, and
    the eligibility answer no longer matched its document)."""
    from ninja import Schema

    from alter_s006.api import api

    api.get_openapi_schema()  # imports every router's schemas
    seen: dict[str, str] = {}

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.split(".")[0] in {
                "accounts", "alter_s006", "assessments", "dosing", "eligibility", "safety",
                "subjects", "queries", "audit", "outbox",
            }:  # fmt: skip
                where = f"{sub.__module__}.{sub.__qualname__}"
                assert seen.setdefault(sub.__name__, where) == where, (seen[sub.__name__], where)
            walk(sub)

    walk(Schema)

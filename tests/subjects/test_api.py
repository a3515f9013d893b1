"""The REST API under /api/v1/: bearer tokens, site scoping, registration, corrections,
status changes and visits, and a valid OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from openapi_spec_validator import validate

from accounts.models import ApiToken
from subjects.models import Subject, Visit
from tests.api_errors import error_codes, error_message, error_messages
from tests.factories import make_subject, sign_eligible

API = "/api/v1"


class Api:
    """A test client that speaks JSON with one user's bearer token."""

    def __init__(self, client, user=None, token=None):
        self.client = client
        self.token = token if token is not None else (ApiToken.issue(user)[1] if user else None)

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path):
        return self.client.get(API + path, headers=self._headers())

    def send(self, method, path, body):
        return self.client.generic(
            method,
            API + path,
            data=json.dumps(body, default=str),
            content_type="application/json",
            headers=self._headers(),
        )

    def post(self, path, body):
        return self.send("POST", path, body)

    def patch(self, path, body):
        return self.send("PATCH", path, body)


@pytest.fixture
def api_a(client, coordinator_a):
    return Api(client, coordinator_a)


def new_subject(site_code="GZ01", **overrides):
    return {
        "site": site_code,
        "sex": "F",
        "date_of_birth": "1979-11-23",
        "initials": "hyq",
        "consent_date": (timezone.localdate() - dt.timedelta(days=2)).isoformat(),
        "consent_version": "2.1",
        **overrides,
    }


# --- authentication ------------------------------------------------------------------------


def test_request_without_token_is_401(client, subject_a):
    assert Api(client).get("/subjects").status_code == 401
    assert Api(client).get(f"/subjects/{subject_a.pk}").status_code == 401


def test_logged_in_session_without_token_is_401(client, coordinator_a, subject_a):
    client.force_login(coordinator_a)
    assert client.get(f"{API}/subjects/{subject_a.pk}").status_code == 401


def test_wrong_token_is_401(client, coordinator_a, subject_a):
    ApiToken.issue(coordinator_a)
    assert Api(client, token="alt_not-a-token-anyone-was-given").get("/subjects").status_code == 401


def test_revoked_token_is_401(client, coordinator_a, subject_a):
    token, key = ApiToken.issue(coordinator_a)
    api = Api(client, token=key)
    assert api.get("/subjects").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api.get("/subjects").status_code == 401


def test_token_of_deactivated_user_is_401(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    coordinator_a.is_active = False
    coordinator_a.save()
    assert api.get("/subjects").status_code == 401


def test_token_use_is_recorded(client, coordinator_a):
    token, key = ApiToken.issue(coordinator_a)
    assert token.last_used_at is None
    Api(client, token=key).get("/sites")
    token.refresh_from_db()
    assert token.last_used_at is not None


# --- sites: scoping ------------------------------------------------------------------------


def test_sites_lists_only_the_users_sites(client, coordinator_b, site_a):
    body = Api(client, coordinator_b).get("/sites").json()
    assert [s["code"] for s in body] == ["SH02"]


def test_subjects_list_is_scoped_to_visible_sites(
    client, coordinator_b, data_manager, subject_a, subject_b
):
    as_b = Api(client, coordinator_b).get("/subjects").json()
    assert [s["screening_number"] for s in as_b] == ["SH02-S001"]
    as_dm = Api(client, data_manager).get("/subjects").json()
    assert [s["screening_number"] for s in as_dm] == ["GZ01-S001", "SH02-S001"]
    filtered = Api(client, coordinator_b).get("/subjects?site=GZ01").json()
    assert filtered == []


def test_other_site_subject_is_404(client, coordinator_b, subject_a):
    api = Api(client, coordinator_b)
    visit = subject_a.visits.get(code="SCR")
    responses = {
        "GET subject": api.get(f"/subjects/{subject_a.pk}"),
        "PATCH subject": api.patch(
            f"/subjects/{subject_a.pk}",
            {"version": subject_a.version, "reason": "x", "initials": "AAA"},
        ),
        "GET visits": api.get(f"/subjects/{subject_a.pk}/visits"),
        "GET history": api.get(f"/subjects/{subject_a.pk}/history"),
        "POST transition": api.post(
            f"/subjects/{subject_a.pk}/transitions",
            {"version": subject_a.version, "target": "withdrawn", "on_date": "2020-01-01"},
        ),
        "PATCH visit": api.patch(
            f"/visits/{visit.pk}", {"version": visit.version, "actual_date": "2020-01-01"}
        ),
    }
    assert {k: r.status_code for k, r in responses.items()} == dict.fromkeys(responses, 404)
    assert "GZ01" not in "".join(r.content.decode() for r in responses.values())
    subject_a.refresh_from_db()
    assert (subject_a.initials, subject_a.version, subject_a.status) == ("ZWL", 1, "screening")


def test_monitor_patch_is_403_and_changes_nothing(client, monitor_a, subject_a):
    api = Api(client, monitor_a)
    assert api.get(f"/subjects/{subject_a.pk}").status_code == 200
    response = api.patch(
        f"/subjects/{subject_a.pk}", {"version": 1, "reason": "Typo", "initials": "ZWM"}
    )
    assert error_message(response, 403) == "Your role does not allow this."
    subject_a.refresh_from_db()
    assert subject_a.initials == "ZWL"


# --- registration --------------------------------------------------------------------------


def test_create_subject_gets_site_prefixed_screening_number(client, coordinator_a):
    api = Api(client, coordinator_a)
    response = api.post("/subjects", new_subject())
    assert response.status_code == 201
    body = response.json()
    assert body["screening_number"] == "GZ01-S001"
    assert body["site"] == "GZ01"
    assert body["initials"] == "HYQ"
    assert body["status"] == "screening"
    assert body["subject_number"] is None
    second = api.post("/subjects", new_subject(initials="ABD")).json()
    assert second["screening_number"] == "GZ01-S002"
    visits = api.get(f"/subjects/{body['id']}/visits").json()
    assert [v["code"] for v in visits] == ["SCR"]


def test_create_subject_at_unknown_site_is_422_on_site(client, coordinator_a):
    response = Api(client, coordinator_a).post("/subjects", new_subject("XX99"))
    assert error_codes(response) == {"site": ["unknown_site"]}
    assert error_messages(response) == {
        "site": ["Choose one of your sites; that site is unknown or not yours."]
    }
    assert not Subject.objects.exists()


def test_create_subject_at_another_users_site_looks_like_an_unknown_site(
    client, coordinator_a, site_b
):
    response = Api(client, coordinator_a).post("/subjects", new_subject("SH02"))
    assert error_codes(response) == {"site": ["unknown_site"]}
    assert not Subject.objects.exists()


def test_create_subject_with_invalid_data_names_the_fields(client, coordinator_a):
    future = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    response = Api(client, coordinator_a).post(
        "/subjects", new_subject(initials="1", consent_date=future)
    )
    # the model's own check of the initials beside the clinical check of the consent date
    assert error_codes(response) == {"initials": ["invalid"], "consent_date": ["future_date"]}
    assert not Subject.objects.exists()


def test_create_subject_without_a_required_field_is_422_on_that_field(client, coordinator_a):
    body = new_subject()
    del body["consent_date"]
    response = Api(client, coordinator_a).post("/subjects", body)
    assert error_codes(response) == {"consent_date": ["missing"]}


def test_monitor_cannot_register_a_subject(client, monitor_a):
    response = Api(client, monitor_a).post("/subjects", new_subject())
    assert response.status_code == 403
    assert not Subject.objects.exists()


# --- corrections ---------------------------------------------------------------------------


def test_patch_corrects_the_subject_and_bumps_the_version(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    response = api.patch(
        f"/subjects/{subject_a.pk}",
        {"version": 1, "reason": "Initials misread", "initials": "zwm"},
    )
    assert response.status_code == 200
    assert (response.json()["initials"], response.json()["version"]) == ("ZWM", 2)
    history = api.get(f"/subjects/{subject_a.pk}/history").json()
    update = [e for e in history if e["action"] == "UPDATE"][-1]
    assert update["reason"] == "Initials misread"
    assert update["app_username"] == "coord_a"
    assert (update["old_data"]["initials"], update["new_data"]["initials"]) == ("ZWL", "ZWM")


def test_patch_without_reason_is_422_on_reason(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    missing = api.patch(f"/subjects/{subject_a.pk}", {"version": 1, "initials": "ZWM"})
    blank = api.patch(
        f"/subjects/{subject_a.pk}", {"version": 1, "reason": "  ", "initials": "ZWM"}
    )
    assert error_codes(missing) == {"reason": ["missing"]}
    assert error_codes(blank) == {"reason": ["required"]}
    subject_a.refresh_from_db()
    assert subject_a.initials == "ZWL"


def test_patch_without_version_is_422_on_version(client, coordinator_a, subject_a):
    response = Api(client, coordinator_a).patch(
        f"/subjects/{subject_a.pk}", {"reason": "Typo", "initials": "ZWM"}
    )
    assert error_codes(response) == {"version": ["missing"]}


def test_stale_patch_is_409_with_differences(client, coordinator_a, investigator_a, subject_a):
    first = Api(client, investigator_a).patch(
        f"/subjects/{subject_a.pk}", {"version": 1, "reason": "Typo", "initials": "ZWM"}
    )
    assert first.status_code == 200
    stale = Api(client, coordinator_a).patch(
        f"/subjects/{subject_a.pk}", {"version": 1, "reason": "Other typo", "initials": "ZWK"}
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] == 2
    assert body["differences"] == [{"field": "initials", "stored": "ZWM", "submitted": "ZWK"}]
    subject_a.refresh_from_db()
    assert subject_a.initials == "ZWM"


def test_patch_refuses_the_site_or_status_and_changes_nothing(
    client, coordinator_a, site_b, subject_a
):
    """Issue 10.7: an unknown field is refused (422), as on every other endpoint."""
    response = Api(client, coordinator_a).patch(
        f"/subjects/{subject_a.pk}",
        {"version": 1, "reason": "Move", "initials": "XYZ", "site": "SH02", "status": "enrolled"},
    )
    assert error_codes(response) == {"site": ["extra_forbidden"], "status": ["extra_forbidden"]}
    subject_a.refresh_from_db()
    assert (subject_a.site.code, subject_a.status, subject_a.initials) == (
        "GZ01",
        "screening",
        "ZWL",
    )
    assert subject_a.version == 1


def test_registration_refuses_unknown_fields_and_stores_nothing(client, coordinator_a):
    """Issue 10.7: ``status`` and ``created_by`` were dropped silently; now refused."""
    response = Api(client, coordinator_a).post(
        "/subjects", new_subject(status="enrolled", created_by="dm")
    )
    assert error_codes(response) == {
        "status": ["extra_forbidden"],
        "created_by": ["extra_forbidden"],
    }
    assert not Subject.objects.exists()


# --- status changes ------------------------------------------------------------------------


def test_enrolment_with_c1d1_creates_cycle_visits(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    today = subject_a.site.today()
    c1d1 = today + dt.timedelta(days=5)
    sign_eligible(subject_a, planned_c1d1=c1d1)
    response = api.post(
        f"/subjects/{subject_a.pk}/transitions",
        {"version": 1, "target": "enrolled", "on_date": today, "c1d1": c1d1},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["subject_number"], body["c1d1_date"]) == (
        "enrolled",
        "GZ01-001",
        c1d1.isoformat(),
    )
    assert body["version"] == 2
    visits = {v["code"]: v for v in api.get(f"/subjects/{subject_a.pk}/visits").json()}
    assert visits["C1D1"]["target_date"] == c1d1.isoformat()
    assert visits["C2D1"]["target_date"] == (c1d1 + dt.timedelta(days=21)).isoformat()
    assert visits["TA1"]["target_date"] == (c1d1 + dt.timedelta(days=42)).isoformat()
    history = api.get(f"/subjects/{subject_a.pk}/history").json()
    assert any(
        e["table_name"] == "subjects_statuschange" and e["new_data"]["to_status"] == "enrolled"
        for e in history
    )


def test_enrolment_without_a_signed_verdict_is_422(client, coordinator_a, subject_a):
    response = Api(client, coordinator_a).post(
        f"/subjects/{subject_a.pk}/transitions",
        {"version": 1, "target": "enrolled", "on_date": subject_a.site.today()},
    )
    assert error_messages(response) == {"target": ["Enter the screening data first."]}
    subject_a.refresh_from_db()
    assert subject_a.status == "screening"


def test_transition_the_lifecycle_forbids_is_422_on_target(client, coordinator_a, subject_a):
    response = Api(client, coordinator_a).post(
        f"/subjects/{subject_a.pk}/transitions",
        {"version": 1, "target": "completed", "on_date": subject_a.site.today()},
    )
    assert error_codes(response) == {"target": ["transition_not_allowed"]}


def test_unknown_target_status_is_422_on_target(client, coordinator_a, subject_a):
    response = Api(client, coordinator_a).post(
        f"/subjects/{subject_a.pk}/transitions",
        {"version": 1, "target": "cured", "on_date": subject_a.site.today()},
    )
    assert list(error_codes(response)) == ["target"]  # pydantic's enum check
    subject_a.refresh_from_db()
    assert subject_a.status == "screening"


def test_transition_reason_with_angle_brackets_is_stored_as_written(
    client, coordinator_a, subject_a
):
    """Issue 10.9: "ANC < 0.5" is clinical wording; the pages escape whatever is stored."""
    reason = "ANC < 0.5 at screening <script>alert(1)</script>"
    response = Api(client, coordinator_a).post(
        f"/subjects/{subject_a.pk}/transitions",
        {
            "version": 1,
            "target": "screen_failed",
            "on_date": subject_a.site.today(),
            "reason": reason,
        },
    )
    assert response.status_code == 200, response.content
    subject_a.refresh_from_db()
    assert subject_a.status == "screen_failed"
    assert subject_a.status_changes.latest("recorded_at").reason == reason


def test_stale_transition_is_409(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    api.patch(f"/subjects/{subject_a.pk}", {"version": 1, "reason": "Typo", "initials": "ZWM"})
    response = api.post(
        f"/subjects/{subject_a.pk}/transitions",
        {"version": 1, "target": "withdrawn", "on_date": subject_a.site.today(), "reason": "x"},
    )
    assert response.status_code == 409
    assert response.json()["differences"] == [
        {"field": "status", "stored": "screening", "submitted": "withdrawn"}
    ]
    subject_a.refresh_from_db()
    assert subject_a.status == "screening"


# --- visits --------------------------------------------------------------------------------


def test_visits_list_returns_status(client, coordinator_a, site_a):
    today = site_a.today()
    subject = make_subject(site_a, coordinator_a, consent_date=today - dt.timedelta(days=40))
    visits = Api(client, coordinator_a).get(f"/subjects/{subject.pk}/visits").json()
    assert [(v["code"], v["status"]) for v in visits] == [("SCR", "overdue")]
    assert visits[0]["actual_date"] is None
    assert visits[0]["days_outside_window"] is None


def test_patch_visit_records_actual_date(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    visit = subject_a.visits.get(code="SCR")
    today = subject_a.site.today()
    response = api.patch(
        f"/visits/{visit.pk}", {"version": visit.version, "actual_date": today, "note": "fasting"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["actual_date"], body["status"], body["note"]) == (
        today.isoformat(),
        "done",
        "fasting",
    )
    assert body["days_outside_window"] == 0
    visit.refresh_from_db()
    assert visit.actual_date == today


def test_patch_visit_in_the_future_is_422(client, coordinator_a, subject_a):
    visit = subject_a.visits.get(code="SCR")
    tomorrow = subject_a.site.today() + dt.timedelta(days=1)
    response = Api(client, coordinator_a).patch(
        f"/visits/{visit.pk}", {"version": visit.version, "actual_date": tomorrow}
    )
    assert error_codes(response) == {"actual_date": ["future_date"]}
    visit.refresh_from_db()
    assert visit.actual_date is None


def test_changing_a_recorded_visit_needs_a_reason(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    visit = subject_a.visits.get(code="SCR")
    today = subject_a.site.today()
    api.patch(f"/visits/{visit.pk}", {"version": 1, "actual_date": today})
    yesterday = today - dt.timedelta(days=1)
    no_reason = api.patch(f"/visits/{visit.pk}", {"version": 2, "actual_date": yesterday})
    assert error_codes(no_reason) == {"reason": ["required"]}
    with_reason = api.patch(
        f"/visits/{visit.pk}", {"version": 2, "actual_date": yesterday, "reason": "Wrong day"}
    )
    assert with_reason.status_code == 200
    assert Visit.objects.get(pk=visit.pk).actual_date == yesterday


def test_stale_visit_patch_is_409(client, coordinator_a, subject_a):
    api = Api(client, coordinator_a)
    visit = subject_a.visits.get(code="SCR")
    today = subject_a.site.today()
    api.patch(f"/visits/{visit.pk}", {"version": 1, "actual_date": today})
    response = api.patch(f"/visits/{visit.pk}", {"version": 1, "missed": True, "reason": "x"})
    assert response.status_code == 409
    assert response.json()["current_version"] == 2


# --- documentation -------------------------------------------------------------------------


def test_openapi_document_is_valid_openapi_3(client, db):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)  # raises if the document is not valid OpenAPI
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    paths = document["paths"]
    assert {"get", "post"} <= set(paths[f"{API}/subjects"])
    target = paths[f"{API}/subjects/{{subject_id}}/transitions"]["post"]
    assert target["requestBody"]["content"]["application/json"]["schema"]


def test_interactive_docs_answer_200(client, db):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


# --- one validation path (issue 11 A1): the service's codes, without the page form -----------


def test_a_correction_the_clinical_checks_refuse_is_422_with_their_code(
    client, coordinator_a, subject_a
):
    tomorrow = subject_a.site.today() + dt.timedelta(days=1)
    response = Api(client, coordinator_a).patch(
        f"/subjects/{subject_a.pk}",
        {"version": 1, "reason": "Typo", "date_of_birth": tomorrow},
    )
    assert error_codes(response)["date_of_birth"] == ["future_date"]
    subject_a.refresh_from_db()
    assert (subject_a.version, subject_a.date_of_birth) == (1, dt.date(1980, 5, 17))


def test_a_transition_reason_over_500_characters_is_422_on_reason(client, coordinator_a, subject_a):
    response = Api(client, coordinator_a).post(
        f"/subjects/{subject_a.pk}/transitions",
        {
            "version": 1,
            "target": "withdrawn",
            "on_date": subject_a.site.today(),
            "reason": "x" * 501,
        },
    )
    assert error_codes(response) == {"reason": ["max_length"]}
    subject_a.refresh_from_db()
    assert subject_a.status == "screening"


def test_a_visit_note_over_500_characters_is_422_on_note_and_a_visit_missed_with_a_date_too(
    client, coordinator_a, subject_a
):
    api = Api(client, coordinator_a)
    visit = subject_a.visits.get(code="SCR")
    today = subject_a.site.today()
    long_note = api.patch(
        f"/visits/{visit.pk}", {"version": 1, "actual_date": today, "note": "n" * 501}
    )
    assert error_codes(long_note) == {"note": ["max_length"]}
    both = api.patch(f"/visits/{visit.pk}", {"version": 1, "actual_date": today, "missed": True})
    assert error_codes(both) == {"missed": ["missed_with_date"]}
    neither = api.patch(f"/visits/{visit.pk}", {"version": 1})
    assert error_codes(neither) == {"actual_date": ["date_or_missed_required"]}
    visit.refresh_from_db()
    assert (visit.version, visit.actual_date, visit.note) == (1, None, "")

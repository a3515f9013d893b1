"""Issue 12 goal 1: the SQL statements of the four measured CRF save paths, as upper bounds.

The bench (``tests/bench/bench_crf_save.py``) measured 38 / 40 / 26 / 32 statements for an API
AE POST / AE PATCH / lab panel POST / screening PUT; these tests hold the paths at what they
take now (each statement listed in ``tests/bench/README.md``), so a statement added back
fails here. The guarantees of each save are asserted with it: the audit row with its reason,
the version, the edit-check queries, the coded refusal.

Also here: the token's ``last_used_at`` is written at most once a minute, and a check
constraint the database refuses (the service no longer asks it first) is a coded 422, never a
500, storing nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken
from audit.models import AuditEvent
from eligibility.demo import eligible_screening_data
from eligibility.models import Screening
from queries.models import Query
from safety import services as safety_services
from safety.models import AdverseEvent, CtcaeTerm, LabPanel, LabResult
from safety.services import aes as ae_service
from safety.services import load_ctcae
from subjects import services as subject_services
from tests.api_errors import error_codes
from tests.factories import enrol, make_subject

pytestmark = pytest.mark.django_db

API = "/api/v1"
# The statements of each save path now (the bench's lists, 1 Dec 2026): before issue 12 they
# were 38 / 40 / 26 / 32.
AE_POST_MAX = 22  # +1 (issue 13): the visit CRFs graded in the AE's term follow its coverage
AE_PATCH_MAX = 20
LAB_POST_MAX = 17
SCREENING_PUT_MAX = 23


@pytest.fixture
def terms(db):
    if not CtcaeTerm.objects.exists():
        load_ctcae()


def _treated(site, by):
    today = site.today()
    c1d1 = today - dt.timedelta(days=28)
    subject = make_subject(site, by, initials="SPT", consent_date=c1d1 - dt.timedelta(10))
    subject = enrol(subject, by=by, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    return subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=by,
        expected_version=subject.version,
    )


class Api:
    def __init__(self, client, user):
        self.client = client
        self.headers = {"Authorization": f"Bearer {ApiToken.issue(user)[1]}"}

    def __call__(self, method, url, body=None):
        return self.client.generic(
            method,
            API + url,
            data=json.dumps(body, default=str) if body is not None else "",
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def api(client, coordinator_a):
    caller = Api(client, coordinator_a)
    assert caller("GET", "/sites").status_code == 200  # the token's first use is written now
    return caller


def _ae_body(term, today, **overrides):
    return {
        "term_id": term.pk,
        "grade": 1,
        "onset_date": (today - dt.timedelta(days=3)).isoformat(),
        "ongoing": True,
        "outcome": "not_recovered",
        "treatment_given": "none",
        **overrides,
    }


def _audit_reasons(table, pk):
    return list(
        AuditEvent.objects.filter(table_name=table, record_pk=str(pk))
        .order_by("id")
        .values_list("reason", flat=True)
    )


# --- the four save paths ------------------------------------------------------------------------


def test_ae_post_statements_and_guarantees(
    api, site_a, coordinator_a, terms, django_assert_max_num_queries
):
    subject = _treated(site_a, coordinator_a)
    term = CtcaeTerm.objects.get(term="Hypertension")
    with django_assert_max_num_queries(AE_POST_MAX):
        response = api(
            "POST", f"/subjects/{subject.pk}/adverse-events", _ae_body(term, site_a.today())
        )
    assert response.status_code == 201, response.content
    ae = AdverseEvent.objects.get(pk=response.json()["id"])
    assert (ae.version, ae.grade, ae.out_of_window) == (1, 1, False)
    assert ae.grade_changes.count() == 1
    assert _audit_reasons("safety_adverseevent", ae.pk) == [
        "Adverse event recorded: Hypertension grade 1"
    ]
    assert not Query.objects.filter(record_id=ae.pk, record_type="safety.adverseevent").exists()
    # the token's lookup named the actor (no statement of its own): every row written is theirs
    actors = set(
        AuditEvent.objects.filter(reason="Adverse event recorded: Hypertension grade 1")
        .values_list("app_user_id", "app_username", "context")
        .distinct()
    )
    assert actors == {(coordinator_a.pk, coordinator_a.username, "api")}


def test_the_token_lookup_names_the_actor_and_an_unknown_token_none(rf, coordinator_a):
    """The actor is set by the row the token lookup returns: no row, no actor."""
    from accounts.api import BearerAuth
    from audit.context import KEYS, clear_actor

    def settings_now():
        with connection.cursor() as cursor:
            sql = ", ".join("coalesce(current_setting(%s, true), '')" for _ in KEYS)
            cursor.execute(f"SELECT {sql}", KEYS)
            return dict(zip(KEYS, cursor.fetchone(), strict=True))

    clear_actor()
    key = ApiToken.issue(coordinator_a)[1]
    assert BearerAuth().authenticate(rf.get("/"), "alt_unknown") is None
    assert set(settings_now().values()) == {""}
    coordinator_a.is_active = False
    coordinator_a.save()
    assert BearerAuth().authenticate(rf.get("/"), key) is None  # an inactive user's token
    assert set(settings_now().values()) == {""}
    coordinator_a.is_active = True
    coordinator_a.save()
    assert BearerAuth().authenticate(rf.get("/"), key) == coordinator_a
    assert settings_now() == {
        "alter.user_id": str(coordinator_a.pk),
        "alter.username": coordinator_a.username,
        "alter.reason": "",
        "alter.context": "api",
    }
    clear_actor()


def test_a_new_ae_outside_the_window_still_gets_its_query(api, site_a, coordinator_a, terms):
    """The new event's checks are not looked up (nothing can name it yet) but still raised."""
    subject = make_subject(site_a, coordinator_a)  # not treated: no reporting window yet
    term = CtcaeTerm.objects.get(term="Hypertension")
    body = _ae_body(term, site_a.today(), action_taken="interrupted")
    response = api("POST", f"/subjects/{subject.pk}/adverse-events", body)
    assert response.status_code == 201, response.content
    open_checks = set(
        Query.objects.filter(
            record_type="safety.adverseevent", record_id=response.json()["id"], status="open"
        ).values_list("edit_check", flat=True)
    )
    assert open_checks == {ae_service.WINDOW_CHECK, "safety.ae_action_without_dose_event"}


def test_ae_patch_statements_and_guarantees(
    api, site_a, coordinator_a, terms, django_assert_max_num_queries
):
    subject = _treated(site_a, coordinator_a)
    term = CtcaeTerm.objects.get(term="Hypertension")
    created = api("POST", f"/subjects/{subject.pk}/adverse-events", _ae_body(term, site_a.today()))
    ae = created.json()
    body = {"version": ae["version"], "reason": "Transcription", "treatment_given": "rest"}
    with django_assert_max_num_queries(AE_PATCH_MAX):
        response = api("PATCH", f"/adverse-events/{ae['id']}", body)
    assert response.status_code == 200, response.content
    assert response.json()["version"] == ae["version"] + 1
    stored = AdverseEvent.objects.get(pk=ae["id"])
    assert (stored.version, stored.treatment_given) == (2, "rest")
    assert _audit_reasons("safety_adverseevent", stored.pk)[-1] == "Transcription"
    # the optimistic lock still holds: the old version is a 409 and changes nothing
    stale = api("PATCH", f"/adverse-events/{ae['id']}", {**body, "treatment_given": "x"})
    assert stale.status_code == 409
    assert AdverseEvent.objects.get(pk=ae["id"]).treatment_given == "rest"


def test_ae_patch_closes_both_of_the_events_checks(api, site_a, coordinator_a, terms):
    """Both checks pass after the PATCH: their queries close together (one UPDATE)."""
    subject = _treated(site_a, coordinator_a)
    term = CtcaeTerm.objects.get(term="Hypertension")
    before_c1d1 = (subject.c1d1_date - dt.timedelta(days=1)).isoformat()
    body = _ae_body(term, site_a.today(), onset_date=before_c1d1, action_taken="interrupted")
    ae = api("POST", f"/subjects/{subject.pk}/adverse-events", body).json()
    rows = Query.objects.filter(record_type="safety.adverseevent", record_id=ae["id"])
    assert rows.filter(status="open").count() == 2
    patch = {
        "version": ae["version"],
        "reason": "Onset and action corrected from the source",
        "onset_date": (site_a.today() - dt.timedelta(days=3)).isoformat(),
        "action_taken": "none",
    }
    with CaptureQueriesContext(connection) as ctx:
        response = api("PATCH", f"/adverse-events/{ae['id']}", patch)
    assert response.status_code == 200, response.content
    assert not rows.filter(status="open").exists()
    assert rows.filter(status="closed").count() == 2
    # one statement closes both and writes the system's message on each thread (issue 14)
    closing = [q for q in ctx.captured_queries if "UPDATE queries_query" in q["sql"]]
    assert len(closing) == 1


def test_lab_panel_post_statements_and_guarantees(
    api, site_a, coordinator_a, terms, django_assert_max_num_queries
):
    subject = _treated(site_a, coordinator_a)
    from eligibility.demo import add_reference_ranges

    add_reference_ranges(site_a)
    body = {
        "sample_date": (site_a.today() - dt.timedelta(days=1)).isoformat(),
        "values": {
            "hb": {"value": "130", "unit": "g/L"},
            "wbc": {"value": "6.2", "unit": "10^9/L"},
            "anc": {"value": "3.1", "unit": "10^9/L"},
            "plt": {"value": "210", "unit": "10^9/L"},
            "alt": {"value": "22", "unit": "U/L"},
            "ast": {"value": "25", "unit": "U/L"},
        },
    }
    with django_assert_max_num_queries(LAB_POST_MAX):
        response = api("POST", f"/subjects/{subject.pk}/lab-panels", body)
    assert response.status_code == 201, response.content
    panel = LabPanel.objects.get(pk=response.json()["id"])
    results = {r.analyte: r for r in panel.results.all()}
    assert set(results) == {"hb", "wbc", "anc", "plt", "alt", "ast"}
    assert results["anc"].grade == 0
    # one INSERT, every row audited with the panel's reason
    for r in results.values():
        assert _audit_reasons("safety_labresult", r.pk) == [
            f"Lab panel recorded ({body['sample_date']})"
        ]


def test_a_grade_3_value_of_a_new_panel_opens_its_query(api, site_a, coordinator_a, terms):
    """The values are inserted together; each still has its id for its query."""
    from eligibility.demo import add_reference_ranges

    subject = _treated(site_a, coordinator_a)
    add_reference_ranges(site_a)
    body = {
        "sample_date": (site_a.today() - dt.timedelta(days=1)).isoformat(),
        "values": {
            "hb": {"value": "130", "unit": "g/L"},
            "anc": {"value": "0.8", "unit": "10^9/L"},  # grade 3
        },
    }
    response = api("POST", f"/subjects/{subject.pk}/lab-panels", body)
    assert response.status_code == 201, response.content
    results = {r["analyte"]: r for r in response.json()["results"]}
    assert results["anc"]["grade"] == 3
    open_rows = Query.objects.filter(record_type=LabResult._meta.label_lower, status="open")
    assert list(open_rows.values_list("record_id", flat=True)) == [results["anc"]["id"]]


def test_screening_put_statements_and_guarantees(
    api, site_a, coordinator_a, django_assert_max_num_queries
):
    from eligibility.demo import add_reference_ranges

    add_reference_ranges(site_a)
    subject = make_subject(site_a, coordinator_a)
    first = api("PUT", f"/subjects/{subject.pk}/screening", eligible_screening_data(subject))
    assert first.status_code == 201, first.content
    version = first.json()["screening"]["version"]
    body = {"version": version, "reason": "Transcription", "alt_value": "30"}
    with django_assert_max_num_queries(SCREENING_PUT_MAX):
        response = api("PUT", f"/subjects/{subject.pk}/screening", body)
    assert response.status_code == 200, response.content
    stored = Screening.objects.get(subject=subject)
    assert (stored.version, stored.alt_value) == (version + 1, Decimal("30"))
    assert _audit_reasons("eligibility_screening", stored.pk)[-1] == "Transcription"
    # the version is still required and still checked
    assert error_codes(api("PUT", f"/subjects/{subject.pk}/screening", {"sbp": 121}))
    stale = api("PUT", f"/subjects/{subject.pk}/screening", {**body, "alt_value": "31"})
    assert stale.status_code == 409
    assert Screening.objects.get(subject=subject).alt_value == Decimal("30")


def test_the_corrected_screening_returned_reads_as_stored(site_a, coordinator_a):
    """The service no longer reads the row back: what it returns is the row as stored."""
    from eligibility import services as eligibility_services
    from eligibility.demo import add_reference_ranges

    add_reference_ranges(site_a)
    subject = make_subject(site_a, coordinator_a)
    first = eligibility_services.save_screening(
        subject=subject,
        changes=eligible_screening_data(subject),
        expected_version=None,
        by=coordinator_a,
    )
    returned = eligibility_services.save_screening(
        subject=subject,
        changes={"alt_value": Decimal("30"), "sbp": 121},
        expected_version=first.version,
        by=coordinator_a,
        reason="Transcription",
    )
    stored = Screening.objects.get(pk=first.pk)
    for name in ("alt_value", "sbp", "version", "ast_value"):
        assert (name, getattr(returned, name)) == (name, getattr(stored, name))
    assert str(returned.alt_value) == str(stored.alt_value)  # 30.000, as the column returns it
    assert returned.updated_at == stored.updated_at  # read from the row when asked for


# --- the token's last use -----------------------------------------------------------------------


def test_the_token_last_use_is_written_once_a_minute(client, coordinator_a):
    token, key = ApiToken.issue(coordinator_a)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get(f"{API}/sites", headers=headers).status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"{API}/sites", headers=headers).status_code == 200
    assert not [
        q for q in ctx.captured_queries if "accounts_apitoken" in q["sql"] and "UPDATE" in q["sql"]
    ]
    token.refresh_from_db()
    assert token.last_used_at == first

    # older than the precision: written again
    old = first - ApiToken.LAST_USED_PRECISION - dt.timedelta(seconds=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    assert client.get(f"{API}/sites", headers=headers).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first


# --- a check constraint refused by the database -------------------------------------------------


def test_a_constraint_the_database_refuses_is_a_coded_422_not_a_500(
    api, site_a, coordinator_a, terms, monkeypatch
):
    """``full_clean`` no longer queries the check constraints (the service checks the same
    rules with codes). Were a service check ever to miss one, the database refuses the row:
    a 422 on the field with the rule's code, nothing stored."""
    subject = _treated(site_a, coordinator_a)
    term = CtcaeTerm.objects.get(term="Hypertension")
    monkeypatch.setattr(ae_service, "check_ae", lambda ae, subject: None)  # a missed check
    end = (site_a.today() - dt.timedelta(days=1)).isoformat()
    body = _ae_body(term, site_a.today(), ongoing=True, end_date=end)
    response = api("POST", f"/subjects/{subject.pk}/adverse-events", body)
    assert error_codes(response) == {"end_date": ["end_date_or_ongoing"]}
    assert not AdverseEvent.objects.filter(subject=subject).exists()


def test_the_service_still_refuses_what_the_constraints_refuse(site_a, coordinator_a, terms):
    subject = _treated(site_a, coordinator_a)
    term = CtcaeTerm.objects.get(term="Hypertension")
    today = site_a.today()
    from django.core.exceptions import ValidationError

    cases = [
        ({"ongoing": True, "end_date": today}, "end_date", "end_date_and_ongoing"),
        ({"ongoing": False, "end_date": None}, "end_date", "end_date_or_ongoing"),
        (
            {"ongoing": False, "end_date": today - dt.timedelta(days=5), "outcome": "recovered"},
            "end_date",
            "end_before_onset",
        ),
        ({"grade": 7}, "grade", "invalid_grade"),
    ]
    for overrides, field, code in cases:
        data = {
            "term": term,
            "grade": 1,
            "onset_date": today - dt.timedelta(days=3),
            "ongoing": True,
            "outcome": "not_recovered",
            **overrides,
        }
        with pytest.raises(ValidationError) as caught:
            safety_services.record_ae(subject=subject, by=coordinator_a, **data)
        assert [e.code for e in caught.value.error_dict[field]] == [code], overrides
    assert not AdverseEvent.objects.filter(subject=subject).exists()


def test_an_ae_patch_syncs_lab_queries_only_when_the_match_can_change(
    api, site_a, coordinator_a, terms
):
    """A lab value's match depends on the AE's term, onset, end and ongoing: a PATCH of the
    treatment given leaves the lab query alone (and reads no lab value); ending the event
    before the sample date reopens it."""
    from eligibility.demo import add_reference_ranges

    subject = _treated(site_a, coordinator_a)
    add_reference_ranges(site_a)
    today = site_a.today()
    sample = today - dt.timedelta(days=1)
    panel = api(
        "POST",
        f"/subjects/{subject.pk}/lab-panels",
        {"sample_date": sample.isoformat(), "values": {"anc": {"value": "0.8", "unit": "10^9/L"}}},
    ).json()
    anc = panel["results"][0]
    lab_queries = Query.objects.filter(record_type=LabResult._meta.label_lower, record_id=anc["id"])
    assert lab_queries.get().status == "open"
    term = CtcaeTerm.objects.get(term=anc["term"])
    body = _ae_body(term, today, grade=3, onset_date=(today - dt.timedelta(days=2)).isoformat())
    ae = api("POST", f"/subjects/{subject.pk}/adverse-events", body).json()
    assert lab_queries.get().status == "closed"

    patch = {"version": ae["version"], "reason": "Source", "treatment_given": "G-CSF"}
    with CaptureQueriesContext(connection) as ctx:
        ae = api("PATCH", f"/adverse-events/{ae['id']}", patch).json()
    in_service = [q["sql"] for q in ctx.captured_queries if '"safety_labresult"' in q["sql"]]
    assert in_service == []
    assert lab_queries.get().status == "closed"

    ended = {
        "version": ae["version"],
        "reason": "Source",
        "ongoing": False,
        "end_date": (today - dt.timedelta(days=2)).isoformat(),
        "outcome": "recovered",
    }
    response = api("PATCH", f"/adverse-events/{ae['id']}", ended)
    assert response.status_code == 200, response.content
    assert lab_queries.filter(status="open").count() == 1

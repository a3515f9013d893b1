"""Safety over the API: CTCAE search, AEs with grade history, causality, SAE reports, lab
panels, the grading calculator, access by role and site, OpenAPI.

Clock frozen at 2026-03-02 10:00 in Guangzhou (02:00 UTC); subject on treatment from C1D1
2026-01-05, consent 2025-12-20 (tests/dosing/conftest.py). Site A's ANC range 1.8-6.3 x10^9/L.
"""

from __future__ import annotations

import datetime as dt

import pytest
from openapi_spec_validator import validate

from audit.models import AuditEvent
from dosing import services as dosing
from outbox.models import Notification
from safety.models import AdverseEvent, GradeChange, LabPanel, SaeReport
from tests.api_errors import error_codes
from tests.factories import PASSWORD
from tests.safety.conftest import term
from tests.subjects.test_api import API, Api


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """Every test here runs at 2026-03-02 10:00 in Guangzhou (tests/dosing/conftest.py)."""


@pytest.fixture
def api(client, coordinator_a):
    return Api(client, coordinator_a)


def hypertension(**overrides):
    """Grade 3 hypertension from 2026-02-10, ongoing, as a client posts it."""
    return {
        "term_id": term("Hypertension").pk,
        "grade": 3,
        "onset_date": "2026-02-10",
        "ongoing": True,
        "outcome": "not_recovered",
        **overrides,
    }


def stored():
    return (
        list(AdverseEvent.objects.values_list("pk", "version")),
        GradeChange.objects.count(),
        list(SaeReport.objects.values_list("pk", "version")),
        LabPanel.objects.count(),
        Notification.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def ae(api, subject):
    return api.post(f"/subjects/{subject.pk}/adverse-events", hypertension()).json()


@pytest.fixture
def sae(api, subject):
    body = hypertension(serious=True, sae_hospitalisation=True)
    return api.post(f"/subjects/{subject.pk}/adverse-events", body).json()


@pytest.fixture
def lab_panel(api, subject):
    body = {"sample_date": "2026-02-16", "values": {"anc": {"value": "0.8", "unit": "10^9/L"}}}
    return api.post(f"/subjects/{subject.pk}/lab-panels", body).json()


# --- the dictionary and the calculator ------------------------------------------------------


def test_term_search_returns_terms_with_their_grades_and_wording(api, subject):
    found = api.get("/ctcae/terms?q=neutrophil%20count").json()
    anc = found[0]
    assert (anc["term"], anc["meddra_code"], anc["soc"]) == (
        "Neutrophil count decreased",
        10029366,
        "Investigations",
    )
    assert anc["allowed_grades"] == [1, 2, 3, 4]
    assert anc["grades"][2] == {"grade": 3, "definition": "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"}
    assert anc["other_specify"] is False
    by_code = api.get("/ctcae/terms?q=10022891").json()
    assert [(t["term"], t["other_specify"]) for t in by_code] == [
        ("Investigations - Other, specify", True)
    ]
    assert len(api.get("/ctcae/terms?q=pain&limit=3").json()) == 3


def test_grading_endpoint_returns_grade_and_the_definition_that_matched(api, subject):
    anc = api.post(
        "/grading", {"analyte": "anc", "value": "0.8", "unit": "10^9/L", "lln": "1.8"}
    ).json()
    assert anc == {
        "analyte": "anc",
        "term": "Neutrophil count decreased",
        "grade": 3,
        "definition": "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L",
        "note": "",
        "units": ["10^9/L", "/mm3"],
        "limits_used": [],  # 0.8 is "<1.0 - 0.5" whatever the LLN
    }
    bp = api.post("/grading", {"analyte": "blood_pressure", "systolic": 150, "diastolic": 85})
    assert (bp.json()["term"], bp.json()["grade"]) == ("Hypertension", 2)
    tsh = api.post("/grading", {"analyte": "tsh", "value": 9, "unit": "mIU/L"}).json()
    assert tsh["grade"] is None and "clinical judgement" in tsh["note"]
    wrong = api.post("/grading", {"analyte": "anc", "value": "0.8", "unit": "g/L", "lln": "1.8"})
    assert wrong.status_code == 422
    assert error_codes(wrong) == {"unit": ["unit_not_allowed"]}
    no_lln = api.post("/grading", {"analyte": "anc", "value": "1.6", "unit": "10^9/L"})
    assert error_codes(no_lln) == {"lln": ["limit_needed"]}


def test_grading_by_ctcae_term_instead_of_analyte(api, subject):
    # "Platelet count decreased" is graded from PLT only: 74 x10^9/L is "<75.0 - 50.0": grade 2
    body = {"term": "Platelet count decreased", "value": "74", "unit": "10^9/L", "lln": "125"}
    plt = api.post("/grading", body).json()
    assert (plt["analyte"], plt["grade"]) == ("plt", 2)
    bp = api.post("/grading", {"term": "Hypertension", "systolic": 140, "diastolic": 85}).json()
    assert (bp["analyte"], bp["grade"]) == ("blood_pressure", 2)
    # Proteinuria is graded from the dipstick or the 24-h collection: which one is asked
    both = api.post("/grading", {"term": "Proteinuria", "value": "1.0", "unit": "g/24 h"})
    assert error_codes(both) == {"term": ["term_has_several_analytes"]}
    unknown = api.post("/grading", {"term": "Fatigue", "value": "1"})
    assert error_codes(unknown) == {"analyte": ["analyte_required"]}


# --- adverse events -------------------------------------------------------------------------


def test_record_an_adverse_event_linked_to_a_dose_reduction(api, subject, coordinator_a):
    reduction = dosing.add_event(
        subject=subject,
        by=coordinator_a,
        kind="reduction",
        start=dt.date(2026, 2, 12),
        dose_mg=10,
        reason="toxicity",
    )
    response = api.post(
        f"/subjects/{subject.pk}/adverse-events",
        hypertension(action_taken="reduced", dose_event_id=reduction.pk),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["term"]["term"] == "Hypertension"
    assert (body["grade"], body["worst_grade"], body["action_taken"], body["dose_event_id"]) == (
        3,
        3,
        "reduced",
        reduction.pk,
    )
    assert body["grade_history"] == [{"grade": 3, "from_date": "2026-02-10"}]
    assert body["days_at_grade"] == [{"grade": 3, "days": 21}]  # 02-10..03-02
    assert body["in_window"] is True
    assert body["reporting_window"] == {"start": "2026-01-05", "end": None}
    assert (body["relationship"], body["causality"], body["sae_reports"]) == ("", None, [])
    assert body["recorded_by"] == "coord_a" and body["version"] == 1
    listed = api.get(f"/subjects/{subject.pk}/adverse-events").json()
    assert [a["id"] for a in listed] == [body["id"]]
    assert api.get(f"/adverse-events/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        (
            {"term_id": "NEUTROPHIL", "grade": 5},
            None,  # not an integer: the request's own validation
        ),
        (
            {"grade": 2, "onset_date": "2025-12-19"},
            {"onset_date": ["before_consent"]},
        ),
        ({"serious": True}, {"serious": ["serious_without_criterion"]}),
        ({"term_id": 999999}, {"term": ["not_found"]}),
        ({"dose_event_id": 999999}, {"dose_event": ["not_found"]}),
        ({"colour": "red"}, {"colour": ["extra_forbidden"]}),
    ],
)
def test_an_invalid_adverse_event_is_422_and_stores_nothing(api, subject, overrides, detail):
    before = stored()
    response = api.post(f"/subjects/{subject.pk}/adverse-events", hypertension(**overrides))
    assert response.status_code == 422
    if detail is not None:
        assert error_codes(response) == detail
    assert stored() == before


def test_a_grade_the_term_does_not_have_is_422(api, subject):
    body = hypertension(
        term_id=term("Neutrophil count decreased").pk,
        grade=5,
        outcome="fatal",
        ongoing=False,
        end_date="2026-02-20",
        serious=True,
        sae_death=True,
    )
    before = stored()
    response = api.post(f"/subjects/{subject.pk}/adverse-events", body)
    assert error_codes(response) == {"grade": ["grade_not_in_term"]}
    assert stored() == before


def test_patch_changes_the_grade_into_the_history_with_reason_and_version(api, ae):
    response = api.patch(
        f"/adverse-events/{ae['id']}",
        {"version": 1, "reason": "Worse", "grade": 4, "grade_from": "2026-02-20"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["grade_history"] == [
        {"grade": 3, "from_date": "2026-02-10"},
        {"grade": 4, "from_date": "2026-02-20"},
    ]
    assert body["days_at_grade"] == [{"grade": 3, "days": 10}, {"grade": 4, "days": 11}]
    assert (body["worst_grade"], body["version"]) == (4, 2)

    stale = api.patch(f"/adverse-events/{ae['id']}", {"version": 1, "reason": "x", "grade": 2})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    no_date = api.patch(f"/adverse-events/{ae['id']}", {"version": 2, "reason": "x", "grade": 2})
    assert error_codes(no_date) == {"grade_from": ["required"]}
    no_reason = api.patch(f"/adverse-events/{ae['id']}", {"version": 2, "verbatim": "BP"})
    assert "reason" in error_codes(no_reason)
    emptied = api.patch(f"/adverse-events/{ae['id']}", {"version": 2, "reason": "x", "grade": None})
    assert error_codes(emptied) == {"grade": ["null"]}


def test_only_the_investigator_signs_causality(client, api, ae, investigator_a):
    path = f"/adverse-events/{ae['id']}/causality"
    body = {"version": 1, "relationship": "possible", "password": PASSWORD}
    denied = api.post(path, body)
    assert denied.status_code == 403
    investigator = Api(client, investigator_a)
    wrong = investigator.post(path, {**body, "password": "nope"})
    assert error_codes(wrong) == {"password": ["wrong_password"]}
    signed = investigator.post(path, body)
    assert signed.status_code == 200
    causality = signed.json()["causality"]
    assert (signed.json()["relationship"], causality["signed_by"], causality["printed_name"]) == (
        "possible",
        "inv_a",
        "Test Inv_A",
    )
    assert causality["signed_at"].startswith("2026-03-02T02:00")
    assert causality["meaning"] == AdverseEvent.CAUSALITY_MEANING
    assert investigator.post(path, body).status_code == 409  # version 1 was signed already


# --- SAE reports ----------------------------------------------------------------------------


def test_a_serious_event_lists_its_report_which_is_submitted_then_followed_up(
    client, api, sae, investigator_a
):
    [report] = sae["sae_reports"]
    assert (report["kind"], report["due_at"], report["overdue"]) == (
        "initial",
        "2026-03-03T02:00:00Z",
        False,
    )
    assert Notification.objects.count() == 2
    listing = api.get("/sae-reports").json()
    assert [r["id"] for r in listing] == [report["id"]]
    assert api.get("/sae-reports?overdue=true").json() == []

    early = api.post(f"/adverse-events/{sae['id']}/sae-reports", {})
    assert error_codes(early) == {None: ["earlier_report_pending"]}
    # the coordinator prepares the report but cannot submit it: 403, nothing submitted
    drafted = api.send(
        "PUT",
        f"/sae-reports/{report['id']}/draft",
        {"version": report["version"], "narrative": "Admitted."},
    )
    assert drafted.status_code == 200
    assert (drafted.json()["narrative"], drafted.json()["submitted_at"]) == ("Admitted.", None)
    data_hash = drafted.json()["data_hash"]
    refused = api.post(
        f"/sae-reports/{report['id']}/submit",
        {"narrative": "Admitted.", "data_hash": data_hash, "password": PASSWORD},
    )
    assert refused.status_code == 403
    assert SaeReport.objects.get(pk=report["id"]).submitted_at is None
    investigator = Api(client, investigator_a)
    submitted = investigator.post(
        f"/sae-reports/{report['id']}/submit",
        {"narrative": "Admitted.", "data_hash": data_hash, "password": PASSWORD},
    )
    assert submitted.status_code == 200
    body = submitted.json()
    assert (body["submitted_by"], body["narrative"], body["data_hash"]) == (
        "inv_a",
        "Admitted.",
        None,
    )
    signature = body["signature"]
    assert (signature["signed_by"], signature["printed_name"], signature["meaning"]) == (
        "inv_a",
        "Test Inv_A",
        SaeReport.SUBMISSION_MEANING,
    )
    # 10:00 in Guangzhou is 02:00 UTC: both shown
    assert signature["signed_at"].startswith("2026-03-02T02:00")
    assert signature["signed_at_site"].startswith("2026-03-02 10:00")
    assert len(signature["content_hash"]) == 64
    follow_up = api.post(f"/adverse-events/{sae['id']}/sae-reports", {})
    assert follow_up.status_code == 201
    assert (follow_up.json()["label"], follow_up.json()["due_at"]) == (
        "Follow-up 1",
        "2026-03-03T02:00:00Z",
    )
    blank = investigator.post(
        f"/sae-reports/{follow_up.json()['id']}/submit",
        {"narrative": " ", "data_hash": follow_up.json()["data_hash"], "password": PASSWORD},
    )
    assert error_codes(blank) == {"narrative": ["required"]}


def test_sae_submission_is_bound_to_what_was_shown_and_to_the_password(
    client, api, sae, investigator_a
):
    [report] = sae["sae_reports"]
    investigator = Api(client, investigator_a)
    path = f"/sae-reports/{report['id']}/submit"
    shown = report["data_hash"]
    before = stored()
    wrong = investigator.post(path, {"narrative": "N.", "data_hash": shown, "password": "nope"})
    assert error_codes(wrong) == {"password": ["wrong_password"]}
    # the AE changed after the investigator read the report: nothing is signed
    patched = api.patch(
        f"/adverse-events/{sae['id']}", {"version": sae["version"], "reason": "x", "verbatim": "BP"}
    )
    assert patched.status_code == 200
    stale = investigator.post(path, {"narrative": "N.", "data_hash": shown, "password": PASSWORD})
    assert error_codes(stale) == {"data_hash": ["changed_since_shown"]}
    assert SaeReport.objects.get(pk=report["id"]).submitted_at is None
    fresh = api.get(f"/adverse-events/{sae['id']}").json()["sae_reports"][0]["data_hash"]
    assert fresh != shown
    ok = investigator.post(path, {"narrative": "N.", "data_hash": fresh, "password": PASSWORD})
    assert ok.status_code == 200
    again = investigator.post(path, {"narrative": "N.", "data_hash": fresh, "password": PASSWORD})
    assert error_codes(again) == {None: ["already_submitted"]}
    assert before != stored()


def test_a_time_without_zone_is_the_sites_local_time(api, subject):
    body = hypertension(serious=True, sae_life_threatening=True, learned_on="2026-03-02T08:00:00")
    created = api.post(f"/subjects/{subject.pk}/adverse-events", body).json()
    assert created["learned_on"] == "2026-03-02T00:00:00Z"  # 08:00 in Guangzhou
    assert created["sae_reports"][0]["due_at"] == "2026-03-03T00:00:00Z"


# --- lab panels -----------------------------------------------------------------------------


def test_a_lab_panel_with_anc_0_8_shows_grade_3_and_offers_the_ae(api, subject, lab_panel):
    [result] = lab_panel["results"]
    assert (result["analyte"], result["display_value"], result["grade"], result["term"]) == (
        "anc",
        "0.8",
        3,
        "Neutrophil count decreased",
    )
    assert (result["lln"], result["uln"]) == ("1.800", "6.300")
    [offer] = lab_panel["offered_aes"]
    assert offer == {
        "result_id": result["id"],
        "analyte": "anc",
        "term_id": term("Neutrophil count decreased").pk,
        "term": "Neutrophil count decreased",
        "grade": 3,
        "onset_date": "2026-02-16",
        "verbatim": "Neutrophil count decreased (ANC 0.8 10^9/L)",
    }
    taken = api.post(
        f"/subjects/{subject.pk}/adverse-events",
        {
            "term_id": offer["term_id"],
            "grade": offer["grade"],
            "onset_date": offer["onset_date"],
            "verbatim": offer["verbatim"],
            "ongoing": True,
            "outcome": "recovering",
            "lab_result_id": offer["result_id"],
        },
    )
    assert taken.status_code == 201
    [listed] = api.get(f"/subjects/{subject.pk}/lab-panels").json()
    assert listed["offered_aes"] == []
    assert listed["results"][0]["ae_id"] == taken.json()["id"]


def test_a_lab_panel_with_a_unit_not_offered_is_422_and_stores_nothing(api, subject):
    before = stored()
    body = {
        "sample_date": "2026-02-16",
        "values": {
            "anc": {"value": "0.8", "unit": "mg/dL"},
            "tsh": {"value": "3", "unit": "mIU/L"},
        },
        "blood_pressure": {"systolic": 150, "diastolic": 90},
    }
    response = api.post(f"/subjects/{subject.pk}/lab-panels", body)
    assert error_codes(response) == {"anc-unit": ["unit_not_allowed"]}
    assert stored() == before
    wrong_visit = api.post(
        f"/subjects/{subject.pk}/lab-panels",
        {**body, "values": {}, "visit_id": subject.visits.get(code="SCR").pk},
    )
    assert error_codes(wrong_visit) == {"visit": ["not_a_cycle_visit"]}


# --- access ---------------------------------------------------------------------------------


def endpoints(subject, ae, report, panel_body, panel_id=0):
    s, a, r = subject.pk, ae["id"], report["id"]
    return [
        ("GET", f"/subjects/{s}/adverse-events", None),
        ("POST", f"/subjects/{s}/adverse-events", hypertension()),
        ("GET", f"/adverse-events/{a}", None),
        ("PATCH", f"/adverse-events/{a}", {"version": 1, "reason": "x", "verbatim": "High BP"}),
        (
            "POST",
            f"/adverse-events/{a}/causality",
            {"version": 1, "relationship": "possible", "password": PASSWORD},
        ),
        ("POST", f"/adverse-events/{a}/sae-reports", {}),
        ("PUT", f"/sae-reports/{r}/draft", {"version": 1, "narrative": "x"}),
        ("POST", f"/sae-reports/{r}/submit", {"narrative": "x", "data_hash": "x", "password": "x"}),
        ("GET", f"/subjects/{s}/lab-panels", None),
        ("POST", f"/subjects/{s}/lab-panels", panel_body),
        ("PUT", f"/lab-panels/{panel_id}", {**panel_body, "version": 1, "reason": "x"}),
    ]


PANEL = {"sample_date": "2026-02-16", "values": {"anc": {"value": "2.0", "unit": "10^9/L"}}}


def call(api, method, path, body):
    if method == "GET":
        return api.get(path)
    return api.send(method, path, body)


def test_another_sites_user_gets_404_for_every_record_endpoint(
    client, subject, sae, lab_panel, coordinator_b
):
    other = Api(client, coordinator_b)
    before = stored()
    statuses = [
        call(other, m, p, b).status_code
        for m, p, b in endpoints(subject, sae, sae["sae_reports"][0], PANEL, lab_panel["id"])
    ]
    assert statuses == [404] * 11
    assert other.get("/sae-reports").json() == []
    assert stored() == before


@pytest.mark.parametrize("who", ["monitor_a", "data_manager"])
def test_monitors_and_data_managers_read_but_cannot_write(
    client, cast, subject, sae, lab_panel, who
):
    reader = Api(client, cast[who])
    before = stored()
    answers = {
        (m, p): call(reader, m, p, b).status_code
        for m, p, b in endpoints(subject, sae, sae["sae_reports"][0], PANEL, lab_panel["id"])
    }
    assert {k: v for k, v in answers.items() if k[0] == "GET"} == {
        ("GET", f"/subjects/{subject.pk}/adverse-events"): 200,
        ("GET", f"/adverse-events/{sae['id']}"): 200,
        ("GET", f"/subjects/{subject.pk}/lab-panels"): 200,
    }
    assert {v for k, v in answers.items() if k[0] != "GET"} == {403}
    assert [r["id"] for r in reader.get("/sae-reports").json()] == [sae["sae_reports"][0]["id"]]
    assert stored() == before


def test_every_safety_endpoint_needs_a_token(client, subject, sae, lab_panel):
    anonymous = Api(client)
    calls = endpoints(subject, sae, sae["sae_reports"][0], PANEL, lab_panel["id"]) + [
        ("GET", "/ctcae/terms?q=anemia", None),
        ("GET", "/sae-reports", None),
        ("POST", "/grading", {"analyte": "qtc", "value": 500, "unit": "ms"}),
    ]
    assert {call(anonymous, m, p, b).status_code for m, p, b in calls} == {401}


# --- documentation --------------------------------------------------------------------------


def test_openapi_document_with_safety_is_valid(client, db):
    document = client.get(f"{API}/openapi.json").json()
    validate(document)
    paths = document["paths"]
    assert {"get", "post"} <= set(paths[f"{API}/subjects/{{subject_id}}/adverse-events"])
    assert {"get", "patch"} <= set(paths[f"{API}/adverse-events/{{ae_id}}"])
    assert {"get", "post"} <= set(paths[f"{API}/subjects/{{subject_id}}/lab-panels"])
    for path in ("/ctcae/terms", "/sae-reports", "/grading", "/sae-reports/{report_id}/submit"):
        assert f"{API}{path}" in paths
    assert all(
        op["tags"] == ["safety"]
        for path, ops in paths.items()
        if any(k in path for k in ("adverse-events", "lab-panels", "sae-reports", "ctcae"))
        for op in ops.values()
    )


def test_term_search_finds_synonyms_and_abbreviations(api, subject):
    assert api.get("/ctcae/terms?q=HFSR").json()[0]["term"] == (
        "Palmar-plantar erythrodysesthesia syndrome"
    )
    assert api.get("/ctcae/terms?q=qtc").json()[0]["term"] == (
        "Electrocardiogram QT corrected interval prolonged"
    )


def test_grading_a_term_asks_only_for_the_limits_its_wording_uses(api, subject):
    # Anemia "<LLN - 100 g/L": 110 g/L with the LLN 120 is grade 1, no ULN asked for
    anemia = api.post(
        "/grading", {"term": "Anemia", "analyte": "hb", "value": "110", "unit": "g/L", "lln": "120"}
    )
    assert anemia.status_code == 200
    assert (anemia.json()["term"], anemia.json()["grade"]) == ("Anemia", 1)
    assert anemia.json()["limits_used"] == ["lln"]
    # "<100 - 80g/L": 95 g/L is grade 2 with no range at all
    low = api.post("/grading", {"term": "Anemia", "analyte": "hb", "value": "95", "unit": "g/L"})
    assert (low.json()["grade"], low.json()["limits_used"]) == (2, [])
    # Hyperglycemia ">ULN - 160 mg/dL": the ULN, never the LLN
    body = {"term": "Hyperglycemia", "value": "150", "unit": "mg/dL", "uln": "100"}
    hyper = api.post("/grading", body).json()
    assert (hyper["term"], hyper["grade"], hyper["limits_used"]) == ("Hyperglycemia", 1, ["uln"])
    no_uln = api.post("/grading", {"term": "Hyperglycemia", "value": "150", "unit": "mg/dL"})
    assert list(error_codes(no_uln)) == ["uln"]
    # 24-h protein "1.0 - 3.4 g/24 hrs" is grade 2 whatever the ULN
    body = {"analyte": "urine_protein_24h", "value": "1.0", "unit": "g/24 h"}
    protein = api.post("/grading", body).json()
    assert (protein["grade"], protein["limits_used"]) == (2, [])
    wrong = api.post("/grading", {"term": "Anemia", "analyte": "alt", "value": "5", "unit": "U/L"})
    assert "term" in error_codes(wrong)

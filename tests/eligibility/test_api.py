"""Eligibility over the API: screening CRF (create, correct, conflicts, the page's validation),
the verdict, the investigator's e-signature, the enrolment gate and the screening log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from openapi_spec_validator import validate

from audit.models import AuditEvent
from eligibility.models import EligibilitySignature, Screening
from eligibility.rules import CRITERIA
from tests.api_errors import error_codes, error_message
from tests.factories import PASSWORD, add_reference_ranges, eligible_screening_data, make_subject
from tests.subjects.test_api import API, Api

CODES = [code for code, _kind, _title in CRITERIA]


def as_json(data: dict) -> dict:
    """Screening values as a JSON client sends them: dates ISO, decimals as strings."""

    def encode(value):
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value) if isinstance(value, Decimal) else value

    return {k: encode(v) for k, v in data.items()}


def screening_body(subject, **overrides) -> dict:
    return as_json(eligible_screening_data(subject, **overrides))


def screening_url(subject) -> str:
    return f"/subjects/{subject.pk}/screening"


def eligibility_url(subject) -> str:
    return f"/subjects/{subject.pk}/eligibility"


def signature_url(subject) -> str:
    return f"/subjects/{subject.pk}/eligibility/signature"


def put(api, subject, body):
    return api.send("PUT", screening_url(subject), body)


ANY_HASH = "0" * 64  # well formed, for requests refused before it is compared


def sign_body(api, subject, password=PASSWORD) -> dict:
    """Sign what ``GET .../eligibility`` shows now: its data hash, the password re-entered."""
    verdict = api.get(eligibility_url(subject)).json()
    pending = [c["code"] for c in verdict["criteria"] if c["status"] == "pending_attestation"]
    return {"password": password, "data_hash": verdict["data_hash"], "attested_criteria": pending}


@pytest.fixture
def api_a(client, coordinator_a):
    return Api(client, coordinator_a)


@pytest.fixture
def ranges_a(site_a):
    add_reference_ranges(site_a)


@pytest.fixture
def entered_a(api_a, subject_a, ranges_a):
    """subject_a with an eligible screening entered through the API (version 1)."""
    response = put(api_a, subject_a, screening_body(subject_a))
    assert response.status_code == 201, response.content
    return response.json()


# --- authentication and access -------------------------------------------------------------


def test_requests_without_token_are_401(client, subject_a):
    anonymous = Api(client)
    responses = [
        anonymous.get(screening_url(subject_a)),
        put(anonymous, subject_a, screening_body(subject_a)),
        anonymous.get(eligibility_url(subject_a)),
        anonymous.post(signature_url(subject_a), {"password": PASSWORD, "data_hash": ANY_HASH}),
        anonymous.get("/screening-log"),
    ]
    assert [r.status_code for r in responses] == [401] * 5
    assert not Screening.objects.exists()


def test_other_sites_subject_is_404_everywhere(client, coordinator_b, subject_a, ranges_a):
    api = Api(client, coordinator_b)
    responses = [
        api.get(screening_url(subject_a)),
        put(api, subject_a, screening_body(subject_a)),
        api.get(eligibility_url(subject_a)),
        api.post(signature_url(subject_a), {"password": PASSWORD, "data_hash": ANY_HASH}),
    ]
    assert [r.status_code for r in responses] == [404] * 4
    assert "GZ01" not in "".join(r.content.decode() for r in responses)
    assert not Screening.objects.exists()


@pytest.mark.parametrize("who", ["monitor_a", "data_manager"])
def test_monitor_and_data_manager_read_but_cannot_enter(client, cast, who, subject_a, entered_a):
    api = Api(client, cast[who])
    assert api.get(screening_url(subject_a)).status_code == 200
    assert api.get(eligibility_url(subject_a)).status_code == 200
    response = put(api, subject_a, {"version": 1, "reason": "Typo", "hb_value": "119"})
    assert response.status_code == 403
    assert error_message(response, 403) == "Your role does not allow this."
    assert Screening.objects.get().version == 1


# --- the screening CRF ---------------------------------------------------------------------


def test_screening_before_the_first_save_is_empty_with_version_null(api_a, subject_a):
    response = api_a.get(screening_url(subject_a))
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["updated_at"]) == (None, None)
    assert (body["hb_value"], body["hb_unit"], body["ecog"], body["cardiac_disease"]) == (
        None,
        "",
        None,
        None,
    )


def test_create_then_correct_with_version_and_reason(client, api_a, investigator_a, subject_a):
    add_reference_ranges(subject_a.site)
    created = put(api_a, subject_a, screening_body(subject_a))
    assert created.status_code == 201
    body = created.json()
    assert body["screening"]["version"] == 1
    assert (body["screening"]["hb_value"], body["screening"]["hb_unit"]) == ("120.000", "g/L")
    assert body["screening"]["cardiac_disease"] is False
    assert body["verdict"]["eligible"] is True
    assert body["verdict"]["screening_version"] == 1

    # an investigator corrects one value; what is left out keeps its stored value
    corrected = put(
        Api(client, investigator_a),
        subject_a,
        {"version": 1, "reason": "Transcribed from the wrong report", "hb_value": "118"},
    )
    assert corrected.status_code == 200
    stored = corrected.json()["screening"]
    assert (stored["version"], stored["hb_value"], stored["hb_unit"]) == (2, "118.000", "g/L")
    assert stored["anc_value"] == "3.100"
    assert api_a.get(screening_url(subject_a)).json() == stored

    screening = Screening.objects.get(subject=subject_a)
    update = AuditEvent.objects.filter(
        table_name="eligibility_screening", record_pk=str(screening.pk), action="UPDATE"
    ).get()
    assert (update.reason, update.app_username) == ("Transcribed from the wrong report", "inv_a")
    assert (update.old_data["hb_value"], update.new_data["hb_value"]) == (120, 118)


def test_null_clears_a_field_and_the_verdict_follows(api_a, subject_a, entered_a):
    response = put(api_a, subject_a, {"version": 1, "reason": "Result withdrawn", "qtc_ms": None})
    assert response.status_code == 200
    assert response.json()["screening"]["qtc_ms"] is None
    verdict = response.json()["verdict"]
    assert verdict["eligible"] is False
    assert (verdict["criteria"][0]["code"], verdict["criteria"][0]["status"]) == (
        "E09",
        "not_evaluable",
    )
    assert verdict["criteria"][0]["reason"] == "(b) QTc missing"


def test_a_correction_needs_the_version_and_a_reason(api_a, subject_a, entered_a):
    response = put(api_a, subject_a, {"hb_value": "119"})
    assert error_codes(response) == {"version": ["version_required"], "reason": ["required"]}
    assert Screening.objects.get().hb_value == 120


def test_stale_version_is_409_and_changes_nothing(
    client, api_a, investigator_a, subject_a, entered_a
):
    first = put(
        Api(client, investigator_a), subject_a, {"version": 1, "reason": "Typo", "hb_value": "118"}
    )
    assert first.status_code == 200
    stale = put(api_a, subject_a, {"version": 1, "reason": "Other typo", "hb_value": "117"})
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] == 2
    assert body["differences"] == [{"field": "hb_value", "stored": "118.000", "submitted": "117"}]
    screening = Screening.objects.get()
    assert (screening.version, screening.hb_value) == (2, 118)


def test_bad_values_get_the_page_codes_per_field_and_nothing_is_stored(api_a, subject_a):
    today = subject_a.site.today()
    body = screening_body(
        subject_a,
        hb_value="900",  # g/L: not a possible haemoglobin
        qtc_ms=50,
        anc_value="about three",
        bilirubin_unit="mmHg",  # not a unit of bilirubin
        albumin_unit="",  # a value without its unit
        lab_date=(today + dt.timedelta(days=1)).isoformat(),
    )
    response = put(api_a, subject_a, body)
    # "about three" is no number: the schema refuses it before the service sees anything
    assert error_codes(response) == {"anc_value": ["number_format"]}
    del body["anc_value"]
    response = put(api_a, subject_a, body)
    # the service's codes, the page's too (one validation path, issue 11 A1)
    assert error_codes(response) == {
        "bilirubin_unit": ["invalid_choice"],
        "qtc_ms": ["min_value"],
        "hb_value": ["implausible_value"],
        "albumin_unit": ["unit_required"],
        "lab_date": ["future_date"],
    }
    assert not Screening.objects.exists()


def test_values_in_another_unit_are_checked_after_conversion(api_a, subject_a):
    # 90 g/dL = 900 g/L: as impossible as 900 g/L
    response = put(api_a, subject_a, screening_body(subject_a, hb_value="90", hb_unit="g/dL"))
    assert error_codes(response) == {"hb_value": ["implausible_value"]}


def test_unknown_fields_are_422_and_angle_brackets_are_text(api_a, subject_a):
    unknown = put(api_a, subject_a, {**screening_body(subject_a), "haemoglobin": "120"})
    assert unknown.status_code == 422
    assert error_codes(unknown) == {"haemoglobin": ["extra_forbidden"]}
    assert not Screening.objects.exists()
    # issue 10.9: clinical wording such as "< 75 mg/m2" is stored as written
    regimen = "AI (doxorubicin < 75 mg/m2) <b>"
    stored = put(api_a, subject_a, screening_body(subject_a, anthracycline_regimen=regimen))
    assert stored.status_code in (200, 201), stored.content
    assert Screening.objects.get().anthracycline_regimen == regimen


# --- the verdict ---------------------------------------------------------------------------


def test_verdict_of_an_eligible_subject(api_a, subject_a, entered_a):
    response = api_a.get(eligibility_url(subject_a))
    assert response.status_code == 200
    body = response.json()
    assert body["eligible"] is True
    assert len(body["criteria"]) == 25
    assert [c["code"] for c in body["criteria"]] == CODES
    assert {c["status"] for c in body["criteria"]} == {"met", "pending_attestation"}
    # the judgement criteria wait for the investigator's own attestation (issue 11 C16)
    assert [c["code"] for c in body["criteria"] if c["status"] == "pending_attestation"] == [
        "I04",
        "E11",
        "E16",
    ]
    assert [c["kind"] for c in body["criteria"]] == ["inclusion"] * 9 + ["exclusion"] * 16
    assert body["signature"] is None
    assert body["screening_window_warning"] == ""
    assert body["as_of"] == subject_a.site.today().isoformat()


def test_verdict_of_a_failing_subject_lists_the_failures_first(api_a, subject_a, ranges_a):
    body = screening_body(
        subject_a,
        hb_value="7.5",
        hb_unit="g/dL",
        ast_value="130",
        liver_metastases=False,
        sbp=150,
    )
    assert put(api_a, subject_a, body).status_code == 201
    verdict = api_a.get(eligibility_url(subject_a)).json()
    assert verdict["eligible"] is False
    failing = [(c["code"], c["status"], c["reason"]) for c in verdict["criteria"][:2]]
    # Hb 7.5 g/dL x 10 = 75 g/L < 80 g/L; AST 130 / ULN 40 = 3.25 > 2.5 (no liver metastases);
    # systolic 150 >= 140 mmHg
    assert failing == [
        (
            "I08",
            "not_met",
            "Hb 7.5 g/dL = 75 g/L; needs >= 80 g/L | "
            "AST 130 U/L = 3.25 × ULN 40 U/L; limit 2.5 × ULN without liver metastases",
        ),
        ("E09", "not_met", "(a) systolic BP 150 mmHg; excluded at >= 140"),
    ]
    rest = verdict["criteria"][2:]
    assert [c["code"] for c in rest] == [c for c in CODES if c not in ("I08", "E09")]
    assert all(c["status"] in ("met", "pending_attestation") for c in rest)


def test_verdict_before_any_data_is_not_evaluable(api_a, subject_a):
    body = api_a.get(eligibility_url(subject_a)).json()
    assert body["eligible"] is False
    assert body["screening_version"] is None
    assert len(body["criteria"]) == 25
    # only age is known (from the registration); everything else waits for data
    met = [c["code"] for c in body["criteria"] if c["status"] == "met"]
    assert met == ["I02"]
    assert [c["code"] for c in body["criteria"]][-1] == "I02"


def test_screening_window_warning(api_a, subject_a, ranges_a):
    consent = subject_a.consent_date
    c1d1 = consent + dt.timedelta(days=33)
    response = put(
        api_a,
        subject_a,
        screening_body(subject_a, first_procedure_date=consent, planned_c1d1=c1d1),
    )
    assert response.status_code == 201
    warning = api_a.get(eligibility_url(subject_a)).json()["screening_window_warning"]
    assert warning == (
        "Planned C1D1 is 33 days after the first screening procedure; the screening window "
        "is 28 days."
    )


# --- the signature -------------------------------------------------------------------------


def test_only_the_sites_investigator_signs(
    client, coordinator_a, investigator_a, subject_a, entered_a
):
    refused = Api(client, coordinator_a).post(
        signature_url(subject_a), {"password": PASSWORD, "data_hash": ANY_HASH}
    )
    assert refused.status_code == 403
    assert not EligibilitySignature.objects.exists()

    api = Api(client, investigator_a)
    response = api.post(signature_url(subject_a), sign_body(api, subject_a))
    assert response.status_code == 201
    body = response.json()
    assert (body["printed_name"], body["signed_by"], body["valid"]) == ("Test Inv_A", "inv_a", True)
    assert body["meaning"] == "I confirm this subject meets all eligibility criteria"
    assert body["signed_at"].endswith("Z")  # UTC
    assert (body["voided_at"], body["void_reason"]) == (None, "")
    shown = Api(client, coordinator_a).get(eligibility_url(subject_a)).json()["signature"]
    assert shown == body


def test_investigator_of_another_site_gets_404(client, site_b, subject_a, entered_a):
    from accounts.models import Role
    from tests.factories import member

    other = member("inv_b", Role.INVESTIGATOR, site_b)
    response = Api(client, other).post(
        signature_url(subject_a), {"password": PASSWORD, "data_hash": ANY_HASH}
    )
    assert response.status_code == 404
    assert not EligibilitySignature.objects.exists()


def test_wrong_password_is_422_and_signs_nothing(client, investigator_a, subject_a, entered_a):
    api = Api(client, investigator_a)
    wrong = api.post(signature_url(subject_a), sign_body(api, subject_a, "not-my-password"))
    assert list(error_codes(wrong)) == ["password"]
    empty = api.post(signature_url(subject_a), sign_body(api, subject_a, ""))
    assert error_codes(empty) == {"password": ["required"]}
    missing = api.post(signature_url(subject_a), {})
    assert error_codes(missing) == {"password": ["missing"], "data_hash": ["missing"]}
    assert not EligibilitySignature.objects.exists()


def test_a_verdict_that_is_not_eligible_cannot_be_signed(
    client, api_a, investigator_a, subject_a, ranges_a
):
    put(api_a, subject_a, screening_body(subject_a, prior_anlotinib=True))
    api = Api(client, investigator_a)
    response = api.post(signature_url(subject_a), sign_body(api, subject_a))
    assert error_codes(response) == {None: ["not_eligible"]}
    assert not EligibilitySignature.objects.exists()


def test_a_correction_after_signing_voids_the_signature(
    client, api_a, investigator_a, subject_a, entered_a
):
    api = Api(client, investigator_a)
    assert api.post(signature_url(subject_a), sign_body(api, subject_a)).status_code == 201
    response = put(api_a, subject_a, {"version": 1, "reason": "Re-read", "hb_value": "119"})
    assert response.status_code == 200
    signature = response.json()["verdict"]["signature"]
    assert signature["valid"] is False
    assert signature["voided_at"] is not None
    assert signature["void_reason"] == "Data changed after signing: hb_value"
    assert response.json()["verdict"]["eligible"] is True


def test_the_verdict_carries_the_hash_to_sign_with(api_a, subject_a, entered_a):
    from eligibility import services

    assert entered_a["verdict"]["data_hash"] == services.data_hash(
        subject_a, Screening.objects.get()
    )
    assert (
        api_a.get(eligibility_url(subject_a)).json()["data_hash"]
        == (entered_a["verdict"]["data_hash"])
    )


def test_before_the_first_save_there_is_no_hash_to_sign(api_a, subject_a):
    assert api_a.get(eligibility_url(subject_a)).json()["data_hash"] is None


def test_a_signature_without_the_hash_of_the_verdict_read_is_422(
    client, investigator_a, subject_a, entered_a
):
    """Issue 10.4: the password alone signed whatever was stored at that moment."""
    api = Api(client, investigator_a)

    missing = api.post(signature_url(subject_a), {"password": PASSWORD})
    garbled = api.post(signature_url(subject_a), {"password": PASSWORD, "data_hash": "abc"})

    assert (missing.status_code, garbled.status_code) == (422, 422)
    assert list(error_codes(missing)) == ["data_hash"]
    assert list(error_codes(garbled)) == ["data_hash"]
    assert not EligibilitySignature.objects.exists()


def test_a_hash_of_data_changed_since_it_was_read_is_422_and_signs_nothing(
    client, api_a, investigator_a, subject_a, entered_a
):
    api = Api(client, investigator_a)
    read = sign_body(api, subject_a)
    put(api_a, subject_a, {"version": 1, "reason": "Re-read", "alt_value": "30"})

    response = api.post(signature_url(subject_a), read)

    assert error_codes(response) == {None: ["stale_data"]}
    assert not EligibilitySignature.objects.exists()
    assert api.post(signature_url(subject_a), sign_body(api, subject_a)).status_code == 201


def test_a_replayed_signature_request_is_200_with_the_same_signature(
    client, investigator_a, subject_a, entered_a
):
    """Issue 10.5: the same data signed twice is one signature."""
    api = Api(client, investigator_a)
    body = sign_body(api, subject_a)

    first = api.post(signature_url(subject_a), body)
    again = api.post(signature_url(subject_a), body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert EligibilitySignature.objects.count() == 1
    assert EligibilitySignature.objects.get().voided_at is None


def test_no_signature_once_the_subject_is_enrolled(
    client, api_a, investigator_a, subject_a, entered_a
):
    """Issue 10.5: signing after enrolment superseded the signature the enrolment used."""
    api = Api(client, investigator_a)
    assert api.post(signature_url(subject_a), sign_body(api, subject_a)).status_code == 201
    c1d1 = entered_a["screening"]["planned_c1d1"]
    enrol = {"version": 1, "target": "enrolled", "on_date": subject_a.site.today(), "c1d1": c1d1}
    assert api_a.post(f"/subjects/{subject_a.pk}/transitions", enrol).status_code == 200

    response = api.post(signature_url(subject_a), sign_body(api, subject_a))

    assert error_codes(response) == {None: ["not_in_screening"]}
    relied_on = EligibilitySignature.objects.get()
    assert relied_on.voided_at is None


# --- enrolment through the existing transition endpoint ------------------------------------


def test_enrolment_is_refused_before_signing_and_accepted_after(
    client, api_a, investigator_a, subject_a, entered_a
):
    today = subject_a.site.today()
    c1d1 = dt.date.fromisoformat(entered_a["screening"]["planned_c1d1"])
    enrol = {"version": 1, "target": "enrolled", "on_date": today, "c1d1": c1d1}
    refused = api_a.post(f"/subjects/{subject_a.pk}/transitions", enrol)
    assert error_codes(refused) == {"target": ["not_signed"]}
    subject_a.refresh_from_db()
    assert subject_a.status == "screening"

    api = Api(client, investigator_a)
    signed = api.post(signature_url(subject_a), sign_body(api, subject_a))
    assert signed.status_code == 201
    accepted = api_a.post(f"/subjects/{subject_a.pk}/transitions", enrol)
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["subject_number"]) == (
        "enrolled",
        "GZ01-001",
    )
    assert accepted.json()["c1d1_date"] == c1d1.isoformat()


# --- the screening log ---------------------------------------------------------------------


def test_screening_log_is_scoped_to_the_users_sites(
    client, api_a, coordinator_b, data_manager, subject_a, subject_b
):
    second = make_subject(subject_a.site, subject_a.created_by, initials="QRS")
    failed = api_a.post(
        f"/subjects/{second.pk}/transitions",
        {
            "version": 1,
            "target": "screen_failed",
            "on_date": second.site.today(),
            "reason": "E01: prior anlotinib: yes",
        },
    )
    assert failed.status_code == 200

    as_a = api_a.get("/screening-log").json()
    assert [(r["screening_number"], r["site"], r["status"], r["reason"]) for r in as_a["rows"]] == [
        ("GZ01-S001", "GZ01", "screening", ""),
        ("GZ01-S002", "GZ01", "screen_failed", "E01: prior anlotinib: yes"),
    ]
    assert as_a["rows"][0]["subject_number"] is None
    assert as_a["counts"] == [
        {
            "site": "GZ01",
            "screened": 2,
            "in_screening": 1,
            "screen_failed": 1,
            "withdrawn_in_screening": 0,
            "enrolled": 0,
        }
    ]

    as_b = Api(client, coordinator_b).get("/screening-log").json()
    assert [r["screening_number"] for r in as_b["rows"]] == ["SH02-S001"]
    assert [c["site"] for c in as_b["counts"]] == ["SH02"]
    assert Api(client, coordinator_b).get("/screening-log?site=GZ01").json() == {
        "rows": [],
        "counts": [],
    }

    as_dm = Api(client, data_manager).get("/screening-log").json()
    assert [c["site"] for c in as_dm["counts"]] == ["GZ01", "SH02"]
    assert len(as_dm["rows"]) == 3


# --- documentation -------------------------------------------------------------------------


def test_openapi_document_is_still_valid_and_lists_eligibility(client, db):
    document = client.get(f"{API}/openapi.json").json()
    validate(document)
    paths = document["paths"]
    assert {"get", "put"} <= set(paths[f"{API}/subjects/{{subject_id}}/screening"])
    assert "get" in paths[f"{API}/subjects/{{subject_id}}/eligibility"]
    signing = paths[f"{API}/subjects/{{subject_id}}/eligibility/signature"]["post"]
    assert {"200", "201"} <= set(signing["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["SignatureIn"]["required"]) == {"password", "data_hash"}
    assert "data_hash" in schemas["EligibilityOut"]["properties"]
    assert "get" in paths[f"{API}/screening-log"]
    fields = document["components"]["schemas"]["ScreeningIn"]["properties"]
    assert fields["hb_unit"]["anyOf"][0]["enum"] == ["g/L", "g/dL", ""]
    assert set(fields) - {"version", "reason"} == set(
        document["components"]["schemas"]["ScreeningOut"]["properties"]
    ) - {"version", "updated_at"}


def test_a_correction_after_enrolment_is_422_and_stores_nothing(
    client, api_a, investigator_a, subject_a, entered_a
):
    """Issue 11 A2: the API saved a correction after enrolment that the page did not offer."""
    api = Api(client, investigator_a)
    assert api.post(signature_url(subject_a), sign_body(api, subject_a)).status_code == 201
    c1d1 = entered_a["screening"]["planned_c1d1"]
    enrol = {"version": 1, "target": "enrolled", "on_date": subject_a.site.today(), "c1d1": c1d1}
    assert api_a.post(f"/subjects/{subject_a.pk}/transitions", enrol).status_code == 200
    before = (list(Screening.objects.values()), AuditEvent.objects.count())

    response = put(api_a, subject_a, {"version": 1, "reason": "Late", "qtc_ms": 470})

    assert error_codes(response) == {None: ["not_in_screening"]}
    assert (list(Screening.objects.values()), AuditEvent.objects.count()) == before
    assert EligibilitySignature.objects.get().voided_at is None

"""Issue 11 for eligibility: one validation path (A1), the investigator's attestation of the
judgement criteria (C16), criterion titles and reasons as codes translated in the UI (C13)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from eligibility import rules, services
from eligibility.models import EligibilitySignature, Screening
from eligibility.validation import validate_screening
from tests.api_errors import error_codes
from tests.eligibility.test_services import (
    JUDGEMENT,
    NOW,
    codes_of,
    enter,
    shown_hash,
    web_request,
)
from tests.eligibility.test_views import checklist, login, page, sign_form, sign_url
from tests.factories import PASSWORD, eligible_screening_data
from tests.subjects.test_api import Api

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def screening_url(subject) -> str:
    return reverse("eligibility:screening", args=[subject.pk])


# --- A1: the validator reads a plain dict of typed values ------------------------------------


def codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def test_the_validator_takes_a_plain_dict_and_says_every_refusal_with_a_code():
    values = {
        "hb_value": Decimal("900"),
        "hb_unit": "g/L",
        "albumin_value": Decimal("30"),
        "albumin_unit": "",
        "creatinine_value": Decimal("80"),
        "creatinine_unit": "U/L",
        "lab_date": TODAY + dt.timedelta(days=1),
        "planned_c1d1": dt.date(1850, 1, 1),
        "anc_value": Decimal("3"),  # no unit field: 10^9/L only, fine
    }
    with pytest.raises(ValidationError) as caught:
        validate_screening(values, today=TODAY, correction=True, reason=" ")

    assert codes(caught.value) == {
        "lab_date": ["future_date"],
        "planned_c1d1": ["date_range"],
        "hb_value": ["implausible_value"],
        "creatinine_unit": ["unit_not_for_analyte"],
        "albumin_unit": ["unit_required"],
        "version": ["version_required"],
        "reason": ["required"],
    }


def test_the_validator_converts_before_the_plausibility_check():
    # 9 g/dL = 90 g/L: possible; 90 g/dL = 900 g/L: not
    validate_screening({"hb_value": Decimal("9"), "hb_unit": "g/dL"}, today=TODAY)
    with pytest.raises(ValidationError) as caught:
        validate_screening({"hb_value": Decimal("90"), "hb_unit": "g/dL"}, today=TODAY)
    assert codes(caught.value) == {"hb_value": ["implausible_value"]}


def test_a_first_save_needs_no_version_or_reason_and_today_is_not_the_future():
    validate_screening({"lab_date": TODAY, "first_procedure_date": TODAY}, today=TODAY)


def test_the_service_refuses_typed_values_with_codes_and_stores_nothing(subject_a, coordinator_a):
    data = eligible_screening_data(subject_a)
    data.update(qtc_ms=50, histology="not_a_histology", lab_date=TODAY + dt.timedelta(days=3))
    with pytest.raises(ValidationError) as caught:
        services.save_screening(
            subject=subject_a, changes=data, expected_version=None, by=coordinator_a
        )
    assert codes_of(caught.value) == {
        "histology": ["invalid_choice"],
        "qtc_ms": ["min_value"],
        "lab_date": ["future_date"],
    }
    assert not Screening.objects.exists()


def test_the_service_refuses_a_field_the_crf_does_not_have(subject_a, coordinator_a):
    with pytest.raises(ValidationError) as caught:
        services.save_screening(
            subject=subject_a, changes={"haemoglobin": 1}, expected_version=None, by=coordinator_a
        )
    assert codes_of(caught.value) == {"haemoglobin": ["unknown_field"]}


def test_the_page_and_the_api_give_the_same_codes(client, subject_a, coordinator_a):
    """One path: the page form only types, the service's codes reach both."""
    from tests.eligibility.test_views import field_codes, screening_post

    enter(subject_a, coordinator_a)
    login(client, coordinator_a)
    bad = {"version": 1, "reason": "", "hb_value": Decimal("900")}
    on_page = client.post(screening_url(subject_a), screening_post(subject_a, **bad))
    over_api = Api(client, coordinator_a).send(
        "PUT", f"/subjects/{subject_a.pk}/screening", {"version": 1, "hb_value": "900"}
    )
    assert on_page.status_code == 422
    assert (field_codes(on_page, "hb_value"), field_codes(on_page, "reason")) == (
        ["implausible_value"],
        ["required"],
    )
    assert error_codes(over_api) == {"hb_value": ["implausible_value"], "reason": ["required"]}


# --- C16: judgement criteria wait for the investigator's own attestation -----------------------


def test_the_judgement_criteria_are_declared_once_in_the_rules():
    assert rules.JUDGEMENT_CRITERIA == ("I04", "E11", "E16")
    verdict = rules.evaluate(
        rules.ScreeningInput(
            expected_survival_attested=True,
            major_vessel_invasion_risk=False,
            investigator_unsafe_judgement=False,
        ),
        {},
    )
    assert services.pending_attestations(verdict) == ["I04", "E11", "E16"]


def test_before_sign_off_the_judgement_criteria_are_pending_not_met(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a)
    login(client, coordinator_a)
    html = page(client.get(screening_url(subject_a)))
    statuses = dict(checklist(html))
    assert {code: statuses[code] for code in JUDGEMENT} == dict.fromkeys(
        JUDGEMENT, "pending_attestation"
    )
    assert "attested by" not in html
    body = Api(client, coordinator_a).get(f"/subjects/{subject_a.pk}/eligibility").json()
    pending = [c["code"] for c in body["criteria"] if c["status"] == "pending_attestation"]
    assert pending == list(JUDGEMENT)


def test_a_signature_without_every_attestation_is_refused_with_a_code(
    subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    with pytest.raises(ValidationError) as caught:
        services.sign_eligibility(
            subject=subject_a,
            by=investigator_a,
            password=PASSWORD,
            expected_hash=shown_hash(subject_a),
            attested=["I04", "E11"],  # E16 not attested
            request=web_request(),
        )
    assert codes_of(caught.value) == {"attested_criteria": ["attestation_required"]}
    assert "E16" in caught.value.messages[0]
    with pytest.raises(ValidationError) as caught:
        services.sign_eligibility(
            subject=subject_a,
            by=investigator_a,
            password=PASSWORD,
            expected_hash=shown_hash(subject_a),
            attested=[*JUDGEMENT, "I08"],  # I08 is checked by the software, not attested
            request=web_request(),
        )
    assert codes_of(caught.value) == {"attested_criteria": ["not_attestable"]}
    assert not EligibilitySignature.objects.exists()


def test_the_attestation_is_stored_bound_audited_and_shown_read_only(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    login(client, investigator_a)
    refused = client.post(sign_url(subject_a), sign_form(client, subject_a, attest=False))
    assert refused.status_code == 422
    assert [e.code for e in refused.context["form"].errors.as_data()["attested_criteria"]] == [
        "attestation_required"
    ]
    assert not EligibilitySignature.objects.exists()

    signed = client.post(sign_url(subject_a), sign_form(client, subject_a))
    assert signed.status_code == 302

    signature = EligibilitySignature.objects.get()
    assert signature.attested_criteria == list(JUDGEMENT)
    assert signature.signature_hash == services.signature_hash(
        data_hash=signature.data_hash,
        meaning=signature.meaning,
        attested=list(JUDGEMENT),
        signer_id=investigator_a.pk,
    )
    created = AuditEvent.objects.filter(
        table_name=EligibilitySignature._meta.db_table, record_pk=str(signature.pk)
    ).order_by("chain_seq")[0]
    assert created.new_data["attested_criteria"] == list(JUDGEMENT)
    assert created.new_data["signature_hash"] == signature.signature_hash
    html = page(client.get(screening_url(subject_a)))
    statuses = dict(checklist(html))
    assert {code: statuses[code] for code in JUDGEMENT} == dict.fromkeys(JUDGEMENT, "attested")
    assert re.findall(r'data-attested="(\w+)"', html) == list(JUDGEMENT)
    assert "attested by Test Inv_A" in html
    assert 'id="signature-attested"' in html
    assert 'name="attested_criteria"' not in html  # read-only: nothing to tick any more


def test_the_coordinator_cannot_attest_or_sign(client, subject_a, coordinator_a):
    enter(subject_a, coordinator_a)
    login(client, coordinator_a)
    posted = {"password": PASSWORD, "data_hash": shown_hash(subject_a)}
    response = client.post(sign_url(subject_a), {**posted, "attested_criteria": JUDGEMENT})
    assert response.status_code == 403
    over_api = Api(client, coordinator_a).post(
        f"/subjects/{subject_a.pk}/eligibility/signature",
        {**posted, "attested_criteria": list(JUDGEMENT)},
    )
    assert over_api.status_code == 403
    with pytest.raises(PermissionDenied):
        services.sign_eligibility(
            subject=subject_a,
            by=coordinator_a,
            password=PASSWORD,
            expected_hash=shown_hash(subject_a),
            attested=JUDGEMENT,
            request=web_request(),
        )
    assert not EligibilitySignature.objects.exists()


def test_over_the_api_the_signature_needs_the_attestations(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    api = Api(client, investigator_a)
    url = f"/subjects/{subject_a.pk}/eligibility/signature"
    body = {"password": PASSWORD, "data_hash": shown_hash(subject_a)}
    refused = api.post(url, body)
    assert error_codes(refused) == {"attested_criteria": ["attestation_required"]}
    signed = api.post(url, {**body, "attested_criteria": list(JUDGEMENT)})
    assert signed.status_code == 201
    assert signed.json()["attested_criteria"] == list(JUDGEMENT)
    verdict = api.get(f"/subjects/{subject_a.pk}/eligibility").json()
    attested = [c["code"] for c in verdict["criteria"] if c["status"] == "attested"]
    assert attested == list(JUDGEMENT)


# --- C13: reasons as codes with parameters, translated on the page ----------------------------


def test_a_reason_is_a_code_with_parameters():
    verdict = rules.evaluate(rules.ScreeningInput(anc=rules.Lab(Decimal("1.2"), "10^9/L")), {})
    i08 = next(r for r in verdict.results if r.code == "I08")
    anc = next(reason for reason in i08.reasons if reason.code.startswith("anc_"))
    assert anc.as_json()["code"] == "anc_below_min"
    assert anc.as_json()["params"]["limit"] == "1.5"
    assert anc.as_json()["params"]["unit"] == "10^9/L"
    assert anc.text() == "ANC 1.2 10^9/L; needs >= 1.5 10^9/L"


def test_the_api_gives_the_reasons_as_codes_and_parameters(client, subject_a, coordinator_a):
    enter(subject_a, coordinator_a, anc_value=Decimal("1.2"))
    body = Api(client, coordinator_a).get(f"/subjects/{subject_a.pk}/eligibility").json()
    i08 = next(c for c in body["criteria"] if c["code"] == "I08")
    assert i08["status"] == "not_met"
    (anc,) = [r for r in i08["reasons"] if r["code"] == "anc_below_min"]
    assert anc["params"]["limit"] == "1.5"
    assert "ANC 1.2 10^9/L; needs >= 1.5 10^9/L" in i08["reason"]


def test_the_chinese_page_shows_chinese_titles_and_reasons(client, subject_a, coordinator_a):
    enter(subject_a, coordinator_a, anc_value=Decimal("1.2"))
    login(client, coordinator_a)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = page(client.get(screening_url(subject_a)))
    assert "器官功能良好" in html  # I08 "Adequate organ function"
    # the failing part's reason, ANC named and worded in Chinese
    assert "中性粒细胞绝对计数 1.2 10⁹/L；需 ≥ 1.5 10⁹/L" in html
    assert "待研究者确认" in html  # "pending the investigator's attestation"
    assert "Adequate organ function" not in html
    assert "needs >=" not in html


def test_the_live_verdict_drops_a_value_the_save_would_refuse(client, subject_a, coordinator_a):
    """The form only types now: the live verdict asks the service's checks which values are
    unusable (Hb 900 g/L is no haemoglobin) and shows them as not entered, never as met."""
    from tests.eligibility.test_views import live, reason_of

    enter(subject_a, coordinator_a)
    login(client, coordinator_a)
    html = page(live(client, subject_a, hb_value=Decimal("900")))
    assert ("I08", "not_evaluable") in checklist(html)
    assert "Hb missing" in reason_of(html, "I08")
    assert Screening.objects.get().hb_value == Decimal("120")


def test_cross_field_dates_are_the_validators_not_the_forms():
    born = dt.date(1980, 5, 17)
    values = {
        "lab_date": dt.date(1979, 12, 31),  # before birth: a typing error
        "first_procedure_date": dt.date(2026, 2, 20),
        "planned_c1d1": dt.date(2026, 2, 10),  # before screening started
    }
    with pytest.raises(ValidationError) as caught:
        validate_screening(values, today=TODAY, born=born)
    assert codes(caught.value) == {
        "lab_date": ["before_birth"],
        "planned_c1d1": ["c1d1_before_screening"],
    }
    # the first procedure before consent is no typing error: I01 says it is not met
    validate_screening({"first_procedure_date": dt.date(2026, 1, 2)}, today=TODAY, born=born)


def test_a_signature_without_the_attestations_does_not_open_enrolment(
    subject_a, coordinator_a, investigator_a
):
    """A signature made before attestations existed (none stored) covers the data but not
    the investigator's judgement: enrolment waits for a new signature."""
    from tests.factories import sign_eligible

    signature = sign_eligible(subject_a, by=coordinator_a)
    screening = Screening.objects.get()
    assert services.valid_signature(subject_a, screening) == signature
    EligibilitySignature.objects.filter(pk=signature.pk).update(attested_criteria=[])

    assert services.valid_signature(subject_a, screening) is None
    with pytest.raises(ValidationError) as caught:
        services.assert_enrolable(subject_a, on_date=TODAY, c1d1=None)
    assert codes_of(caught.value) == {"status": ["not_signed"]}


def test_the_page_says_a_signature_lacks_the_attestations(client, subject_a, coordinator_a):
    from tests.factories import sign_eligible

    signature = sign_eligible(subject_a, by=coordinator_a)
    EligibilitySignature.objects.filter(pk=signature.pk).update(attested_criteria=[])
    login(client, coordinator_a)
    html = page(client.get(screening_url(subject_a)))
    assert 'id="signature-unattested"' in html
    assert 'id="signature-valid"' not in html and 'id="signature-stale"' not in html

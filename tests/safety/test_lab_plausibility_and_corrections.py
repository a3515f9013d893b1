"""Lab panels (issue 11 C2): one table of impossible values for every form with lab values
(``eligibility.plausibility.PLAUSIBLE``, the screening form's), and the correction of a
recorded panel (reason, version, re-graded, offers and queries re-synced; page and API).

Limits worked by hand from that table: Hb 20-250 g/L (= 2.0-25.0 g/dL; x 16.1145 from
mmol/L: 15.5 mmol/L = 249.77 g/L, 15.6 mmol/L = 251.39 g/L); PLT 1-3000 x10^9/L (= 1 000-
3 000 000 /mm3); creatinine 10-3000 umol/L (x 88.4 from mg/dL: 33.9 mg/dL = 2996.76 umol/L,
34.0 mg/dL = 3005.6 umol/L). Before: the panel stored Hb 900 g/L (screening refused it).
Site A's ranges (eligibility.demo): Hb 115-175 g/L, ANC 1.8-6.3, PLT 125-350 x10^9/L.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from audit.versioning import EditConflict
from queries.models import Query
from safety import plausibility, services
from safety.models import LabPanel, LabResult
from tests.api_errors import error_codes
from tests.subjects.test_api import Api

D = dt.date
CHECK = "safety.lab_grade_without_ae"


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


def panel(subject, by, values, **kwargs):
    return services.record_lab_panel(
        subject=subject,
        by=by,
        sample_date=kwargs.pop("sample_date", D(2026, 2, 16)),
        values=values,
        **kwargs,
    )


def codes(call) -> dict[str, list[str]]:
    before = (LabPanel.objects.count(), LabResult.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError) as caught:
        call()
    after = (LabPanel.objects.count(), LabResult.objects.count(), AuditEvent.objects.count())
    assert after == before, "a refused panel stored something"
    return {k: [e.code for e in v] for k, v in caught.value.error_dict.items()}


# --- one table of plausibility limits ---------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "value", "unit"),
    [
        ("hb", "250", "g/L"),
        ("hb", "20", "g/L"),
        ("hb", "25.0", "g/dL"),
        ("plt", "3000", "10^9/L"),
        ("plt", "2100", "10^9/L"),  # possible by the screening table (1-3000)
        ("plt", "1", "10^9/L"),
        ("creatinine", "33.9", "mg/dL"),
        ("anc", "100", "10^9/L"),
    ],
)
def test_values_on_the_edge_of_the_table_are_stored(subject, coordinator_a, analyte, value, unit):
    stored = panel(subject, coordinator_a, {analyte: (value, unit)})
    assert stored.results.get().value == Decimal(value)


@pytest.mark.parametrize(
    ("analyte", "value", "unit"),
    [
        ("hb", "900", "g/L"),
        ("hb", "251", "g/L"),
        ("hb", "19.9", "g/L"),
        ("hb", "25.1", "g/dL"),
        ("plt", "3001", "10^9/L"),
        ("plt", "0.5", "10^9/L"),
        ("creatinine", "34.0", "mg/dL"),
        ("anc", "100.1", "10^9/L"),
    ],
)
def test_impossible_values_are_refused_by_the_field(subject, coordinator_a, analyte, value, unit):
    assert codes(lambda: panel(subject, coordinator_a, {analyte: (value, unit)})) == {
        f"{analyte}-value": ["implausible_value"]
    }


def test_the_message_names_the_limits_in_the_canonical_unit(subject, coordinator_a):
    with pytest.raises(ValidationError) as caught:
        panel(subject, coordinator_a, {"hb": ("900", "g/L")})
    assert caught.value.message_dict == {
        "hb-value": ["900 g/L is not a possible value (expected 20–250 g/L); check the report."]
    }


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "refused"),
    [
        ("hb", "15.5", "mmol/L", False),
        ("hb", "15.6", "mmol/L", True),
        ("plt", "3000000", "/mm3", False),
        ("plt", "3000001", "/mm3", True),
        ("anc", "100000", "/mm3", False),
        ("anc", "100001", "/mm3", True),
        # analytes of the panel only (same table): WBC 0-500 x10^9/L, triglycerides
        # 0.1-150 mmol/L (/ 88.57 from mg/dL: 13285 mg/dL = 149.99, 13286 = 150.006),
        # cholesterol 0.5-50 mmol/L, urine protein 0-50 g/24 h (50 001 mg = 50.001 g),
        # TSH 0-1000 mIU/L, free T4 0.5-300 pmol/L (x 12.87 from ng/dL: 23.3 = 299.871,
        # 23.4 = 301.158), QTc 250-700 ms (the screening form's limits)
        ("wbc", "500", "10^9/L", False),
        ("wbc", "500.1", "10^9/L", True),
        ("triglycerides", "13285", "mg/dL", False),
        ("triglycerides", "13286", "mg/dL", True),
        ("triglycerides", "0.09", "mmol/L", True),
        ("cholesterol", "50", "mmol/L", False),
        ("cholesterol", "50.1", "mmol/L", True),
        ("urine_protein_24h", "50000", "mg/24 h", False),
        ("urine_protein_24h", "50001", "mg/24 h", True),
        ("tsh", "1000", "mIU/L", False),
        ("tsh", "1000.1", "mIU/L", True),
        ("ft4", "23.3", "ng/dL", False),
        ("ft4", "23.4", "ng/dL", True),
        ("ft4", "0.4", "pmol/L", True),
        ("qtc", "700", "ms", False),
        ("qtc", "701", "ms", True),
        ("qtc", "250", "ms", False),
        ("qtc", "249", "ms", True),
    ],
)
def test_units_screening_does_not_offer_are_brought_to_the_table(analyte, value, unit, refused):
    assert (plausibility.implausible(analyte, Decimal(value), unit) is not None) is refused


def test_the_table_is_the_screening_forms():
    from eligibility.plausibility import PLAUSIBLE

    assert plausibility.PLAUSIBLE is PLAUSIBLE


# --- corrections --------------------------------------------------------------------------------


def correct(recorded, by, values, **kwargs):
    recorded.refresh_from_db()
    return services.correct_lab_panel(
        panel=recorded,
        by=by,
        expected_version=kwargs.pop("expected_version", recorded.version),
        reason=kwargs.pop("reason", "Transcription error: ANC 2.0 on the report"),
        sample_date=kwargs.pop("sample_date", recorded.sample_date),
        values=values,
        **kwargs,
    )


def open_lab_queries(subject):
    return Query.objects.filter(subject=subject, edit_check=CHECK, status=Query.Status.OPEN)


def test_a_correction_regrades_and_closes_the_query_and_the_offer(subject, coordinator_a):
    recorded = panel(subject, coordinator_a, {"anc": ("0.8", "10^9/L"), "hb": ("121", "g/L")})
    assert len(services.offered_aes(recorded)) == 1 and open_lab_queries(subject).count() == 1

    corrected = correct(recorded, coordinator_a, {"anc": ("2.0", "10^9/L"), "hb": ("121", "g/L")})
    anc = corrected.results.get(analyte="anc")
    assert (anc.value, anc.grade, anc.version) == (Decimal("2.0"), 0, 2)
    assert corrected.results.get(analyte="hb").version == 1  # unchanged: not rewritten
    assert corrected.version == 2
    assert services.offered_aes(corrected) == []
    assert not open_lab_queries(subject).exists()
    audit = AuditEvent.objects.filter(table_name="safety_labresult", action="UPDATE").get()
    assert (audit.app_username, audit.reason) == (
        "coord_a",
        "Transcription error: ANC 2.0 on the report",
    )


def test_a_correction_to_a_higher_grade_offers_the_ae_and_opens_the_query(subject, coordinator_a):
    recorded = panel(subject, coordinator_a, {"plt": ("130", "10^9/L")})
    assert not open_lab_queries(subject).exists()
    # 40 x10^9/L is "<50.0 - 25.0 x 10e9 /L": Platelet count decreased grade 3
    corrected = correct(recorded, coordinator_a, {"plt": ("40", "10^9/L")}, reason="Typo")
    assert corrected.results.get().grade == 3
    [offer] = services.offered_aes(corrected)
    assert offer.term.term == "Platelet count decreased"
    assert open_lab_queries(subject).count() == 1


def test_a_value_left_out_is_removed_with_its_query(subject, coordinator_a):
    recorded = panel(subject, coordinator_a, {"anc": ("0.8", "10^9/L"), "hb": ("121", "g/L")})
    corrected = correct(recorded, coordinator_a, {"hb": ("121", "g/L")}, reason="ANC not done")
    assert [r.analyte for r in corrected.results.all()] == ["hb"]
    assert not open_lab_queries(subject).exists()


def test_a_correction_needs_a_reason_the_version_read_and_plausible_values(
    subject, coordinator_a, monitor_a
):
    recorded = panel(subject, coordinator_a, {"hb": ("121", "g/L")})
    assert codes(lambda: correct(recorded, coordinator_a, {"hb": ("12", "g/L")}, reason=" ")) == {
        "reason": ["required"]
    }
    assert codes(lambda: correct(recorded, coordinator_a, {"hb": ("900", "g/L")})) == {
        "hb-value": ["implausible_value"]
    }
    with pytest.raises(EditConflict):
        correct(recorded, coordinator_a, {"hb": ("125", "g/L")}, expected_version=0)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        correct(recorded, monitor_a, {"hb": ("125", "g/L")})
    recorded.refresh_from_db()
    assert (recorded.version, recorded.results.get().value) == (1, Decimal("121"))


def test_the_correction_over_the_api(client, subject, coordinator_a, monitor_a):
    api = Api(client, coordinator_a)
    body = {"sample_date": "2026-02-16", "values": {"anc": {"value": "0.8", "unit": "10^9/L"}}}
    created = api.post(f"/subjects/{subject.pk}/lab-panels", body).json()
    assert len(created["offered_aes"]) == 1
    path = f"/lab-panels/{created['id']}"
    fixed = {
        **body,
        "values": {"anc": {"value": "2.0", "unit": "10^9/L"}},
        "version": 1,
        "reason": "Typo",
    }
    response = api.send("PUT", path, fixed)
    assert response.status_code == 200
    out = response.json()
    assert (out["version"], out["results"][0]["grade"], out["offered_aes"]) == (2, 0, [])
    assert api.send("PUT", path, fixed).status_code == 409
    implausible = {**fixed, "version": 2, "values": {"hb": {"value": "900", "unit": "g/L"}}}
    assert error_codes(api.send("PUT", path, implausible)) == {"hb-value": ["implausible_value"]}
    assert error_codes(api.send("PUT", path, {**fixed, "version": 2, "reason": ""})) == {
        "reason": ["required"]
    }
    assert Api(client, monitor_a).send("PUT", path, {**fixed, "version": 2}).status_code == 403


def test_the_correction_page(client, subject, coordinator_a):
    recorded = panel(subject, coordinator_a, {"anc": ("0.8", "10^9/L")})
    client.force_login(coordinator_a)
    url = reverse("safety:lab_correct", args=[subject.pk, recorded.pk])
    labs = client.get(reverse("safety:labs", args=[subject.pk])).content.decode()
    assert url in labs
    form = client.get(url)
    assert form.status_code == 200
    assert form.context["form"]["anc-value"].value() == "0.8"
    data = {
        "version": 1,
        "sample_date": "2026-02-16",
        "anc-value": "2.0",
        "anc-unit": "10^9/L",
        "reason": "",
    }
    refused = client.post(url, data)
    assert refused.status_code == 422 and "reason" in refused.context["form"].errors
    implausible = client.post(url, {**data, "reason": "Typo", "anc-value": "250"})
    assert implausible.status_code == 422
    assert "anc-value" in implausible.context["form"].errors
    done = client.post(url, {**data, "reason": "Typo"})
    assert done.status_code == 302
    assert LabResult.objects.get().grade == 0
    stale = client.post(url, {**data, "reason": "Typo"})
    assert stale.status_code == 409

"""The log forms over the API: the same services, the error shape of every router, 201 on
create, 409 on a stale version, 404 for another site's subject, 403 for a monitor."""

import datetime as dt

import pytest

from logs.models import ConMed, Deviation
from safety.models import CtcaeTerm
from tests.api_errors import error_codes
from tests.logs.conftest import con_med
from tests.subjects.test_api import Api

D = dt.date
pytestmark = pytest.mark.django_db


def body(**overrides):
    data = {
        "name": "Rivaroxaban",
        "dose": "20",
        "unit": "mg",
        "route": "oral",
        "frequency": "qd",
        "start_date": "2026-01-10",
        "ongoing": True,
    }
    return data | overrides


def test_a_con_med_is_recorded_flagged_and_corrected(client, treated, coordinator_a):
    api = Api(client, coordinator_a)
    created = api.post(f"/subjects/{treated.pk}/con-meds", body())
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["flag"] == {
        "code": "anticoagulant",
        "level": "cautionary",
        "label": "an anticoagulant (prohibited at therapeutic dose)",
        "matched": "rivaroxaban",
    }
    path = f"/con-meds/{data['id']}"
    assert error_codes(api.patch(path, {"version": 1, "reason": "", "dose": "10"})) == {
        "reason": ["required"]
    }
    assert api.patch(path, {"version": 0, "reason": "x", "dose": "10"}).status_code == 409
    fixed = api.patch(path, {"version": 1, "reason": "Dose misread", "dose": "10"})
    assert fixed.status_code == 200 and fixed.json()["version"] == 2
    listed = api.get(f"/subjects/{treated.pk}/con-meds")
    assert [c["dose"] for c in listed.json()] == ["10.0000"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"dose": "0"}, "dose", "dose_implausible"),
        ({"start_date": "2026-03-03"}, "start_date", "future_date"),
        ({"start_date": "1899-12-31"}, "start_date", None),  # the schema's own bound
        ({"stop_date": "2026-01-09", "ongoing": False}, "stop_date", "stop_before_start"),
        ({"unit": "spoonful"}, "unit", "invalid_choice"),
        ({"indication_ae_id": 999999}, "indication_ae", "not_found"),
    ],
)
def test_a_refused_con_med_is_422_by_field(client, treated, coordinator_a, overrides, field, code):
    response = Api(client, coordinator_a).post(
        f"/subjects/{treated.pk}/con-meds", body(**overrides)
    )
    errors = error_codes(response)
    assert field in errors and (code is None or code in errors[field])
    assert not ConMed.objects.exists()


def test_others_are_refused(client, treated, coordinator_b, monitor_a, data_manager):
    path = f"/subjects/{treated.pk}/con-meds"
    assert Api(client, coordinator_b).post(path, body()).status_code == 404
    assert Api(client, monitor_a).post(path, body()).status_code == 403
    assert Api(client, data_manager).post(path, body()).status_code == 403
    assert Api(client, monitor_a).get(path).status_code == 200
    assert Api(client).get(path).status_code == 401


def test_medical_history_by_term_id(client, treated, coordinator_a):
    api = Api(client, coordinator_a)
    term = CtcaeTerm.objects.get(term="Hypertension")
    path = f"/subjects/{treated.pk}/medical-history"
    bad = api.post(path, {"start_date": "2020-01-01", "ongoing": True, "baseline_grade": 5})
    assert error_codes(bad) == {
        "condition": ["term_or_condition"],
        "baseline_grade": ["invalid_grade"],
    }
    created = api.post(
        path, {"term_id": term.pk, "start_date": "2020-01-01", "ongoing": True, "baseline_grade": 2}
    )
    assert created.status_code == 201 and created.json()["term"] == "Hypertension"
    mh_id = created.json()["id"]
    fixed = api.patch(
        f"/medical-history/{mh_id}", {"version": 1, "reason": "G", "baseline_grade": 1}
    )
    assert fixed.json()["baseline_grade"] == 1
    assert len(api.get(path).json()) == 1


def test_deviations_are_reported_decided_and_listed(client, treated, coordinator_a):
    api = Api(client, coordinator_a)
    path = f"/subjects/{treated.pk}/deviations"
    created = api.post(
        path,
        {
            "category": "informed_consent",
            "description": "Old version signed",
            "occurred_on": "2025-12-20",
        },
    )
    assert created.status_code == 201 and created.json()["status"] == "confirmed"
    dev_id = created.json()["id"]
    assert error_codes(
        api.post(f"/deviations/{dev_id}/decision", {"version": 1, "decision": "dismiss"})
    ) == {"reason": ["required"]}
    dismissed = api.post(
        f"/deviations/{dev_id}/decision",
        {"version": 1, "decision": "dismiss", "reason": "Re-consented the same day"},
    )
    assert dismissed.json()["status"] == "dismissed"
    corrected = api.patch(
        f"/deviations/{dev_id}", {"version": 2, "reason": "Typo", "description": "Old ICF"}
    )
    assert corrected.json()["description"] == "Old ICF"
    assert api.get(path).json()[0]["site"] == "GZ01"
    assert Deviation.objects.get().version == 3


def test_the_lists_answer_in_the_same_number_of_queries_for_1_and_30(
    client, treated, coordinator_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = Api(client, coordinator_a)
    path = f"/subjects/{treated.pk}/con-meds"

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured.captured_queries)

    con_med(treated, coordinator_a)
    count()  # the token's first use is recorded once
    one = count()
    for i in range(1, 30):
        con_med(treated, coordinator_a, start_date=D(2026, 1, 10) + dt.timedelta(days=i))
    assert count() == one

"""Tumour assessments over the API (clock 2026-03-02 in Guangzhou, C1D1 2026-01-05).

Baseline 2026-01-02: T1 liver 40, T2 lung 30, T3 node 30 (sum 100 mm), NT1 bone.
"""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from assessments.models import Lesion, Timepoint
from tests.api_errors import error_codes
from tests.assessments.test_services import stored
from tests.subjects.test_api import API, Api


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


@pytest.fixture
def api(client, coordinator_a):
    return Api(client, coordinator_a)


def lesion(lesion_id, organ, mm=None, *, node=False):
    body = {
        "lesion_id": lesion_id,
        "organ": organ,
        "method": "CT",
        "slice_thickness_mm": 5,
        "is_node": node,
        "baseline_date": "2026-01-02",
    }
    return body | ({"diameter_mm": mm} if mm is not None else {})


BASELINE = {
    "targets": [
        lesion("T1", "liver", 40),
        lesion("T2", "lung", 30),
        lesion("T3", "lymph node", 30, node=True),
    ],
    "non_targets": [lesion("NT1", "bone")],
}


def timepoint(on, t1, t2, t3, **extra):
    body = {
        "scan_date": on,
        "measurements": {
            "T1": {"diameter_mm": t1},
            "T2": {"diameter_mm": t2},
            "T3": {"diameter_mm": t3},
        },
        "non_target_status": "non-CR/non-PD",
        "new_lesion": "no",
    }
    return body | extra


@pytest.fixture
def baseline(api, treated):
    response = api.post(f"/subjects/{treated.pk}/lesions", BASELINE)
    assert response.status_code == 201, response.content
    return treated


def test_baseline_round_trip(api, baseline):
    rows = api.get(f"/subjects/{baseline.pk}/lesions").json()
    assert [(r["lesion_id"], r["role"]) for r in rows] == [
        ("T1", "target"),
        ("T2", "target"),
        ("T3", "target"),
        ("NT1", "non_target"),
    ]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (  # six targets: RECIST 4.2 allows five
            {"targets": [lesion(f"T{i}", f"organ {i}", 20) for i in range(1, 7)]},
            "targets-5",
            "too_many_targets",
        ),
        (  # a 12 mm node as a target (needs >= 15 mm short axis)
            {"targets": [lesion("T1", "lymph node", 12, node=True)]},
            "targets-0-diameter_mm",
            "node_not_measurable",
        ),
    ],
    ids=["six-targets", "12mm-node"],
)
def test_invalid_baseline_422_nothing_stored(api, treated, body, field, code):
    before = stored()
    response = api.post(f"/subjects/{treated.pk}/lesions", body)
    assert error_codes(response) == {field: [code]}
    assert stored() == before


def test_timepoint_entry_returns_every_derived_value(api, baseline):
    # 28 + 21 + 21 = 70 of 100: -30.00 % exactly -> PR; in TA1's window (02-09..02-23)
    response = api.post(f"/subjects/{baseline.pk}/timepoints", timepoint("2026-02-16", 28, 21, 21))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sum_mm"] == "70.0"
    assert body["change_from_baseline_pct"] == "-30.00"
    assert body["nadir_mm"] == "100.0"
    assert body["change_from_nadir_mm"] == "-30.0"
    assert body["target_response"] == "PR"
    assert body["non_target_response"] == "non-CR/non-PD"
    assert body["overall_response"] == "PR"
    assert body["visit"] == "TA1" and body["out_of_window"] is False


def test_unknown_lesion_and_absurd_diameter_refused(api, baseline):
    before = stored()
    body = timepoint("2026-02-16", 28, 21, 21)
    body["measurements"]["T9"] = {"diameter_mm": 10}
    response = api.post(f"/subjects/{baseline.pk}/timepoints", body)
    assert error_codes(response) == {"measurements-T9": ["unknown_lesion"]}
    response = api.post(f"/subjects/{baseline.pk}/timepoints", timepoint("2026-02-16", 501, 2, 2))
    assert error_codes(response) == {"measurements-T1": ["diameter_implausible"]}
    assert stored() == before


def test_best_response_and_first_pd(api, baseline):
    url = f"/subjects/{baseline.pk}/timepoints"
    assert api.post(url, timepoint("2026-01-30", 28, 21, 21)).status_code == 201  # 70: PR
    # 84 mm: +14 mm and +20 % over the nadir of 70 -> PD on 02-27
    assert api.post(url, timepoint("2026-02-27", 34, 25, 25)).status_code == 201
    bor = api.get(f"/subjects/{baseline.pk}/best-response").json()
    # the PR of day 25 is unconfirmed and before the SD minimum (day 35): BOR PD
    assert bor["response"] == "PD"
    assert bor["first_pd_date"] == "2026-02-27"


def test_correction_with_version_and_reason(api, baseline):
    url = f"/subjects/{baseline.pk}/timepoints"
    created = api.post(url, timepoint("2026-01-30", 28, 21, 21)).json()
    body = timepoint("2026-01-30", 38, 21, 21) | {"version": created["version"]}
    assert api.patch(f"/timepoints/{created['id']}", body | {"reason": ""}).status_code == 422
    response = api.patch(f"/timepoints/{created['id']}", body | {"reason": "T1 misread"})
    assert response.status_code == 200
    assert response.json()["sum_mm"] == "80.0" and response.json()["overall_response"] == "SD"
    stale = api.patch(f"/timepoints/{created['id']}", body | {"reason": "again"})
    assert stale.status_code == 409


def test_lesion_correction(api, baseline):
    t1 = Lesion.objects.get(subject=baseline, lesion_id="T1")
    body = {"version": t1.version, "reason": "re-measured", "baseline_diameter_mm": 50}
    response = api.patch(f"/lesions/{t1.pk}", body)
    assert response.status_code == 200 and response.json()["baseline_diameter_mm"] == "50.0"


def test_monitor_reads_other_site_404(client, baseline, monitor_a, coordinator_b, api):
    api.post(f"/subjects/{baseline.pk}/timepoints", timepoint("2026-02-16", 28, 21, 21))
    tp = Timepoint.objects.get()
    monitor = Api(client, monitor_a)
    assert monitor.get(f"/subjects/{baseline.pk}/timepoints").status_code == 200
    body = timepoint("2026-03-01", 28, 21, 21)
    assert monitor.post(f"/subjects/{baseline.pk}/timepoints", body).status_code == 403
    other = Api(client, coordinator_b)
    for path in ("lesions", "timepoints", "best-response"):
        assert other.get(f"/subjects/{baseline.pk}/{path}").status_code == 404
    patch = timepoint("2026-02-16", 28, 21, 21) | {"version": 1, "reason": "x"}
    assert other.patch(f"/timepoints/{tp.pk}", patch).status_code == 404
    t1 = Lesion.objects.get(lesion_id="T1")
    assert other.patch(f"/lesions/{t1.pk}", {"version": 1, "reason": "x"}).status_code == 404


def test_openapi_document_with_assessments_is_valid(client, db):
    document = client.get(f"{API}/openapi.json").json()
    validate(document)
    assert "/api/v1/subjects/{subject_id}/best-response" in document["paths"]


# --- issue 11 C19: "what would this timepoint be", stateless --------------------------------


def preview_url(subject) -> str:
    return f"/subjects/{subject.pk}/timepoints/preview"


def test_preview_answers_the_derived_values_and_stores_nothing(api, baseline):
    """The page previewed an assessment; the API had no way to ask without recording it."""
    before = stored()  # lesions, timepoints, measurements and audit rows

    response = api.post(preview_url(baseline), timepoint("2026-02-16", 28, 21, 21))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "sum_mm": "70.0",  # 28 + 21 + 21 of 100: -30.00 % exactly -> PR
        "change_from_baseline_pct": "-30.00",
        "nadir_mm": "100.0",
        "change_from_nadir_pct": "-30.00",
        "change_from_nadir_mm": "-30.0",
        "target_response": "PR",
        "non_target_response": "non-CR/non-PD",
        "overall_response": "PR",
        "notes": [
            {
                "code": "pr_from_baseline",
                "params": {"percent": "-30", "baseline_mm": "100", "limit_pct": "30"},
                "text": "Sum \u221230.00\u00a0% from the baseline sum (100 mm): a decrease of at "
                "least 30 % is PR (RECIST 4.3.1).",
            }
        ],
    }
    assert stored() == before


def test_preview_equals_the_pages_preview_and_the_recorded_values(
    client, api, baseline, coordinator_a
):
    from decimal import Decimal

    from django.urls import reverse

    from tests.assessments.test_views import timepoint_post

    api.post(f"/subjects/{baseline.pk}/timepoints", timepoint("2026-01-30", 28, 21, 21))  # PR
    # 84 mm: +14 mm and +20 % over the nadir of 70 -> PD
    previewed = api.post(preview_url(baseline), timepoint("2026-02-27", 34, 25, 25)).json()
    client.force_login(coordinator_a)
    page = client.post(
        reverse("assessments:preview", args=[baseline.pk]),
        timepoint_post("2026-02-27", 34, 25, 25),
    ).context["result"]["result"]
    recorded = api.post(
        f"/subjects/{baseline.pk}/timepoints", timepoint("2026-02-27", 34, 25, 25)
    ).json()

    assert previewed["overall_response"] == "PD" and previewed["nadir_mm"] == "70.0"
    assert Decimal(previewed["sum_mm"]) == page.sum_mm
    assert Decimal(previewed["change_from_nadir_pct"]) == page.change_from_nadir_pct
    assert previewed["overall_response"] == page.overall.value
    assert {k: recorded[k] for k in previewed} == previewed


def test_preview_refuses_bad_input_by_the_field(api, baseline):
    before = stored()
    body = timepoint("2026-02-16", 28, 21, 21)
    body["measurements"]["T9"] = {"diameter_mm": 10}
    unknown = api.post(preview_url(baseline), body)
    absurd = api.post(preview_url(baseline), timepoint("2026-02-16", 501, 2, 2))
    text = api.post(preview_url(baseline), timepoint("2026-02-16", "2e", 2, 2))

    assert error_codes(unknown) == {"measurements-T9": ["unknown_lesion"]}
    assert error_codes(absurd) == {"measurements-T1": ["diameter_implausible"]}
    assert text.status_code == 422
    assert stored() == before


def test_preview_before_the_baseline_is_422(api, treated):
    response = api.post(preview_url(treated), timepoint("2026-02-16", 28, 21, 21))
    assert response.status_code == 422


def test_monitor_previews_and_another_site_gets_404(client, baseline, monitor_a, coordinator_b):
    body = timepoint("2026-02-16", 28, 21, 21)
    assert Api(client, monitor_a).post(preview_url(baseline), body).status_code == 200
    assert Api(client, coordinator_b).post(preview_url(baseline), body).status_code == 404


def test_preview_is_documented_with_its_errors(client, db):
    document = client.get(f"{API}/openapi.json").json()
    operation = document["paths"]["/api/v1/subjects/{subject_id}/timepoints/preview"]["post"]
    assert set(operation["responses"]) >= {"200", "401", "403", "404", "422"}

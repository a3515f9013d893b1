"""Dosing over the API: calendar, modifications, accountability, exposure, access, OpenAPI.

Clock frozen at 2026-03-02 10:00 in Guangzhou (as in tests/dosing/test_services.py). Subject:
enrolled 2026-01-03, C1D1 (first dose) 2026-01-05. Cycles by hand: C1 01-05 (dose 01-05..01-18,
rest 01-19..01-25), C2 01-26 (dose to 02-08, rest 02-09..02-15), C3 02-16 (dose to 03-01, rest
from 03-02, today), C4 03-09.
"""

from __future__ import annotations

import datetime as dt

import pytest
from openapi_spec_validator import validate

from audit.models import AuditEvent
from dosing import services
from dosing.models import Dispensing, DoseEvent
from tests.api_errors import error_codes, error_message
from tests.subjects.test_api import API, Api

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """Every test here runs at 2026-03-02 10:00 in Guangzhou (conftest)."""


@pytest.fixture
def api(client, coordinator_a):
    return Api(client, coordinator_a)


@pytest.fixture
def dispensed(treated, coordinator_a):
    """28 capsules of 12 mg dispensed on C1D1."""
    return services.record_dispensing(
        subject=treated,
        by=coordinator_a,
        dispensed_on=D(2026, 1, 5),
        strength_mg=12,
        lot_number="A2311",
        expiry=D(2027, 6, 30),
        capsules=28,
    )


def stored():
    return (
        list(DoseEvent.objects.values_list("pk", "version")),
        list(Dispensing.objects.values_list("pk", "version", "returned")),
        AuditEvent.objects.count(),
    )


def reduction(**overrides):
    """12 -> 10 mg from C2 day 8 (2026-02-02), as a client posts it."""
    body = {"kind": "reduction", "start": "2026-02-02", "dose_mg": 10, "reason": "toxicity"}
    return {**body, **overrides}


def calendar(api, subject, start, end):
    return api.get(f"/subjects/{subject.pk}/dosing/calendar?start={start}&end={end}")


# --- authentication and access -------------------------------------------------------------


def test_every_dosing_endpoint_needs_a_token(client, treated, dispensed):
    anonymous = Api(client)
    base = f"/subjects/{treated.pk}/dosing"
    responses = [
        anonymous.get(f"{base}/calendar?start=2026-01-05&end=2026-01-31"),
        anonymous.get(f"{base}/modifications"),
        anonymous.post(f"{base}/modifications", reduction()),
        anonymous.get(f"{base}/dispensings"),
        anonymous.post(f"{base}/dispensings", {}),
        anonymous.patch(f"/dispensings/{dispensed.pk}", {}),
        anonymous.get(f"{base}/exposure"),
    ]
    assert [r.status_code for r in responses] == [401] * 7


def test_monitor_and_data_manager_read_but_cannot_write(
    client, treated, dispensed, monitor_a, data_manager
):
    before = stored()
    base = f"/subjects/{treated.pk}/dosing"
    for user in (monitor_a, data_manager):
        reader = Api(client, user)
        reads = [
            reader.get(f"{base}/calendar?start=2026-01-05&end=2026-01-31"),
            reader.get(f"{base}/modifications"),
            reader.get(f"{base}/dispensings"),
            reader.get(f"{base}/exposure"),
        ]
        assert [r.status_code for r in reads] == [200] * 4
        writes = [
            reader.post(f"{base}/modifications", reduction()),
            reader.post(
                f"{base}/dispensings",
                {
                    "dispensed_on": "2026-01-26",
                    "strength_mg": 12,
                    "lot_number": "A2312",
                    "expiry": "2027-06-30",
                    "capsules": 28,
                },
            ),
            reader.patch(
                f"/dispensings/{dispensed.pk}",
                {"version": 1, "returned_on": "2026-01-26", "returned": 16},
            ),
        ]
        assert [r.status_code for r in writes] == [403] * 3
        assert error_message(writes[0], 403) == "Your role does not allow this."
    assert stored() == before


def test_a_subject_of_another_site_is_404_everywhere(client, treated, dispensed, coordinator_b):
    other = Api(client, coordinator_b)
    before = stored()
    base = f"/subjects/{treated.pk}/dosing"
    responses = [
        other.get(f"{base}/calendar?start=2026-01-05&end=2026-01-31"),
        other.get(f"{base}/modifications"),
        other.post(f"{base}/modifications", reduction()),
        other.get(f"{base}/dispensings"),
        other.post(
            f"{base}/dispensings",
            {
                "dispensed_on": "2026-01-26",
                "strength_mg": 12,
                "lot_number": "A2312",
                "expiry": "2027-06-30",
                "capsules": 28,
            },
        ),
        other.patch(
            f"/dispensings/{dispensed.pk}",
            {"version": 1, "returned_on": "2026-01-26", "returned": 16},
        ),
        other.get(f"{base}/exposure"),
    ]
    assert [r.status_code for r in responses] == [404] * 7
    assert "A2311" not in "".join(r.content.decode() for r in responses)
    assert stored() == before


# --- calendar and modifications ------------------------------------------------------------


def test_a_reduction_changes_the_calendar_from_its_date(api, treated):
    # C2 day 8 = 2026-02-02: days 1-7 (01-26..02-01) at 12 mg, days 8-14 (02-02..02-08) at 10 mg
    response = api.post(
        f"/subjects/{treated.pk}/dosing/modifications",
        reduction(detail="Hypertension grade 3"),
    )
    assert response.status_code == 201
    event = response.json()
    assert {k: v for k, v in event.items() if k not in ("id", "recorded_at")} == {
        "kind": "reduction",
        "start": "2026-02-02",
        "end": None,
        "dose_mg": 10,
        "cycle": None,
        "days": None,
        "reason": "toxicity",
        "detail": "Hypertension grade 3",
        "recorded_by": "coord_a",
        "version": 1,
    }
    assert api.get(f"/subjects/{treated.pk}/dosing/modifications").json() == [event]

    days = calendar(api, treated, "2026-01-31", "2026-02-09").json()
    assert [(d["date"], d["cycle"], d["cycle_day"], d["kind"], d["dose_mg"]) for d in days] == [
        ("2026-01-31", 2, 6, "on", 12),
        ("2026-02-01", 2, 7, "on", 12),
        ("2026-02-02", 2, 8, "on", 10),
        ("2026-02-03", 2, 9, "on", 10),
        ("2026-02-04", 2, 10, "on", 10),
        ("2026-02-05", 2, 11, "on", 10),
        ("2026-02-06", 2, 12, "on", 10),
        ("2026-02-07", 2, 13, "on", 10),
        ("2026-02-08", 2, 14, "on", 10),
        ("2026-02-09", 2, 15, "rest", 0),
    ]


def test_the_calendar_shows_days_before_c1d1_and_interruptions(api, treated, coordinator_a):
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=D(2026, 1, 16),
        end=D(2026, 1, 17),
        reason="toxicity",
    )
    days = calendar(api, treated, "2026-01-04", "2026-01-05").json()
    assert days == [
        {
            "date": "2026-01-04",
            "cycle": None,
            "cycle_day": None,
            "kind": "before_start",
            "dose_mg": 0,
        },
        {"date": "2026-01-05", "cycle": 1, "cycle_day": 1, "kind": "on", "dose_mg": 12},
    ]
    days = calendar(api, treated, "2026-01-15", "2026-01-18").json()
    assert [(d["kind"], d["dose_mg"]) for d in days] == [
        ("on", 12),
        ("interrupted", 0),
        ("interrupted", 0),
        ("on", 12),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {
                "kind": "interruption",
                "start": "2026-01-04",
                "end": "2026-01-06",
                "reason": "toxicity",
            },
            {"start": ["before_c1d1"]},
            id="before-C1D1",
        ),
        pytest.param(
            {
                "kind": "interruption",
                "start": "2026-03-03",
                "end": "2026-03-04",
                "reason": "toxicity",
            },
            {"start": ["future_date"]},
            id="future",
        ),
        pytest.param(
            reduction(dose_mg=8),
            {"dose_mg": ["not_one_level_down"]},
            id="12-to-8",
        ),
        pytest.param(
            {"kind": "delay", "start": "2026-02-20", "cycle": 3, "days": 3, "reason": "toxicity"},
            {"cycle": ["cycle_already_started"]},
            id="delay-of-a-started-cycle",
        ),
        pytest.param(
            {"kind": "interruption", "start": "2026-02-20", "reason": "toxicity", "dose_mg": 10},
            {"dose_mg": ["not_for_this_kind"]},
            id="field-of-another-kind",
        ),
        pytest.param(
            {
                "kind": "interruption",
                "start": "2026-02-20",
                "end": "2026-02-25",
                "reason": "toxicity",
                "detail": "n" * 301,
            },  # fmt: skip
            {"detail": ["max_length"]},  # the model's own check, run by the service
            id="notes-too-long",
        ),
    ],
)
def test_an_invalid_modification_is_422_on_the_field_and_stores_nothing(
    api, treated, body, expected
):
    before = stored()
    response = api.post(f"/subjects/{treated.pk}/dosing/modifications", body)
    assert error_codes(response) == expected
    assert stored() == before


def test_an_overlapping_interruption_is_422_with_its_code(api, treated):
    path = f"/subjects/{treated.pk}/dosing/modifications"
    first = {"kind": "interruption", "start": "2026-02-02", "end": "2026-02-05"}
    assert api.post(path, {**first, "reason": "toxicity"}).status_code == 201
    before = stored()
    overlap = {"kind": "interruption", "start": "2026-02-04", "end": "2026-02-06"}
    response = api.post(path, {**overlap, "reason": "toxicity"})
    assert error_codes(response) == {"start": ["overlaps_interruption"]}
    assert stored() == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            reduction(kind="reescalation", dose_mg=12),
            {"kind": ["reescalation_not_allowed"]},
            id="re-escalation",
        ),
        pytest.param(reduction(kind="escalation"), {"kind": ["invalid_choice"]}, id="unknown-kind"),
        pytest.param(
            reduction(reason="felt like it"), {"reason": ["invalid_choice"]}, id="unknown-reason"
        ),
        pytest.param(reduction(dose=10), {"dose": ["extra_forbidden"]}, id="misspelt-field"),
        pytest.param(reduction(start="2026-02-30"), {"start": ["date_invalid"]}, id="no-such-date"),
    ],
)
def test_a_modification_refused_before_the_calendar_is_422_on_that_field(
    api, treated, body, expected
):
    before = stored()
    response = api.post(f"/subjects/{treated.pk}/dosing/modifications", body)
    assert error_codes(response) == expected
    assert stored() == before


def test_no_modification_before_the_first_dose(api, subject_a):
    response = api.post(f"/subjects/{subject_a.pk}/dosing/modifications", reduction())
    assert error_codes(response) == {None: ["not_on_treatment"]}
    assert not DoseEvent.objects.exists()


def test_a_delay_moves_the_later_cycle_visits(api, treated):
    response = api.post(
        f"/subjects/{treated.pk}/dosing/modifications",
        {"kind": "delay", "start": "2026-03-02", "cycle": 4, "days": 3, "reason": "toxicity"},
    )
    assert response.status_code == 201
    visits = {v["code"]: v for v in api.get(f"/subjects/{treated.pk}/visits").json()}
    assert visits["C4D1"]["target_date"] == "2026-03-12"  # 03-09 + 3
    days = calendar(api, treated, "2026-03-09", "2026-03-12").json()
    assert [(d["cycle"], d["cycle_day"], d["kind"]) for d in days] == [
        (3, 22, "delayed"),
        (3, 23, "delayed"),
        (3, 24, "delayed"),
        (4, 1, "on"),
    ]


def test_the_calendar_range_is_checked(api, treated):
    backwards = calendar(api, treated, "2026-02-10", "2026-02-09")
    assert error_codes(backwards) == {"end": ["end_before_start"]}
    # 2026-01-05 + 399 days = 2027-02-08 (2026 has 365 days: 01-05 + 365 = 2027-01-05, + 34)
    longest = calendar(api, treated, "2026-01-05", "2027-02-08")
    assert longest.status_code == 200
    assert len(longest.json()) == 400
    too_long = calendar(api, treated, "2026-01-05", "2027-02-09")
    assert error_codes(too_long) == {"end": ["range_too_long"]}
    bad_date = calendar(api, treated, "2026-02-30", "2026-03-01")
    assert list(error_codes(bad_date)) == ["start"]


def test_the_calendar_without_dates_runs_from_c1d1_to_six_weeks_ahead(api, treated):
    days = api.get(f"/subjects/{treated.pk}/dosing/calendar").json()
    # 2026-01-05 .. 2026-04-13 (today 03-02 + 42): 26 + 28 + 31 + 13 = 98 days later, 99 rows
    assert (days[0]["date"], days[-1]["date"], len(days)) == ("2026-01-05", "2026-04-13", 99)


def test_a_subject_without_c1d1_has_an_empty_calendar(api, subject_a):
    response = api.get(f"/subjects/{subject_a.pk}/dosing/calendar")
    assert (response.status_code, response.json()) == (200, [])


# --- accountability ------------------------------------------------------------------------


def test_dispensing_and_return_give_compliance_by_hand(api, treated):
    response = api.post(
        f"/subjects/{treated.pk}/dosing/dispensings",
        {
            "dispensed_on": "2026-01-05",
            "strength_mg": 12,
            "lot_number": "A2311",
            "expiry": "2027-06-30",
            "capsules": 28,
        },
    )
    assert response.status_code == 201
    row = response.json()
    assert (row["capsules"], row["returned"], row["capsules_taken"], row["compliance"]) == (
        28,
        None,
        None,
        None,
    )
    assert row["version"] == 1

    # returned at C2D1 (01-26): planned doses 01-05..01-18 = 14; taken 28 - 16 = 12;
    # 100 x 12 / 14 = 85.71 -> 85.7 %, within 80-120 %: no flag
    returned = api.patch(
        f"/dispensings/{row['id']}",
        {"version": 1, "returned_on": "2026-01-26", "returned": 16, "reported_missed": 2},
    )
    assert returned.status_code == 200
    body = returned.json()
    assert (body["returned_on"], body["returned"], body["reported_missed"]) == (
        "2026-01-26",
        16,
        2,
    )
    assert (body["capsules_taken"], body["version"]) == (12, 2)
    assert body["compliance"] == {
        "period_start": "2026-01-05",
        "period_end": "2026-01-25",
        "planned_doses": 14,
        "capsules_taken": 12,
        "percent": "85.7",
        "flag": "",
    }
    assert api.get(f"/subjects/{treated.pk}/dosing/dispensings").json() == [body]
    audit = AuditEvent.objects.filter(table_name="dosing_dispensing", action="UPDATE").get()
    assert (audit.app_username, audit.reason) == ("coord_a", "Capsules returned")


def test_correcting_a_return_needs_a_reason_and_the_version_read(api, dispensed):
    path = f"/dispensings/{dispensed.pk}"
    first = {"returned_on": "2026-01-26", "returned": 16, "reported_missed": 2}
    assert api.patch(path, {"version": 1, **first}).status_code == 200
    recount = {"returned_on": "2026-01-26", "returned": 18, "reported_missed": 2}

    no_reason = api.patch(path, {"version": 2, **recount})
    assert error_codes(no_reason) == {"reason": ["required"]}
    stale = api.patch(path, {"version": 1, **recount, "reason": "Recount"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["differences"] == [{"field": "returned", "stored": "16", "submitted": "18"}]
    no_version = api.patch(path, {**recount, "reason": "Recount"})
    assert error_codes(no_version) == {"version": ["missing"]}
    assert Dispensing.objects.get().returned == 16

    # taken 28 - 18 = 10 of 14 planned: 71.43 -> 71.4 %, under 80 %: low
    corrected = api.patch(path, {"version": 2, **recount, "reason": "Recount at pharmacy"})
    assert corrected.status_code == 200
    body = corrected.json()
    assert (body["version"], body["capsules_taken"]) == (3, 10)
    assert (body["compliance"]["percent"], body["compliance"]["flag"]) == ("71.4", "low")
    audit = AuditEvent.objects.filter(table_name="dosing_dispensing", action="UPDATE").last()
    assert audit.reason == "Recount at pharmacy"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            {"returned": 29},
            {"returned": ["more_returned_than_dispensed"]},
            id="more-than-dispensed",
        ),
        pytest.param(
            {"returned_on": "2026-01-04"},
            {"returned_on": ["before_dispensing"]},
            id="before-dispensing",
        ),
        pytest.param({"returned_on": "2026-03-03"}, {"returned_on": ["future_date"]}, id="future"),
        pytest.param({"returned": -1}, {"returned": ["min_value"]}, id="negative"),
        pytest.param({"reported_missed": -2}, {"reported_missed": ["min_value"]}, id="missed<0"),
    ],
)
def test_an_impossible_return_is_422_and_stores_nothing(api, dispensed, change, expected):
    before = stored()
    body = {"version": 1, "returned_on": "2026-01-26", "returned": 16} | change
    response = api.patch(f"/dispensings/{dispensed.pk}", body)
    assert error_codes(response) == expected
    assert stored() == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"expiry": "2026-01-01"}, {"expiry": ["expired_lot"]}, id="expired-lot"),
        pytest.param({"dispensed_on": "2026-03-03"}, {"dispensed_on": ["future_date"]}, id="fut"),
        pytest.param({"strength_mg": 11}, {"strength_mg": ["invalid_choice"]}, id="not-a-level"),
        pytest.param({"capsules": 0}, {"capsules": ["min_value"]}, id="no-capsules"),
        pytest.param({"lot_number": "   "}, {"lot_number": ["blank"]}, id="blank-lot"),
    ],
)
def test_an_impossible_dispensing_is_422_and_stores_nothing(api, treated, change, expected):
    before = stored()
    body = {
        "dispensed_on": "2026-01-26",
        "strength_mg": 12,
        "lot_number": "A2312",
        "expiry": "2027-06-30",
        "capsules": 28,
    } | change
    response = api.post(f"/subjects/{treated.pk}/dosing/dispensings", body)
    assert error_codes(response) == expected
    assert stored() == before


# --- exposure ------------------------------------------------------------------------------


def test_exposure_by_hand(api, treated, coordinator_a):
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=D(2026, 1, 16),
        end=D(2026, 1, 18),
        reason="toxicity",
    )
    api.post(f"/subjects/{treated.pk}/dosing/modifications", reduction(reason="investigator"))
    body = api.get(f"/subjects/{treated.pk}/dosing/exposure").json()
    # Dosing days so far (today 03-02 is C3 day 15): C1 01-05..01-15 at 12 mg (01-16..01-18
    # interrupted) = 11 x 12 = 132; C2 01-26..02-01 at 12 = 84 and 02-02..02-08 at 10 = 70;
    # C3 02-16..03-01 at 10 = 140. Cumulative 132 + 84 + 70 + 140 = 426 mg.
    # Planned dosing days: 3 cycles x 14 = 42. Intensity 426 / 42 = 10.142 -> 10.14 mg/day;
    # relative 426 / (42 x 12 = 504) = 0.8452 -> 0.845. First dose 01-05, last 03-01:
    # 26 (to 01-31) + 28 (February) + 1 = 55 days later, 56 days inclusive.
    assert body == {
        "as_of": "2026-03-02",
        "cycles_started": 3,
        "first_dose": "2026-01-05",
        "last_dose": "2026-03-01",
        "duration_days": 56,
        "cumulative_mg": 426,
        "planned_dosing_days": 42,
        "dose_intensity_mg_per_day": "10.14",
        "relative_dose_intensity": "0.845",
        "interruptions": 1,
        "reductions": 1,
        "reasons": ["toxicity", "investigator"],
        "current_dose_mg": 10,
        "next_diary_cycle": 4,
        "next_diary_cycle_day1": "2026-03-09",
    }


def test_exposure_after_discontinuation_stops_the_day_before(api, treated, coordinator_a):
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="discontinuation",
        start=D(2026, 1, 28),
        reason="progression",
    )
    body = api.get(f"/subjects/{treated.pk}/dosing/exposure").json()
    # C1 01-05..01-18 (14 days) + C2 01-26..01-27 (2 days) at 12 mg = 16 x 12 = 192 mg;
    # planned: C1 14 + C2 days 1-14 up to 01-27 = 2 -> 16; intensity 12.00, relative 1.000
    assert (body["cycles_started"], body["cumulative_mg"], body["planned_dosing_days"]) == (
        2,
        192,
        16,
    )
    assert (body["dose_intensity_mg_per_day"], body["relative_dose_intensity"]) == (
        "12.00",
        "1.000",
    )
    assert (body["last_dose"], body["duration_days"]) == ("2026-01-27", 23)  # 01-05..01-27
    assert (body["current_dose_mg"], body["next_diary_cycle"]) == (0, None)


def test_exposure_before_c1d1_is_empty(api, subject_a):
    body = api.get(f"/subjects/{subject_a.pk}/dosing/exposure").json()
    assert (body["cycles_started"], body["cumulative_mg"], body["current_dose_mg"]) == (0, 0, None)
    assert (body["first_dose"], body["next_diary_cycle"], body["reasons"]) == (None, None, [])


# --- documentation -------------------------------------------------------------------------


def test_openapi_document_with_dosing_is_valid(client, db):
    document = client.get(f"{API}/openapi.json").json()
    validate(document)  # raises if the document is not valid OpenAPI
    paths = document["paths"]
    base = f"{API}/subjects/{{subject_id}}/dosing"
    assert {"get", "post"} <= set(paths[f"{base}/modifications"])
    assert {"get", "post"} <= set(paths[f"{base}/dispensings"])
    assert set(paths[f"{API}/dispensings/{{dispensing_id}}"]) == {"patch"}
    assert "get" in paths[f"{base}/calendar"] and "get" in paths[f"{base}/exposure"]
    assert {p["name"] for p in paths[f"{base}/calendar"]["get"]["parameters"]} >= {"start", "end"}
    assert all(
        op["tags"] == ["dosing"]
        for path, ops in paths.items()
        if "dosing" in path
        for op in ops.values()
    )

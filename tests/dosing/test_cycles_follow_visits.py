"""The dosing calendar, the patient diary and the API start each cycle on its CxD1 visit
(issue 13, section 4; PROTOCOL.md "Schedule"), on real records.

Subject (tests/dosing/conftest.py): C1D1 (first dose) 2026-01-05, clock 2026-03-02 10:00 in
Guangzhou. Planned by hand: C2 01-26, C3 02-16, C4 03-09, C5 03-30, C6 04-20.
C3D1 visit done 02-23, a week late: C4 = 02-23 + 21 = 03-16, C5 = 04-06, C6 = 04-27.

Before this change the calendar ignored the visit: it started C4 on 03-09 and C6 on 04-20, so on
04-14 the diary told the patient to start cycle 6 on 04-20, a week before the C6D1 visit (04-27).
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from dosing import services
from subjects import services as subject_services
from tests.dosing.conftest import NOW
from tests.subjects.test_api import Api

D = dt.date


def record(subject, code: str, on: dt.date, by) -> None:
    visit = subject.visits.get(code=code)
    subject_services.record_visit(
        visit=visit,
        expected_version=visit.version,
        actual_date=on,
        missed=False,
        note="",
        by=by,
    )


def visit_targets(subject, numbers) -> dict[int, dt.date]:
    rows = subject.visits.filter(kind="cycle", number__in=numbers)
    return {v.number: v.target_date for v in rows}


def calendar_day1s(subject, start: dt.date, end: dt.date) -> dict[int, dt.date]:
    return {d.cycle: d.day for d in services.calendar_for(subject, start, end) if d.cycle_day == 1}


def api_day1s(api: Api, subject, start: str, end: str) -> dict[int, str]:
    response = api.get(f"/subjects/{subject.pk}/dosing/calendar?start={start}&end={end}")
    assert response.status_code == 200
    return {row["cycle"]: row["date"] for row in response.json() if row["cycle_day"] == 1}


def diary_text(client, subject) -> str:
    response = client.get(reverse("dosing:diary", args=[subject.pk]))
    assert response["Content-Type"] == "application/pdf"
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()


@pytest.fixture
def late_c3(treated, coordinator_a):
    """C1D1 and C2D1 done on time, C3D1 done 02-23 (a week late); today 03-02."""
    record(treated, "C1D1", D(2026, 1, 5), coordinator_a)
    record(treated, "C2D1", D(2026, 1, 26), coordinator_a)
    record(treated, "C3D1", D(2026, 2, 23), coordinator_a)
    treated.refresh_from_db()
    return treated


def test_a_late_c3d1_moves_the_calendar_with_the_visits(late_c3, client, coordinator_a):
    expected = {4: D(2026, 3, 16), 5: D(2026, 4, 6), 6: D(2026, 4, 27)}
    assert visit_targets(late_c3, [4, 5, 6]) == expected
    day1s = calendar_day1s(late_c3, D(2026, 1, 5), D(2026, 5, 10))
    assert day1s == {1: D(2026, 1, 5), 2: D(2026, 1, 26), 3: D(2026, 2, 23), **expected}
    # the API's calendar says the same
    api = Api(client, coordinator_a)
    assert api_day1s(api, late_c3, "2026-03-01", "2026-05-10") == {
        4: "2026-03-16",
        5: "2026-04-06",
        6: "2026-04-27",
    }
    # today 03-02: the next diary covers cycle 4 from its visit, 03-16 (was 03-09)
    body = api.get(f"/subjects/{late_c3.pk}/dosing/exposure").json()
    assert (body["next_diary_cycle"], body["next_diary_cycle_day1"]) == (4, "2026-03-16")
    client.force_login(coordinator_a)
    text = diary_text(client, late_c3)
    assert "cycle 4" in text.lower()
    # C4 day 1 03-16, day 14 03-29, day 21 04-05
    assert "(2026-03-16 – 2026-04-05)" in text
    assert "2026-03-09" not in text


def test_on_the_week_before_the_c6d1_visit_the_diary_starts_cycle_6_on_that_visit(
    late_c3, client, coordinator_a
):
    with time_machine.travel(NOW.replace(month=4, day=14), tick=False):
        record(late_c3, "C4D1", D(2026, 3, 16), coordinator_a)
        record(late_c3, "C5D1", D(2026, 4, 6), coordinator_a)
        c6 = late_c3.visits.get(code="C6D1")
        assert c6.target_date == D(2026, 4, 27)
        cycle = services.diary_cycle(late_c3)
        assert (cycle.number, cycle.day1) == (6, c6.target_date)
        body = Api(client, coordinator_a).get(f"/subjects/{late_c3.pk}/dosing/exposure").json()
        assert (body["next_diary_cycle"], body["next_diary_cycle_day1"]) == (6, "2026-04-27")
        client.force_login(coordinator_a)
        text = diary_text(client, late_c3)
        # C6 day 1 04-27, day 14 = 04-27 + 13 = 05-10, last day 04-27 + 20 = 05-17
        assert "cycle 6" in text.lower()
        assert "(2026-04-27 – 2026-05-17)" in text
        assert "2026-05-10" in text and "2026-04-20" not in text
        page = client.get(reverse("dosing:calendar", args=[late_c3.pk])).content.decode()
        assert "Dosing diary, cycle 6 (PDF)" in page


def test_a_delay_recorded_through_dosing_moves_visits_and_calendar_alike(
    late_c3, client, coordinator_a
):
    # Today 03-02, before C4 (03-16): cycle 4 delayed 7 days over the API.
    # C4 = 02-23 + 21 + 7 = 03-23, C5 = 04-13, C6 = 05-04.
    api = Api(client, coordinator_a)
    response = api.post(
        f"/subjects/{late_c3.pk}/dosing/modifications",
        {"kind": "delay", "start": "2026-03-02", "cycle": 4, "days": 7, "reason": "toxicity"},
    )
    assert response.status_code in (200, 201), response.content
    expected = {4: D(2026, 3, 23), 5: D(2026, 4, 13), 6: D(2026, 5, 4)}
    assert visit_targets(late_c3, [4, 5, 6]) == expected
    day1s = calendar_day1s(late_c3, D(2026, 3, 1), D(2026, 5, 10))
    assert {n: day1s[n] for n in (4, 5, 6)} == expected
    assert api_day1s(api, late_c3, "2026-03-01", "2026-05-10") == {
        4: "2026-03-23",
        5: "2026-04-13",
        6: "2026-05-04",
    }
    body = api.get(f"/subjects/{late_c3.pk}/dosing/exposure").json()
    assert (body["next_diary_cycle"], body["next_diary_cycle_day1"]) == (4, "2026-03-23")
    client.force_login(coordinator_a)
    assert "(2026-03-23 – 2026-04-12)" in diary_text(client, late_c3)


def test_a_delay_through_the_service_with_no_late_visit_keeps_them_together(treated, coordinator_a):
    # Cycle 4 delayed 5 days, decided today 03-02: C4 = 03-09 + 5 = 03-14, C5 = 04-04,
    # C6 = 04-25.
    services.add_event(
        subject=treated, by=coordinator_a, kind="delay", start=D(2026, 3, 2), cycle=4, days=5,
        reason="toxicity",
    )  # fmt: skip
    expected = {4: D(2026, 3, 14), 5: D(2026, 4, 4), 6: D(2026, 4, 25)}
    assert visit_targets(treated, [4, 5, 6]) == expected
    day1s = calendar_day1s(treated, D(2026, 3, 1), D(2026, 5, 10))
    assert {n: day1s[n] for n in (4, 5, 6)} == expected
    assert services.diary_cycle(treated).day1 == D(2026, 3, 14)


def test_a_cycle_whose_visit_is_recorded_is_not_delayed(treated, coordinator_a):
    # C3D1 recorded done 02-16; a delay of cycle 3 dated 02-16 contradicts it: refused,
    # nothing stored (before: accepted, and the calendar then disagreed with the visit).
    record(treated, "C3D1", D(2026, 2, 16), coordinator_a)
    with pytest.raises(ValidationError) as caught:
        services.add_event(
            subject=treated, by=coordinator_a, kind="delay", start=D(2026, 2, 16), cycle=3,
            days=7, reason="toxicity",
        )  # fmt: skip
    assert [e.code for e in caught.value.error_dict["cycle"]] == ["cycle_already_started"]
    assert not treated.dose_events.exists()


def test_exposure_over_the_api_counts_cycles_from_their_visits(late_c3, client, coordinator_a):
    # Exposure to today 03-02 inclusive, C3 started on its visit 02-23: C3 dosing days so far
    # 02-23..02-28 (6) + 03-01..03-02 (2) = 8. Planned = 14 (C1) + 14 (C2) + 8 = 36;
    # cumulative = 36 x 12 = 432 mg; last dose 03-02 (C3 day 8). By the plan (C3 from 02-16)
    # it would have been 42 planned days and a last dose on 03-01 (C3 day 14).
    body = Api(client, coordinator_a).get(f"/subjects/{late_c3.pk}/dosing/exposure").json()
    assert (body["cycles_started"], body["planned_dosing_days"], body["cumulative_mg"]) == (
        3,
        36,
        432,
    )
    assert body["last_dose"] == "2026-03-02"

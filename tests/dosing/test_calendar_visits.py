"""dosing.calendar and dosing.exposure with the CxD1 visit dates (issue 13, section 4):
a cycle starts on its CxD1 visit date (PROTOCOL.md "Schedule"), pure, by hand.

C1D1 2026-01-05. Planned: C2 01-26, C3 02-16, C4 03-09. C3D1 visit done 02-23 (7 days late):
C3 02-23, C4 02-23 + 21 = 03-16, C5 04-06, C6 04-27. February 2026 has 28 days.
"""

from __future__ import annotations

from datetime import date

import pytest

from dosing.calendar import (
    CalendarError,
    DayKind,
    DoseEvent,
    EventKind,
    build_calendar,
    cycle_starts,
    planned_dose,
    validate_event,
)
from dosing.exposure import exposure

C1D1 = date(2026, 1, 5)
LATE_C3 = {3: date(2026, 2, 23)}


def test_a_late_c3d1_lengthens_cycle_2_with_delayed_days():
    days = {d.day: d for d in build_calendar(C1D1, [], date(2026, 2, 9), date(2026, 2, 24),
                                              visit_dates=LATE_C3)}  # fmt: skip
    # C2 day 15 = 01-26 + 14 = 02-09 rest ... day 21 = 02-15 rest
    assert (days[date(2026, 2, 9)].cycle_day, days[date(2026, 2, 9)].kind) == (15, DayKind.REST)
    assert (days[date(2026, 2, 15)].cycle_day, days[date(2026, 2, 15)].kind) == (21, DayKind.REST)
    # 02-16 (the planned C3D1) .. 02-22: C2 days 22-28, no dose (the cycle waits for its visit)
    for offset, day in enumerate(range(16, 23)):
        row = days[date(2026, 2, day)]
        assert (row.cycle, row.cycle_day, row.kind, row.dose_mg) == (
            2,
            22 + offset,
            DayKind.DELAYED,
            0,
        )
    # 02-23: C3 day 1 at 12 mg
    row = days[date(2026, 2, 23)]
    assert (row.cycle, row.cycle_day, row.kind, row.dose_mg) == (3, 1, DayKind.ON, 12)


def test_without_the_visit_date_the_calendar_keeps_the_plan():
    row = build_calendar(C1D1, [], date(2026, 2, 16), date(2026, 2, 16))[0]
    assert (row.cycle, row.cycle_day, row.kind) == (3, 1, DayKind.ON)


def test_cycles_after_a_late_c3d1_start_with_their_visits():
    cycles = cycle_starts(C1D1, [], date(2026, 4, 30), visit_dates=LATE_C3)
    assert [c.day1 for c in cycles] == [
        date(2026, 1, 5),
        date(2026, 1, 26),
        date(2026, 2, 23),
        date(2026, 3, 16),
        date(2026, 4, 6),
        date(2026, 4, 27),
    ]
    c3 = cycles[2]
    # C3 dosing 02-23 .. 02-23 + 13 = 03-08 (6 days in February, 8 in March); last day 03-15
    assert (c3.dose_days[0], c3.dose_days[-1], c3.last_day) == (
        date(2026, 2, 23),
        date(2026, 3, 8),
        date(2026, 3, 15),
    )
    # 03-09 was C4 day 1 by the plan; now C3 day 15, a rest day
    assert planned_dose(C1D1, [], date(2026, 3, 9), visit_dates=LATE_C3) == 0
    assert planned_dose(C1D1, [], date(2026, 3, 9)) == 12


def test_an_early_visit_shortens_the_previous_cycle():
    # C2D1 done 01-24, 2 days early: C1 is 01-05..01-23 (19 days, rest days 15-19 only)
    cycles = cycle_starts(C1D1, [], date(2026, 1, 31), visit_dates={2: date(2026, 1, 24)})
    assert (cycles[0].last_day, cycles[1].day1) == (date(2026, 1, 23), date(2026, 1, 24))
    row = build_calendar(C1D1, [], date(2026, 1, 24), date(2026, 1, 24),
                         visit_dates={2: date(2026, 1, 24)})[0]  # fmt: skip
    assert (row.cycle, row.cycle_day, row.kind) == (2, 1, DayKind.ON)


def delay(cycle: int, days: int, start: date) -> DoseEvent:
    return DoseEvent(EventKind.DELAY, start, cycle=cycle, days=days, reason="toxicity")


def test_a_delay_after_a_late_visit_counts_from_the_visit():
    # C4 = 02-23 + 21 + 7 = 03-23
    cycles = cycle_starts(C1D1, [delay(4, 7, date(2026, 3, 10))], date(2026, 3, 31),
                          visit_dates=LATE_C3)  # fmt: skip
    assert cycles[3].day1 == date(2026, 3, 23)


def test_a_cycle_whose_visit_came_late_can_be_delayed_until_its_new_day_1():
    # Decided 03-12: by the plan C4 started 03-09 (refused), after the late C3D1 it starts 03-16
    new = delay(4, 7, date(2026, 3, 12))
    with pytest.raises(CalendarError) as caught:
        validate_event(C1D1, [], new, today=date(2026, 3, 12))
    assert caught.value.code == "cycle_already_started"
    validate_event(C1D1, [], new, today=date(2026, 3, 12), visit_dates=LATE_C3)  # accepted
    # on 03-17 C4 has started (03-16): refused
    late = delay(4, 7, date(2026, 3, 17))
    with pytest.raises(CalendarError) as caught:
        validate_event(C1D1, [], late, today=date(2026, 3, 17), visit_dates=LATE_C3)
    assert caught.value.code == "cycle_already_started"


def test_a_cycle_whose_cxd1_visit_is_recorded_cannot_be_delayed():
    # C3D1 recorded done 02-16 (on time) and a delay of cycle 3 decided the same day: the cycle
    # started on its visit; the visit date must be corrected instead.
    new = delay(3, 7, date(2026, 2, 16))
    validate_event(C1D1, [], new, today=date(2026, 2, 16))  # without the visit: accepted
    with pytest.raises(CalendarError) as caught:
        validate_event(C1D1, [], new, today=date(2026, 2, 16), visit_dates={3: date(2026, 2, 16)})
    assert (caught.value.field, caught.value.code) == ("cycle", "cycle_already_started")
    assert "C3D1 visit is recorded as done on 2026-02-16" in caught.value.message


def test_exposure_counts_the_cycles_started_on_their_visits():
    # Until 03-12 with C3D1 on 02-23: C1, C2, C3 started (C4 not before 03-16). Dosing days:
    # C1 01-05..01-18 (14), C2 01-26..02-08 (14), C3 02-23..03-08 (14) = 42 x 12 mg = 504 mg.
    # Last dose 03-08; 01-05 -> 03-08 = 26 + 28 + 8 = 62 days later, 63 inclusive.
    summary = exposure(C1D1, [], date(2026, 3, 12), visit_dates=LATE_C3)
    assert (summary.cycles_started, summary.planned_dosing_days, summary.cumulative_mg) == (
        3,
        42,
        504,
    )
    assert (summary.last_dose, summary.duration_days) == (date(2026, 3, 8), 63)
    # By the plan alone C4 would have started 03-09: 4 cycles, 14 x 3 + 4 (03-09..03-12) = 46
    assert exposure(C1D1, [], date(2026, 3, 12)).planned_dosing_days == 46

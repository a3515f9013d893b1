"""The one cycle-start rule (issue 13, section 4; PROTOCOL.md "Schedule"): a cycle starts on its
CxD1 visit date — the actual date once the visit is done, else the planned target (previous
start + 21 days + that cycle's delay). The visit schedule and the dosing calendar both derive
their cycles from ``subjects.schedule.iter_cycle_starts``; these tests pin the rule by hand and
check that the two consumers give the same dates for the same inputs.

Dates by hand from C1D1 Monday 2026-01-05 (21 days = 3 weeks, so every planned day 1 is a
Monday): C1 01-05, C2 01-26, C3 02-16, C4 03-09, C5 03-30, C6 04-20, C7 05-11.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import islice

import pytest

from dosing import calendar
from subjects.schedule import (
    CycleStart,
    cycle_start_dates,
    cycle_visit_date_bounds,
    cycle_visits,
    iter_cycle_starts,
)

C1D1 = date(2026, 1, 5)


def d(text: str) -> date:
    return date.fromisoformat(text)


def day1s(starts) -> list[date]:
    return [s.day1 for s in starts]


def test_planned_starts_every_21_days():
    starts = cycle_start_dates(C1D1, n_cycles=7)
    expected = ["2026-01-05", "2026-01-26", "2026-02-16", "2026-03-09", "2026-03-30",
                "2026-04-20", "2026-05-11"]  # fmt: skip
    assert day1s(starts) == [d(x) for x in expected]
    assert [s.target for s in starts] == [d(x) for x in expected]
    assert [s.number for s in starts] == list(range(1, 8))


def test_a_late_c3d1_visit_starts_cycle_3_on_its_date_and_moves_every_later_cycle():
    # C3D1 done 02-23 (planned 02-16, 7 days late): C3 starts 02-23, its target stays 02-16;
    # C4 = 02-23 + 21 = 03-16, C5 = 04-06, C6 = 04-27 (each a week after the plan).
    starts = cycle_start_dates(C1D1, {3: d("2026-02-23")}, n_cycles=6)
    assert starts[2] == CycleStart(3, d("2026-02-16"), d("2026-02-23"))
    assert starts[3] == CycleStart(4, d("2026-03-16"), d("2026-03-16"))
    assert starts[4] == CycleStart(5, d("2026-04-06"), d("2026-04-06"))
    assert starts[5] == CycleStart(6, d("2026-04-27"), d("2026-04-27"))
    assert day1s(starts[:2]) == [d("2026-01-05"), d("2026-01-26")]  # earlier cycles unmoved


def test_an_early_visit_starts_its_cycle_early():
    # C3 late (02-23) then C5 done 04-04, 2 days before its target 04-06: C5 starts 04-04,
    # C6 = 04-04 + 21 = 04-25.
    starts = cycle_start_dates(C1D1, {3: d("2026-02-23"), 5: d("2026-04-04")}, n_cycles=6)
    assert starts[4] == CycleStart(5, d("2026-04-06"), d("2026-04-04"))
    assert starts[5].day1 == d("2026-04-25")


def test_a_delay_moves_its_cycle_and_every_later_one():
    # Delay of cycle 2 by 3 days: C2 = 01-26 + 3 = 01-29, C3 = 02-19, C4 = 03-12.
    starts = cycle_start_dates(C1D1, delays={2: 3}, n_cycles=4)
    assert day1s(starts) == [d("2026-01-05"), d("2026-01-29"), d("2026-02-19"), d("2026-03-12")]


def test_a_delay_after_a_late_visit_counts_from_the_visit():
    # C3 done 02-23; cycle 4 delayed 7 days: C4 = 02-23 + 21 + 7 = 03-23, C5 = 04-13,
    # C6 = 05-04.
    starts = cycle_start_dates(C1D1, {3: d("2026-02-23")}, {4: 7}, n_cycles=6)
    assert day1s(starts[3:]) == [d("2026-03-23"), d("2026-04-13"), d("2026-05-04")]


def test_the_visit_date_wins_over_the_delay_of_its_own_cycle():
    # Cycle 3 delayed 7 days (target 01-26 + 21 + 7 = 02-23) but its visit done 02-25: the cycle
    # starts on the visit, 02-25; C4 = 02-25 + 21 = 03-18.
    starts = cycle_start_dates(C1D1, {3: d("2026-02-25")}, {3: 7}, n_cycles=4)
    assert starts[2] == CycleStart(3, d("2026-02-23"), d("2026-02-25"))
    assert starts[3].day1 == d("2026-03-18")


def test_cycle_1_starts_on_c1d1_and_its_visit_date_anchors_cycle_2():
    # C1D1 visit recorded 01-07: cycle 1 still starts on C1D1 (the first dose), C2 = 01-07 + 21
    # = 01-28 (as the visit schedule has always planned it).
    starts = cycle_start_dates(C1D1, {1: d("2026-01-07")}, n_cycles=2)
    assert starts[0] == CycleStart(1, C1D1, C1D1)
    assert starts[1].day1 == d("2026-01-28")


def test_a_delay_of_cycle_1_is_ignored():
    assert day1s(cycle_start_dates(C1D1, delays={1: 5}, n_cycles=2)) == [
        C1D1,
        d("2026-01-26"),
    ]


@pytest.mark.parametrize(
    ("actual", "c3", "c4"),
    [
        # C3 dated on or before C2's start (01-26) cannot start cycle 3: the plan stands
        ("2026-01-20", "2026-02-16", "2026-03-09"),
        ("2026-01-26", "2026-02-16", "2026-03-09"),
        # 01-27, the day after C2's start, can: C4 = 01-27 + 21 = 02-17
        ("2026-01-27", "2026-01-27", "2026-02-17"),
    ],
)
def test_a_visit_date_that_cannot_start_its_cycle_is_not_used(actual, c3, c4):
    starts = cycle_start_dates(C1D1, {3: d(actual)}, n_cycles=4)
    assert (starts[2].day1, starts[3].day1) == (d(c3), d(c4))


@pytest.mark.parametrize(
    ("c1_visit", "c2"),
    [
        # 21 days before C1D1 = 2025-12-15: not used (C2 would start on C1D1 itself)
        ("2025-12-15", "2026-01-26"),
        # 2025-12-16: used, C2 = 12-16 + 21 = 2026-01-06, the day after C1D1
        ("2025-12-16", "2026-01-06"),
    ],
)
def test_a_c1d1_visit_date_is_used_only_if_cycle_2_then_starts_after_c1d1(c1_visit, c2):
    assert cycle_start_dates(C1D1, {1: d(c1_visit)}, n_cycles=2)[1].day1 == d(c2)


def test_starts_go_on_without_end_and_n_cycles_cuts_them():
    assert len(list(islice(iter_cycle_starts(C1D1), 100))) == 100
    assert cycle_start_dates(C1D1, n_cycles=0) == []
    assert len(cycle_start_dates(C1D1)) == 36  # MAX_CYCLES [default]


# --- The two consumers agree ------------------------------------------------------------------
CASES = [
    ({}, {}),
    ({3: d("2026-02-23")}, {}),  # the late C3D1
    ({3: d("2026-02-23"), 5: d("2026-04-04")}, {}),
    ({}, {2: 3}),
    ({3: d("2026-02-23")}, {4: 7}),
    ({1: d("2026-01-07"), 2: d("2026-01-29")}, {3: 2, 6: 10}),
    ({3: d("2026-02-25")}, {3: 7}),
    ({3: d("2026-01-20")}, {}),  # an unusable date, ignored by both
]
UNTIL = d("2026-09-30")


def delay_events(delays: dict[int, int]) -> list[calendar.DoseEvent]:
    return [
        calendar.DoseEvent(calendar.EventKind.DELAY, C1D1, cycle=cycle, days=days)
        for cycle, days in delays.items()
    ]


@pytest.mark.parametrize(("actual", "delays"), CASES)
def test_visit_targets_are_the_rules_targets(actual, delays):
    visits = cycle_visits(C1D1, actual, delays=delays)
    assert [v.target for v in visits] == [s.target for s in cycle_start_dates(C1D1, actual, delays)]


@pytest.mark.parametrize(("actual", "delays"), CASES)
def test_the_calendar_starts_each_cycle_on_its_cxd1_visit_date(actual, delays):
    visits = cycle_visits(C1D1, actual, delays=delays)
    # an unusable date (C3 before C2's start) is dropped: cycle 3 keeps its target (see above)
    actual_used = {} if actual.get(3) == d("2026-01-20") else actual
    # the CxD1 visit's actual date where the visit is done, else the visit's target; C1 = C1D1
    expected = [actual_used.get(v.number, v.target) if v.number > 1 else C1D1 for v in visits]
    cycles = calendar.cycle_starts(C1D1, delay_events(delays), UNTIL, visit_dates=actual)
    assert [c.day1 for c in cycles] == [day for day in expected if day <= UNTIL]
    for cycle, following in zip(cycles, cycles[1:], strict=False):
        assert cycle.last_day == following.day1 - timedelta(days=1)
    # and the calendar's days: each cycle's day 1 is where the rule says
    days = calendar.build_calendar(
        C1D1, delay_events(delays), C1D1, UNTIL, visit_dates=actual, allow_reescalation=False
    )
    firsts = {day.cycle: day.day for day in days if day.cycle_day == 1}
    assert firsts == {c.number: c.day1 for c in cycles}


def test_visits_done_on_their_targets_change_nothing():
    planned = cycle_start_dates(C1D1, n_cycles=6)
    on_time = {s.number: s.target for s in planned}
    assert cycle_start_dates(C1D1, on_time, n_cycles=6) == planned


# --- The dates a CxD1 visit may take ------------------------------------------------------------
@pytest.mark.parametrize(
    ("actual", "delays", "number", "lower", "upper"),
    [
        # C3 done 02-23. C3 itself: after C2's start (01-26), no later visit recorded.
        ({3: d("2026-02-23")}, {}, 3, "2026-01-26", None),
        # C2: after C1D1 (01-05), before the recorded C3D1 (02-23)
        ({3: d("2026-02-23")}, {}, 2, "2026-01-05", "2026-02-23"),
        # C4: after C3's start, its visit 02-23
        ({3: d("2026-02-23")}, {}, 4, "2026-02-23", None),
        # C1: after 01-05 - 21 = 2025-12-15, before C3D1
        ({3: d("2026-02-23")}, {}, 1, "2025-12-15", "2026-02-23"),
        # C4 with cycle 3 delayed 7 days and no visit: after C3's target 02-16 + 7 = 02-23
        ({}, {3: 7}, 4, "2026-02-23", None),
        # the visit's own recorded date is left out: C3 recorded, C3 re-dated -> after C2 (01-26)
        (
            {2: d("2026-01-26"), 3: d("2026-02-23"), 5: d("2026-04-06")},
            {},
            3,
            "2026-01-26",
            "2026-04-06",
        ),  # fmt: skip
    ],
)
def test_cycle_visit_date_bounds(actual, delays, number, lower, upper):
    assert cycle_visit_date_bounds(C1D1, actual, delays, number) == (
        d(lower),
        d(upper) if upper else None,
    )

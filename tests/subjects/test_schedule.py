"""Tests of subjects.schedule against dates worked out by hand from PROTOCOL.md "Schedule".

Every expected date below was counted on a calendar by hand (the working is in the comments);
none was copied from what the code prints. Reminders used in the working: 2026 and 2027 have
365 days, 2028 is a leap year (2028-02-29 exists), February 2026/2027/2030 have 28 days.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from subjects import schedule
from subjects.schedule import (
    PlannedVisit,
    VisitKind,
    VisitStatus,
    add_months,
    assessment_visits,
    cycle_visits,
    days_outside_window,
    end_of_treatment_visit,
    safety_follow_up_visit,
    screening_visit,
    survival_follow_up_visits,
    visit_status,
)

C1D1 = date(2026, 1, 5)


def d(text: str) -> date:
    """Parse an ISO date written out in a test."""
    return date.fromisoformat(text)


# --- add_months -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-05", 0, "2026-01-05"),
        ("2026-01-05", 24, "2028-01-05"),
        ("2026-01-31", 1, "2026-02-28"),  # no 31 February, 2026 not leap
        ("2024-01-31", 1, "2024-02-29"),  # leap year
        ("2028-01-31", 1, "2028-02-29"),
        ("2028-02-29", 12, "2029-02-28"),
        ("2028-02-29", 24, "2030-02-28"),
        ("2028-02-29", 48, "2032-02-29"),  # 2032 is leap again
        ("2026-08-31", 1, "2026-09-30"),
        ("2026-10-31", 4, "2027-02-28"),
        ("2026-12-15", 1, "2027-01-15"),  # year rollover
        ("2026-03-31", -1, "2026-02-28"),  # backwards, clamped
        ("2026-01-15", -1, "2025-12-15"),  # backwards across the year
    ],
)
def test_add_months(start, months, expected):
    assert add_months(d(start), months) == d(expected)


# --- screening -------------------------------------------------------------------------------


def test_screening_window():
    # 2026-01-05 - 28 d: -5 -> 2025-12-31, -23 more -> 2025-12-08. Latest: the day before C1D1.
    visit = screening_visit(C1D1)
    assert visit == PlannedVisit(
        VisitKind.SCREENING, 0, "SCR", d("2025-12-08"), d("2025-12-08"), d("2026-01-04")
    )


def test_screening_window_over_leap_day():
    # 2028-03-01 - 1 d = 2028-02-29 (latest); - 27 more = 2028-02-02 (earliest).
    visit = screening_visit(d("2028-03-01"))
    assert (visit.earliest, visit.target, visit.latest) == (
        d("2028-02-02"),
        d("2028-02-02"),
        d("2028-02-29"),
    )


# --- cycles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", range(1, 37))
def test_cycle_targets_follow_the_21_day_rule(number):
    # The protocol rule itself: C1D1 + 21 x (N - 1) days, window +/- 3 days.
    visit = cycle_visits(C1D1)[number - 1]
    target = C1D1 + timedelta(days=21 * (number - 1))
    assert visit.kind is VisitKind.CYCLE
    assert visit.number == number
    assert visit.code == f"C{number}D1"
    assert visit.target == target
    assert visit.earliest == target - timedelta(days=3)
    assert visit.latest == target + timedelta(days=3)


@pytest.mark.parametrize(
    ("number", "target", "earliest", "latest"),
    [
        (1, "2026-01-05", "2026-01-02", "2026-01-08"),
        (2, "2026-01-26", "2026-01-23", "2026-01-29"),  # Jan 5 + 21
        (3, "2026-02-16", "2026-02-13", "2026-02-19"),  # Jan 26 + 21 = Jan 47 = Feb 16
        (4, "2026-03-09", "2026-03-06", "2026-03-12"),  # Feb 16 + 21 = Feb 37 = Mar 9
        (5, "2026-03-30", "2026-03-27", "2026-04-02"),  # window crosses into April
        (8, "2026-06-01", "2026-05-29", "2026-06-04"),  # Apr 20, May 11, Jun 1
        (12, "2026-08-24", "2026-08-21", "2026-08-27"),  # +231 d: Aug 5 is +212, +19
        (18, "2026-12-28", "2026-12-25", "2026-12-31"),  # Dec 7 + 21
        (19, "2027-01-18", "2027-01-15", "2027-01-21"),  # Dec 28 + 21 = Dec 49 = Jan 18
        (21, "2027-03-01", "2027-02-26", "2027-03-04"),  # Feb 8 + 21 = Feb 29 -> Mar 1 (2027)
        (35, "2027-12-20", "2027-12-17", "2027-12-23"),  # Nov 29 + 21
        (36, "2028-01-10", "2028-01-07", "2028-01-13"),  # +735 d = 2028-01-05 (+730) + 5
    ],
)
def test_cycle_dates_by_hand(number, target, earliest, latest):
    visit = cycle_visits(C1D1)[number - 1]
    assert (visit.target, visit.earliest, visit.latest) == (d(target), d(earliest), d(latest))


def test_cycle_default_count_and_codes():
    visits = cycle_visits(C1D1)
    assert len(visits) == 36
    assert [v.code for v in visits[:3]] == ["C1D1", "C2D1", "C3D1"]
    assert visits[-1].code == "C36D1"


def test_cycle_count_can_be_chosen():
    assert [v.code for v in cycle_visits(C1D1, n_cycles=2)] == ["C1D1", "C2D1"]
    assert cycle_visits(C1D1, n_cycles=0) == []


@pytest.mark.parametrize(
    ("c1d1", "number", "target", "earliest", "latest"),
    [
        # C1D1 2028-02-08: C2 = Feb 8 + 21 = Feb 29 (leap day); window Feb 26 .. Mar 3.
        ("2028-02-08", 2, "2028-02-29", "2028-02-26", "2028-03-03"),
        ("2028-02-08", 3, "2028-03-21", "2028-03-18", "2028-03-24"),  # Feb 29 + 21
        # C1D1 2028-02-10: C2 = Feb 31 -> Mar 2 in a leap year; Mar 2 - 3 = Feb 28.
        ("2028-02-10", 2, "2028-03-02", "2028-02-28", "2028-03-05"),
        # C1D1 on the leap day itself.
        ("2028-02-29", 1, "2028-02-29", "2028-02-26", "2028-03-03"),
        ("2028-02-29", 2, "2028-03-21", "2028-03-18", "2028-03-24"),
        # +735 d: +365 -> 2029-02-28, +365 -> 2030-02-28, +5 -> 2030-03-05.
        ("2028-02-29", 36, "2030-03-05", "2030-03-02", "2030-03-08"),
        # C1D1 on a month end: Jan 31 - 3 = Jan 28, + 3 = Feb 3.
        ("2026-01-31", 1, "2026-01-31", "2026-01-28", "2026-02-03"),
        ("2026-01-31", 2, "2026-02-21", "2026-02-18", "2026-02-24"),
        ("2026-01-31", 3, "2026-03-14", "2026-03-11", "2026-03-17"),  # Feb 21 + 21 = Mar 14
    ],
)
def test_cycle_dates_around_month_ends_and_leap_day(c1d1, number, target, earliest, latest):
    visit = cycle_visits(d(c1d1))[number - 1]
    assert (visit.target, visit.earliest, visit.latest) == (d(target), d(earliest), d(latest))


# --- delays ----------------------------------------------------------------------------------

C3_SEVEN_DAYS_LATE = {3: d("2026-02-23")}  # planned 2026-02-16, done 7 days later


def test_delay_leaves_earlier_cycles_and_its_own_target_alone():
    delayed = cycle_visits(C1D1, C3_SEVEN_DAYS_LATE)
    assert [v.target for v in delayed[:3]] == [d("2026-01-05"), d("2026-01-26"), d("2026-02-16")]


@pytest.mark.parametrize("number", range(4, 37))
def test_delay_of_cycle_3_shifts_cycles_4_to_36_by_7_days(number):
    planned = cycle_visits(C1D1)[number - 1]
    delayed = cycle_visits(C1D1, C3_SEVEN_DAYS_LATE)[number - 1]
    week = timedelta(days=7)
    assert delayed.target == planned.target + week
    assert delayed.earliest == planned.earliest + week
    assert delayed.latest == planned.latest + week


def test_delay_of_cycle_3_by_hand():
    # C4 = Feb 23 + 21 = Feb 44 = Mar 16 (was Mar 9); C36 = 2028-01-10 + 7 = 2028-01-17.
    delayed = cycle_visits(C1D1, C3_SEVEN_DAYS_LATE)
    assert delayed[3].target == d("2026-03-16")
    assert (delayed[3].earliest, delayed[3].latest) == (d("2026-03-13"), d("2026-03-19"))
    assert delayed[35].target == d("2028-01-17")


def test_delay_of_cycles_leaves_tumour_assessment_grid_unchanged():
    # TA1 = C1D1 + 42 = 2026-02-16 (planned C3), TA2 = +84 = 2026-03-30 (planned C5).
    # With C3 a week late, C5 moves to 2026-04-06 but TA2 stays on 2026-03-30.
    delayed = cycle_visits(C1D1, C3_SEVEN_DAYS_LATE)
    assessments = assessment_visits(C1D1)
    assert delayed[4].target == d("2026-04-06")
    assert assessments[0].target == d("2026-02-16")
    assert assessments[1].target == d("2026-03-30")
    assert assessments == assessment_visits(C1D1)


def test_delay_then_early_visit():
    # C3 done Feb 23 (+7): C4 Mar 16, C5 Apr 6. C5 done Apr 4 (2 days early, in window):
    # C6 = Apr 4 + 21 = Apr 25 (planned Apr 20, net +5); C36 = 2028-01-10 + 5 = 2028-01-15.
    actual = {3: d("2026-02-23"), 5: d("2026-04-04")}
    visits = cycle_visits(C1D1, actual)
    assert visits[4].target == d("2026-04-06")
    assert visits[5].target == d("2026-04-25")
    assert visits[35].target == d("2028-01-15")
    assert days_outside_window(visits[4], actual[5]) == 0


def test_on_time_actual_dates_change_nothing():
    on_time = {1: d("2026-01-05"), 2: d("2026-01-26")}
    assert cycle_visits(C1D1, on_time) == cycle_visits(C1D1)


def test_actual_date_of_cycle_1_reanchors_cycle_2():
    # C1 given 2 days after the planned C1D1: C1 stays planned, C2 = Jan 7 + 21 = Jan 28.
    visits = cycle_visits(C1D1, {1: d("2026-01-07")})
    assert visits[0].target == d("2026-01-05")
    assert visits[1].target == d("2026-01-28")


# --- tumour assessments ----------------------------------------------------------------------


def test_assessments_every_42_days_to_24_months():
    # 24 months = 2028-01-05 = C1D1 + 730 d. 17 x 42 = 714 <= 730; 18 x 42 = 756 > 730.
    visits = assessment_visits(C1D1)
    assert len(visits) == 17
    for k, visit in enumerate(visits, start=1):
        assert visit.kind is VisitKind.TUMOUR_ASSESSMENT
        assert (visit.number, visit.code) == (k, f"TA{k}")
        assert visit.target == C1D1 + timedelta(days=42 * k)
        assert visit.earliest == visit.target - timedelta(days=7)
        assert visit.latest == visit.target + timedelta(days=7)


@pytest.mark.parametrize(
    ("index", "target", "earliest", "latest"),
    [
        (0, "2026-02-16", "2026-02-09", "2026-02-23"),  # Jan 5 + 42 = Jan 47 = Feb 16
        (1, "2026-03-30", "2026-03-23", "2026-04-06"),  # Feb 16 + 42 = Feb 58 = Mar 30
        (16, "2027-12-20", "2027-12-13", "2027-12-27"),  # 2028-01-05 - 16 d
    ],
)
def test_assessment_dates_by_hand(index, target, earliest, latest):
    visit = assessment_visits(C1D1)[index]
    assert (visit.target, visit.earliest, visit.latest) == (d(target), d(earliest), d(latest))


def test_assessment_18_is_past_the_horizon():
    # TA18 would be 2028-01-05 + 26 d = 2028-01-31, after the 24-month horizon.
    assert d("2028-01-31") not in {v.target for v in assessment_visits(C1D1)}


def test_assessment_on_the_horizon_is_included():
    # C1D1 2027-05-05 + 11 months = 2028-04-05. Days: May 5 -> Apr 5 is 31+30+31+31+30+31+30
    # +31+31+29+31 = 336 = 8 x 42, so TA8 falls exactly on the horizon.
    visits = assessment_visits(d("2027-05-05"), horizon_months=11)
    assert len(visits) == 8
    assert visits[-1].target == d("2028-04-05")


def test_assessment_one_day_past_the_horizon_is_excluded():
    # C1D1 2026-05-05 + 11 months = 2027-04-05, only 335 days (no leap day): TA8 (+336) is out.
    visits = assessment_visits(d("2026-05-05"), horizon_months=11)
    assert len(visits) == 7


def test_assessment_horizon_is_clamped_to_month_end():
    # C1D1 2027-05-31 + 11 months = 2028-04-30 (no 31 April), 335 days later.
    # TA8 = +336 = 2028-05-01 is out; an unclamped "April 31" would have let it in.
    visits = assessment_visits(d("2027-05-31"), horizon_months=11)
    assert len(visits) == 7
    assert visits[-1].target == d("2027-05-31") + timedelta(days=294)


def test_assessments_from_leap_day_c1d1():
    # Horizon 2030-02-28 = C1D1 + 730 d (365 + 365). TA1 = Feb 29 + 42 = Apr 11 (Mar 1 is +1,
    # Mar 31 is +31, Apr 11 is +42). TA17 = 2030-02-28 - 16 = 2030-02-12.
    visits = assessment_visits(d("2028-02-29"))
    assert len(visits) == 17
    assert visits[0].target == d("2028-04-11")
    assert visits[-1].target == d("2030-02-12")


def test_assessments_from_month_end_c1d1():
    # Horizon 2028-01-31 = C1D1 + 730 d (Feb 29 2028 comes after it). TA1 = Jan 31 + 42 =
    # Mar 14 (= C3), TA17 = 2028-01-31 - 16 = 2028-01-15.
    visits = assessment_visits(d("2026-01-31"))
    assert len(visits) == 17
    assert visits[0].target == d("2026-03-14")
    assert visits[-1].target == d("2028-01-15")


# --- end of treatment and safety follow-up ---------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "latest"),
    [
        ("2026-12-28", "2027-01-04"),  # Dec 28 + 7 = Dec 35 = Jan 4
        ("2028-02-25", "2028-03-03"),  # 26, 27, 28, 29, Mar 1, 2, 3
    ],
)
def test_end_of_treatment(decision, latest):
    visit = end_of_treatment_visit(d(decision))
    assert visit == PlannedVisit(
        VisitKind.END_OF_TREATMENT, 0, "EOT", d(decision), d(decision), d(latest)
    )


@pytest.mark.parametrize(
    ("last_dose", "target", "earliest", "latest"),
    [
        ("2026-02-14", "2026-03-07", "2026-03-04", "2026-03-10"),  # Feb 14 + 21 = Feb 35
        ("2028-02-10", "2028-03-02", "2028-02-28", "2028-03-05"),  # leap: Feb 31 -> Mar 2
    ],
)
def test_safety_follow_up(last_dose, target, earliest, latest):
    visit = safety_follow_up_visit(d(last_dose))
    assert visit == PlannedVisit(
        VisitKind.SAFETY_FOLLOW_UP, 0, "SFU", d(target), d(earliest), d(latest)
    )


# --- survival follow-up ----------------------------------------------------------------------


def test_survival_follow_up_count_first_and_last():
    # Last dose 2026-06-01 -> SFU 2026-06-22. Horizon 2028-01-05 is SFU + 562 d
    # (365 to 2027-06-22, 183 to 2027-12-22, 14 more); 6 x 84 = 504 <= 562 < 588 = 7 x 84.
    # SURV1 = Jun 22 + 84 = Sep 14 (Jun 30 +8, Jul 31 +39, Aug 31 +70, +14).
    # SURV6 = 2027-06-22 + 139 = Nov 8 (Oct 22 is +122, +17).
    visits = survival_follow_up_visits(C1D1, d("2026-06-01"))
    assert len(visits) == 6
    assert [v.code for v in visits] == [f"SURV{k}" for k in range(1, 7)]
    assert all(v.kind is VisitKind.SURVIVAL_FOLLOW_UP for v in visits)
    first, last = visits[0], visits[-1]
    assert (first.number, first.target, first.earliest, first.latest) == (
        1,
        d("2026-09-14"),
        d("2026-08-31"),
        d("2026-09-28"),
    )
    assert visits[1].target == d("2026-12-07")  # Sep 14 + 84: Dec 14 is +91, - 7
    assert (last.number, last.target, last.earliest, last.latest) == (
        6,
        d("2027-11-08"),
        d("2027-10-25"),
        d("2027-11-22"),
    )


def test_survival_follow_up_on_the_horizon_is_included():
    # Last dose 2027-09-22 -> SFU 2027-10-13; + 84 = Nov 13 (31), Dec 13 (61), + 23 = Jan 5.
    visits = survival_follow_up_visits(C1D1, d("2027-09-22"))
    assert [v.target for v in visits] == [d("2028-01-05")]


def test_survival_follow_up_after_the_horizon_is_empty():
    # Last dose 2027-11-01 -> SFU Nov 22 -> SURV1 2028-02-14, after 2028-01-05.
    assert survival_follow_up_visits(C1D1, d("2027-11-01")) == []


@pytest.mark.parametrize(
    ("last_dose", "expected"),
    [
        # Horizon = 2028-02-29 + 24 months = 2030-02-28 (clamped).
        # 2029-11-15 + 21 = Dec 6; + 84 = Dec 31 (25), Jan 31 (56), Feb 28 (84): on the horizon.
        ("2029-11-15", ["2030-02-28"]),
        # One day later the only candidate is 2030-03-01, past the clamped horizon.
        ("2029-11-16", []),
    ],
)
def test_survival_follow_up_horizon_is_clamped(last_dose, expected):
    visits = survival_follow_up_visits(d("2028-02-29"), d(last_dose))
    assert [v.target for v in visits] == [d(text) for text in expected]


# --- visit status ----------------------------------------------------------------------------

# C2D1 from C1D1 2026-01-05: window 2026-01-23 .. 2026-01-29.
EARLIEST, LATEST = d("2026-01-23"), d("2026-01-29")


@pytest.mark.parametrize(
    ("today", "actual", "missed", "expected"),
    [
        ("2026-01-01", None, False, VisitStatus.UPCOMING),
        ("2026-01-22", None, False, VisitStatus.UPCOMING),  # earliest - 1
        ("2026-01-23", None, False, VisitStatus.DUE),  # earliest
        ("2026-01-26", None, False, VisitStatus.DUE),
        ("2026-01-29", None, False, VisitStatus.DUE),  # latest
        ("2026-01-30", None, False, VisitStatus.OVERDUE),  # latest + 1
        ("2026-03-01", None, False, VisitStatus.OVERDUE),
        ("2026-03-01", "2026-01-27", False, VisitStatus.DONE),  # done, today long past
        ("2026-01-22", "2026-01-22", False, VisitStatus.DONE),  # done early
        ("2026-03-01", "2026-01-27", True, VisitStatus.DONE),  # actual wins over missed
        ("2026-03-01", None, True, VisitStatus.MISSED),
        ("2026-01-25", None, True, VisitStatus.MISSED),  # marked missed inside the window
        ("2026-01-20", None, True, VisitStatus.MISSED),
    ],
)
def test_visit_status(today, actual, missed, expected):
    status = visit_status(
        earliest=EARLIEST,
        latest=LATEST,
        actual=d(actual) if actual else None,
        missed=missed,
        today=d(today),
    )
    assert status is expected


# --- days outside the window -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        ("2026-01-20", -3),
        ("2026-01-22", -1),  # earliest - 1
        ("2026-01-23", 0),  # earliest
        ("2026-01-26", 0),  # target
        ("2026-01-29", 0),  # latest
        ("2026-01-30", 1),  # latest + 1
        ("2026-02-02", 4),  # Jan 30, 31, Feb 1, 2
    ],
)
def test_days_outside_window(actual, expected):
    visit = cycle_visits(C1D1)[1]
    assert days_outside_window(visit, d(actual)) == expected


def test_days_outside_window_across_month_end():
    # C4D1 window 2026-03-06 .. 2026-03-12. Feb 27 -> Mar 6 is 7 days (Feb 28, Mar 1 .. Mar 6).
    visit = cycle_visits(C1D1)[3]
    assert days_outside_window(visit, d("2026-02-27")) == -7
    assert days_outside_window(visit, d("2026-03-15")) == 3


def test_a_dosing_delay_of_cycle_2_moves_it_and_every_later_cycle_but_not_assessments():
    # By hand from C1D1 2026-01-05: C2 = 01-26 + 3 = 01-29, C3 = 01-29 + 21 = 02-19,
    # C4 = 03-12; without the delay C4 would be 03-09. TA1 stays at 01-05 + 42 = 02-16.
    c1d1 = date(2026, 1, 5)
    cycles = {v.code: v for v in schedule.cycle_visits(c1d1, delays={2: 3})}
    assert cycles["C1D1"].target == date(2026, 1, 5)
    assert cycles["C2D1"].target == date(2026, 1, 29)
    assert (cycles["C2D1"].earliest, cycles["C2D1"].latest) == (date(2026, 1, 26), date(2026, 2, 1))
    assert cycles["C3D1"].target == date(2026, 2, 19)
    assert cycles["C4D1"].target == date(2026, 3, 12)
    assert schedule.assessment_visits(c1d1)[0].target == date(2026, 2, 16)


def test_a_delay_of_cycle_1_is_ignored_by_the_schedule_because_c1d1_is_the_anchor():
    c1d1 = date(2026, 1, 5)
    assert schedule.cycle_visits(c1d1, delays={1: 5})[0].target == c1d1

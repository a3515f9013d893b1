"""Tests of dosing.exposure against arithmetic worked out by hand.

Calendar of the reference subject (C1D1 = 2026-01-05, worked in tests/dosing/test_calendar.py):
C1 dosing Jan 5 .. Jan 18, rest Jan 19 .. 25; C2 dosing Jan 26 .. Feb 8, rest Feb 9 .. 15;
C3 day 1 Feb 16, dosing to Mar 1; C8 day 1 = C1D1 + 147 days = day-of-year 152 = Jun 1 2026
(Jan 31 + Feb 28 + Mar 31 + Apr 30 + May 31 = 151).

Rounding is ROUND_HALF_UP: 81.25 -> 81.3 (half-even would give 81.2), 10.625 -> 10.63,
0.9625 -> 0.963. Every division below was done on paper.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dosing.calendar import DoseEvent, EventKind, build_calendar
from dosing.exposure import (
    Compliance,
    Dispensing,
    DispensingError,
    Exposure,
    capsules_taken,
    compliance,
    exposure,
    validate_dispensing,
)

C1D1 = date(2026, 1, 5)
TODAY = date(2026, 6, 30)
D = Decimal


def d(text: str) -> date:
    """Parse an ISO date written out in a test."""
    return date.fromisoformat(text)


def interruption(start: str, end: str | None = None, reason: str = "diarrhoea grade 3"):
    return DoseEvent(EventKind.INTERRUPTION, d(start), end=d(end) if end else None, reason=reason)


def reduction(start: str, dose_mg: int, reason: str = "hand-foot skin reaction grade 2"):
    return DoseEvent(EventKind.REDUCTION, d(start), dose_mg=dose_mg, reason=reason)


def calendar_for(events, end: str = "2026-06-30"):
    return build_calendar(C1D1, events, C1D1, d(end))


# --- capsules_taken ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capsules", "returned", "expected"),
    [
        (28, 6, 22),
        (28, 0, 28),
        (28, 28, 0),
        (28, None, None),  # not yet returned
    ],
)
def test_capsules_taken(capsules, returned, expected):
    returned_on = d("2026-02-16") if returned is not None else None
    bottle = Dispensing(C1D1, 12, capsules, returned_on=returned_on, returned=returned)
    assert capsules_taken(bottle) == expected


# --- compliance -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "dispensing", "planned", "taken", "percent", "flag"),
    [
        # Jan 5 .. Feb 15 (returned Feb 16): C1 14 + C2 14 = 28 ON days at 12 mg.
        # 28 - 6 = 22 taken; 100 x 22 / 28 = 78.571.. -> 78.6 < 80: low.
        ([], Dispensing(C1D1, 12, 28, d("2026-02-16"), 6), 28, 22, "78.6", "low"),
        # Jan 5 .. Jan 14 (returned Jan 15): C1 days 1-10 = 10 ON. 14 - 6 = 8 taken;
        # 80.0 exactly: not flagged.
        ([], Dispensing(C1D1, 12, 14, d("2026-01-15"), 6), 10, 8, "80.0", ""),
        # same period, 7 returned: 7 / 10 = 70.0 low
        ([], Dispensing(C1D1, 12, 14, d("2026-01-15"), 7), 10, 7, "70.0", "low"),
        # same period, 2 returned: 12 / 10 = 120.0 exactly: not flagged
        ([], Dispensing(C1D1, 12, 14, d("2026-01-15"), 2), 10, 12, "120.0", ""),
        # Jan 5 .. Jan 18 (returned Jan 19): 14 ON. 20 - 3 = 17 taken: 1700 / 14 = 121.43 ->
        # 121.4 > 120: high.
        ([], Dispensing(C1D1, 12, 20, d("2026-01-19"), 3), 14, 17, "121.4", "high"),
        # Jan 5 .. Jun 2 (returned Jun 3 = C8 day 3): C1-C7 7 x 14 = 98 ON + C8 days 1-2 = 100.
        # 150 - 29 = 121 taken: 121.0 % high.
        ([], Dispensing(C1D1, 12, 150, d("2026-06-03"), 29), 100, 121, "121.0", "high"),
        # Jan 5 .. Jan 27 (returned Jan 28): C1 14 + C2 days 1-2 (Jan 26, 27) = 16 ON.
        # 28 - 15 = 13 taken: 1300 / 16 = 81.25 -> 81.3 (ROUND_HALF_UP).
        ([], Dispensing(C1D1, 12, 28, d("2026-01-28"), 15), 16, 13, "81.3", ""),
        # Interruption Jan 10 .. Jan 14 (C1 days 6-10): Jan 5 .. Jan 18 has 14 - 5 = 9 ON.
        # 14 - 5 = 9 taken: 100.0.
        (
            [interruption("2026-01-10", "2026-01-14")],
            Dispensing(C1D1, 12, 14, d("2026-01-19"), 5),
            9,
            9,
            "100.0",
            "",
        ),
        # Reduction to 10 mg on Jan 12 (C1 day 8): a 12 mg bottle Jan 5 .. Jan 18 covers only
        # Jan 5 .. Jan 11 = 7 days at 12 mg. 14 - 7 = 7 taken: 100.0.
        (
            [reduction("2026-01-12", 10)],
            Dispensing(C1D1, 12, 14, d("2026-01-19"), 7),
            7,
            7,
            "100.0",
            "",
        ),
        # ... and a 10 mg bottle Jan 12 .. Jan 25 covers Jan 12 .. Jan 18 = 7 days at 10 mg.
        # 14 - 8 = 6 taken: 600 / 7 = 85.71 -> 85.7.
        (
            [reduction("2026-01-12", 10)],
            Dispensing(d("2026-01-12"), 10, 14, d("2026-01-26"), 8),
            7,
            6,
            "85.7",
            "",
        ),
        # Dispensed Jan 19 (C1 day 15), returned Jan 26: Jan 19 .. 25 all rest -> 0 planned:
        # percent 0, no flag.
        ([], Dispensing(d("2026-01-19"), 12, 14, d("2026-01-26"), 14), 0, 0, "0.0", ""),
        # Returned the day it was dispensed: the period Jan 5 .. Jan 4 is empty.
        ([], Dispensing(C1D1, 12, 14, C1D1, 14), 0, 0, "0.0", ""),
    ],
)
def test_compliance(events, dispensing, planned, taken, percent, flag):
    result = compliance(dispensing, calendar_for(events))
    assert result == Compliance(
        period_start=dispensing.dispensed_on,
        period_end=date.fromordinal(dispensing.returned_on.toordinal() - 1),
        planned_doses=planned,
        capsules_taken=taken,
        percent=D(percent),
        flag=flag,
    )
    assert str(result.percent) == percent  # always one decimal


def test_compliance_period_is_dispensing_to_day_before_return():
    result = compliance(Dispensing(C1D1, 12, 28, d("2026-02-16"), 6), calendar_for([]))
    assert (result.period_start, result.period_end) == (d("2026-01-05"), d("2026-02-15"))


def test_compliance_is_none_until_returned():
    assert compliance(Dispensing(C1D1, 12, 28), calendar_for([])) is None


def test_compliance_refuses_a_calendar_that_does_not_cover_the_period():
    # The calendar stops on Jan 31, the bottle was returned on Feb 16.
    short = build_calendar(C1D1, [], C1D1, d("2026-01-31"))
    with pytest.raises(DispensingError) as exc:
        compliance(Dispensing(C1D1, 12, 28, d("2026-02-16"), 6), short)
    assert (exc.value.field, exc.value.code) == ("calendar", "calendar_incomplete")
    assert "2026-02-01" in exc.value.message


# --- validate_dispensing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dispensing", "field", "code"),
    [
        (Dispensing(C1D1, 6, 28), "strength_mg", "not_a_dose_level"),
        (Dispensing(C1D1, 11, 28), "strength_mg", "not_a_dose_level"),
        (Dispensing(C1D1, 12, 0), "capsules", "no_capsules"),
        (Dispensing(C1D1, 12, -4), "capsules", "no_capsules"),
        (Dispensing(d("2026-07-01"), 12, 28), "dispensed_on", "future_date"),
        (Dispensing(C1D1, 12, 28, expiry=d("2026-01-04")), "expiry", "expired_lot"),
        (Dispensing(C1D1, 12, 28, d("2026-07-01"), 6), "returned_on", "future_date"),
        (Dispensing(C1D1, 12, 28, d("2026-01-04"), 6), "returned_on", "before_dispensing"),
        (Dispensing(C1D1, 12, 28, d("2026-02-16"), 29), "returned", "more_returned_than_dispensed"),
        (Dispensing(C1D1, 12, 28, d("2026-02-16"), -1), "returned", "negative_count"),
        (Dispensing(C1D1, 12, 28, d("2026-02-16"), None), "returned", "returned_required"),
        (Dispensing(C1D1, 12, 28, None, 6), "returned_on", "return_date_required"),
        (
            Dispensing(C1D1, 12, 28, d("2026-02-16"), 6, reported_missed=-1),
            "reported_missed",
            "negative_count",
        ),
    ],
)
def test_validate_dispensing_refuses(dispensing, field, code):
    with pytest.raises(DispensingError) as exc:
        validate_dispensing(dispensing, today=TODAY)
    assert isinstance(exc.value, ValueError)
    assert (exc.value.field, exc.value.code) == (field, code)
    assert exc.value.message


@pytest.mark.parametrize(
    "dispensing",
    [
        Dispensing(C1D1, 12, 28),
        Dispensing(C1D1, 10, 28),
        Dispensing(C1D1, 8, 28),
        Dispensing(TODAY, 12, 28),  # dispensed today
        Dispensing(C1D1, 12, 28, expiry=C1D1),  # expires the day it is dispensed: still valid
        Dispensing(C1D1, 12, 28, C1D1, 28),  # returned untouched the same day
        Dispensing(C1D1, 12, 28, TODAY, 0, reported_missed=2),
    ],
)
def test_validate_dispensing_accepts(dispensing):
    assert validate_dispensing(dispensing, today=TODAY) is None


# --- exposure ---------------------------------------------------------------------------------


def test_exposure_worked_example_one_reduction_one_interruption():
    # Interruption Jan 14 .. Jan 18 (C1 days 10-14); reduction to 10 mg on Feb 2 (C2 day 8);
    # until Feb 15 (C2 day 21).
    # Cycles started: C1, C2 (C3 on Feb 16 is after until) = 2; planned days 2 x 14 = 28.
    # ON: C1 days 1-9 at 12 = 108; C2 days 1-7 at 12 = 84; C2 days 8-14 at 10 = 70.
    # Cumulative 108 + 84 + 70 = 262 mg. First dose Jan 5, last dose Feb 8:
    # Jan 5 .. Jan 31 = 27 days + Feb 1 .. 8 = 8 -> 35 days.
    # Intensity 262 / 28 = 9.357.. -> 9.36 mg/day; relative 262 / (28 x 12) = 262 / 336
    # = 0.77976.. -> 0.780.
    events = [
        interruption("2026-01-14", "2026-01-18", reason="hypertension grade 3"),
        reduction("2026-02-02", 10, reason="hand-foot skin reaction grade 2"),
    ]
    assert exposure(C1D1, events, d("2026-02-15")) == Exposure(
        cycles_started=2,
        first_dose=d("2026-01-05"),
        last_dose=d("2026-02-08"),
        duration_days=35,
        cumulative_mg=262,
        planned_dosing_days=28,
        dose_intensity_mg_per_day=D("9.36"),
        relative_dose_intensity=D("0.780"),
        interruptions=1,
        reductions=1,
        reasons=("hypertension grade 3", "hand-foot skin reaction grade 2"),
    )


@pytest.mark.parametrize(
    ("events", "until", "expected"),
    [
        # Until C1 day 6 (Jan 10): 1 cycle, 6 planned, 6 ON x 12 = 72; Jan 5 .. 10 = 6 days;
        # 72 / 6 = 12.00; 72 / 72 = 1.000.
        ([], "2026-01-10", (1, "2026-01-05", "2026-01-10", 6, 72, 6, "12.00", "1.000", 0, 0)),
        # Before C1D1: nothing.
        ([], "2026-01-04", (0, None, None, 0, 0, 0, "0.00", "0.000", 0, 0)),
        # Discontinued Feb 3 (C2 day 9), until Mar 31: stops Feb 2. Cycles C1, C2;
        # planned 14 + 8 (Jan 26 .. Feb 2) = 22; ON 22 x 12 = 264; Jan 5 .. Feb 2 = 27 + 2 = 29;
        # 264 / 22 = 12.00; 1.000.
        (
            [DoseEvent(EventKind.DISCONTINUATION, d("2026-02-03"), reason="patient decision")],
            "2026-03-31",
            (2, "2026-01-05", "2026-02-02", 29, 264, 22, "12.00", "1.000", 0, 0),
        ),
        # C2 delayed 3 days, until Feb 18 (C2 day 21): 2 cycles, 28 planned, 28 ON = 336 mg;
        # last dose Feb 11; Jan 5 .. Feb 11 = 27 + 11 = 38 days. A delay is neither an
        # interruption nor a reduction.
        (
            [DoseEvent(EventKind.DELAY, d("2026-01-26"), cycle=2, days=3, reason="ANC 1.2")],
            "2026-02-18",
            (2, "2026-01-05", "2026-02-11", 38, 336, 28, "12.00", "1.000", 0, 0),
        ),
        # Open interruption from Jan 12 (C1 day 8) to a discontinuation on Jan 30 (C2 day 5):
        # stops Jan 29; cycles C1, C2; planned 14 + 4 (Jan 26 .. 29) = 18; ON C1 days 1-7 =
        # 7 x 12 = 84; Jan 5 .. 11 = 7 days; 84 / 18 = 4.666.. -> 4.67;
        # 84 / 216 = 0.3888.. -> 0.389.
        (
            [
                interruption("2026-01-12"),
                DoseEvent(EventKind.DISCONTINUATION, d("2026-01-30"), reason="AE"),
            ],
            "2026-06-30",
            (2, "2026-01-05", "2026-01-11", 7, 84, 18, "4.67", "0.389", 1, 0),
        ),
        # ROUND_HALF_UP at 2 decimals: reduction to 10 mg on Jan 15 (C1 day 11), interruption
        # Jan 27 .. 27 (C2 day 2), until Jan 27. Planned 14 + 2 = 16. ON: Jan 5 .. 14 = 10 x 12
        # = 120; Jan 15 .. 18 = 4 x 10 = 40; Jan 26 = 10 -> 170. Last dose Jan 26: Jan 5 .. 26
        # = 22 days. 170 / 16 = 10.625 -> 10.63; 170 / 192 = 0.88541.. -> 0.885.
        (
            [reduction("2026-01-15", 10), interruption("2026-01-27", "2026-01-27")],
            "2026-01-27",
            (2, "2026-01-05", "2026-01-26", 22, 170, 16, "10.63", "0.885", 1, 1),
        ),
        # ROUND_HALF_UP at 3 decimals: reduction to 10 mg on C3 day 4 (Feb 16 + 3 = Feb 19),
        # until C3 day 12 (Feb 27). Cycles 3; planned 14 + 14 + 12 = 40. ON: C1 + C2 28 x 12
        # = 336; C3 days 1-3 = 36; C3 days 4-12 = 9 x 10 = 90 -> 462. Jan 5 .. Feb 27 =
        # 27 + 27 = 54 days. 462 / 40 = 11.55; 462 / 480 = 0.9625 -> 0.963.
        (
            [reduction("2026-02-19", 10)],
            "2026-02-27",
            (3, "2026-01-05", "2026-02-27", 54, 462, 40, "11.55", "0.963", 0, 1),
        ),
        # Two reductions (10 mg on Jan 12 = C1 day 8, 8 mg on Jan 26 = C2 day 1), until Feb 15.
        # ON: 7 x 12 = 84; 7 x 10 = 70; 14 x 8 = 112 -> 266. Planned 28. Jan 5 .. Feb 8 = 35.
        # 266 / 28 = 9.50; 266 / 336 = 0.79166.. -> 0.792.
        (
            [reduction("2026-01-12", 10), reduction("2026-01-26", 8)],
            "2026-02-15",
            (2, "2026-01-05", "2026-02-08", 35, 266, 28, "9.50", "0.792", 0, 2),
        ),
        # Interruption of the whole of C1's dosing days (Jan 5 .. 18), until Jan 25: no dose.
        (
            [interruption("2026-01-05", "2026-01-18")],
            "2026-01-25",
            (1, None, None, 0, 0, 14, "0.00", "0.000", 1, 0),
        ),
    ],
)
def test_exposure(events, until, expected):
    result = exposure(C1D1, events, d(until))
    (cycles, first, last, duration, cumulative, planned, intensity, relative, n_int, n_red) = (
        expected
    )
    assert result.cycles_started == cycles
    assert result.first_dose == (d(first) if first else None)
    assert result.last_dose == (d(last) if last else None)
    assert result.duration_days == duration
    assert result.cumulative_mg == cumulative
    assert result.planned_dosing_days == planned
    assert str(result.dose_intensity_mg_per_day) == intensity
    assert str(result.relative_dose_intensity) == relative
    assert result.interruptions == n_int
    assert result.reductions == n_red


def test_exposure_reasons_in_date_order_each_once_events_after_until_ignored():
    events = [
        reduction("2026-02-02", 10, reason="hand-foot skin reaction grade 2"),
        interruption("2026-01-14", "2026-01-15", reason="hypertension grade 3"),
        interruption("2026-01-26", "2026-01-27", reason="hypertension grade 3"),
        interruption("2026-03-02", "2026-03-03", reason="proteinuria"),  # after until
    ]
    result = exposure(C1D1, events, d("2026-02-15"))
    assert result.reasons == ("hypertension grade 3", "hand-foot skin reaction grade 2")
    assert (result.interruptions, result.reductions) == (2, 1)


def test_exposure_with_a_reescalation_needs_the_flag():
    # 10 mg from Jan 12 (C1 day 8), back to 12 on Jan 26 (C2 day 1), until Feb 15:
    # 7 x 12 + 7 x 10 + 14 x 12 = 84 + 70 + 168 = 322; 322 / 28 = 11.50; 322 / 336 = 0.9583..
    # -> 0.958.
    events = [
        reduction("2026-01-12", 10),
        DoseEvent(EventKind.REESCALATION, d("2026-01-26"), dose_mg=12, reason="resolved"),
    ]
    with pytest.raises(ValueError):
        exposure(C1D1, events, d("2026-02-15"))
    result = exposure(C1D1, events, d("2026-02-15"), allow_reescalation=True)
    assert (result.cumulative_mg, result.dose_intensity_mg_per_day) == (322, D("11.50"))
    assert result.relative_dose_intensity == D("0.958")

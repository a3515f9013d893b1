"""Tests of dosing.calendar against calendars worked out by hand from PROTOCOL.md.

PROTOCOL.md "The trial": 12 mg once daily on days 1-14 of each 21-day cycle; dose levels
12 -> 10 -> 8 mg, intolerance at 8 mg = discontinuation. "Schedule": a delayed cycle shifts
every later cycle. Missed doses are not made up.

Every expected date below was counted on a calendar by hand (the working is in the comments);
none was copied from what the code prints. Reminders used in the working: January has 31 days,
February 2026 and 2027 have 28, February 2028 has 29 (leap year); 2026 has 365 days.

The reference subject starts on C1D1 = Monday 2026-01-05:

* C1 day 1 = Jan 5; day 14 = Jan 5 + 13 = Jan 18; days 15-21 = Jan 19 .. Jan 25.
* C2 day 1 = Jan 5 + 21 = Jan 26; day 8 = Jan 26 + 7 = Jan 33 = Feb 2; day 14 = Feb 8;
  day 21 = Feb 15.
* C3 day 1 = Jan 26 + 21 = Jan 47 = Feb 16; C4 = Feb 16 + 21 = Feb 37 = Mar 9 (Feb 2026 has
  28 days); C5 = Mar 30; C6 = Mar 30 + 21 = Mar 51 = Apr 20.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dosing.calendar import (
    CalendarDay,
    CalendarError,
    Cycle,
    DayKind,
    DoseEvent,
    EventKind,
    build_calendar,
    current_dose,
    cycle_starts,
    planned_dose,
    validate_event,
)

C1D1 = date(2026, 1, 5)
TODAY = date(2026, 6, 30)

ON = DayKind.ON
REST = DayKind.REST
INT = DayKind.INTERRUPTED
DEL = DayKind.DELAYED
DISC = DayKind.DISCONTINUED
BEFORE = DayKind.BEFORE_START


def d(text: str) -> date:
    """Parse an ISO date written out in a test."""
    return date.fromisoformat(text)


def interruption(start: str, end: str | None = None, reason: str = "diarrhoea grade 3"):
    return DoseEvent(EventKind.INTERRUPTION, d(start), end=d(end) if end else None, reason=reason)


def reduction(start: str, dose_mg: int, reason: str = "hand-foot skin reaction grade 2"):
    return DoseEvent(EventKind.REDUCTION, d(start), dose_mg=dose_mg, reason=reason)


def reescalation(start: str, dose_mg: int, reason: str = "toxicity resolved"):
    return DoseEvent(EventKind.REESCALATION, d(start), dose_mg=dose_mg, reason=reason)


def delay(start: str, cycle: int, days: int, reason: str = "ANC 1.2 x10^9/L"):
    return DoseEvent(EventKind.DELAY, d(start), cycle=cycle, days=days, reason=reason)


def discontinuation(start: str, reason: str = "intolerance at 8 mg"):
    return DoseEvent(EventKind.DISCONTINUATION, d(start), reason=reason)


# --- Scenarios (the working of each is in its comment) ------------------------------------------

SCENARIOS: dict[str, tuple[date, list[DoseEvent]]] = {
    # No event: the plain 21-day grid from 2026-01-05 worked in the module docstring.
    "plain": (C1D1, []),
    # Year boundary: C1D1 2026-12-20. C1 day 12 = Dec 20 + 11 = Dec 31; day 13 = Jan 1 2027;
    # day 14 = Jan 2; day 15 = Jan 3 (rest); day 21 = Jan 9; C2 day 1 = Dec 20 + 21 = Dec 41
    # = Jan 10 2027.
    "new_year": (d("2026-12-20"), []),
    # Leap day: C1D1 2028-02-20. C1 day 10 = Feb 20 + 9 = Feb 29 (2028 is leap); day 11 =
    # Mar 1; day 14 = Mar 4; day 15 = Mar 5; day 21 = Mar 11; C2 day 1 = Feb 20 + 21 =
    # Mar 12 (Feb 20 + 9 = Feb 29, + 12 = Mar 12).
    "leap": (d("2028-02-20"), []),
    # Delay of cycle 2 by 3 days, decided on the planned C2D1 (Jan 26): C2 day 1 = Jan 26 + 3
    # = Jan 29 (= C1D1 + 24); Jan 26, 27, 28 are C1 days 22, 23, 24 (DELAYED, no dose).
    # C2 day 14 = Jan 29 + 13 = Jan 42 = Feb 11; day 15 = Feb 12; day 21 = Feb 18.
    # C3 day 1 = Jan 29 + 21 = Jan 50 = Feb 19 (= C1D1 + 45); C4 = Feb 19 + 21 = Feb 40 = Mar 12.
    "delay_c2": (C1D1, [delay("2026-01-26", 2, 3)]),
    # Reduction effective on C2 day 8 (Feb 2): C2 days 1-7 (Jan 26 .. Feb 1) at 12 mg,
    # days 8-14 (Feb 2 .. Feb 8) at 10 mg, and C3 (Feb 16 ..) stays at 10 mg.
    "reduce_c2d8": (C1D1, [reduction("2026-02-02", 10)]),
    # Interruption from C1 day 12 (Jan 5 + 11 = Jan 16) to C2 day 3 (Jan 26 + 2 = Jan 28):
    # Jan 16, 17, 18 (C1 days 12-14) INTERRUPTED; Jan 19 .. 25 (C1 days 15-21) stay REST;
    # Jan 26, 27, 28 (C2 days 1-3) INTERRUPTED; C2 still starts on Jan 26; Jan 29 (C2 day 4) ON.
    "interrupt_c1d12_c2d3": (C1D1, [interruption("2026-01-16", "2026-01-28")]),
    # Discontinuation on C2 day 9 (Jan 26 + 8 = Feb 3): Feb 2 (day 8) is the last dose;
    # Feb 3 .. Feb 15 are DISCONTINUED within C2 (days 9-21); from Feb 16 (would-be C3D1) no
    # cycle at all.
    "discontinue_c2d9": (C1D1, [discontinuation("2026-02-03")]),
    # Open interruption from C2 day 8 (Feb 2), closed by a reduction to 10 mg on C3 day 1
    # (Feb 16): interrupted Feb 2 .. Feb 15 (dosing days Feb 2 .. Feb 8 INTERRUPTED, Feb 9 .. 15
    # REST); Feb 16 ON at 10 mg.
    "open_interruption": (
        C1D1,
        [interruption("2026-02-02"), reduction("2026-02-16", 10)],
    ),
    # Open interruption from C1 day 8 (Jan 12) never closed: every later dosing day interrupted.
    "open_forever": (C1D1, [interruption("2026-01-12")]),
    # Two reductions: to 10 mg on C1 day 8 (Jan 12), to 8 mg on C2 day 1 (Jan 26).
    "two_reductions": (C1D1, [reduction("2026-01-12", 10), reduction("2026-01-26", 8)]),
}


def _day(scenario: str, on: str, *, allow: bool = False) -> tuple:
    c1d1, events = SCENARIOS[scenario]
    (cd,) = build_calendar(c1d1, events, d(on), d(on), allow_reescalation=allow)
    assert cd.day == d(on)
    return (cd.cycle, cd.cycle_day, cd.kind, cd.dose_mg)


@pytest.mark.parametrize(
    ("scenario", "on", "expected"),
    [
        # plain grid
        ("plain", "2026-01-04", (None, None, BEFORE, 0)),  # day before C1D1
        ("plain", "2025-12-31", (None, None, BEFORE, 0)),
        ("plain", "2026-01-05", (1, 1, ON, 12)),
        ("plain", "2026-01-18", (1, 14, ON, 12)),  # Jan 5 + 13
        ("plain", "2026-01-19", (1, 15, REST, 0)),
        ("plain", "2026-01-25", (1, 21, REST, 0)),
        ("plain", "2026-01-26", (2, 1, ON, 12)),  # Jan 5 + 21
        ("plain", "2026-01-31", (2, 6, ON, 12)),  # month end inside a dosing run
        ("plain", "2026-02-01", (2, 7, ON, 12)),
        ("plain", "2026-02-08", (2, 14, ON, 12)),
        ("plain", "2026-02-09", (2, 15, REST, 0)),
        ("plain", "2026-02-16", (3, 1, ON, 12)),
        ("plain", "2026-03-01", (3, 14, ON, 12)),  # Feb 16 + 13 = Feb 29 -> Mar 1 (2026)
        ("plain", "2026-03-02", (3, 15, REST, 0)),
        ("plain", "2026-03-09", (4, 1, ON, 12)),
        # cycle 18 crosses the new year: day 1 = C1D1 + 21 x 17 = day-of-year 5 + 357 = 362
        # = Dec 28 2026; day 5 = Jan 1 2027; day 14 = Jan 10; day 15 = Jan 11 (rest).
        ("plain", "2026-12-28", (18, 1, ON, 12)),
        ("plain", "2027-01-01", (18, 5, ON, 12)),
        ("plain", "2027-01-10", (18, 14, ON, 12)),
        ("plain", "2027-01-11", (18, 15, REST, 0)),
        # C19 day 1 = Dec 28 + 21 = Dec 49 = Jan 18 2027
        ("plain", "2027-01-17", (18, 21, REST, 0)),
        ("plain", "2027-01-18", (19, 1, ON, 12)),
        # new year
        ("new_year", "2026-12-19", (None, None, BEFORE, 0)),
        ("new_year", "2026-12-31", (1, 12, ON, 12)),
        ("new_year", "2027-01-01", (1, 13, ON, 12)),
        ("new_year", "2027-01-02", (1, 14, ON, 12)),
        ("new_year", "2027-01-03", (1, 15, REST, 0)),
        ("new_year", "2027-01-09", (1, 21, REST, 0)),
        ("new_year", "2027-01-10", (2, 1, ON, 12)),
        # leap day
        ("leap", "2028-02-29", (1, 10, ON, 12)),
        ("leap", "2028-03-01", (1, 11, ON, 12)),
        ("leap", "2028-03-04", (1, 14, ON, 12)),
        ("leap", "2028-03-05", (1, 15, REST, 0)),
        ("leap", "2028-03-11", (1, 21, REST, 0)),
        ("leap", "2028-03-12", (2, 1, ON, 12)),
        # delay of cycle 2 by 3 days
        ("delay_c2", "2026-01-25", (1, 21, REST, 0)),
        ("delay_c2", "2026-01-26", (1, 22, DEL, 0)),
        ("delay_c2", "2026-01-27", (1, 23, DEL, 0)),
        ("delay_c2", "2026-01-28", (1, 24, DEL, 0)),
        ("delay_c2", "2026-01-29", (2, 1, ON, 12)),
        ("delay_c2", "2026-02-11", (2, 14, ON, 12)),
        ("delay_c2", "2026-02-12", (2, 15, REST, 0)),
        ("delay_c2", "2026-02-16", (2, 19, REST, 0)),  # the old C3D1 is now a rest day
        ("delay_c2", "2026-02-18", (2, 21, REST, 0)),
        ("delay_c2", "2026-02-19", (3, 1, ON, 12)),
        ("delay_c2", "2026-03-11", (3, 21, REST, 0)),
        ("delay_c2", "2026-03-12", (4, 1, ON, 12)),
        # reduction on C2 day 8
        ("reduce_c2d8", "2026-01-26", (2, 1, ON, 12)),
        ("reduce_c2d8", "2026-02-01", (2, 7, ON, 12)),
        ("reduce_c2d8", "2026-02-02", (2, 8, ON, 10)),
        ("reduce_c2d8", "2026-02-08", (2, 14, ON, 10)),
        ("reduce_c2d8", "2026-02-09", (2, 15, REST, 0)),
        ("reduce_c2d8", "2026-02-16", (3, 1, ON, 10)),
        # interruption from C1 day 12 to C2 day 3
        ("interrupt_c1d12_c2d3", "2026-01-15", (1, 11, ON, 12)),
        ("interrupt_c1d12_c2d3", "2026-01-16", (1, 12, INT, 0)),
        ("interrupt_c1d12_c2d3", "2026-01-18", (1, 14, INT, 0)),
        ("interrupt_c1d12_c2d3", "2026-01-19", (1, 15, REST, 0)),
        ("interrupt_c1d12_c2d3", "2026-01-25", (1, 21, REST, 0)),
        ("interrupt_c1d12_c2d3", "2026-01-26", (2, 1, INT, 0)),
        ("interrupt_c1d12_c2d3", "2026-01-28", (2, 3, INT, 0)),
        ("interrupt_c1d12_c2d3", "2026-01-29", (2, 4, ON, 12)),
        # the interruption did not lengthen C2: C3 still on Feb 16
        ("interrupt_c1d12_c2d3", "2026-02-16", (3, 1, ON, 12)),
        # discontinuation on C2 day 9
        ("discontinue_c2d9", "2026-02-02", (2, 8, ON, 12)),
        ("discontinue_c2d9", "2026-02-03", (2, 9, DISC, 0)),
        ("discontinue_c2d9", "2026-02-08", (2, 14, DISC, 0)),
        ("discontinue_c2d9", "2026-02-15", (2, 21, DISC, 0)),
        ("discontinue_c2d9", "2026-02-16", (None, None, DISC, 0)),
        ("discontinue_c2d9", "2027-01-01", (None, None, DISC, 0)),
        # open interruption closed by a reduction
        ("open_interruption", "2026-02-01", (2, 7, ON, 12)),
        ("open_interruption", "2026-02-02", (2, 8, INT, 0)),
        ("open_interruption", "2026-02-08", (2, 14, INT, 0)),
        ("open_interruption", "2026-02-09", (2, 15, REST, 0)),
        ("open_interruption", "2026-02-16", (3, 1, ON, 10)),
        # open interruption never closed
        ("open_forever", "2026-01-11", (1, 7, ON, 12)),
        ("open_forever", "2026-01-12", (1, 8, INT, 0)),
        ("open_forever", "2026-01-26", (2, 1, INT, 0)),
        ("open_forever", "2026-03-09", (4, 1, INT, 0)),  # cycles still roll on
        # two reductions
        ("two_reductions", "2026-01-11", (1, 7, ON, 12)),
        ("two_reductions", "2026-01-12", (1, 8, ON, 10)),
        ("two_reductions", "2026-01-26", (2, 1, ON, 8)),
        ("two_reductions", "2026-02-16", (3, 1, ON, 8)),
    ],
)
def test_calendar_day(scenario, on, expected):
    assert _day(scenario, on) == expected


def test_build_calendar_returns_every_date_of_the_range_in_order():
    # Dec 30 2026 .. Jan 4 2027 = 6 dates across the year end.
    c1d1, events = SCENARIOS["new_year"]
    days = build_calendar(c1d1, events, d("2026-12-30"), d("2027-01-04"))
    assert [cd.day for cd in days] == [
        d("2026-12-30"),
        d("2026-12-31"),
        d("2027-01-01"),
        d("2027-01-02"),
        d("2027-01-03"),
        d("2027-01-04"),
    ]
    # Dec 30 = C1 day 11, Dec 31 = 12, Jan 1 = 13, Jan 2 = 14, Jan 3 = 15, Jan 4 = 16.
    assert [cd.cycle_day for cd in days] == [11, 12, 13, 14, 15, 16]
    assert [cd.kind for cd in days] == [ON, ON, ON, ON, REST, REST]


def test_build_calendar_empty_range():
    assert build_calendar(C1D1, [], d("2026-01-10"), d("2026-01-09")) == []


def test_calendar_day_is_a_frozen_dataclass():
    cd = CalendarDay(C1D1, 1, 1, ON, 12)
    with pytest.raises(AttributeError):
        cd.dose_mg = 10  # type: ignore[misc]


def test_first_two_cycles_count_14_dosing_days_each():
    # C1 + C2 without events: Jan 5 .. Feb 15 = 27 + 15 = 42 days, 28 ON (2 x 14), 14 REST.
    days = build_calendar(C1D1, [], d("2026-01-05"), d("2026-02-15"))
    assert len(days) == 42
    assert sum(cd.kind is ON for cd in days) == 28
    assert sum(cd.kind is REST for cd in days) == 14


def test_delay_gap_days_are_never_on():
    # C1 + delay + C2 with the 3-day delay: Jan 5 .. Feb 18 = 27 + 18 = 45 days:
    # 28 ON, 14 REST, 3 DELAYED.
    c1d1, events = SCENARIOS["delay_c2"]
    days = build_calendar(c1d1, events, d("2026-01-05"), d("2026-02-18"))
    assert len(days) == 45
    assert [sum(cd.kind is k for cd in days) for k in (ON, REST, DEL)] == [28, 14, 3]


# --- cycle_starts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c1d1", "events", "until", "day1s"),
    [
        # plain grid, worked in the module docstring
        (
            "2026-01-05",
            [],
            "2026-04-20",
            ["2026-01-05", "2026-01-26", "2026-02-16", "2026-03-09", "2026-03-30", "2026-04-20"],
        ),
        # the day before C6 day 1: 5 cycles
        (
            "2026-01-05",
            [],
            "2026-04-19",
            ["2026-01-05", "2026-01-26", "2026-02-16", "2026-03-09", "2026-03-30"],
        ),
        ("2026-01-05", [], "2026-01-05", ["2026-01-05"]),
        ("2026-01-05", [], "2026-01-04", []),
        # year end: Dec 20 -> Jan 10 -> Jan 31 -> Feb 21 -> Feb 21 + 21 = Feb 42 = Mar 14 (2027
        # February has 28 days)
        (
            "2026-12-20",
            [],
            "2027-03-14",
            ["2026-12-20", "2027-01-10", "2027-01-31", "2027-02-21", "2027-03-14"],
        ),
        # leap year: Feb 20 -> Mar 12 -> Mar 12 + 21 = Mar 33 = Apr 2
        ("2028-02-20", [], "2028-04-02", ["2028-02-20", "2028-03-12", "2028-04-02"]),
        # the same start a non-leap year later: Feb 20 + 21 = Mar 13 2027
        ("2027-02-20", [], "2027-03-13", ["2027-02-20", "2027-03-13"]),
        # delay of C2 by 3 days: Jan 29 (C1D1 + 24), Feb 19 (C1D1 + 45), Mar 12
        (
            "2026-01-05",
            [delay("2026-01-26", 2, 3)],
            "2026-03-12",
            ["2026-01-05", "2026-01-29", "2026-02-19", "2026-03-12"],
        ),
        # delays of C2 by 3 and C4 by 7: C4 = Mar 12 + 7 = Mar 19; C5 = Mar 19 + 21 = Apr 9
        (
            "2026-01-05",
            [delay("2026-01-26", 2, 3), delay("2026-03-12", 4, 7)],
            "2026-04-09",
            ["2026-01-05", "2026-01-29", "2026-02-19", "2026-03-19", "2026-04-09"],
        ),
        # two delays of the same cycle add up: C2 by 3 then by 2 more = Jan 31; C3 = Feb 21
        (
            "2026-01-05",
            [delay("2026-01-26", 2, 3), delay("2026-01-29", 2, 2)],
            "2026-02-21",
            ["2026-01-05", "2026-01-31", "2026-02-21"],
        ),
        # discontinued on the would-be C3D1 (Feb 16): C3 never starts
        ("2026-01-05", [discontinuation("2026-02-16")], "2026-06-30", ["2026-01-05", "2026-01-26"]),
        # an interruption or a reduction never moves a cycle
        (
            "2026-01-05",
            [interruption("2026-01-16", "2026-01-28"), reduction("2026-02-02", 10)],
            "2026-02-16",
            ["2026-01-05", "2026-01-26", "2026-02-16"],
        ),
    ],
)
def test_cycle_starts(c1d1, events, until, day1s):
    cycles = cycle_starts(d(c1d1), events, d(until))
    assert [c.day1 for c in cycles] == [d(x) for x in day1s]
    assert [c.number for c in cycles] == list(range(1, len(day1s) + 1))


def test_cycle_dose_days_and_last_day():
    c1, c2 = cycle_starts(C1D1, [], d("2026-01-26"))
    # C1 dosing Jan 5 .. Jan 18 (14 dates); last day Jan 25 (day before C2).
    assert c1 == Cycle(
        1,
        d("2026-01-05"),
        tuple(d("2026-01-05") + timedelta(days=k) for k in range(14)),
        d("2026-01-25"),
    )
    assert c1.dose_days[-1] == d("2026-01-18")
    # C2: Jan 26 .. Feb 8; last day Feb 15 (C3 starts Feb 16) although C3 is past ``until``.
    assert (c2.dose_days[0], c2.dose_days[-1], c2.last_day) == (
        d("2026-01-26"),
        d("2026-02-08"),
        d("2026-02-15"),
    )


def test_delay_lengthens_the_previous_cycle():
    # With C2 delayed by 3 days, C1 runs Jan 5 .. Jan 28 (24 days); C2 keeps 14 dosing days.
    c1, c2 = cycle_starts(C1D1, [delay("2026-01-26", 2, 3)], d("2026-01-29"))
    assert c1.last_day == d("2026-01-28")
    assert (c2.dose_days[0], c2.dose_days[-1]) == (d("2026-01-29"), d("2026-02-11"))


# --- planned_dose and current_dose ----------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "on", "planned", "in_force"),
    [
        ("plain", "2026-01-04", 0, 0),  # before C1D1: nothing planned, no dose in force
        ("plain", "2026-01-05", 12, 12),
        ("plain", "2026-01-19", 0, 12),  # rest day: nothing planned, 12 mg still the level
        ("reduce_c2d8", "2026-02-01", 12, 12),
        ("reduce_c2d8", "2026-02-02", 10, 10),
        ("reduce_c2d8", "2026-02-10", 0, 10),  # C2 day 16, rest
        ("interrupt_c1d12_c2d3", "2026-01-17", 0, 12),  # interrupted: level unchanged
        ("delay_c2", "2026-01-27", 0, 12),  # delayed day
        ("discontinue_c2d9", "2026-02-02", 12, 12),
        ("discontinue_c2d9", "2026-02-03", 0, 0),
        ("discontinue_c2d9", "2026-03-09", 0, 0),
        ("two_reductions", "2026-01-20", 0, 10),
        ("two_reductions", "2026-01-26", 8, 8),
    ],
)
def test_planned_and_current_dose(scenario, on, planned, in_force):
    c1d1, events = SCENARIOS[scenario]
    assert planned_dose(c1d1, events, d(on)) == planned
    assert current_dose(c1d1, events, d(on)) == in_force


# --- re-escalation ----------------------------------------------------------------------------

REESCALATED = [reduction("2026-01-12", 10), reescalation("2026-01-26", 12)]


def test_recorded_reescalation_is_refused_without_the_flag():
    with pytest.raises(CalendarError) as exc:
        build_calendar(C1D1, REESCALATED, d("2026-01-26"), d("2026-01-26"))
    assert (exc.value.field, exc.value.code) == ("kind", "reescalation_not_allowed")
    assert "re-escalation is not allowed in this protocol" in exc.value.message.lower()
    with pytest.raises(CalendarError):
        planned_dose(C1D1, REESCALATED, d("2026-01-26"))
    with pytest.raises(CalendarError):
        current_dose(C1D1, REESCALATED, d("2026-01-26"))


@pytest.mark.parametrize(
    ("on", "planned"),
    [
        ("2026-01-11", 12),  # C1 day 7
        ("2026-01-12", 10),  # C1 day 8, reduced
        ("2026-01-26", 12),  # C2 day 1, re-escalated
    ],
)
def test_reescalation_applies_with_the_flag(on, planned):
    assert planned_dose(C1D1, REESCALATED, d(on), allow_reescalation=True) == planned
    assert current_dose(C1D1, REESCALATED, d(on), allow_reescalation=True) == planned


# --- validate_event ---------------------------------------------------------------------------

# An existing history used by several cases: interruption C1 day 12 .. C2 day 3
# (Jan 16 .. Jan 28) and a reduction to 10 mg on C2 day 8 (Feb 2).
HISTORY = [interruption("2026-01-16", "2026-01-28"), reduction("2026-02-02", 10)]
OPEN = [interruption("2026-02-02")]


# The stable code of each refusal above, by the words its message contains.
CODE_OF = {
    "before cycle 1 day 1": "before_c1d1",
    "future": "future_date",
    "discontinued": "after_discontinuation",
    "already": "already_discontinued",
    "last event": "discontinuation_not_last",
    "before it starts": "end_before_start",
    "overlaps": "overlaps_interruption",
    "not a dose level": "not_a_dose_level",
    "reduce one level at a time: 12 → 10 mg": "not_one_level_down",
    "reduce one level at a time: 10 → 8": "not_one_level_down",
    "intolerance at 8 mg means discontinuation": "already_lowest_dose",
    "recorded on 2026-02-02": "breaks_later_dose_change",
    "re-escalation is not allowed": "reescalation_not_allowed",
    "at least 1 day": "delay_too_short",
    "cycle 1 cannot be delayed": "first_cycle_not_delayable",
    "there is no cycle 0": "no_such_cycle",
    "number of the cycle": "cycle_required",
    "cycle 2 already started on 2026-01-26": "cycle_already_started",
    "cycle 3 already started on 2026-02-16": "cycle_already_started",
    "reason is required": "reason_required",
    "only a reduction": "not_for_this_kind",
    "only an interruption": "not_for_this_kind",
    "only a cycle delay": "not_for_this_kind",
    "needs the new dose": "dose_required",
    "re-escalate one level at a time: 8 → 10 mg": "not_one_level_up",
    "starting level": "already_starting_dose",
}


@pytest.mark.parametrize(
    ("existing", "new", "field", "words"),
    [
        # before C1D1 (Jan 5)
        ([], interruption("2026-01-04", "2026-01-06"), "start", "before cycle 1 day 1"),
        ([], reduction("2025-12-31", 10), "start", "before cycle 1 day 1"),
        # in the future (today = 2026-06-30)
        ([], interruption("2026-07-01"), "start", "future"),
        ([], delay("2026-07-01", 8, 3), "start", "future"),
        ([], discontinuation("2026-07-01"), "start", "future"),
        # on or after the discontinuation (Feb 3)
        ([discontinuation("2026-02-03")], interruption("2026-02-03"), "start", "discontinued"),
        ([discontinuation("2026-02-03")], reduction("2026-03-01", 10), "start", "discontinued"),
        ([discontinuation("2026-02-03")], discontinuation("2026-02-10"), "kind", "already"),
        ([discontinuation("2026-02-03")], discontinuation("2026-01-20"), "kind", "already"),
        # a discontinuation must be the last event: HISTORY has a reduction on Feb 2
        (HISTORY, discontinuation("2026-01-30"), "start", "last event"),
        (HISTORY, discontinuation("2026-02-02"), "start", "last event"),
        # interruption ending before it starts
        ([], interruption("2026-01-20", "2026-01-19"), "end", "before it starts"),
        # overlapping interruptions (HISTORY: Jan 16 .. Jan 28)
        (HISTORY, interruption("2026-01-28", "2026-01-30"), "start", "overlaps"),
        (HISTORY, interruption("2026-01-10", "2026-01-16"), "start", "overlaps"),
        (HISTORY, interruption("2026-01-20", "2026-01-21"), "start", "overlaps"),
        (HISTORY, interruption("2026-01-10", "2026-02-20"), "start", "overlaps"),
        # an open interruption from Feb 2 lasts (no later event) until further notice; a new
        # interruption inside it overlaps it (close the open one first)
        (OPEN, interruption("2026-02-05", "2026-02-06"), "start", "overlaps"),
        (OPEN, interruption("2026-01-20", "2026-02-02"), "start", "overlaps"),
        # a dose that is not a dose level
        ([], reduction("2026-01-12", 11), "dose_mg", "not a dose level"),
        ([], reduction("2026-01-12", 6), "dose_mg", "not a dose level"),
        # a reduction skipping a level, or not lowering the dose
        ([], reduction("2026-01-12", 8), "dose_mg", "reduce one level at a time: 12 → 10 mg"),
        ([], reduction("2026-01-12", 12), "dose_mg", "reduce one level at a time: 12 → 10 mg"),
        (HISTORY, reduction("2026-02-16", 10), "dose_mg", "reduce one level at a time: 10 → 8"),
        # below the lowest level: at 8 mg the only way on is discontinuation
        (
            SCENARIOS["two_reductions"][1],
            reduction("2026-02-16", 6),
            "dose_mg",
            "intolerance at 8 mg means discontinuation",
        ),
        (
            SCENARIOS["two_reductions"][1],
            reduction("2026-02-16", 8),
            "dose_mg",
            "intolerance at 8 mg means discontinuation",
        ),
        # an earlier reduction would make the recorded Feb 2 reduction 10 -> 10
        (HISTORY, reduction("2026-01-12", 10), "start", "recorded on 2026-02-02"),
        # re-escalation refused without the flag
        (HISTORY, reescalation("2026-02-16", 12), "kind", "re-escalation is not allowed"),
        # a delay of 0 or negative days, or without a number of days
        ([], delay("2026-01-26", 2, 0), "days", "at least 1 day"),
        ([], delay("2026-01-26", 2, -3), "days", "at least 1 day"),
        (
            [],
            DoseEvent(EventKind.DELAY, d("2026-01-26"), cycle=2, reason="x"),
            "days",
            "at least 1 day",
        ),
        # delay of cycle 1, or no / impossible cycle
        ([], delay("2026-01-05", 1, 3), "cycle", "cycle 1 cannot be delayed"),
        ([], delay("2026-01-05", 0, 3), "cycle", "there is no cycle 0"),
        (
            [],
            DoseEvent(EventKind.DELAY, d("2026-01-26"), days=3, reason="x"),
            "cycle",
            "number of the cycle",
        ),
        # a cycle already started before the event date: C2 started Jan 26, delay on Jan 27
        ([], delay("2026-01-27", 2, 3), "cycle", "cycle 2 already started on 2026-01-26"),
        # C3 started Feb 16 (no earlier delay), so a delay of C3 decided Feb 17 is too late
        ([], delay("2026-02-17", 3, 2), "cycle", "cycle 3 already started on 2026-02-16"),
        # reasons are required for interruptions and reductions (PROTOCOL.md "The trial")
        ([], interruption("2026-01-12", reason=""), "reason", "reason is required"),
        ([], reduction("2026-01-12", 10, reason="   "), "reason", "reason is required"),
        # fields that do not belong to the kind of event, or are missing
        (
            [],
            DoseEvent(EventKind.INTERRUPTION, d("2026-01-12"), dose_mg=10, reason="x"),
            "dose_mg",
            "only a reduction",
        ),
        (
            [],
            DoseEvent(
                EventKind.REDUCTION, d("2026-01-12"), end=d("2026-01-13"), dose_mg=10, reason="x"
            ),
            "end",
            "only an interruption",
        ),
        (
            [],
            DoseEvent(EventKind.INTERRUPTION, d("2026-01-12"), cycle=2, reason="x"),
            "cycle",
            "only a cycle delay",
        ),
        (
            [],
            DoseEvent(EventKind.REDUCTION, d("2026-01-12"), reason="x"),
            "dose_mg",
            "needs the new dose",
        ),
    ],
)
def test_validate_event_refuses(existing, new, field, words):
    with pytest.raises(CalendarError) as exc:
        validate_event(C1D1, existing, new, today=TODAY)
    assert (exc.value.field, exc.value.code) == (field, CODE_OF[words])
    assert words.lower() in exc.value.message.lower()
    assert str(exc.value) == exc.value.message


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ([], interruption("2026-01-05", "2026-01-05")),  # on C1D1, one day
        ([], interruption("2026-06-30")),  # today, open
        ([], interruption("2026-06-20", "2026-07-10")),  # planned resumption after today
        ([], reduction("2026-01-12", 10)),
        (HISTORY, reduction("2026-02-16", 8)),  # 10 -> 8
        # adjacent to HISTORY's Jan 16 .. 28 interruption, not overlapping
        (HISTORY, interruption("2026-01-29", "2026-02-01")),
        (HISTORY, interruption("2026-01-10", "2026-01-15")),
        # an open interruption is closed by the next later event (HISTORY reduction Feb 2)
        (HISTORY, interruption("2026-01-30")),
        (OPEN, reduction("2026-02-16", 10)),  # closes the open interruption
        # a new open interruption before OPEN's start ends the day before it (Jan 20 .. Feb 1)
        (OPEN, interruption("2026-01-20")),
        ([], delay("2026-01-26", 2, 3)),  # decided on the planned C2D1
        ([], delay("2026-01-20", 2, 3)),  # decided ahead, in C1
        ([], delay("2026-01-20", 5, 7)),  # a later cycle, not started yet
        # after C2 was delayed to Jan 29, a second delay decided on Jan 29 is still in time
        ([delay("2026-01-26", 2, 3)], delay("2026-01-29", 2, 2)),
        # after C2 was delayed 3 days, C3 starts Feb 19, so a delay of C3 decided Feb 17 is fine
        ([delay("2026-01-26", 2, 3)], delay("2026-02-17", 3, 2)),
        (HISTORY, discontinuation("2026-02-03")),
        (SCENARIOS["two_reductions"][1], discontinuation("2026-02-16")),
    ],
)
def test_validate_event_accepts(existing, new):
    assert validate_event(C1D1, existing, new, today=TODAY) is None


@pytest.mark.parametrize(
    ("existing", "new", "field", "words"),
    [
        # one level up at a time: 8 -> 12 refused
        (
            SCENARIOS["two_reductions"][1],
            reescalation("2026-02-16", 12),
            "dose_mg",
            "re-escalate one level at a time: 8 → 10 mg",
        ),
        # not above the starting dose
        ([], reescalation("2026-01-12", 12), "dose_mg", "starting level"),
        # not a dose level
        (HISTORY, reescalation("2026-02-16", 11), "dose_mg", "not a dose level"),
    ],
)
def test_reescalation_with_the_flag_still_one_level(existing, new, field, words):
    with pytest.raises(CalendarError) as exc:
        validate_event(C1D1, existing, new, today=TODAY, allow_reescalation=True)
    assert (exc.value.field, exc.value.code) == (field, CODE_OF[words])
    assert words.lower() in exc.value.message.lower()


def test_reescalation_with_the_flag_accepted():
    # HISTORY reduces to 10 mg on Feb 2; back to 12 mg on C3D1 (Feb 16) is one level up.
    new = reescalation("2026-02-16", 12)
    assert validate_event(C1D1, HISTORY, new, today=TODAY, allow_reescalation=True) is None

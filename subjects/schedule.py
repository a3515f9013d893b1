"""Visit schedule of ALTER-S006: planned dates and windows, and the status of a visit.

Source: ``docs/PROTOCOL.md``, section "Schedule" (the visit table and the paragraph after it).
Every number comes from :mod:`alter_s006.protocol`; the ones the registry is silent on are
marked ``[default]`` there and in PROTOCOL.md:

* screening up to 28 days before C1D1 [default];
* cycle N day 1 at C1D1 + 21 x (N - 1) days, +/- 3 days [default]; a delayed cycle shifts
  every later cycle [default]; a cycle starts on its CxD1 visit date (the actual date once the
  visit is done, else the planned target): :func:`cycle_start_dates`, the one rule the visit
  schedule and the dosing calendar (``dosing.calendar``) both derive their cycles from;
* tumour assessments every 42 days on a fixed grid from C1D1, +/- 7 days [default], until
  24 months from C1D1;
* end of treatment within 7 days of the decision to stop [default];
* safety follow-up 21 days after the last dose, +/- 3 days [default];
* survival follow-up every 12 weeks after the safety follow-up [default], +/- 14 days
  [default], until 24 months from C1D1.

Pure Python: no Django import.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from alter_s006 import protocol as P

_ONE_DAY = timedelta(days=1)


class VisitKind(StrEnum):
    SCREENING = "screening"
    CYCLE = "cycle"
    TUMOUR_ASSESSMENT = "tumour_assessment"
    END_OF_TREATMENT = "end_of_treatment"
    SAFETY_FOLLOW_UP = "safety_follow_up"
    SURVIVAL_FOLLOW_UP = "survival_follow_up"
    # not planned: added by the site when the patient comes in between visits (issue 13); it
    # is held the day it is added (its window is that day), so re-planning never drops it
    UNSCHEDULED = "unscheduled"


class VisitStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    MISSED = "missed"


@dataclass(frozen=True)
class PlannedVisit:
    kind: VisitKind
    number: int
    code: str
    target: date
    earliest: date
    latest: date


def add_months(d: date, months: int) -> date:
    """Add calendar months to a date, clamping the day to the end of the month."""
    year, month_index = divmod(d.year * 12 + d.month - 1 + months, 12)
    month = month_index + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def _around(kind: VisitKind, number: int, code: str, target: date, window: int) -> PlannedVisit:
    """Build a visit whose window is +/- ``window`` days around its target."""
    delta = timedelta(days=window)
    return PlannedVisit(kind, number, code, target, target - delta, target + delta)


def screening_visit(c1d1: date) -> PlannedVisit:
    """Plan the screening visit: from 28 days before C1D1 up to the day before it."""
    earliest = c1d1 - timedelta(days=P.SCREENING_MAX_DAYS_BEFORE_C1D1)
    return PlannedVisit(VisitKind.SCREENING, 0, "SCR", earliest, earliest, c1d1 - _ONE_DAY)


@dataclass(frozen=True)
class CycleStart:
    """Day 1 of one cycle: ``target`` as planned, ``day1`` the date the cycle starts."""

    number: int
    target: date  # planned: previous cycle's day 1 + 21 days + this cycle's delay
    day1: date  # the CxD1 visit's actual date once done, else ``target``


def iter_cycle_starts(
    c1d1: date,
    actual_dates: Mapping[int, date] | None = None,
    delays: Mapping[int, int] | None = None,
) -> Iterator[CycleStart]:
    """Yield every cycle's start, cycle 1 first, without end.

    PROTOCOL.md "Schedule": cycle N day 1 is C1D1 + 21 x (N - 1) days, and "a delayed cycle
    shifts every later cycle". Read here as: **a cycle starts on its CxD1 visit date** — the
    actual date once the visit is done (``actual_dates``: cycle number -> date), else the planned
    target, which is the previous cycle's start + 21 days + the days that cycle's day 1 was
    delayed by a dosing decision (``delays``: cycle number -> days, the dose events' delays).
    A late or early CxD1 visit therefore moves every later cycle, for the visit schedule and the
    dosing calendar alike (issue 13, section 4: they derive from this one function).

    Cycle 1 starts on C1D1 (the first dose) and is never delayed; the C1D1 visit's actual date
    anchors cycle 2 (a C1D1 visit done on another day than the first dose is for a query, not
    for this rule to settle). An actual date that could not start its cycle — on or before the
    previous cycle's start (for cycle 1: 21 days or more before C1D1), a typing error — is not
    used: the planned target stands, so cycle starts always increase.
    """
    actual_dates = actual_dates or {}
    delays = delays or {}
    cycle_length = timedelta(days=P.CYCLE_LENGTH_DAYS)
    number, target, previous = 1, c1d1, c1d1 - cycle_length
    while True:
        actual = actual_dates.get(number)
        usable = actual is not None and actual > previous
        day1 = c1d1 if number == 1 else (actual if usable else target)
        yield CycleStart(number, target, day1)
        anchor = actual if usable else day1
        number += 1
        target = anchor + cycle_length + timedelta(days=delays.get(number, 0))
        previous = day1


def cycle_start_dates(
    c1d1: date,
    actual_dates: Mapping[int, date] | None = None,
    delays: Mapping[int, int] | None = None,
    n_cycles: int = P.MAX_CYCLES,
) -> list[CycleStart]:
    """The starts of cycles 1 to ``n_cycles`` (:func:`iter_cycle_starts`, PROTOCOL.md
    "Schedule")."""
    starts = iter_cycle_starts(c1d1, actual_dates, delays)
    return [next(starts) for _ in range(n_cycles)]


def cycle_visit_date_bounds(
    c1d1: date,
    actual_dates: Mapping[int, date],
    delays: Mapping[int, int] | None,
    number: int,
) -> tuple[date, date | None]:
    """The dates a CxD1 visit of cycle ``number`` must lie strictly between to start its cycle.

    After the previous cycle's start (:func:`iter_cycle_starts`; for cycle 1, the day 21 days
    before C1D1, so that cycle 2 still starts after C1D1), and before the next CxD1 visit
    recorded (``actual_dates`` of later cycles), or ``None`` when no later one is recorded.
    The visit's own recorded date, if any, is left out. PROTOCOL.md "Schedule": a cycle starts
    on its CxD1 visit date, so visit dates must keep the cycles in order.
    """
    others = {n: day for n, day in actual_dates.items() if n != number}
    if number == 1:
        lower = c1d1 - timedelta(days=P.CYCLE_LENGTH_DAYS)
    else:
        starts = iter_cycle_starts(c1d1, others, delays)
        lower = next(s.day1 for s in starts if s.number == number - 1)
    later = [day for n, day in others.items() if n > number]
    return lower, (min(later) if later else None)


def cycle_visits(
    c1d1: date,
    actual_dates: Mapping[int, date] | None = None,
    n_cycles: int = P.MAX_CYCLES,
    delays: Mapping[int, int] | None = None,
) -> list[PlannedVisit]:
    """Plan cycle day-1 visits around the targets of :func:`cycle_start_dates`.

    An actual date of cycle N re-anchors cycles N+1 onwards; ``delays`` maps a cycle number to
    the days its day 1 was delayed (a dosing decision, PROTOCOL.md Schedule: "a delayed cycle
    shifts every later cycle"); the delay moves that cycle's target and, through it, every later
    one. Cycle 1 is C1D1 itself. The window is kept around the planned target, so a visit done
    late is seen late.
    """
    return [
        _around(VisitKind.CYCLE, s.number, f"C{s.number}D1", s.target, P.CYCLE_WINDOW_DAYS)
        for s in cycle_start_dates(c1d1, actual_dates, delays, n_cycles)
    ]


def assessment_visits(
    c1d1: date, horizon_months: int = P.STUDY_HORIZON_MONTHS
) -> list[PlannedVisit]:
    """Plan tumour assessments on the fixed 42-day grid from C1D1 up to the horizon."""
    horizon = add_months(c1d1, horizon_months)
    visits: list[PlannedVisit] = []
    k = 1
    while (target := c1d1 + timedelta(days=P.TUMOUR_ASSESSMENT_INTERVAL_DAYS * k)) <= horizon:
        visits.append(
            _around(
                VisitKind.TUMOUR_ASSESSMENT, k, f"TA{k}", target, P.TUMOUR_ASSESSMENT_WINDOW_DAYS
            )
        )
        k += 1
    return visits


def end_of_treatment_visit(decision_date: date) -> PlannedVisit:
    """Plan the end-of-treatment visit: within 7 days of the decision to stop."""
    latest = decision_date + timedelta(days=P.END_OF_TREATMENT_WITHIN_DAYS)
    return PlannedVisit(VisitKind.END_OF_TREATMENT, 0, "EOT", decision_date, decision_date, latest)


def _safety_follow_up_target(last_dose: date) -> date:
    """Return the day of the safety follow-up visit: 21 days after the last dose."""
    return last_dose + timedelta(days=P.SAFETY_FOLLOW_UP_DAYS_AFTER_LAST_DOSE)


def safety_follow_up_visit(last_dose: date) -> PlannedVisit:
    """Plan the safety follow-up visit, 21 days after the last dose."""
    target = _safety_follow_up_target(last_dose)
    return _around(VisitKind.SAFETY_FOLLOW_UP, 0, "SFU", target, P.SAFETY_FOLLOW_UP_WINDOW_DAYS)


def survival_follow_up_visits(
    c1d1: date, last_dose: date, horizon_months: int = P.STUDY_HORIZON_MONTHS
) -> list[PlannedVisit]:
    """Plan survival follow-up every 12 weeks after the safety follow-up, up to the horizon."""
    horizon = add_months(c1d1, horizon_months)
    start = _safety_follow_up_target(last_dose)
    visits: list[PlannedVisit] = []
    k = 1
    while (target := start + timedelta(days=P.SURVIVAL_FOLLOW_UP_INTERVAL_DAYS * k)) <= horizon:
        visits.append(
            _around(
                VisitKind.SURVIVAL_FOLLOW_UP,
                k,
                f"SURV{k}",
                target,
                P.SURVIVAL_FOLLOW_UP_WINDOW_DAYS,
            )
        )
        k += 1
    return visits


def visit_status(
    *, earliest: date, latest: date, actual: date | None, missed: bool, today: date
) -> VisitStatus:
    """Classify a visit as done, missed, upcoming, due or overdue on ``today``."""
    if actual is not None:
        return VisitStatus.DONE
    if missed:
        return VisitStatus.MISSED
    if today < earliest:
        return VisitStatus.UPCOMING
    if today <= latest:
        return VisitStatus.DUE
    return VisitStatus.OVERDUE


def days_outside_window(visit: PlannedVisit, actual: date) -> int:
    """Return 0 inside the window, minus the days early, or plus the days late."""
    if actual < visit.earliest:
        return (actual - visit.earliest).days
    if actual > visit.latest:
        return (actual - visit.latest).days
    return 0


def screening_period(first_procedure: date) -> PlannedVisit:
    """Plan the screening visit of a newly registered subject, before any C1D1 is known.

    PROTOCOL.md "Schedule": screening lasts up to 28 days before C1D1 [default], so
    C1D1 must fall no later than ``first_procedure`` + 28 days.
    """
    latest = first_procedure + timedelta(days=P.SCREENING_MAX_DAYS_BEFORE_C1D1)
    return PlannedVisit(
        kind=VisitKind.SCREENING,
        number=0,
        code="SCR",
        target=first_procedure,
        earliest=first_procedure,
        latest=latest,
    )

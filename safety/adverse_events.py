"""Pure rules of the adverse event log: grade history, reporting window, SAE report due time.

Sources: ``docs/PROTOCOL.md`` "Outcomes" (safety: adverse events from the first dose to 21
days after the last dose, graded by CTCAE v4.03) and "Schedule" (the safety follow-up 21 days
after the last dose ends the AE reporting window); the issue "Safety" (a change of grade is kept
as the term's grade history, so the worst grade and the time at each grade are known; an SAE is
reported within 24 hours of the site learning of it). The numbers live in
``alter_s006.protocol``.

Counting days: a grade holds from its date up to the day before the next grade's date; the last
grade holds up to the end date of the event, or up to ``today`` while it is ongoing; both ends
count (an event starting and ending on the same day lasted 1 day).

Pure Python: no Django import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from alter_s006 import protocol as P

__all__ = [
    "GradeStep",
    "GradeSummary",
    "ReportingWindow",
    "in_reporting_window",
    "is_overdue",
    "reporting_window",
    "sae_report_due",
    "summarise_grades",
]


@dataclass(frozen=True)
class GradeStep:
    """The event was at ``grade`` from ``from_date`` (until the next step)."""

    grade: int
    from_date: dt.date


@dataclass(frozen=True)
class GradeSummary:
    current: int
    worst: int
    days_at_grade: Mapping[int, int]  # grade -> days at that grade (grades never held absent)
    total_days: int


def summarise_grades(
    steps: Sequence[GradeStep], *, end: dt.date | None, today: dt.date
) -> GradeSummary:
    """Worst grade, current grade and days at each grade of one event's grade history.

    ``steps`` in any order (one per date); ``end`` is the event's end date, None while ongoing
    (counted up to ``today``). Raises ``ValueError`` for an empty history."""
    if not steps:
        raise ValueError("A grade history has at least the grade at onset.")
    ordered = sorted(steps, key=lambda s: s.from_date)
    last_day = end if end is not None else today
    days: dict[int, int] = {}
    for step, following in zip(ordered, [*ordered[1:], None], strict=True):
        until = following.from_date - dt.timedelta(days=1) if following else last_day
        held = max(0, (min(until, last_day) - step.from_date).days + 1)
        if held:
            days[step.grade] = days.get(step.grade, 0) + held
    return GradeSummary(
        current=ordered[-1].grade,
        worst=max(s.grade for s in ordered),
        days_at_grade=MappingProxyType(dict(sorted(days.items()))),
        total_days=sum(days.values()),
    )


@dataclass(frozen=True)
class ReportingWindow:
    """First dose to last dose + 21 days, both included; ``end`` None while still dosing."""

    start: dt.date
    end: dt.date | None

    def contains(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def reporting_window(
    first_dose: dt.date | None, last_dose: dt.date | None
) -> ReportingWindow | None:
    """The AE reporting window (PROTOCOL.md "Outcomes"); None before the first dose."""
    if first_dose is None:
        return None
    end = None
    if last_dose is not None:
        end = last_dose + dt.timedelta(days=P.AE_REPORTING_DAYS_AFTER_LAST_DOSE)
    return ReportingWindow(start=first_dose, end=end)


def in_reporting_window(
    onset: dt.date, first_dose: dt.date | None, last_dose: dt.date | None
) -> bool:
    """Does an event starting on ``onset`` fall in the reporting window? (False before dosing.)"""
    window = reporting_window(first_dose, last_dose)
    return window is not None and window.contains(onset)


def covers(onset: dt.date, end: dt.date | None, ongoing: bool, day: dt.date) -> bool:
    """Does an adverse event (``onset``, ``end`` or ``ongoing``) cover ``day``? The matching of
    a graded value (lab panel, visit CRF) to an AE of its term: the AE began on or before the
    day and is ongoing or ended on or after it (both ends included)."""
    return onset <= day and (ongoing or (end is not None and end >= day))


def sae_report_due(aware_at: dt.datetime, *, hours: int = P.SAE_REPORT_HOURS) -> dt.datetime:
    """When the SAE report is due: ``hours`` after the site learned of the event."""
    return aware_at + dt.timedelta(hours=hours)


def is_overdue(due_at: dt.datetime, submitted_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Not submitted and past due (a report due exactly now is not yet overdue)."""
    return submitted_at is None and due_at < now

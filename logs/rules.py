"""Pure rules of the log forms: date limits, dose plausibility, baseline conditions, and the
protocol deviations the system raises from stored data.

Sources: docs/PROTOCOL.md "Prohibited and cautionary concomitant medications [default]" (the
baseline-condition rule and the deviations raised by the system are stated at its end),
"Schedule" (visit windows), "The trial" (interruptions); CTCAE v4.03 (grades 1-5, 5 = death,
so a grade at baseline is 1-4). Numbers from ``alter_s006.protocol``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from alter_s006 import protocol as P


def _(text: str) -> str:
    """Marks a message for translation (the services translate it); no Django here."""
    return text


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str  # English template, marked for translation; ``params`` fill it
    params: tuple[tuple[str, str], ...] = ()

    def text(self, translate=lambda s: s) -> str:
        return translate(self.message) % dict(self.params)


# --- dates and plausibility --------------------------------------------------------------------


def check_period(
    start: dt.date | None,
    stop: dt.date | None,
    ongoing: bool,
    today: dt.date,
    *,
    start_field: str = "start_date",
    stop_field: str = "stop_date",
) -> list[Problem]:
    """A start date, then either a stop date or ongoing (not both), stop on or after start;
    every date from ``EARLIEST_PLAUSIBLE_DATE`` to the site's ``today`` inclusive."""
    problems: list[Problem] = []
    if start is None:
        problems.append(Problem(start_field, "required", _("Enter the start date.")))
    else:
        problems += _in_range(start, today, start_field)
    if ongoing and stop is not None:
        problems.append(
            Problem(
                stop_field, "stop_and_ongoing", _("Enter the stop date or tick ongoing, not both.")
            )
        )
    elif not ongoing and stop is None:
        problems.append(
            Problem(stop_field, "stop_or_ongoing", _("Enter the stop date, or tick ongoing."))
        )
    elif stop is not None:
        found = _in_range(stop, today, stop_field)
        if not found and start is not None and stop < start:
            found = [
                Problem(
                    stop_field,
                    "stop_before_start",
                    _("The stop date cannot be before the start (%(d)s)."),
                    (("d", start.isoformat()),),
                )
            ]
        problems += found
    return problems


def _in_range(day: dt.date, today: dt.date, field: str) -> list[Problem]:
    if day < P.EARLIEST_PLAUSIBLE_DATE:
        return [
            Problem(
                field,
                "date_implausible",
                _("The date cannot be before %(d)s."),
                (("d", P.EARLIEST_PLAUSIBLE_DATE.isoformat()),),
            )
        ]
    if day > today:
        return [Problem(field, "future_date", _("The date cannot be in the future."))]
    return []


def check_date(day: dt.date | None, today: dt.date, field: str) -> list[Problem]:
    """One required date from ``EARLIEST_PLAUSIBLE_DATE`` to ``today`` inclusive."""
    if day is None:
        return [Problem(field, "required", _("Enter the date."))]
    return _in_range(day, today, field)


def check_dose(dose: Decimal | None) -> list[Problem]:
    """Above ``CONMED_DOSE_MIN_EXCLUSIVE`` and at most ``CONMED_DOSE_MAX``."""
    if dose is None:
        return [Problem("dose", "required", _("Enter the dose."))]
    if not dose.is_finite() or dose <= P.CONMED_DOSE_MIN_EXCLUSIVE or dose > P.CONMED_DOSE_MAX:
        return [
            Problem(
                "dose",
                "dose_implausible",
                _("The dose must be above %(low)s and at most %(high)s."),
                (("low", str(P.CONMED_DOSE_MIN_EXCLUSIVE)), ("high", str(P.CONMED_DOSE_MAX))),
            )
        ]
    return []


def check_baseline_grade(grade: int | None) -> list[Problem]:
    """Empty (not graded), or ``BASELINE_GRADE_MIN`` to ``BASELINE_GRADE_MAX``."""
    if grade is None or P.BASELINE_GRADE_MIN <= grade <= P.BASELINE_GRADE_MAX:
        return []
    return [
        Problem(
            "baseline_grade",
            "invalid_grade",
            _("The grade at baseline is %(low)s to %(high)s."),
            (("low", str(P.BASELINE_GRADE_MIN)), ("high", str(P.BASELINE_GRADE_MAX))),
        )
    ]


# --- baseline conditions -------------------------------------------------------------------------


@dataclass(frozen=True)
class BaselineCondition:
    key: int  # the medical-history row
    term: str  # the CTCAE term, or the free text
    ongoing: bool
    grade: int | None  # at baseline; None = not graded


def _same_term(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def matches_baseline_condition(
    term: str, grade: int, conditions: Iterable[BaselineCondition]
) -> BaselineCondition | None:
    """The ongoing baseline condition of ``term`` an AE of ``grade`` may only continue: the
    same term (case and spacing aside) at a grade at baseline equal to or higher than
    ``grade``, or not graded. An AE above the grade at baseline is a worsening (a new AE).

    Of several, the one of the highest grade at baseline (an ungraded one last)."""
    found = [
        c
        for c in conditions
        if c.ongoing and _same_term(c.term, term) and (c.grade is None or grade <= c.grade)
    ]
    if not found:
        return None
    return max(found, key=lambda c: (c.grade is not None, c.grade or 0, -c.key))


# --- deviations the system raises ----------------------------------------------------------------


@dataclass(frozen=True)
class Interruption:
    start: dt.date
    end: dt.date | None  # None: open until the next dose event, or still open


def interruption_spans(
    interruptions: Sequence[Interruption], later_event_starts: Sequence[dt.date]
) -> list[tuple[dt.date, dt.date]]:
    """(first, last day) of each interruption; an open one lasts until the day before the next
    dose event of any kind (as ``dosing.calendar`` reads it), or for good."""
    spans = []
    for i in interruptions:
        if i.end is not None:
            spans.append((i.start, i.end))
            continue
        later = [s for s in later_event_starts if s > i.start]
        spans.append((i.start, min(later) - dt.timedelta(days=1) if later else dt.date.max))
    return spans


def inside_interruption(day: dt.date, spans: Iterable[tuple[dt.date, dt.date]]):
    """The span ``day`` falls in (first and last day inclusive), or None."""
    return next(((a, b) for a, b in spans if a <= day <= b), None)


def taken_on_treatment(start: dt.date, stop: dt.date | None, c1d1: dt.date | None) -> bool:
    """A medication taken on or after the first dose: started then, or still taken then
    (ongoing, or stopped on or after C1D1)."""
    if c1d1 is None:
        return False
    return start >= c1d1 or stop is None or stop >= c1d1

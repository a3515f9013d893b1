"""Dosing calendar of ALTER-S006: which day is a dosing day, at what dose, and which dose events
(interruption, reduction, delay, discontinuation, re-escalation) a coordinator may record.

Source: ``docs/PROTOCOL.md``, sections "The trial" (Treatment, Dose levels) and "Schedule"
(the paragraph after the visit table). Every number comes from :mod:`alter_s006.protocol`:

* anlotinib once daily on cycle days ``P.DOSING_DAYS`` (1-14) of each ``P.CYCLE_LENGTH_DAYS``
  (21) day cycle, starting at ``P.START_DOSE_MG`` (12 mg);
* dose levels ``P.DOSE_LEVELS_MG`` (12 -> 10 -> 8 mg) [default]; a reduction goes one level
  down; intolerance at the lowest level means discontinuation;
* a delayed cycle shifts every later cycle [default]; the rest days of the previous cycle
  extend through the delay (those extra days are :attr:`DayKind.DELAYED`);
* a cycle starts on its CxD1 visit date: the actual date once the visit is done, else the
  planned target. The cycle starts come from :func:`subjects.schedule.iter_cycle_starts`, the
  same function the visit schedule plans its CxD1 visits with, fed the same C1D1, actual CxD1
  visit dates (``visit_dates``) and delays, so the patient's calendar and diary cannot disagree
  with the visits (issue 13, section 4). A CxD1 visit done late lengthens the previous cycle
  (its extra days are DELAYED, as for a recorded delay); one done early shortens it;
* missed doses are not made up: an interruption turns dosing days into
  :attr:`DayKind.INTERRUPTED` and never lengthens the cycle.

Conventions decided here (the protocol is silent):

* An interruption only affects dosing days: rest and delayed days inside it keep their kind.
* An open interruption (``end`` is ``None``) lasts until the day before the next event of any
  kind that starts strictly later (including a discontinuation), or indefinitely.
  :func:`validate_event` nevertheless refuses a new interruption that starts inside an open
  one (it overlaps it: close the open one first by entering its end date).
* Several delays of the same cycle add up (a second delay is recorded on the already delayed
  day 1).
* Events of the same date apply in the order given; dose changes take effect on their date.
* No cycle starts on or after the discontinuation date. Days on or after it are
  :attr:`DayKind.DISCONTINUED`; they keep the cycle number and cycle day while they fall within
  the cycle in progress, and have none after it.
* :attr:`Cycle.dose_days` are the planned dosing days of the cycle as if never interrupted or
  discontinued (the schedule, not what was taken).
* Re-escalation is not part of the protocol: without ``allow_reescalation`` a recorded
  re-escalation makes every function raise :class:`CalendarError` rather than be silently
  ignored.
* :func:`validate_event` also requires a reason for interruptions and reductions ("recorded
  with a reason", PROTOCOL.md "The trial"), refuses fields that do not belong to the kind of
  event, and refuses an event that would make a later recorded dose change skip a level.

Pure Python: no Django import.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from alter_s006 import protocol as P
from subjects.schedule import iter_cycle_starts

_ONE_DAY = timedelta(days=1)
_FIRST_DOSING_DAY, _LAST_DOSING_DAY = P.DOSING_DAYS
_LOWEST_DOSE_MG = min(P.DOSE_LEVELS_MG)
_LEVELS_TEXT = ", ".join(f"{mg}" for mg in P.DOSE_LEVELS_MG) + " mg"


class DayKind(StrEnum):
    ON = "on"
    REST = "rest"
    INTERRUPTED = "interrupted"
    DELAYED = "delayed"
    DISCONTINUED = "discontinued"
    BEFORE_START = "before_start"


class EventKind(StrEnum):
    INTERRUPTION = "interruption"
    REDUCTION = "reduction"
    DELAY = "delay"
    DISCONTINUATION = "discontinuation"
    REESCALATION = "reescalation"


_LABELS = {
    EventKind.INTERRUPTION: "interruption",
    EventKind.REDUCTION: "dose reduction",
    EventKind.DELAY: "cycle delay",
    EventKind.DISCONTINUATION: "discontinuation",
    EventKind.REESCALATION: "re-escalation",
}
_DOSE_CHANGES = (EventKind.REDUCTION, EventKind.REESCALATION)
_REASON_REQUIRED = (EventKind.INTERRUPTION, EventKind.REDUCTION)


@dataclass(frozen=True)
class DoseEvent:
    """One recorded change to the dosing (PROTOCOL.md "The trial", "Schedule").

    * ``INTERRUPTION``: no dose from ``start`` to ``end`` inclusive; ``end`` ``None`` = open
      (until the next later event or the discontinuation).
    * ``REDUCTION`` / ``REESCALATION``: ``dose_mg`` is the new level, in force from ``start``.
    * ``DELAY``: day 1 of cycle ``cycle`` moves ``days`` days later (and every later cycle
      with it); ``start`` is the date the delay was decided.
    * ``DISCONTINUATION``: permanent stop on ``start``; no dose on or after it.
    """

    kind: EventKind
    start: date
    end: date | None = None
    dose_mg: int | None = None
    cycle: int | None = None
    days: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class CalendarDay:
    """One date of the calendar; ``dose_mg`` is 0 when no dose is planned that day."""

    day: date
    cycle: int | None
    cycle_day: int | None
    kind: DayKind
    dose_mg: int


@dataclass(frozen=True)
class Cycle:
    """A started cycle: its day 1, its planned dosing days and its last day (before the next)."""

    number: int
    day1: date
    dose_days: tuple[date, ...]
    last_day: date


class CalendarError(ValueError):
    """A dose event the calendar refuses, tied to the :class:`DoseEvent` field at fault, with
    a stable ``code`` for programs (the API answers it; tests assert it)."""

    def __init__(self, field: str, message: str, *, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


# --- Helpers ------------------------------------------------------------------------------------


def _fmt(d: date) -> str:
    return d.isoformat()


def _ordered(events: Iterable[DoseEvent]) -> list[DoseEvent]:
    """Sort events by date, keeping the given order for events of the same date."""
    return sorted(events, key=lambda e: e.start)


def _check_structure(event: DoseEvent, *, allow_reescalation: bool) -> None:
    """Refuse an event the calendar cannot even compute with (missing or impossible fields)."""
    if event.kind is EventKind.INTERRUPTION:
        if event.end is not None and event.end < event.start:
            raise CalendarError(
                "end",
                f"The interruption cannot end ({_fmt(event.end)}) before it starts "
                f"({_fmt(event.start)}).",
                code="end_before_start",
            )
    elif event.kind in _DOSE_CHANGES:
        if event.kind is EventKind.REESCALATION and not allow_reescalation:
            raise CalendarError(
                "kind",
                "Re-escalation is not allowed in this protocol.",
                code="reescalation_not_allowed",
            )
        if event.dose_mg is None:
            raise CalendarError(
                "dose_mg", f"A {_LABELS[event.kind]} needs the new dose.", code="dose_required"
            )
    elif event.kind is EventKind.DELAY:
        if event.cycle is None:
            raise CalendarError(
                "cycle",
                "A cycle delay needs the number of the cycle delayed.",
                code="cycle_required",
            )
        if event.cycle < 1:
            raise CalendarError(
                "cycle",
                f"There is no cycle {event.cycle}: cycles start at 1.",
                code="no_such_cycle",
            )
        if event.cycle == 1:
            raise CalendarError(
                "cycle",
                "Cycle 1 cannot be delayed: its day 1 is C1D1 itself (change C1D1 instead).",
                code="first_cycle_not_delayable",
            )
        if event.days is None or event.days <= 0:
            raise CalendarError(
                "days", "A cycle delay must be at least 1 day.", code="delay_too_short"
            )


def _checked(events: Sequence[DoseEvent], allow_reescalation: bool) -> list[DoseEvent]:
    for event in events:
        _check_structure(event, allow_reescalation=allow_reescalation)
    return _ordered(events)


def _discontinued_on(events: Iterable[DoseEvent]) -> date | None:
    """Return the earliest discontinuation date, or ``None``."""
    dates = [e.start for e in events if e.kind is EventKind.DISCONTINUATION]
    return min(dates) if dates else None


def _delays(events: Iterable[DoseEvent]) -> dict[int, int]:
    """Total delay in days of each delayed cycle number."""
    total: dict[int, int] = {}
    for e in events:
        if e.kind is EventKind.DELAY and e.cycle is not None and e.days is not None:
            total[e.cycle] = total.get(e.cycle, 0) + e.days
    return total


def _interruption_spans(ordered: Sequence[DoseEvent]) -> list[tuple[DoseEvent, date, date]]:
    """Each interruption with its first and last day (an open one ends before the next event)."""
    spans = []
    for e in ordered:
        if e.kind is not EventKind.INTERRUPTION:
            continue
        if e.end is not None:
            last = e.end
        else:
            later = [o.start for o in ordered if o.start > e.start]
            last = min(later) - _ONE_DAY if later else date.max
        spans.append((e, e.start, last))
    return spans


def _dose_level(ordered: Sequence[DoseEvent], on: date) -> int:
    """Dose level set by the dose changes of ``ordered`` dated on or before ``on``."""
    dose = P.START_DOSE_MG
    for e in ordered:
        if e.start > on:
            break
        if e.kind in _DOSE_CHANGES and e.dose_mg is not None:
            dose = e.dose_mg
    return dose


# --- Calendar -----------------------------------------------------------------------------------


def cycle_starts(
    c1d1: date,
    events: Sequence[DoseEvent],
    until: date,
    *,
    visit_dates: Mapping[int, date] | None = None,
) -> list[Cycle]:
    """List the cycles that start on or before ``until`` (and before any discontinuation).

    Each cycle starts on its CxD1 visit date (PROTOCOL.md "Schedule";
    :func:`subjects.schedule.iter_cycle_starts`): the actual date of the visit when
    ``visit_dates`` (cycle number -> actual CxD1 date) has it, else the planned target, the
    previous cycle's start + 21 days + the delay recorded for the cycle (a delayed cycle shifts
    every later cycle). A cycle's last day is the day before the next cycle's day 1, so a delay
    or a late CxD1 visit lengthens the previous cycle.
    """
    ordered = _checked(events, allow_reescalation=True)
    stop = _discontinued_on(ordered)
    starts = iter_cycle_starts(c1d1, visit_dates, _delays(ordered))
    cycles: list[Cycle] = []
    current = next(starts)
    while current.day1 <= until and (stop is None or current.day1 < stop):
        following = next(starts)
        day1 = current.day1
        dose_days = tuple(
            day1 + timedelta(days=k - 1) for k in range(_FIRST_DOSING_DAY, _LAST_DOSING_DAY + 1)
        )
        cycles.append(Cycle(current.number, day1, dose_days, following.day1 - _ONE_DAY))
        current = following
    return cycles


def build_calendar(
    c1d1: date,
    events: Sequence[DoseEvent],
    start: date,
    end: date,
    *,
    allow_reescalation: bool = False,
    visit_dates: Mapping[int, date] | None = None,
) -> list[CalendarDay]:
    """Return one :class:`CalendarDay` per date from ``start`` to ``end`` inclusive.

    Cycle days 1-14 are ON at the dose level in force that date (INTERRUPTED, dose 0, inside an
    interruption), days 15-21 REST, days after 21 (a delay of the next cycle) DELAYED; dates
    before C1D1 are BEFORE_START and dates on or after a discontinuation DISCONTINUED. Cycles
    start on their CxD1 visit dates (``visit_dates``, see :func:`cycle_starts`).
    """
    ordered = _checked(events, allow_reescalation)
    cycles = cycle_starts(c1d1, ordered, end, visit_dates=visit_dates)
    day1s = [c.day1 for c in cycles]
    spans = _interruption_spans(ordered)
    stop = _discontinued_on(ordered)
    days: list[CalendarDay] = []
    current = start
    while current <= end:
        days.append(_classify(current, c1d1, cycles, day1s, spans, stop, ordered))
        current += _ONE_DAY
    return days


def _classify(
    on: date,
    c1d1: date,
    cycles: Sequence[Cycle],
    day1s: Sequence[date],
    spans: Sequence[tuple[DoseEvent, date, date]],
    stop: date | None,
    ordered: Sequence[DoseEvent],
) -> CalendarDay:
    if on < c1d1:
        return CalendarDay(on, None, None, DayKind.BEFORE_START, 0)
    index = bisect.bisect_right(day1s, on) - 1
    cycle = cycles[index] if index >= 0 and on <= cycles[index].last_day else None
    number = cycle.number if cycle else None
    cycle_day = (on - cycle.day1).days + 1 if cycle else None
    if stop is not None and on >= stop:
        return CalendarDay(on, number, cycle_day, DayKind.DISCONTINUED, 0)
    if cycle is None or cycle_day is None:  # not reached: every date after C1D1 is in a cycle
        raise AssertionError(f"{on} falls in no cycle")
    if _FIRST_DOSING_DAY <= cycle_day <= _LAST_DOSING_DAY:
        if any(first <= on <= last for _e, first, last in spans):
            return CalendarDay(on, number, cycle_day, DayKind.INTERRUPTED, 0)
        return CalendarDay(on, number, cycle_day, DayKind.ON, _dose_level(ordered, on))
    if cycle_day <= P.CYCLE_LENGTH_DAYS:
        return CalendarDay(on, number, cycle_day, DayKind.REST, 0)
    return CalendarDay(on, number, cycle_day, DayKind.DELAYED, 0)


def planned_dose(
    c1d1: date,
    events: Sequence[DoseEvent],
    on: date,
    *,
    allow_reescalation: bool = False,
    visit_dates: Mapping[int, date] | None = None,
) -> int:
    """Return the mg planned on ``on`` (0 on rest, interrupted, delayed, discontinued days and
    before C1D1)."""
    calendar = build_calendar(
        c1d1, events, on, on, allow_reescalation=allow_reescalation, visit_dates=visit_dates
    )
    return calendar[0].dose_mg


def current_dose(
    c1d1: date, events: Sequence[DoseEvent], on: date, *, allow_reescalation: bool = False
) -> int:
    """Return the dose level in force on ``on`` whatever the kind of day (rest, interruption).

    0 before C1D1 (no treatment yet) and on or after the discontinuation.
    """
    ordered = _checked(events, allow_reescalation)
    stop = _discontinued_on(ordered)
    if on < c1d1 or (stop is not None and on >= stop):
        return 0
    return _dose_level(ordered, on)


# --- Validation of a new event ------------------------------------------------------------------


def _level_below(dose: int) -> int | None:
    levels = sorted(P.DOSE_LEVELS_MG, reverse=True)
    lower = [mg for mg in levels if mg < dose]
    return lower[0] if lower else None


def _level_above(dose: int) -> int | None:
    higher = sorted(mg for mg in P.DOSE_LEVELS_MG if mg > dose)
    return higher[0] if higher else None


def _check_fields_belong(new: DoseEvent) -> None:
    """Refuse a field filled in that has no meaning for the kind of event."""
    if new.end is not None and new.kind is not EventKind.INTERRUPTION:
        raise CalendarError(
            "end", "Only an interruption has an end date.", code="not_for_this_kind"
        )
    if new.dose_mg is not None and new.kind not in _DOSE_CHANGES:
        raise CalendarError(
            "dose_mg",
            "Only a reduction or a re-escalation sets a new dose.",
            code="not_for_this_kind",
        )
    if new.kind is not EventKind.DELAY:
        if new.cycle is not None:
            raise CalendarError(
                "cycle", "Only a cycle delay names a cycle.", code="not_for_this_kind"
            )
        if new.days is not None:
            raise CalendarError(
                "days", "Only a cycle delay has a number of days.", code="not_for_this_kind"
            )


def _check_dose_change(new: DoseEvent, dose_before: int) -> None:
    """Refuse a reduction/re-escalation that is not exactly one dose level from ``dose_before``."""
    dose = new.dose_mg
    assert dose is not None  # _check_structure
    if new.kind is EventKind.REDUCTION:
        if dose_before <= _LOWEST_DOSE_MG:
            raise CalendarError(
                "dose_mg",
                f"The dose is already at the lowest level ({_LOWEST_DOSE_MG} mg): intolerance "
                f"at {_LOWEST_DOSE_MG} mg means discontinuation. Record a discontinuation "
                "instead.",
                code="already_lowest_dose",
            )
        if dose not in P.DOSE_LEVELS_MG:
            raise CalendarError(
                "dose_mg",
                f"{dose} mg is not a dose level of this protocol ({_LEVELS_TEXT}).",
                code="not_a_dose_level",
            )
        expected = _level_below(dose_before)
        if dose != expected:
            raise CalendarError(
                "dose_mg",
                f"Reduce one level at a time: {dose_before} → {expected} mg "
                f"(not {dose_before} → {dose} mg).",
                code="not_one_level_down",
            )
    else:
        if dose not in P.DOSE_LEVELS_MG:
            raise CalendarError(
                "dose_mg",
                f"{dose} mg is not a dose level of this protocol ({_LEVELS_TEXT}).",
                code="not_a_dose_level",
            )
        expected = _level_above(dose_before)
        if expected is None:
            raise CalendarError(
                "dose_mg",
                f"The dose is already at the starting level ({dose_before} mg): it cannot be "
                "re-escalated.",
                code="already_starting_dose",
            )
        if dose != expected:
            raise CalendarError(
                "dose_mg",
                f"Re-escalate one level at a time: {dose_before} → {expected} mg "
                f"(not {dose_before} → {dose} mg).",
                code="not_one_level_up",
            )


def _check_later_dose_changes(ordered: Sequence[DoseEvent], new: DoseEvent) -> None:
    """Refuse ``new`` if it makes a dose change recorded after it skip a level."""
    dose = P.START_DOSE_MG
    seen_new = False
    for e in ordered:
        seen_new = seen_new or e is new
        if e.kind not in _DOSE_CHANGES or e.dose_mg is None:
            continue
        step = _level_below(dose) if e.kind is EventKind.REDUCTION else _level_above(dose)
        if seen_new and e is not new and e.dose_mg != step:
            raise CalendarError(
                "start",
                f"This would make the {_LABELS[e.kind]} recorded on {_fmt(e.start)} go from "
                f"{dose} to {e.dose_mg} mg, which is not one dose level. Correct that event "
                "first.",
                code="breaks_later_dose_change",
            )
        dose = e.dose_mg


def validate_event(
    c1d1: date,
    existing: Sequence[DoseEvent],
    new: DoseEvent,
    *,
    today: date,
    allow_reescalation: bool = False,
    visit_dates: Mapping[int, date] | None = None,
) -> None:
    """Raise :class:`CalendarError` if ``new`` cannot be added to the ``existing`` events.

    Refused (PROTOCOL.md "The trial" and "Schedule"): an event before C1D1, in the future, on or
    after the discontinuation; an interruption ending before it starts or overlapping another;
    a dose that is not a dose level; a reduction that is not exactly one level down, or below the
    lowest level (intolerance there means discontinuation); a re-escalation (unless
    ``allow_reescalation``; then one level up at a time); a second discontinuation, or one
    before events already recorded; a delay of 0 days or less, of cycle 1, of a cycle that
    started before the delay was recorded, or of a cycle whose CxD1 visit is recorded as done
    (``visit_dates``: the cycle started on that visit, PROTOCOL.md "Schedule"; correct the
    visit's date instead). Interruptions and reductions need a reason.
    """
    _check_structure(new, allow_reescalation=allow_reescalation)
    _check_fields_belong(new)
    if new.kind in _REASON_REQUIRED and not (new.reason or "").strip():
        raise CalendarError(
            "reason", f"A reason is required for a {_LABELS[new.kind]}.", code="reason_required"
        )
    if new.start < c1d1:
        raise CalendarError(
            "start",
            f"The date cannot be before cycle 1 day 1 ({_fmt(c1d1)}).",
            code="before_c1d1",
        )
    if new.start > today:
        raise CalendarError("start", "The date cannot be in the future.", code="future_date")

    current = _checked(existing, allow_reescalation=True)
    stop = _discontinued_on(current)
    if stop is not None:
        if new.kind is EventKind.DISCONTINUATION:
            raise CalendarError(
                "kind",
                f"Treatment was already discontinued on {_fmt(stop)}.",
                code="already_discontinued",
            )
        if new.start >= stop:
            raise CalendarError(
                "start",
                f"Treatment was discontinued on {_fmt(stop)}: nothing can be recorded on or "
                "after that date.",
                code="after_discontinuation",
            )
    if new.kind is EventKind.DISCONTINUATION:
        later = [e for e in current if e.start >= new.start]
        if later:
            raise CalendarError(
                "start",
                f"A {_LABELS[later[-1].kind]} is recorded on {_fmt(later[-1].start)}: the "
                "discontinuation must be the last event.",
                code="discontinuation_not_last",
            )

    if new.kind is EventKind.INTERRUPTION:
        # The new interruption may be closed by a later recorded event; an existing one is
        # judged as recorded (a new interruption inside an open one overlaps it).
        spans = _interruption_spans(_ordered([*current, new]))
        new_first, new_last = next((f, la) for e, f, la in spans if e is new)
        for e, first, last in _interruption_spans(current):
            if first <= new_last and new_first <= last:
                until = "still open" if e.end is None else f"to {_fmt(last)}"
                raise CalendarError(
                    "start",
                    f"This overlaps the interruption from {_fmt(first)} ({until}).",
                    code="overlaps_interruption",
                )
    elif new.kind in _DOSE_CHANGES:
        _check_dose_change(new, _dose_level(current, new.start))
        _check_later_dose_changes(_ordered([*current, new]), new)
    elif new.kind is EventKind.DELAY:
        assert new.cycle is not None  # _check_structure
        visit_dates = visit_dates or {}
        done = visit_dates.get(new.cycle)
        if done is not None:
            raise CalendarError(
                "cycle",
                f"The C{new.cycle}D1 visit is recorded as done on {_fmt(done)}: cycle "
                f"{new.cycle} started that day. To delay it, correct that visit's date.",
                code="cycle_already_started",
            )
        starts = iter_cycle_starts(c1d1, visit_dates, _delays(current))
        day1 = next(s.day1 for s in starts if s.number == new.cycle)
        if day1 < new.start:
            raise CalendarError(
                "cycle",
                f"Cycle {new.cycle} already started on {_fmt(day1)}, before this delay "
                f"({_fmt(new.start)}); only a cycle that has not started can be delayed.",
                code="cycle_already_started",
            )

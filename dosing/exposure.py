"""Drug accountability and exposure of ALTER-S006: capsules dispensed and returned, compliance,
and the exposure summary (cumulative dose, dose intensity) of one subject.

Source: ``docs/PROTOCOL.md``, section "The trial" (anlotinib 12 mg once daily on days 1-14
of each 21-day cycle; dose levels 12 -> 10 -> 8 mg [default]). Every number of the protocol
comes from :mod:`alter_s006.protocol`; the dosing days come from :mod:`dosing.calendar`.

Conventions decided here (the protocol is silent):

* One capsule per dose: a bottle of ``strength_mg`` capsules covers the ON days whose planned
  dose equals that strength.
* The compliance period runs from the dispensing date to the day before the return (the dose
  of the return day comes from the new bottle). Its planned doses are counted on a calendar the
  caller builds with :func:`dosing.calendar.build_calendar`; a calendar that does not cover the
  whole period is refused rather than undercounted.
* Compliance is ``100 x taken / planned`` rounded to 1 decimal (ROUND_HALF_UP); the flags
  compare that rounded figure, so 80.0 and 120.0 are not flagged. A period with no planned dose
  has percent 0 and no flag (there is nothing to comply with).
* Exposure stops at ``until`` or the day before the discontinuation, whichever is earlier.
  Dose intensity = cumulative mg / planned dosing days (2 decimals); relative dose intensity
  = cumulative mg / (planned dosing days x start dose) (3 decimals), computed from the exact
  ratio, not from the rounded intensity. Both are 0 when no dosing day was planned.
* Interruptions and reductions are counted when recorded on or before ``until``; ``reasons``
  are the non-blank reasons of every event on or before ``until``, in date order, each once.

Pure Python: no Django import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from alter_s006 import protocol as P
from dosing.calendar import (
    CalendarDay,
    DayKind,
    DoseEvent,
    EventKind,
    build_calendar,
    cycle_starts,
)

_ONE_DAY = timedelta(days=1)
_LOW_PERCENT = P.COMPLIANCE_LOW_PERCENT
_HIGH_PERCENT = P.COMPLIANCE_HIGH_PERCENT
_ONE_DECIMAL = Decimal("0.1")
_TWO_DECIMALS = Decimal("0.01")
_THREE_DECIMALS = Decimal("0.001")


class DispensingError(ValueError):
    """A dispensing record refused, tied to the :class:`Dispensing` field at fault, with a
    stable ``code`` for programs (the API answers it; tests assert it)."""

    def __init__(self, field: str, message: str, *, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Dispensing:
    """One bottle dispensed to a subject and, once returned, the capsules brought back."""

    dispensed_on: date
    strength_mg: int
    capsules: int
    returned_on: date | None = None
    returned: int | None = None
    reported_missed: int | None = None
    expiry: date | None = None


@dataclass(frozen=True)
class Compliance:
    """Capsules taken against doses planned between dispensing and return."""

    period_start: date
    period_end: date
    planned_doses: int
    capsules_taken: int
    percent: Decimal
    flag: str  # "low" (< P.COMPLIANCE_LOW_PERCENT), "high" (> P.COMPLIANCE_HIGH_PERCENT), ""


@dataclass(frozen=True)
class Exposure:
    """Exposure summary of one subject up to a date."""

    cycles_started: int
    first_dose: date | None
    last_dose: date | None
    duration_days: int
    cumulative_mg: int
    planned_dosing_days: int
    dose_intensity_mg_per_day: Decimal
    relative_dose_intensity: Decimal
    interruptions: int
    reductions: int
    reasons: tuple[str, ...]


# --- Accountability -----------------------------------------------------------------------------


def capsules_taken(d: Dispensing) -> int | None:
    """Return capsules dispensed minus capsules returned; ``None`` until the return is counted."""
    if d.returned is None:
        return None
    return d.capsules - d.returned


def _ratio(numerator: int, denominator: int, quantum: Decimal) -> Decimal:
    return (Decimal(numerator) / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)


def compliance(d: Dispensing, calendar: Sequence[CalendarDay]) -> Compliance | None:
    """Compare capsules taken with the doses planned from dispensing to the day before return.

    Planned doses are the ON days of ``calendar`` in that period whose dose equals the capsule
    strength (one capsule per dose). ``None`` until the bottle is returned and counted.
    """
    taken = capsules_taken(d)
    if d.returned_on is None or taken is None:
        return None
    period_start, period_end = d.dispensed_on, d.returned_on - _ONE_DAY
    by_day = {c.day: c for c in calendar}
    planned = 0
    on = period_start
    while on <= period_end:
        day = by_day.get(on)
        if day is None:
            raise DispensingError(
                "calendar",
                f"The calendar does not cover {on.isoformat()}, inside the dispensing period "
                f"{period_start.isoformat()} to {period_end.isoformat()}.",
                code="calendar_incomplete",
            )
        if day.kind is DayKind.ON and day.dose_mg == d.strength_mg:
            planned += 1
        on += _ONE_DAY
    if planned == 0:
        return Compliance(period_start, period_end, 0, taken, Decimal("0.0"), "")
    percent = _ratio(100 * taken, planned, _ONE_DECIMAL)
    flag = "low" if percent < _LOW_PERCENT else "high" if percent > _HIGH_PERCENT else ""
    return Compliance(period_start, period_end, planned, taken, percent, flag)


def validate_dispensing(d: Dispensing, *, today: date) -> None:
    """Raise :class:`DispensingError` if the dispensing record cannot be saved.

    Refused: a strength that is not a dose level (PROTOCOL.md "The trial"); no capsules; an
    expired lot; a date in the future; a return before the dispensing; more capsules returned
    than dispensed; a negative count; a return count without its date or the reverse.
    """
    if d.strength_mg not in P.DOSE_LEVELS_MG:
        levels = ", ".join(str(mg) for mg in P.DOSE_LEVELS_MG)
        raise DispensingError(
            "strength_mg",
            f"{d.strength_mg} mg is not a dose level of this protocol ({levels} mg).",
            code="not_a_dose_level",
        )
    if d.capsules <= 0:
        raise DispensingError(
            "capsules", "At least one capsule must be dispensed.", code="no_capsules"
        )
    if d.dispensed_on > today:
        raise DispensingError(
            "dispensed_on", "The dispensing date cannot be in the future.", code="future_date"
        )
    if d.expiry is not None and d.expiry < d.dispensed_on:
        raise DispensingError(
            "expiry",
            f"This lot expired on {d.expiry.isoformat()}, before it was dispensed: an expired "
            "lot cannot be dispensed.",
            code="expired_lot",
        )
    if d.returned_on is not None:
        if d.returned_on > today:
            raise DispensingError(
                "returned_on", "The return date cannot be in the future.", code="future_date"
            )
        if d.returned_on < d.dispensed_on:
            raise DispensingError(
                "returned_on",
                f"The return date cannot be before the dispensing date "
                f"({d.dispensed_on.isoformat()}).",
                code="before_dispensing",
            )
        if d.returned is None:
            raise DispensingError(
                "returned", "Enter the number of capsules returned.", code="returned_required"
            )
    elif d.returned is not None:
        raise DispensingError(
            "returned_on",
            "Enter the date the capsules were returned.",
            code="return_date_required",
        )
    if d.returned is not None:
        if d.returned < 0:
            raise DispensingError(
                "returned",
                "The number of capsules returned cannot be negative.",
                code="negative_count",
            )
        if d.returned > d.capsules:
            raise DispensingError(
                "returned",
                f"{d.returned} capsules returned, but only {d.capsules} were dispensed.",
                code="more_returned_than_dispensed",
            )
    if d.reported_missed is not None and d.reported_missed < 0:
        raise DispensingError(
            "reported_missed",
            "The number of doses reported missed cannot be negative.",
            code="negative_count",
        )


# --- Exposure -----------------------------------------------------------------------------------


def exposure(
    c1d1: date,
    events: Sequence[DoseEvent],
    until: date,
    *,
    allow_reescalation: bool = False,
    visit_dates: Mapping[int, date] | None = None,
) -> Exposure:
    """Summarise the exposure from C1D1 to ``until`` (or the day before the discontinuation).

    Cumulative mg = sum of the planned doses of ON days; planned dosing days = days 1-14 of the
    cycles started, as if never interrupted; duration = first to last dose inclusive. Cycles
    start on their CxD1 visit dates (``visit_dates``, :func:`dosing.calendar.cycle_starts`).
    """
    stops = [e.start for e in events if e.kind is EventKind.DISCONTINUATION]
    last = min([until, *(s - _ONE_DAY for s in stops)])
    if last >= c1d1:
        days = build_calendar(
            c1d1,
            events,
            c1d1,
            last,
            allow_reescalation=allow_reescalation,
            visit_dates=visit_dates,
        )
        cycles = cycle_starts(c1d1, events, last, visit_dates=visit_dates)
    else:
        days, cycles = [], []
    on_days = [c for c in days if c.kind is DayKind.ON]
    cumulative = sum(c.dose_mg for c in on_days)
    planned = sum(1 for c in cycles for dose_day in c.dose_days if dose_day <= last)
    first_dose = on_days[0].day if on_days else None
    last_dose = on_days[-1].day if on_days else None
    duration = (last_dose - first_dose).days + 1 if first_dose and last_dose else 0
    if planned:
        intensity = _ratio(cumulative, planned, _TWO_DECIMALS)
        relative = _ratio(cumulative, planned * P.START_DOSE_MG, _THREE_DECIMALS)
    else:
        intensity, relative = Decimal("0.00"), Decimal("0.000")
    recorded = sorted((e for e in events if e.start <= until), key=lambda e: e.start)
    reasons = tuple(dict.fromkeys(r for e in recorded if (r := e.reason.strip())))
    return Exposure(
        cycles_started=len(cycles),
        first_dose=first_dose,
        last_dose=last_dose,
        duration_days=duration,
        cumulative_mg=cumulative,
        planned_dosing_days=planned,
        dose_intensity_mg_per_day=intensity,
        relative_dose_intensity=relative,
        interruptions=sum(1 for e in recorded if e.kind is EventKind.INTERRUPTION),
        reductions=sum(1 for e in recorded if e.kind is EventKind.REDUCTION),
        reasons=reasons,
    )

"""Dosing calendar, dose modifications, drug accountability and exposure over the API.

The same access helper and services as the pages (``dosing.views``): a request body's typed
values go straight to the service, the one validation of each CRF (issue 11 A1), which checks
them against the model, the calendar and the accountability rules and names the field at
fault with a code (422). Everything derived (calendar days, capsules taken, compliance,
exposure) is computed from the stored records each time, as the pages do.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import ValidationError
from ninja import Field, Router, Schema, Status

from accounts.access import Action, get_scoped_or_404, require
from alter_s006 import protocol as P
from alter_s006.api_types import DATE_MAX, DATE_MIN, Date, In, Int, PathId, Query, QueryDate, Text
from alter_s006.web import subject_for
from dosing import services
from dosing.calendar import DayKind
from dosing.models import Dispensing, DoseEvent, Reason
from subjects.models import Subject

router = Router(tags=["dosing"])

MAX_CALENDAR_DAYS = 400  # rows of one calendar request: a bound on the response, not a rule
_NEXT_CYCLES_DAYS = 2 * P.CYCLE_LENGTH_DAYS  # default end: as far ahead as the page shows

_EVENT_KINDS = [k for k in DoseEvent.Kind.values if k != DoseEvent.Kind.REESCALATION]
_LEVELS = ", ".join(str(mg) for mg in P.DOSE_LEVELS_MG)
_FIRST_DATE = f"The first date (YYYY-MM-DD, {DATE_MIN} to {DATE_MAX})"
_LAST_DATE = f"The last date (YYYY-MM-DD, {DATE_MIN} to {DATE_MAX})"

# --- schemas --------------------------------------------------------------------------------


class CalendarDayOut(Schema):
    date: dt.date
    cycle: int | None = Field(
        ..., description="Null before C1D1, and after a discontinuation once its cycle is over"
    )
    cycle_day: int | None
    kind: DayKind = Field(
        ...,
        description=(
            "on (a dosing day), rest, interrupted, delayed (rest days added by a delay of the "
            "next cycle), discontinued or before_start"
        ),
    )
    dose_mg: int = Field(..., description="The dose planned that date; 0 when none is")


class DoseEventIn(In):
    kind: Text = Field(..., json_schema_extra={"enum": _EVENT_KINDS})
    start: Date = Field(..., description="From (a delay: the date it was decided)")
    end: Date | None = Field(
        None, description="Interruption only: last day without drug; null while open"
    )
    dose_mg: Int | None = Field(None, description=f"Reduction only: the new dose ({_LEVELS} mg)")
    cycle: Int | None = Field(None, description="Delay only: the cycle whose day 1 moves")
    days: Int | None = Field(None, description="Delay only: days of delay")
    reason: Text = Field(..., json_schema_extra={"enum": list(Reason.values)})
    detail: Text = Field(
        "",
        description=(
            "Notes (free text). The adverse event behind a toxicity modification is linked from "
            "the adverse event (its dose_event_id)."
        ),
    )


class DoseEventOut(Schema):
    id: int
    kind: str
    start: dt.date
    end: dt.date | None
    dose_mg: int | None
    cycle: int | None
    days: int | None
    reason: str
    detail: str
    recorded_by: str = Field(..., alias="recorded_by.username")
    recorded_at: dt.datetime = Field(..., alias="created_at")
    version: int


class DispensingIn(In):
    dispensed_on: Date
    strength_mg: Int = Field(
        ..., description="Capsule strength", json_schema_extra={"enum": list(P.DOSE_LEVELS_MG)}
    )
    lot_number: Text
    expiry: Date
    capsules: Int = Field(..., description="Capsules dispensed (one capsule per dose)")


class ReturnIn(In):
    version: Int = Field(..., description="The version you read")
    returned_on: Date
    returned: Int = Field(..., description="Capsules brought back")
    reported_missed: Int | None = Field(None, description="Missed doses the patient reports")
    reason: Text = Field("", description="Reason for change: required to correct a return")


class ComplianceOut(Schema):
    period_start: dt.date = Field(..., description="The dispensing date")
    period_end: dt.date = Field(..., description="The day before the return")
    planned_doses: int = Field(..., description="Dosing days at this strength in the period")
    capsules_taken: int
    percent: Decimal = Field(..., description="100 × taken / planned, 1 decimal")
    flag: str = Field(
        ...,
        description=f"low (< {P.COMPLIANCE_LOW_PERCENT} %), high (> {P.COMPLIANCE_HIGH_PERCENT} %) "
        "or empty",
    )


class DispensingOut(Schema):
    id: int
    dispensed_on: dt.date
    strength_mg: int
    lot_number: str
    expiry: dt.date
    capsules: int
    returned_on: dt.date | None
    returned: int | None
    reported_missed: int | None
    capsules_taken: int | None = Field(..., description="Dispensed − returned, once returned")
    compliance: ComplianceOut | None = Field(..., description="Null until the return is counted")
    version: int


class ExposureOut(Schema):
    as_of: dt.date = Field(..., description="The site's today")
    cycles_started: int
    first_dose: dt.date | None
    last_dose: dt.date | None
    duration_days: int = Field(..., description="First to last dose, inclusive")
    cumulative_mg: int = Field(..., description="Sum of the planned doses of the dosing days")
    planned_dosing_days: int = Field(
        ...,
        description=f"Days {P.DOSING_DAYS[0]}-{P.DOSING_DAYS[1]} of the cycles started, as if "
        "never interrupted",
    )
    dose_intensity_mg_per_day: Decimal = Field(..., description="Cumulative mg / planned days")
    relative_dose_intensity: Decimal = Field(
        ..., description=f"Cumulative mg / (planned days × {P.START_DOSE_MG} mg)"
    )
    interruptions: int
    reductions: int
    reasons: list[str] = Field(..., description="Reasons of the events so far, each once")
    current_dose_mg: int | None = Field(
        ..., description="Dose level in force today (0 once discontinued); null before C1D1"
    )
    next_diary_cycle: int | None = Field(
        ..., description="The cycle the next patient diary covers (the next to start)"
    )
    next_diary_cycle_day1: dt.date | None = Field(
        ...,
        description=(
            "Its day 1: the date of its CxD1 visit, actual once done, else planned (the visit "
            "schedule's target)"
        ),
    )


# --- helpers --------------------------------------------------------------------------------


def _calendar_range(
    subject: Subject, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    """Return the dates asked for, or refuse them (422 on ``end``).

    Defaults, kept within ``MAX_CALENDAR_DAYS``: a missing end is six weeks past today (as far
    as the page's cycle view reaches), a missing start is C1D1 (today without one).
    """
    today = subject.site.today()
    longest = dt.timedelta(days=MAX_CALENDAR_DAYS - 1)
    if end is None:
        end = max(today, start or subject.c1d1_date or today) + dt.timedelta(_NEXT_CYCLES_DAYS)
        if start is not None:
            end = min(end, start + longest)
    if start is None:
        start = min(max(subject.c1d1_date or today, end - longest), end)
    if end < start:
        message = f"The end ({end}) cannot be before the start ({start})."
        raise ValidationError({"end": ValidationError(message, code="end_before_start")})
    if (end - start).days + 1 > MAX_CALENDAR_DAYS:
        message = f"Ask for at most {MAX_CALENDAR_DAYS} days at a time."
        raise ValidationError({"end": ValidationError(message, code="range_too_long")})
    return start, end


_DISPENSING_FIELDS = [
    "id",
    "dispensed_on",
    "strength_mg",
    "lot_number",
    "expiry",
    "capsules",
    "returned_on",
    "returned",
    "reported_missed",
    "version",
]


def _dispensings_out(subject: Subject) -> list[dict]:
    rows = []
    for row, taken, result in services.compliance_rows(subject):
        compliance = None
        if result is not None:
            compliance = {
                "period_start": result.period_start,
                "period_end": result.period_end,
                "planned_doses": result.planned_doses,
                "capsules_taken": result.capsules_taken,
                "percent": result.percent,
                "flag": result.flag,
            }
        rows.append(
            {
                **{f: getattr(row, f) for f in _DISPENSING_FIELDS},
                "capsules_taken": taken,
                "compliance": compliance,
            }
        )
    return rows


def _exposure_out(subject: Subject) -> dict:
    today = subject.site.today()
    summary = services.exposure_for(subject)
    cycle = services.diary_cycle(subject)
    body = {
        "as_of": today,
        "current_dose_mg": None,
        "next_diary_cycle": cycle.number if cycle else None,
        "next_diary_cycle_day1": cycle.day1 if cycle else None,
    }
    if summary is None:  # no C1D1 yet: nothing taken
        return {
            **body,
            "cycles_started": 0,
            "first_dose": None,
            "last_dose": None,
            "duration_days": 0,
            "cumulative_mg": 0,
            "planned_dosing_days": 0,
            "dose_intensity_mg_per_day": Decimal("0.00"),
            "relative_dose_intensity": Decimal("0.000"),
            "interruptions": 0,
            "reductions": 0,
            "reasons": [],
        }
    return {
        **body,
        "cycles_started": summary.cycles_started,
        "first_dose": summary.first_dose,
        "last_dose": summary.last_dose,
        "duration_days": summary.duration_days,
        "cumulative_mg": summary.cumulative_mg,
        "planned_dosing_days": summary.planned_dosing_days,
        "dose_intensity_mg_per_day": summary.dose_intensity_mg_per_day,
        "relative_dose_intensity": summary.relative_dose_intensity,
        "interruptions": summary.interruptions,
        "reductions": summary.reductions,
        "reasons": list(summary.reasons),
        "current_dose_mg": services.current_dose(subject),
    }


# --- endpoints ------------------------------------------------------------------------------


@router.get(
    "/subjects/{subject_id}/dosing/calendar",
    response=list[CalendarDayOut],
    summary="The dosing calendar: one row per date, with cycle, cycle day, kind and dose",
    description=(
        f"At most {MAX_CALENDAR_DAYS} dates per request (422 on `end` beyond, or if `end` is "
        "before `start`). Without `start`: from C1D1; without `end`: six weeks past the "
        "site's today. Empty for a subject without C1D1. Each cycle starts on its CxD1 visit "
        "date (actual once the visit is done, else its planned target), as the visit schedule "
        "plans it; days a cycle waits for a late visit are `delayed`."
    ),
)
def dosing_calendar(
    request,
    subject_id: PathId,
    start: Annotated[QueryDate | None, Query(None, description=_FIRST_DATE)] = None,
    end: Annotated[QueryDate | None, Query(None, description=_LAST_DATE)] = None,
):
    subject = subject_for(request.auth, subject_id)
    start, end = _calendar_range(subject, start, end)
    return [
        {
            "date": d.day,
            "cycle": d.cycle,
            "cycle_day": d.cycle_day,
            "kind": d.kind,
            "dose_mg": d.dose_mg,
        }
        for d in services.calendar_for(subject, start, end)
    ]


@router.get(
    "/subjects/{subject_id}/dosing/modifications",
    response=list[DoseEventOut],
    summary="Dose modifications recorded (interruptions, reductions, delays, discontinuation)",
)
def list_dose_modifications(request, subject_id: PathId):
    subject = subject_for(request.auth, subject_id)
    return subject.dose_events.select_related("recorded_by")


@router.post(
    "/subjects/{subject_id}/dosing/modifications",
    response={201: DoseEventOut},
    summary="Record a dose modification",
    description=(
        "Checked against the calendar like the dosing page: not before C1D1, not in the "
        "future, one dose level down at a time, no overlapping interruptions, nothing after a "
        "discontinuation, only a cycle not yet started can be delayed. A refusal is 422 on "
        "the field at fault and stores nothing. A delay moves the later cycle visits."
    ),
)
def add_dose_modification(request, subject_id: PathId, payload: DoseEventIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    event = services.add_event(subject=subject, by=request.auth, **payload.dict())
    return Status(201, DoseEvent.objects.select_related("recorded_by").get(pk=event.pk))


@router.get(
    "/subjects/{subject_id}/dosing/dispensings",
    response=list[DispensingOut],
    summary="Drug accountability: dispensings, returns, capsules taken and compliance",
)
def list_dispensings(request, subject_id: PathId):
    return _dispensings_out(subject_for(request.auth, subject_id))


@router.post(
    "/subjects/{subject_id}/dosing/dispensings",
    response={201: DispensingOut},
    summary="Record capsules dispensed",
    description=(
        "Refused (422): a strength that is not a dose level, a date in the future, a lot "
        "that expired before the dispensing date."
    ),
)
def add_dispensing(request, subject_id: PathId, payload: DispensingIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    row = services.record_dispensing(subject=subject, by=request.auth, **payload.dict())
    return Status(201, next(r for r in _dispensings_out(subject) if r["id"] == row.pk))


@router.patch(
    "/dispensings/{dispensing_id}",
    response=DispensingOut,
    summary="Record the return of a dispensing (version required; reason to correct one)",
    description=(
        "Refused (422): more capsules back than dispensed, a return before the dispensing or "
        "in the future; correcting a recorded return without `reason`. 409 if the record "
        "changed since you read `version`."
    ),
)
def record_return(request, dispensing_id: PathId, payload: ReturnIn):
    row = get_scoped_or_404(
        Dispensing.objects.select_related("subject__site"),
        request.auth,
        site_path="subject__site",
        pk=dispensing_id,
    )
    require(request.auth, Action.ENTER_DATA, row.subject.site_id)
    services.record_return(
        dispensing=row,
        expected_version=payload.version,
        by=request.auth,
        returned_on=payload.returned_on,
        returned=payload.returned,
        reported_missed=payload.reported_missed,
        reason=payload.reason,
    )
    return next(r for r in _dispensings_out(row.subject) if r["id"] == row.pk)


@router.get(
    "/subjects/{subject_id}/dosing/exposure",
    response=ExposureOut,
    summary="Exposure so far: cycles, cumulative dose, dose intensity, modifications",
)
def dosing_exposure(request, subject_id: PathId):
    return _exposure_out(subject_for(request.auth, subject_id))

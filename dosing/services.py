"""Write paths and selectors of dosing: modifications, calendar, diary, accountability, exposure.

Each write path is the one validation of its CRF, for the pages and the API alike (issue 11
A1): it takes typed Python values and raises a field-keyed ``ValidationError`` whose every
error has a ``code`` — first the model's own checks (``full_clean``: choices, required,
bounds), then the clinical ones of the pure modules (``dosing.calendar.validate_event``,
``dosing.exposure.validate_dispensing``: ``before_c1d1``, ``future_date``,
``not_one_level_down``, ``overlaps_interruption``, ``more_returned_than_dispensed`` …).
Nothing is stored when anything is refused.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from alter_s006 import protocol as P
from alter_s006.edit_check_sets import sync_set
from audit.context import audit_context, lock_audit_chain
from dosing import calendar, exposure
from dosing import edit_checks as checks
from dosing.models import Dispensing, DoseEvent
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject

# Sent inside the writing transaction after a dose modification is stored (``event=``), so
# other apps (safety: the AE <-> dose-modification edit check) react without dosing
# importing them.
dose_event_recorded = Signal()

RECORDABLE = {S.ON_TREATMENT, S.OFF_TREATMENT}
AUDIT_LABELS = {
    "interruption": "Interruption",
    "reduction": "Dose reduction",
    "delay": "Cycle delay",
    "discontinuation": "Permanent discontinuation",
    "reescalation": "Re-escalation",
}


def to_pure(event: DoseEvent) -> calendar.DoseEvent:
    return calendar.DoseEvent(
        kind=calendar.EventKind(event.kind),
        start=event.start,
        end=event.end,
        dose_mg=event.dose_mg,
        cycle=event.cycle,
        days=event.days,
        reason=event.reason,
    )


def events_for(subject: Subject) -> list[calendar.DoseEvent]:
    return [to_pure(e) for e in subject.dose_events.all()]


def visit_dates(subject: Subject) -> dict[int, dt.date]:
    """The actual CxD1 visit dates the cycles start on (PROTOCOL.md "Schedule"): the calendar,
    the diary and the exposure start each cycle where the visit schedule does."""
    from subjects.services import cycle_visit_dates

    return cycle_visit_dates(subject)


def _c1d1(subject: Subject) -> dt.date:
    if subject.c1d1_date is None or subject.status not in RECORDABLE:
        raise ValidationError(
            _("Dosing is recorded from the first dose (status on treatment) onwards."),
            code="not_on_treatment",
        )
    return subject.c1d1_date


def _refused(exc: calendar.CalendarError | exposure.DispensingError) -> ValidationError:
    """A pure module's refusal as the field-keyed ValidationError of the service."""
    return ValidationError({exc.field: ValidationError(exc.message, code=exc.code)})


def add_event(
    *,
    subject: Subject,
    by,
    kind: str,
    start: dt.date,
    reason: str,
    end: dt.date | None = None,
    dose_mg: int | None = None,
    cycle: int | None = None,
    days: int | None = None,
    detail: str = "",
) -> DoseEvent:
    """Record a dose modification after checking it against the calendar (nothing stored if not).

    ``detail`` is free text (notes); the adverse event behind a toxicity modification is linked
    from the AE (``safety.AdverseEvent.dose_event``).
    """
    c1d1 = _c1d1(subject)
    with transaction.atomic():
        lock_audit_chain(subject)
        locked = Subject.objects.select_for_update().get(pk=subject.pk)
        event = DoseEvent(
            subject=locked,
            kind=kind,
            start=start,
            end=end,
            dose_mg=dose_mg,
            cycle=cycle,
            days=days,
            reason=reason,
            detail=(detail or "").strip(),
            recorded_by=by,
        )
        event.full_clean()  # choices first: the calendar reads only kinds it knows
        new = calendar.DoseEvent(
            kind=calendar.EventKind(kind),
            start=start,
            end=end,
            dose_mg=dose_mg,
            cycle=cycle,
            days=days,
            reason=reason,
        )
        try:
            calendar.validate_event(
                c1d1,
                events_for(locked),
                new,
                today=locked.site.today(),
                allow_reescalation=P.ALLOW_REESCALATION,
                visit_dates=visit_dates(locked),
            )
        except calendar.CalendarError as exc:
            raise _refused(exc) from exc
        # the trail reads the same in every language: the reason is written in English
        with audit_context(user=by, reason=f"{AUDIT_LABELS[kind]}: {reason}"):
            event.save()
            if kind == DoseEvent.Kind.DELAY:  # later cycle visits follow; the TA grid does not
                from subjects.services import sync_schedule

                sync_schedule(locked)
            dose_event_recorded.send(sender=DoseEvent, event=event)
            if locked.dispensings.filter(returned_on__isnull=False).exists():
                # the doses planned while a returned bottle was out may have changed
                sync_compliance_checks(locked)
    # a dispensing inside a dose interruption is a protocol deviation (issue 13)
    from logs.services import sync_deviations

    sync_deviations(event.subject)
    return event


def events_with_adverse_events(subject: Subject):
    """The subject's dose modifications, each with the adverse events linked to it
    (``event.adverse_events``: safety's ``AdverseEvent.dose_event``) and their terms, in a
    fixed number of queries whatever the number of rows."""
    return subject.dose_events.select_related("recorded_by").prefetch_related(
        "adverse_events__term"
    )


def calendar_events(subject: Subject) -> list[calendar.DoseEvent]:
    """The dose events the calendar and the diary plan from: once treatment has stopped
    (``Subject.last_dose_date``, set by the end of treatment through ``change_status``), a
    discontinuation the day after the last dose ends it, so no dosing day follows the last
    dose (an earlier discontinuation recorded stays the one that counts)."""
    events = events_for(subject)
    if subject.last_dose_date is not None:
        stop = subject.last_dose_date + dt.timedelta(days=1)
        events.append(calendar.DoseEvent(kind=calendar.EventKind.DISCONTINUATION, start=stop))
    return events


def calendar_for(subject: Subject, start: dt.date, end: dt.date) -> list[calendar.CalendarDay]:
    if subject.c1d1_date is None:
        return []
    return calendar.build_calendar(
        subject.c1d1_date,
        calendar_events(subject),
        start,
        end,
        allow_reescalation=P.ALLOW_REESCALATION,
        visit_dates=visit_dates(subject),
    )


def current_dose(subject: Subject) -> int | None:
    """The dose level in force today (None before the first dose)."""
    if subject.c1d1_date is None:
        return None
    return calendar.current_dose(
        subject.c1d1_date,
        events_for(subject),
        subject.site.today(),
        allow_reescalation=P.ALLOW_REESCALATION,
    )


def diary_cycle(subject: Subject) -> calendar.Cycle | None:
    """The cycle the patient's next diary covers: the next to start (today included).

    It starts on its CxD1 visit's date, as the visit schedule plans it (PROTOCOL.md
    "Schedule"): the diary never tells a patient to start a cycle before its visit."""
    if subject.c1d1_date is None:
        return None
    today = subject.site.today()
    events = calendar_events(subject)
    cycles = calendar.cycle_starts(
        subject.c1d1_date,
        events,
        today + dt.timedelta(days=60),
        visit_dates=visit_dates(subject),
    )
    for cycle in cycles:
        if cycle.day1 >= today:
            return cycle
    return None


def record_dispensing(
    *,
    subject: Subject,
    by,
    dispensed_on: dt.date,
    strength_mg: int,
    lot_number: str,
    expiry: dt.date,
    capsules: int,
) -> Dispensing:
    """Record capsules dispensed: the model's checks, then ``exposure.validate_dispensing``."""
    _c1d1(subject)
    row = Dispensing(
        subject=subject,
        dispensed_on=dispensed_on,
        strength_mg=strength_mg,
        lot_number=(lot_number or "").strip(),
        expiry=expiry,
        capsules=capsules,
    )
    row.full_clean()
    pure = exposure.Dispensing(
        dispensed_on=dispensed_on, strength_mg=strength_mg, capsules=capsules, expiry=expiry
    )
    _validate_dispensing(pure, subject)
    with transaction.atomic(), audit_context(user=by, reason="Dispensed", subject=subject):
        row.save()
    # a dispensing inside a dose interruption is a protocol deviation (issue 13)
    from logs.services import sync_deviations

    sync_deviations(row.subject)
    return row


def _validate_dispensing(pure: exposure.Dispensing, subject: Subject) -> None:
    try:
        exposure.validate_dispensing(pure, today=subject.site.today())
    except exposure.DispensingError as exc:
        raise _refused(exc) from exc


def compliance_rows(subject: Subject):
    """(dispensing, capsules taken, compliance) per dispensing, computed from the calendar."""
    rows = []
    dispensings = list(subject.dispensings.all())
    if not dispensings or subject.c1d1_date is None:
        return [(d, None, None) for d in dispensings]
    start = min([subject.c1d1_date] + [d.dispensed_on for d in dispensings])
    end = max((d.returned_on or d.dispensed_on) for d in dispensings)
    days = calendar_for(subject, start, end)
    for d in dispensings:
        pure = exposure.Dispensing(
            dispensed_on=d.dispensed_on,
            strength_mg=d.strength_mg,
            capsules=d.capsules,
            returned_on=d.returned_on,
            returned=d.returned,
            reported_missed=d.reported_missed,
            expiry=d.expiry,
        )
        rows.append((d, exposure.capsules_taken(pure), exposure.compliance(pure, days)))
    return rows


def exposure_for(subject: Subject, *, events=None, cycle_dates=None):
    """Exposure from C1D1 to today at the site, or to the last dose recorded at stop.

    ``events`` (the subject's DoseEvent rows) and ``cycle_dates`` (``visit_dates``) when the
    caller read them for many subjects at once (the exports); else one query each."""
    if subject.c1d1_date is None:
        return None
    until = subject.site.today()
    if subject.last_dose_date is not None:
        until = min(until, subject.last_dose_date)
    return exposure.exposure(
        subject.c1d1_date,
        [to_pure(e) for e in events] if events is not None else events_for(subject),
        until,
        allow_reescalation=P.ALLOW_REESCALATION,
        visit_dates=cycle_dates if cycle_dates is not None else visit_dates(subject),
    )


def last_dose(subject: Subject, exposure_summary=None) -> dt.date | None:
    """The subject's last dose — one answer for every page and export.

    The date recorded when treatment stopped (it drives end of treatment, the safety
    follow-up and the AE reporting window); while on treatment, the calendar's latest
    dosing day so far. Pass ``exposure_summary`` when the caller has it already.
    """
    if subject.last_dose_date is not None:
        return subject.last_dose_date
    summary = exposure_summary if exposure_summary is not None else exposure_for(subject)
    return summary.last_dose if summary else None


def sync_compliance_checks(subject: Subject) -> None:
    """A returned bottle's compliance below ``P.COMPLIANCE_LOW_PERCENT`` or above
    ``P.COMPLIANCE_HIGH_PERCENT`` (``exposure.compliance`` flags it) keeps a system query open
    on the dispensing, closed once it is back in range; in the caller's transaction and audit
    context."""
    check = checks.COMPLIANCE
    failing = {}
    for dispensing, _taken, result in compliance_rows(subject):
        if result is not None and result.flag:
            text = check.text(
                dispensed=dispensing.dispensed_on.isoformat(),
                percent=result.percent,
                taken=result.capsules_taken,
                planned=result.planned_doses,
                until=result.period_end.isoformat(),
                low=P.COMPLIANCE_LOW_PERCENT,
                high=P.COMPLIANCE_HIGH_PERCENT,
            )
            failing[(dispensing.pk, check.id)] = (dispensing, check, text)
    sync_set(subject=subject, model=Dispensing, definitions=[check], failing=failing)


def record_return(
    *,
    dispensing: Dispensing,
    expected_version: int,
    by,
    returned_on,
    returned: int,
    reported_missed: int | None,
    reason: str = "",
) -> Dispensing:
    """Record the capsules brought back; a correction of a recorded return needs a reason.

    Refused, in the order the page has always shown: the model's checks (a negative count),
    a correction without a reason (``required``), then ``exposure.validate_dispensing``
    (``more_returned_than_dispensed``, ``before_dispensing``, ``future_date`` …).
    """
    from audit.versioning import require_reason, save_versioned

    changes = {"returned_on": returned_on, "returned": returned, "reported_missed": reported_missed}
    candidate = Dispensing.objects.get(pk=dispensing.pk)
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.full_clean()
    first = dispensing.returned_on is None
    reason = "Capsules returned" if first and not (reason or "").strip() else require_reason(reason)
    pure = exposure.Dispensing(
        dispensed_on=dispensing.dispensed_on,
        strength_mg=dispensing.strength_mg,
        capsules=dispensing.capsules,
        returned_on=returned_on,
        returned=returned,
        reported_missed=reported_missed,
        expiry=dispensing.expiry,
    )
    _validate_dispensing(pure, dispensing.subject)
    with transaction.atomic():
        saved = save_versioned(
            dispensing,
            expected_version=expected_version,
            by=by,
            reason=reason,
            changes=changes,
        )
        with audit_context(user=by, reason=reason, subject=saved.subject):
            sync_compliance_checks(saved.subject)
    return saved

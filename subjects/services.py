"""The write paths of the subjects app: register, correct, move through the lifecycle, visits.

Views, API endpoints, commands and tasks call these functions; nothing else writes
subjects or visits. Each runs in one transaction with the actor and reason named to
the audit triggers.

Each function is also the one validation of its CRF (issue 11 A1): it takes typed Python
values (the page form only parses the browser's strings, the API passes its payload's values)
and raises a field-keyed ``ValidationError`` whose every error has a ``code`` — the model's
own checks through ``full_clean``, the clinical ones from ``subjects.validation`` and
``subjects.lifecycle``.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.dispatch import Signal
from django.utils.translation import gettext as _

from accounts.models import Site
from alter_s006 import protocol as P
from alter_s006.edit_check_sets import sync_set
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason, save_versioned
from queries.services import close_checks
from subjects import edit_checks as checks
from subjects import lifecycle, schedule, validation
from subjects.models import StatusChange, Subject, Visit

S = lifecycle.SubjectStatus
# Sent by change_status inside its transaction and audit context (kwargs: subject). Apps that
# derive data from the status connect here (safety re-flags AEs against the reporting window),
# so this module never imports them: dependencies point from those apps to subjects.
status_changed = Signal()
# Sent by correct_subject inside its transaction (kwargs: subject, changed — the field names
# whose value changed): safety checks the AEs again when the consent date moves.
subject_corrected = Signal()
# Reasons the system writes itself are stored in English whatever the user's language:
# the audit trail reads the same for every reader and regulator.

DEMOGRAPHIC_FIELDS = (
    "sex",
    "date_of_birth",
    "year_of_birth",
    "initials",
    "consent_date",
    "consent_version",
)


def _next_number(site: Site, field: str, template: str) -> str:
    """Next site-prefixed number; the caller holds the site row lock."""
    used = Subject.objects.filter(site=site).exclude(**{f"{field}__isnull": True}).count()
    return template.format(site=site.code, n=used + 1)


def _normalised(changes: dict) -> dict:
    """Initials are stored in capitals, however typed ("zwl" is ZWL)."""
    if isinstance(changes.get("initials"), str):
        return {**changes, "initials": changes["initials"].strip().upper()}
    return changes


# Longest free-text reason of a status change (the page's field, the API's check).
REASON_MAX_LENGTH = 500


@transaction.atomic
def register_subject(
    *,
    site: Site | None,
    by,
    sex: str,
    initials: str,
    consent_date: dt.date,
    consent_version: str,
    date_of_birth: dt.date | None = None,
    year_of_birth: int | None = None,
) -> Subject:
    """Register a subject in screening with a generated, site-prefixed screening number.

    ``site`` None: the site asked for is unknown or not the user's (``unknown_site``).
    """
    if site is None:
        raise ValidationError(
            {"site": ValidationError(validation.UNKNOWN_SITE, code="unknown_site")}
        )
    demographics = _normalised(
        {
            "sex": sex,
            "date_of_birth": date_of_birth,
            "year_of_birth": year_of_birth,
            "initials": initials,
            "consent_date": consent_date,
            "consent_version": consent_version,
        }
    )
    lock_audit_chain()  # before the row lock: one lock order for every writer
    site = Site.objects.select_for_update().get(pk=site.pk, is_active=True)
    subject = Subject(
        site=site,
        status=S.SCREENING,
        status_date=consent_date,
        created_by=by,
        screening_number=_next_number(site, "screening_number", "{site}-S{n:03d}"),
        **demographics,
    )
    subject.full_clean()  # the model's field checks and validation.validate_demographics
    with audit_context(user=by, reason=""):
        subject.save()
        StatusChange.objects.create(
            subject=subject,
            from_status="",
            to_status=S.SCREENING,
            on_date=subject.consent_date,
            by=by,
            reason="",
        )
        _create_visits(subject, [schedule.screening_period(subject.consent_date)])
    return subject


def correct_subject(*, subject: Subject, expected_version: int, changes: dict, by, reason: str):
    """Correct a registered subject's demographics (reason required, version checked).

    ``changes`` names only the fields changed (others keep their stored value); the whole
    record is checked again (``full_clean``: validation.validate_demographics).
    """
    unknown = set(changes) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %s") % ", ".join(sorted(unknown)),
            code="not_editable",
        )
    changes = _normalised(changes)
    # Demographics feed I02 and I09: a signed eligibility verdict no longer covers them.
    from eligibility.services import void_stale_signatures

    stored = Subject.objects.get(pk=subject.pk)
    changed = sorted(name for name, value in changes.items() if getattr(stored, name) != value)
    with transaction.atomic():
        saved = save_versioned(
            subject, expected_version=expected_version, changes=changes, by=by, reason=reason
        )
        void_stale_signatures(saved, by=by, why=", ".join(changed))
        if changed:
            subject_corrected.send(sender=Subject, subject=saved, changed=changed)
    return saved


def change_status(
    *,
    subject: Subject,
    target: str,
    on_date: dt.date,
    reason: str,
    by,
    expected_version: int,
    c1d1: dt.date | None = None,
    last_dose: dt.date | None = None,
) -> Subject:
    """Move a subject one step through the lifecycle, dated, and re-plan its visits.

    Refused, keyed by this function's arguments (the lifecycle's and eligibility's "status" is
    ``target`` here), with codes: an unknown status (``unknown_status``), what
    ``subjects.lifecycle`` refuses (its codes), a reason over ``REASON_MAX_LENGTH``
    (``max_length``), enrolment without a signed eligible verdict (eligibility's check) or
    without C1D1, a stop without its last dose (``subjects.validation``).
    """
    try:
        return _change_status(
            subject=subject,
            target=target,
            on_date=on_date,
            reason=(reason or "").strip(),
            by=by,
            expected_version=expected_version,
            c1d1=c1d1,
            last_dose=last_dose,
        )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict") or "status" not in exc.error_dict:
            raise
        errors = {"target" if f == "status" else f: e for f, e in exc.error_dict.items()}
        raise ValidationError(errors) from exc


def _change_status(*, subject, target, on_date, reason, by, expected_version, c1d1, last_dose):
    try:
        target = S(target)
    except ValueError as exc:
        message = _("“%(value)s” is not a subject status.") % {"value": target}
        raise ValidationError({"status": ValidationError(message, code="unknown_status")}) from exc
    try:
        MaxLengthValidator(REASON_MAX_LENGTH)(reason)  # Django's message, as the page field's
    except ValidationError as exc:
        raise ValidationError({"reason": exc}) from exc
    with transaction.atomic():
        lock_audit_chain(subject)  # before the row lock: one lock order for every writer
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        if locked.version != expected_version:
            raise EditConflict(
                current=locked,
                submitted={"status": target.value},
                expected_version=expected_version,
            )
        try:
            lifecycle.check_transition(
                current=locked.lifecycle_status,
                target=target,
                on_date=on_date,
                reason=reason,
                last_change=locked.status_date,
                today=locked.site.today(),
            )
        except lifecycle.TransitionError as exc:
            raise ValidationError({exc.field: ValidationError(exc.message, code=exc.code)}) from exc
        updates = _status_side_effects(locked, target, on_date, c1d1, last_dose)
        with audit_context(user=by, reason=reason or f"Status: {lifecycle.LABELS[target]}"):
            Subject.objects.filter(pk=locked.pk).update(
                status=target,
                status_date=on_date,
                version=F("version") + 1,
                updated_at=Now(),
                **updates,
            )
            StatusChange.objects.create(
                subject=locked,
                from_status=locked.status,
                to_status=target,
                on_date=on_date,
                reason=reason,
                by=by,
            )
            locked.refresh_from_db()
            sync_schedule(locked)
            status_changed.send(sender=Subject, subject=locked)
    return locked


def _status_side_effects(subject, target, on_date, c1d1, last_dose) -> dict:
    """Validate and return the extra columns a transition sets."""
    if target == S.ENROLLED:
        # PROTOCOL.md Eligibility: only with an investigator-signed eligible verdict.
        from eligibility.services import assert_enrolable

        c1d1 = assert_enrolable(subject, on_date=on_date, c1d1=c1d1)
        validation.validate_enrolment({"on_date": on_date, "c1d1": c1d1})
        site = Site.objects.select_for_update().get(pk=subject.site_id)
        return {
            "c1d1_date": c1d1,
            "subject_number": _next_number(site, "subject_number", "{site}-{n:03d}"),
        }
    if target == S.ON_TREATMENT:
        return {"c1d1_date": on_date}  # the first dose is cycle 1 day 1
    if target == S.OFF_TREATMENT:
        validation.validate_stop(
            {"on_date": on_date, "last_dose": last_dose}, c1d1_date=subject.c1d1_date
        )
        return {"last_dose_date": last_dose}
    return {}


# Statuses after treatment has stopped (the cycles end) and after the study has ended.
TREATMENT_STOPPED = frozenset({S.OFF_TREATMENT, S.IN_FOLLOW_UP, S.COMPLETED, S.WITHDRAWN, S.DIED})
LEFT_STUDY = frozenset({S.WITHDRAWN, S.DIED})


def plan_for(subject: Subject, visits: list[Visit]) -> list[schedule.PlannedVisit]:
    """The visits the protocol plans for this subject now (pure schedule rules)."""
    plan = [v.planned for v in visits if v.kind == schedule.VisitKind.SCREENING]
    if subject.c1d1_date is None:
        return plan
    status = subject.lifecycle_status
    recorded = {v.code for v in visits if v.actual_date or v.missed}
    actual = {
        v.number: v.actual_date
        for v in visits
        if v.kind == schedule.VisitKind.CYCLE and v.actual_date
    }
    cycles = schedule.cycle_visits(subject.c1d1_date, actual, delays=_cycle_delays(subject))
    if status in TREATMENT_STOPPED:
        # Cycles end on the day treatment stopped, not on a later status date (going
        # into follow-up must not bring back the cycles dropped at the decision).
        stop = _decision_date(subject)
        cycles = [c for c in cycles if c.code in recorded or c.target <= stop]
    plan += cycles + schedule.assessment_visits(subject.c1d1_date)
    if subject.last_dose_date and status in TREATMENT_STOPPED:
        plan.append(schedule.end_of_treatment_visit(stop))
        plan.append(schedule.safety_follow_up_visit(subject.last_dose_date))
        plan += schedule.survival_follow_up_visits(subject.c1d1_date, subject.last_dose_date)
    if status in LEFT_STUDY:
        # Nothing is planned after withdrawal or death; visits due before it stay, to be
        # recorded or marked missed.
        plan = [p for p in plan if p.code in recorded or p.target <= subject.status_date]
    return plan


def cycle_visit_dates(subject: Subject) -> dict[int, dt.date]:
    """The actual date of each CxD1 visit done (cycle number -> date), in one query.

    A cycle starts on its CxD1 visit date (PROTOCOL.md "Schedule";
    ``schedule.iter_cycle_starts``): the dosing calendar and the patient diary read these with
    the dose events' delays, as :func:`plan_for` does for the visits, so both agree.
    """
    return dict(
        Visit.objects.filter(
            subject=subject, kind=schedule.VisitKind.CYCLE, actual_date__isnull=False
        ).values_list("number", "actual_date")
    )


def _cycle_delays(subject: Subject) -> dict[int, int]:
    """Days each cycle's day 1 was delayed by a dosing decision (dosing app)."""
    from dosing.models import DoseEvent

    delays: dict[int, int] = {}
    for cycle, days in DoseEvent.objects.filter(subject=subject, kind="delay").values_list(
        "cycle", "days"
    ):
        delays[cycle] = delays.get(cycle, 0) + days
    return delays


def _decision_date(subject: Subject) -> dt.date:
    """The day treatment stopped: the off-treatment decision, else the latest status date."""
    change = subject.status_changes.filter(to_status=S.OFF_TREATMENT).order_by("-on_date").first()
    return change.on_date if change else subject.status_date


def sync_schedule(subject: Subject) -> None:
    """Bring the stored visits in line with the plan; recorded visits are never touched."""
    visits = list(subject.visits.all())
    by_code = {v.code: v for v in visits}
    plan = {p.code: p for p in plan_for(subject, visits)}
    to_create, to_update = [], []
    for code, p in plan.items():
        v = by_code.get(code)
        if v is None:
            to_create.append(p)
        elif (
            v.actual_date is None
            and not v.missed
            and ((v.target_date, v.earliest, v.latest) != (p.target, p.earliest, p.latest))
        ):
            v.target_date, v.earliest, v.latest = p.target, p.earliest, p.latest
            to_update.append(v)
    stale = [v.pk for v in visits if v.code not in plan and not v.actual_date and not v.missed]
    if stale:
        Visit.objects.filter(pk__in=stale).delete()
    if to_update:
        Visit.objects.bulk_update(to_update, ["target_date", "earliest", "latest"])
    _create_visits(subject, to_create)


def _create_visits(subject: Subject, planned: list[schedule.PlannedVisit]) -> None:
    Visit.objects.bulk_create(
        Visit(
            subject=subject,
            kind=p.kind,
            number=p.number,
            code=p.code,
            target_date=p.target,
            earliest=p.earliest,
            latest=p.latest,
        )
        for p in planned
    )


def _check_cycle_order(visit: Visit, actual_date: dt.date | None) -> None:
    """Refuse a CxD1 date that cannot start its cycle (``schedule.cycle_visit_date_bounds``)."""
    subject = visit.subject
    if actual_date is None or visit.kind != schedule.VisitKind.CYCLE or not subject.c1d1_date:
        return
    lower, upper = schedule.cycle_visit_date_bounds(
        subject.c1d1_date, cycle_visit_dates(subject), _cycle_delays(subject), visit.number
    )
    if actual_date <= lower:
        if visit.number == 1:
            message = _(
                "Cycle 1 day 1 cannot be %(days)s days or more before the first dose (%(c1d1)s)."
            ) % {"days": P.CYCLE_LENGTH_DAYS, "c1d1": subject.c1d1_date.isoformat()}
        else:
            message = _(
                "Cycle %(number)s cannot start on or before cycle %(previous)s (started %(date)s)."
            ) % {
                "number": visit.number,
                "previous": visit.number - 1,
                "date": lower.isoformat(),
            }
    elif upper is not None and actual_date >= upper:
        message = _(
            "Cycle %(number)s cannot start on or after a later cycle's day 1 visit (%(date)s)."
        ) % {"number": visit.number, "date": upper.isoformat()}
    else:
        return
    raise ValidationError({"actual_date": ValidationError(message, code="cycle_out_of_order")})


def record_visit(
    *,
    visit: Visit,
    expected_version: int,
    actual_date: dt.date | None,
    missed: bool,
    note: str,
    by,
    reason: str = "",
) -> Visit:
    """Record a visit's actual date (or that it was missed); later cycles shift with it.

    Refused: what ``validation.validate_visit`` refuses; a CxD1 date that would not start its
    cycle after the previous one, or not before the next CxD1 visit recorded
    (``cycle_out_of_order``: a cycle starts on its CxD1 visit date, PROTOCOL.md "Schedule");
    a note too long (``full_clean``); a change of a recorded visit without a reason
    (``required``).
    """
    note = (note or "").strip()
    validation.validate_visit(
        {"actual_date": actual_date, "missed": missed}, today=visit.subject.site.today()
    )
    if visit.kind == schedule.VisitKind.UNSCHEDULED and (missed or actual_date is None):
        raise ValidationError(
            {
                "missed": ValidationError(
                    _("An unscheduled visit was held: correct its date, it cannot be missed."),
                    code="unscheduled_is_held",
                )
            }
        )
    _check_cycle_order(visit, actual_date)
    if visit.version != expected_version:  # someone saved it since this user opened it
        raise EditConflict(
            current=visit,
            submitted={"actual_date": actual_date, "missed": missed, "note": note},
            expected_version=expected_version,
        )
    first_entry = visit.actual_date is None and not visit.missed
    if not first_entry:
        reason = require_reason(reason)
    # only a visit whose window had closed unrecorded can have its "visit missed" query
    was_overdue = visit_overdue(visit, visit.subject.site.today())
    with transaction.atomic():
        saved = save_versioned(
            visit,
            expected_version=expected_version,
            changes={"actual_date": actual_date, "missed": missed, "note": note},
            by=by,
            reason=reason or "Visit recorded",
        )
        with audit_context(user=by, reason=reason or "Schedule re-planned after visit"):
            sync_schedule(saved.subject)
            if was_overdue:
                close_checks(record=saved, checks=[checks.VISIT_MISSED.id])
        # a visit out of its window is a protocol deviation for the site to confirm (issue 13)
        from logs.services import sync_deviations

        sync_deviations(saved.subject)
    return saved


def visit_overdue(visit: Visit, today: dt.date) -> bool:
    """Its window closed (``latest`` before the site's today) with nothing recorded: neither
    a date nor "missed" (the edit check ``subjects.visit_missed``)."""
    return visit.actual_date is None and not visit.missed and visit.latest < today


def sync_missed_visits(subject: Subject, visits: list[Visit], today: dt.date) -> None:
    """One query open per overdue visit of ``visits`` (all the subject's), closed once the visit
    is recorded or re-planned; in the caller's transaction and audit context."""
    check = checks.VISIT_MISSED
    failing = {
        (v.pk, check.id): (v, check, check.text(visit=v.code, latest=v.latest.isoformat()))
        for v in visits
        if visit_overdue(v, today)
    }
    sync_set(subject=subject, model=Visit, definitions=[check], failing=failing)


def add_unscheduled_visit(*, subject: Subject, by, on_date: dt.date, note: str) -> Visit:
    """Record a visit between the planned ones (issue 13), held on ``on_date``: numbered U1,
    U2, ... in the order added; its window is that day (never out of window, never dropped by
    re-planning). Refused: a date in the future or before the consent, a subject not enrolled
    yet (before enrolment every contact belongs to screening), a missing reason (``note``)."""
    from accounts.access import Action, require

    require(by, Action.ENTER_DATA, subject.site_id)
    note = (note or "").strip()
    errors = {}
    if subject.c1d1_date is None:
        errors["on_date"] = ValidationError(
            _("Unscheduled visits start after enrolment: record screening data on its visit."),
            code="not_enrolled",
        )
    elif not isinstance(on_date, dt.date):
        errors["on_date"] = ValidationError(_("Enter the visit date."), code="required")
    elif on_date > subject.site.today():
        errors["on_date"] = ValidationError(
            _("The visit date cannot be in the future."), code="future_date"
        )
    elif on_date < subject.consent_date:
        errors["on_date"] = ValidationError(
            _("The visit cannot be dated before the informed consent (%(d)s).")
            % {"d": subject.consent_date.isoformat()},
            code="before_consent",
        )
    if not note:
        errors["note"] = ValidationError(
            _("Say why the patient came (e.g. a symptom, a lab check)."), code="required"
        )
    elif len(note) > Visit._meta.get_field("note").max_length:
        errors["note"] = ValidationError(_("Keep the reason shorter."), code="max_length")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        lock_audit_chain(subject)
        locked = Subject.objects.select_for_update().get(pk=subject.pk)
        number = (
            Visit.objects.filter(subject=locked, kind=schedule.VisitKind.UNSCHEDULED).count() + 1
        )
        with audit_context(user=by, reason=f"Unscheduled visit U{number} recorded"):
            visit = Visit.objects.create(
                subject=locked,
                kind=schedule.VisitKind.UNSCHEDULED,
                number=number,
                code=f"U{number}",
                target_date=on_date,
                earliest=on_date,
                latest=on_date,
                actual_date=on_date,
                note=note,
            )
    return visit

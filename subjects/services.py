"""The write paths of the subjects app: register, correct, move through the lifecycle, visits.

Views, API endpoints, commands and tasks call these functions; nothing else writes
subjects or visits. Each runs in one transaction with the actor and reason named to
the audit triggers.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.dispatch import Signal
from django.utils.translation import gettext as _

from accounts.models import Site
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason, save_versioned
from subjects import lifecycle, schedule
from subjects.models import StatusChange, Subject, Visit

S = lifecycle.SubjectStatus
# Sent by change_status inside its transaction and audit context (kwargs: subject). Apps that
# derive data from the status connect here (safety re-flags AEs against the reporting window),
# so this module never imports them: dependencies point from those apps to subjects.
status_changed = Signal()
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


@transaction.atomic
def register_subject(*, site: Site, by, **demographics) -> Subject:
    """Register a subject in screening with a generated, site-prefixed screening number."""
    lock_audit_chain()  # before the row lock: one lock order for every writer
    site = Site.objects.select_for_update().get(pk=site.pk, is_active=True)
    subject = Subject(
        site=site,
        status=S.SCREENING,
        status_date=demographics.get("consent_date"),
        created_by=by,
        screening_number=_next_number(site, "screening_number", "{site}-S{n:03d}"),
        **demographics,
    )
    subject.full_clean()
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
    """Correct a registered subject's demographics (reason required, version checked)."""
    unknown = set(changes) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed here: %s") % ", ".join(unknown))
    # Demographics feed I02 and I09: a signed eligibility verdict no longer covers them.
    from eligibility.services import void_stale_signatures

    stored = Subject.objects.get(pk=subject.pk)  # the form may have written onto ``subject``
    changed = sorted(name for name, value in changes.items() if getattr(stored, name) != value)
    with transaction.atomic():
        saved = save_versioned(
            subject, expected_version=expected_version, changes=changes, by=by, reason=reason
        )
        void_stale_signatures(saved, by=by, why=", ".join(changed))
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
    """Move a subject one step through the lifecycle, dated, and re-plan its visits."""
    try:
        target = S(target)
    except ValueError as exc:
        message = _("“%(value)s” is not a subject status.") % {"value": target}
        raise ValidationError({"status": message}) from exc
    with transaction.atomic():
        lock_audit_chain()  # before the row lock: one lock order for every writer
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
            raise ValidationError({exc.field: exc.message}) from exc
        updates = _status_side_effects(locked, target, on_date, c1d1, last_dose)
        with audit_context(user=by, reason=reason.strip() or f"Status: {lifecycle.LABELS[target]}"):
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
                reason=reason.strip(),
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
        if c1d1 is None:
            raise ValidationError({"c1d1": _("Enter the planned cycle 1 day 1.")})
        if c1d1 < on_date:
            raise ValidationError({"c1d1": _("Cycle 1 day 1 cannot be before enrolment.")})
        site = Site.objects.select_for_update().get(pk=subject.site_id)
        return {
            "c1d1_date": c1d1,
            "subject_number": _next_number(site, "subject_number", "{site}-{n:03d}"),
        }
    if target == S.ON_TREATMENT:
        return {"c1d1_date": on_date}  # the first dose is cycle 1 day 1
    if target == S.OFF_TREATMENT:
        if last_dose is None:
            raise ValidationError({"last_dose": _("Enter the date of the last dose.")})
        if last_dose > on_date:
            raise ValidationError(
                {"last_dose": _("The last dose cannot be after the decision to stop.")}
            )
        if subject.c1d1_date and last_dose < subject.c1d1_date:
            raise ValidationError({"last_dose": _("The last dose cannot be before C1D1.")})
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
    """Record a visit's actual date (or that it was missed); later cycles shift with it."""
    site = visit.subject.site
    if actual_date and actual_date > site.today():
        raise ValidationError({"actual_date": _("The visit date cannot be in the future.")})
    if missed and actual_date:
        raise ValidationError({"missed": _("A visit with a date cannot be missed.")})
    if not missed and not actual_date:
        raise ValidationError({"actual_date": _("Enter the date, or mark the visit missed.")})
    if visit.version != expected_version:  # someone saved it since this user opened it
        raise EditConflict(
            current=visit,
            submitted={"actual_date": actual_date, "missed": missed, "note": note},
            expected_version=expected_version,
        )
    first_entry = visit.actual_date is None and not visit.missed
    if not first_entry:
        reason = require_reason(reason)
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
    return saved

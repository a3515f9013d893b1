"""The write paths of the outcome forms: one service per form, for the page and the API alike.

Each takes typed Python values, checks them with ``outcomes.rules`` (worded here, with a
stable ``code`` per field), and writes in one transaction, the subject's audit chain locked
first, with the actor and the reason named to the audit triggers. The first save of a form
creates it; a later one is a correction: it needs the version the user opened
(``EditConflict`` otherwise) and a reason for change (``audit.versioning.require_reason``).

The subject's status changes only through ``subjects.services.change_status`` (one write
path): end of treatment -> off treatment (with the last dose), death -> died, withdrawal from
all follow-up -> withdrawn. The dates a status change set (decision to stop, death,
withdrawal that ended participation) are not corrected here: the lifecycle has no path back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from accounts.access import Action, require
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from outcomes import rules, selectors
from outcomes.models import (
    Death,
    DeathCause,
    EndOfTreatment,
    StopReason,
    SubsequentTherapy,
    SurvivalFollowUp,
    Withdrawal,
)
from safety.models import AdverseEvent
from subjects import lifecycle
from subjects.models import StatusChange, Subject, Visit
from subjects.schedule import VisitKind
from subjects.services import TREATMENT_STOPPED, change_status, record_visit

S = lifecycle.SubjectStatus

# The wording of each refusal code of ``outcomes.rules`` and of this module.
MESSAGES = {
    "future_date": _("This date cannot be in the future."),
    "before_consent": _("This date cannot be before the informed consent (%(d)s)."),
    "no_dose": _("The dosing calendar has no dose yet: treatment has not started."),
    "before_last_dose": _(
        "The last dose in the dosing calendar is on %(d)s, after this date: correct the date, "
        "or record the interruption or discontinuation in the dosing calendar first."
    ),
    "ae_required": _("Choose the adverse event."),
    "ae_not_expected": _("No adverse event is linked with this reason."),
    "invalid_choice": _("Choose one of the options."),
    "ae_after_decision": _("This adverse event began on %(d)s, after the decision to stop."),
    "ae_after_death": _("This adverse event began on %(d)s, after the death."),
    "ae_term_not_fatal": _(
        "The CTCAE term of this adverse event has no grade 5 (death): it cannot be the cause "
        "of death. Choose another event, or correct the event's term."
    ),
    "ae_end_not_death": _(
        "This fatal adverse event ends on %(d)s: a fatal event ends on the date of death."
    ),
    "ae_not_grade_5": _(
        "This adverse event is recorded at grade %(g)s: a death caused by it is its grade 5 "
        "(CTCAE 4.03). Update the adverse event to grade 5, outcome fatal, ending on the date "
        "of death."
    ),
    "other_required": _("Describe the other reason."),
    "not_the_death_date": _(
        "The subject's death is recorded on %(d)s (a fatal adverse event or a status change): "
        "the date of death is that date."
    ),
    "death_not_recorded": _(
        "No death is recorded for this subject yet: record the death (date, cause)."
    ),
    "death_recorded": _("The subject's death is recorded on %(d)s, on or before this contact."),
    "required": _("This field is required."),
    "after_contact": _("This date cannot be after the contact date (%(d)s)."),
    "after_death": _("This date cannot be after the death (%(d)s)."),
    "progression_already_recorded": _(
        "A progression is already recorded (%(d)s): a new progression date is only for a "
        "subject without one."
    ),
    "before_c1d1": _("This date cannot be before the first dose (cycle 1 day 1)."),
    "line_out_of_range": _("The line of therapy is from %(low)s to %(high)s."),
    "not_on_treatment": _(
        "The subject is not on treatment: the end of treatment follows the first dose."
    ),
    "not_the_recorded_decision": _(
        "Treatment was stopped on %(d)s (status off treatment): the decision date is that date."
    ),
    "date_fixed": _(
        "This date changed the subject's status and cannot be corrected here; ask the data manager."
    ),
    "already_recorded": _("This form is already recorded: open it to correct it."),
    "other_subject": _("This adverse event is another subject's."),
    "not_a_survival_visit": _("This visit is not a survival follow-up visit."),
    "scope_fixed": _(
        "This withdrawal ended the subject's participation: its scope cannot be changed here."
    ),
    "ends_participation": _(
        "A withdrawal from all follow-up ends the subject's participation: record a new "
        "withdrawal instead of widening this one."
    ),
}


def refusal_error(refusal: rules.Refusal) -> ValidationError:
    message = MESSAGES[refusal.code]
    return ValidationError(message % refusal.params if refusal.params else message, refusal.code)


def _raise(refusals: Iterable[rules.Refusal]) -> None:
    errors = {r.field: refusal_error(r) for r in refusals}
    if errors:
        raise ValidationError(errors)


def _refuse(field: str, code: str, **params) -> None:
    _raise([rules.Refusal(field, code, params)])


def warning_texts(refusals: Iterable[rules.Refusal]) -> list[str]:
    return [str(MESSAGES[r.code]) % r.params for r in refusals]


def ae_facts(ae: AdverseEvent | None) -> rules.AeFacts | None:
    if ae is None:
        return None
    return rules.AeFacts(
        onset=ae.onset_date,
        grade=ae.grade,
        end=ae.end_date,
        term_allows_grade_5=5 in ae.term.allowed_grades,
    )


def _own_ae(ae: AdverseEvent | None, subject: Subject, field: str) -> None:
    if ae is not None and ae.subject_id != subject.pk:
        _refuse(field, "other_subject")


def _check_choices(model, values: Mapping) -> None:
    """A choice the form does not offer is refused before any rule reads it."""
    for name, value in values.items():
        choices = model._meta.get_field(name).choices
        if choices and value not in {key for key, _label in choices}:
            _refuse(name, "invalid_choice")


def _english(value: str) -> str:
    """A choice as the audit trail records it: in English whatever the user's language."""
    return value.replace("_", " ")


def _locked(subject: Subject) -> Subject:
    lock_audit_chain(subject)  # before the row lock: one lock order for every writer
    return Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)


def _check_version(current, expected_version, reason: str, submitted: dict) -> str:
    """A correction: the reason (required) once the version opened is still the stored one."""
    if expected_version is None:
        _refuse(NON_FIELD_ERRORS, "already_recorded")
    if current.version != expected_version:
        raise EditConflict(current=current, submitted=submitted, expected_version=expected_version)
    return require_reason(reason)


def _status_change(subject: Subject, *, target, on_date, reason, by, last_dose=None, where):
    """``change_status``, its refusals moved onto this form's fields (``where``)."""
    try:
        return change_status(
            subject=subject,
            target=target,
            on_date=on_date,
            reason=reason,
            by=by,
            expected_version=subject.version,
            last_dose=last_dose,
        )
    except ValidationError as exc:
        errors = {where.get(k, NON_FIELD_ERRORS): v for k, v in exc.error_dict.items()}
        raise ValidationError(errors) from exc


def _write(model, current, values: dict, *, by, reason: str):
    """Create (``current`` None) or update the row, audited with ``reason``."""
    with audit_context(user=by, reason=reason):
        if current is None:
            row = model(**values, recorded_by=by)
            row.full_clean(validate_constraints=False)
            row.save()
            return row
        candidate = model.objects.get(pk=current.pk)
        for name, value in values.items():
            setattr(candidate, name, value)
        candidate.full_clean(validate_constraints=False)
        model.objects.filter(pk=current.pk).update(
            **values, version=F("version") + 1, updated_at=Now()
        )
        return model.objects.get(pk=current.pk)


# --- end of treatment ---------------------------------------------------------------------------


def decision_recorded(subject: Subject) -> dt.date | None:
    """The date treatment was stopped (status off treatment), if it was."""
    change = (
        StatusChange.objects.filter(subject=subject, to_status=S.OFF_TREATMENT)
        .order_by("-on_date")
        .first()
    )
    return change.on_date if change else None


def last_dose_for(subject: Subject) -> dt.date | None:
    """The last dose as the dosing app knows it (``dosing.services.last_dose``: the one
    recorded at stop, else the calendar's latest dosing day so far). A subject who left the
    study while on treatment (died, withdrew) took no dose after that day: the calendar is read
    up to it."""
    from dosing import exposure
    from dosing import services as dosing

    if subject.last_dose_date is None and subject.status in (S.DIED, S.WITHDRAWN):
        if subject.c1d1_date is None:
            return None
        summary = exposure.exposure(
            subject.c1d1_date,
            dosing.events_for(subject),
            min(subject.status_date, subject.site.today()),
            allow_reescalation=P.ALLOW_REESCALATION,
            visit_dates=dosing.visit_dates(subject),
        )
        return summary.last_dose
    return dosing.last_dose(subject)


@transaction.atomic
def save_end_of_treatment(
    *,
    subject: Subject,
    by,
    decision_date: dt.date,
    stop_reason: str,
    toxicity_ae: AdverseEvent | None = None,
    reason_other: str = "",
    expected_version: int | None = None,
    reason: str = "",
) -> EndOfTreatment:
    """Record (first save) or correct the end of treatment; recording it stops treatment.

    The last dose is the dosing calendar's (``dosing.services.last_dose``), never typed; the
    decision cannot precede it. A subject on treatment becomes off treatment on the decision
    date with that last dose (``change_status``), which plans the end-of-treatment visit the
    form is tied to and stops the dosing calendar after the last dose. Codes: ``rules``'s,
    ``not_on_treatment``, ``not_the_recorded_decision``, ``date_fixed``, ``other_subject``,
    ``already_recorded``, ``required`` (reason for change).
    """
    require(by, Action.ENTER_DATA, subject.site_id)
    locked = _locked(subject)
    current = EndOfTreatment.objects.filter(subject=locked).first()
    values = {
        "decision_date": decision_date,
        "stop_reason": stop_reason,
        "toxicity_ae": toxicity_ae,
        "reason_other": (reason_other or "").strip() if stop_reason == StopReason.OTHER else "",
    }
    _check_choices(EndOfTreatment, {"stop_reason": stop_reason})
    _own_ae(toxicity_ae, locked, "toxicity_ae")
    if current is not None:
        reason = _check_version(current, expected_version, reason, values)
        if decision_date != current.decision_date:
            _refuse("decision_date", "date_fixed")
        last_dose = current.last_dose_date
    else:
        last_dose = last_dose_for(locked)
        recorded = decision_recorded(locked)
        if recorded is not None and decision_date != recorded:
            _refuse("decision_date", "not_the_recorded_decision", d=recorded.isoformat())
        if locked.status not in (S.ON_TREATMENT, *TREATMENT_STOPPED) or locked.c1d1_date is None:
            _refuse(NON_FIELD_ERRORS, "not_on_treatment")
    _raise(
        rules.end_of_treatment_refusals(
            decision_date=decision_date,
            today=locked.site.today(),
            last_dose=last_dose,
            reason=stop_reason,
            ae=ae_facts(toxicity_ae),
            other_text=values["reason_other"],
        )
    )
    label = _english(stop_reason)
    if current is None and locked.status == S.ON_TREATMENT:
        locked = _status_change(
            locked,
            target=S.OFF_TREATMENT,
            on_date=decision_date,
            reason=f"End of treatment: {label}",
            by=by,
            last_dose=last_dose,
            where={"on_date": "decision_date", "last_dose": "decision_date"},
        )
    if current is None:
        values["subject"] = locked
        values["last_dose_date"] = last_dose
        values["visit"] = locked.visits.filter(kind=VisitKind.END_OF_TREATMENT).first()
    return _write(
        EndOfTreatment, current, values, by=by, reason=reason or f"End of treatment: {label}"
    )


# --- death --------------------------------------------------------------------------------------


@transaction.atomic
def save_death(
    *,
    subject: Subject,
    by,
    death_date: dt.date,
    cause: str,
    autopsy: str,
    cause_ae: AdverseEvent | None = None,
    cause_other: str = "",
    expected_version: int | None = None,
    reason: str = "",
) -> Death:
    """Record (first save) or correct the subject's death; recording it makes the subject
    deceased (``change_status``) unless the death is recorded already (a fatal AE: then the
    date must be that one) or the subject had left the study (withdrawn, completed: the
    record only, for OS). Codes: ``rules``'s, ``date_fixed``, ``other_subject``,
    ``already_recorded``, ``required`` (reason for change), the lifecycle's on ``death_date``.
    """
    require(by, Action.ENTER_DATA, subject.site_id)
    locked = _locked(subject)
    current = Death.objects.filter(subject=locked).first()
    values = {
        "death_date": death_date,
        "cause": cause,
        "cause_ae": cause_ae,
        "cause_other": (cause_other or "").strip() if cause == DeathCause.OTHER else "",
        "autopsy": autopsy,
    }
    _check_choices(Death, {"cause": cause, "autopsy": autopsy})
    _own_ae(cause_ae, locked, "cause_ae")
    if current is not None:
        reason = _check_version(current, expected_version, reason, values)
        if death_date != current.death_date:
            _refuse("death_date", "date_fixed")
    recorded = locked.status_date if locked.status == S.DIED else None
    _raise(
        rules.death_refusals(
            death_date=death_date,
            today=locked.site.today(),
            consent_date=locked.consent_date,
            recorded_death=recorded if current is None else None,
            cause=cause,
            ae=ae_facts(cause_ae),
            other_text=values["cause_other"],
        )
    )
    label = _english(cause)
    if current is None and locked.lifecycle_status in lifecycle.ACTIVE_STATUSES:
        locked = _status_change(
            locked,
            target=S.DIED,
            on_date=death_date,
            reason=f"Death: {label}",
            by=by,
            where={"on_date": "death_date", "reason": NON_FIELD_ERRORS},
        )
    if current is None:
        values["subject"] = locked
    return _write(Death, current, values, by=by, reason=reason or f"Death recorded: {label}")


def death_warnings(death: Death) -> list[rules.Refusal]:
    """What the death page shows beside the cause (``rules.death_warnings``): an AE named as
    the cause that is not recorded at grade 5 yet."""
    return rules.death_warnings(cause=death.cause, ae=ae_facts(death.cause_ae))


# --- survival follow-up -------------------------------------------------------------------------


def recorded_progression(subject: Subject, exclude_follow_up: int | None = None):
    """The first progression recorded: a RECIST timepoint with overall response PD, or a
    progression date reported at another survival follow-up."""
    from assessments.models import Timepoint

    dates = list(
        Timepoint.objects.filter(subject=subject, overall_response="PD").values_list(
            "scan_date", flat=True
        )
    )
    reported = SurvivalFollowUp.objects.filter(subject=subject, new_progression_date__isnull=False)
    dates += reported.exclude(pk=exclude_follow_up).values_list("new_progression_date", flat=True)
    return min(dates) if dates else None


def _therapies(rows: Iterable[Mapping]) -> list[rules.Therapy]:
    return [
        rules.Therapy(
            regimen=(row.get("regimen") or "").strip(),
            start_date=row.get("start_date"),
            line=row.get("line"),
        )
        for row in rows
    ]


@transaction.atomic
def save_survival_follow_up(
    *,
    visit: Visit,
    by,
    contact_date: dt.date,
    mode: str,
    status: str,
    last_known_alive: dt.date | None = None,
    new_progression_date: dt.date | None = None,
    therapies: Iterable[Mapping] = (),
    expected_version: int | None = None,
    reason: str = "",
) -> SurvivalFollowUp:
    """Record (first save) or correct the survival follow-up of a survival follow-up visit,
    with its subsequent anticancer therapies (``therapies``: dicts of regimen, start_date,
    line; they replace the ones stored). Its first save records the visit done on the
    contact date when it is not recorded yet. Status dead without a death recorded is kept
    and shown (``survival_follow_up_warnings``), the death form to fill. Codes: ``rules``'s
    (therapy rows on ``therapies-<i>-<field>``),
    ``not_a_survival_visit``, ``already_recorded``, ``required`` (reason for change)."""
    subject = visit.subject
    require(by, Action.ENTER_DATA, subject.site_id)
    if visit.kind != VisitKind.SURVIVAL_FOLLOW_UP:
        _refuse("visit", "not_a_survival_visit")
    locked = _locked(subject)
    current = SurvivalFollowUp.objects.filter(visit=visit).first()
    rows = _therapies(therapies)
    values = {
        "contact_date": contact_date,
        "mode": mode,
        "status": status,
        "last_known_alive": last_known_alive,
        "new_progression_date": new_progression_date,
    }
    _check_choices(SurvivalFollowUp, {"mode": mode, "status": status})
    if current is not None:
        reason = _check_version(current, expected_version, reason, values)
    _raise(
        rules.survival_follow_up_refusals(
            contact_date=contact_date,
            today=locked.site.today(),
            consent_date=locked.consent_date,
            c1d1=locked.c1d1_date,
            last_dose=locked.last_dose_date,
            status=status,
            last_known_alive=last_known_alive,
            death_date=selectors.death_date(locked),
            recorded_progression=recorded_progression(locked, current.pk if current else None),
            new_progression_date=new_progression_date,
            therapies=rows,
        )
    )
    if current is None:
        values |= {"subject": locked, "visit": visit}
        _record_contact(visit, contact_date, by)
    saved = _write(
        SurvivalFollowUp, current, values, by=by, reason=reason or "Survival follow-up recorded"
    )
    _replace_therapies(saved, rows, by=by, reason=reason or "Survival follow-up recorded")
    return saved


def survival_follow_up_warnings(follow_up: SurvivalFollowUp) -> list[rules.Refusal]:
    """What the page shows beside the status: dead, with no death recorded yet."""
    return rules.survival_follow_up_warnings(
        status=follow_up.status, death_date=selectors.death_date(follow_up.subject)
    )


def _record_contact(visit: Visit, contact_date: dt.date, by) -> None:
    """The contact is the visit: a visit not yet recorded is done on the contact date
    (``record_visit``), so a later status change (death, withdrawal) keeps it and its form."""
    visit = Visit.objects.select_related("subject__site").get(pk=visit.pk)
    if visit.actual_date is None and not visit.missed:
        record_visit(
            visit=visit,
            expected_version=visit.version,
            actual_date=contact_date,
            missed=False,
            note="",
            by=by,
        )


def _replace_therapies(follow_up: SurvivalFollowUp, rows, *, by, reason: str) -> None:
    stored = [(t.regimen, t.start_date, t.line) for t in follow_up.therapies.all()]
    wanted = [(t.regimen, t.start_date, t.line) for t in rows]
    if stored == wanted:
        return
    with audit_context(user=by, reason=reason):
        follow_up.therapies.all().delete()
        for regimen, start_date, line in wanted:
            therapy = SubsequentTherapy(
                follow_up=follow_up, regimen=regimen, start_date=start_date, line=line
            )
            therapy.full_clean()
            therapy.save()


# --- withdrawal of consent ----------------------------------------------------------------------


@transaction.atomic
def save_withdrawal(
    *,
    subject: Subject,
    by,
    withdrawal_date: dt.date,
    scope: str,
    withdrawal: Withdrawal | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Withdrawal:
    """Record a withdrawal of consent (``withdrawal`` None) or correct one. A withdrawal from
    all further follow-up (or from the use of the data) makes the subject withdrawn
    (``change_status``); one from treatment only leaves the status (the end-of-treatment form
    stops treatment). A correction cannot move a withdrawal across that line, nor re-date one
    that ended participation. Codes: ``rules``'s, ``scope_fixed``, ``ends_participation``,
    ``date_fixed``, ``required`` (reason for change), the lifecycle's on ``scope`` /
    ``withdrawal_date``."""
    require(by, Action.ENTER_DATA, subject.site_id)
    locked = _locked(subject)
    values = {"withdrawal_date": withdrawal_date, "scope": scope}
    _check_choices(Withdrawal, values)
    current = None
    if withdrawal is not None:
        current = Withdrawal.objects.get(pk=withdrawal.pk, subject=locked)
        reason = _check_version(current, expected_version, reason, values)
        was, now = rules.ends_participation(current.scope), rules.ends_participation(scope)
        if was and not now:
            _refuse("scope", "scope_fixed")
        if now and not was:
            _refuse("scope", "ends_participation")
        if was and withdrawal_date != current.withdrawal_date:
            _refuse("withdrawal_date", "date_fixed")
    _raise(
        rules.withdrawal_refusals(
            withdrawal_date=withdrawal_date,
            today=locked.site.today(),
            consent_date=locked.consent_date,
        )
    )
    label = _english(scope)
    if current is None and rules.ends_participation(scope):
        locked = _status_change(
            locked,
            target=S.WITHDRAWN,
            on_date=withdrawal_date,
            reason=f"Consent withdrawn: {label}",
            by=by,
            where={"on_date": "withdrawal_date", "target": "scope", "reason": NON_FIELD_ERRORS},
        )
    if current is None:
        values["subject"] = locked
    return _write(
        Withdrawal, current, values, by=by, reason=reason or f"Consent withdrawn: {label}"
    )

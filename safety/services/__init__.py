"""Write paths and selectors of safety: the CTCAE dictionary, adverse events and their grade
history, causality e-signatures, the SAE workflow and the on-treatment lab panels.

Every write runs in one transaction and stores nothing when a check fails: the refusal is a
``ValidationError`` keyed by the form field at fault (AE fields by their model name, plus
``grade_from``; lab panel values as ``<analyte>-value`` / ``<analyte>-unit``, and
``systolic`` / ``diastolic``). The pure rules live in ``safety.ctcae`` (grades a term has),
``safety.adverse_events`` (grade history, reporting window, SAE due time) and
``safety.grading`` (CTCAE grade of a lab value). Reasons the system writes on the audit trail
are in English whatever the user's language.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, CharField, F, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Now
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, require, scope
from accounts.models import Membership, Role
from accounts.signatures import printed_name, reauthenticate
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from eligibility import rules as eligibility_rules
from eligibility import units
from eligibility.models import ReferenceRange
from outbox.services import notify
from queries.services import sync_check
from safety import adverse_events as rules
from safety import ctcae, grading
from safety.models import (
    BP_UNIT,
    SAE_CRITERIA,
    AdverseEvent,
    CtcaeTerm,
    GradeChange,
    LabPanel,
    LabResult,
    SaeReport,
)
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject, Visit
from subjects.schedule import VisitKind

Outcome = AdverseEvent.Outcome
log = logging.getLogger(__name__)

# --- the dictionary -----------------------------------------------------------------------------


def load_ctcae(path: Path | str = ctcae.DATA_FILE, *, model=CtcaeTerm) -> tuple[int, int]:
    """Create or update every term of the dictionary file (idempotent): (created, updated).

    ``model`` is the historical model when a migration calls it."""
    terms = ctcae.read_terms(path)
    stored = {row.meddra_code: row for row in model.objects.all()}
    created, updated = [], []
    for term in terms:
        values = {
            "soc": term.soc,
            "term": term.term,
            "grade_1": term.grades[0],
            "grade_2": term.grades[1],
            "grade_3": term.grades[2],
            "grade_4": term.grades[3],
            "grade_5": term.grades[4],
            "definition": term.definition,
            "errata": term.errata,
            "other_specify": term.other_specify,
        }
        row = stored.get(term.meddra_code)
        if row is None:
            created.append(model(meddra_code=term.meddra_code, **values))
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            updated.append(row)
    with transaction.atomic():
        model.objects.bulk_create(created)
        if updated:
            model.objects.bulk_update(updated, list(values))
    return len(created), len(updated)


def search_terms(q: str, limit: int = 20) -> list[CtcaeTerm]:
    """Terms matching every word of ``q`` in the term or its SOC, or a MedDRA code prefix.

    Exact term first, then terms starting with ``q``, then other term matches, then SOC
    matches; alphabetical within each."""
    q = " ".join((q or "").split())
    if not q:
        return []
    terms = CtcaeTerm.objects.all()
    if q.isdigit():
        terms = terms.annotate(code=Cast("meddra_code", CharField())).filter(code__startswith=q)
        return list(terms.order_by("meddra_code")[:limit])
    for word in q.split():
        terms = terms.filter(Q(term__icontains=word) | Q(soc__icontains=word))
    terms = terms.annotate(
        rank=Case(
            When(term__iexact=q, then=Value(0)),
            When(term__istartswith=q, then=Value(1)),
            When(term__icontains=q, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
    )
    return list(terms.order_by("rank", "term")[:limit])


# --- adverse events: checks ---------------------------------------------------------------------

AE_FIELDS = (
    "term",
    "verbatim",
    "onset_date",
    "end_date",
    "ongoing",
    "grade",
    "serious",
    *SAE_CRITERIA,
    "action_taken",
    "dose_event",
    "treatment_given",
    "outcome",
    "learned_on",
)
_RECOVERED = {Outcome.RECOVERED, Outcome.SEQUELAE}


def first_dose_date(subject: Subject) -> dt.date | None:
    """C1D1 once the subject has started treatment (before that it is only planned)."""
    if subject.c1d1_date is None:
        return None
    started = subject.status_changes.filter(to_status=S.ON_TREATMENT).exists()
    return subject.c1d1_date if started else None


def reporting_window(subject: Subject) -> rules.ReportingWindow | None:
    """First dose to last dose + 21 days (open while dosing); None before the first dose."""
    return rules.reporting_window(first_dose_date(subject), subject.last_dose_date)


def in_window(subject: Subject, onset: dt.date) -> bool:
    window = reporting_window(subject)
    return window is not None and window.contains(onset)


def _aware(moment: dt.datetime | None, subject: Subject) -> dt.datetime | None:
    """A date-time entered without a zone is the site's local time."""
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, subject.site.tz)
    return moment


def _check_dates(ae: AdverseEvent, subject: Subject, today: dt.date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(ae.onset_date, dt.date):
        return {"onset_date": _("Enter the onset date.")}
    died = subject.status_date if subject.status == S.DIED else None
    if died is not None and ae.onset_date > died:
        errors["onset_date"] = _("The onset cannot be after the subject's death (%(d)s).") % {
            "d": died.isoformat()
        }
    elif ae.onset_date > today:
        errors["onset_date"] = _("The onset cannot be in the future.")
    elif ae.onset_date < subject.consent_date:
        errors["onset_date"] = _("The onset cannot be before the informed consent (%(d)s).") % {
            "d": subject.consent_date.isoformat()
        }
    if ae.fatal and ae.end_date is None:
        errors["end_date"] = _(
            "A fatal adverse event ends with the death: enter the date of death as its end date."
        )
    elif ae.ongoing and ae.end_date is not None:
        errors["end_date"] = _("Either enter the end date or tick ongoing, not both.")
    elif not ae.ongoing and ae.end_date is None:
        errors["end_date"] = _("Enter the end date, or tick ongoing.")
    elif ae.end_date is not None and ae.end_date < ae.onset_date:
        errors["end_date"] = _("The end date cannot be before the onset (%(d)s).") % {
            "d": ae.onset_date.isoformat()
        }
    elif ae.end_date is not None and ae.end_date > today:
        errors["end_date"] = _("The end date cannot be in the future.")
    elif died is not None and ae.end_date is not None and ae.end_date > died and not ae.fatal:
        errors["end_date"] = _("The end date cannot be after the subject's death (%(d)s).") % {
            "d": died.isoformat()
        }
    if ae.outcome in _RECOVERED and ae.ongoing:
        errors.setdefault("outcome", _("A recovered event has ended: enter its end date."))
    if ae.learned_on is not None:
        if ae.learned_on > timezone.now():
            errors["learned_on"] = _("The site cannot learn of the event in the future.")
        elif timezone.localtime(ae.learned_on, subject.site.tz).date() < ae.onset_date:
            errors["learned_on"] = _("The site cannot learn of the event before its onset.")
    return errors


def _check_seriousness(ae: AdverseEvent) -> dict[str, str]:
    errors: dict[str, str] = {}
    criteria = ae.criteria
    if ae.serious and not criteria:
        errors["serious"] = _("A serious adverse event needs at least one seriousness criterion.")
    elif criteria and not ae.serious:
        errors["serious"] = _(
            "Seriousness criteria are ticked: mark the event serious, or untick them."
        )
    fatal_outcome = ae.outcome == Outcome.FATAL
    if ae.grade == 5 and not fatal_outcome:
        errors["outcome"] = _(
            "Grade 5 is death related to the adverse event: the outcome is fatal."
        )
    elif fatal_outcome and ae.grade != 5:
        errors["grade"] = _("A fatal adverse event is grade 5 (death) in CTCAE 4.03.")
    if ae.fatal and not ae.sae_death:
        errors["sae_death"] = _(
            "A fatal adverse event is serious, with the criterion “results in death”."
        )
    elif ae.sae_death and not fatal_outcome:
        errors.setdefault("outcome", _("The criterion “results in death” needs the outcome fatal."))
    return errors


def _check_dose_event(ae: AdverseEvent, subject: Subject) -> dict[str, str]:
    event = ae.dose_event
    if event is None:
        return {}
    wanted = AdverseEvent.ACTION_DOSE_EVENT.get(ae.action_taken)
    if event.subject_id != subject.pk:
        return {"dose_event": _("This dose modification is another subject's.")}
    if wanted is None:
        return {"dose_event": _("With no action taken there is no dose modification to link.")}
    if event.kind != wanted:
        return {
            "dose_event": _(
                "“%(action)s” links to a dose modification “%(wanted)s”; this one is “%(kind)s”."
            )
            % {
                "action": ae.get_action_taken_display(),
                "wanted": wanted.label,
                "kind": event.get_kind_display(),
            }
        }
    return {}


def check_ae(ae: AdverseEvent, subject: Subject) -> None:
    """Raise a field-keyed ``ValidationError`` (every error at once) unless the AE is valid."""
    errors: dict[str, str] = {}
    term = ae.term if ae.term_id is not None else None
    if term is None:
        errors["term"] = _("Choose a CTCAE v4.03 term.")
    if ae.grade not in ctcae.GRADES:
        errors["grade"] = _("Choose a grade from 1 to 5.")
    elif term is not None and ae.grade not in term.allowed_grades:
        errors["grade"] = ctcae.grade_not_allowed(term.term, ae.grade)
    if term is not None and term.other_specify and not ae.verbatim.strip():
        errors["verbatim"] = _("“%(term)s” needs the verbatim term: describe the event.") % {
            "term": term.term
        }
    for found in (
        _check_dates(ae, subject, subject.site.today()),
        _check_seriousness(ae),
        _check_dose_event(ae, subject),
    ):
        for key, message in found.items():
            errors.setdefault(key, message)
    if errors:
        raise ValidationError(errors)
    try:
        ae.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


# --- adverse events: side effects ---------------------------------------------------------------


def _window_text(subject: Subject, onset: dt.date) -> str:
    window = reporting_window(subject)
    if window is None:
        return (
            f"The onset {onset.isoformat()} is before the first dose of anlotinib: adverse "
            "events are reported from the first dose. Please confirm the onset date or the "
            "reason this event is reported."
        )
    end = (
        f"the last dose + {P.AE_REPORTING_DAYS_AFTER_LAST_DOSE} days ({window.end.isoformat()})"
        if window.end
        else f"the last dose + {P.AE_REPORTING_DAYS_AFTER_LAST_DOSE} days"
    )
    return (
        f"The onset {onset.isoformat()} is outside the AE reporting window (first dose "
        f"{window.start.isoformat()} to {end}). Please confirm the onset date or the reason "
        "this event is reported."
    )


def _sync_ae_queries(ae: AdverseEvent) -> None:
    sync_check(
        record=ae,
        subject=ae.subject,
        check="safety.ae_outside_window",
        field="onset_date",
        failing=ae.out_of_window,
        text=_window_text(ae.subject, ae.onset_date),
    )


def sync_reporting_window(subject: Subject) -> None:
    """The window moves when treatment starts or stops: flag again every AE of the subject
    (and open or close its query), within the caller's transaction and audit context."""
    for ae in subject.adverse_events.select_related("term"):
        ae.subject = subject
        outside = not in_window(subject, ae.onset_date)
        if outside != ae.out_of_window:
            AdverseEvent.objects.filter(pk=ae.pk).update(
                out_of_window=outside, version=F("version") + 1, updated_at=Now()
            )
            ae.out_of_window = outside
        _sync_ae_queries(ae)


def _record_death(ae: AdverseEvent, subject: Subject, by) -> None:
    """Grade 5 / fatal outcome: the subject died on the AE's end date (one record, once)."""
    if not ae.fatal:
        return
    if subject.status == S.DIED:
        if subject.status_date != ae.end_date:
            raise ValidationError(
                {
                    "end_date": _(
                        "The subject's death is recorded on %(d)s: a fatal adverse event ends "
                        "on that date."
                    )
                    % {"d": subject.status_date.isoformat()}
                }
            )
        return
    from subjects.services import change_status

    cause = f"Fatal adverse event: {ae.display_term} (CTCAE {P.CTCAE_VERSION} grade 5)"
    try:
        change_status(
            subject=subject,
            target=S.DIED,
            on_date=ae.end_date,
            reason=cause,
            by=by,
            expected_version=subject.version,
        )
    except ValidationError as exc:
        where = {"status": "outcome", "reason": "outcome", "on_date": "end_date"}
        raise ValidationError({where.get(k, k): v for k, v in exc.message_dict.items()}) from exc
    subject.refresh_from_db()


def _grade_history_changes(
    current: AdverseEvent, candidate: AdverseEvent, grade_from: dt.date | None, today: dt.date
) -> list[tuple[GradeChange | None, int, dt.date]]:
    """The rows to write: (row to update, or None to insert; grade; from date)."""
    history = list(current.grade_changes.order_by("from_date"))
    ops: list[tuple[GradeChange | None, int, dt.date]] = []
    steps = [(row, row.grade, row.from_date) for row in history]
    if candidate.onset_date != current.onset_date:
        if len(history) > 1 and candidate.onset_date >= history[1].from_date:
            raise ValidationError(
                {
                    "onset_date": _("The onset must stay before the next grade change (%(d)s).")
                    % {"d": history[1].from_date.isoformat()}
                }
            )
        steps[0] = (history[0], history[0].grade, candidate.onset_date)
        ops.append(steps[0])
    if candidate.grade != current.grade:
        last_row, _grade, last_from = steps[-1]
        if grade_from is None:
            raise ValidationError(
                {
                    "grade_from": _("Enter the date from which the grade is %(g)d.")
                    % {"g": candidate.grade}
                }
            )
        end = candidate.end_date or today
        if grade_from < last_from:
            raise ValidationError(
                {
                    "grade_from": _(
                        "The grade history has grade %(g)d from %(d)s: a change starts on or "
                        "after that date."
                    )
                    % {"g": current.grade, "d": last_from.isoformat()}
                }
            )
        if grade_from > end:
            raise ValidationError(
                {"grade_from": _("The grade change cannot be after %(d)s.") % {"d": end}}
            )
        if grade_from == last_from:  # a correction of the last grade, not a new one
            ops = [op for op in ops if op[0] is not last_row]
            ops.append((last_row, candidate.grade, last_from))
        else:
            ops.append((None, candidate.grade, grade_from))
            last_from = grade_from
    else:
        last_from = steps[-1][2]
    if candidate.end_date is not None and candidate.end_date < last_from:
        raise ValidationError(
            {
                "end_date": _("The end date cannot be before the last grade change (%(d)s).")
                % {"d": last_from.isoformat()}
            }
        )
    return ops


# --- adverse events: writes ---------------------------------------------------------------------


def record_ae(
    *,
    subject: Subject,
    by,
    term: CtcaeTerm,
    grade: int,
    onset_date: dt.date,
    outcome: str,
    verbatim: str = "",
    end_date: dt.date | None = None,
    ongoing: bool = False,
    serious: bool = False,
    sae_death: bool = False,
    sae_life_threatening: bool = False,
    sae_hospitalisation: bool = False,
    sae_disability: bool = False,
    sae_congenital_anomaly: bool = False,
    sae_important_medical_event: bool = False,
    action_taken: str = AdverseEvent.Action.NONE,
    dose_event=None,
    treatment_given: str = "",
    learned_on: dt.datetime | None = None,
    lab_result: LabResult | None = None,
) -> AdverseEvent:
    """Record an adverse event with its grade at onset; nothing is stored if it is refused.

    Outside the reporting window it is stored with ``out_of_window`` and a query. A serious
    event starts the SAE workflow; a fatal one (grade 5 / outcome fatal) records the subject's
    death on its end date. ``lab_result``: the lab value it was offered from (linked)."""
    require(by, Action.ENTER_DATA, subject.site_id)
    with transaction.atomic():
        lock_audit_chain()
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        ae = AdverseEvent(
            subject=locked,
            term=term,
            verbatim=(verbatim or "").strip(),
            onset_date=onset_date,
            end_date=end_date,
            ongoing=ongoing,
            grade=grade,
            serious=serious,
            sae_death=sae_death,
            sae_life_threatening=sae_life_threatening,
            sae_hospitalisation=sae_hospitalisation,
            sae_disability=sae_disability,
            sae_congenital_anomaly=sae_congenital_anomaly,
            sae_important_medical_event=sae_important_medical_event,
            action_taken=action_taken,
            dose_event=dose_event,
            treatment_given=(treatment_given or "").strip(),
            outcome=outcome,
            learned_on=_aware(learned_on, locked) or timezone.now(),
            recorded_by=by,
        )
        check_ae(ae, locked)
        if lab_result is not None and lab_result.panel.subject_id != locked.pk:
            raise ValidationError({"lab_result": _("This lab value is another subject's.")})
        ae.out_of_window = not in_window(locked, onset_date)
        with audit_context(user=by, reason=f"Adverse event recorded: {term.term} grade {grade}"):
            ae.save()
            GradeChange.objects.create(ae=ae, grade=grade, from_date=onset_date, recorded_by=by)
            if lab_result is not None:
                LabResult.objects.filter(pk=lab_result.pk).update(
                    ae=ae, version=F("version") + 1, updated_at=Now()
                )
            _record_death(ae, locked, by)
            if ae.serious:
                start_sae_workflow(ae, by=by, aware_at=ae.learned_on)
            _sync_ae_queries(ae)
            _sync_lab_queries(locked)
    return ae


def update_ae(
    *,
    ae: AdverseEvent,
    by,
    expected_version: int,
    reason: str,
    changes: dict,
    grade_from: dt.date | None = None,
    sae_aware_at: dt.datetime | None = None,
) -> AdverseEvent:
    """Correct or update an adverse event (reason required; 409-style ``EditConflict`` if it
    changed since ``expected_version``).

    A new ``grade`` needs ``grade_from``, the date the grade changed: a later date adds a step
    to the grade history, the date of the last step corrects that step. A change of term voids
    the causality signature. An event becoming serious starts the SAE workflow (the site
    learned of it at ``sae_aware_at``, default now); becoming fatal records the death."""
    require(by, Action.ENTER_DATA, ae.subject.site_id)
    reason = require_reason(reason)
    sae_aware_at = _aware(sae_aware_at, ae.subject)
    if "learned_on" in changes:
        changes = {**changes, "learned_on": _aware(changes["learned_on"], ae.subject)}
    if sae_aware_at is not None and sae_aware_at > timezone.now():
        raise ValidationError(
            {"sae_aware_at": _("The site cannot learn of the event in the future.")}
        )
    unknown = set(changes) - set(AE_FIELDS)
    if unknown:
        if "relationship" in unknown:
            raise ValidationError(
                {"relationship": _("Causality is assessed and e-signed by an investigator.")}
            )
        raise ValidationError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    with transaction.atomic():
        lock_audit_chain()
        locked = Subject.objects.select_for_update().select_related("site").get(pk=ae.subject_id)
        current = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        if current.version != expected_version:
            raise EditConflict(
                current=current, submitted=changes, expected_version=expected_version
            )
        candidate = AdverseEvent.objects.select_related("term", "dose_event").get(pk=current.pk)
        for name, value in changes.items():
            setattr(candidate, name, value.strip() if isinstance(value, str) else value)
        check_ae(candidate, locked)
        if current.fatal and not candidate.fatal and locked.status == S.DIED:
            raise ValidationError(
                {
                    "outcome": _(
                        "The subject's death is recorded: correct the subject's status before "
                        "this event can stop being fatal."
                    )
                }
            )
        history = _grade_history_changes(current, candidate, grade_from, locked.site.today())
        fields = {name: getattr(candidate, name) for name in changes}
        fields["out_of_window"] = not in_window(locked, candidate.onset_date)
        if candidate.term_id != current.term_id and current.causality_signed:
            fields.update(
                relationship="",
                causality_signed_by=None,
                causality_printed_name="",
                causality_signed_at=None,
            )
        with audit_context(user=by, reason=reason):
            AdverseEvent.objects.filter(pk=current.pk).update(
                **fields, version=F("version") + 1, updated_at=Now()
            )
            for row, grade, from_date in history:
                if row is None:
                    GradeChange.objects.create(
                        ae=current, grade=grade, from_date=from_date, recorded_by=by
                    )
                else:
                    GradeChange.objects.filter(pk=row.pk).update(
                        grade=grade, from_date=from_date, version=F("version") + 1, updated_at=Now()
                    )
            updated = AdverseEvent.objects.select_related("term", "subject__site").get(
                pk=current.pk
            )
            _record_death(updated, locked, by)
            if updated.serious and not current.serious:
                start_sae_workflow(updated, by=by, aware_at=sae_aware_at or timezone.now())
            _sync_ae_queries(updated)
            _sync_lab_queries(locked)
    return updated


def sign_causality(
    *,
    ae: AdverseEvent,
    by,
    relationship: str,
    password: str,
    request=None,
    expected_version: int | None = None,
) -> AdverseEvent:
    """The investigator's e-signed causality assessment (PROTOCOL.md "Roles": investigators
    only). The password is re-entered; ``expected_version`` binds it to the AE as read."""
    require(by, Action.SIGN, ae.subject.site_id)
    if relationship not in AdverseEvent.Relationship.values:
        raise ValidationError({"relationship": _("Choose the relationship to anlotinib.")})
    reauthenticate(by, password, request)  # outside the transaction: failures count
    with (
        transaction.atomic(),
        audit_context(user=by, reason=f"Causality e-signature: {relationship}"),
    ):
        current = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        if expected_version is not None and current.version != expected_version:
            raise EditConflict(
                current=current,
                submitted={"relationship": relationship},
                expected_version=expected_version,
            )
        AdverseEvent.objects.filter(pk=current.pk).update(
            relationship=relationship,
            causality_signed_by=by,
            causality_printed_name=printed_name(by),
            causality_signed_at=timezone.now(),
            version=F("version") + 1,
            updated_at=Now(),
        )
    return AdverseEvent.objects.select_related("term", "causality_signed_by").get(pk=ae.pk)


# --- adverse events: reads ----------------------------------------------------------------------


GRADE_HISTORY_CHECK = "safety.ae_grade_history_missing"


def grade_summary(ae: AdverseEvent) -> rules.GradeSummary:
    """Worst grade, current grade and days at each grade (up to the end, or today).

    An event stored without its grade history (an inconsistent record: every write path
    stores the grade at onset) is read as its recorded grade since its onset, and reported
    (``report_missing_grade_history``): one bad row must not take the AE log down with it."""
    steps = [row.to_pure() for row in ae.grade_changes.all()]
    if not steps:
        report_missing_grade_history(ae)
        steps = [rules.GradeStep(grade=ae.grade, from_date=ae.onset_date)]
    return rules.summarise_grades(steps, end=ae.end_date, today=ae.subject.site.today())


def report_missing_grade_history(ae: AdverseEvent) -> None:
    """Log the inconsistency as an error and keep a system query open on the event: the data
    managers see it in the query list (and the dashboard's count), the AE page shows it."""
    log.error(
        "Adverse event %s of subject %s has no grade history (not even its grade at onset); "
        "shown as grade %s since %s until data management repairs it.",
        ae.pk,
        ae.subject_id,
        ae.grade,
        ae.onset_date,
    )
    text = (
        f"Inconsistent record: this adverse event has no grade history, not even its grade at "
        f"onset, so its worst grade and days at each grade cannot be trusted. It is shown as "
        f"grade {ae.grade} since {ae.onset_date.isoformat()} meanwhile. Data management: "
        "restore the grade history from the source."
    )
    reason = "Edit check: adverse event without its grade history"
    with transaction.atomic(), audit_context(reason=reason):  # the chain lock: one query
        sync_check(
            record=ae,
            subject=ae.subject,
            check=GRADE_HISTORY_CHECK,
            field="grade",
            failing=True,
            text=text,
        )


# --- SAE workflow -------------------------------------------------------------------------------


SAE_CRITERIA_LABELS = {  # in English: the notices read the same for every recipient
    "sae_death": "results in death",
    "sae_life_threatening": "life-threatening",
    "sae_hospitalisation": "requires or prolongs hospitalisation",
    "sae_disability": "persistent or significant disability",
    "sae_congenital_anomaly": "congenital anomaly / birth defect",
    "sae_important_medical_event": "important medical event",
}


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _notify_sae(report: SaeReport) -> None:
    ae = report.ae
    subject = ae.subject
    criteria = ", ".join(SAE_CRITERIA_LABELS[name] for name in ae.criteria)
    line = (
        f"{P.TRIAL_ID} SAE {subject}: {ae.display_term}, grade {ae.grade}; initial report due "
        f"{_utc(report.due_at)}"
    )
    body = "\n".join(
        [
            f"A serious adverse event was recorded in {P.TRIAL_ID} at site {subject.site.code}.",
            f"Subject: {subject}",
            f"Event: {ae.display_term} (CTCAE {P.CTCAE_VERSION} grade {ae.grade})",
            f"Onset: {ae.onset_date.isoformat()}",
            f"Seriousness: {criteria}",
            f"Site aware: {_utc(report.aware_at)}",
            f"Initial report due: {_utc(report.due_at)} ({P.SAE_REPORT_HOURS} hours)",
        ]
    )
    common = {
        "kind": "sae_initial",
        "subject_line": line,
        "body": body,
        "related_subject": subject,
    }
    investigators = Membership.objects.filter(
        site_id=subject.site_id, role=Role.INVESTIGATOR, user__is_active=True
    ).select_related("user")
    for membership in investigators:
        notify(
            key=f"sae:{report.pk}:user:{membership.user_id}",
            recipient=membership.user,
            role=Role.INVESTIGATOR,
            **common,
        )
    notify(
        key=f"sae:{report.pk}:sponsor",
        email=P.SPONSOR_SAFETY_EMAIL,
        role="sponsor_safety",
        **common,
    )


def start_sae_workflow(ae: AdverseEvent, *, by=None, aware_at=None) -> SaeReport:
    """Open the initial SAE report, due ``SAE_REPORT_HOURS`` after the site learned of it, and
    queue the notices to the site's investigators and the sponsor's safety contact.

    Idempotent: an AE has one initial report; a second call returns it and sends nothing."""
    existing = ae.sae_reports.filter(kind=SaeReport.Kind.INITIAL).first()
    if existing is not None:
        return existing
    aware_at = aware_at or ae.learned_on
    due_at = rules.sae_report_due(aware_at)
    with (
        transaction.atomic(),
        audit_context(user=by, reason=f"SAE initial report opened, due {_utc(due_at)}"),
    ):
        report = SaeReport.objects.create(
            ae=ae, kind=SaeReport.Kind.INITIAL, sequence=0, aware_at=aware_at, due_at=due_at
        )
        _notify_sae(report)
    return report


def submit_sae_report(*, report: SaeReport, by, narrative: str) -> SaeReport:
    """Mark a report submitted with its narrative (once)."""
    require(by, Action.ENTER_DATA, report.ae.subject.site_id)
    narrative = (narrative or "").strip()
    if not narrative:
        raise ValidationError({"narrative": _("Write the narrative of the report.")})
    try:
        SaeReport._meta.get_field("narrative").clean(narrative, None)
    except ValidationError as exc:
        raise ValidationError({"narrative": exc.messages}) from exc
    with transaction.atomic():
        lock_audit_chain()
        current = SaeReport.objects.select_for_update().get(pk=report.pk)
        if current.submitted_at is not None:
            raise ValidationError(
                _("This report was submitted on %(d)s.") % {"d": _utc(current.submitted_at)}
            )
        with audit_context(user=by, reason=f"SAE {current.label.lower()} submitted"):
            SaeReport.objects.filter(pk=current.pk).update(
                submitted_at=timezone.now(),
                submitted_by=by,
                narrative=narrative,
                version=F("version") + 1,
                updated_at=Now(),
            )
    return SaeReport.objects.select_related("ae__subject__site", "ae__term").get(pk=report.pk)


def add_follow_up(*, ae: AdverseEvent, by, due_at: dt.datetime | None = None) -> SaeReport:
    """Request the next follow-up report of an SAE, due ``due_at`` (default: in
    ``SAE_FOLLOW_UP_HOURS``), once every earlier report is submitted."""
    require(by, Action.ENTER_DATA, ae.subject.site_id)
    now = timezone.now()
    due_at = _aware(due_at, ae.subject)
    if due_at is not None and due_at <= now:
        raise ValidationError({"due_at": _("The follow-up must be due in the future.")})
    with transaction.atomic():
        lock_audit_chain()
        current = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        reports = list(current.sae_reports.order_by("sequence"))
        if not current.serious or not reports:
            raise ValidationError(_("Only a serious adverse event has SAE reports."))
        pending = [r for r in reports if r.submitted_at is None]
        if pending:
            raise ValidationError(_("Submit the %(r)s first.") % {"r": pending[0].label.lower()})
        sequence = reports[-1].sequence + 1
        due = due_at or now + dt.timedelta(hours=P.SAE_FOLLOW_UP_HOURS)
        with audit_context(user=by, reason=f"SAE follow-up {sequence} requested"):
            return SaeReport.objects.create(
                ae=current,
                kind=SaeReport.Kind.FOLLOW_UP,
                sequence=sequence,
                aware_at=now,
                due_at=due,
            )


def sae_listing(user):
    """SAE reports the user may see: overdue first, then pending by due time, then submitted."""
    reports = scope(
        SaeReport.objects.select_related("ae__subject__site", "ae__term", "submitted_by").filter(
            ae__serious=True
        ),
        user,
        site_path="ae__subject__site",
    )
    now = timezone.now()  # the application's clock, as ``SaeReport.overdue`` reads it
    return reports.annotate(
        state=Case(
            When(submitted_at__isnull=True, due_at__lt=now, then=Value(0)),
            When(submitted_at__isnull=True, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("state", "due_at", "id")


# --- lab panels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferedAe:
    """A lab value of grade >= 2 without a matching AE, and the AE it would pre-fill."""

    result: LabResult
    term: CtcaeTerm
    prefill: dict = field(default_factory=dict)


def _ranges(subject: Subject) -> dict[eligibility_rules.RefRange, ReferenceRange]:
    """The site's reference ranges as the pure rules read them, with their rows (one query)."""
    return {
        eligibility_rules.RefRange(
            analyte=r.analyte,
            unit=r.unit,
            lln=r.lln,
            uln=r.uln,
            sex=r.sex or None,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        ): r
        for r in ReferenceRange.objects.filter(site_id=subject.site_id)
    }


def _range_for(subject, candidates, analyte, unit, sample_date, spec) -> tuple:
    """(LLN, ULN, range row), the limits in the unit of the value; ``_LabError`` when the
    analyte cannot be graded without a range the site lacks or gives in another unit."""
    needed = spec.needs_lln or spec.needs_uln
    if analyte not in units.RANGE_UNITS:
        return None, None, None
    chosen = eligibility_rules.select_reference_range(
        candidates, analyte=analyte, sex=subject.sex, on=sample_date
    )
    if chosen is None:
        if needed:
            raise _LabError(
                "value",
                _(
                    "No reference range for %(a)s at this site on %(d)s: a data manager adds "
                    "it before this value can be graded."
                )
                % {"a": spec.label, "d": sample_date.isoformat()},
            )
        return None, None, None
    try:
        lln, uln = (
            None if limit is None else units.convert(limit, chosen.unit, unit, analyte=analyte)
            for limit in (chosen.lln, chosen.uln)
        )
    except units.UnitError:
        if needed:
            raise _LabError(
                "unit",
                _("The site's reference range for %(a)s is in %(u)s: enter the value in %(u)s.")
                % {"a": spec.label, "u": chosen.unit},
            ) from None
        return None, None, None
    return lln, uln, candidates[chosen]


class _LabError(Exception):
    def __init__(self, suffix: str, message: str):
        super().__init__(message)
        self.suffix = suffix
        self.message = message


def _grade_value(subject, candidates, analyte, raw, unit, sample_date, confirmed) -> LabResult:
    spec = grading.ANALYTES.get(analyte)
    if spec is None:
        raise _LabError("value", _("%(a)s is not an analyte of the lab panel.") % {"a": analyte})
    unit = units.normalise_unit(unit or "")
    if unit not in spec.units:
        raise _LabError(
            "unit",
            _("%(u)s is not a unit for %(a)s; use %(units)s.")
            % {"u": unit or "—", "a": spec.label, "units": " or ".join(spec.units)},
        )
    lln, uln, row = _range_for(subject, candidates, analyte, unit, sample_date, spec)
    try:
        result = grading.grade(
            analyte, raw, unit, lln=lln, uln=uln, confirmed=confirmed and analyte == "qtc"
        )
    except grading.GradingError as exc:
        raise _LabError("unit" if exc.field == "unit" else "value", exc.message) from exc
    dipstick = analyte == "urine_protein_dipstick"
    return LabResult(
        analyte=analyte,
        value=None if dipstick else Decimal(str(raw).strip()),
        reading=str(raw).strip().lower() if dipstick else "",
        unit=unit,
        lln=lln,
        uln=uln,
        reference_range=row,
        **_graded(result),
    )


def _graded(result: grading.GradeResult) -> dict:
    return {
        "grade": result.grade,
        "term": result.term,
        "definition": result.definition,
        "note": result.note,
    }


def _blood_pressure(systolic, diastolic) -> LabResult:
    if systolic in (None, "") or diastolic in (None, ""):
        missing = "diastolic" if systolic not in (None, "") else "systolic"
        raise _LabError(missing, _("Enter both the systolic and the diastolic pressure."))
    try:
        result = grading.grade_blood_pressure(systolic, diastolic)
    except grading.GradingError as exc:
        raise _LabError(exc.field, exc.message) from exc
    row = LabResult(
        analyte="blood_pressure",
        value=Decimal(str(systolic).strip()),
        diastolic=Decimal(str(diastolic).strip()),
        unit=BP_UNIT,
        **_graded(result),
    )
    try:
        row.clean_fields(exclude=["panel", "reference_range", "ae"])
    except ValidationError as exc:
        name = "diastolic" if "diastolic" in exc.message_dict else "systolic"
        raise _LabError(name, " ".join(exc.messages)) from exc
    return row


def _check_panel(subject: Subject, sample_date, visit) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(sample_date, dt.date):
        errors["sample_date"] = _("Enter the sample date.")
    elif sample_date > subject.site.today():
        errors["sample_date"] = _("The sample date cannot be in the future.")
    elif sample_date < subject.consent_date:
        errors["sample_date"] = _(
            "The sample cannot be dated before the informed consent (%(d)s)."
        ) % {"d": subject.consent_date.isoformat()}
    if visit is not None and (visit.subject_id != subject.pk or visit.kind != VisitKind.CYCLE):
        errors["visit"] = _("Choose a cycle visit of this subject.")
    return errors


def record_lab_panel(
    *,
    subject: Subject,
    by,
    sample_date: dt.date,
    values: dict[str, tuple[object, str]],
    visit: Visit | None = None,
    systolic=None,
    diastolic=None,
    qtc_confirmed: bool = False,
) -> LabPanel:
    """Record one sample date's values, each graded by CTCAE v4.03 against the site's
    reference range in force that date for the subject's sex (all or nothing).

    ``values`` maps an analyte key of ``safety.grading.ANALYTES`` to ``(value, unit)`` (a
    dipstick reading is text: "2+"); ``systolic``/``diastolic`` in mm Hg; ``qtc_confirmed``: a
    second separate ECG also showed QTc >= 501 ms. Refusals are keyed ``<analyte>-value`` or
    ``<analyte>-unit`` (``systolic``/``diastolic`` for the blood pressure).

    Creatinine is graded against the ULN only: no baseline is passed, because CTCAE 4.03 read
    literally makes any rise above baseline grade 1, even within the normal range."""
    require(by, Action.ENTER_DATA, subject.site_id)
    errors = _check_panel(subject, sample_date, visit)
    bp_given = systolic not in (None, "") or diastolic not in (None, "")
    if not values and not bp_given:
        errors.setdefault("__all__", _("Enter at least one value."))
    if errors:
        raise ValidationError(errors)
    candidates = _ranges(subject)
    results: list[LabResult] = []
    for analyte, entry in values.items():
        raw, unit = entry
        try:
            result = _grade_value(
                subject, candidates, analyte, raw, unit, sample_date, qtc_confirmed
            )
            result.clean_fields(exclude=["panel", "reference_range", "ae"])
        except _LabError as exc:
            errors[f"{analyte}-{exc.suffix}"] = exc.message
            continue
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                suffix = "unit" if name == "unit" else "value"
                errors.setdefault(f"{analyte}-{suffix}", " ".join(messages))
            continue
        results.append(result)
    if bp_given:
        try:
            results.append(_blood_pressure(systolic, diastolic))
        except _LabError as exc:
            errors[exc.suffix] = exc.message
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        lock_audit_chain()
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        panel = LabPanel(subject=locked, visit=visit, sample_date=sample_date, recorded_by=by)
        panel.full_clean()
        with audit_context(user=by, reason=f"Lab panel recorded ({sample_date.isoformat()})"):
            panel.save()
            for result in results:
                result.panel = panel
                result.save()
            _sync_lab_queries(locked)
    return panel


def _matching_terms(subject_id: int, results: list[LabResult]) -> dict[int, bool]:
    """Result id -> an AE of its term covers its sample date (or one was recorded from it)."""
    wanted = {r.term for r in results if r.ae_id is None}
    aes = list(
        AdverseEvent.objects.filter(subject_id=subject_id, term__term__in=wanted).values_list(
            "term__term", "onset_date", "end_date", "ongoing"
        )
    )
    out = {}
    for r in results:
        day = r.panel.sample_date
        out[r.pk] = r.ae_id is not None or any(
            term == r.term and onset <= day and (ongoing or (end is not None and end >= day))
            for term, onset, end, ongoing in aes
        )
    return out


def _offerable(results) -> list[LabResult]:
    return [
        r for r in results if r.grade is not None and r.grade >= P.LAB_AE_OFFER_MIN_GRADE and r.term
    ]


def _sync_lab_queries(subject: Subject) -> None:
    """A lab value of grade >= 2 without a matching AE keeps a query open until one exists."""
    results = _offerable(LabResult.objects.filter(panel__subject=subject).select_related("panel"))
    matched = _matching_terms(subject.pk, results)
    for r in results:
        sync_check(
            record=r,
            subject=subject,
            check="safety.lab_grade_without_ae",
            field="value",
            failing=not matched[r.pk],
            text=(
                f"{r.label} {r.display_value} {r.unit} on {r.panel.sample_date.isoformat()} is "
                f"CTCAE {P.CTCAE_VERSION} grade {r.grade} ({r.term}) and no adverse event of "
                "that term covers the date. Please record the adverse event or explain."
            ),
        )


def offered_aes(panel: LabPanel) -> list[OfferedAe]:
    """Values of grade >= 2 of the panel without a matching AE, each with the AE pre-fill.

    Matching: an AE of the same CTCAE term for the subject with onset on or before the sample
    date and ongoing or ended on or after it (or an AE recorded from that very value)."""
    return offers_by_panel([panel]).get(panel.pk, [])


def offers_by_panel(panels) -> dict[int, list[OfferedAe]]:
    """``offered_aes`` of several panels of one subject in a fixed number of queries."""
    panels = list(panels)
    if not panels:
        return {}
    results = []
    for panel in panels:
        for r in _offerable(panel.results.all()):
            r.panel = panel
            results.append(r)
    matched = _matching_terms(panels[0].subject_id, results)
    open_results = [r for r in results if not matched[r.pk]]
    terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in={r.term for r in open_results})}
    offers: dict[int, list[OfferedAe]] = {}
    for r in open_results:
        term = terms.get(r.term)
        if term is None:  # pragma: no cover - every grading term is in the dictionary (tested)
            continue
        offers.setdefault(r.panel.pk, []).append(
            OfferedAe(
                result=r,
                term=term,
                prefill={
                    "term": term.pk,
                    "grade": r.grade,
                    "onset_date": r.panel.sample_date,
                    "verbatim": f"{term.term} ({r.label} {r.display_value} {r.unit})",
                    "lab_result": r.pk,
                },
            )
        )
    return offers


def lab_panels(subject: Subject):
    """The subject's panels, latest first, with their results."""
    return subject.lab_panels.select_related("visit", "recorded_by").prefetch_related("results")

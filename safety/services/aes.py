"""Adverse events: checks, record and update (with the grade history), the reporting window
flag and its query, and the grade summary of the AE log.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, require
from alter_s006 import protocol as P
from alter_s006.edit_check_sets import sync_set
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from queries.services import close_checks, end_write, mark_new, sync_check
from safety import adverse_events as rules
from safety import ctcae
from safety import edit_checks as checks
from safety.models import (
    SAE_CRITERIA,
    AdverseEvent,
    CtcaeTerm,
    GradeChange,
    LabResult,
)
from safety.selectors import in_window, reporting_window
from safety.services.dose_link import AE_CHECK, ae_needs_dose_event, sync_links
from safety.services.labs import lab_results_of_terms, loaded_relations, sync_lab_queries
from safety.services.sae import aware, start_sae_workflow
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject
from subjects.services import change_status

Outcome = AdverseEvent.Outcome
log = logging.getLogger("safety.services")  # one logger for every safety write

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


# Sent inside an AE write with the terms it may have changed the coverage of (the term before
# and after): what derives "a grade without an AE" elsewhere (the visit CRFs, issue 13)
# follows, without safety importing it.
ae_terms_written = Signal()


def _e(message, code: str) -> ValidationError:
    """One refusal with its stable code (the API returns it; tests assert it)."""
    return ValidationError(message, code=code)


def _check_dates(ae: AdverseEvent, subject: Subject, today: dt.date) -> dict:
    errors: dict[str, ValidationError] = {}
    if not isinstance(ae.onset_date, dt.date):
        return {"onset_date": _e(_("Enter the onset date."), "required")}
    died = subject.status_date if subject.status == S.DIED else None
    if died is not None and ae.onset_date > died:
        errors["onset_date"] = _e(
            _("The onset cannot be after the subject's death (%(d)s).") % {"d": died.isoformat()},
            "after_death",
        )
    elif ae.onset_date > today:
        errors["onset_date"] = _e(_("The onset cannot be in the future."), "future_date")
    elif ae.onset_date < subject.consent_date:
        errors["onset_date"] = _e(
            _("The onset cannot be before the informed consent (%(d)s).")
            % {"d": subject.consent_date.isoformat()},
            "before_consent",
        )
    if ae.fatal and ae.end_date is None:
        errors["end_date"] = _e(
            _(
                "A fatal adverse event ends with the death: enter the date of death as its "
                "end date."
            ),
            "fatal_needs_end_date",
        )
    elif ae.ongoing and ae.end_date is not None:
        errors["end_date"] = _e(
            _("Either enter the end date or tick ongoing, not both."), "end_date_and_ongoing"
        )
    elif not ae.ongoing and ae.end_date is None:
        errors["end_date"] = _e(_("Enter the end date, or tick ongoing."), "end_date_or_ongoing")
    elif ae.end_date is not None and ae.end_date < ae.onset_date:
        errors["end_date"] = _e(
            _("The end date cannot be before the onset (%(d)s).")
            % {"d": ae.onset_date.isoformat()},
            "end_before_onset",
        )
    elif ae.end_date is not None and ae.end_date > today:
        errors["end_date"] = _e(_("The end date cannot be in the future."), "future_date")
    elif died is not None and ae.end_date is not None and ae.end_date > died and not ae.fatal:
        errors["end_date"] = _e(
            _("The end date cannot be after the subject's death (%(d)s).")
            % {"d": died.isoformat()},
            "after_death",
        )
    if ae.outcome in _RECOVERED and ae.ongoing:
        errors.setdefault(
            "outcome",
            _e(_("A recovered event has ended: enter its end date."), "recovered_but_ongoing"),
        )
    # Compared with the onset only when the onset itself is valid: a future onset is one
    # error (by the onset), not a second one on the SAE clock the user never filled in.
    if ae.learned_on is not None and "onset_date" not in errors:
        if ae.learned_on > timezone.now():
            errors["learned_on"] = _e(
                _("The site cannot learn of the event in the future."), "future_date"
            )
        elif timezone.localtime(ae.learned_on, subject.site.tz).date() < ae.onset_date:
            errors["learned_on"] = _e(
                _("The site cannot learn of the event before its onset."), "learned_before_onset"
            )
    return errors


def _check_seriousness(ae: AdverseEvent) -> dict:
    errors: dict[str, ValidationError] = {}
    criteria = ae.criteria
    if ae.serious and not criteria:
        errors["serious"] = _e(
            _("A serious adverse event needs at least one seriousness criterion."),
            "serious_without_criterion",
        )
    elif criteria and not ae.serious:
        errors["serious"] = _e(
            _("Seriousness criteria are ticked: mark the event serious, or untick them."),
            "criterion_without_serious",
        )
    fatal_outcome = ae.outcome == Outcome.FATAL
    if ae.grade == 5 and not fatal_outcome:
        errors["outcome"] = _e(
            _("Grade 5 is death related to the adverse event: the outcome is fatal."),
            "grade_5_not_fatal",
        )
    elif fatal_outcome and ae.grade != 5:
        errors["grade"] = _e(
            _("A fatal adverse event is grade 5 (death) in CTCAE 4.03."), "fatal_not_grade_5"
        )
    if ae.fatal and not ae.sae_death:
        errors["sae_death"] = _e(
            _("A fatal adverse event is serious, with the criterion “results in death”."),
            "fatal_without_death_criterion",
        )
    elif ae.sae_death and not fatal_outcome:
        errors.setdefault(
            "outcome",
            _e(
                _("The criterion “results in death” needs the outcome fatal."),
                "death_criterion_not_fatal",
            ),
        )
    return errors


def _check_dose_event(ae: AdverseEvent, subject: Subject) -> dict:
    event = ae.dose_event
    if event is None:
        return {}
    wanted = AdverseEvent.ACTION_DOSE_EVENT.get(ae.action_taken)
    if event.subject_id != subject.pk:
        return {
            "dose_event": _e(_("This dose modification is another subject's."), "other_subject")
        }
    if wanted is None:
        return {
            "dose_event": _e(
                _("With no action taken there is no dose modification to link."),
                "no_action_no_dose_event",
            )
        }
    if event.kind != wanted:
        return {
            "dose_event": _e(
                _("“%(action)s” links to a dose modification “%(wanted)s”; this one is “%(kind)s”.")
                % {
                    "action": ae.get_action_taken_display(),
                    "wanted": wanted.label,
                    "kind": event.get_kind_display(),
                },
                "dose_event_kind_mismatch",
            )
        }
    return {}


def check_ae(ae: AdverseEvent, subject: Subject) -> None:
    """Raise a field-keyed ``ValidationError`` (every error at once) unless the AE is valid."""
    errors: dict[str, ValidationError] = {}
    term = ae.term if ae.term_id is not None else None
    if term is None:
        errors["term"] = _e(_("Choose a CTCAE v4.03 term."), "required")
    if ae.grade not in ctcae.GRADES:
        errors["grade"] = _e(_("Choose a grade from 1 to 5."), "invalid_grade")
    elif term is not None and ae.grade not in term.allowed_grades:
        errors["grade"] = _e(ctcae.grade_not_allowed(term.term, ae.grade), "grade_not_in_term")
    if term is not None and term.other_specify and not ae.verbatim.strip():
        errors["verbatim"] = _e(
            _("“%(term)s” needs the verbatim term: describe the event.") % {"term": term.term},
            "verbatim_required",
        )
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
        # The model's check constraints are the rules checked above, each with its code
        # (end date or ongoing, end not before onset, grade 1 to 5): the database enforces
        # them again on the write (``_constraint_error``), so they are not queried here.
        ae.full_clean(exclude=loaded_relations(ae), validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError(exc.error_dict) from exc


# The model's check constraints, by name: the field and the code of the same rule above.
_CONSTRAINT_ERRORS = {
    "ae_end_date_or_ongoing": ("end_date", "end_date_or_ongoing"),
    "ae_end_not_before_onset": ("end_date", "end_before_onset"),
    "ae_grade_1_to_5": ("grade", "invalid_grade"),
}


def _constraint_error(exc: IntegrityError) -> ValidationError:
    """A check constraint the database refused (``check_ae`` missed it): a 422 on its field
    with its code and the constraint's message, not a 500. Anything else is re-raised."""
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    if name not in _CONSTRAINT_ERRORS:
        raise exc
    field, code = _CONSTRAINT_ERRORS[name]
    constraint = next(c for c in AdverseEvent._meta.constraints if c.name == name)
    return ValidationError({field: _e(constraint.get_violation_error_message(), code)})


# --- adverse events: side effects ---------------------------------------------------------------


def _window_text(subject: Subject, onset: dt.date, window) -> str:
    if window is None:
        return checks.WINDOW.text("before_first_dose", onset=onset.isoformat())
    params = {
        "onset": onset.isoformat(),
        "start": window.start.isoformat(),
        "days": P.AE_REPORTING_DAYS_AFTER_LAST_DOSE,
    }
    if window.end:
        return checks.WINDOW.text(**params, end=window.end.isoformat())
    return checks.WINDOW.text("no_end", **params)


WINDOW_CHECK = checks.WINDOW.id
CONSENT_CHECK = checks.BEFORE_CONSENT.id


def _sync_ae_queries(ae: AdverseEvent, window=False) -> None:
    """``window``: the subject's reporting window if the caller has read it (else read here,
    only when the event is outside it: the query's text names it)."""
    if ae.out_of_window and window is False:
        window = reporting_window(ae.subject)
    sync_check(
        record=ae,
        subject=ae.subject,
        check=WINDOW_CHECK,
        field=checks.WINDOW.field,
        failing=ae.out_of_window,
        text=_window_text(ae.subject, ae.onset_date, window) if ae.out_of_window else "",
    )


def sync_consent_check(ae: AdverseEvent, subject: Subject) -> None:
    """An onset before the informed consent: refused on entry, but a later correction of the
    consent date can leave a stored event before it (``resync_consent``)."""
    failing = ae.onset_date < subject.consent_date
    sync_check(
        record=ae,
        subject=subject,
        check=CONSENT_CHECK,
        field=checks.BEFORE_CONSENT.field,
        failing=failing,
        text=checks.BEFORE_CONSENT.text(
            onset=ae.onset_date.isoformat(), consent=subject.consent_date.isoformat()
        )
        if failing
        else "",
    )


def resync_consent(subject: Subject) -> None:
    """Every AE of the subject against its consent date (corrected, or written by another
    path: the periodic ``sync_edit_checks`` runs it too), in the caller's transaction and
    audit context: two reads, then one write per query opened or closed."""
    check = checks.BEFORE_CONSENT
    before = subject.adverse_events.filter(onset_date__lt=subject.consent_date)
    failing = {
        (ae.pk, check.id): (
            ae,
            check,
            check.text(onset=ae.onset_date.isoformat(), consent=subject.consent_date.isoformat()),
        )
        for ae in before
    }
    sync_set(subject=subject, model=AdverseEvent, definitions=[check], failing=failing)


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
                    "end_date": _e(
                        _(
                            "The subject's death is recorded on %(d)s: a fatal adverse event "
                            "ends on that date."
                        )
                        % {"d": subject.status_date.isoformat()},
                        "not_the_death_date",
                    )
                }
            )
        return
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
        raise ValidationError({where.get(k, k): v for k, v in exc.error_dict.items()}) from exc
    subject.refresh_from_db()


def _grade_history_changes(
    current: AdverseEvent, candidate: AdverseEvent, grade_from: dt.date | None, today: dt.date
) -> list[tuple[GradeChange | None, int, dt.date]]:
    """The rows to write: (row to update, or None to insert; grade; from date).

    Nothing (and the history not read) when the onset, the grade and the end date are all as
    stored: the history stays as it is, and so does the end date's place after its last step."""
    if (candidate.onset_date, candidate.grade, candidate.end_date) == (
        current.onset_date,
        current.grade,
        current.end_date,
    ):
        return []
    history = list(current.grade_changes.order_by("from_date"))
    ops: list[tuple[GradeChange | None, int, dt.date]] = []
    steps = [(row, row.grade, row.from_date) for row in history]
    if candidate.onset_date != current.onset_date:
        if len(history) > 1 and candidate.onset_date >= history[1].from_date:
            raise ValidationError(
                {
                    "onset_date": _e(
                        _("The onset must stay before the next grade change (%(d)s).")
                        % {"d": history[1].from_date.isoformat()},
                        "onset_after_grade_change",
                    )
                }
            )
        steps[0] = (history[0], history[0].grade, candidate.onset_date)
        ops.append(steps[0])
    if candidate.grade != current.grade:
        last_row, _grade, last_from = steps[-1]
        if grade_from is None:
            raise ValidationError(
                {
                    "grade_from": _e(
                        _("Enter the date from which the grade is %(g)d.") % {"g": candidate.grade},
                        "required",
                    )
                }
            )
        end = candidate.end_date or today
        if grade_from < last_from:
            raise ValidationError(
                {
                    "grade_from": _e(
                        _(
                            "The grade history has grade %(g)d from %(d)s: a change starts on "
                            "or after that date."
                        )
                        % {"g": current.grade, "d": last_from.isoformat()},
                        "before_last_grade_change",
                    )
                }
            )
        if grade_from > end:
            raise ValidationError(
                {
                    "grade_from": _e(
                        _("The grade change cannot be after %(d)s.") % {"d": end},
                        "grade_change_after_end",
                    )
                }
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
                "end_date": _e(
                    _("The end date cannot be before the last grade change (%(d)s).")
                    % {"d": last_from.isoformat()},
                    "end_before_grade_change",
                )
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
        lock_audit_chain(subject)
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
            learned_on=aware(learned_on, locked) or timezone.now(),
            recorded_by=by,
        )
        check_ae(ae, locked)
        if lab_result is not None and lab_result.panel.subject_id != locked.pk:
            raise ValidationError(
                {"lab_result": _e(_("This lab value is another subject's."), "other_subject")}
            )
        window = reporting_window(locked)
        ae.out_of_window = not (window is not None and window.contains(onset_date))
        with audit_context(user=by, reason=f"Adverse event recorded: {term.term} grade {grade}"):
            try:
                ae.save()
            except IntegrityError as exc:
                raise _constraint_error(exc) from exc
            if not ae.fatal:
                # no query names the new event yet (a fatal one may have: recording the death
                # re-flags the subject's events, this one among them)
                mark_new(ae)
            GradeChange.objects.create(ae=ae, grade=grade, from_date=onset_date, recorded_by=by)
            if lab_result is not None:
                LabResult.objects.filter(pk=lab_result.pk).update(
                    ae=ae, version=F("version") + 1, updated_at=Now()
                )
            _record_death(ae, locked, by)
            if ae.serious:
                start_sae_workflow(ae, by=by, aware_at=ae.learned_on)
            _sync_ae_queries(ae, window)
            # CONSENT_CHECK: ``check_ae`` refused an onset before the consent, and no query
            # can name a new row: nothing to open or close
            sync_links(ae)
            linked = [lab_result.pk] if lab_result is not None else []
            sync_lab_queries(locked, lab_results_of_terms(locked, [term.term], linked))
            ae_terms_written.send(sender=AdverseEvent, subject=locked, terms={term.term})
    end_write(ae)
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
    sae_aware_at = aware(sae_aware_at, ae.subject)
    if "learned_on" in changes:
        changes = {**changes, "learned_on": aware(changes["learned_on"], ae.subject)}
    if sae_aware_at is not None and sae_aware_at > timezone.now():
        raise ValidationError(
            {
                "sae_aware_at": _e(
                    _("The site cannot learn of the event in the future."), "future_date"
                )
            }
        )
    unknown = set(changes) - set(AE_FIELDS)
    if unknown:
        if "relationship" in unknown:
            raise ValidationError(
                {
                    "relationship": _e(
                        _("Causality is assessed and e-signed by an investigator."),
                        "signed_by_investigator",
                    )
                }
            )
        raise ValidationError(
            _("These fields cannot be changed: %s") % ", ".join(sorted(unknown)),
            code="read_only_fields",
        )
    with transaction.atomic():
        lock_audit_chain(ae.subject_id)
        locked = Subject.objects.select_for_update().select_related("site").get(pk=ae.subject_id)
        # the event's row locked (not its term's, dose modification's or recorder's)
        current = (
            AdverseEvent.objects.select_for_update(of=("self",))
            .select_related("term", "dose_event", "recorded_by")
            .get(pk=ae.pk)
        )
        if current.version != expected_version:
            raise EditConflict(
                current=current, submitted=changes, expected_version=expected_version
            )
        current.subject = locked
        candidate = copy.copy(current)  # its own field values and related objects
        old_term = candidate.term.term
        for name, value in changes.items():
            setattr(candidate, name, value.strip() if isinstance(value, str) else value)
        check_ae(candidate, locked)
        if current.fatal and not candidate.fatal and locked.status == S.DIED:
            raise ValidationError(
                {
                    "outcome": _e(
                        _(
                            "The subject's death is recorded: correct the subject's status "
                            "before this event can stop being fatal."
                        ),
                        "death_recorded",
                    )
                }
            )
        history = _grade_history_changes(current, candidate, grade_from, locked.site.today())
        fields = {name: getattr(candidate, name) for name in changes}
        window = reporting_window(locked)
        fields["out_of_window"] = not (window is not None and window.contains(candidate.onset_date))
        if candidate.term_id != current.term_id and current.causality_signed:
            fields.update(
                relationship="",
                causality_signed_by=None,
                causality_printed_name="",
                causality_signed_at=None,
            )
        with audit_context(user=by, reason=reason):
            try:
                AdverseEvent.objects.filter(pk=current.pk).update(
                    **fields, version=F("version") + 1, updated_at=Now()
                )
            except IntegrityError as exc:
                raise _constraint_error(exc) from exc
            for row, grade, from_date in history:
                if row is None:
                    GradeChange.objects.create(
                        ae=current, grade=grade, from_date=from_date, recorded_by=by
                    )
                else:
                    GradeChange.objects.filter(pk=row.pk).update(
                        grade=grade, from_date=from_date, version=F("version") + 1, updated_at=Now()
                    )
            # the event as written, without reading it back: the candidate with the written
            # fields and the next version; ``updated_at`` (the database's clock) is read
            # from the row if asked for (a deferred field)
            updated = candidate
            for name, value in fields.items():
                setattr(updated, name, value)
            updated.version = current.version + 1
            updated.__dict__.pop("updated_at", None)
            _record_death(updated, locked, by)
            if updated.serious and not current.serious:
                start_sae_workflow(updated, by=by, aware_at=sae_aware_at or timezone.now())
            if not updated.out_of_window and not ae_needs_dose_event(updated):
                # the event's own checks pass (the onset was checked against the consent
                # above): their queries close in one UPDATE
                close_checks(record=updated, checks=[WINDOW_CHECK, AE_CHECK, CONSENT_CHECK])
            _sync_ae_queries(updated, window)
            sync_consent_check(updated, locked)
            sync_links(updated, old_dose_event_id=current.dose_event_id)
            # a lab value's match depends on the term, onset, end and ongoing of the subject's
            # events (``matching_terms``): only the values of the event's term (before and
            # after) can change their match, and only if one of those changed
            matched_on = ("term_id", "onset_date", "end_date", "ongoing")
            if any(getattr(updated, f) != getattr(current, f) for f in matched_on):
                sync_lab_queries(
                    locked, lab_results_of_terms(locked, {old_term, updated.term.term})
                )
                ae_terms_written.send(
                    sender=AdverseEvent, subject=locked, terms={old_term, updated.term.term}
                )
    end_write(updated)
    return updated


# --- adverse events: reads ----------------------------------------------------------------------


GRADE_HISTORY_CHECK = checks.GRADE_HISTORY.id


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
    text = checks.GRADE_HISTORY.text(grade=ae.grade, onset=ae.onset_date.isoformat())
    reason = "Edit check: adverse event without its grade history"
    with transaction.atomic(), audit_context(reason=reason, subject=ae.subject_id):
        sync_check(
            record=ae,
            subject=ae.subject,
            check=GRADE_HISTORY_CHECK,
            field=checks.GRADE_HISTORY.field,
            failing=True,
            text=text,
        )

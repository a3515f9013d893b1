"""Write paths of the log forms: concomitant medications, medical history, protocol deviations.

Each write checks everything first (``logs.rules``, ``logs.prohibited``, then the model's own
checks), raises one field-keyed ``ValidationError`` whose every error has a ``code`` and stores
nothing when anything is refused; the pages and the API call these functions alike. A
correction needs a reason and the version the user opened (``EditConflict`` otherwise).

Edit checks, in the writing transaction and audit context: a concomitant medication of a
prohibited or cautionary class is stored flagged and keeps a system query open for the
investigator; ``sync_deviations`` raises the deviations the stored data show (out-of-window
visit, anlotinib dispensed during an interruption, prohibited medication on treatment), each
once (its ``auto_key``), and closes those whose cause is gone. Reasons the system writes on the
audit trail are in English whatever the user's language.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, require
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from dosing.models import Dispensing, DoseEvent
from logs import edit_checks as checks
from logs import prohibited, rules
from logs.models import ConMed, Deviation, MedicalHistory
from queries.services import end_write, mark_new, sync_check
from safety.models import AdverseEvent, CtcaeTerm
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject

CON_MED_FIELDS = (
    "name",
    "indication",
    "indication_ae",
    "indication_history",
    "dose",
    "unit",
    "route",
    "frequency",
    "start_date",
    "stop_date",
    "ongoing",
)
HISTORY_FIELDS = ("term", "condition", "start_date", "end_date", "ongoing", "baseline_grade")
DEVIATION_FIELDS = ("category", "description", "occurred_on")
PROHIBITED_CHECK = checks.CONMED_PROHIBITED.id


def _e(message, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _refuse(problems: list[rules.Problem], extra: dict | None = None) -> None:
    """Raise every problem at once (the first one per field), keyed by field."""
    errors: dict[str, ValidationError] = dict(extra or {})
    for p in problems:
        errors.setdefault(p.field, _e(p.text(_), p.code))
    if errors:
        raise ValidationError(errors)


def _model_checks(record, exclude=()) -> dict:
    """The model's own checks (choices, lengths, blanks), as field-keyed errors."""
    try:
        record.full_clean(
            exclude=["subject", "recorded_by", "site", *exclude], validate_constraints=False
        )
    except ValidationError as exc:
        return dict(exc.error_dict)
    return {}


def _locked_subject(subject) -> Subject:
    lock_audit_chain(subject)
    return Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)


def _check_fields(changes: dict, allowed) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed: %s") % ", ".join(sorted(unknown)),
            code="read_only_fields",
        )


def _locked_current(model, record, expected_version: int, changes: dict):
    current = model.objects.select_for_update(of=("self",)).get(pk=record.pk)
    if current.version != expected_version:
        raise EditConflict(current=current, submitted=changes, expected_version=expected_version)
    return current


def _write(model, current, fields: dict):
    model.objects.filter(pk=current.pk).update(**fields, version=F("version") + 1, updated_at=Now())


def _strip(value):
    return value.strip() if isinstance(value, str) else value


# --- concomitant medications ---------------------------------------------------------------------


def check_con_med(cm: ConMed, subject: Subject) -> None:
    """Raise a field-keyed ``ValidationError`` (every error at once) unless ``cm`` is valid."""
    problems = rules.check_period(cm.start_date, cm.stop_date, cm.ongoing, subject.site.today())
    if isinstance(cm.dose, int) and not isinstance(cm.dose, bool):
        cm.dose = Decimal(cm.dose)
    dose_problems = rules.check_dose(cm.dose if isinstance(cm.dose, Decimal) else None)
    problems += dose_problems
    extra: dict[str, ValidationError] = {}
    if not cm.name:
        extra["name"] = _e(_("Enter the name of the medication."), "required")
    if cm.indication_ae_id is not None and cm.indication_history_id is not None:
        extra["indication_ae"] = _e(
            _(
                "Link the indication to an adverse event or to a medical-history condition, "
                "not both."
            ),
            "two_indication_links",
        )
    for field in ("indication_ae", "indication_history"):
        linked = getattr(cm, field)
        if linked is not None and linked.subject_id != subject.pk:
            extra.setdefault(field, _e(_("This record is another subject's."), "other_subject"))
    # the dose's places and digits (what the column keeps) once it is a plausible number
    skip = ["start_date", "stop_date", "indication_ae", "indication_history"]
    for field, error in _model_checks(
        cm, exclude=skip + (["dose"] if dose_problems else [])
    ).items():
        extra.setdefault(field, error)
    _refuse(problems, extra)


def _flag(cm: ConMed) -> prohibited.Match | None:
    found = prohibited.match(cm.name)
    cm.flag_class = found.drug_class.code if found else ""
    cm.flag_name = found.name if found else ""
    return found


def _prohibited_text(cm: ConMed) -> str:
    drug_class = prohibited.by_code(cm.flag_class)
    if drug_class is None:
        return ""
    variant = "cautionary" if drug_class.level is prohibited.Level.CAUTIONARY else ""
    return checks.CONMED_PROHIBITED.text(variant, name=cm.name, drug_class=drug_class.label)


def _sync_con_med_query(cm: ConMed, subject: Subject) -> None:
    sync_check(
        record=cm,
        subject=subject,
        check=PROHIBITED_CHECK,
        field=checks.CONMED_PROHIBITED.field,
        failing=bool(cm.flag_class),
        text=_prohibited_text(cm),
    )


def record_con_med(
    *,
    subject: Subject,
    by,
    name: str,
    dose: Decimal,
    unit: str,
    route: str,
    frequency: str,
    start_date: dt.date,
    stop_date: dt.date | None = None,
    ongoing: bool = False,
    indication: str = "",
    indication_ae: AdverseEvent | None = None,
    indication_history: MedicalHistory | None = None,
) -> ConMed:
    """Record a concomitant medication; nothing is stored if it is refused. A prohibited or
    cautionary medication is stored flagged, with a query for the investigator."""
    require(by, Action.ENTER_DATA, subject.site_id)
    with transaction.atomic():
        locked = _locked_subject(subject)
        cm = ConMed(
            subject=locked,
            name=_strip(name or ""),
            indication=_strip(indication or ""),
            indication_ae=indication_ae,
            indication_history=indication_history,
            dose=dose,
            unit=unit,
            route=route,
            frequency=frequency,
            start_date=start_date,
            stop_date=stop_date,
            ongoing=ongoing,
            recorded_by=by,
        )
        check_con_med(cm, locked)
        _flag(cm)
        with audit_context(user=by, reason=f"Concomitant medication recorded: {cm.name}"):
            cm.save()
            mark_new(cm)
            _sync_con_med_query(cm, locked)
            sync_deviations(locked)
    end_write(cm)
    return cm


def correct_con_med(
    *, con_med: ConMed, by, expected_version: int, reason: str, changes: dict
) -> ConMed:
    """Correct a concomitant medication (reason required; ``EditConflict`` if it changed since
    ``expected_version``). The flag, its query and the deviations follow the new name/dates."""
    require(by, Action.ENTER_DATA, con_med.subject.site_id)
    reason = require_reason(reason)
    _check_fields(changes, CON_MED_FIELDS)
    with transaction.atomic():
        locked = _locked_subject(con_med.subject)
        current = _locked_current(ConMed, con_med, expected_version, changes)
        candidate = copy.copy(current)
        for name, value in changes.items():
            setattr(candidate, name, _strip(value))
        check_con_med(candidate, locked)
        _flag(candidate)
        fields = {name: getattr(candidate, name) for name in changes}
        fields |= {"flag_class": candidate.flag_class, "flag_name": candidate.flag_name}
        with audit_context(user=by, reason=reason):
            _write(ConMed, current, fields)
            updated = ConMed.objects.get(pk=current.pk)
            _sync_con_med_query(updated, locked)
            sync_deviations(locked)
    return updated


# --- medical history ------------------------------------------------------------------------------


def check_history(mh: MedicalHistory, subject: Subject) -> None:
    problems = rules.check_period(
        mh.start_date,
        mh.end_date,
        mh.ongoing,
        subject.site.today(),
        stop_field="end_date",
    )
    problems += rules.check_baseline_grade(mh.baseline_grade)
    extra: dict[str, ValidationError] = {}
    if mh.term_id is None and not mh.condition:
        extra["condition"] = _e(
            _("Choose a CTCAE term or describe the condition."), "term_or_condition"
        )
    for field, error in _model_checks(
        mh, exclude=["start_date", "end_date", "baseline_grade", "term"]
    ).items():
        extra.setdefault(field, error)
    _refuse(problems, extra)


def record_history(
    *,
    subject: Subject,
    by,
    start_date: dt.date,
    term: CtcaeTerm | None = None,
    condition: str = "",
    end_date: dt.date | None = None,
    ongoing: bool = False,
    baseline_grade: int | None = None,
) -> MedicalHistory:
    """Record a baseline condition (a CTCAE term, free text, or both); nothing stored if refused."""
    require(by, Action.ENTER_DATA, subject.site_id)
    with transaction.atomic():
        locked = _locked_subject(subject)
        mh = MedicalHistory(
            subject=locked,
            term=term,
            condition=_strip(condition or ""),
            start_date=start_date,
            end_date=end_date,
            ongoing=ongoing,
            baseline_grade=baseline_grade,
            recorded_by=by,
        )
        check_history(mh, locked)
        with audit_context(user=by, reason=f"Medical history recorded: {mh.display_condition}"):
            mh.save()
    return mh


def correct_history(
    *, history: MedicalHistory, by, expected_version: int, reason: str, changes: dict
) -> MedicalHistory:
    """Correct a medical-history item (reason and version required)."""
    require(by, Action.ENTER_DATA, history.subject.site_id)
    reason = require_reason(reason)
    _check_fields(changes, HISTORY_FIELDS)
    with transaction.atomic():
        locked = _locked_subject(history.subject)
        current = _locked_current(MedicalHistory, history, expected_version, changes)
        candidate = copy.copy(current)
        for name, value in changes.items():
            setattr(candidate, name, _strip(value))
        check_history(candidate, locked)
        with audit_context(user=by, reason=reason):
            _write(MedicalHistory, current, {n: getattr(candidate, n) for n in changes})
    return MedicalHistory.objects.select_related("term").get(pk=current.pk)


# --- protocol deviations --------------------------------------------------------------------------


def check_deviation(dev: Deviation, subject: Subject) -> None:
    problems = rules.check_date(dev.occurred_on, subject.site.today(), "occurred_on")
    extra = {}
    if not dev.description:
        extra["description"] = _e(_("Describe the deviation."), "required")
    for field, error in _model_checks(dev, exclude=["occurred_on"]).items():
        extra.setdefault(field, error)
    _refuse(problems, extra)


def record_deviation(
    *, subject: Subject, by, category: str, description: str, occurred_on: dt.date
) -> Deviation:
    """A deviation the site reports: stored confirmed by the site."""
    require(by, Action.ENTER_DATA, subject.site_id)
    with transaction.atomic():
        locked = _locked_subject(subject)
        dev = Deviation(
            subject=locked,
            site_id=locked.site_id,
            category=category,
            description=_strip(description or ""),
            occurred_on=occurred_on,
            status=Deviation.Status.CONFIRMED,
            decided_by=by,
            decided_at=timezone.now(),
            recorded_by=by,
        )
        check_deviation(dev, locked)
        with audit_context(user=by, reason=f"Protocol deviation reported: {category}"):
            dev.save()
    return dev


def correct_deviation(
    *, deviation: Deviation, by, expected_version: int, reason: str, changes: dict
) -> Deviation:
    """Correct the category, description or date of a deviation (reason and version required)."""
    require(by, Action.ENTER_DATA, deviation.subject.site_id)
    reason = require_reason(reason)
    _check_fields(changes, DEVIATION_FIELDS)
    with transaction.atomic():
        locked = _locked_subject(deviation.subject)
        current = _locked_current(Deviation, deviation, expected_version, changes)
        candidate = copy.copy(current)
        for name, value in changes.items():
            setattr(candidate, name, _strip(value))
        check_deviation(candidate, locked)
        with audit_context(user=by, reason=reason):
            _write(Deviation, current, {n: getattr(candidate, n) for n in changes})
    return Deviation.objects.get(pk=current.pk)


def confirm_deviation(*, deviation: Deviation, by, expected_version: int) -> Deviation:
    """The site confirms a deviation the system raised (or one it dismissed)."""
    return _decide(deviation, by, expected_version, Deviation.Status.CONFIRMED, "")


def dismiss_deviation(*, deviation: Deviation, by, expected_version: int, reason: str) -> Deviation:
    """The site dismisses a deviation, with the reason (kept on the record and the trail)."""
    reason = require_reason(reason)
    return _decide(deviation, by, expected_version, Deviation.Status.DISMISSED, reason)


def _decide(deviation, by, expected_version, status, reason) -> Deviation:
    require(by, Action.ENTER_DATA, deviation.subject.site_id)
    changes = {"status": status, "dismissal_reason": reason}
    with transaction.atomic():
        _locked_subject(deviation.subject)
        current = _locked_current(Deviation, deviation, expected_version, changes)
        if current.status == status:
            raise ValidationError(
                {"status": _e(_("The deviation already has this status."), "same_status")}
            )
        label = "confirmed" if status == Deviation.Status.CONFIRMED else "dismissed"
        trail = f"Protocol deviation {label} by the site" + (f": {reason}" if reason else "")
        with audit_context(user=by, reason=trail):
            _write(Deviation, current, changes | {"decided_by": by, "decided_at": Now()})
    return Deviation.objects.get(pk=current.pk)


# --- deviations raised by the system --------------------------------------------------------------


_ACTIVE = {S.ENROLLED, S.ON_TREATMENT, S.OFF_TREATMENT, S.IN_FOLLOW_UP}
_GONE = "Closed by the system: the data no longer show this deviation."


def _found_deviations(subject: Subject) -> dict[str, tuple[str, dt.date, str]]:
    """auto_key -> (category, date, description) of every deviation the data show now."""
    found: dict[str, tuple[str, dt.date, str]] = {}
    for visit in subject.visits.filter(actual_date__isnull=False, missed=False):
        off = visit.days_outside_window()
        if off:
            side = f"{off} days late" if off > 0 else f"{-off} days early"
            found[f"visit_window:visit:{visit.pk}"] = (
                Deviation.Category.VISIT_WINDOW,
                visit.actual_date,
                f"Visit {visit.code} done on {visit.actual_date.isoformat()}, {side} (window "
                f"{visit.earliest.isoformat()} to {visit.latest.isoformat()}).",
            )
    events = list(DoseEvent.objects.filter(subject=subject).only("kind", "start", "end"))
    interruptions = [
        rules.Interruption(e.start, e.end) for e in events if e.kind == DoseEvent.Kind.INTERRUPTION
    ]
    spans = rules.interruption_spans(interruptions, [e.start for e in events])
    if spans:
        for d in Dispensing.objects.filter(subject=subject).only("dispensed_on", "capsules"):
            span = rules.inside_interruption(d.dispensed_on, spans)
            if span is None:
                continue
            until = "still open" if span[1] == dt.date.max else f"to {span[1].isoformat()}"
            found[f"dosing:dispensing:{d.pk}"] = (
                Deviation.Category.DOSING,
                d.dispensed_on,
                f"Anlotinib dispensed on {d.dispensed_on.isoformat()} during the dose "
                f"interruption from {span[0].isoformat()} ({until}).",
            )
    for cm in ConMed.objects.filter(subject=subject).exclude(flag_class=""):
        drug_class = prohibited.by_code(cm.flag_class)
        if drug_class is None or drug_class.level is not prohibited.Level.PROHIBITED:
            continue
        if not rules.taken_on_treatment(cm.start_date, cm.stop_date, subject.c1d1_date):
            continue
        found[f"prohibited_medication:conmed:{cm.pk}"] = (
            Deviation.Category.PROHIBITED_MEDICATION,
            max(cm.start_date, subject.c1d1_date),
            f"{cm.name} ({drug_class.label}) taken from {cm.start_date.isoformat()}"
            + (f" to {cm.stop_date.isoformat()}" if cm.stop_date else ", ongoing")
            + f"; first dose of anlotinib {subject.c1d1_date.isoformat()}.",
        )
    return found


def sync_deviations(subject: Subject) -> list[Deviation]:
    """Raise the deviations the subject's data show that are not raised yet (each once: its
    ``auto_key``), and dismiss, with a note, those still awaiting the site whose cause is gone
    (a corrected visit date); one dismissed by the system is raised again if the cause comes
    back. The site's own decisions are left alone. Idempotent. Returns the ones raised now."""
    with transaction.atomic():
        locked = _locked_subject(subject)
        found = _found_deviations(locked)
        existing = {d.auto_key: d for d in locked.deviations.exclude(auto_key="")}
        raised = []
        with audit_context(reason="Edit check: protocol deviation raised by the system"):
            for key, (category, day, text) in found.items():
                current = existing.get(key)
                if current is None:
                    dev = Deviation.objects.create(
                        subject=locked,
                        site_id=locked.site_id,
                        category=category,
                        description=text,
                        occurred_on=day,
                        status=Deviation.Status.RAISED,
                        auto_key=key,
                    )
                    raised.append(dev)
                elif current.status == Deviation.Status.RAISED and (
                    current.description != text or current.occurred_on != day
                ):
                    _write(Deviation, current, {"description": text, "occurred_on": day})
                elif current.status == Deviation.Status.DISMISSED and current.decided_by_id is None:
                    _write(
                        Deviation,
                        current,
                        {
                            "status": Deviation.Status.RAISED,
                            "dismissal_reason": "",
                            "description": text,
                            "occurred_on": day,
                            "decided_at": None,
                        },
                    )
        gone = [
            d.pk
            for key, d in existing.items()
            if key not in found and d.status == Deviation.Status.RAISED
        ]
        if gone:
            with audit_context(reason="Edit check: the data no longer show the deviation"):
                Deviation.objects.filter(pk__in=gone).update(
                    status=Deviation.Status.DISMISSED,
                    dismissal_reason=_GONE,
                    decided_at=Now(),
                    version=F("version") + 1,
                    updated_at=Now(),
                )
    return raised


def active_subjects():
    """The subjects ``sync_deviations`` looks at (the management command): enrolled and on."""
    return Subject.objects.filter(status__in=[str(s) for s in _ACTIVE]).select_related("site")

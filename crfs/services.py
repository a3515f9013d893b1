"""The one way a visit CRF is written: ``save_crf`` validates, derives and saves, for the
pages and the API alike (issue 13 section 2).

Validation, in this order, every refusal a ``ValidationError`` keyed by field with a ``code``:
the CRF must be one the visit's kind expects (``form_not_expected``) at a visit not missed
(``visit_missed``); each value inside the physiological limits of the one plausibility table
(``eligibility.plausibility.PLAUSIBLE``; ``implausible_value``, the message gives the expected
range); the date of assessment not before the consent nor after the site's today; the CRF's
own rules (a measurement left empty needs a "not done" reason, the 24-h urine protein from
2+ on, one of RR and heart rate, findings for an abnormal exam). Derived values (BSA, QTcF,
CTCAE grades) are computed from the pure modules and stored. First entry: no reason needed;
a correction: the version the user opened (``EditConflict`` otherwise) and a reason. Audited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from accounts.access import Action, require
from alter_s006 import protocol as P
from alter_s006.edit_check_sets import sync_set
from alter_s006.templatetags.edc_format import format_unit
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from crfs import derived, selectors, soa
from crfs import edit_checks as checks
from crfs.models import Ecg, Urinalysis, VitalSigns
from crfs.registry import FORMS, FormSpec, form_states
from eligibility.plausibility import PLAUSIBLE
from queries.services import close_checks, sync_check
from safety import grading
from safety.services.labs import loaded_relations
from subjects.edit_checks import VISIT_MISSED
from subjects.models import Subject, Visit
from subjects.services import visit_overdue

# field -> key of the plausibility table
LIMITS = {
    "systolic": "systolic",
    "diastolic": "diastolic",
    "heart_rate": "heart_rate",
    "temperature": "temperature",
    "weight": "weight",
    "height": "height",
    "qt": "qt",
    "rr": "rr",
    "protein_24h": "urine_protein_24h",
    "tsh": "tsh",
    "ft4": "ft4",
}
# measurements that may be left empty with a "not done" reason, per CRF
SKIPPABLE = {
    "vital_signs": ("systolic", "diastolic", "heart_rate", "temperature", "weight"),
    "thyroid_function": ("tsh", "ft4"),
}


def spec_for(form_key: str) -> FormSpec:
    spec = FORMS.get(form_key)
    if spec is None or not spec.own:
        raise ValidationError(
            {"form": ValidationError(_("No such visit CRF."), code="unknown_form")}
        )
    return spec


def current_record(visit: Visit, spec: FormSpec):
    rows = spec.model.objects.filter(visit=visit)
    if spec.review_kind:
        rows = rows.filter(kind=spec.review_kind)
    return rows.first()


def baseline_vitals(subject: Subject) -> VitalSigns | None:
    """The screening visit's vital signs: the height for BSA, the weight the weight change is
    graded against (CTCAE "from baseline")."""
    return (
        VitalSigns.objects.filter(subject=subject, visit__kind="screening")
        .order_by("assessed_on", "pk")
        .first()
    )


def _check_expected(visit: Visit, spec: FormSpec) -> None:
    if spec.key not in soa.forms_of_kind(visit.kind):
        raise ValidationError(
            {
                "__all__": ValidationError(
                    _("The schedule of assessments does not expect %(f)s at this visit.")
                    % {"f": spec.label},
                    code="form_not_expected",
                )
            }
        )
    if visit.missed:
        raise ValidationError(
            {
                "__all__": ValidationError(
                    _("This visit is recorded as missed: no CRF can be entered for it."),
                    code="visit_missed",
                )
            }
        )


def _plausible(errors: dict, values: dict, spec: FormSpec) -> None:
    for name, key in LIMITS.items():
        value = values.get(name)
        if name not in spec.fields or value is None or name in errors:
            continue
        low, high = PLAUSIBLE[key]
        if value < low or value > high:
            unit = format_unit(spec.units.get(name, ""))
            errors[name] = ValidationError(
                _("%(v)s %(u)s is not a possible value (expected %(lo)s–%(hi)s %(u)s).")
                % {"v": value, "u": unit, "lo": low, "hi": high},
                code="implausible_value",
            )


def _check_date(errors: dict, subject: Subject, day) -> None:
    if not isinstance(day, dt.date):
        errors["assessed_on"] = ValidationError(_("Enter the date of assessment."), code="required")
    elif day > subject.site.today():
        errors["assessed_on"] = ValidationError(
            _("The date of assessment cannot be in the future."), code="future_date"
        )
    elif day < subject.consent_date:
        errors["assessed_on"] = ValidationError(
            _("The assessment cannot be dated before the informed consent (%(d)s).")
            % {"d": subject.consent_date.isoformat()},
            code="before_consent",
        )


def _required(errors: dict, name: str, message: str) -> None:
    errors.setdefault(name, ValidationError(message, code="required"))


def _check_rules(errors: dict, spec: FormSpec, values: dict, visit: Visit) -> None:
    """Each CRF's own completeness rules (beyond the plausibility limits)."""
    key = spec.key
    skipped = [n for n in SKIPPABLE.get(key, ()) if values.get(n) is None]
    if skipped and not values.get("not_done_reason"):
        for name in skipped:
            _required(
                errors,
                name,
                _("Enter the value, or say why it was not done (reason below)."),
            )
    if key == "vital_signs":
        sbp, dbp = values.get("systolic"), values.get("diastolic")
        if sbp is not None and dbp is not None and dbp >= sbp and "diastolic" not in errors:
            errors["diastolic"] = ValidationError(
                _("The diastolic pressure must be lower than the systolic."),
                code="diastolic_not_below_systolic",
            )
        if visit.kind == "screening" and values.get("height") is None:
            _required(errors, "height", _("Enter the height: the BSA of every visit uses it."))
    elif key == "ecg":
        if values.get("qt") is None:
            _required(errors, "qt", _("Enter the QT interval."))
        has_rr, has_hr = values.get("rr") is not None, values.get("heart_rate") is not None
        if has_rr == has_hr:
            errors.setdefault(
                "rr",
                ValidationError(
                    _("Enter either the RR interval or the heart rate (one of the two)."),
                    code="rr_or_heart_rate",
                ),
            )
        if not values.get("interpretation"):
            _required(errors, "interpretation", _("Choose the interpretation."))
        elif values["interpretation"] == Ecg.Interpretation.CS and not values.get("findings"):
            _required(errors, "findings", _("Describe the clinically significant finding."))
    elif key == "urinalysis":
        reading = values.get("protein_dipstick")
        if not reading:
            _required(errors, "protein_dipstick", _("Choose the dipstick reading."))
        elif (
            derived.needs_24h_protein(reading, P.URINE_PROTEIN_24H_FROM_DIPSTICK_PLUS)
            and values.get("protein_24h") is None
            and not values.get("not_done_reason")
        ):
            _required(
                errors,
                "protein_24h",
                _(
                    "A dipstick of %(n)s+ or more asks for the 24-h urine protein: enter it, "
                    "or say why it was not done."
                )
                % {"n": P.URINE_PROTEIN_24H_FROM_DIPSTICK_PLUS},
            )
    elif key == "physical_exam":
        if not values.get("result"):
            _required(errors, "result", _("Choose the result."))
        elif values["result"] == "abnormal" and not (values.get("findings") or "").strip():
            _required(errors, "findings", _("List the abnormal findings."))
    elif key == "ecog":
        if values.get("score") is None:
            _required(errors, "score", _("Choose the ECOG performance status."))
    elif spec.review_kind and not values.get("answer"):
        _required(errors, "answer", _("Say what the review found."))


def _urine_protein_uln(subject: Subject, day) -> Decimal | None:
    """The site's upper limit of normal for the 24-h urine protein (g/24 h) in force on
    ``day`` for the subject's sex (the lab panel's reference ranges), or None."""
    from eligibility import rules as eligibility_rules
    from eligibility.models import ReferenceRange
    from eligibility.services import ref_range

    rows = {
        ref_range(r): r
        for r in ReferenceRange.objects.filter(
            site_id=subject.site_id, analyte="urine_protein_24h", unit="g/24 h"
        )
    }
    chosen = eligibility_rules.select_reference_range(
        rows, analyte="urine_protein_24h", sex=subject.sex, on=day
    )
    return chosen.uln if chosen is not None else None


def _derive(spec: FormSpec, record, subject: Subject) -> None:
    """Compute the stored derived values of ``record`` (unsaved) from what was typed."""
    if spec.key == "vital_signs":
        baseline = baseline_vitals(subject)
        if baseline is not None and baseline.visit_id == record.visit_id:
            baseline = None  # this very form is the baseline
        height = record.height or (baseline.height if baseline else None)
        record.bsa = (
            derived.bsa_mosteller(height, record.weight) if height and record.weight else None
        )
        record.hypertension_grade = (
            grading.grade_blood_pressure(record.systolic, record.diastolic).grade
            if record.systolic is not None and record.diastolic is not None
            else None
        )
        record.fever_grade = (
            grading.grade_fever(record.temperature).grade
            if record.temperature is not None
            else None
        )
        record.weight_term, record.weight_grade, record.weight_note = "", None, ""
        if baseline is not None and baseline.weight and record.weight:
            result = grading.grade_weight_change(baseline.weight, record.weight)
            record.weight_term, record.weight_grade = result.term, result.grade
            record.weight_note = result.note[:200]
    elif spec.key == "ecg":
        record.qtcf = derived.qtcf_ms(
            Decimal(record.qt),
            rr_ms=Decimal(record.rr) if record.rr is not None else None,
            heart_rate_bpm=Decimal(record.heart_rate) if record.heart_rate is not None else None,
        )
        confirmed = (
            record.qtcf >= grading.QTC_GRADE_3_MS
            and Ecg.objects.filter(subject=subject, qtcf__gte=grading.QTC_GRADE_3_MS)
            .exclude(visit_id=record.visit_id)
            .exists()
        )
        result = grading.grade("qtc", record.qtcf, "ms", confirmed=confirmed)
        record.qtc_grade, record.qtc_note = result.grade, result.note[:300]
    elif spec.key == "urinalysis":
        result = None
        if record.protein_24h is not None:
            uln = _urine_protein_uln(subject, record.assessed_on)
            if uln is not None:
                result = grading.grade("urine_protein_24h", record.protein_24h, "g/24 h", uln=uln)
        if result is None:  # no 24-h value, or no site range to grade it against
            result = grading.grade("urine_protein_dipstick", record.protein_dipstick, "dipstick")
        record.proteinuria_grade, record.proteinuria_note = result.grade, result.note[:300]


PARTIAL_OK = ("required", "rr_or_heart_rate")  # what the live preview lets pass while typing


def validate(
    spec: FormSpec,
    visit: Visit,
    values: dict,
    record=None,
    *,
    derive: bool = True,
    partial: bool = False,
):
    """The record ``values`` would make (unsaved, derived values computed) or one
    ValidationError with every refusal. Also the htmx preview's path (nothing saved), with
    ``partial``: values still missing are not refused, and what they would give is left out;
    a value typed wrong (implausible, a date after today) is refused all the same."""
    subject = visit.subject
    unknown = set(values) - set(spec.fields)
    if unknown:
        raise ValidationError(
            {
                name: ValidationError(_("Not a field of this CRF."), code="unknown_field")
                for name in sorted(unknown)
            }
        )
    errors: dict[str, ValidationError] = {}
    _check_date(errors, subject, values.get("assessed_on"))
    _plausible(errors, values, spec)
    _check_rules(errors, spec, values, visit)
    if partial:
        errors = {k: e for k, e in errors.items() if e.code not in PARTIAL_OK}
    if errors:
        raise ValidationError(errors)
    candidate = record or spec.model(subject=subject, visit=visit)
    if spec.review_kind:
        candidate.kind = spec.review_kind
    for name in spec.fields:
        value = values.get(name)
        field = spec.model._meta.get_field(name)
        if value is None and not field.null:
            value = "" if field.get_internal_type() in ("CharField", "TextField") else value
        setattr(candidate, name, value)
    candidate.full_clean(
        exclude=[*loaded_relations(candidate), "subject", "visit", "recorded_by", "kind"],
        validate_constraints=False,
    )
    if derive:
        try:
            _derive(spec, candidate, subject)
        except (derived.DerivationError, grading.GradingError, TypeError):
            if not partial:
                raise
    return candidate


def derived_fields(spec: FormSpec) -> list[str]:
    """The columns the service computes (never typed), for the correction and the API."""
    return [
        f.name
        for f in spec.model._meta.concrete_fields
        if not f.editable
        and not f.is_relation
        and f.name not in ("id", "version", "created_at", "updated_at", "kind")
    ]


def save_crf(
    *,
    visit: Visit,
    form_key: str,
    by,
    values: dict,
    expected_version: int | None = None,
    reason: str = "",
):
    """Record (``expected_version`` None) or correct one visit CRF; see the module docstring.

    Recording a CRF already recorded is refused (``already_recorded``: correct it instead);
    correcting one not recorded too (``not_recorded``)."""
    spec = spec_for(form_key)
    subject = visit.subject
    require(by, Action.ENTER_DATA, subject.site_id)
    _check_expected(visit, spec)
    existing = current_record(visit, spec)
    if existing is not None and expected_version is None:
        raise ValidationError(
            {
                "__all__": ValidationError(
                    _("%(f)s is already recorded for this visit: correct it instead.")
                    % {"f": spec.label},
                    code="already_recorded",
                )
            }
        )
    if existing is None and expected_version is not None:
        raise ValidationError(
            {
                "__all__": ValidationError(
                    _("%(f)s is not recorded for this visit yet.") % {"f": spec.label},
                    code="not_recorded",
                )
            }
        )
    if existing is not None:
        reason = require_reason(reason)
    record = validate(spec, visit, values)
    with transaction.atomic():
        lock_audit_chain(subject)
        if existing is None:
            record.recorded_by = by
            with audit_context(
                user=by, reason=f"{spec.label} recorded ({visit.code})", subject=subject
            ):
                record.save()
        else:
            current = spec.model.objects.select_for_update().get(pk=existing.pk)
            if current.version != expected_version:
                raise EditConflict(
                    current=current,
                    submitted={n: values.get(n) for n in spec.fields},
                    expected_version=expected_version,
                )
            changes = {n: getattr(record, n) for n in (*spec.fields, *derived_fields(spec))}
            with audit_context(user=by, reason=reason, subject=subject):
                spec.model.objects.filter(pk=current.pk).update(
                    **changes, version=F("version") + 1, updated_at=Now()
                )
            record = spec.model.objects.get(pk=current.pk)
        touched = [record]
        if spec.key in ("vital_signs", "ecg"):
            touched += _rederive_dependants(spec, record, subject, by)
        sync_grade_queries(subject, touched)
        due = spec.key in checks.INCOMPLETE and crf_query_due(visit, subject.site.today())
        if existing is None and due:
            # complete now: the query the periodic check may have raised on it closes
            with audit_context(user=by, reason=f"{spec.label} recorded ({visit.code})"):
                close_checks(record=visit, checks=[checks.INCOMPLETE[spec.key].id])
        if visit.kind == "screening":
            close_screening_visit(subject, by=by)
    return record


def _rederive_dependants(spec: FormSpec, record, subject: Subject, by) -> list:
    """Values derived from this CRF at other visits follow a change of it: the screening
    height and weight feed every visit's BSA and weight grade; an ECG's QTcF can confirm
    (or no longer confirm) another ECG's grade 3."""
    if spec.key == "vital_signs" and record.visit.kind != "screening":
        return []
    model = spec.model
    changed = []
    others = model.objects.filter(subject=subject).exclude(pk=record.pk).select_related("visit")
    fields = derived_fields(spec)
    for other in others:
        before = {f: getattr(other, f) for f in fields}
        _derive(spec, other, subject)
        after = {f: getattr(other, f) for f in fields}
        if after != before:
            with audit_context(
                user=by,
                reason=f"Derived values recomputed after {spec.label} of {record.visit.code}",
                subject=subject,
            ):
                model.objects.filter(pk=other.pk).update(**after, updated_at=Now())
            changed.append(other)
    return changed


def visit_forms(visit: Visit, states=None) -> tuple[list[dict], soa.Completeness]:
    """The CRFs ``visit`` expects, each with its state and page, and the visit's completeness."""
    expected = soa.expected_forms(visit.kind, visit.number)
    states = form_states([visit]) if states is None else states
    by_key = {key: states.get((visit.pk, key), soa.FormState.MISSING) for key, _n in expected}
    rows = [
        {
            "key": key,
            "spec": FORMS[key],
            "need": need,
            "state": by_key[key],
            "url": FORMS[key].url(visit),
        }
        for key, need in expected
    ]
    return rows, soa.visit_completeness(expected, by_key, missed=visit.missed)


def crf_query_due(visit: Visit, today: dt.date) -> bool:
    """Held more than ``P.CRF_QUERY_AFTER_DAYS`` days ago: on day visit + 7 not yet, the day
    after yes (counted as ``soa.days_incomplete`` counts the days late). A missed visit
    expects no CRF."""
    if visit.actual_date is None or visit.missed:
        return False
    return (today - visit.actual_date).days > P.CRF_QUERY_AFTER_DAYS


def sync_incomplete_crfs(subject: Subject, visits: list[Visit], today: dt.date) -> None:
    """One query per (visit, required CRF) still missing or incomplete more than
    ``P.CRF_QUERY_AFTER_DAYS`` days after the visit (``visits``: all the subject's), closed
    once complete; in the caller's transaction and audit context. One query per CRF table."""
    late = [v for v in visits if crf_query_due(v, today)]
    completeness = completeness_of(late)
    failing = {}
    for visit in late:
        done = completeness[visit.pk]
        for form in (*done.missing, *done.incomplete):
            check = checks.INCOMPLETE[form]
            text = check.text(
                form=FORMS[form].label,
                visit=visit.code,
                date=visit.actual_date.isoformat(),
                days=P.CRF_QUERY_AFTER_DAYS,
            )
            failing[(visit.pk, check.id)] = (visit, check, text)
    definitions = list(checks.INCOMPLETE.values())
    sync_set(subject=subject, model=Visit, definitions=definitions, failing=failing)


def completeness_of(visits) -> dict[int, soa.Completeness]:
    """Visit id -> completeness, for a whole timeline in a fixed number of queries."""
    visits = list(visits)
    states = form_states(visits)
    out = {}
    for v in visits:
        expected = soa.expected_forms(v.kind, v.number)
        by_key = {key: states.get((v.pk, key), soa.FormState.MISSING) for key, _n in expected}
        out[v.pk] = soa.visit_completeness(expected, by_key, missed=v.missed)
    return out


def close_screening_visit(subject: Subject, *, by) -> bool:
    """The screening visit is done once its CRFs are complete (PROTOCOL.md "Schedule of
    assessments"): dated by the investigator's eligibility signature (the site's date), or
    the last CRF's date. Returns whether it was closed now."""
    from eligibility.services import current_signature

    visit = Visit.objects.filter(
        subject=subject, kind="screening", actual_date__isnull=True, missed=False
    ).first()
    if visit is None:
        return False
    if completeness_of([visit])[visit.pk].state is not soa.VisitState.COMPLETE:
        return False
    signature = current_signature(subject)
    day = (
        signature.signed_at.astimezone(subject.site.tz).date()
        if signature is not None
        else subject.site.today()
    )
    with audit_context(
        user=by, reason="Screening visit done: every screening CRF complete", subject=subject
    ):
        Visit.objects.filter(pk=visit.pk, actual_date__isnull=True).update(
            actual_date=day, version=F("version") + 1, updated_at=Now()
        )
        if visit_overdue(visit, subject.site.today()):
            # recorded now: the "visit missed" query the periodic check raised closes
            close_checks(record=visit, checks=[VISIT_MISSED.id])
    return True


GRADE_CHECK = checks.GRADE_WITHOUT_AE.id
GRADED_MODELS = (VitalSigns, Ecg, Urinalysis)


def sync_grade_queries(subject: Subject, records) -> None:
    """A CTCAE grade >= 2 derived from a visit CRF without an AE of that term covering its date
    keeps a system query open on the record (the lab panel's pattern), closed once an AE
    covers it or the grade drops: one query per record, whatever its grades."""
    offers = selectors.offered_aes_many(records)
    for record in records:
        open_offers = offers.get(record.pk, [])
        text = "; ".join(
            f"{o['grade'].term} grade {o['grade'].grade} ({o['grade'].shown}) on "
            f"{record.assessed_on.isoformat()}"
            for o in open_offers
        )
        sync_check(
            record=record,
            subject=subject,
            check=GRADE_CHECK,
            field=checks.GRADE_WITHOUT_AE.field,
            failing=bool(open_offers),
            text=checks.GRADE_WITHOUT_AE.text(version=P.CTCAE_VERSION, grades=text)
            if open_offers
            else "",
        )


# CTCAE term -> (visit CRF, its grade column) that grades it
_GRADED_BY_TERM = {
    "Hypertension": (VitalSigns, "hypertension_grade"),
    "Fever": (VitalSigns, "fever_grade"),
    "Weight loss": (VitalSigns, "weight_grade"),
    "Weight gain": (VitalSigns, "weight_grade"),
    "Electrocardiogram QT corrected interval prolonged": (Ecg, "qtc_grade"),
    "Proteinuria": (Urinalysis, "proteinuria_grade"),
}


def sync_subject_grade_queries(subject: Subject, terms) -> None:
    """After an AE write touching ``terms``: the subject's visit CRFs graded >= 2 in one of
    them follow (their query closes when the AE covers them, opens again when it no longer
    does). One query per CRF table concerned; none for a term no visit CRF grades."""
    wanted: dict[type, Q] = {}
    for term in terms:
        found = _GRADED_BY_TERM.get(term)
        if found is None:
            continue
        model, column = found
        condition = Q(**{f"{column}__gte": P.LAB_AE_OFFER_MIN_GRADE})
        if column == "weight_grade":
            condition &= Q(weight_term=term)
        wanted[model] = wanted[model] | condition if model in wanted else condition
    records = []
    for model, condition in wanted.items():
        records += list(model.objects.filter(condition, subject=subject))
    if records:
        sync_grade_queries(subject, records)


def on_ae_terms_written(sender, *, subject, terms, **kwargs) -> None:
    """``safety.services.aes.ae_terms_written`` receiver."""
    sync_subject_grade_queries(subject, terms)

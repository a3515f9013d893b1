"""Lab panels: each value graded by CTCAE v4.03 against the site's reference range, and the
query kept open while a value of grade >= 2 has no matching adverse event.
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
from alter_s006.templatetags.edc_format import format_unit
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from crfs.soa import forms_of_kind
from eligibility import rules as eligibility_rules
from eligibility import units
from eligibility.models import ReferenceRange
from eligibility.services import ref_range
from queries.models import Query
from queries.services import sync_check
from safety import edit_checks as checks
from safety import grading, plausibility
from safety.models import (
    BP_UNIT,
    LabPanel,
    LabResult,
)
from safety.selectors import matching_terms, offerable
from subjects.models import Subject, Visit


def _ranges(subject: Subject) -> dict[eligibility_rules.RefRange, ReferenceRange]:
    """The site's reference ranges as the pure rules read them, with their rows (one query)."""
    return {ref_range(r): r for r in ReferenceRange.objects.filter(site_id=subject.site_id)}


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
                "no_reference_range",
            )
        return None, None, None
    try:
        lln, uln = (
            None
            if limit is None
            # to the 3 places the column keeps: 97 umol/L is 1.097 mg/dL, not 1.09728...
            else units.convert(limit, chosen.unit, unit, analyte=analyte).quantize(_PLACES)
            for limit in (chosen.lln, chosen.uln)
        )
    except units.UnitError:
        if needed:
            raise _LabError(
                "unit",
                _("The site's reference range for %(a)s is in %(u)s: enter the value in %(u)s.")
                % {"a": spec.label, "u": chosen.unit},
                "range_in_other_unit",
            ) from None
        return None, None, None
    return lln, uln, candidates[chosen]


_PLACES = Decimal("0.001")


class _LabError(Exception):
    def __init__(self, suffix: str, message: str, code: str = "invalid"):
        super().__init__(message)
        self.suffix = suffix
        self.message = message
        self.code = code

    def error(self) -> ValidationError:
        return ValidationError(self.message, code=self.code)


def _grade_value(subject, candidates, analyte, raw, unit, sample_date, confirmed) -> LabResult:
    spec = grading.ANALYTES.get(analyte)
    if spec is None:
        raise _LabError(
            "value",
            _("%(a)s is not an analyte of the lab panel.") % {"a": analyte},
            "unknown_analyte",
        )
    unit = units.normalise_unit(unit or "")
    if unit not in spec.units:
        raise _LabError(
            "unit",
            _("%(u)s is not a unit for %(a)s; use %(units)s.")
            % {"u": unit or "—", "a": spec.label, "units": " or ".join(spec.units)},
            "unit_not_allowed",
        )
    lln, uln, row = _range_for(subject, candidates, analyte, unit, sample_date, spec)
    try:
        result = grading.grade(
            analyte, raw, unit, lln=lln, uln=uln, confirmed=confirmed and analyte == "qtc"
        )
    except grading.GradingError as exc:
        raise _LabError("unit" if exc.field == "unit" else "value", exc.message, exc.code) from exc
    dipstick = analyte == "urine_protein_dipstick"
    if not dipstick:
        _check_plausible(analyte, Decimal(str(raw).strip()), unit)
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


def _check_plausible(analyte: str, value: Decimal, unit: str) -> None:
    """The screening form's limits (one table, ``eligibility.plausibility``): a value no
    patient can have is a typing error, refused by the field."""
    found = plausibility.implausible(analyte, value, unit)
    if found is None:
        return
    raise _LabError(
        "value",
        _("%(v)s %(u)s is not a possible value (expected %(lo)s–%(hi)s %(cu)s); check the report.")
        % {
            "v": value,
            "u": format_unit(unit),
            "lo": found.low,
            "hi": found.high,
            "cu": format_unit(found.unit),
        },
        "implausible_value",
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
        raise _LabError(
            missing, _("Enter both the systolic and the diastolic pressure."), "required"
        )
    try:
        result = grading.grade_blood_pressure(systolic, diastolic)
    except grading.GradingError as exc:
        raise _LabError(exc.field, exc.message, exc.code) from exc
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
        code = exc.error_dict[name][0].code if name in exc.error_dict else "invalid"
        raise _LabError(name, " ".join(exc.messages), code or "invalid") from exc
    return row


def _check_panel(subject: Subject, sample_date, visit) -> dict[str, ValidationError]:
    errors: dict[str, ValidationError] = {}
    if not isinstance(sample_date, dt.date):
        errors["sample_date"] = ValidationError(_("Enter the sample date."), code="required")
    elif sample_date > subject.site.today():
        errors["sample_date"] = ValidationError(
            _("The sample date cannot be in the future."), code="future_date"
        )
    elif sample_date < subject.consent_date:
        errors["sample_date"] = ValidationError(
            _("The sample cannot be dated before the informed consent (%(d)s).")
            % {"d": subject.consent_date.isoformat()},
            code="before_consent",
        )
    if visit is not None and (
        visit.subject_id != subject.pk or "lab_panel" not in forms_of_kind(visit.kind)
    ):
        # the visits whose schedule of assessments has a lab panel (cycles, end of treatment)
        errors["visit"] = ValidationError(
            _("Choose a cycle or end-of-treatment visit of this subject."),
            code="not_a_cycle_visit",
        )
    return errors


def _validated_results(
    subject, sample_date, visit, values, systolic, diastolic, qtc_confirmed
) -> list[LabResult]:
    """Every value graded (unsaved rows), or one ValidationError with every refusal."""
    errors = _check_panel(subject, sample_date, visit)
    bp_given = systolic not in (None, "") or diastolic not in (None, "")
    if not values and not bp_given:
        errors.setdefault(
            "__all__", ValidationError(_("Enter at least one value."), code="no_values")
        )
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
            errors[f"{analyte}-{exc.suffix}"] = exc.error()
            continue
        except ValidationError as exc:
            for name, found in exc.error_dict.items():
                suffix = "unit" if name == "unit" else "value"
                errors.setdefault(f"{analyte}-{suffix}", found)
            continue
        results.append(result)
    if bp_given:
        try:
            results.append(_blood_pressure(systolic, diastolic))
        except _LabError as exc:
            errors[exc.suffix] = exc.error()
    if errors:
        raise ValidationError(errors)
    return results


def loaded_relations(instance) -> list[str]:
    """The foreign keys of ``instance`` set to a row object already read (or just written):
    ``full_clean`` need not ask the database whether that row exists (one ``SELECT 1`` per
    key); the foreign key constraint still holds at commit."""
    return [
        f.name
        for f in instance._meta.concrete_fields
        if f.many_to_one
        and f.is_cached(instance)
        and getattr(instance, f.name) is not None
        and getattr(instance, f.name).pk is not None
    ]


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
    results = _validated_results(
        subject, sample_date, visit, values, systolic, diastolic, qtc_confirmed
    )
    with transaction.atomic():
        lock_audit_chain(subject)
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        panel = LabPanel(subject=locked, visit=visit, sample_date=sample_date, recorded_by=by)
        panel.full_clean(exclude=loaded_relations(panel))
        with audit_context(user=by, reason=f"Lab panel recorded ({sample_date.isoformat()})"):
            panel.save()
            for result in results:
                result.panel = panel
            # one INSERT for the panel's values: the audit trigger is per row all the same
            LabResult.objects.bulk_create(results)
            sync_lab_queries(locked, results)
    return panel


_RESULT_FIELDS = (
    "value",
    "diastolic",
    "reading",
    "unit",
    "lln",
    "uln",
    "reference_range",
    "grade",
    "term",
    "definition",
    "note",
)


def correct_lab_panel(
    *,
    panel: LabPanel,
    by,
    expected_version: int,
    reason: str,
    sample_date: dt.date,
    values: dict[str, tuple[object, str]],
    visit: Visit | None = None,
    systolic=None,
    diastolic=None,
    qtc_confirmed: bool = False,
) -> LabPanel:
    """Correct a recorded panel: the whole panel as it should read (an analyte left out is
    removed), validated and graded as ``record_lab_panel`` does; reason for change required,
    ``EditConflict`` if the panel changed since ``expected_version``. Every value is graded
    again (the range in force on the possibly new sample date), and the "grade >= 2 without
    an AE" queries of the subject are re-synced: a value no longer of that grade closes its
    query, a new one opens one. The AE offers are derived from the stored grades (selectors),
    so they follow. Audited with the reason."""
    subject = panel.subject
    require(by, Action.ENTER_DATA, subject.site_id)
    reason = require_reason(reason)
    results = _validated_results(
        subject, sample_date, visit, values, systolic, diastolic, qtc_confirmed
    )
    with transaction.atomic():
        lock_audit_chain(subject)
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        current = LabPanel.objects.select_for_update().get(pk=panel.pk)
        if current.version != expected_version:
            raise EditConflict(
                current=current,
                submitted={"sample_date": sample_date},
                expected_version=expected_version,
            )
        existing = {r.analyte: r for r in current.results.select_for_update()}
        wanted = {r.analyte: r for r in results}
        with audit_context(user=by, reason=reason):
            LabPanel.objects.filter(pk=current.pk).update(
                sample_date=sample_date, visit=visit, version=F("version") + 1, updated_at=Now()
            )
            touched: list[LabResult] = []
            for analyte, new in wanted.items():
                old = existing.get(analyte)
                if old is None:
                    new.panel = current
                    new.save()
                    continue
                fields = {
                    name: getattr(new, name)
                    for name in _RESULT_FIELDS
                    if getattr(old, name) != getattr(new, name)
                }
                if fields:
                    LabResult.objects.filter(pk=old.pk).update(
                        **fields, version=F("version") + 1, updated_at=Now()
                    )
                    touched.append(old)
            for analyte, old in existing.items():
                if analyte not in wanted:
                    _close_lab_query(old, locked)
                    old.delete()
            panel_results = LabResult.objects.filter(panel=current).select_related("panel")
            sync_lab_queries(locked, panel_results, also=touched)
    return LabPanel.objects.get(pk=panel.pk)


_LAB_CHECK = checks.LAB_WITHOUT_AE.id


def _close_lab_query(result: LabResult, subject: Subject) -> None:
    sync_check(
        record=result,
        subject=subject,
        check=_LAB_CHECK,
        field=checks.LAB_WITHOUT_AE.field,
        failing=False,
        text="",
    )


def _lab_query_text(r: LabResult) -> str:
    return checks.LAB_WITHOUT_AE.text(
        label=r.label,
        value=r.display_value,
        unit=r.unit,
        date=r.panel.sample_date.isoformat(),
        version=P.CTCAE_VERSION,
        grade=r.grade,
        term=r.term,
    )


def lab_results_of_terms(subject: Subject, terms, also_ids=()) -> list[LabResult]:
    """The subject's values an AE write can move: of grade >= 2 and one of ``terms`` (the AE's
    term, before and after), plus ``also_ids`` (the value the AE is recorded from). One query."""
    rows = LabResult.objects.filter(panel__subject=subject).filter(
        Q(term__in=[t for t in terms if t], grade__gte=P.LAB_AE_OFFER_MIN_GRADE)
        | Q(pk__in=list(also_ids))
    )
    return list(rows.select_related("panel"))


def sync_lab_queries(subject: Subject, results, also=()) -> None:
    """A lab value of grade >= 2 without a matching AE keeps a query open until one exists.

    Only ``results`` are looked at — the values of the panel just written, or the values of
    the terms an AE write touched (``lab_results_of_terms``) — never all of the subject's:
    whether a value is matched depends only on its own term and date and on the subject's AEs
    of that term. ``also``: values just corrected or removed, whose query closes when they are
    no longer offerable. A fixed number of statements whatever the number of values (one read
    of the AEs, one of the open queries, then at most one UPDATE to close, one INSERT to open,
    and one UPDATE per value whose query text changed — only a corrected value's can)."""
    results = offerable(results)
    offered = {r.pk for r in results}
    closing = {r.pk for r in also if r.pk not in offered}
    matched = matching_terms(subject.pk, results)
    failing = {r.pk: r for r in results if not matched[r.pk]}
    closing |= offered - set(failing)
    if not closing and not failing:
        return
    open_rows = Query.objects.filter(
        record_type=LabResult._meta.label_lower,
        edit_check=_LAB_CHECK,
        origin=Query.Origin.SYSTEM,
        status=Query.Status.OPEN,
    )
    looked_at = open_rows.filter(record_id__in=closing | set(failing))
    current = dict(looked_at.values_list("record_id", "text"))
    to_close = [pk for pk in closing if pk in current]
    if to_close:
        open_rows.filter(record_id__in=to_close).update(
            status=Query.Status.CLOSED,
            closed_at=Now(),
            resolution="Closed by the system: the data no longer fail the check.",
            version=F("version") + 1,
            updated_at=Now(),
        )
    new = []
    for pk, r in failing.items():
        text = _lab_query_text(r)
        if pk not in current:
            new.append(
                Query(
                    subject=subject,
                    record_type=LabResult._meta.label_lower,
                    record_id=pk,
                    field=checks.LAB_WITHOUT_AE.field,
                    edit_check=_LAB_CHECK,
                    text=text,
                    origin=Query.Origin.SYSTEM,
                )
            )
        elif current[pk] != text:
            open_rows.filter(record_id=pk).exclude(text=text).update(
                text=text, version=F("version") + 1, updated_at=Now()
            )
    if new:
        Query.objects.bulk_create(new)

"""Lab panels: each value graded by CTCAE v4.03 against the site's reference range, and the
query kept open while a value of grade >= 2 has no matching adverse event.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.access import Action, require
from alter_s006 import protocol as P
from audit.context import audit_context, lock_audit_chain
from eligibility import rules as eligibility_rules
from eligibility import units
from eligibility.models import ReferenceRange
from eligibility.services import ref_range
from queries.services import sync_check
from safety import grading
from safety.models import (
    BP_UNIT,
    LabPanel,
    LabResult,
)
from safety.selectors import matching_terms, offerable
from subjects.models import Subject, Visit
from subjects.schedule import VisitKind


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
            sync_lab_queries(locked)
    return panel


def sync_lab_queries(subject: Subject) -> None:
    """A lab value of grade >= 2 without a matching AE keeps a query open until one exists."""
    results = offerable(LabResult.objects.filter(panel__subject=subject).select_related("panel"))
    matched = matching_terms(subject.pk, results)
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

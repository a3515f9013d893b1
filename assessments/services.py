"""Write paths and selectors of the RECIST 1.1 tumour assessments; ``assessments.recist`` decides.

Nothing is stored when a check fails: every write runs in one transaction and the pure engine's
:class:`~assessments.recist.RecistError` becomes a ``ValidationError`` keyed by a form-like
field name (``targets-2-organ`` for the pure ``targets[2].organ``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, NoReturn

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Prefetch
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from alter_s006 import protocol as P
from assessments import edit_checks as checks
from assessments import notes, recist
from assessments.models import Lesion, LesionMeasurement, Timepoint
from audit.context import audit_context, lock_audit_chain
from audit.versioning import EditConflict, require_reason
from queries.services import sync_check
from subjects.models import Subject, Visit
from subjects.schedule import VisitKind

_INDEXED = re.compile(r"\[(\d+)\]\.?")


class RecordedTimepoint(NamedTuple):
    timepoint: Timepoint
    out_of_window: bool  # no tumour-assessment visit window contains the scan date


def form_field(field: str) -> str:
    """``targets[2].organ`` -> ``targets-2-organ``; ``targets[5]`` -> ``targets-5``."""
    return _INDEXED.sub(lambda m: f"-{m.group(1)}-", field).rstrip("-")


def _recist_error(exc: recist.RecistError) -> ValidationError:
    return ValidationError(
        {form_field(exc.field): ValidationError(notes.error_text(exc), code=exc.code)}
    )


def _mm(value, field: str) -> Decimal | None:
    """A diameter as entered (int, Decimal or text) -> Decimal mm within 0..500, or None."""
    if value is None or value == "":
        return None
    invalid = ValidationError({field: ValidationError(_("Enter the diameter in mm."), "invalid")})
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise invalid
    try:
        mm = Decimal(value)
    except InvalidOperation:
        raise invalid from None
    if not mm.is_finite() or mm < 0:
        raise ValidationError(
            {field: ValidationError(_("A diameter cannot be negative."), "diameter_negative")}
        )
    if mm > recist.MAX_DIAMETER_MM:
        message = _("%(mm)s mm is above the %(limit_mm)s mm limit: check the entry.") % {
            "mm": mm,
            "limit_mm": recist.MAX_DIAMETER_MM,
        }
        raise ValidationError({field: ValidationError(message, "diameter_implausible")})
    return mm


def _refuse(field: str, message: str, code: str) -> NoReturn:
    """Raise the one error of ``field`` with its stable ``code``."""
    raise ValidationError({field: ValidationError(message, code=code)})


def _c1d1(subject: Subject) -> dt.date:
    if subject.c1d1_date is None:
        raise ValidationError(
            _("Tumour assessments are recorded once C1D1 is set."), code="no_c1d1"
        )
    return subject.c1d1_date


def _lesion(data: dict, *, role: str, field: str) -> tuple[Lesion, recist.Lesion]:
    try:
        method = recist.Method(data.get("method", ""))
    except ValueError:
        raise ValidationError(
            {f"{field}-method": ValidationError(_("Choose the method."), "required")}
        ) from None
    diameter = _mm(data.get("diameter_mm"), f"{field}-diameter_mm")
    slice_mm = _mm(data.get("slice_thickness_mm"), f"{field}-slice_thickness_mm")
    is_node = bool(data.get("is_node", False))
    row = Lesion(
        lesion_id=str(data.get("lesion_id", "")).strip(),
        role=role,
        organ=str(data.get("organ", "")).strip(),
        location=str(data.get("location", "")).strip(),
        method=method.value,
        slice_thickness_mm=slice_mm,
        is_node=is_node,
        baseline_date=data.get("baseline_date"),
        baseline_diameter_mm=diameter,
    )
    if is_node and not row.organ:
        row.organ = "lymph node"
    return row, row.to_pure()


def _check_baseline_date(subject: Subject, when, field: str) -> None:
    """A baseline scan is dated within the screening window before C1D1 (PROTOCOL.md)."""
    c1d1 = _c1d1(subject)
    if not isinstance(when, dt.date):
        message = _("Enter the date of the baseline scan.")
        raise ValidationError({field: ValidationError(message, "required")})
    if when > subject.site.today():
        message = _("The baseline scan cannot be in the future.")
        raise ValidationError({field: ValidationError(message, "date_in_future")})
    if not recist.baseline_scan_in_window(when, c1d1):
        message = _("The baseline scan must be within %(d)d days before C1D1 (%(c1d1)s).") % {
            "d": P.SCREENING_MAX_DAYS_BEFORE_C1D1,
            "c1d1": c1d1.isoformat(),
        }
        raise ValidationError({field: ValidationError(message, "baseline_out_of_window")})


def record_baseline(*, subject: Subject, by, targets: list[dict], non_targets: list[dict]):
    """Record the baseline lesions (RECIST 3.1, 4.2) once; nothing is stored if refused.

    Each dict holds ``lesion_id``, ``organ``, ``location``, ``method``, ``slice_thickness_mm``,
    ``is_node``, ``baseline_date`` and ``diameter_mm`` (optional for a non-target lesion).
    A refusal names every row at fault at once, each error by its field, with a code."""
    with transaction.atomic():
        lock_audit_chain(subject)
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        _c1d1(locked)
        if locked.lesions.exists():
            raise ValidationError(
                _("The baseline of this subject is already recorded."), code="baseline_recorded"
            )
        rows, errors = _baseline_rows(locked, targets, non_targets)
        if errors:
            raise ValidationError(errors)
        with audit_context(user=by, reason="RECIST baseline recorded"):
            for row in rows:
                row.save()
        # the baseline is often the screening visit's last CRF (issue 13)
        from crfs.services import close_screening_visit

        close_screening_visit(locked, by=by)
    return rows


def _baseline_rows(subject: Subject, targets: list[dict], non_targets: list[dict]):
    """The lesion rows to store and every error of every row (``{field: [errors]}``)."""
    errors: dict[str, list[ValidationError]] = {}
    rows: list[Lesion] = []
    pure: dict[str, list[recist.Lesion]] = {"targets": [], "non_targets": []}
    positions: dict[str, list[int]] = {"targets": [], "non_targets": []}  # pure -> row index
    for group, role, items in (
        ("targets", Lesion.Role.TARGET, targets),
        ("non_targets", Lesion.Role.NON_TARGET, non_targets),
    ):
        for i, data in enumerate(items):
            field = f"{group}-{i}"
            try:
                row, lesion = _lesion(data, role=role, field=field)
                _check_baseline_date(subject, row.baseline_date, f"{field}-baseline_date")
            except ValidationError as exc:
                exc.update_error_dict(errors)
                continue
            rows.append(row)
            pure[group].append(lesion)
            positions[group].append(i)
            row.subject = subject
            try:
                row.full_clean()
            except ValidationError as exc:
                for name, found in exc.error_dict.items():
                    errors.setdefault(f"{field}-{name}", []).extend(found)
    for problem in recist.baseline_problems(pure["targets"], pure["non_targets"]):
        # the pure field names a position among the rows that could be read: the form's row
        name = re.sub(
            r"^(targets|non_targets)\[(\d+)\]",
            lambda m: _row_field(m, positions),
            problem.field,
        )
        errors.setdefault(form_field(name), []).append(
            ValidationError(notes.error_text(problem), code=problem.code)
        )
    return rows, errors


def _row_field(match: re.Match, positions: dict[str, list[int]]) -> str:
    group, index = match.group(1), int(match.group(2))
    read = positions[group]
    return f"{group}[{read[index] if index < len(read) else index}]"


def _previous(subject: Subject) -> list[Timepoint]:
    return list(subject.timepoints.order_by("scan_date"))


def _ta_visit(subject: Subject, scan_date: dt.date) -> Visit | None:
    visits = subject.visits.filter(
        kind=VisitKind.TUMOUR_ASSESSMENT, earliest__lte=scan_date, latest__gte=scan_date
    )
    return min(visits, key=lambda v: abs((v.target_date - scan_date).days), default=None)


class _Evaluated(NamedTuple):
    result: recist.TimepointResult
    rows: list[LesionMeasurement]
    non_target_status: str
    new_lesion: recist.NewLesion


def _lesions(subject: Subject) -> dict[str, Lesion]:
    lesions = {lesion.lesion_id: lesion for lesion in subject.lesions.all()}
    if not lesions:
        raise ValidationError(_("Record the baseline lesions first."), code="no_baseline")
    return lesions


def _check_scan_date(
    subject: Subject, lesions: dict[str, Lesion], scan_date, others: list[Timepoint]
) -> None:
    """The scan date against the baseline, C1D1, today and the other timepoints (in order)."""
    c1d1 = _c1d1(subject)
    baseline = min(lesion.baseline_date for lesion in lesions.values())
    if not isinstance(scan_date, dt.date):
        _refuse("scan_date", _("Enter the scan date."), "required")
    if scan_date < baseline:
        message = _("The scan is dated before the baseline (%(d)s).") % {"d": baseline.isoformat()}
        _refuse("scan_date", message, "before_baseline")
    if scan_date <= c1d1:
        _refuse("scan_date", _("An on-study scan is dated after C1D1."), "not_after_c1d1")
    if scan_date > subject.site.today():
        _refuse("scan_date", _("The scan date cannot be in the future."), "date_in_future")
    if any(tp.scan_date == scan_date for tp in others):
        message = _("An assessment dated %(d)s is already recorded.") % {"d": scan_date.isoformat()}
        _refuse("scan_date", message, "scan_date_taken")


def _measurement_error(exc: recist.RecistError, pure: list[recist.Measurement]):
    """``measurements[1].merged_into`` -> ``measurements-T2-into``; ``measurements[1].kind`` or
    ``.diameter_mm`` -> ``measurements-T2`` (the lesion's row), other fields as they are."""
    match = re.fullmatch(r"measurements\[(\d+)\]\.(\w+)", exc.field)
    if not match or int(match.group(1)) >= len(pure):
        return _recist_error(exc)
    lesion_id = pure[int(match.group(1))].lesion_id
    suffix = "-into" if match.group(2) == "merged_into" else ""
    return ValidationError(
        {f"measurements-{lesion_id}{suffix}": ValidationError(notes.error_text(exc), code=exc.code)}
    )


def _evaluate(
    lesions: dict[str, Lesion],
    previous_sums: list[Decimal | None],
    measurements: dict[str, tuple[str, object]],
    non_target_status: str,
    new_lesion: str,
) -> _Evaluated:
    """Check the entries of one timepoint and derive its response (nothing stored)."""
    targets = [x for x in lesions.values() if x.role == Lesion.Role.TARGET]
    has_non_targets = any(x.role == Lesion.Role.NON_TARGET for x in lesions.values())
    pure_measurements: list[recist.Measurement] = []
    rows: list[LesionMeasurement] = []
    for lesion_id, entry in measurements.items():
        kind, diameter, *rest = entry
        into_id = (rest[0] if rest else None) or None
        field = f"measurements-{lesion_id}"
        lesion = lesions.get(lesion_id)
        if lesion is None:
            _refuse(field, _("No lesion %(id)s at baseline.") % {"id": lesion_id}, "unknown_lesion")
        if lesion.role != Lesion.Role.TARGET:
            message = _("Only target lesions are measured (non-target: overall status).")
            _refuse(field, message, "not_a_target")
        try:
            kind = recist.MeasurementKind(kind)
        except ValueError:
            _refuse(field, _("Choose the result."), "invalid_choice")
        mm = _mm(diameter, field)
        if kind != recist.MeasurementKind.MERGED:
            into_id = None
        pure_measurements.append(recist.Measurement(lesion_id, kind, mm, into_id))
        rows.append(
            LesionMeasurement(
                lesion=lesion, kind=kind.value, diameter_mm=mm, merged_into=lesions.get(into_id)
            )
        )

    if has_non_targets:
        try:
            non_target = recist.NonTargetStatus(non_target_status)
        except ValueError:
            message = _("Give the status of the non-target lesions.")
            _refuse("non_target_status", message, "required")
    else:
        non_target = None
        non_target_status = ""
    try:
        new = recist.NewLesion(new_lesion)
    except ValueError:
        _refuse("new_lesion", _("Answer: new lesion?"), "required")
    try:
        result = recist.evaluate_timepoint(
            [x.to_pure() for x in targets], previous_sums, pure_measurements, non_target, new
        )
    except recist.RecistError as exc:
        raise _measurement_error(exc, pure_measurements) from exc
    return _Evaluated(result, rows, non_target_status, new)


def _check_investigator(result: recist.TimepointResult, response: str, reason: str) -> str:
    """The investigator's own response: a RECIST value; a different one needs a reason."""
    if response:
        try:
            recist.Response(response)
        except ValueError:
            _refuse("investigator_response", _("Choose a RECIST response."), "invalid_choice")
    disagrees = bool(response) and response != result.overall
    if disagrees and not reason.strip():
        message = _(
            "The investigator's response differs from the computed %(r)s: give the reason."
        ) % {"r": result.overall.value}
        _refuse("disagreement_reason", message, "reason_required")
    return reason.strip() if disagrees else ""


def _check_confirms_equivocal(confirms: bool, new: recist.NewLesion, before: list[Timepoint]):
    previous = recist.NewLesion(before[-1].new_lesion) if before else None
    try:
        recist.check_confirms_equivocal(confirms, new, previous)
    except recist.RecistError as exc:
        raise _recist_error(exc) from exc


def derived(result: recist.TimepointResult) -> dict:
    """The values a timepoint stores from its RECIST result (the API's preview answers them)."""
    return {
        "sum_mm": result.sum_mm,
        "change_from_baseline_pct": result.change_from_baseline_pct,
        "nadir_mm": result.nadir_mm,
        "change_from_nadir_pct": result.change_from_nadir_pct,
        "change_from_nadir_mm": result.change_from_nadir_mm,
        "target_response": result.target_response or "",
        "non_target_response": result.non_target_response or "",
        "overall_response": result.overall.value,
        "notes": [notes.as_json(note) for note in result.notes],
    }


def _sync_queries(tp: Timepoint) -> None:
    """Edit checks of one assessment: an investigator's response that differs from the computed
    one, and a scan date outside every tumour-assessment window, each keep a query open."""
    differs = bool(tp.investigator_response) and tp.investigator_response != tp.overall_response
    sync_check(
        record=tp,
        subject=tp.subject,
        check=checks.INVESTIGATOR_DISAGREES.id,
        field=checks.INVESTIGATOR_DISAGREES.field,
        failing=differs,
        text=checks.INVESTIGATOR_DISAGREES.text(
            investigator=tp.investigator_response,
            computed=tp.overall_response,
            reason=tp.disagreement_reason or "(none)",
        ),
    )
    sync_check(
        record=tp,
        subject=tp.subject,
        check=checks.OUT_OF_WINDOW.id,
        field=checks.OUT_OF_WINDOW.field,
        failing=tp.out_of_window,
        text=checks.OUT_OF_WINDOW.text(
            scan=tp.scan_date.isoformat(),
            interval=P.TUMOUR_ASSESSMENT_INTERVAL_DAYS,
            window=P.TUMOUR_ASSESSMENT_WINDOW_DAYS,
        ),
    )


def preview_timepoint(
    *,
    subject: Subject,
    scan_date,
    measurements: dict[str, tuple[str, object]],
    non_target_status: str,
    new_lesion: str,
    timepoint: Timepoint | None = None,
) -> recist.TimepointResult:
    """The response the entries would get, computed as ``record_timepoint`` would, unsaved.

    ``timepoint``: the stored assessment being corrected (its own sum is not a nadir)."""
    lesions = _lesions(subject)
    before = [
        tp
        for tp in _previous(subject)
        if tp != timepoint and (not isinstance(scan_date, dt.date) or tp.scan_date < scan_date)
    ]
    return _evaluate(
        lesions, [tp.sum_mm for tp in before], measurements, non_target_status, new_lesion
    ).result


def record_timepoint(
    *,
    subject: Subject,
    by,
    scan_date: dt.date,
    measurements: dict[str, tuple[str, object]],
    non_target_status: str,
    new_lesion: str,
    investigator_response: str = "",
    disagreement_reason: str = "",
    confirms_equivocal: bool = False,
) -> RecordedTimepoint:
    """Record one on-study assessment and its RECIST response (RECIST 4.3, 4.4).

    ``measurements`` maps a target ``lesion_id`` to ``(kind, diameter_mm)``. Timepoints are
    entered in date order (each response depends on the earlier sums). The computed overall
    response is kept; an investigator's different response needs a reason.
    ``confirms_equivocal``: the new lesion is the one seen as equivocal on the assessment
    before, so progression is dated back to that first scan (RECIST 4.3.4)."""
    with transaction.atomic():
        lock_audit_chain(subject)
        locked = Subject.objects.select_for_update().select_related("site").get(pk=subject.pk)
        lesions = _lesions(locked)
        previous = _previous(locked)
        _check_scan_date(locked, lesions, scan_date, previous)
        if previous and scan_date < previous[-1].scan_date:
            message = _(
                "Assessments are entered in date order: the last is %(d)s. Correct the stored "
                "assessments instead."
            ) % {"d": previous[-1].scan_date.isoformat()}
            _refuse("scan_date", message, "out_of_order")
        evaluated = _evaluate(
            lesions, [tp.sum_mm for tp in previous], measurements, non_target_status, new_lesion
        )
        reason = _check_investigator(evaluated.result, investigator_response, disagreement_reason)
        _check_confirms_equivocal(confirms_equivocal, evaluated.new_lesion, previous)
        visit = _ta_visit(locked, scan_date)
        timepoint = Timepoint(
            subject=locked,
            visit=visit,
            scan_date=scan_date,
            non_target_status=evaluated.non_target_status,
            new_lesion=evaluated.new_lesion.value,
            confirms_equivocal=confirms_equivocal,
            investigator_response=investigator_response,
            disagreement_reason=reason,
            out_of_window=visit is None,
            **derived(evaluated.result),
        )
        timepoint.full_clean()
        overall = evaluated.result.overall.value
        with audit_context(user=by, reason=f"Tumour assessment recorded: {overall}"):
            timepoint.save()
            for row in evaluated.rows:
                row.timepoint = timepoint
                row.full_clean()
                row.save()
            _sync_queries(timepoint)
    return RecordedTimepoint(timepoint=timepoint, out_of_window=visit is None)


def _recompute(subject: Subject) -> list[Timepoint]:
    """Derive every stored timepoint again, in date order, from the stored entries.

    A correction of a baseline lesion or of one assessment changes the nadir and the
    responses of the later ones; each changed row is saved (and audited) under the caller's
    audit context. Returns the timepoints whose computed overall response changed."""
    lesions = _lesions(subject)
    changed: list[Timepoint] = []
    sums: list[Decimal | None] = []
    rows = LesionMeasurement.objects.select_related("lesion", "merged_into")
    timepoints = subject.timepoints.order_by("scan_date").prefetch_related(
        Prefetch("measurements", queryset=rows)
    )
    for tp in timepoints:
        measurements = {
            m.lesion.lesion_id: (
                m.kind,
                m.diameter_mm,
                m.merged_into.lesion_id if m.merged_into else None,
            )
            for m in tp.measurements.all()
        }
        evaluated = _evaluate(lesions, sums, measurements, tp.non_target_status, tp.new_lesion)
        values = derived(evaluated.result)
        if any(getattr(tp, k) != v for k, v in values.items()):
            if tp.overall_response != values["overall_response"]:
                changed.append(tp)
            Timepoint.objects.filter(pk=tp.pk).update(
                **values, version=F("version") + 1, updated_at=Now()
            )
            tp.refresh_from_db()
            _sync_queries(tp)
        sums.append(evaluated.result.sum_mm)
    return changed


def correct_timepoint(
    *,
    timepoint: Timepoint,
    by,
    expected_version: int,
    reason: str,
    scan_date: dt.date,
    measurements: dict[str, tuple[str, object]],
    non_target_status: str,
    new_lesion: str,
    investigator_response: str = "",
    disagreement_reason: str = "",
    confirms_equivocal: bool = False,
) -> Timepoint:
    """Correct a stored assessment (reason required) and derive it and every later one again.

    The same checks as ``record_timepoint``; the scan date may move but not past another
    assessment (their order is the order the nadir is taken in)."""
    reason = require_reason(reason)
    with transaction.atomic():
        lock_audit_chain(timepoint.subject_id)
        locked = (
            Subject.objects.select_for_update().select_related("site").get(pk=timepoint.subject_id)
        )
        current = Timepoint.objects.select_for_update().get(pk=timepoint.pk)
        if current.version != expected_version:
            raise EditConflict(
                current=current,
                submitted={
                    "scan_date": scan_date,
                    "non_target_status": non_target_status,
                    "new_lesion": new_lesion,
                },
                expected_version=expected_version,
            )
        lesions = _lesions(locked)
        all_timepoints = _previous(locked)
        others = [tp for tp in all_timepoints if tp.pk != current.pk]
        _check_scan_date(locked, lesions, scan_date, others)
        index = all_timepoints.index(current)
        low = all_timepoints[index - 1].scan_date if index else None
        high = all_timepoints[index + 1].scan_date if index + 1 < len(all_timepoints) else None
        if (low and scan_date <= low) or (high and scan_date >= high):
            message = _("The corrected date must stay between the assessments before and after.")
            _refuse("scan_date", message, "out_of_order")
        before = all_timepoints[:index]
        evaluated = _evaluate(
            lesions, [tp.sum_mm for tp in before], measurements, non_target_status, new_lesion
        )
        why = _check_investigator(evaluated.result, investigator_response, disagreement_reason)
        _check_confirms_equivocal(confirms_equivocal, evaluated.new_lesion, before)
        visit = _ta_visit(locked, scan_date)
        with audit_context(user=by, reason=reason):
            Timepoint.objects.filter(pk=current.pk).update(
                scan_date=scan_date,
                visit=visit,
                out_of_window=visit is None,
                non_target_status=evaluated.non_target_status,
                new_lesion=evaluated.new_lesion.value,
                confirms_equivocal=confirms_equivocal,
                investigator_response=investigator_response,
                disagreement_reason=why,
                **derived(evaluated.result),
                version=F("version") + 1,
                updated_at=Now(),
            )
            stored = {m.lesion_id: m for m in current.measurements.all()}
            for row in evaluated.rows:
                old = stored.get(row.lesion_id)
                if old is None:
                    row.timepoint = current
                    row.full_clean()
                    row.save()
                elif (old.kind, old.diameter_mm, old.merged_into_id) != (
                    row.kind,
                    row.diameter_mm,
                    row.merged_into_id,
                ):
                    LesionMeasurement.objects.filter(pk=old.pk).update(
                        kind=row.kind,
                        diameter_mm=row.diameter_mm,
                        merged_into=row.merged_into,
                        version=F("version") + 1,
                        updated_at=Now(),
                    )
            _recompute(locked)
            corrected = Timepoint.objects.get(pk=current.pk)
            _sync_queries(corrected)
    return corrected


LESION_FIELDS = (
    "organ",
    "location",
    "method",
    "slice_thickness_mm",
    "is_node",
    "baseline_date",
    "baseline_diameter_mm",
)


def correct_lesion(*, lesion: Lesion, by, expected_version: int, reason: str, changes: dict):
    """Correct a baseline lesion (reason required): the baseline is checked again as a whole
    (RECIST 3.1, 4.2) and every stored assessment derived again from the corrected sums."""
    reason = require_reason(reason)
    unknown = set(changes) - set(LESION_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be corrected: %s") % ", ".join(sorted(unknown)),
            code="not_correctable",
        )
    with transaction.atomic():
        lock_audit_chain(lesion.subject_id)
        locked = (
            Subject.objects.select_for_update().select_related("site").get(pk=lesion.subject_id)
        )
        current = Lesion.objects.select_for_update().get(pk=lesion.pk)
        if current.version != expected_version:
            raise EditConflict(
                current=current, submitted=changes, expected_version=expected_version
            )
        candidate = Lesion.objects.get(pk=current.pk)
        for name, value in changes.items():
            if name in ("slice_thickness_mm", "baseline_diameter_mm"):
                value = _mm(value, name)
            setattr(candidate, name, value)
        try:
            recist.Method(candidate.method)
        except ValueError:
            _refuse("method", _("Choose the method."), "required")
        lesions = [candidate if x.pk == candidate.pk else x for x in locked.lesions.all()]
        targets = [x.to_pure() for x in lesions if x.role == Lesion.Role.TARGET]
        non_targets = [x.to_pure() for x in lesions if x.role == Lesion.Role.NON_TARGET]
        try:
            recist.validate_baseline(targets, non_targets)
        except recist.RecistError as exc:
            # the field of the pure error names a position; here it is this lesion's field
            name = exc.field.rsplit(".", 1)[-1] if "." in exc.field else "__all__"
            name = {"diameter_mm": "baseline_diameter_mm"}.get(name, name)
            error = ValidationError(notes.error_text(exc), code=exc.code)
            raise ValidationError({name: error}) from exc
        _check_baseline_date(locked, candidate.baseline_date, "baseline_date")
        candidate.full_clean()
        with audit_context(user=by, reason=reason):
            Lesion.objects.filter(pk=current.pk).update(
                **{name: getattr(candidate, name) for name in changes},
                version=F("version") + 1,
                updated_at=Now(),
            )
            _recompute(locked)
    return Lesion.objects.get(pk=current.pk)


def best_response(
    subject: Subject, *, timepoints=None, has_target: bool | None = None
) -> recist.BestOverallResponse | None:
    """Best overall response with confirmation over the stored timepoints (None before C1D1).

    ``timepoints`` (in scan-date order) and ``has_target`` when the caller read them for many
    subjects at once (the exports); else one query each."""
    if subject.c1d1_date is None:
        return None
    if has_target is None:
        has_target = subject.lesions.filter(role=Lesion.Role.TARGET).exists()
    if timepoints is None:
        timepoints = subject.timepoints.order_by("scan_date")
    non_target_only = not has_target
    scans = [
        recist.ScanResponse(
            scan_date=tp.scan_date,
            overall=recist.Response(tp.overall_response),
            new_lesion=recist.NewLesion(tp.new_lesion),
            non_target_only=non_target_only,
            confirms_equivocal=tp.confirms_equivocal,
        )
        for tp in timepoints
    ]
    return recist.best_overall_response(subject.c1d1_date, scans)

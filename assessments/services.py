"""Write paths and selectors of the RECIST 1.1 tumour assessments; ``assessments.recist`` decides.

Nothing is stored when a check fails: every write runs in one transaction and the pure engine's
:class:`~assessments.recist.RecistError` becomes a ``ValidationError`` keyed by a form-like
field name (``targets-2-organ`` for the pure ``targets[2].organ``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from alter_s006 import protocol as P
from assessments import recist
from assessments.models import Lesion, LesionMeasurement, Timepoint
from audit.context import audit_context, lock_audit_chain
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
    return ValidationError({form_field(exc.field): exc.message})


def _mm(value, field: str) -> Decimal | None:
    """A diameter as entered (int, Decimal or text) -> Decimal mm within 0..500, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ValidationError({field: _("Enter the diameter in mm.")})
    try:
        mm = Decimal(value)
    except InvalidOperation:
        raise ValidationError({field: _("Enter the diameter in mm.")}) from None
    if not mm.is_finite() or mm < 0:
        raise ValidationError({field: _("A diameter cannot be negative.")})
    if mm > recist.MAX_DIAMETER_MM:
        raise ValidationError(
            {field: _("%(mm)s mm is above the 500 mm limit: check the entry.") % {"mm": mm}}
        )
    return mm


def _c1d1(subject: Subject) -> dt.date:
    if subject.c1d1_date is None:
        raise ValidationError(_("Tumour assessments are recorded once C1D1 is set."))
    return subject.c1d1_date


def _lesion(data: dict, *, role: str, field: str) -> tuple[Lesion, recist.Lesion]:
    try:
        method = recist.Method(data.get("method", ""))
    except ValueError:
        raise ValidationError({f"{field}-method": _("Choose the method.")}) from None
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


def record_baseline(*, subject: Subject, by, targets: list[dict], non_targets: list[dict]):
    """Record the baseline lesions (RECIST 3.1, 4.2) once; nothing is stored if refused.

    Each dict holds ``lesion_id``, ``organ``, ``location``, ``method``, ``slice_thickness_mm``,
    ``is_node``, ``baseline_date`` and ``diameter_mm`` (optional for a non-target lesion)."""
    with transaction.atomic():
        lock_audit_chain()
        locked = Subject.objects.select_for_update().get(pk=subject.pk)
        c1d1 = _c1d1(locked)
        if locked.lesions.exists():
            raise ValidationError(_("The baseline of this subject is already recorded."))
        rows: list[Lesion] = []
        pure: dict[str, list[recist.Lesion]] = {"targets": [], "non_targets": []}
        for group, role, items in (
            ("targets", Lesion.Role.TARGET, targets),
            ("non_targets", Lesion.Role.NON_TARGET, non_targets),
        ):
            for i, data in enumerate(items):
                row, lesion = _lesion(data, role=role, field=f"{group}-{i}")
                rows.append(row)
                pure[group].append(lesion)
        try:
            recist.validate_baseline(pure["targets"], pure["non_targets"])
        except recist.RecistError as exc:
            raise _recist_error(exc) from exc
        earliest = c1d1 - dt.timedelta(days=P.SCREENING_MAX_DAYS_BEFORE_C1D1)
        today = locked.site.today()
        for i, row in enumerate(rows):
            group = "targets" if row.role == Lesion.Role.TARGET else "non_targets"
            index = i if group == "targets" else i - len(pure["targets"])
            field = f"{group}-{index}-baseline_date"
            when = row.baseline_date
            if not isinstance(when, dt.date):
                raise ValidationError({field: _("Enter the date of the baseline scan.")})
            if when > today:
                raise ValidationError({field: _("The baseline scan cannot be in the future.")})
            if not earliest <= when <= c1d1:
                raise ValidationError(
                    {
                        field: _(
                            "The baseline scan must be within %(d)d days before C1D1 (%(c1d1)s)."
                        )
                        % {"d": P.SCREENING_MAX_DAYS_BEFORE_C1D1, "c1d1": c1d1.isoformat()}
                    }
                )
            row.subject = locked
            try:
                row.full_clean()
            except ValidationError as exc:
                raise ValidationError(
                    {f"{group}-{index}-{k}": v for k, v in exc.message_dict.items()}
                ) from exc
        with audit_context(user=by, reason="RECIST baseline recorded"):
            for row in rows:
                row.save()
    return rows


def _previous(subject: Subject) -> list[Timepoint]:
    return list(subject.timepoints.order_by("scan_date"))


def _ta_visit(subject: Subject, scan_date: dt.date) -> Visit | None:
    visits = subject.visits.filter(
        kind=VisitKind.TUMOUR_ASSESSMENT, earliest__lte=scan_date, latest__gte=scan_date
    )
    return min(visits, key=lambda v: abs((v.target_date - scan_date).days), default=None)


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
) -> RecordedTimepoint:
    """Record one on-study assessment and its RECIST response (RECIST 4.3, 4.4).

    ``measurements`` maps a target ``lesion_id`` to ``(kind, diameter_mm)``. Timepoints are
    entered in date order (each response depends on the earlier sums). The computed overall
    response is kept; an investigator's different response needs a reason."""
    with transaction.atomic():
        lock_audit_chain()
        locked = Subject.objects.select_for_update().get(pk=subject.pk)
        c1d1 = _c1d1(locked)
        lesions = {lesion.lesion_id: lesion for lesion in locked.lesions.all()}
        if not lesions:
            raise ValidationError(_("Record the baseline lesions first."))
        baseline = min(lesion.baseline_date for lesion in lesions.values())
        if not isinstance(scan_date, dt.date):
            raise ValidationError({"scan_date": _("Enter the scan date.")})
        if scan_date < baseline:
            raise ValidationError(
                {"scan_date": _("The scan is dated before the baseline (%(d)s).") % {"d": baseline}}
            )
        if scan_date <= c1d1:
            raise ValidationError({"scan_date": _("An on-study scan is dated after C1D1.")})
        if scan_date > locked.site.today():
            raise ValidationError({"scan_date": _("The scan date cannot be in the future.")})
        previous = _previous(locked)
        if previous and scan_date <= previous[-1].scan_date:
            raise ValidationError(
                {
                    "scan_date": _("Assessments are entered in date order: the last is %(d)s.")
                    % {"d": previous[-1].scan_date}
                }
            )

        targets = [x for x in lesions.values() if x.role == Lesion.Role.TARGET]
        has_non_targets = any(x.role == Lesion.Role.NON_TARGET for x in lesions.values())
        pure_measurements: list[recist.Measurement] = []
        rows: list[LesionMeasurement] = []
        for lesion_id, (kind, diameter) in measurements.items():
            field = f"measurements-{lesion_id}"
            lesion = lesions.get(lesion_id)
            if lesion is None:
                raise ValidationError(
                    {field: _("No lesion %(id)s at baseline.") % {"id": lesion_id}}
                )
            if lesion.role != Lesion.Role.TARGET:
                raise ValidationError(
                    {field: _("Only target lesions are measured (non-target: overall status).")}
                )
            try:
                kind = recist.MeasurementKind(kind)
            except ValueError:
                raise ValidationError({field: _("Choose the result.")}) from None
            mm = _mm(diameter, field)
            pure_measurements.append(recist.Measurement(lesion_id, kind, mm))
            rows.append(LesionMeasurement(lesion=lesion, kind=kind.value, diameter_mm=mm))

        if has_non_targets:
            try:
                non_target = recist.NonTargetStatus(non_target_status)
            except ValueError:
                raise ValidationError(
                    {"non_target_status": _("Give the status of the non-target lesions.")}
                ) from None
        else:
            non_target = None
            non_target_status = ""
        try:
            new = recist.NewLesion(new_lesion)
        except ValueError:
            raise ValidationError({"new_lesion": _("Answer: new lesion?")}) from None
        try:
            result = recist.evaluate_timepoint(
                [x.to_pure() for x in targets],
                [tp.sum_mm for tp in previous],
                pure_measurements,
                non_target,
                new,
            )
        except recist.RecistError as exc:
            raise _recist_error(exc) from exc

        if investigator_response:
            try:
                recist.Response(investigator_response)
            except ValueError:
                raise ValidationError(
                    {"investigator_response": _("Choose a RECIST response.")}
                ) from None
        disagrees = bool(investigator_response) and investigator_response != result.overall
        if disagrees and not disagreement_reason.strip():
            raise ValidationError(
                {
                    "disagreement_reason": _(
                        "The investigator's response differs from the computed %(r)s: give "
                        "the reason."
                    )
                    % {"r": result.overall.value}
                }
            )
        visit = _ta_visit(locked, scan_date)
        timepoint = Timepoint(
            subject=locked,
            visit=visit,
            scan_date=scan_date,
            non_target_status=non_target_status,
            new_lesion=new.value,
            investigator_response=investigator_response,
            disagreement_reason=disagreement_reason.strip() if disagrees else "",
            sum_mm=result.sum_mm,
            change_from_baseline_pct=result.change_from_baseline_pct,
            nadir_mm=result.nadir_mm,
            change_from_nadir_pct=result.change_from_nadir_pct,
            change_from_nadir_mm=result.change_from_nadir_mm,
            target_response=result.target_response or "",
            non_target_response=result.non_target_response or "",
            overall_response=result.overall.value,
            notes="\n".join(result.notes),
        )
        timepoint.full_clean()
        with audit_context(user=by, reason=f"Tumour assessment recorded: {result.overall.value}"):
            timepoint.save()
            for row in rows:
                row.timepoint = timepoint
                row.full_clean()
                row.save()
    return RecordedTimepoint(timepoint=timepoint, out_of_window=visit is None)


def best_response(subject: Subject) -> recist.BestOverallResponse | None:
    """Best overall response with confirmation over the stored timepoints (None before C1D1)."""
    if subject.c1d1_date is None:
        return None
    non_target_only = not subject.lesions.filter(role=Lesion.Role.TARGET).exists()
    scans = [
        recist.ScanResponse(
            scan_date=tp.scan_date,
            overall=recist.Response(tp.overall_response),
            new_lesion=recist.NewLesion(tp.new_lesion),
            non_target_only=non_target_only,
        )
        for tp in subject.timepoints.order_by("scan_date")
    ]
    return recist.best_overall_response(subject.c1d1_date, scans)

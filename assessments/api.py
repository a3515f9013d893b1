"""RECIST 1.1 tumour assessments over the API: baseline lesions, timepoint entry with every
derived value, corrections, best overall response and the first progression date.

The same access helper and services as the pages (``assessments.views``): refusals are 422
``{"errors": [{"field", "code", "message"}]}`` with the page's field names (``targets-2-organ``,
``measurements-T1``), 409 on a stale ``version``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Prefetch
from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import Action, get_scoped_or_404, require
from alter_s006 import protocol as P
from alter_s006.api_types import Bool, Date, In, Int, Number, PathId, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from assessments import notes, recist, services
from assessments.models import Lesion, LesionMeasurement, Timepoint

router = Router(tags=["tumour assessments"])


class LesionIn(In):
    lesion_id: Text = Field(..., description="T1..T5 for targets, NT1.. for non-targets")
    organ: Text = Field("", description="Organ or site; all lymph nodes count as one organ")
    location: Text = ""
    method: recist.Method
    slice_thickness_mm: Number | None = Field(None, description="Required for a CT/MRI target")
    is_node: Bool = False
    baseline_date: Date
    diameter_mm: Number | None = Field(
        None, description="Longest diameter; short axis of a lymph node; optional for non-target"
    )


class BaselineIn(In):
    targets: list[LesionIn] = Field(default_factory=list, description="At most 5, 2 per organ")
    non_targets: list[LesionIn] = Field(default_factory=list)


class LesionOut(Schema):
    id: int
    lesion_id: str
    role: str = Field(..., description="target or non_target")
    organ: str
    location: str
    method: str
    slice_thickness_mm: Decimal | None
    is_node: bool
    baseline_date: dt.date
    baseline_diameter_mm: Decimal | None
    version: int


class LesionCorrectionIn(In):
    version: Int
    reason: Text = Field(..., description="Reason for change (audit trail)")
    organ: Text | None = None
    location: Text | None = None
    method: recist.Method | None = None
    slice_thickness_mm: Number | None = None
    is_node: Bool | None = None
    baseline_date: Date | None = None
    baseline_diameter_mm: Number | None = None


class MeasurementIn(In):
    kind: recist.MeasurementKind = recist.MeasurementKind.MEASURED
    diameter_mm: Number | None = Field(
        None,
        description="mm; for 'disappeared' a node's short axis (0 for other lesions); for "
        "'split' the sum of the fragments' longest diameters",
    )
    merged_into: Text | None = Field(
        None, description="'merged': the target lesion carrying the coalesced diameter"
    )


class TimepointIn(In):
    scan_date: Date
    measurements: dict[Text, MeasurementIn] = Field(
        ..., description="One per baseline target lesion, keyed by its lesion_id"
    )
    non_target_status: Text = Field(
        "", description="CR, non-CR/non-PD, PD or not evaluated; required with non-targets"
    )
    new_lesion: recist.NewLesion
    confirms_equivocal: Bool = Field(
        False,
        description="The new lesion is the equivocal one of the assessment before: PD is "
        "dated back to that scan (RECIST 4.3.4)",
    )
    investigator_response: Text = Field(
        "", description="The investigator's own response; if it differs, a reason is required"
    )
    disagreement_reason: Text = ""


class TimepointCorrectionIn(TimepointIn):
    version: Int
    reason: Text = Field(..., description="Reason for change (audit trail)")


class NoteOut(Schema):
    code: str = Field(
        ...,
        description="Why the response is what it is, e.g. pr_from_baseline, pd_from_nadir, "
        "target_not_assessed, equivocal_new_lesion, response_not_confirmed (the pages word "
        "each code in the reader's language)",
    )
    params: dict[str, str | int | None] = Field(
        ..., description="The code's values: mm and per cent as decimal text, days, ISO dates"
    )
    text: str = Field(..., description="The note in English, for reading only")


def _notes_out(items) -> list[dict]:
    out = []
    for item in items:
        stored = notes.as_json(item) if isinstance(item, recist.Note) else item
        out.append({**stored, "text": notes.english_text(stored)})
    return out


class MeasurementOut(Schema):
    lesion_id: str
    kind: str
    diameter_mm: Decimal | None
    merged_into: str | None


class TimepointOut(Schema):
    id: int
    scan_date: dt.date
    visit: str | None = Field(..., description="The tumour-assessment visit whose window holds it")
    out_of_window: bool
    measurements: list[MeasurementOut]
    non_target_status: str
    new_lesion: str
    confirms_equivocal: bool
    sum_mm: Decimal | None = Field(..., description="Null when a target was not assessed")
    change_from_baseline_pct: Decimal | None
    nadir_mm: Decimal | None = Field(..., description="Smallest sum before, baseline included")
    change_from_nadir_pct: Decimal | None
    change_from_nadir_mm: Decimal | None
    target_response: str
    non_target_response: str
    overall_response: str = Field(..., description="Computed by RECIST 1.1 tables 1 and 2")
    investigator_response: str
    disagreement_reason: str
    disagrees: bool
    notes: list[NoteOut]
    version: int


class TimepointPreviewOut(Schema):
    sum_mm: Decimal | None = Field(..., description="Null when a target was not assessed")
    change_from_baseline_pct: Decimal | None
    nadir_mm: Decimal | None = Field(..., description="Smallest sum before, baseline included")
    change_from_nadir_pct: Decimal | None
    change_from_nadir_mm: Decimal | None
    target_response: str
    non_target_response: str
    overall_response: str = Field(..., description="Computed by RECIST 1.1 tables 1 and 2")
    notes: list[NoteOut]


class BestResponseOut(Schema):
    response: str | None = Field(..., description="Confirmed best overall response (table 3)")
    response_date: dt.date | None
    confirmed_on: dt.date | None
    first_pd_date: dt.date | None = Field(..., description="Date of first progression (PFS)")
    notes: list[NoteOut]


def _timepoints(rows):
    """Timepoints with what ``_timepoint_out`` reads, in a fixed number of queries."""
    return rows.select_related("visit").prefetch_related(
        Prefetch(
            "measurements",
            queryset=LesionMeasurement.objects.select_related("lesion", "merged_into"),
        )
    )


def _one_timepoint_out(pk: int) -> dict:
    return _timepoint_out(_timepoints(Timepoint.objects.all()).get(pk=pk))


def _timepoint_out(tp: Timepoint) -> dict:
    """``tp`` as fetched by ``_timepoints``."""
    return {
        "id": tp.pk,
        "scan_date": tp.scan_date,
        "visit": tp.visit.code if tp.visit else None,
        "out_of_window": tp.out_of_window,
        "measurements": [
            {
                "lesion_id": m.lesion.lesion_id,
                "kind": m.kind,
                "diameter_mm": m.diameter_mm,
                "merged_into": m.merged_into.lesion_id if m.merged_into else None,
            }
            for m in tp.measurements.all()
        ],
        "non_target_status": tp.non_target_status,
        "new_lesion": tp.new_lesion,
        "confirms_equivocal": tp.confirms_equivocal,
        "sum_mm": tp.sum_mm,
        "change_from_baseline_pct": tp.change_from_baseline_pct,
        "nadir_mm": tp.nadir_mm,
        "change_from_nadir_pct": tp.change_from_nadir_pct,
        "change_from_nadir_mm": tp.change_from_nadir_mm,
        "target_response": tp.target_response,
        "non_target_response": tp.non_target_response,
        "overall_response": tp.overall_response,
        "investigator_response": tp.investigator_response,
        "disagreement_reason": tp.disagreement_reason,
        "disagrees": bool(tp.disagreement_reason),
        "notes": _notes_out(tp.notes),
        "version": tp.version,
    }


def _entries(payload: TimepointIn) -> dict:
    return {
        "scan_date": payload.scan_date,
        "measurements": {
            lesion_id: (m.kind.value, m.diameter_mm)
            for lesion_id, m in payload.measurements.items()
        },
        "non_target_status": payload.non_target_status,
        "new_lesion": payload.new_lesion.value,
        "confirms_equivocal": payload.confirms_equivocal,
        "investigator_response": payload.investigator_response,
        "disagreement_reason": payload.disagreement_reason,
    }


@router.get("/subjects/{subject_id}/lesions", response=list[LesionOut], summary="Baseline lesions")
def list_lesions(request, subject_id: PathId):
    return subject_for(request.auth, subject_id).lesions.order_by("-role", "id")  # targets first


@router.post(
    "/subjects/{subject_id}/lesions",
    response={201: list[LesionOut]},
    summary="Record the baseline lesions (once)",
    description=(
        "Refused (422) with the field at fault: a 6th target, a 3rd target in one organ, a "
        "non-measurable target (< 10 mm on CT/MRI with slices <= 5 mm, node short axis < 15 "
        f"mm), a scan more than {P.SCREENING_MAX_DAYS_BEFORE_C1D1} days before C1D1, a second "
        "baseline."
    ),
)
def record_baseline(request, subject_id: PathId, payload: BaselineIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    rows = services.record_baseline(
        subject=subject,
        by=request.auth,
        targets=[x.model_dump(mode="python") for x in payload.targets],
        non_targets=[x.model_dump(mode="python") for x in payload.non_targets],
    )
    return Status(201, Lesion.objects.filter(pk__in=[r.pk for r in rows]).order_by("-role", "id"))


@router.patch(
    "/lesions/{lesion_id}",
    response=LesionOut,
    summary="Correct a baseline lesion (version and reason); assessments are derived again",
)
def correct_lesion(request, lesion_id: PathId, payload: LesionCorrectionIn):
    lesion = get_scoped_or_404(
        Lesion.objects.select_related("subject"), request.auth, "subject__site", pk=lesion_id
    )
    require(request.auth, Action.ENTER_DATA, lesion.subject.site_id)
    data = payload.model_dump(exclude_unset=True, mode="python")
    version, reason = data.pop("version"), data.pop("reason")
    return services.correct_lesion(
        lesion=lesion, by=request.auth, expected_version=version, reason=reason, changes=data
    )


@router.get(
    "/subjects/{subject_id}/timepoints",
    response=list[TimepointOut],
    summary="Tumour assessments with their derived values, in date order",
    description=API_PAGE_DESCRIPTION,
)
def list_timepoints(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    rows = api_page(request, response, _timepoints(subject.timepoints.all()), page, page_size)
    return [_timepoint_out(tp) for tp in rows]


@router.post(
    "/subjects/{subject_id}/timepoints",
    response={201: TimepointOut},
    summary="Record a tumour assessment; returns the sum, changes and RECIST responses",
    description=(
        "Refused (422): a measurement for a lesion that does not exist, a negative or > 500 mm "
        "diameter, a scan before the baseline, on or before C1D1, in the future or before the "
        "last assessment, an investigator's response differing from the computed one without "
        f"`disagreement_reason`. A scan outside every ±{P.TUMOUR_ASSESSMENT_WINDOW_DAYS}-day "
        "window is stored with "
        "`out_of_window: true`."
    ),
)
def record_timepoint(request, subject_id: PathId, payload: TimepointIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    recorded = services.record_timepoint(subject=subject, by=request.auth, **_entries(payload))
    return Status(201, _one_timepoint_out(recorded.timepoint.pk))


@router.post(
    "/subjects/{subject_id}/timepoints/preview",
    response=TimepointPreviewOut,
    summary="What this assessment would be: its sum, changes and RECIST responses; nothing stored",
    description=(
        "The body of `POST .../timepoints`; the answer is what that would derive now, from the "
        "baseline and the assessments dated before the scan, as the page shows while typing. "
        "Nothing is stored or audited. The investigator's response, its reason and "
        "`confirms_equivocal` do not change the computed values. Refused (422) by field: a "
        "measurement for a lesion that does not exist, a negative or > 500 mm diameter, no "
        "baseline yet."
    ),
)
def preview_timepoint(request, subject_id: PathId, payload: TimepointIn):
    subject = subject_for(request.auth, subject_id)
    entries = _entries(payload)
    result = services.preview_timepoint(
        subject=subject,
        scan_date=entries["scan_date"],
        measurements=entries["measurements"],
        non_target_status=entries["non_target_status"],
        new_lesion=entries["new_lesion"],
    )
    values = _as_stored(services.derived(result))
    return {**values, "notes": _notes_out(result.notes)}


def _as_stored(values: dict) -> dict:
    """Decimals to the places of their column: the preview reads as the recorded assessment."""
    return {
        name: (
            value.quantize(Decimal(1).scaleb(-Timepoint._meta.get_field(name).decimal_places))
            if isinstance(value, Decimal)
            else value
        )
        for name, value in values.items()
    }


@router.patch(
    "/timepoints/{timepoint_id}",
    response=TimepointOut,
    summary="Correct a tumour assessment (version and reason); later ones are derived again",
)
def correct_timepoint(request, timepoint_id: PathId, payload: TimepointCorrectionIn):
    tp = get_scoped_or_404(
        Timepoint.objects.select_related("subject"), request.auth, "subject__site", pk=timepoint_id
    )
    require(request.auth, Action.ENTER_DATA, tp.subject.site_id)
    corrected = services.correct_timepoint(
        timepoint=tp,
        by=request.auth,
        expected_version=payload.version,
        reason=payload.reason,
        **_entries(payload),
    )
    return _one_timepoint_out(corrected.pk)


@router.get(
    "/subjects/{subject_id}/best-response",
    response=BestResponseOut,
    summary="Confirmed best overall response and the date of first progression",
)
def best_response(request, subject_id: PathId):
    subject = subject_for(request.auth, subject_id)
    bor = services.best_response(subject) if subject.timepoints.exists() else None
    if bor is None:
        return {
            "response": None,
            "response_date": None,
            "confirmed_on": None,
            "first_pd_date": None,
            "notes": [],
        }
    return {
        "response": bor.response.value,
        "response_date": bor.response_date,
        "confirmed_on": bor.confirmed_on,
        "first_pd_date": bor.first_pd_date,
        "notes": _notes_out(bor.notes),
    }

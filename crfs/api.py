"""The visit CRFs over the API: a visit's CRFs and completeness, and each visit CRF (read,
record, correct) through the same service as the pages (``crfs.services.save_crf``).

Reads need a site the user may see (another site's visit is 404); writes a coordinator or
investigator of the subject's site (403 otherwise). Refusals are 422
``{"errors": [{"field", "code", "message"}]}`` with the CRF's field names; recording a CRF
already recorded is 422 ``already_recorded``; a correction needs ``version`` (409 when stale)
and ``reason``. Derived values (BSA, QTcF, CTCAE grades) and the AEs they offer are returned,
never accepted.
"""

from decimal import Decimal
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import get_scoped_or_404
from alter_s006.api_types import Date, In, Int, Number, PathId, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from crfs import selectors, services, soa
from crfs.models import DIPSTICK_READINGS, Ecg, PhysicalExam, Review
from crfs.registry import FORMS
from subjects.models import Visit

router = Router(tags=["visit CRFs"])


class FormRowOut(Schema):
    form: str
    label: str
    need: str = Field(..., description="required or optional at this visit")
    state: str = Field(..., description="missing, incomplete or complete")


class VisitFormsOut(Schema):
    visit_id: int
    code: str
    kind: str
    state: str = Field(
        ..., description="not_started, incomplete, complete, or not_expected (a missed visit)"
    )
    required: int
    complete: int
    days_late: int | None = Field(
        ...,
        description="Days the CRFs of a held visit are incomplete past the allowed entry time",
    )
    forms: list[FormRowOut]


class OfferOut(Schema):
    term: str
    term_id: int
    grade: int
    onset_date: str
    verbatim: str


class CrfOut(Schema):
    id: int
    form: str
    subject_id: int
    visit_id: int
    visit_code: str
    version: int
    assessed_on: str
    values: dict[str, Any] = Field(..., description="What was entered, by field")
    derived: dict[str, Any] = Field(..., description="Computed by the server, never accepted")
    ae_offers: list[OfferOut] = Field(
        ..., description="CTCAE grades >= 2 without an adverse event of that term covering the date"
    )


class VitalSignsIn(In):
    assessed_on: Date
    systolic: Int | None = Field(None, description="mm Hg")
    diastolic: Int | None = Field(None, description="mm Hg")
    heart_rate: Int | None = Field(None, description="beats per minute")
    temperature: Number | None = Field(None, description="degrees C")
    weight: Number | None = Field(None, description="kg")
    height: Number | None = Field(None, description="cm; required at screening")
    not_done_reason: Text = Field("", description="Required when a measurement is null")


class EcogIn(In):
    assessed_on: Date
    score: Literal[0, 1, 2, 3, 4, 5]


class PhysicalExamIn(In):
    assessed_on: Date
    result: Literal[tuple(PhysicalExam.Result.values)]  # type: ignore[valid-type]
    findings: Text = ""


class EcgIn(In):
    assessed_on: Date
    qt: Int | None = Field(None, description="ms")
    rr: Int | None = Field(None, description="ms; or heart_rate, one of the two")
    heart_rate: Int | None = Field(None, description="beats per minute")
    interpretation: Literal[tuple(Ecg.Interpretation.values)]  # type: ignore[valid-type]
    findings: Text = ""


class UrinalysisIn(In):
    assessed_on: Date
    protein_dipstick: Literal[DIPSTICK_READINGS]  # type: ignore[valid-type]
    protein_24h: Number | None = Field(None, description="g/24 h; required from 2+")
    not_done_reason: Text = ""


class ThyroidIn(In):
    assessed_on: Date
    tsh: Number | None = Field(None, description="mIU/L")
    ft4: Number | None = Field(None, description="pmol/L")
    not_done_reason: Text = ""


class ReviewIn(In):
    assessed_on: Date
    answer: Literal[tuple(Review.Answer.values)]  # type: ignore[valid-type]
    comment: Text = ""


class Correction(In):
    version: Int = Field(..., description="The version read (optimistic lock)")
    reason: Text = Field(..., description="Reason for change (audit trail)")


SCHEMAS: dict[str, type[In]] = {
    "vital_signs": VitalSignsIn,
    "ecog": EcogIn,
    "physical_exam": PhysicalExamIn,
    "ecg": EcgIn,
    "urinalysis": UrinalysisIn,
    "thyroid_function": ThyroidIn,
    "con_med_review": ReviewIn,
    "ae_review": ReviewIn,
    "medical_history_review": ReviewIn,
    "ae_outcome_review": ReviewIn,
}


def _visit(request, visit_id: int) -> Visit:
    return get_scoped_or_404(
        Visit.objects.select_related("subject__site"),
        request.auth,
        site_path="subject__site",
        pk=visit_id,
    )


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def crf_out(spec, record, offers=None) -> dict:
    return {
        "id": record.pk,
        "form": spec.key,
        "subject_id": record.subject_id,
        "visit_id": record.visit_id,
        "visit_code": record.visit.code,
        "version": record.version,
        "assessed_on": record.assessed_on.isoformat(),
        "values": {n: _plain(getattr(record, n)) for n in spec.fields if n != "assessed_on"},
        "derived": {n: _plain(getattr(record, n)) for n in services.derived_fields(spec)},
        "ae_offers": [
            {
                "term": o["term"].term,
                "term_id": o["term"].pk,
                "grade": o["grade"].grade,
                "onset_date": o["prefill"]["onset_date"],
                "verbatim": o["prefill"]["verbatim"],
            }
            for o in (selectors.offered_aes(record) if offers is None else offers)
        ],
    }


@router.get(
    "/visits/{visit_id}/crfs",
    response=VisitFormsOut,
    summary="The CRFs a visit needs (schedule of assessments), each with its state",
)
def visit_forms(request, visit_id: PathId):
    visit = _visit(request, visit_id)
    rows, completeness = services.visit_forms(visit)
    return {
        "visit_id": visit.pk,
        "code": visit.code,
        "kind": visit.kind,
        "state": completeness.state.value,
        "required": completeness.required,
        "complete": completeness.complete,
        "days_late": soa.days_incomplete(
            visit.actual_date, completeness.state, visit.subject.site.today()
        ),
        "forms": [
            {
                "form": r["key"],
                "label": str(r["spec"].label),
                "need": r["need"].value,
                "state": r["state"].value,
            }
            for r in rows
        ],
    }


def _record_or_404(visit, spec):
    from django.http import Http404

    if spec.key not in soa.forms_of_kind(visit.kind):
        raise Http404("This visit does not have that CRF.")
    record = services.current_record(visit, spec)
    if record is None:
        raise Http404("Not recorded yet.")
    return record


def _register(key: str, schema: type[In]) -> None:
    spec = FORMS[key]
    label = str(spec.label)
    correction = type(f"{schema.__name__}Correction", (schema, Correction), {})
    path = f"/visits/{{visit_id}}/crfs/{key}"

    def read(request, visit_id: PathId):
        visit = _visit(request, visit_id)
        return crf_out(spec, _record_or_404(visit, spec))

    def record(request, visit_id: PathId, payload: schema):
        visit = _visit(request, visit_id)
        saved = services.save_crf(visit=visit, form_key=key, by=request.auth, values=payload.dict())
        return Status(201, crf_out(spec, saved))

    def correct(request, visit_id: PathId, payload: correction):
        visit = _visit(request, visit_id)
        data = payload.dict()
        version, reason = data.pop("version"), data.pop("reason")
        saved = services.save_crf(
            visit=visit,
            form_key=key,
            by=request.auth,
            values=data,
            expected_version=version,
            reason=reason,
        )
        return crf_out(spec, saved)

    def listing(
        request,
        subject_id: PathId,
        response: HttpResponse,
        page: PageQuery = 1,
        page_size: PageSizeQuery = PAGE_SIZE,
    ):
        subject = subject_for(request.auth, subject_id)
        rows = spec.model.objects.filter(subject=subject).select_related("visit")
        if spec.review_kind:
            rows = rows.filter(kind=spec.review_kind)
        rows = api_page(request, response, rows.order_by("assessed_on", "pk"), page, page_size)
        offers = selectors.offered_aes_many(rows)
        return [crf_out(spec, r, offers.get(r.pk, [])) for r in rows]

    listing.__name__ = f"list_{key}"
    router.get(
        f"/subjects/{{subject_id}}/crfs/{key}",
        response=list[CrfOut],
        summary=f"{label}: every visit of a subject, oldest first",
        description=API_PAGE_DESCRIPTION,
        operation_id=f"list_{key}",
        url_name=f"list_{key}",
    )(listing)

    for view, verb in ((read, "read"), (record, "record"), (correct, "correct")):
        view.__name__ = f"{verb}_{key}"
    router.get(
        path,
        response=CrfOut,
        summary=f"{label} of a visit",
        operation_id=f"read_{key}",
        url_name=f"crf_{key}",
    )(read)
    router.post(
        path,
        response={201: CrfOut},
        summary=f"Record the {label} of a visit",
        operation_id=f"record_{key}",
        url_name=f"crf_{key}",
        description="422 `form_not_expected` when the visit's kind does not have this CRF, "
        "`already_recorded` when it is recorded (correct it with PUT).",
    )(record)
    router.put(
        path,
        response=CrfOut,
        summary=f"Correct the {label} of a visit (version and reason)",
        operation_id=f"correct_{key}",
        url_name=f"crf_{key}",
        description="The whole CRF as it should read; 409 if it changed since `version`.",
    )(correct)


for _key, _schema in SCHEMAS.items():
    _register(_key, _schema)

"""Monitoring over the API (issue 14 §7): SDV marks (verify, unverify, worklist), holds
(freeze, lock, unfreeze, unlock), visit and casebook signatures, the subject matrix.

The same access helper and services as the pages: another site's subject is 404, a role
that may not act 403 (nothing stored). Refusals: 422 by field; a write to frozen or locked
data 423 with the reason (``code`` ``frozen`` / ``locked``); a hold already in force 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import get_access, scope
from alter_s006.api_types import Bool, Id, In, PathId, Query, Text
from alter_s006.pagination import API_PAGE_DESCRIPTION, PageQuery, PageSizeQuery, api_page
from alter_s006.web import subject_for
from monitoring import selectors, services
from monitoring.models import Hold, Level, SdvMark, Signature
from subjects.models import Subject, Visit

router = Router(tags=["monitoring"])


class SdvRecordIn(In):
    record_type: Text = Field(..., description="Model label, e.g. `safety.adverseevent`")
    record_id: Id


class SdvVerifyIn(SdvRecordIn):
    fields: list[Text] | None = Field(
        None, description='Items to verify ("" = the whole form); omitted: verify all on the form'
    )


class SdvUnverifyIn(SdvRecordIn):
    field: Text = Field("", description='"" = the whole form')
    comment: Text


class SdvMarkOut(Schema):
    record_type: str
    record_id: int
    field: str
    state: str
    verified_by: str
    verified_at: dt.datetime
    changed_at: dt.datetime | None
    comment: str


class HoldPlaceIn(In):
    kind: Text = Field(..., json_schema_extra={"enum": list(Hold.Kind.values)})
    level: Text = Field(..., json_schema_extra={"enum": list(Level.values)})
    subject_id: Id | None = None
    visit_id: Id | None = None
    record_type: Text = ""
    record_id: Id | None = None
    reason: Text


class HoldLiftIn(In):
    reason: Text
    confirm: Bool = Field(False, description="Confirm voiding the signatures an unlock voids")


class HoldOut(Schema):
    id: int
    kind: str
    level: str
    subject_id: int | None
    visit_id: int | None
    record_type: str
    record_id: int | None
    reason: str
    placed_by: str
    placed_at: dt.datetime
    lifted_at: dt.datetime | None
    lift_reason: str


class SigningSheetOut(Schema):
    level: str
    attestation: str
    content_hash: str = Field(..., description="Send back as `shown_hash` to sign")
    records: int
    incomplete: list[str] = Field(..., description="Required forms still incomplete: no signing")
    open_queries: int


class MonitoringSignIn(In):
    password: Text
    shown_hash: Text = Field(..., description="`content_hash` of the sheet you reviewed")


class MonitoringSignatureOut(Schema):
    id: int
    level: str
    subject_id: int
    visit_id: int | None
    printed_name: str
    meaning: str
    signed_at: dt.datetime
    content_hash: str
    voided_at: dt.datetime | None
    void_reason: str


class SdvWorkOut(Schema):
    record_type: str
    record_id: int
    subject_id: int
    visit_id: int | None


class MatrixCellOut(Schema):
    visit_id: int
    code: str
    icons: list[str]


class MatrixRowOut(Schema):
    subject_id: int
    screening_number: str
    casebook_signed: bool
    visits: list[MatrixCellOut]


def _mark_out(m: SdvMark) -> dict:
    return {
        "record_type": m.record_type,
        "record_id": m.record_id,
        "field": m.field,
        "state": m.state,
        "verified_by": m.verified_by.get_username(),
        "verified_at": m.verified_at,
        "changed_at": m.changed_at,
        "comment": m.comment,
    }


def _hold_out(h: Hold) -> dict:
    return {
        **{k: getattr(h, k) for k in ("id", "kind", "level", "subject_id", "visit_id")},
        **{k: getattr(h, k) for k in ("record_type", "record_id", "reason", "placed_at")},
        "placed_by": h.placed_by.get_username(),
        "lifted_at": h.lifted_at,
        "lift_reason": h.lift_reason,
    }


def _sig_out(s: Signature) -> dict:
    keys = ("id", "level", "subject_id", "visit_id", "printed_name", "meaning", "signed_at")
    return {k: getattr(s, k) for k in keys} | {
        "content_hash": s.content_hash,
        "voided_at": s.voided_at,
        "void_reason": s.void_reason,
    }


def _not_found(field: str) -> ValidationError:
    return ValidationError(
        {field: ValidationError("No such record among the sites you may see.", code="not_found")}
    )


def _subject_in_body(request, subject_id, field="subject_id"):
    """A subject named in the body: one of another site is 422 ``not_found`` on its field
    (as a missing one), never a sign that it exists."""
    try:
        return subject_for(request.auth, subject_id)
    except Http404 as exc:
        raise _not_found(field) from exc


def _record(request, payload: SdvRecordIn):
    record = services.get_record(payload.record_type, payload.record_id)
    _subject_in_body(request, services.subject_id_of(record), "record_id")
    return record


@router.post(
    "/sdv/verify",
    url_name="sdv_verify",
    response={200: list[SdvMarkOut]},
    summary="Verify a form or its items",
)
def verify(request, payload: SdvVerifyIn):
    record = _record(request, payload)
    services.verify(by=request.auth, record=record, fields=payload.fields)
    marks = SdvMark.objects.filter(
        record_type=payload.record_type, record_id=record.pk
    ).select_related("verified_by")
    return [_mark_out(m) for m in marks]


@router.post(
    "/sdv/unverify",
    url_name="sdv_unverify",
    response={200: SdvMarkOut},
    summary="Remove a verification (comment)",
)
def unverify(request, payload: SdvUnverifyIn):
    record = _record(request, payload)
    mark = services.unverify(
        by=request.auth, record=record, field=payload.field, comment=payload.comment
    )
    return _mark_out(mark)


@router.get(
    "/sdv/worklist",
    url_name="sdv_worklist",
    response=list[SdvWorkOut],
    summary="CRFs awaiting SDV",
    description=API_PAGE_DESCRIPTION,
)
def sdv_worklist(
    request,
    response: HttpResponse,
    site_id: Annotated[PathId | None, Query(None, description="Site id")] = None,
    subject_id: Annotated[PathId | None, Query(None, description="Subject id")] = None,
    visit_id: Annotated[PathId | None, Query(None, description="Visit id")] = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 50,
):
    subjects = scope(Subject.objects.all(), request.auth)
    if site_id is not None:
        subjects = subjects.filter(site_id=site_id)
    if subject_id is not None:
        subjects = subjects.filter(pk=subject_id)
    rows = selectors.worklist(subjects.values("pk"), visit_id=visit_id)
    keys = ("record_type", "record_id", "subject_id", "visit_id")
    return [
        dict(zip(keys, r, strict=True)) for r in api_page(request, response, rows, page, page_size)
    ]


@router.post("/holds", url_name="hold_place", response={201: HoldOut}, summary="Freeze or lock")
def place_hold(request, payload: HoldPlaceIn):
    subject = visit = record = None
    if payload.level == Level.RECORD:
        record = services.get_record(payload.record_type, payload.record_id)
        subject = _subject_in_body(request, services.subject_id_of(record), "record_id")
    elif payload.level in (Level.SUBJECT, Level.VISIT):
        if payload.subject_id is None:
            raise ValidationError({"subject_id": ValidationError("Required.", code="required")})
        subject = _subject_in_body(request, payload.subject_id)
        if payload.level == Level.VISIT:
            visit = Visit.objects.filter(subject=subject, pk=payload.visit_id or 0).first()
            if visit is None:
                raise ValidationError(
                    {"visit_id": ValidationError("No such visit.", code="invalid")}
                )
    hold = services.place_hold(
        by=request.auth,
        kind=payload.kind,
        level=payload.level,
        reason=payload.reason,
        subject=subject,
        visit=visit,
        record=record,
    )
    hold.placed_by = request.auth
    return Status(201, _hold_out(hold))


def _visible_hold(request, hold_id) -> Hold:
    hold = Hold.objects.select_related("subject", "placed_by").filter(pk=hold_id).first()
    if hold is None:
        raise Http404
    if hold.subject_id is not None:
        subject_for(request.auth, hold.subject_id)
    elif not get_access(request.auth).all_sites:
        raise Http404
    return hold


@router.post(
    "/holds/{hold_id}/lift",
    url_name="hold_lift",
    response={200: HoldOut},
    summary="Unfreeze or unlock",
)
def lift_hold(request, hold_id: PathId, payload: HoldLiftIn):
    hold = _visible_hold(request, hold_id)
    services.lift_hold(by=request.auth, hold=hold, reason=payload.reason, confirm=payload.confirm)
    hold.refresh_from_db()
    return _hold_out(hold)


@router.get(
    "/subjects/{subject_id}/holds",
    url_name="subject_holds",
    response=list[HoldOut],
    summary="Holds of a subject",
)
def subject_holds(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 50,
):
    subject = subject_for(request.auth, subject_id)
    rows = (
        Hold.objects.filter(subject=subject)
        .select_related("placed_by")
        .order_by("-placed_at", "-id")
    )
    return [_hold_out(h) for h in api_page(request, response, rows, page, page_size)]


def _sheet(subject, visit) -> dict:
    level = Signature.Level.VISIT if visit is not None else Signature.Level.CASEBOOK
    sheet = services.signing_sheet(level, subject=subject, visit=visit)
    queries = selectors.open_queries_by_visit([subject.pk])
    sheet["open_queries"] = queries.get(visit.pk, 0) if visit is not None else sum(queries.values())
    return sheet


def _visit(subject, visit_id) -> Visit:
    visit = Visit.objects.filter(subject=subject, pk=visit_id).first()
    if visit is None:
        raise Http404
    return visit


@router.get(
    "/subjects/{subject_id}/visits/{visit_id}/signing",
    url_name="visit_signing",
    response=SigningSheetOut,
    summary="What signing a visit signs",
)
def visit_sheet(request, subject_id: PathId, visit_id: PathId):
    subject = subject_for(request.auth, subject_id)
    return _sheet(subject, _visit(subject, visit_id))


@router.post(
    "/subjects/{subject_id}/visits/{visit_id}/signatures",
    url_name="visit_sign",
    response={201: MonitoringSignatureOut},
    summary="Sign a visit",
)
def sign_visit(request, subject_id: PathId, visit_id: PathId, payload: MonitoringSignIn):
    subject = subject_for(request.auth, subject_id)
    signature = services.sign(
        by=request.auth,
        level=Signature.Level.VISIT,
        password=payload.password,
        request=request,
        shown_hash=payload.shown_hash,
        subject=subject,
        visit=_visit(subject, visit_id),
    )
    signature.refresh_from_db()
    return Status(201, _sig_out(signature))


@router.get(
    "/subjects/{subject_id}/casebook/signing",
    url_name="casebook_signing",
    response=SigningSheetOut,
    summary="What signing the casebook signs",
)
def casebook_sheet(request, subject_id: PathId):
    return _sheet(subject_for(request.auth, subject_id), None)


@router.post(
    "/subjects/{subject_id}/casebook/signatures",
    url_name="casebook_sign",
    response={201: MonitoringSignatureOut},
    summary="Sign the casebook",
)
def sign_casebook(request, subject_id: PathId, payload: MonitoringSignIn):
    subject = subject_for(request.auth, subject_id)
    signature = services.sign(
        by=request.auth,
        level=Signature.Level.CASEBOOK,
        password=payload.password,
        request=request,
        shown_hash=payload.shown_hash,
        subject=subject,
    )
    signature.refresh_from_db()
    return Status(201, _sig_out(signature))


@router.get(
    "/subjects/{subject_id}/signatures",
    url_name="subject_signatures",
    response=list[MonitoringSignatureOut],
    summary="Signatures of a subject (voided ones too)",
)
def signatures(
    request,
    subject_id: PathId,
    response: HttpResponse,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 50,
):
    subject = subject_for(request.auth, subject_id)
    rows = Signature.objects.filter(subject=subject).order_by("-signed_at", "-id")
    return [_sig_out(s) for s in api_page(request, response, rows, page, page_size)]


@router.get(
    "/subject-matrix",
    url_name="subject_matrix",
    response=list[MatrixRowOut],
    summary="Subjects x visits, icons per visit",
    description=API_PAGE_DESCRIPTION,
)
def subject_matrix(
    request,
    response: HttpResponse,
    site_id: Annotated[PathId | None, Query(None, description="Site id")] = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 25,
):
    subjects = scope(Subject.objects.all(), request.auth).order_by("site_id", "screening_number")
    if site_id is not None:
        subjects = subjects.filter(site_id=site_id)
    rows = list(api_page(request, response, subjects, page, page_size))
    matrix = selectors.subject_matrix(rows)
    out = []
    for row in matrix["rows"]:
        cells = [
            {"visit_id": v.pk, "code": v.code, "icons": [str(i) for i in icons]}
            for cell in row["cells"]
            for v, icons in cell
        ]
        out.append(
            {
                "subject_id": row["subject"].pk,
                "screening_number": row["subject"].screening_number,
                "casebook_signed": row["casebook_signed"],
                "visits": cells,
            }
        )
    return out


def _crf(request, subject_id, record_type, record_id):
    subject = subject_for(request.auth, subject_id)
    try:
        record = services.get_record(record_type, record_id)
    except ValidationError as exc:
        raise Http404 from exc
    if services.subject_id_of(record) != subject.pk:
        raise Http404
    return subject, record


@router.get(
    "/subjects/{subject_id}/forms/{record_type}/{record_id}/signing",
    url_name="crf_signing",
    response=SigningSheetOut,
    summary="What signing one form signs",
)
def crf_sheet(request, subject_id: PathId, record_type: str, record_id: PathId):
    subject, record = _crf(request, subject_id, record_type, record_id)
    from queries.models import Query

    sheet = services.signing_sheet(Signature.Level.CRF, subject=subject, record=record)
    sheet["open_queries"] = Query.objects.filter(
        record_type=record_type, record_id=record.pk, status__in=services.OPEN_QUERY_STATES
    ).count()
    return sheet


@router.post(
    "/subjects/{subject_id}/forms/{record_type}/{record_id}/signatures",
    url_name="crf_sign",
    response={201: MonitoringSignatureOut},
    summary="Sign one form",
)
def sign_crf(
    request, subject_id: PathId, record_type: str, record_id: PathId, payload: MonitoringSignIn
):
    subject, record = _crf(request, subject_id, record_type, record_id)
    signature = services.sign(
        by=request.auth,
        level=Signature.Level.CRF,
        password=payload.password,
        request=request,
        shown_hash=payload.shown_hash,
        subject=subject,
        record=record,
    )
    signature.refresh_from_db()
    return Status(201, _sig_out(signature))

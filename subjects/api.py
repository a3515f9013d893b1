"""Subjects and visits over the API: the same access helper and services as the pages.

A payload's typed values go straight to the service, the one validation of each CRF (issue 11
A1); its field-keyed ``ValidationError`` is the 422 answer, codes included.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import Action, get_scoped_or_404, require, scope, sites_for
from alter_s006.api_types import Bool, Date, In, Int, PathId, Query, QueryDate, QueryInt, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.web import subject_for
from subjects import lifecycle, selectors, services
from subjects.models import Subject, Visit

router = Router(tags=["subjects"])

HistoryTable = enum.StrEnum("HistoryTable", {t: t for t in selectors.HISTORY_TABLES})
HistoryKind = enum.StrEnum("HistoryKind", {k: k for k in selectors.HISTORY_KINDS})
# the history page's page size by default (the shared PageSizeQuery's default is smaller)
HistoryPageSize = Annotated[
    QueryInt,
    Query(
        selectors.HISTORY_PAGE_SIZE,
        description=f"Rows a page, at most {MAX_PAGE_SIZE}",
        ge=1,
        le=MAX_PAGE_SIZE,
    ),
]


class VisitOut(Schema):
    id: int
    code: str
    kind: str
    number: int
    target_date: dt.date
    earliest: dt.date
    latest: dt.date
    actual_date: dt.date | None
    missed: bool
    note: str
    status: str
    days_outside_window: int | None
    version: int

    @staticmethod
    def resolve_status(obj):
        return obj.status(obj.subject.site.today()).value

    @staticmethod
    def resolve_days_outside_window(obj):
        return obj.days_outside_window()


class SubjectOut(Schema):
    id: int
    site: str = Field(..., alias="site.code")
    screening_number: str
    subject_number: str | None
    sex: str
    date_of_birth: dt.date | None
    year_of_birth: int | None
    initials: str
    consent_date: dt.date
    consent_version: str
    status: str
    status_date: dt.date
    c1d1_date: dt.date | None
    last_dose_date: dt.date | None
    version: int


class SubjectIn(In):
    site: Text = Field(..., description="Site code")
    sex: Text
    date_of_birth: Date | None = None
    year_of_birth: Int | None = None
    initials: Text
    consent_date: Date
    consent_version: Text


class SubjectPatch(In):
    version: Int
    reason: Text
    sex: Text | None = None
    date_of_birth: Date | None = None
    year_of_birth: Int | None = None
    initials: Text | None = None
    consent_date: Date | None = None
    consent_version: Text | None = None


class TransitionIn(In):
    version: Int
    target: lifecycle.SubjectStatus
    on_date: Date
    reason: Text = ""
    c1d1: Date | None = None
    last_dose: Date | None = None


class VisitPatch(In):
    version: Int
    actual_date: Date | None = None
    missed: Bool = False
    note: Text = ""
    reason: Text = ""


class AuditOut(Schema):
    chain_seq: int
    occurred_at: dt.datetime
    table_name: str
    record_pk: str
    action: str
    app_username: str
    reason: str
    old_data: dict | None
    new_data: dict | None


@router.get(
    "/subjects",
    response=list[SubjectOut],
    summary="Subjects you may see",
    description=API_PAGE_DESCRIPTION,
)
def list_subjects(
    request,
    response: HttpResponse,
    site: Annotated[Text | None, Query(None, description="Site code", max_length=6)] = None,
    status: Annotated[lifecycle.SubjectStatus | None, Query(None, description="Status")] = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    subjects = scope(Subject.objects.select_related("site"), request.auth)
    if site:
        subjects = subjects.filter(site__code=site)
    if status:
        subjects = subjects.filter(status=status)
    subjects = subjects.order_by("site__code", "screening_number")
    return api_page(request, response, subjects, page, page_size)


@router.post("/subjects", response={201: SubjectOut}, summary="Register a subject")
def register_subject(request, payload: SubjectIn):
    user = request.auth
    require(user, Action.ENTER_DATA)
    values = payload.dict()
    # a site the user may not enter data at is as unknown as one that does not exist
    site = sites_for(user, Action.ENTER_DATA).filter(code=values.pop("site")).first()
    subject = services.register_subject(site=site, by=user, **values)
    return Status(201, subject)


@router.get("/subjects/{subject_id}", response=SubjectOut)
def get_subject(request, subject_id: PathId):
    return subject_for(request.auth, subject_id)


@router.patch(
    "/subjects/{subject_id}",
    response=SubjectOut,
    summary="Correct demographics (version and reason required)",
)
def patch_subject(request, subject_id: PathId, payload: SubjectPatch):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    changes = payload.dict(exclude_unset=True)
    version, reason = changes.pop("version"), changes.pop("reason")
    return services.correct_subject(
        subject=subject, expected_version=version, changes=changes, by=request.auth, reason=reason
    )


@router.post(
    "/subjects/{subject_id}/transitions",
    response=SubjectOut,
    summary="Move the subject through the lifecycle",
)
def transition(request, subject_id: PathId, payload: TransitionIn):
    subject = subject_for(request.auth, subject_id)
    require(request.auth, Action.ENTER_DATA, subject.site_id)
    return services.change_status(
        subject=subject,
        by=request.auth,
        expected_version=payload.version,
        target=payload.target,
        on_date=payload.on_date,
        reason=payload.reason,
        c1d1=payload.c1d1,
        last_dose=payload.last_dose,
    )


@router.get("/subjects/{subject_id}/visits", response=list[VisitOut])
def list_visits(request, subject_id: PathId):
    subject = subject_for(request.auth, subject_id)
    return subject.visits.select_related("subject__site")


@router.patch("/visits/{visit_id}", response=VisitOut, summary="Record a visit")
def patch_visit(request, visit_id: PathId, payload: VisitPatch):
    visit = get_scoped_or_404(
        Visit.objects.select_related("subject__site"),
        request.auth,
        site_path="subject__site",
        pk=visit_id,
    )
    require(request.auth, Action.ENTER_DATA, visit.subject.site_id)
    saved = services.record_visit(
        visit=visit,
        expected_version=payload.version,
        actual_date=payload.actual_date,
        missed=payload.missed,
        note=payload.note,
        by=request.auth,
        reason=payload.reason,
    )
    return Visit.objects.select_related("subject__site").get(pk=saved.pk)


class UnscheduledIn(In):
    on_date: Date = Field(..., description="The day the patient came (held that day)")
    note: Text = Field(..., description="Why the patient came")


@router.post(
    "/subjects/{subject_id}/unscheduled-visits",
    response={201: VisitOut},
    summary="Record an unscheduled visit (U1, U2, ...), held on its date",
    description="422 `not_enrolled` before enrolment, `future_date`, `before_consent`; "
    "`note` (why the patient came) is required. Its CRFs are those of the schedule's "
    "`unscheduled` row (`GET /visits/{id}/crfs`).",
)
def add_unscheduled_visit(request, subject_id: PathId, payload: UnscheduledIn):
    subject = subject_for(request.auth, subject_id)
    visit = services.add_unscheduled_visit(
        subject=subject, by=request.auth, on_date=payload.on_date, note=payload.note
    )
    return Status(201, Visit.objects.select_related("subject__site").get(pk=visit.pk))


@router.get(
    "/subjects/{subject_id}/history",
    response=list[AuditOut],
    summary="Audit trail of the subject and every record that carries it, newest first",
    description=f"The history page's rows, {selectors.HISTORY_PAGE_SIZE} a page by default. "
    + API_PAGE_DESCRIPTION,
)
def history(
    request,
    response: HttpResponse,
    subject_id: PathId,
    table: Annotated[HistoryTable | None, Query(None, description="Form (table)")] = None,
    user: Annotated[Text | None, Query(None, description="Username", max_length=150)] = None,
    since: Annotated[QueryDate | None, Query(None, description="From this day (site time)")] = None,
    until: Annotated[QueryDate | None, Query(None, description="To this day (site time)")] = None,
    kind: Annotated[HistoryKind | None, Query(None, description="Kind of event")] = None,
    page: PageQuery = 1,
    page_size: HistoryPageSize = selectors.HISTORY_PAGE_SIZE,
):
    subject = subject_for(request.auth, subject_id)
    if since and until and since > until:
        message = "“until” cannot be before “since”."
        raise ValidationError({"until": ValidationError(message, code="until_before_since")})
    filters = selectors.HistoryFilters(
        table=table.value if table else "",
        user=user or "",
        since=since,
        until=until,
        kind=kind.value if kind else "",
    )
    return api_page(request, response, selectors.history_events(subject, filters), page, page_size)

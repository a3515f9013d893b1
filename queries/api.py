"""Data queries over the API (issue 14 sections 1 and 7): the list with the page's filters,
raise, answer, close, send back, reopen, cancel, close as confirmed, and a query's thread.

The same services and rules as the pages (``queries.workflow``): another site's query or
subject is 404; a role that may not do the action is 403 with nothing stored; a refused
transition or missing text is 422 ``{"errors": [{"field", "code", "message"}]}`` with the
services' codes (``query_state``, ``required``...); a filter value the list does not take is
422 naming the parameter. Lists are paginated (``alter_s006.pagination``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from accounts.access import get_scoped_or_404, visible_sites
from alter_s006.api_types import Id, In, PathId, Query, Text
from alter_s006.pagination import (
    API_PAGE_DESCRIPTION,
    PAGE_SIZE,
    PageQuery,
    PageSizeQuery,
    api_page,
)
from alter_s006.query_params import BadQueryParameter
from alter_s006.web import subject_for
from queries import records, selectors, services, workflow
from queries.models import Query as QueryModel
from queries.models import QueryMessage

router = Router(tags=["queries"])
RecordTypes = Literal[tuple(records.RECORD_TYPES)]
Statuses = Literal[tuple(selectors.STATUSES)]
Origins = Literal[tuple(QueryModel.Origin.values)]
Ages = Literal[tuple(selectors.AGE_KEYS)]


class RaiseIn(In):
    record_type: Text = Field(..., json_schema_extra={"enum": list(records.RECORD_TYPES)})
    record_id: Id
    field: Text = Field(..., description="A field of that record (its model's field name)")
    text: Text = Field(..., description="The question")
    suggested_value: Text = ""


class TextIn(In):
    text: Text = Field(
        "", description="Required to answer, send back, reopen, cancel and close as confirmed"
    )


class MessageOut(Schema):
    id: int
    action: str
    author: str | None = Field(..., description="Null: the system")
    author_role: str
    text: str
    suggested_value: str
    correction_audit_id: int | None = Field(
        ..., description="The audit row of the correction this answer made"
    )
    created_at: dt.datetime


class QueryOut(Schema):
    id: int
    subject_id: int
    site: str
    record_type: str
    record_id: int
    field: str
    edit_check: str
    text: str
    suggested_value: str
    status: str
    origin: str
    raised_at: dt.datetime
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution: str
    version: int


class QueryListOut(QueryOut):
    days_open: int
    days_since_last_action: int


class QueryDetailOut(QueryOut):
    actions: list[str] = Field(..., description="What the caller may do now")
    thread: list[MessageOut]


def _out(q: QueryModel) -> dict:
    return {
        **{
            f: getattr(q, f)
            for f in (
                "id",
                "subject_id",
                "record_type",
                "record_id",
                "field",
                "edit_check",
                "text",
                "suggested_value",
                "status",
                "origin",
                "raised_at",
                "answered_at",
                "closed_at",
                "resolution",
                "version",
            )
        },
        "site": q.subject.site.code,
    }


def _message(m: QueryMessage) -> dict:
    return {
        "id": m.pk,
        "action": m.action,
        "author": m.author.get_username() if m.author_id else None,
        "author_role": m.author_role,
        "text": m.text,
        "suggested_value": m.suggested_value,
        "correction_audit_id": m.correction_id,
        "created_at": m.created_at,
    }


def _thread(q: QueryModel) -> list[dict]:
    return [
        _message(m)
        for m in QueryMessage.objects.filter(query=q).select_related("author").order_by("id")
    ]


def _detail(request, q: QueryModel) -> dict:
    return {**_out(q), "actions": services.actions_for(q, request.auth), "thread": _thread(q)}


def _get(request, pk: int) -> QueryModel:
    return get_scoped_or_404(
        QueryModel.objects.select_related("subject__site"), request.auth, "subject__site", pk=pk
    )


@router.get(
    "/queries",
    response=list[QueryListOut],
    summary="Data queries of the sites you see, oldest first, filtered as on the page",
    description=(
        "Filters (query string): `site` (id), `subject` (id), `record_type`, `field`, "
        "`status` (`unresolved` — the default: open or answered —, "
        + ", ".join(f"`{s}`" for s in QueryModel.Status.values)
        + ", `all`), `origin` (`system`, `manual`), `edit_check`, `age` ("
        + ", ".join(f"`{k}`" for k in selectors.AGE_KEYS)
        + " days since raised). A value a filter does not take is 422 naming it. "
        + API_PAGE_DESCRIPTION
    ),
)
def list_queries(
    request,
    response: HttpResponse,
    site: Annotated[PathId | None, Query(None, description="Site id")] = None,
    subject: Annotated[PathId | None, Query(None, description="Subject id")] = None,
    record_type: Annotated[RecordTypes | None, Query(None, description="CRF")] = None,
    field: Annotated[
        Text | None, Query(None, description="Field name", max_length=selectors.TEXT_MAX)
    ] = None,
    status: Annotated[Statuses | None, Query(None, description="Default: unresolved")] = None,
    origin: Annotated[Origins | None, Query(None, description="system or manual")] = None,
    edit_check: Annotated[
        Text | None, Query(None, description="Edit check code", max_length=selectors.TEXT_MAX)
    ] = None,
    age: Annotated[Ages | None, Query(None, description="Days since raised")] = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = PAGE_SIZE,
):
    try:
        filters = selectors.parse(request.GET)
    except BadQueryParameter as bad:
        raise ValidationError({bad.name: ValidationError(bad.message, code="invalid")}) from bad
    rows = selectors.filtered(request.auth, visible_sites(request.auth), filters)
    return [
        {
            **_out(q),
            "days_open": q.days_open,
            "days_since_last_action": q.days_idle,
        }
        for q in api_page(request, response, rows, page, page_size)
    ]


@router.post(
    "/subjects/{subject_id}/queries",
    response={201: QueryDetailOut},
    summary="Raise a query on one field of one record (monitor, data manager)",
    description=(
        "403 for a coordinator or investigator; 404 for a subject of another site; 422 for a "
        "record type queries do not name, a record of another subject, a field the record "
        "does not have, or an empty text."
    ),
)
def raise_query(request, subject_id: PathId, payload: RaiseIn):
    subject = subject_for(request.auth, subject_id)
    q = services.raise_query(
        user=request.auth,
        subject=subject,
        record_type=payload.record_type,
        record_id=payload.record_id,
        field=payload.field,
        text=payload.text,
        suggested_value=payload.suggested_value,
    )
    return Status(201, _detail(request, q))


@router.get(
    "/queries/{query_id}",
    response=QueryDetailOut,
    summary="A query with its thread and the actions you may take",
)
def get_query(request, query_id: PathId):
    return _detail(request, _get(request, query_id))


@router.get(
    "/queries/{query_id}/thread",
    response=list[MessageOut],
    summary="A query's thread, oldest first (never edited or deleted)",
)
def query_thread(request, query_id: PathId):
    return _thread(_get(request, query_id))


def _action(action: str, summary: str, who: str):
    def endpoint(request, query_id: PathId, payload: TextIn):
        q = services.act(
            query=_get(request, query_id), user=request.auth, action=action, text=payload.text
        )
        return _detail(request, q)

    endpoint.__name__ = f"query_{action}"
    router.post(
        f"/queries/{{query_id}}/{action.replace('_', '-')}",
        response=QueryDetailOut,
        summary=summary,
        description=(
            f"{who}. 403 for a role that may not (nothing stored), 404 for another site's "
            "query, 422 `query_state` when the query is not in a state that allows it, "
            "`required` for a missing text."
        ),
        operation_id=f"queries_{action}",
    )(endpoint)


_action(workflow.ANSWER, "Answer an open query", "A coordinator or investigator of the site")
_action(workflow.CLOSE, "Close an answered query", "A monitor or data manager")
_action(workflow.SEND_BACK, "Send an answered query back (comment)", "A monitor or data manager")
_action(workflow.REOPEN, "Reopen a closed query (comment)", "A monitor or data manager")
_action(workflow.CANCEL, "Cancel a query before any answer (comment)", "Its raiser")
_action(
    workflow.CLOSE_CONFIRMED,
    "Close an edit check's query as confirmed by the source (comment)",
    "A monitor or data manager",
)

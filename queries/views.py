"""The query pages (issue 14 section 1): the list (filters, days open, CSV), a query's thread
with the actions the workflow gives the user, raising a query on one field of a record, the
in-place thread of a field (htmx), and the metrics of data managers and monitors."""

from __future__ import annotations

import csv
import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import Action, get_access, get_scoped_or_404, scope
from alter_s006 import protocol as P
from alter_s006.pagination import web_page
from alter_s006.query_params import BadQueryParameter
from alter_s006.web import call_service, current_sites, subject_for
from queries import metrics, records, selectors, services, workflow
from queries.forms import ActionForm, RaiseForm
from queries.models import Query, QueryMessage

# Where a query's record is shown (a page every role of the site may open).
RECORD_PAGES = {
    "assessments.timepoint": lambda q: reverse("assessments:overview", args=[q.subject_id]),
    "assessments.lesion": lambda q: reverse("assessments:overview", args=[q.subject_id]),
    "safety.adverseevent": lambda q: reverse("safety:ae", args=[q.subject_id, q.record_id]),
    "safety.labresult": lambda q: reverse("safety:labs", args=[q.subject_id]),
    "eligibility.screening": lambda q: reverse("eligibility:screening", args=[q.subject_id]),
}
ACTION_LABELS = dict(QueryMessage.Action.choices)


def _visit_crf_pages(queries) -> dict[tuple[str, int], str]:
    """(record type, id) -> the visit CRF page of the queries raised on visit CRFs (issue 13):
    one query per CRF table present on the page."""
    from crfs.registry import FORMS  # the queries app reads every CRF app; none reads it

    models = {spec.model._meta.label_lower: spec for spec in FORMS.values() if spec.own}
    wanted: dict[str, list[int]] = {}
    for q in queries:
        if q.record_type in models:
            wanted.setdefault(q.record_type, []).append(q.record_id)
    pages = {}
    for label, ids in wanted.items():
        spec = models[label]
        columns = ["pk", "subject_id", "visit_id"] + (["kind"] if spec.review_kind else [])
        for row in spec.model.objects.filter(pk__in=ids).values_list(*columns):
            key = row[3] if spec.review_kind else spec.key
            pages[(label, row[0])] = reverse("crfs:form", args=[row[1], row[2], key])
    return pages


def record_links(queries) -> dict[int, str]:
    """query id -> the page of its record (the subject's page when it has none, or the
    record was removed)."""
    crf_pages = _visit_crf_pages(queries)
    links = {}
    for q in queries:
        page = crf_pages.get((q.record_type, q.record_id))
        if page is None and q.record_type in RECORD_PAGES:
            page = RECORD_PAGES[q.record_type](q)
        links[q.pk] = page or reverse("subjects:detail", args=[q.subject_id])
    return links


def _rows(queries):
    links = record_links(queries)
    return [
        {
            "q": q,
            "record_url": links[q.pk],
            "record": records.record_label(q.record_type),
            "field": records.field_label(q.record_type, q.field),
            "days_open": q.days_open,
            "days_idle": q.days_idle,
        }
        for q in queries
    ]


@login_required
@require_GET
def query_list(request):
    filters = selectors.parse(request.GET)
    sites = current_sites(request)
    page = web_page(request, selectors.filtered(request.user, sites, filters))
    return render(
        request,
        "queries/list.html",
        {
            "rows": _rows(page.object_list),
            "page": page,
            "filters": filters,
            "statuses": [
                (selectors.UNRESOLVED, _("open or answered")),
                *Query.Status.choices,
                (selectors.ALL, _("all")),
            ],
            "origins": Query.Origin.choices,
            "record_types": [(k, records.record_label(k)) for k in records.RECORD_TYPES],
            "ages": selectors.AGE_KEYS,
            "sites": sites,
            "can_metrics": get_access(request.user).can(Action.QUERY),
        },
    )


CSV_HEADER = [
    "query_id",
    "site",
    "subject",
    "record_type",
    "record_id",
    "field",
    "status",
    "origin",
    "edit_check",
    "raised_at_utc",
    "days_open",
    "days_since_last_action",
    "text",
]


class _Echo:
    def write(self, value):
        return value


def _csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def query_csv(request):
    """The filtered list as CSV, streamed (the same filters and scope as the page)."""
    filters = selectors.parse(request.GET)
    rows = selectors.filtered(request.user, current_sites(request), filters)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(CSV_HEADER)
        for q in rows.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    q.pk,
                    q.subject.site.code,
                    _csv_cell(q.subject),
                    q.record_type,
                    q.record_id,
                    q.field,
                    q.status,
                    q.origin,
                    q.edit_check,
                    q.raised_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
                    q.days_open,
                    q.days_idle,
                    _csv_cell(q.text),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="queries.csv"'
    return response


def _query(request, pk):
    return get_scoped_or_404(
        Query.objects.select_related("subject__site", "raised_by"),
        request.user,
        "subject__site",
        pk=pk,
    )


def _detail(request, query, form=None, status=200, failed_action=""):
    thread = list(QueryMessage.objects.filter(query=query).select_related("author").order_by("id"))
    return render(
        request,
        "queries/detail.html",
        {
            "query": query,
            "subject": query.subject,
            "thread": thread,
            "actions": [(a, ACTION_LABELS[a]) for a in services.actions_for(query, request.user)],
            "form": form or ActionForm(),
            "failed_action": failed_action,
            "record_url": record_links([query])[query.pk],
            "record": records.record_label(query.record_type),
            "field": records.field_label(query.record_type, query.field),
            "tz": query.subject.site.tz,
        },
        status=status,
    )


@login_required
@require_GET
def query_detail(request, pk):
    return _detail(request, _query(request, pk))


ACTIONS = {
    workflow.ANSWER,
    workflow.CLOSE,
    workflow.SEND_BACK,
    workflow.REOPEN,
    workflow.CANCEL,
    workflow.CLOSE_CONFIRMED,
}


@login_required
@require_POST
def query_act(request, pk, action):
    """POST only (a GET goes to the query's page: ``alter_s006.errors.FORM_OF``)."""
    if action not in ACTIONS:
        raise Http404(_("No such action."))
    query = _query(request, pk)
    form = ActionForm(request.POST)
    form.is_valid()
    done = call_service(
        request,
        form,
        lambda: services.act(
            query=query, user=request.user, action=action, text=form.cleaned_data.get("text", "")
        ),
        success=lambda q: redirect("queries:detail", pk=q.pk),
        message=_("Query %(action)s.") % {"action": ACTION_LABELS[action]},
    )
    return done or _detail(request, query, form, status=422, failed_action=action)


def _raise_target(request, record_type, record_id):
    """The record a query is about to be raised on: (kind, subject); 400 for a kind queries do
    not name, 404 for no such record (or one of a site the user cannot see)."""
    kind = records.RECORD_TYPES.get(record_type)
    if kind is None:
        raise BadQueryParameter("record_type", _("Queries cannot name this kind of record."))
    row = kind.model.objects.filter(pk=record_id).values_list(kind.subject_path).first()
    if row is None:
        raise Http404(_("No such record."))
    return kind, subject_for(request.user, row[0])


@login_required
@require_http_methods(["GET", "POST"])
def raise_query(request, record_type, record_id):
    kind, subject = _raise_target(request, record_type, record_id)
    services.check_may_raise(request.user, subject)  # 403 before any form
    fields = [
        (name, records.field_label(record_type, name))
        for name in records.queryable_fields(kind.model)
    ]
    names = {name for name, _label in fields}
    initial_field = request.GET.get("field", "")
    if initial_field and initial_field not in names:
        raise BadQueryParameter("field", _("This record has no such field."))
    form = RaiseForm(request.POST or None, fields=fields, initial={"field": initial_field})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = call_service(
            request,
            form,
            lambda: services.raise_query(
                user=request.user,
                subject=subject,
                record_type=record_type,
                record_id=record_id,
                field=data["field"],
                text=data["text"],
                suggested_value=data["suggested_value"],
            ),
            success=lambda q: redirect("queries:detail", pk=q.pk),
            message=_("Query raised."),
        )
        if done:
            return done
    return render(
        request,
        "queries/raise.html",
        {
            "form": form,
            "subject": subject,
            "record": records.record_label(record_type),
            "record_id": record_id,
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_GET
def field_thread(request, record_type, record_id, field):
    """The queries on one field of one record with their threads: the in-place fragment a
    badge opens (htmx). 404 when the user sees none there."""
    if record_type not in records.RECORD_TYPES:
        raise BadQueryParameter("record_type", _("Queries cannot name this kind of record."))
    queries = list(
        scope(
            Query.objects.filter(record_type=record_type, record_id=record_id, field=field),
            request.user,
            site_path="subject__site",
        )
        .select_related("subject__site")
        .order_by("raised_at", "id")
    )
    if not queries:
        raise Http404(_("No query on this field."))
    messages = {}
    for m in QueryMessage.objects.filter(query__in=queries).select_related("author").order_by("id"):
        messages.setdefault(m.query_id, []).append(m)
    return render(
        request,
        "queries/_field_thread.html",
        {
            "items": [(q, messages.get(q.pk, [])) for q in queries],
            "tz": queries[0].subject.site.tz,
        },
    )


@login_required
@require_GET
def query_metrics(request):
    """Per site and month: raised, answered, closed, median days; the most-queried fields and
    edit checks. Data managers and monitors only."""
    if not get_access(request.user).can(Action.QUERY):
        raise PermissionDenied(_("Your role does not allow this."))
    sites = current_sites(request)
    rows = scope(
        Query.objects.filter(subject__site__in=sites), request.user, site_path="subject__site"
    ).values_list(
        "subject__site__code",
        "subject__site__time_zone",
        "raised_at",
        "answered_at",
        "closed_at",
        "status",
        "record_type",
        "field",
        "edit_check",
    )
    facts = []
    for code, tz, raised, answered, closed, status, label, field, check in rows.iterator():
        zone = ZoneInfo(tz)
        facts.append(
            metrics.QueryFacts(
                site=code,
                raised_on=raised.astimezone(zone).date(),
                answered_on=answered.astimezone(zone).date() if answered else None,
                closed_on=closed.astimezone(zone).date()
                if closed and status in (Query.Status.CLOSED, Query.Status.CLOSED_MODIFIED)
                else None,
                field=f"{records.record_label(label)} · {records.field_label(label, field)}"
                if field
                else "",
                edit_check=check,
            )
        )
    return render(
        request,
        "queries/metrics.html",
        {
            "months": metrics.by_site_and_month(facts),
            "top_fields": metrics.top((f.field for f in facts), P.QUERY_METRICS_TOP),
            "top_checks": metrics.top((f.edit_check for f in facts), P.QUERY_METRICS_TOP),
            "top_n": P.QUERY_METRICS_TOP,
        },
    )

"""The open data queries of the sites the user sees, with a link to the record each is about."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from accounts.access import scope
from alter_s006.pagination import web_page
from alter_s006.web import current_sites
from queries.models import Query

# Where a query's record is shown (a page every role of the site may open).
RECORD_PAGES = {
    "assessments.timepoint": lambda q: reverse("assessments:overview", args=[q.subject_id]),
    "safety.adverseevent": lambda q: reverse("safety:ae", args=[q.subject_id, q.record_id]),
    "safety.labresult": lambda q: reverse("safety:labs", args=[q.subject_id]),
}


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


@login_required
def query_list(request):
    status = request.GET.get("status", Query.Status.OPEN)
    if status not in Query.Status.values:
        status = Query.Status.OPEN
    queries = scope(
        Query.objects.filter(subject__site__in=current_sites(request), status=status),
        request.user,
        site_path="subject__site",
    ).select_related("subject__site")
    page = web_page(
        request,
        queries.order_by("subject__site__code", "subject__screening_number", "-raised_at", "-id"),
    )
    crf_pages = _visit_crf_pages(page.object_list)
    rows = []
    for query in page.object_list:
        if (query.record_type, query.record_id) in crf_pages:
            rows.append((query, crf_pages[(query.record_type, query.record_id)]))
            continue
        record_page = RECORD_PAGES.get(query.record_type)
        rows.append(
            (
                query,
                record_page(query)
                if record_page
                else reverse("subjects:detail", args=[query.subject_id]),
            )
        )
    return render(
        request,
        "queries/list.html",
        {"rows": rows, "page": page, "status": status, "statuses": Query.Status.choices},
    )

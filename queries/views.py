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
    rows = []
    for query in page.object_list:
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

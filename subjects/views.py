"""Subject pages: thin views that fetch through accounts.access and call subjects.services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import (
    Action,
    get_access,
    get_scoped_or_404,
    require,
    scope,
    sites_for,
    visible_sites,
)
from alter_s006 import protocol, query_params
from alter_s006.pagination import COUNT_CAP, count_upto, web_page
from alter_s006.web import SITE_SESSION_KEY, call_service, current_sites, subject_for
from subjects import lifecycle, selectors, services
from subjects.forms import (
    SubjectCorrectionForm,
    SubjectRegistrationForm,
    TransitionForm,
    UnscheduledVisitForm,
    VisitForm,
)
from subjects.models import STATUS_LABELS, StatusChange, Subject, Visit
from subjects.schedule import VisitStatus


@login_required
@require_POST
def switch_site(request):
    value = request.POST.get("site", "")
    picked = int(value) if value.isascii() and value.isdigit() else None  # "²".isdigit() too
    if picked is not None and visible_sites(request.user).filter(pk=picked).exists():
        request.session[SITE_SESSION_KEY] = picked
    else:
        request.session.pop(SITE_SESSION_KEY, None)
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")  # never off the site, never a path redirect() would resolve
    return redirect(target)


DASHBOARD_SHOWN = 10  # rows of each visit list on the dashboard; "see all" pages the rest

# list -> order: both by the day the window closes (the most urgent first), then id; the
# open-visit index on (latest, id) serves both, stopping at the rows shown (issue 12)
VISIT_LISTS = {"overdue": "latest", "due": "latest"}


def _open_visits(sites, which: str, horizon_days: int = protocol.DUE_SOON_DAYS):
    """Open visits of these sites, overdue (``which="overdue"``) or due within
    ``horizon_days`` (``"due"``), each site by its own day; in the list's order."""
    wanted = Q(pk__in=[])
    for site in sites:
        today = site.today()
        if which == "overdue":
            wanted |= Q(subject__site=site, latest__lt=today)
        else:
            wanted |= Q(
                subject__site=site,
                earliest__lte=today + dt.timedelta(days=horizon_days),
                latest__gte=today,
            )
    return (
        Visit.objects.filter(actual_date__isnull=True, missed=False)
        .filter(subject__status__in=[s.value for s in lifecycle.ACTIVE_STATUSES])
        .filter(wanted)
        .select_related("subject__site")
        .order_by(VISIT_LISTS[which], "id")
    )


@login_required
def home(request):
    from monitoring.selectors import dashboard as monitoring_dashboard
    from queries.models import Query  # the dashboard reads every app; the apps never read it
    from safety.models import SaeReport

    sites = list(current_sites(request))
    subjects = Subject.objects.filter(site__in=sites)
    counts = dict(subjects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    status_counts = [(s, STATUS_LABELS[s], counts.get(s.value, 0)) for s in lifecycle.SubjectStatus]
    overdue, due = _open_visits(sites, "overdue"), _open_visits(sites, "due")
    # counted up to a cap ("1000+"): the time stays flat however many visits are open
    overdue_count, overdue_capped = count_upto(overdue, COUNT_CAP)
    due_count, due_capped = count_upto(due, COUNT_CAP)
    recent = subjects.select_related("site").order_by("-updated_at")[:8]
    by_site = (
        subjects.values("site__code", "site__name")
        .annotate(
            screened=Count("id"),
            screen_failed=Count("id", filter=Q(status=lifecycle.SubjectStatus.SCREEN_FAILED)),
            enrolled=Count("id", filter=Q(subject_number__isnull=False)),
            on_treatment=Count("id", filter=Q(status=lifecycle.SubjectStatus.ON_TREATMENT)),
        )
        .order_by("site__code")
    )
    enrolled = sum(row["enrolled"] for row in by_site)
    sae_pending = SaeReport.objects.filter(
        ae__subject__site__in=sites, submitted_at__isnull=True
    ).aggregate(pending=Count("id"), overdue=Count("id", filter=Q(due_at__lt=timezone.now())))
    return render(
        request,
        "subjects/home.html",
        {
            "by_site": by_site,
            "enrolled": enrolled,
            "planned": protocol.PLANNED_SUBJECTS,
            "enrolled_pct": round(100 * enrolled / protocol.PLANNED_SUBJECTS),
            "sites": sites,
            "status_counts": status_counts,
            "total": sum(counts.values()),
            "overdue": overdue[:DASHBOARD_SHOWN],
            "overdue_count": overdue_count,
            "overdue_capped": overdue_capped,
            "due": due[:DASHBOARD_SHOWN],
            "due_count": due_count,
            "due_capped": due_capped,
            "due_soon_days": protocol.DUE_SOON_DAYS,
            "recent": recent,
            "sae_pending": sae_pending["pending"],
            "sae_overdue": sae_pending["overdue"],
            "open_queries": Query.objects.filter(
                subject__site__in=sites, status=Query.Status.OPEN
            ).count(),
            "awaiting": selectors.awaiting_signature(request.user, sites),
            "mon": monitoring_dashboard(request.user, sites),
        },
    )


@login_required
def visit_list(request, which):
    """Every overdue (or due soon) open visit of the shown sites, a page at a time: the
    dashboard's "see all"."""
    if which not in VISIT_LISTS:
        raise Http404
    sites = list(current_sites(request))
    visits = scope(_open_visits(sites, which), request.user, site_path="subject__site")
    page = web_page(request, visits, count_cap=COUNT_CAP)
    return render(
        request,
        "subjects/visit_list.html",
        {"page": page, "which": which, "due_soon_days": protocol.DUE_SOON_DAYS},
    )


@login_required
def subject_list(request):
    sites = current_sites(request)
    subjects = scope(Subject.objects.filter(site__in=sites), request.user).select_related("site")
    status = request.GET.get("status", "")
    if status in {s.value for s in lifecycle.SubjectStatus}:
        subjects = subjects.filter(status=status)
    query = query_params.text(request, "q").strip()[:20]
    if query:
        subjects = subjects.filter(
            Q(screening_number__icontains=query)
            | Q(subject_number__icontains=query)
            | Q(initials__iexact=query)
        )
    page = web_page(request, subjects.order_by("site__code", "screening_number"))
    return render(
        request,
        "subjects/subject_list.html",
        {
            "subjects": page.object_list,
            "page": page,
            "status": status,
            "q": query,
            "statuses": [(s.value, STATUS_LABELS[s]) for s in lifecycle.SubjectStatus],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def subject_register(request):
    require(request.user, Action.ENTER_DATA)
    sites = current_sites(request) & sites_for(request.user, Action.ENTER_DATA)
    form = SubjectRegistrationForm(request.POST or None, sites=sites)

    def registered(subject):  # the flash names the number the service generated
        messages.success(request, _("Subject %(n)s registered.") % {"n": subject})
        return redirect("subjects:detail", pk=subject.pk)

    if request.method == "POST" and form.is_valid():
        response = call_service(
            request,
            form,
            lambda: services.register_subject(by=request.user, **form.cleaned_data),
            success=registered,
        )
        if response is not None:
            return response
    return render(
        request,
        "subjects/subject_form.html",
        {"form": form, "title": _("Register a subject")},
        status=422 if form.errors else 200,
    )


UPCOMING_SHOWN = 6  # planned visits shown before "show later visits"


def _split_timeline(rows):
    """Everything recorded, due or overdue, and the next few upcoming visits; then the rest."""
    shown, later, upcoming = [], [], 0
    for row in rows:
        if row[1] == VisitStatus.UPCOMING:
            upcoming += 1
            if upcoming > UPCOMING_SHOWN:
                later.append(row)
                continue
        shown.append(row)
    return shown, later


@login_required
def subject_detail(request, pk):
    subject = subject_for(request.user, pk)
    today = subject.site.today()
    visits = list(subject.visits.all())
    # each visit's CRF completeness (schedule of assessments): one query per CRF table
    from crfs.services import completeness_of

    completeness = completeness_of(visits)
    # each visit's unresolved queries on its records (issue 14): one query
    from queries.selectors import unresolved_by_visit

    open_queries = unresolved_by_visit(subject)
    # each visit's monitoring icons: SDV, signed, frozen / locked (issue 14 §6)
    from monitoring.selectors import visit_cells

    icons = visit_cells([subject], visits, complete=completeness)
    for v in visits:
        v.crf = completeness[v.pk]
        v.open_queries = open_queries.get(v.pk, 0)
        v.icons = icons[v.pk][1:]  # completeness is shown beside it already
    timeline, later = _split_timeline(
        [(v, v.status(today), v.days_outside_window()) for v in visits]
    )
    changes = StatusChange.objects.filter(subject=subject).select_related("by")
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    # one answer with the dosing page: recorded at stop, else the calendar's so far
    from dosing.services import last_dose as last_dose_of

    last_dose = last_dose_of(subject) if subject.c1d1_date else None
    transition_form = None
    if can_edit and lifecycle.allowed_targets(subject.lifecycle_status):
        initial = {"version": subject.version, "on_date": today}
        if subject.status == lifecycle.SubjectStatus.ON_TREATMENT:
            # the dosing calendar knows the last dose taken (it drives EOT, SFU, AE window)
            initial["last_dose"] = last_dose
        transition_form = TransitionForm(subject=subject, initial=initial)
    return render(
        request,
        "subjects/subject_detail.html",
        {
            "subject": subject,
            "timeline": timeline,
            "later": later,
            "changes": changes,
            "today": today,
            "can_edit": can_edit,
            "transition_form": transition_form,
            "last_dose": last_dose,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def subject_edit(request, pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = SubjectCorrectionForm(
        request.POST or None, instance=subject, initial={"version": subject.version}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = call_service(
            request,
            form,
            lambda: services.correct_subject(
                subject=subject,
                expected_version=data["version"],
                changes={f: data[f] for f in services.DEMOGRAPHIC_FIELDS},
                by=request.user,
                reason=data["reason"],
            ),
            success=lambda _saved: redirect("subjects:detail", pk=subject.pk),
            message=_("Changes saved."),
            back_url=request.path,
        )
        if response is not None:
            return response
    return render(
        request,
        "subjects/subject_form.html",
        {
            "form": form,
            "subject": subject,
            "title": _("Correct %(s)s") % {"s": subject},
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def subject_transition(request, pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = TransitionForm(request.POST, subject=subject)
    if form.is_valid():
        data = form.cleaned_data
        response = call_service(
            request,
            form,
            lambda: services.change_status(
                subject=subject,
                target=data["target"],
                on_date=data["on_date"],
                reason=data["reason"],
                by=request.user,
                expected_version=data["version"],
                c1d1=data["c1d1"],
                last_dose=data["last_dose"],
            ),
            success=lambda _saved: redirect("subjects:detail", pk=subject.pk),
            message=_("Status changed to %(s)s.")
            % {"s": STATUS_LABELS[lifecycle.SubjectStatus(data["target"])]},
            back_url=subject_url(subject),
        )
        if response is not None:
            return response
    return render(
        request, "subjects/transition_form.html", {"form": form, "subject": subject}, status=422
    )


def subject_url(subject) -> str:
    return reverse("subjects:detail", args=[subject.pk])


@login_required
@require_http_methods(["GET", "POST"])
def visit_edit(request, pk, visit_pk):
    subject = subject_for(request.user, pk)
    visit = get_scoped_or_404(
        Visit.objects.filter(subject=subject), request.user, site_path="subject__site", pk=visit_pk
    )
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = VisitForm(
        request.POST or None,
        initial={
            "version": visit.version,
            "actual_date": visit.actual_date,
            "missed": visit.missed,
            "note": visit.note,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = call_service(
            request,
            form,
            lambda: services.record_visit(
                visit=visit,
                expected_version=data["version"],
                actual_date=data["actual_date"],
                missed=data["missed"],
                note=data["note"],
                by=request.user,
                reason=data["reason"],
            ),
            success=lambda _saved: redirect("subjects:detail", pk=subject.pk),
            message=_("Visit %(c)s saved.") % {"c": visit.code},
            back_url=request.path,
        )
        if response is not None:
            return response
    return render(
        request,
        "subjects/visit_form.html",
        {
            "form": form,
            "subject": subject,
            "visit": visit,
            "recorded": visit.actual_date is not None or visit.missed,
        },
        status=422 if form.errors else 200,
    )


def _history_filters(request) -> selectors.HistoryFilters:
    """The history page's filters from the query string; a value it cannot use is a 400."""
    table = query_params.text(request, "table")
    if table and table not in selectors.HISTORY_TABLES:
        raise query_params.BadQueryParameter("table", _("“table” must be one of the listed forms."))
    kind = query_params.text(request, "kind")
    if kind and kind not in selectors.HISTORY_KINDS:
        raise query_params.BadQueryParameter(
            "kind", _("“kind” must be created, changed, deleted or workflow.")
        )
    since, until = query_params.iso_date(request, "since"), query_params.iso_date(request, "until")
    if since and until and since > until:
        raise query_params.BadQueryParameter("until", _("“until” cannot be before “since”."))
    return selectors.HistoryFilters(
        table=table,
        user=query_params.text(request, "user", max_length=150),
        since=since,
        until=until,
        kind=kind,
    )


@login_required
def subject_history(request, pk):
    subject = subject_for(request.user, pk)
    filters = _history_filters(request)
    page = web_page(
        request, selectors.history_events(subject, filters), size=selectors.HISTORY_PAGE_SIZE
    )
    return render(
        request,
        "subjects/history.html",
        {
            "subject": subject,
            "rows": selectors.fold_history(page.object_list),
            "page": page,
            "filters": filters,
            "tables": list(selectors.HISTORY_TABLES.items()),
            "kinds": [(k, label) for k, (_action, label) in selectors.HISTORY_KINDS.items()],
            "users": selectors.history_users(subject),
            "site_tz": subject.site.tz,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def unscheduled_visit(request, pk):
    """Record an unscheduled visit, then open its CRFs (issue 13)."""
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = UnscheduledVisitForm(request.POST or None, initial={"on_date": subject.site.today()})
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.add_unscheduled_visit(
                subject=subject,
                by=request.user,
                on_date=form.cleaned_data["on_date"],
                note=form.cleaned_data["note"],
            ),
            success=lambda visit: redirect("crfs:visit", pk=subject.pk, visit_pk=visit.pk),
            message=_("Unscheduled visit recorded: enter what was done."),
        )
        if done:
            return done
    return render(
        request,
        "subjects/unscheduled_form.html",
        {"form": form, "subject": subject},
        status=422 if form.errors else 200,
    )

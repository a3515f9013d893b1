"""The Exports page (issue 15 §4): start an export, watch its progress, download the file.

Every job is fetched through ``services.job_for`` (a data manager sees every job, others their
own); the sites offered are the ones the user may export (``accounts.access``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.access import Action, sites_for
from alter_s006 import protocol as P
from alter_s006.pagination import web_page
from alter_s006.web import call_service
from exports import services
from exports.forms import StartForm


def _start_form(request, data=None):
    whole = services.exportable_site_ids(request.user) is None
    return StartForm(data, sites=sites_for(request.user, Action.EXPORT), whole_study=whole)


@login_required
def job_list(request):
    """Every export the user may see, newest first; the form that starts one."""
    form = _start_form(request, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            response = call_service(
                request,
                form,
                lambda: services.start_export(
                    user=request.user,
                    kind=form.cleaned_data["kind"],
                    site_id=form.cleaned_data["site"],
                ),
                success=lambda result: redirect("exports:job", pk=result[0].pk),
            )
            if response is not None:
                return response
        status = 422
    page = web_page(request, services.jobs_for(request.user))
    context = {"form": form, "page": page, "retention_days": P.EXPORT_RETENTION_DAYS}
    return render(request, "exports/list.html", context, status=status)


@login_required
@require_GET
def job_page(request, pk):
    job = services.job_for(request.user, pk)
    return render(request, "exports/job.html", {"job": job})


@login_required
@require_GET
def job_progress(request, pk):
    """The progress block alone: htmx polls it while the job is queued or running."""
    job = services.job_for(request.user, pk)
    return render(request, "exports/_progress.html", {"job": job})


@login_required
@require_GET
def download(request, pk):
    job = services.job_for(request.user, pk)  # who asked, or a data manager; else 404
    try:
        handle = services.open_download(user=request.user, job=job)
    except services.ValidationError:
        return render(request, "exports/job.html", {"job": job, "not_ready": True}, status=409)
    return FileResponse(handle, as_attachment=True, filename=job.filename)

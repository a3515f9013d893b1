"""Exports over the API (issue 15 §5): start a job, poll it, download its file.

The same service as the page: a site the caller may not export is 422 ``not_found`` (never a
hint that it exists), the whole study without being a data manager 403, a second request for
an export already queued or running returns that job (200 instead of 201)."""

from __future__ import annotations

import datetime as dt

from django.http import FileResponse, HttpResponse
from ninja import Field, Router, Schema

from alter_s006.api_types import Id, In, PathId, Text
from alter_s006.pagination import API_PAGE_DESCRIPTION, PageQuery, PageSizeQuery, api_page
from exports import services
from exports.models import ExportJob

router = Router(tags=["exports"])


class ExportIn(In):
    kind: Text = Field(..., json_schema_extra={"enum": list(ExportJob.Kind.values)})
    site_id: Id | None = Field(None, description="Site id; omitted: the whole study (DM only)")


class ExportOut(Schema):
    id: int
    kind: str
    site: str | None
    status: str
    done: int
    total: int
    percent: int
    error: str
    filename: str
    size: int | None
    sha256: str
    requested_by: str
    requested_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    download_url: str | None


def _out(job: ExportJob) -> dict:
    from django.urls import reverse

    done = job.status == ExportJob.Status.DONE
    return {
        "id": job.pk,
        "kind": job.kind,
        "site": job.site.code if job.site_id else None,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "error": job.error,
        "filename": job.filename,
        "size": job.size,
        "sha256": job.sha256,
        "requested_by": job.requested_by.get_username(),
        "requested_at": job.requested_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "download_url": reverse("api:export_download", args=[job.pk]) if done else None,
    }


@router.post(
    "/exports",
    url_name="export_start",
    response={200: ExportOut, 201: ExportOut},
    summary="Start an export job (or get the one already running)",
)
def start(request, payload: ExportIn):
    job, created = services.start_export(
        user=request.auth, kind=payload.kind, site_id=payload.site_id
    )
    job = ExportJob.objects.select_related("requested_by", "site").get(pk=job.pk)
    return (201 if created else 200), _out(job)


@router.get(
    "/exports",
    url_name="export_list",
    response=list[ExportOut],
    summary="Export jobs (a data manager: all; others: their own)",
    description=API_PAGE_DESCRIPTION,
)
def job_list(request, response: HttpResponse, page: PageQuery = 1, page_size: PageSizeQuery = 50):
    rows = api_page(request, response, services.jobs_for(request.auth), page, page_size)
    return [_out(j) for j in rows]


@router.get("/exports/{job_id}", url_name="export_status", response=ExportOut, summary="Poll")
def status(request, job_id: PathId):
    return _out(services.job_for(request.auth, job_id))


@router.get(
    "/exports/{job_id}/file",
    url_name="export_download",
    response={200: None},
    summary="Download the file of a finished export",
)
def download(request, job_id: PathId):
    job = services.job_for(request.auth, job_id)
    handle = services.open_download(user=request.auth, job=job)  # no file yet: 409 not_ready
    return FileResponse(handle, as_attachment=True, filename=job.filename)


def _pdf(make, filename: str) -> HttpResponse:
    from exports.pdf import PdfError
    from exports.pdf_views import pdf_failed, pdf_response

    try:
        return pdf_response(make(), filename)
    except PdfError as exc:
        return pdf_failed(exc)


@router.get(
    "/crfs/{dataset}/{record_id}/pdf",
    url_name="crf_pdf",
    response={200: None},
    summary="One CRF as a PDF (application/pdf)",
)
def crf_pdf(request, dataset: Text, record_id: PathId):
    from alter_s006 import protocol as P
    from exports.pdf import render_pdf
    from exports.pdf_views import crf_form, dataset_or_404, subject_context

    ds = dataset_or_404(dataset)
    subject, form = crf_form(ds, record_id, request.auth)
    context = {**subject_context(subject), "form": form}
    return _pdf(
        lambda: render_pdf("exports/pdf/crf.html", context, title=form.label),
        f"{P.TRIAL_ID}-{subject}-{ds.key}-{record_id}.pdf",
    )


@router.get(
    "/subjects/{subject_id}/casebook/pdf",
    url_name="casebook_pdf",
    response={200: None},
    summary="A subject's casebook, PDF/A-3b with its ODM attached (application/pdf)",
)
def casebook_pdf(request, subject_id: PathId):
    from alter_s006 import protocol as P
    from alter_s006.web import subject_for
    from exports.casebook import subject_casebook

    subject = subject_for(request.auth, subject_id)
    return _pdf(
        lambda: subject_casebook(subject, user=request.auth),
        f"{P.TRIAL_ID}-casebook-{subject}.pdf",
    )

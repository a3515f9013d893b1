"""The PDF pages (issue 15 section 1): a CRF, a subject's casebook, the blank and the annotated
CRF book. A record is fetched, then its subject through ``subject_for`` (the one scoped fetch):
another site's record is a 404 like another site's subject."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from alter_s006 import protocol as P
from alter_s006.web import subject_for
from exports import pdf_forms
from exports.metadata import catalogue
from exports.pdf import PdfError, render_pdf


def pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def pdf_failed(exc: PdfError) -> JsonResponse:
    """A PDF that could not be made: 503 with its code (a timeout is the server's limit)."""
    return JsonResponse({"code": exc.code, "message": str(exc)}, status=503)


def subject_context(subject) -> dict:
    """What the running header and every PDF's title block print about the subject: the
    subject number only (no name, initials or date of birth)."""
    return {
        "study": P.TRIAL_ID,
        "site": subject.site,
        "subject": subject,
        "subject_number": str(subject),
        "subject_status": subject.get_status_display(),
        "tz_name": subject.site.time_zone,
        "printed": timezone.now(),
    }


def dataset_or_404(key: str):
    try:
        ds = catalogue().get(key)
    except KeyError:
        raise Http404(_("No such form.")) from None
    if not pdf_forms.printable(ds):
        raise Http404(_("No such form."))
    return ds


def crf_form(ds, pk: int, user):
    """The form ``pk`` of dataset ``ds`` and its subject, if ``user`` may see the subject."""
    from monitoring.services import subject_id_of

    record = ds.model._default_manager.filter(pk=pk).first()
    if record is None:
        raise Http404(_("No such record."))
    subject = subject_for(user, subject_id_of(record))
    form = pdf_forms.build_forms(ds, subject_id=subject.pk, ids=[pk], tz=subject.site.tz)[0]
    if form.visit_id:
        form.visit = pdf_forms.visit_labels(subject.pk).get(form.visit_id)
    return subject, form


@login_required
@require_GET
def crf_pdf(request, dataset, pk):
    """One form instance as a PDF (any role that may view its subject)."""
    ds = dataset_or_404(dataset)
    subject, form = crf_form(ds, pk, request.user)
    context = {**subject_context(subject), "form": form}
    try:
        pdf = render_pdf("exports/pdf/crf.html", context, request=request, title=form.label)
    except PdfError as exc:
        return pdf_failed(exc)
    return pdf_response(pdf, f"{P.TRIAL_ID}-{subject}-{ds.key}-{pk}.pdf")


@login_required
@require_GET
def casebook(request, pk):
    """A subject's casebook, PDF/A-3b with its ODM XML attached (any role that may view the
    subject; one subject renders synchronously)."""
    from exports.casebook import subject_casebook

    subject = subject_for(request.user, pk)
    try:
        pdf = subject_casebook(subject, user=request.user)
    except PdfError as exc:
        return pdf_failed(exc)
    return pdf_response(pdf, f"{P.TRIAL_ID}-casebook-{subject}.pdf")


@login_required
@require_GET
def blank_crf(request):
    """The blank CRF book (no clinical data: every signed-in user)."""
    from exports.crf_book import blank_crf_pdf

    try:
        return pdf_response(blank_crf_pdf(), f"{P.TRIAL_ID}-blank-crf.pdf")
    except PdfError as exc:
        return pdf_failed(exc)


@login_required
@require_GET
def annotated_crf(request):
    """The annotated CRF (metadata only: every signed-in user)."""
    from exports.crf_book import annotated_crf_pdf

    try:
        return pdf_response(annotated_crf_pdf(), f"{P.TRIAL_ID}-annotated-crf.pdf")
    except PdfError as exc:
        return pdf_failed(exc)

"""Screening pages: the CRF with a live verdict, the investigator's signature, the screening log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import Action, get_access, require
from accounts.signatures import printed_name
from alter_s006.pagination import web_page
from alter_s006.web import (
    call_service,
    conflict_response,
    current_sites,
    subject_for,
)
from audit.versioning import EditConflict
from eligibility import services
from eligibility.forms import ScreeningForm, SignatureForm, _layout
from eligibility.models import Screening
from subjects import lifecycle
from subjects import services as subject_services


def read_only(form: ScreeningForm) -> None:
    """Every field shown disabled with the stored value; no reason for change to give."""
    for field in form.fields.values():
        field.disabled = True
    form.helper.layout = _layout(False)


def _changes(form) -> dict:
    return {
        name: form.cleaned_data[name] for name in services.DATA_FIELDS if name in form.cleaned_data
    }


def _context(request, subject, form, screening):
    verdict = services.evaluate(subject, screening)
    signature = services.current_signature(subject)
    valid = services.valid_signature(subject, screening) if screening.pk else None
    access = get_access(request.user)
    return {
        "subject": subject,
        "form": form,
        "screening": screening,
        "verdict": verdict,
        "checklist": services.criteria_rows(verdict, valid),
        "pending": [] if valid else services.pending_attestations(verdict),
        # an active signature of this very data, made without the judgement attestations
        "attestation_missing": signature is not None
        and valid is None
        and not signature.is_void
        and screening.pk is not None
        and signature.data_hash == services.data_hash(subject, screening),
        "signature": signature,
        "valid_signature": valid,
        # The service refuses a save outside screening (``not_in_screening``); the page only
        # stops offering the form then.
        "can_edit": access.can(Action.ENTER_DATA, subject.site_id)
        and subject.status == lifecycle.SubjectStatus.SCREENING,
        "can_sign": access.can(Action.SIGN, subject.site_id),
        "window_warning": services.screening_window_warning(screening),
        "today": subject.site.today(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def screening(request, pk):
    subject = subject_for(request.user, pk)
    current = services.get_screening(subject)
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
    form = ScreeningForm(
        request.POST or None,
        initial={"version": current.version if current.pk else None},
        instance=Screening.objects.get(pk=current.pk) if current.pk else None,
        saved=current.pk is not None,
    )
    if request.method == "POST" and form.is_valid():
        # The form only typed the strings; the service checks and saves (the API's path).
        response = call_service(
            request,
            form,
            lambda: services.save_screening(
                subject=subject,
                changes=_changes(form),
                by=request.user,
                expected_version=form.cleaned_data.get("version"),
                reason=form.cleaned_data.get("reason", ""),
            ),
            success=lambda _saved: redirect("eligibility:screening", pk=subject.pk),
            message=_("Screening data saved."),
            back_url=request.path,
        )
        if response is not None:
            return response
    context = _context(request, subject, form, current)
    if not context["can_edit"]:
        read_only(form)
    return render(
        request, "eligibility/screening.html", context, status=422 if form.errors else 200
    )


@login_required
@require_POST
def verdict(request, pk):
    """htmx: the verdict of what is typed now, without saving anything."""
    subject = subject_for(request.user, pk)
    current = services.get_screening(subject)
    draft = Screening(subject=subject)
    if current.pk:
        for name in services.DATA_FIELDS:
            setattr(draft, name, getattr(current, name))
    form = ScreeningForm(request.POST, instance=draft, saved=False)
    form.is_valid()  # fills cleaned_data for the fields that could be typed
    typed = _changes(form)
    unusable = set(form.errors)
    try:  # the save's own checks (limits, units, plausibility, dates), nothing saved
        services.check_screening(subject, draft, typed, expected_version=None, reason="")
    except ValidationError as exc:
        unusable |= set(exc.error_dict)
    for name in services.DATA_FIELDS:
        if name in unusable:
            # What is typed there is unusable: the verdict shows it as not entered, never
            # the value stored before (that would show a criterion met on a typing error).
            setattr(draft, name, Screening._meta.get_field(name).get_default())
        elif name in typed:
            setattr(draft, name, typed[name])
    result = services.evaluate(subject, draft)
    return render(
        request,
        "eligibility/_verdict.html",
        {
            "verdict": result,
            # typed, not saved: nothing is signed or attested for it
            "checklist": services.criteria_rows(result),
            "pending": services.pending_attestations(result),
            "live": True,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def sign(request, pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.SIGN, subject.site_id)
    current = services.get_screening(subject)
    verdict_now = services.evaluate(subject, current)
    rows = services.criteria_rows(verdict_now)
    pending = [r for r in rows if r["status"] == "pending_attestation"]
    form = SignatureForm(request.POST or None, pending=pending)
    if request.method == "POST" and form.is_valid():

        def signed(signature):
            if signature.created:
                messages.success(request, _("Eligibility signed."))
            else:  # a replayed form, or a colleague signed this very data meanwhile
                messages.info(
                    request, _("This data was signed already: the existing signature stands.")
                )
            return redirect("eligibility:screening", pk=subject.pk)

        response = call_service(
            request,
            form,
            lambda: services.sign_eligibility(
                subject=subject,
                by=request.user,
                password=form.cleaned_data["password"],
                attested=form.cleaned_data.get("attested_criteria", []),
                request=request,
                # The data the investigator read on this page (required): signed only if
                # it is still what is stored.
                expected_hash=request.POST.get("data_hash", "")[:64],
            ),
            success=signed,
        )
        if response is not None:
            return response
        if getattr(request, "axes_locked_out", False):
            # The account is now locked (django-axes): its open session ends too. The axes
            # middleware answers with the lockout page.
            logout(request)
            return redirect("login")
    if request.method == "POST":
        subject.refresh_from_db()  # show what is stored now (it may have changed meanwhile)
        current = services.get_screening(subject)
        verdict_now = services.evaluate(subject, current)
        rows = services.criteria_rows(verdict_now)
    return render(
        request,
        "eligibility/sign.html",
        {
            "subject": subject,
            "form": form,
            "verdict": verdict_now,
            "checklist": rows,
            "pending": services.pending_attestations(verdict_now),
            "meaning": services.EligibilitySignature.MEANING,
            "printed_name": printed_name(request.user),
            "data_hash": services.data_hash(subject, current) if current.pk else "",
            "in_screening": subject.status == lifecycle.SubjectStatus.SCREENING,
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def screen_fail(request, pk):
    """Record a screen failure with the failing criteria as the reason."""
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    verdict_now = services.evaluate(subject)
    if not verdict_now.failing:
        messages.error(request, _("No criterion is failed: complete the data instead."))
        return redirect("eligibility:screening", pk=subject.pk)
    version = request.POST.get("version", "")
    try:
        subject_services.change_status(
            subject=subject,
            target=lifecycle.SubjectStatus.SCREEN_FAILED,
            on_date=subject.site.today(),
            reason=services.failure_reason(verdict_now),
            by=request.user,
            # A missing or garbled version matches no saved version: an edit conflict.
            expected_version=int(version) if version.isascii() and version.isdigit() else -1,
        )
    except EditConflict as exc:
        return conflict_response(request, exc, request.path)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("eligibility:screening", pk=subject.pk)
    messages.success(request, _("Recorded as a screen failure."))
    return redirect("subjects:detail", pk=subject.pk)


@login_required
def screening_log(request):
    subjects = services.screening_log_subjects(request.user, current_sites(request))
    page = web_page(request, subjects)
    return render(
        request,
        "eligibility/log.html",
        {
            "rows": services.screening_log_reasons(page.object_list),
            "counts": services.screening_log_counts(subjects),
            "page": page,
        },
    )

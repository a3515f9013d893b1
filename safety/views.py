"""Safety pages: the adverse event log (CTCAE type-ahead, grade buttons with the wording of
each grade), AE detail with grade history, causality e-signature and SAE reports, the SAE form
PDF, the SAE listing, and the on-treatment lab panels graded by CTCAE."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import Action, get_access, get_scoped_or_404, require
from alter_s006 import protocol as P
from alter_s006 import query_params
from alter_s006.pagination import web_page
from alter_s006.web import call_service, subject_for
from logs.selectors import baseline_match
from queries.services import open_queries
from safety import ctcae, selectors, services
from safety.forms import (
    AdverseEventForm,
    CausalityForm,
    DraftReportForm,
    LabCorrectionForm,
    LabPanelForm,
    SubmitReportForm,
)
from safety.models import SAE_CRITERIA, AdverseEvent, CtcaeTerm, LabPanel, LabResult, SaeReport


def _ae(request, subject, ae_pk):
    return get_scoped_or_404(
        AdverseEvent.objects.filter(subject=subject).select_related("term", "dose_event"),
        request.user,
        "subject__site",
        pk=ae_pk,
    )


# --- CTCAE type-ahead ---------------------------------------------------------------------------


@login_required
@require_GET
def term_search(request):
    """htmx: terms matching the words typed (term, SOC) or a MedDRA code prefix."""
    q = query_params.text(request, "q")
    return render(
        request,
        "safety/_term_results.html",
        {"terms": selectors.search_terms(q, limit=15), "q": q.strip()},
    )


@login_required
@require_GET
def term_grades(request, term_pk):
    """htmx: the chosen term with a button per grade it has and the wording of each."""
    term = get_object_or_404(CtcaeTerm, pk=term_pk)  # reference data: no site
    try:
        grade = int(request.GET.get("grade", ""))
    except ValueError:
        grade = None
    return render(
        request,
        "safety/_term_panel.html",
        {"term": term, "grade": grade, "grade_rows": grade_rows(term)},
    )


def grade_rows(term: CtcaeTerm | None) -> list[tuple[int, str]]:
    """(grade, CTCAE wording or "" when the term has no such grade) for grades 1 to 5."""
    if term is None:
        return []
    return [(g, term.definition_of(g)) for g in range(1, 6)]


# --- adverse events -----------------------------------------------------------------------------


@login_required
def ae_list(request, pk):
    subject = subject_for(request.user, pk)
    page = web_page(
        request,
        subject.adverse_events.select_related("term", "dose_event", "causality_signed_by")
        .prefetch_related("grade_changes", "sae_reports")
        .order_by("-onset_date", "-id"),
    )
    aes = list(page.object_list)
    for ae in aes:
        ae.summary = services.grade_summary(ae)  # reports an inconsistent record (a query)
    queries = open_queries(aes)
    for ae in aes:
        ae.open_queries = queries.get(ae.pk, [])
    access = get_access(request.user)
    return render(
        request,
        "safety/ae_list.html",
        {
            "subject": subject,
            "aes": aes,
            "page": page,
            "window": selectors.reporting_window(subject),
            "after_last_dose": P.AE_REPORTING_DAYS_AFTER_LAST_DOSE,
            "can_edit": access.can(Action.ENTER_DATA, subject.site_id),
            "can_sign": access.can(Action.SIGN, subject.site_id),
        },
    )


def _prefill(request, subject) -> dict:
    """An AE offered from a lab value arrives with its term, grade, onset and verbatim (each
    checked: a bad one is a 400 naming it)."""
    initial = {"action_taken": AdverseEvent.Action.NONE, "ongoing": True}
    given = {
        "term": query_params.whole_number(request, "term"),
        "grade": query_params.whole_number(request, "grade", max_value=max(ctcae.GRADES)),
        "onset_date": query_params.iso_date(request, "onset_date"),
        "verbatim": query_params.text(request, "verbatim", max_length=200),
        "lab_result": query_params.whole_number(request, "lab_result"),
    }
    initial |= {name: value for name, value in given.items() if value}
    if "lab_result" in initial:
        result = LabResult.objects.filter(pk=initial["lab_result"], panel__subject=subject).first()
        if result is None:  # another subject's value, or none: the AE is not linked to it
            initial.pop("lab_result")
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def ae_new(request, pk):
    subject = subject_for(request.user, pk)
    with timezone.override(subject.site.tz):  # dates and times as the site's clock reads them
        return _ae_new(request, subject)


def _ae_new(request, subject):
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = AdverseEventForm(
        request.POST or None, subject=subject, initial=_prefill(request, subject)
    )
    if request.method == "POST" and form.is_valid():
        lab_result = None
        if form.cleaned_data.get("lab_result"):
            lab_result = LabResult.objects.filter(
                pk=form.cleaned_data["lab_result"], panel__subject=subject
            ).first()

        def recorded(ae):
            messages.success(
                request,
                _("Adverse event recorded: %(t)s, grade %(g)s.")
                % {"t": ae.display_term, "g": ae.grade},
            )
            if ae.out_of_window:
                messages.warning(
                    request,
                    _("The onset is outside the AE reporting window: a query is open."),
                )
            if ae.serious:
                messages.warning(
                    request,
                    _("Serious adverse event: the initial SAE report is due within %(h)s hours.")
                    % {"h": P.SAE_REPORT_HOURS},
                )
            return redirect("safety:ae", pk=subject.pk, ae_pk=ae.pk)

        done = call_service(
            request,
            form,
            lambda: services.record_ae(
                subject=subject, by=request.user, lab_result=lab_result, **form.values()
            ),
            success=recorded,
        )
        if done:
            return done
    context = _form_context(subject, form)
    # logs (issue 13): an AE continuing an ongoing baseline condition asks "has it worsened?"
    context["baseline_match"] = baseline_match(subject, context["term"], context["grade"])
    return render(request, "safety/ae_form.html", context, status=422 if form.errors else 200)


def _form_context(subject, form) -> dict:
    term = form.chosen_term()
    return {
        "subject": subject,
        "form": form,
        "term": term,
        "grade": form.chosen_grade(),
        "grade_rows": grade_rows(term),
        "window": selectors.reporting_window(subject),
        "after_last_dose": P.AE_REPORTING_DAYS_AFTER_LAST_DOSE,
    }


def _ae_initial(ae: AdverseEvent) -> dict:
    initial = {name: getattr(ae, name) for name in services.AE_FIELDS if name != "dose_event"}
    initial["term"] = ae.term_id
    initial["dose_event"] = ae.dose_event_id
    initial["learned_on"] = timezone.localtime(ae.learned_on, ae.subject.site.tz)
    initial["version"] = ae.version
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def ae_detail(request, pk, ae_pk):
    subject = subject_for(request.user, pk)
    ae = _ae(request, subject, ae_pk)
    with timezone.override(subject.site.tz):
        return _ae_detail(request, subject, ae)


def _ae_detail(request, subject, ae):
    access = get_access(request.user)
    can_edit = access.can(Action.ENTER_DATA, subject.site_id)
    form = None
    if can_edit or request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
        form = AdverseEventForm(
            request.POST or None, subject=subject, correcting=True, initial=_ae_initial(ae)
        )
    if request.method != "POST" and form is not None:
        from monitoring.selectors import hold_in_force

        if hold_in_force(record=ae) is not None:
            form = None  # frozen or locked: read only (the monitoring bar says why)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        fresh = AdverseEvent.objects.get(pk=ae.pk)
        changes = {k: v for k, v in values.items() if _differs(fresh, k, v)}

        def update():
            if not changes:
                raise ValidationError(_("Nothing was changed."), code="nothing_changed")
            return services.update_ae(
                ae=ae,
                by=request.user,
                expected_version=form.cleaned_data.get("version") or 0,
                reason=form.cleaned_data.get("reason", ""),
                changes=changes,
                grade_from=form.cleaned_data.get("grade_from"),
                sae_aware_at=form.cleaned_data.get("sae_aware_at"),
            )

        done = call_service(
            request,
            form,
            update,
            success=lambda _ae: redirect("safety:ae", pk=subject.pk, ae_pk=ae.pk),
            message=_("Adverse event updated."),
            back_url=request.path,
        )
        if done:
            return done
    return render(
        request,
        "safety/ae_detail.html",
        _detail_context(request, subject, ae, form, access),
        status=422 if form is not None and form.errors else 200,
    )


def _differs(ae, name, value) -> bool:
    current = getattr(ae, name)
    if name in ("term", "dose_event"):
        current_pk = getattr(ae, f"{name}_id")
        return current_pk != (value.pk if value is not None else None)
    if name == "learned_on" and value is not None:
        return abs((current - value).total_seconds()) >= 60  # the form keeps minutes
    return current != value


def _reports(ae, bound=None) -> list[SaeReport]:
    """The AE's SAE reports, each unsubmitted one with its draft form (coordinator or
    investigator) and its signing form (investigator), bound to the content shown; ``bound``
    is (report pk, form) of a refused post shown again."""
    reports = list(
        ae.sae_reports.select_related("submitted_by", "signed_by", "ae__term").order_by("sequence")
    )
    for r in reports:
        r.ae = ae
        if r.submitted_at is not None:
            continue
        r.draft_form = DraftReportForm(
            initial={"version": r.version, "narrative": r.narrative}, prefix=f"draft-{r.pk}"
        )
        r.sign_form = SubmitReportForm(
            initial={"data_hash": services.report_hash(r), "narrative": r.narrative},
            prefix=f"sign-{r.pk}",
        )
        if bound is not None and bound[0] == r.pk:
            form = bound[1]
            if isinstance(form, DraftReportForm):
                r.draft_form = form
            else:
                r.sign_form = form
    return reports


def _detail_context(request, subject, ae, form, access, causality=None, bound_report=None):
    history = list(ae.grade_changes.select_related("recorded_by"))
    extra = _form_context(subject, form) if form is not None else {}
    return extra | {
        "subject": subject,
        "ae": ae,
        "form": form,
        "history": history,
        "summary": services.grade_summary(ae),
        "reports": _reports(ae, bound_report),
        "sae_meaning": SaeReport.SUBMISSION_MEANING,
        "queries": open_queries([ae]).get(ae.pk, []),
        "criteria": [ae._meta.get_field(n).verbose_name for n in SAE_CRITERIA if getattr(ae, n)],
        "can_sign": access.can(Action.SIGN, subject.site_id),
        "can_edit": access.can(Action.ENTER_DATA, subject.site_id),
        "causality_form": causality
        or CausalityForm(initial={"version": ae.version, "relationship": ae.relationship}),
        "meaning": AdverseEvent.CAUSALITY_MEANING,
        "lab_results": list(ae.lab_results.select_related("panel")),
        "after_last_dose": P.AE_REPORTING_DAYS_AFTER_LAST_DOSE,
    }


@login_required
@require_POST
def ae_causality(request, pk, ae_pk):
    """The investigator's e-signed causality (password re-entered)."""
    subject = subject_for(request.user, pk)
    ae = _ae(request, subject, ae_pk)
    require(request.user, Action.SIGN, subject.site_id)
    form = CausalityForm(request.POST)
    if form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.sign_causality(
                ae=ae,
                by=request.user,
                relationship=form.cleaned_data["relationship"],
                password=form.cleaned_data["password"],
                request=request,
                expected_version=form.cleaned_data["version"],
            ),
            success=lambda _ae: redirect("safety:ae", pk=subject.pk, ae_pk=ae.pk),
            message=_("Causality signed."),
            back_url=request.path,
        )
        if done:
            return done
    access = get_access(request.user)
    edit = None
    if access.can(Action.ENTER_DATA, subject.site_id):
        edit = AdverseEventForm(subject=subject, correcting=True, initial=_ae_initial(ae))
    return render(
        request,
        "safety/ae_detail.html",
        _detail_context(request, subject, ae, edit, access, causality=form),
        status=422,
    )


@login_required
def sae_pdf(request, pk, ae_pk):
    """The SAE form of a serious adverse event, as a PDF (``exports.pdf``: the project's one
    PDF renderer and template family)."""
    from exports.pdf import render_pdf

    subject = subject_for(request.user, pk)
    ae = _ae(request, subject, ae_pk)
    if not ae.serious:
        messages.error(request, _("Only a serious adverse event has an SAE form."))
        return redirect("safety:ae", pk=subject.pk, ae_pk=ae.pk)
    context = _detail_context(request, subject, ae, None, get_access(request.user))
    context |= {
        "trial": P.TRIAL_ID,
        "drug": P.DRUG_NAME,
        "ctcae": P.CTCAE_VERSION,
        "printed": timezone.now(),
        "window": selectors.reporting_window(subject),
        "grade_rows": grade_rows(ae.term),
    }
    pdf = render_pdf("safety/sae_form.html", context, request=request, title=_("SAE form"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="SAE-{subject}-{ae.pk}.pdf"'
    return response


# --- SAE reports --------------------------------------------------------------------------------


@login_required
def sae_list(request):
    listing = selectors.sae_listing(request.user)
    page = web_page(request, listing)
    return render(
        request,
        "safety/sae_list.html",
        {
            "reports": page.object_list,
            "page": page,
            "overdue": listing.filter(submitted_at__isnull=True, due_at__lt=timezone.now()).count(),
            "sae_hours": P.SAE_REPORT_HOURS,
            "now": timezone.now(),
        },
    )


def _report(request, report_pk) -> SaeReport:
    return get_scoped_or_404(
        SaeReport.objects.select_related("ae__subject__site", "ae__term"),
        request.user,
        "ae__subject__site",
        pk=report_pk,
    )


def _report_page(request, report, form):
    """The AE page again with the refused report form (422)."""
    ae = _ae(request, report.ae.subject, report.ae_id)
    access = get_access(request.user)
    edit = None
    if access.can(Action.ENTER_DATA, ae.subject.site_id):
        edit = AdverseEventForm(subject=ae.subject, correcting=True, initial=_ae_initial(ae))
    with timezone.override(ae.subject.site.tz):
        return render(
            request,
            "safety/ae_detail.html",
            _detail_context(request, ae.subject, ae, edit, access, bound_report=(report.pk, form)),
            status=422,
        )


@login_required
@require_POST
def sae_draft(request, report_pk):
    """Prepare an SAE report: the narrative (coordinator or investigator), not submitted."""
    return _report_action(
        request,
        report_pk,
        Action.ENTER_DATA,
        DraftReportForm,
        "draft",
        lambda report, data: services.save_sae_draft(
            report=report,
            by=request.user,
            narrative=data["narrative"],
            expected_version=data["version"],
        ),
        _("%(r)s saved; an investigator signs it to submit it."),
    )


@login_required
@require_POST
def sae_submit(request, report_pk):
    """Submit an SAE report: the investigator's e-signature (403 for any other role)."""
    return _report_action(
        request,
        report_pk,
        Action.SIGN,
        SubmitReportForm,
        "sign",
        lambda report, data: services.submit_sae_report(
            report=report,
            by=request.user,
            narrative=data["narrative"],
            password=data["password"],
            expected_hash=data.get("data_hash", ""),
            request=request,
        ),
        _("%(r)s signed and submitted."),
        aliases={"data_hash": "__all__"},
    )


def _report_action(request, report_pk, action, form_class, prefix, write, message, **kwargs):
    """One POST on an SAE report (draft or submission): ``action`` required at its site, the
    form, the service ``write(report, cleaned_data)``, back to the AE page or the page again
    with the errors by the fields."""
    report = _report(request, report_pk)
    ae = report.ae
    require(request.user, action, ae.subject.site_id)
    form = form_class(request.POST, prefix=f"{prefix}-{report.pk}")
    back = redirect("safety:ae", pk=ae.subject_id, ae_pk=ae.pk)
    if form.is_valid():
        done = call_service(
            request,
            form,
            lambda: write(report, form.cleaned_data),
            success=lambda _r: back,
            message=message % {"r": report.label},
            back_url=back.url,
            **kwargs,
        )
        if done is not None:
            return done
    return _report_page(request, report, form)


@login_required
@require_POST
def sae_follow_up(request, pk, ae_pk):
    subject = subject_for(request.user, pk)
    ae = _ae(request, subject, ae_pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    try:
        report = services.add_follow_up(ae=ae, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("%(r)s requested.") % {"r": report.label})
    return redirect("safety:ae", pk=subject.pk, ae_pk=ae.pk)


# --- lab panels ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def labs(request, pk):
    subject = subject_for(request.user, pk)
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    form = None
    if can_edit or request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
        # opened from a visit page (issue 13): that visit chosen
        chosen = query_params.whole_number(request, "visit")
        form = LabPanelForm(
            request.POST or None, subject=subject, initial={"visit": chosen} if chosen else {}
        )
    if request.method == "POST" and form.is_valid():

        def recorded(panel):
            offered = selectors.offered_aes(panel)
            messages.success(
                request,
                _("Lab panel of %(d)s recorded.") % {"d": panel.sample_date.isoformat()},
            )
            if offered:
                messages.warning(
                    request,
                    _("%(n)s value(s) of grade %(g)s or more without an adverse event: see below.")
                    % {"n": len(offered), "g": P.LAB_AE_OFFER_MIN_GRADE},
                )
            return redirect("safety:labs", pk=subject.pk)

        done = call_service(
            request,
            form,
            lambda: services.record_lab_panel(
                subject=subject,
                by=request.user,
                sample_date=form.cleaned_data["sample_date"],
                visit=form.cleaned_data.get("visit"),
                values=form.values(),
                systolic=form.cleaned_data.get("systolic"),
                diastolic=form.cleaned_data.get("diastolic"),
                qtc_confirmed=form.cleaned_data.get("qtc_confirmed", False),
            ),
            success=recorded,
        )
        if done:
            return done
    page = web_page(request, selectors.lab_panels(subject))
    panels = list(page.object_list)
    offers = selectors.offers_by_panel(panels)
    for panel in panels:
        panel.offers = offers.get(panel.pk, [])
        panel.offered_ids = {o.result.pk for o in panel.offers}
    return render(
        request,
        "safety/labs.html",
        {
            "subject": subject,
            "form": form,
            "panels": panels,
            "lab_results": [r for panel in panels for r in panel.results.all()],
            "page": page,
            "can_edit": can_edit,
            "offer_min_grade": P.LAB_AE_OFFER_MIN_GRADE,
        },
        status=422 if form is not None and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def lab_correct(request, pk, panel_pk):
    """Correct a recorded lab panel (reason for change; graded again, queries re-synced)."""
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    panel = get_object_or_404(
        LabPanel.objects.filter(subject=subject).prefetch_related("results"), pk=panel_pk
    )
    form = LabCorrectionForm(
        request.POST or None, subject=subject, initial=LabCorrectionForm.initial_for(panel)
    )
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.correct_lab_panel(
                panel=panel,
                by=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                sample_date=form.cleaned_data["sample_date"],
                visit=form.cleaned_data.get("visit"),
                values=form.values(),
                systolic=form.cleaned_data.get("systolic"),
                diastolic=form.cleaned_data.get("diastolic"),
                qtc_confirmed=form.cleaned_data.get("qtc_confirmed", False),
            ),
            success=lambda p: redirect("safety:labs", pk=subject.pk),
            message=_("Lab panel of %(d)s corrected.") % {"d": panel.sample_date.isoformat()},
        )
        if done is not None:
            return done
    return render(
        request,
        "safety/lab_correct.html",
        {"subject": subject, "panel": panel, "form": form},
        status=422 if form.errors else 200,
    )

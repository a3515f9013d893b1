"""Tumour assessment pages: overview (history, best response, spider plot), baseline lesions,
a new assessment with its response computed as it is typed (htmx), corrections."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import Action, get_access, get_scoped_or_404, require
from alter_s006 import protocol as P
from alter_s006 import query_params
from alter_s006.web import call_service, subject_for
from assessments import recist, services
from assessments.forms import BaselineForm, LesionForm, TimepointForm
from assessments.models import Lesion, Timepoint
from queries.services import open_queries


def _timepoint(request, subject, tp_pk):
    return get_scoped_or_404(
        Timepoint.objects.filter(subject=subject), request.user, "subject__site", pk=tp_pk
    )


# --- spider plot ----------------------------------------------------------------------------

PLOT_W, PLOT_H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 240, 48, 16, 12, 28


def spider(subject, timepoints) -> dict | None:
    """Coordinates of the subject's line (% change of the sum from baseline against days from
    C1D1) for an inline SVG, with the PR (-30 %) and PD (+20 %) reference lines."""
    points = [(0, Decimal(0), "BL")] + [
        ((tp.scan_date - subject.c1d1_date).days, tp.change_from_baseline_pct, tp.overall_response)
        for tp in timepoints
        if tp.change_from_baseline_pct is not None
    ]
    if len(points) < 2:
        return None
    max_x = max(p[0] for p in points) or 1
    low = min(Decimal(-100), min(p[1] for p in points))
    high = max(Decimal(40), max(p[1] for p in points))

    def x(day):
        return round(PAD_L + (PLOT_W - PAD_L - PAD_R) * day / max_x, 1)

    def y(pct):
        return round(PAD_T + (PLOT_H - PAD_T - PAD_B) * float((high - pct) / (high - low)), 1)

    coords = [(x(d), y(p), d, p, r) for d, p, r in points]
    ticks = [t for t in range(-100, int(high) + 1, 20) if low <= t <= high]
    return {
        "width": PLOT_W,
        "height": PLOT_H,
        "left": PAD_L,
        "right": PLOT_W - PAD_R,
        "bottom": PLOT_H - PAD_B,
        "polyline": " ".join(f"{cx},{cy}" for cx, cy, *_ in coords),
        "points": coords,
        "pd_y": y(recist.PD_INCREASE_PCT),
        "pr_y": y(-recist.PR_DECREASE_PCT),
        "pd_pct": recist.PD_INCREASE_PCT,
        "pr_pct": recist.PR_DECREASE_PCT,
        "zero_y": y(Decimal(0)),
        "ticks": [(t, y(Decimal(t))) for t in ticks],
        "max_day": max_x,
    }


@login_required
def overview(request, pk):
    subject = subject_for(request.user, pk)
    lesions = list(subject.lesions.all())
    # Not paginated (issue 12 goal 3): one subject's assessments, every 6 weeks from C1D1
    # (P.TUMOUR_ASSESSMENT_INTERVAL_DAYS) over at most P.MAX_CYCLES cycles, are a few dozen at
    # most, and the spider plot and best response need them all. Fixed number of queries.
    timepoints = list(
        subject.timepoints.select_related("visit").prefetch_related(
            "measurements__lesion", "measurements__merged_into"
        )
    )
    targets = [x for x in lesions if x.role == Lesion.Role.TARGET]
    queries = open_queries(timepoints)
    for tp in timepoints:
        tp.open_queries = queries.get(tp.pk, [])
        by_lesion = {m.lesion_id: m for m in tp.measurements.all()}
        tp.cells = [by_lesion.get(t.pk) for t in targets]
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    return render(
        request,
        "assessments/overview.html",
        {
            "subject": subject,
            "targets": targets,
            "non_targets": [x for x in lesions if x.role == Lesion.Role.NON_TARGET],
            "baseline_sum": sum((t.baseline_diameter_mm for t in targets), Decimal(0)),
            "timepoints": timepoints,
            "note_colspan": len(targets) + 11,  # the row's cells after the scan date
            "bor": services.best_response(subject) if timepoints else None,
            "spider": spider(subject, timepoints) if subject.c1d1_date else None,
            "can_edit": can_edit,
            "confirm_days": P.RESPONSE_CONFIRMATION_MIN_DAYS,
            "window_days": P.TUMOUR_ASSESSMENT_WINDOW_DAYS,
            "sd_days": recist.SD_MIN_DAYS_AFTER_C1D1,
            "ta_interval": P.TUMOUR_ASSESSMENT_INTERVAL_DAYS,
            "ta_window": P.TUMOUR_ASSESSMENT_WINDOW_DAYS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def baseline(request, pk):
    subject = subject_for(request.user, pk)
    if subject.lesions.exists():
        messages.info(request, _("The baseline is recorded; correct a lesion from its row."))
        return redirect("assessments:overview", pk=subject.pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = BaselineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.record_baseline(
                subject=subject,
                by=request.user,
                targets=form.lesions("targets"),
                non_targets=form.lesions("non_targets"),
            ),
            success=lambda _rows: redirect("assessments:overview", pk=subject.pk),
            message=_("Baseline lesions recorded."),
            aliases=_row_aliases(form),
        )
        if done:
            return done
    return render(
        request,
        "assessments/baseline.html",
        {
            "subject": subject,
            "form": form,
            "groups": [
                (_("Target lesions"), form.target_rows()),
                (_("Non-target lesions and non-measurable disease"), form.non_target_rows()),
            ],
            "baseline_days": P.SCREENING_MAX_DAYS_BEFORE_C1D1,
        },
        status=422 if form.errors else 200,
    )


def _row_aliases(form) -> dict[str, str]:
    """Service keys are the form's names (``targets-2-organ``) except ``targets-5`` for a row
    that is one too many: that one goes beside the row's organ."""
    return {name.removesuffix("-organ"): name for name in form.fields if name.endswith("-organ")}


def _timepoint_form(request, subject, *, data=None, initial=None, correcting=False):
    lesions = list(subject.lesions.all())
    return TimepointForm(
        data,
        initial=initial,
        targets=[x for x in lesions if x.role == Lesion.Role.TARGET],
        has_non_targets=any(x.role == Lesion.Role.NON_TARGET for x in lesions),
        correcting=correcting,
    )


def _timepoint_context(subject, form, timepoint=None) -> dict:
    previous = [tp for tp in subject.timepoints.all() if tp != timepoint]
    before = [tp for tp in previous if timepoint is None or tp.scan_date < timepoint.scan_date]
    return {
        "offer_confirmation": bool(before) and before[-1].new_lesion == recist.NewLesion.EQUIVOCAL,
        "subject": subject,
        "form": form,
        "timepoint": timepoint,
        "previous": previous,
        "result": None,
    }


@login_required
@require_http_methods(["GET", "POST"])
def new_timepoint(request, pk):
    subject = subject_for(request.user, pk)
    if not subject.lesions.exists():
        messages.info(request, _("Record the baseline lesions first."))
        return redirect("assessments:overview", pk=subject.pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = _timepoint_form(request, subject, data=request.POST or None)

    def recorded(result):
        tp = result.timepoint
        messages.success(
            request,
            _("Assessment of %(d)s recorded: %(r)s.")
            % {"d": tp.scan_date.isoformat(), "r": tp.overall_response},
        )
        if result.out_of_window:
            messages.warning(
                request,
                _("The scan date is outside every tumour-assessment window (±%(d)s days).")
                % {"d": P.TUMOUR_ASSESSMENT_WINDOW_DAYS},
            )
        return redirect("assessments:overview", pk=subject.pk)

    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.record_timepoint(subject=subject, by=request.user, **form.entries()),
            success=recorded,
        )
        if done:
            return done
    context = _timepoint_context(subject, form)
    context["result"] = _preview(subject, form) if request.method == "POST" else None
    return render(
        request,
        "assessments/timepoint.html",
        context,
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_timepoint(request, pk, tp_pk):
    subject = subject_for(request.user, pk)
    timepoint = _timepoint(request, subject, tp_pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    initial = {
        "version": timepoint.version,
        "scan_date": timepoint.scan_date,
        "non_target_status": timepoint.non_target_status,
        "new_lesion": timepoint.new_lesion,
        "confirms_equivocal": timepoint.confirms_equivocal,
        "investigator_response": timepoint.investigator_response,
        "disagreement_reason": timepoint.disagreement_reason,
    }
    for m in timepoint.measurements.select_related("lesion", "merged_into"):
        initial[f"measurements-{m.lesion.lesion_id}"] = m.kind
        initial[f"measurements-{m.lesion.lesion_id}-mm"] = m.diameter_mm
        if m.merged_into:
            initial[f"measurements-{m.lesion.lesion_id}-into"] = m.merged_into.lesion_id
    form = _timepoint_form(
        request, subject, data=request.POST or None, initial=initial, correcting=True
    )
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.correct_timepoint(
                timepoint=timepoint,
                by=request.user,
                expected_version=form.cleaned_data.get("version") or 0,
                reason=form.cleaned_data.get("reason", ""),
                **form.entries(),
            ),
            success=lambda _tp: redirect("assessments:overview", pk=subject.pk),
            message=_("Assessment corrected; later assessments derived again."),
            back_url=request.path,
        )
        if done:
            return done
    context = _timepoint_context(subject, form, timepoint)
    context["result"] = _preview(subject, form, timepoint)
    return render(
        request, "assessments/timepoint.html", context, status=422 if form.errors else 200
    )


def _preview(subject, form, timepoint=None):
    """The derived values of what the form holds now, or the messages why they cannot be."""
    if not form.is_bound:
        if timepoint is None:
            return None
        data = {
            "scan_date": timepoint.scan_date,
            "measurements": {
                m.lesion.lesion_id: (
                    m.kind,
                    m.diameter_mm,
                    m.merged_into.lesion_id if m.merged_into else None,
                )
                for m in timepoint.measurements.select_related("lesion", "merged_into")
            },
            "non_target_status": timepoint.non_target_status,
            "new_lesion": timepoint.new_lesion,
        }
    else:
        form.is_valid()
        entries = form.entries() if hasattr(form, "cleaned_data") else {}
        data = {k: entries.get(k) for k in ("scan_date", "measurements")}
        data["non_target_status"] = entries.get("non_target_status", "")
        data["new_lesion"] = entries.get("new_lesion", "")
        data["measurements"] = data["measurements"] or {}
    missing = []
    if not data["new_lesion"]:
        missing.append(_("new lesion"))
        data["new_lesion"] = recist.NewLesion.NO.value
    if "non_target_status" in form.fields and not data["non_target_status"]:
        missing.append(_("non-target lesions"))
        data["non_target_status"] = recist.NonTargetStatus.NON_CR_NON_PD.value
    try:
        result = services.preview_timepoint(subject=subject, timepoint=timepoint, **data)
    except ValidationError as exc:
        return {"errors": exc.messages}
    # Without every answer only the target lesions are known: no overall response yet.
    return {"result": result, "missing": missing}


@login_required
@require_POST
def preview(request, pk):
    """htmx: the sum, changes and responses of the assessment being typed; nothing is saved."""
    subject = subject_for(request.user, pk)
    timepoint = None
    timepoint_pk = query_params.whole_number(request, "timepoint")
    if timepoint_pk is not None:
        timepoint = _timepoint(request, subject, timepoint_pk)
    form = _timepoint_form(request, subject, data=request.POST, correcting=timepoint is not None)
    entered = form.data.get("investigator_response", "")
    return render(
        request,
        "assessments/_derived.html",
        {"subject": subject, "result": _preview(subject, form, timepoint), "entered": entered},
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_lesion(request, pk, lesion_pk):
    subject = subject_for(request.user, pk)
    lesion = get_scoped_or_404(
        Lesion.objects.filter(subject=subject), request.user, "subject__site", pk=lesion_pk
    )
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = LesionForm(
        request.POST or None,
        instance=Lesion.objects.get(pk=lesion.pk),  # a copy: the form writes into it
        initial={"version": lesion.version},
    )
    if request.method == "POST" and form.is_valid():
        changes = {
            name: form.cleaned_data[name]
            for name in services.LESION_FIELDS
            if form.cleaned_data.get(name) != getattr(lesion, name)
        }

        def correct():
            if not changes:
                raise ValidationError(_("Nothing was changed."), code="no_change")
            return services.correct_lesion(
                lesion=lesion,
                by=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
                changes=changes,
            )

        done = call_service(
            request,
            form,
            correct,
            success=lambda _lesion: redirect("assessments:overview", pk=subject.pk),
            message=_("Lesion corrected; assessments derived again."),
            back_url=request.path,
        )
        if done:
            return done
    return render(
        request,
        "assessments/lesion_form.html",
        {"subject": subject, "lesion": lesion, "form": form},
        status=422 if form.errors else 200,
    )

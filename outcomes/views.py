"""Outcome pages: end of treatment, death, survival follow-up (per survival visit) and
withdrawals of consent. Each page shows the record to those who may read the subject's site,
and its form to those who may enter data there; a save calls the form's one service
(``outcomes.services``): its refusals beside the fields, a stale version the conflict page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.access import Action, get_access, require
from alter_s006.pagination import web_page
from alter_s006.web import attach_errors, call_service, conflict_response, subject_for
from audit.versioning import EditConflict
from outcomes import selectors, services
from outcomes.forms import (
    DeathForm,
    EndOfTreatmentForm,
    SurvivalFollowUpForm,
    TherapyFormSet,
    WithdrawalForm,
)
from outcomes.models import Death, EndOfTreatment, SurvivalFollowUp, Withdrawal
from outcomes.rules import AliveSource
from subjects.models import Visit
from subjects.schedule import VisitKind

# Where the last date known alive comes from, as the page names it.
ALIVE_SOURCES = {
    AliveSource.FOLLOW_UP: gettext_lazy("survival follow-up"),
    AliveSource.VISIT: gettext_lazy("a visit done"),
    AliveSource.DOSE: gettext_lazy("dosing"),
    AliveSource.ADVERSE_EVENT: gettext_lazy("an adverse event"),
    AliveSource.LAB: gettext_lazy("a lab sample"),
    AliveSource.CONSENT: gettext_lazy("the informed consent"),
}


def _initial(record, names) -> dict:
    if record is None:
        return {}
    return {name: getattr(record, name) for name in names} | {"version": record.version}


def _rows(record, names) -> list[tuple[str, object]]:
    """(label, value shown) of a stored record, for readers who do not edit."""
    if record is None:
        return []
    rows = []
    for name in names:
        field = record._meta.get_field(name)
        value = getattr(record, f"get_{name}_display", lambda n=name: getattr(record, n))()
        rows.append((field.verbose_name, value if value not in (None, "") else "—"))
    return rows


def _page(request, subject, *, template="outcomes/crf_form.html", status=None, **context):
    form = context.get("form")
    formset = context.get("formset")
    failed = (form is not None and form.errors) or (
        formset is not None and formset.total_error_count()
    )
    return render(
        request,
        template,
        {"subject": subject, **context},
        status=status or (422 if failed else 200),
    )


def _editor(request, subject) -> bool:
    """May this user enter data here? A POST by one who may not is a 403."""
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
    return can_edit


def _saved(request, subject, message):
    def done(_record):
        messages.success(request, message)
        return redirect("subjects:detail", pk=subject.pk)

    return done


# --- end of treatment -----------------------------------------------------------------------

EOT_FIELDS = ("decision_date", "stop_reason", "toxicity_ae", "reason_other")


@login_required
@require_http_methods(["GET", "POST"])
def end_of_treatment(request, pk):
    subject = subject_for(request.user, pk)
    record = EndOfTreatment.objects.filter(subject=subject).select_related("visit").first()
    form = None
    if _editor(request, subject):
        form = EndOfTreatmentForm(
            request.POST or None,
            subject=subject,
            correcting=record is not None,
            initial=_initial(record, EOT_FIELDS),
        )
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.save_end_of_treatment(
                subject=subject, by=request.user, **form.values(), **form.correction()
            ),
            success=_saved(request, subject, _("End of treatment saved.")),
        )
        if done:
            return done
    last_dose = record.last_dose_date if record else services.last_dose_for(subject)
    return _page(
        request,
        subject,
        title=_("End of treatment"),
        form=form,
        record=record,
        rows=_rows(record, EOT_FIELDS),
        facts=[(_("Last dose (dosing calendar)"), last_dose or "—")],
        dosing_link=subject.c1d1_date is not None,
        intro=_(
            "Saving the end of treatment for a subject on treatment makes the subject off "
            "treatment on the decision date, with the last dose of the dosing calendar: no "
            "dose is planned after it."
        ),
    )


# --- death ----------------------------------------------------------------------------------

DEATH_FIELDS = ("death_date", "cause", "cause_ae", "cause_other", "autopsy")


@login_required
@require_http_methods(["GET", "POST"])
def death(request, pk):
    subject = subject_for(request.user, pk)
    record = Death.objects.filter(subject=subject).select_related("cause_ae__term").first()
    form = None
    if _editor(request, subject):
        initial = _initial(record, DEATH_FIELDS) or {"autopsy": "unknown"}
        form = DeathForm(
            request.POST or None, subject=subject, correcting=record is not None, initial=initial
        )
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.save_death(
                subject=subject, by=request.user, **form.values(), **form.correction()
            ),
            success=_saved(request, subject, _("Death saved.")),
        )
        if done:
            return done
    warnings = services.warning_texts(services.death_warnings(record)) if record else []
    ae = record.cause_ae if record else None
    return _page(
        request,
        subject,
        title=_("Death"),
        form=form,
        record=record,
        rows=_rows(record, DEATH_FIELDS),
        warnings=warnings,
        ae_link=ae,
        intro=_(
            "Saving the death makes the subject deceased on that date (if not already); the "
            "date is the event date of overall survival."
        ),
    )


# --- survival follow-up ---------------------------------------------------------------------

FOLLOW_UP_FIELDS = ("contact_date", "mode", "status", "last_known_alive", "new_progression_date")


def _survival_visit(subject, visit_pk) -> Visit:
    return get_object_or_404(Visit, pk=visit_pk, subject=subject, kind=VisitKind.SURVIVAL_FOLLOW_UP)


def _therapy_rows(formset) -> tuple[list[dict], list[int]]:
    """The filled rows for the service, and the formset index of each (blank rows skipped)."""
    rows, where = [], []
    for i, f in enumerate(formset.forms):
        if not f.is_blank():
            rows.append({k: f.cleaned_data.get(k) for k in ("regimen", "start_date", "line")})
            where.append(i)
    return rows, where


def _attach(form, formset, exc: ValidationError, where: list[int]) -> None:
    """A service's errors beside the fields; a therapy row's beside its row's field."""
    if not hasattr(exc, "error_dict"):
        attach_errors(form, exc)
        return
    rest = {}
    for key, errors in exc.error_dict.items():
        parts = key.split("-")
        if parts[0] == "therapies" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            target = formset.forms[where[index]] if index < len(where) else None
            if target is not None:
                target.add_error(parts[2], ValidationError(errors))
                continue
        rest[key] = errors
    if rest:
        attach_errors(form, ValidationError(rest))


@login_required
@require_http_methods(["GET", "POST"])
def survival_follow_up(request, pk, visit_pk):
    subject = subject_for(request.user, pk)
    visit = _survival_visit(subject, visit_pk)
    record = SurvivalFollowUp.objects.filter(visit=visit).prefetch_related("therapies").first()
    therapies = list(record.therapies.all()) if record else []
    form = formset = None
    if _editor(request, subject):
        initial = _initial(record, FOLLOW_UP_FIELDS) or {"status": "alive"}
        form = SurvivalFollowUpForm(
            request.POST or None, correcting=record is not None, initial=initial
        )
        formset = TherapyFormSet(
            request.POST or None,
            prefix="therapies",
            initial=[
                {"regimen": t.regimen, "start_date": t.start_date, "line": t.line}
                for t in therapies
            ],
        )
    if request.method == "POST" and form.is_valid() & formset.is_valid():
        rows, where = _therapy_rows(formset)
        visit.subject = subject
        try:
            services.save_survival_follow_up(
                visit=visit, by=request.user, therapies=rows, **form.values(), **form.correction()
            )
        except ValidationError as exc:
            _attach(form, formset, exc, where)
        except EditConflict as exc:
            return conflict_response(request, exc, request.get_full_path())
        else:
            messages.success(request, _("Survival follow-up saved."))
            return redirect("subjects:detail", pk=subject.pk)
    warnings = []
    if record is not None:
        record.subject = subject
        warnings = services.warning_texts(services.survival_follow_up_warnings(record))
    known = selectors.last_known_alive(subject)
    return _page(
        request,
        subject,
        title=_("Survival follow-up · %(code)s") % {"code": visit.code},
        form=form,
        formset=formset,
        record=record,
        rows=_rows(record, FOLLOW_UP_FIELDS),
        therapies=therapies,
        warnings=warnings,
        death_link=bool(warnings),
        facts=[
            (
                _("Last date known alive so far"),
                f"{known.on.isoformat()} ({ALIVE_SOURCES[known.source]})" if known else "—",
            )
        ],
    )


# --- withdrawal of consent ------------------------------------------------------------------

WITHDRAWAL_FIELDS = ("withdrawal_date", "scope")


@login_required
@require_http_methods(["GET", "POST"])
def withdrawals(request, pk):
    """The subject's withdrawals of consent, and the form to record one."""
    subject = subject_for(request.user, pk)
    form = None
    if _editor(request, subject):
        form = WithdrawalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.save_withdrawal(subject=subject, by=request.user, **form.values()),
            success=_saved(request, subject, _("Withdrawal of consent saved.")),
        )
        if done:
            return done
    page = web_page(request, subject.withdrawals.order_by("-withdrawal_date", "-id"))
    return _page(
        request,
        subject,
        template="outcomes/withdrawals.html",
        form=form,
        page=page,
        withdrawals=list(page.object_list),
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdrawal(request, pk, withdrawal_pk):
    subject = subject_for(request.user, pk)
    record = get_object_or_404(Withdrawal, pk=withdrawal_pk, subject=subject)
    form = None
    if _editor(request, subject):
        form = WithdrawalForm(
            request.POST or None, correcting=True, initial=_initial(record, WITHDRAWAL_FIELDS)
        )
    if request.method == "POST" and form.is_valid():
        done = call_service(
            request,
            form,
            lambda: services.save_withdrawal(
                subject=subject,
                by=request.user,
                withdrawal=record,
                **form.values(),
                **form.correction(),
            ),
            success=_saved(request, subject, _("Withdrawal of consent corrected.")),
        )
        if done:
            return done
    return _page(
        request,
        subject,
        title=_("Withdrawal of consent"),
        form=form,
        record=record,
        rows=_rows(record, WITHDRAWAL_FIELDS),
    )

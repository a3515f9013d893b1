"""Log pages of a subject: concomitant medications (with the site's names offered while
typing and the prohibited-medication flag), medical history, protocol deviations (the site
confirms or dismisses those the system raised). Each page fetches the subject through
``subject_for``, validates with its form, calls one service and redirects."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import Action, get_access, get_scoped_or_404, require
from alter_s006 import query_params
from alter_s006.pagination import web_page
from alter_s006.web import call_service, subject_for
from logs import prohibited, selectors, services
from logs.forms import ConMedForm, DecisionForm, DeviationForm, HistoryForm
from logs.models import ConMed, Deviation, MedicalHistory
from queries.services import open_queries
from safety.models import CtcaeTerm


def _can_edit(request, subject) -> bool:
    return get_access(request.user).can(Action.ENTER_DATA, subject.site_id)


def _record(request, subject, model, pk):
    return get_scoped_or_404(
        model.objects.filter(subject=subject), request.user, "subject__site", pk=pk
    )


def _changes(current, values: dict) -> dict:
    """The values that differ from the stored record (foreign keys by id)."""
    out = {}
    for name, value in values.items():
        field = current._meta.get_field(name)
        stored = getattr(current, field.attname)
        mine = value.pk if hasattr(value, "pk") else value
        if stored != mine:
            out[name] = value
    return out


def _form_page(request, subject, form, *, template, create, correct, done_url, message, extra):
    """Render ``form``; on a valid POST call ``create(values)`` (new) or
    ``correct(version, reason, changes)`` (correction), then redirect to ``done_url``."""
    if request.method == "POST" and form.is_valid():
        values = form.values()

        def call():
            if not form.correcting:
                return create(values)
            changes = correct.changes(values)
            if not changes:
                raise ValidationError(_("Nothing was changed."), code="nothing_changed")
            return correct(
                form.cleaned_data.get("version") or 0, form.cleaned_data.get("reason", ""), changes
            )

        done = call_service(
            request, form, call, success=lambda _r: redirect(done_url), message=message
        )
        if done:
            return done
    context = {"subject": subject, "form": form, "correcting": form.correcting} | extra
    return render(request, template, context, status=422 if form.errors else 200)


class _Correction:
    def __init__(self, current, call):
        self.current = current
        self.call = call

    def changes(self, values):
        return _changes(self.current, values)

    def __call__(self, version, reason, changes):
        return self.call(version, reason, changes)


# --- concomitant medications ---------------------------------------------------------------------


@login_required
def con_meds(request, pk):
    subject = subject_for(request.user, pk)
    page = web_page(request, selectors.con_meds(subject).order_by("-start_date", "-id"))
    rows = list(page.object_list)
    queries = open_queries(rows)
    for cm in rows:
        cm.open_queries = queries.get(cm.pk, [])
        cm.drug_class = prohibited.by_code(cm.flag_class)
    return render(
        request,
        "logs/con_med_list.html",
        {"subject": subject, "rows": rows, "page": page, "can_edit": _can_edit(request, subject)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def con_med_new(request, pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = ConMedForm(request.POST or None, subject=subject, initial={"ongoing": True})
    return _form_page(
        request,
        subject,
        form,
        template="logs/con_med_form.html",
        create=lambda v: services.record_con_med(subject=subject, by=request.user, **v),
        correct=None,
        done_url=redirect("logs:con_meds", pk=subject.pk).url,
        message=_("Concomitant medication recorded."),
        extra={},
    )


@login_required
@require_http_methods(["GET", "POST"])
def con_med(request, pk, item_pk):
    subject = subject_for(request.user, pk)
    cm = _record(request, subject, ConMed, item_pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    initial = {n: getattr(cm, n) for n in services.CON_MED_FIELDS} | {"version": cm.version}
    form = ConMedForm(request.POST or None, subject=subject, correcting=True, initial=initial)
    correct = _Correction(
        cm,
        lambda version, reason, changes: services.correct_con_med(
            con_med=cm, by=request.user, expected_version=version, reason=reason, changes=changes
        ),
    )
    return _form_page(
        request,
        subject,
        form,
        template="logs/con_med_form.html",
        create=None,
        correct=correct,
        done_url=redirect("logs:con_meds", pk=subject.pk).url,
        message=_("Concomitant medication corrected."),
        extra={
            "item": cm,
            "drug_class": prohibited.by_code(cm.flag_class),
            "queries": open_queries([cm]).get(cm.pk, []),
        },
    )


@login_required
@require_GET
def con_med_names(request, pk):
    """htmx: ``<option>``s of the names already used at the subject's site that contain
    ``name`` (as typed so far)."""
    subject = subject_for(request.user, pk)
    typed = query_params.text(request, "name", max_length=200)
    names = selectors.con_med_names(request.user, subject.site_id, typed)
    return render(request, "logs/_con_med_names.html", {"names": names})


# --- medical history ---------------------------------------------------------------------------


@login_required
def history(request, pk):
    subject = subject_for(request.user, pk)
    page = web_page(request, selectors.history(subject).order_by("-start_date", "-id"))
    return render(
        request,
        "logs/history_list.html",
        {
            "subject": subject,
            "rows": list(page.object_list),
            "page": page,
            "can_edit": _can_edit(request, subject),
        },
    )


def _terms():
    return CtcaeTerm.objects.order_by("term").values_list("term", flat=True)


@login_required
@require_http_methods(["GET", "POST"])
def history_new(request, pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = HistoryForm(request.POST or None, initial={"ongoing": True})
    return _form_page(
        request,
        subject,
        form,
        template="logs/history_form.html",
        create=lambda v: services.record_history(subject=subject, by=request.user, **v),
        correct=None,
        done_url=redirect("logs:history", pk=subject.pk).url,
        message=_("Medical history recorded."),
        extra={"terms": _terms()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def history_item(request, pk, item_pk):
    subject = subject_for(request.user, pk)
    mh = _record(request, subject, MedicalHistory, item_pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    initial = {n: getattr(mh, n) for n in services.HISTORY_FIELDS} | {"version": mh.version}
    form = HistoryForm(request.POST or None, correcting=True, initial=initial)
    correct = _Correction(
        mh,
        lambda version, reason, changes: services.correct_history(
            history=mh, by=request.user, expected_version=version, reason=reason, changes=changes
        ),
    )
    return _form_page(
        request,
        subject,
        form,
        template="logs/history_form.html",
        create=None,
        correct=correct,
        done_url=redirect("logs:history", pk=subject.pk).url,
        message=_("Medical history corrected."),
        extra={"item": mh, "terms": _terms()},
    )


@login_required
@require_GET
def baseline_match(request, pk):
    """htmx, on the AE form: the ongoing baseline condition an AE of this term and grade may
    only continue ("has it worsened?"), or nothing."""
    subject = subject_for(request.user, pk)
    term_id = query_params.whole_number(request, "term")
    grade = query_params.whole_number(request, "grade", max_value=5)
    term = CtcaeTerm.objects.filter(pk=term_id).first() if term_id else None
    found = selectors.baseline_match(subject, term, grade)
    return render(request, "logs/_baseline_match.html", {"match": found, "grade": grade})


# --- protocol deviations ------------------------------------------------------------------------


@login_required
def deviations(request, pk):
    subject = subject_for(request.user, pk)
    page = web_page(request, selectors.deviations(subject).order_by("-occurred_on", "-id"))
    can_edit = _can_edit(request, subject)
    rows = list(page.object_list)
    return render(
        request,
        "logs/deviation_list.html",
        {"subject": subject, "rows": rows, "page": page, "can_edit": can_edit},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deviation_new(request, pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = DeviationForm(request.POST or None)
    return _form_page(
        request,
        subject,
        form,
        template="logs/deviation_form.html",
        create=lambda v: services.record_deviation(subject=subject, by=request.user, **v),
        correct=None,
        done_url=redirect("logs:deviations", pk=subject.pk).url,
        message=_("Protocol deviation recorded."),
        extra={},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deviation(request, pk, item_pk):
    subject = subject_for(request.user, pk)
    dev = _record(request, subject, Deviation, item_pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    initial = {n: getattr(dev, n) for n in services.DEVIATION_FIELDS} | {"version": dev.version}
    form = DeviationForm(request.POST or None, correcting=True, initial=initial)
    correct = _Correction(
        dev,
        lambda version, reason, changes: services.correct_deviation(
            deviation=dev, by=request.user, expected_version=version, reason=reason, changes=changes
        ),
    )
    return _form_page(
        request,
        subject,
        form,
        template="logs/deviation_form.html",
        create=None,
        correct=correct,
        done_url=redirect("logs:deviations", pk=subject.pk).url,
        message=_("Protocol deviation corrected."),
        extra={"item": dev, "decision": DecisionForm(initial={"version": dev.version})},
    )


@login_required
@require_POST
def deviation_decide(request, pk, item_pk):
    """The site confirms, or dismisses with a reason, a deviation."""
    subject = subject_for(request.user, pk)
    dev = _record(request, subject, Deviation, item_pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data

        def decide():
            if data["decision"] == "confirm":
                return services.confirm_deviation(
                    deviation=dev, by=request.user, expected_version=data["version"]
                )
            return services.dismiss_deviation(
                deviation=dev,
                by=request.user,
                expected_version=data["version"],
                reason=data.get("reason", ""),
            )

        done = call_service(
            request,
            form,
            decide,
            success=lambda _d: redirect("logs:deviations", pk=subject.pk),
            message=_("Protocol deviation confirmed.")
            if data["decision"] == "confirm"
            else _("Protocol deviation dismissed."),
            back_url=redirect("logs:deviation", pk=subject.pk, item_pk=dev.pk).url,
        )
        if done:
            return done
    edit = DeviationForm(
        correcting=True,
        initial={n: getattr(dev, n) for n in services.DEVIATION_FIELDS} | {"version": dev.version},
    )
    return render(
        request,
        "logs/deviation_form.html",
        {"subject": subject, "form": edit, "correcting": True, "item": dev, "decision": form},
        status=422,
    )

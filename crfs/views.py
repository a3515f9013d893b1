"""Pages of the visit CRFs: the visit page (its CRFs, their state, the visit's completeness)
and one page per CRF (record, correct, read), with the derived values previewed while typing.

Access through the one helper (``subject_for``, ``get_scoped_or_404``: another site's visit
is 404); reading needs a site the user sees, writing ``Action.ENTER_DATA`` (403 otherwise).
Every write goes through ``crfs.services.save_crf``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import Action, get_access, get_scoped_or_404, require
from alter_s006.web import call_service, subject_for
from crfs import forms, selectors, services, soa
from crfs.registry import FORMS
from subjects.models import Visit


def _visit(request, pk, visit_pk):
    subject = subject_for(request.user, pk)
    visit = get_scoped_or_404(
        Visit.objects.filter(subject=subject), request.user, site_path="subject__site", pk=visit_pk
    )
    visit.subject = subject
    return subject, visit


def _own_spec(visit, form_key):
    spec = FORMS.get(form_key)
    if spec is None or not spec.own or form_key not in soa.forms_of_kind(visit.kind):
        raise Http404("No such CRF at this visit.")
    return spec


@login_required
def visit_page(request, pk, visit_pk):
    subject, visit = _visit(request, pk, visit_pk)
    from monitoring.selectors import form_cells

    rows, completeness = services.visit_forms(visit)
    icons = form_cells(visit, rows)
    for row in rows:
        row["icons"] = icons[row["key"]]
    today = subject.site.today()
    return render(
        request,
        "crfs/visit.html",
        {
            "subject": subject,
            "visit": visit,
            "status": visit.status(today),
            "rows": rows,
            "completeness": completeness,
            "late": soa.days_incomplete(visit.actual_date, completeness.state, today),
            "can_edit": get_access(request.user).can(Action.ENTER_DATA, subject.site_id),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def form_page(request, pk, visit_pk, form_key):
    subject, visit = _visit(request, pk, visit_pk)
    spec = _own_spec(visit, form_key)
    record = services.current_record(visit, spec)
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    correcting = record is not None
    initial = {} if record else {"assessed_on": visit.actual_date or subject.site.today()}
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
        form = forms.build(spec, data=request.POST, record=None, correcting=correcting, visit=visit)
        if form.is_valid():
            data = form.cleaned_data
            done = call_service(
                request,
                form,
                lambda: services.save_crf(
                    visit=visit,
                    form_key=form_key,
                    by=request.user,
                    values=form.values(),
                    expected_version=data.get("version") if correcting else None,
                    reason=data.get("reason") or "",
                ),
                success=lambda _saved: redirect(request.path),
                message=(_("%(f)s corrected.") if correcting else _("%(f)s saved."))
                % {"f": spec.label},
                back_url=request.path,
            )
            if done:
                return done
    else:
        form = forms.build(spec, record=record, correcting=correcting, initial=initial, visit=visit)
    from monitoring.selectors import hold_in_force

    held = hold_in_force(record=record) if record else hold_in_force(subject=subject, visit=visit)
    if held and form.is_bound:
        # the database refused the write (frozen / locked): show what is stored, and why
        refused = form.non_field_errors()
        form = forms.build(spec, record=record, correcting=correcting, initial=initial, visit=visit)
        form.cleaned_data = {}
        for message in refused:
            form.add_error(None, message)
    if not can_edit or held:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "crfs/form.html",
        {
            "subject": subject,
            "visit": visit,
            "spec": spec,
            "form": form,
            "record": record,
            "correcting": correcting,
            "can_edit": can_edit,
            "held": held,
            "offers": selectors.offered_aes(record) if record else [],
            "grades": selectors.derived_grades(record) if record else [],
            "offer_min_grade": services.P.LAB_AE_OFFER_MIN_GRADE,
            "wide": forms.WIDE,
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def preview(request, pk, visit_pk, form_key):
    """The derived values of what is typed so far (htmx): nothing is saved."""
    subject, visit = _visit(request, pk, visit_pk)
    spec = _own_spec(visit, form_key)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    form = forms.build(spec, data=request.POST, correcting=False, visit=visit)
    record, problems = None, []
    if form.is_valid():
        try:
            record = services.validate(spec, visit, form.values(), partial=True)
        except ValidationError as exc:
            problems = [m for msgs in exc.message_dict.values() for m in msgs]
        except (ValueError, ArithmeticError):
            problems = [_("The values cannot be computed yet.")]
    return render(
        request,
        "crfs/_derived.html",
        {
            "spec": spec,
            "record": record,
            "grades": selectors.derived_grades(record) if record else [],
            "problems": problems,
            "preview": True,
        },
    )

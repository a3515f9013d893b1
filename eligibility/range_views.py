"""Reference-range pages: the list, one range with its audit trail, and the data manager's
create / correct / supersede forms. Thin: access from accounts.access, rules in
eligibility.ranges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import Action, get_access, get_scoped_or_404, require, sites_for
from alter_s006.web import call_service
from eligibility import ranges
from eligibility.models import ReferenceRange
from eligibility.range_forms import (
    RangeCorrectionForm,
    RangeCreateForm,
    RangeFilterForm,
    RangeSupersedeForm,
)
from eligibility.services import plain

PAGE_SIZE = 50
TRAIL_PAGE_SIZE = 50
NOT_SHOWN = {"id", *ReferenceRange.BOOKKEEPING}


def _range(request, pk) -> ReferenceRange:
    """A range of a site the user sees (else 404) whose ranges their role may read (else 403)."""
    found = get_scoped_or_404(ReferenceRange.objects.select_related("site"), request.user, pk=pk)
    require(request.user, Action.VIEW_RANGES, found.site_id)
    return found


def _page_number(request) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 7 else 1


@login_required
@require_GET
def range_list(request):
    require(request.user, Action.VIEW_RANGES)
    form = RangeFilterForm(request.GET, sites=sites_for(request.user, Action.VIEW_RANGES))
    if not form.is_valid():
        context = {"form": form, "page": None, "rows": [], "can_write": _can_write(request)}
        return render(request, "eligibility/ranges.html", context, status=400)
    data = form.cleaned_data
    found = ranges.ranges_for_user(request.user, site=data["site"], analyte=data["analyte"])
    page = Paginator(found, PAGE_SIZE).get_page(data["page"])
    rows = [_row(r) for r in page]
    context = {"form": form, "page": page, "rows": rows, "can_write": _can_write(request)}
    return render(request, "eligibility/ranges.html", context)


@login_required
@require_GET
def range_detail(request, pk):
    reference_range = _range(request, pk)
    return render(
        request,
        "eligibility/range_detail.html",
        {
            **_trail_context(request, reference_range),
            "can_write": get_access(request.user).can(Action.MANAGE, reference_range.site_id),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def range_new(request):
    require(request.user, Action.MANAGE)
    form = RangeCreateForm(request.POST or None, sites=sites_for(request.user, Action.MANAGE))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # The form types the strings; eligibility.ranges checks and saves (one path).
        response = call_service(
            request,
            form,
            lambda: ranges.create_range(
                **{k: data[k] for k in ("site", "analyte", "unit", "lln", "uln", "sex")},
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                by=request.user,
                reason=data["reason"],
            ),
            success=lambda created: redirect("eligibility:range", pk=created.pk),
            message=_("Reference range added."),
        )
        if response is not None:
            return response
    return _form_page(request, form, title=_("New reference range"), reference_range=None)


@login_required
@require_http_methods(["GET", "POST"])
def range_correct(request, pk):
    reference_range = _range(request, pk)
    require(request.user, Action.MANAGE, reference_range.site_id)
    initial = {name: getattr(reference_range, name) for name in ranges.CORRECTABLE}
    initial.update(lln=plain(reference_range.lln), uln=plain(reference_range.uln))
    form = RangeCorrectionForm(
        request.POST or None, initial={**initial, "version": reference_range.version}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = call_service(
            request,
            form,
            lambda: ranges.correct_range(
                reference_range=reference_range,
                expected_version=data["version"],
                changes={name: data[name] for name in ranges.CORRECTABLE},
                by=request.user,
                reason=data["reason"],
            ),
            success=lambda _saved: redirect("eligibility:range", pk=reference_range.pk),
            message=_("Reference range corrected."),
            back_url=request.path,
        )
        if response is not None:
            return response
    title = _("Correct or end %(range)s") % {"range": _label(reference_range)}
    return _form_page(request, form, title=title, reference_range=reference_range)


@login_required
@require_http_methods(["GET", "POST"])
def range_supersede(request, pk):
    reference_range = _range(request, pk)
    require(request.user, Action.MANAGE, reference_range.site_id)
    form = RangeSupersedeForm(
        request.POST or None,
        initial={
            "version": reference_range.version,
            "unit": reference_range.unit,
            "lln": plain(reference_range.lln),
            "uln": plain(reference_range.uln),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = call_service(
            request,
            form,
            lambda: ranges.supersede_range(
                reference_range=reference_range,
                expected_version=data["version"],
                **{k: data[k] for k in ("valid_from", "unit", "lln", "uln")},
                by=request.user,
                reason=data["reason"],
            ),
            success=lambda new: redirect("eligibility:range", pk=new.pk),
            message=_("New reference range saved; the previous one ends."),
            back_url=request.path,
        )
        if response is not None:
            return response
    title = _("Supersede %(range)s") % {"range": _label(reference_range)}
    return _form_page(request, form, title=title, reference_range=reference_range)


# --- helpers ------------------------------------------------------------------------------------


def _can_write(request) -> bool:
    return get_access(request.user).can(Action.MANAGE)


def _row(reference_range: ReferenceRange) -> dict:
    """A range as the pages show it: plain limits, and whether it is in force today."""
    return {
        "range": reference_range,
        "lln": plain(reference_range.lln),
        "uln": plain(reference_range.uln),
        "in_force": _in_force_today(reference_range),
    }


def _in_force_today(reference_range: ReferenceRange) -> bool:
    today = reference_range.site.today()
    end = reference_range.valid_to
    return reference_range.valid_from <= today and (end is None or end >= today)


def _label(reference_range: ReferenceRange) -> str:
    return f"{reference_range.site.code} · {reference_range.get_analyte_display()}"


def _form_page(request, form, *, title: str, reference_range):
    context = {"form": form, "title": title, "reference_range": reference_range}
    if reference_range is not None:
        context.update(_trail_context(request, reference_range))
    return render(
        request, "eligibility/range_form.html", context, status=422 if form.errors else 200
    )


def _trail_context(request, reference_range: ReferenceRange) -> dict:
    """The range and one page of its audit trail, each change labelled for reading."""
    page = Paginator(ranges.trail(reference_range), TRAIL_PAGE_SIZE).get_page(_page_number(request))
    rows = [
        {
            "event": event,
            "changes": [
                (
                    _field_label(name),
                    _shown(reference_range, name, old),
                    _shown(reference_range, name, new),
                )
                for name, old, new in sorted(event.changes(), key=_column_order)
                if name not in NOT_SHOWN
            ],
        }
        for event in page
    ]
    return {
        "reference_range": reference_range,
        "row": _row(reference_range),
        "trail_page": page,
        "trail_rows": rows,
        "site_tz": reference_range.site.tz,
        "list_url": reverse("eligibility:ranges")
        + f"?site={reference_range.site_id}&analyte={reference_range.analyte}",
    }


COLUMNS = [f.attname for f in ReferenceRange._meta.concrete_fields]


def _column_order(change) -> int:
    """Changes in the order of the model's fields (the trail stores them by key length)."""
    return COLUMNS.index(change[0]) if change[0] in COLUMNS else len(COLUMNS)


def _field_label(column: str) -> str:
    if column == "site_id":
        return _("Site")
    try:
        return capfirst(ReferenceRange._meta.get_field(column).verbose_name)
    except FieldDoesNotExist:  # a column since removed from the model: its own name
        return column


def _shown(reference_range: ReferenceRange, column: str, value):
    """A stored value as the page shows it: the choice's label, a plain number, a site code."""
    if column == "sex" and value == "":
        return _("Both sexes")
    if value is None or value == "":
        return None
    if column == "site_id":
        return reference_range.site.code if value == reference_range.site_id else value
    if column in ("lln", "uln"):
        try:
            return plain(Decimal(str(value)))
        except InvalidOperation:
            return value
    if column in ("analyte", "unit", "sex"):
        choices = dict(ReferenceRange._meta.get_field(column).flatchoices)
        return choices.get(value, value)
    return value

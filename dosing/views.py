"""Dosing pages: calendar (cycle and month views), modifications, diary PDF, accountability."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.access import Action, get_access, get_scoped_or_404, require
from alter_s006 import protocol as P
from alter_s006 import query_params
from alter_s006.web import call_service, subject_for
from dosing import services
from dosing.forms import DispensingForm, DoseEventForm, ReturnForm
from dosing.models import Dispensing


def _month(request, today: dt.date) -> dt.date:
    """The month asked for (``?month=YYYY-MM``, a 400 when it is not one), else this month."""
    return query_params.month(request) or today.replace(day=1)


def _cycle_rows(subject, today):
    """One row per cycle: its 21 days as CalendarDay, up to the cycle running next month."""
    if subject.c1d1_date is None:
        return []
    end = max(today, subject.c1d1_date) + dt.timedelta(days=P.CYCLE_LENGTH_DAYS * 2)
    days = services.calendar_for(subject, subject.c1d1_date, end)
    rows: dict[int, list] = {}
    for day in days:
        if day.cycle is not None:
            rows.setdefault(day.cycle, []).append(day)
    return sorted(rows.items())


def _month_grid(subject, first: dt.date):
    """Weeks (Monday first) of CalendarDay or None for the month of ``first``."""
    last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
    by_date = {d.day: d for d in services.calendar_for(subject, first, last)}
    weeks = []
    for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        weeks.append(
            [(day, by_date.get(day) if day.month == first.month else None) for day in week]
        )
    return weeks


@login_required
@require_http_methods(["GET", "POST"])
def dosing(request, pk):
    subject = subject_for(request.user, pk)
    today = subject.site.today()
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    form = DoseEventForm(request.POST or None, prefix="event")
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
        if form.is_valid():
            response = call_service(
                request,
                form,
                lambda: services.add_event(subject=subject, by=request.user, **form.cleaned_data),
                success=lambda _event: redirect("dosing:calendar", pk=subject.pk),
                message=_("Dose modification recorded."),
            )
            if response is not None:
                return response
    first = _month(request, today)
    prev_month = (first - dt.timedelta(days=1)).replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    if prev_month < query_params.first_month():
        prev_month = None  # no link to a month the calendar refuses
    if next_month > query_params.last_month():
        next_month = None
    return render(
        request,
        "dosing/calendar.html",
        {
            "subject": subject,
            "today": today,
            "form": form,
            "can_edit": can_edit,
            "cycles": _cycle_rows(subject, today),
            "weeks": _month_grid(subject, first),
            "month": first,
            "prev_month": prev_month,
            "next_month": next_month,
            "events": services.events_with_adverse_events(subject),
            "exposure": (summary := services.exposure_for(subject)),
            "last_dose": services.last_dose(subject, summary),
            "dose_now": services.current_dose(subject),
            "diary_cycle": services.diary_cycle(subject),
            "start_dose": P.START_DOSE_MG,  # days below it are shown as reduced
        },
        status=422 if form.errors else 200,
    )


@login_required
def diary(request, pk):
    """The patient's dosing diary for the cycle running now (or the next), as a PDF (the
    project's one PDF renderer and template family: ``exports.pdf``)."""
    from exports.pdf import render_pdf

    subject = subject_for(request.user, pk)
    cycle = services.diary_cycle(subject)
    if cycle is None:
        messages.error(request, _("There is no cycle to print a diary for."))
        return redirect("dosing:calendar", pk=subject.pk)
    days = services.calendar_for(subject, cycle.day1, cycle.last_day)
    pdf = render_pdf(
        "dosing/diary.html",
        {
            "subject": subject,
            "cycle": cycle,
            "days": days,
            "drug": P.DRUG_NAME,
            "study": P.TRIAL_ID,
            "printed": subject.site.today(),
        },
        request=request,
        title=_("Dosing diary"),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"diary-{subject}-C{cycle.number}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def accountability(request, pk):
    subject = subject_for(request.user, pk)
    can_edit = get_access(request.user).can(Action.ENTER_DATA, subject.site_id)
    form = DispensingForm(request.POST or None, prefix="disp")
    if request.method == "POST":
        require(request.user, Action.ENTER_DATA, subject.site_id)
        if form.is_valid():
            response = call_service(
                request,
                form,
                lambda: services.record_dispensing(
                    subject=subject, by=request.user, **form.cleaned_data
                ),
                success=lambda _row: redirect("dosing:accountability", pk=subject.pk),
                message=_("Dispensing recorded."),
            )
            if response is not None:
                return response
    return render(
        request,
        "dosing/accountability.html",
        {
            "subject": subject,
            "form": form,
            "can_edit": can_edit,
            "rows": services.compliance_rows(subject),
        },
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def dispensing_return(request, pk, dispensing_pk):
    subject = subject_for(request.user, pk)
    require(request.user, Action.ENTER_DATA, subject.site_id)
    row = get_scoped_or_404(
        Dispensing.objects.filter(subject=subject),
        request.user,
        site_path="subject__site",
        pk=dispensing_pk,
    )
    form = ReturnForm(
        request.POST or None,
        initial={
            "version": row.version,
            "returned_on": row.returned_on,
            "returned": row.returned,
            "reported_missed": row.reported_missed,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        response = call_service(
            request,
            form,
            lambda: services.record_return(
                dispensing=row,
                expected_version=data["version"],
                by=request.user,
                returned_on=data["returned_on"],
                returned=data["returned"],
                reported_missed=data["reported_missed"],
                reason=data["reason"],
            ),
            success=lambda _row: redirect("dosing:accountability", pk=subject.pk),
            message=_("Return recorded."),
            back_url=request.path,
        )
        if response is not None:
            return response
    return render(
        request,
        "dosing/return.html",
        {"subject": subject, "row": row, "form": form},
        status=422 if form.errors else 200,
    )

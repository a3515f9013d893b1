"""Monitoring pages (issue 14 §3–§6): a subject's monitoring overview (holds, visits,
signatures), one form's SDV and holds, signing a visit or the casebook, the SDV worklist,
dropped verifications and SDV log, the subject matrix, the study lock.

Access through the one helper (``subject_for``: another site's subject is 404); actions
are decided by the services (``accounts.access.require``: 403, nothing stored)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import Action, get_access, scope
from alter_s006 import protocol as P
from alter_s006 import query_params
from alter_s006.pagination import web_page
from alter_s006.web import call_service, current_sites, subject_for
from audit.models import AuditEvent
from monitoring import forms, selectors, services
from monitoring.models import Hold, Level, SdvMark, Signature
from queries import records as query_records
from subjects.models import Subject, Visit


def _next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _can(request, action, site_id=None) -> bool:
    return get_access(request.user).can(action, site_id)


def _visit_of(subject, visit_pk) -> Visit:
    return get_object_or_404(Visit, subject=subject, pk=visit_pk)


def _record_of(subject, label, rid):
    try:
        record = services.get_record(label, rid)
    except ValidationError as exc:
        raise Http404(_("No such record.")) from exc
    if services.subject_id_of(record) != subject.pk:
        raise Http404(_("No such record."))
    return record


def _record_url(record) -> str:
    """The page where the form is entered (the queries app knows every CRF's page)."""
    from queries.views import RECORD_PAGES, _visit_crf_pages

    label = type(record)._meta.label_lower
    stub = type("Q", (), {})()
    stub.record_type, stub.record_id = label, record.pk
    stub.subject_id = services.subject_id_of(record)
    pages = _visit_crf_pages([stub])
    if (label, record.pk) in pages:
        return pages[(label, record.pk)]
    if label in RECORD_PAGES:
        return RECORD_PAGES[label](stub)
    return reverse("subjects:detail", args=[stub.subject_id])


def hold_context(request, subject, holds, *, level, visit=None, record=None) -> dict:
    site = subject.site_id if subject is not None else None
    f = services.flags(holds)
    return {
        "holds": holds,
        "frozen": f["frozen"],
        "locked": f["locked"],
        "level": level,
        "visit": visit,
        "record": record,
        "record_type": type(record)._meta.label_lower if record is not None else "",
        "can_freeze": _can(request, Action.FREEZE, site),
        "can_lock": _can(request, Action.LOCK, site),
    }


@login_required
def subject_page(request, pk):
    """A subject as the monitor sees it: holds, casebook signature, each visit's icons."""
    subject = subject_for(request.user, pk)
    visits = list(Visit.objects.filter(subject=subject).order_by("target_date", "id"))
    cells = selectors.visit_cells([subject], visits)
    holds_all = list(
        Hold.objects.filter(Q(subject=subject) | Q(level=Level.STUDY))
        .select_related("placed_by", "lifted_by")
        .order_by("-placed_at")[:50]
    )
    active = [h for h in holds_all if h.lifted_at is None]
    subject_holds = [h for h in active if h.level in (Level.STUDY, Level.SUBJECT)]
    signatures = list(
        Signature.objects.filter(subject=subject)
        .select_related("visit")
        .order_by("-signed_at")[:50]
    )
    visit_signed = {
        s.visit_id for s in signatures if s.level == Signature.Level.VISIT and not s.voided_at
    }
    rows = []
    for v in visits:
        own = [h for h in active if h.visit_id == v.pk and h.level == Level.VISIT]
        f = services.flags(subject_holds + own)
        rows.append(
            {
                "visit": v,
                "icons": cells[v.pk],
                "signed": v.pk in visit_signed,
                "holds": own,
                "frozen": f["frozen"],
                "locked": f["locked"],
            }
        )
    return render(
        request,
        "monitoring/subject.html",
        {
            "subject": subject,
            "rows": rows,
            "history": holds_all,
            "signatures": signatures,
            "casebook": next(
                (
                    s
                    for s in signatures
                    if s.level == Signature.Level.CASEBOOK and s.voided_at is None
                ),
                None,
            ),
            "can_sign": _can(request, Action.SIGN, subject.site_id),
            "hold_form": forms.HoldForm(),
            **hold_context(request, subject, subject_holds, level=Level.SUBJECT),
        },
    )


@login_required
def record_page(request, pk, label, rid):
    """One form: its SDV (form and critical items) and its holds."""
    subject = subject_for(request.user, pk)
    record = _record_of(subject, label, rid)
    marks = {m.field: m for m in SdvMark.objects.filter(record_type=label, record_id=record.pk)}
    model = type(record)
    items = [
        {
            "field": name,
            "label": model._meta.get_field(name).verbose_name,
            "value": getattr(record, name),
            "mark": marks.get(name),
        }
        for name in services.critical_fields(label)
    ]
    holds = services.holds_on_record(record)
    visit_id = services.identity(record)[0]
    sheet = services.signing_sheet(Signature.Level.CRF, subject=subject, record=record)
    return render(
        request,
        "monitoring/record.html",
        {
            "subject": subject,
            "record": record,
            "label": label,
            "form_name": model._meta.verbose_name,
            "form_mark": marks.get(""),
            "items": items,
            "sdv_state": services.sdv_state_of(label, list(marks.values())),
            "required": P.SDV_REQUIRED_PERCENT.get(label, 0),
            "record_url": _record_url(record),
            "can_sdv": _can(request, Action.SDV, subject.site_id),
            "queryable": label in query_records.RECORD_TYPES,
            "unverify_form": forms.UnverifyForm(),
            "hold_form": forms.HoldForm(),
            "visit_id": visit_id,
            "signature": Signature.objects.filter(
                level=Signature.Level.CRF,
                record_type=label,
                record_id=record.pk,
                voided_at__isnull=True,
            ).first(),
            "can_sign": _can(request, Action.SIGN, subject.site_id),
            "sign_form": forms.SignForm(initial={"shown_hash": sheet["content_hash"]}),
            "attestation": sheet["attestation"],
            **hold_context(request, subject, holds, level=Level.RECORD, record=record),
        },
    )


@login_required
@require_POST
def sdv_action(request, pk, label, rid):
    subject = subject_for(request.user, pk)
    record = _record_of(subject, label, rid)
    back = reverse("monitoring:record", args=[subject.pk, label, record.pk])
    action = request.POST.get("action")
    try:
        if action == "verify_all":
            services.verify(by=request.user, record=record)
            messages.success(request, _("Verified: the form and its critical fields."))
        elif action == "verify":
            services.verify(by=request.user, record=record, fields=[request.POST.get("field", "")])
            messages.success(request, _("Verified."))
        elif action == "unverify":
            form = forms.UnverifyForm(request.POST)
            if not form.is_valid():
                raise ValidationError(
                    {
                        "comment": ValidationError(
                            _("Say why the verification is removed."), "required"
                        )
                    }
                )
            services.unverify(
                by=request.user,
                record=record,
                field=form.cleaned_data["field"],
                comment=form.cleaned_data["comment"],
            )
            messages.success(request, _("Verification removed."))
        else:
            return render(request, "400.html", status=400)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(_next(request, back))
    return redirect(_next(request, back))


@login_required
@require_POST
def place_hold(request, pk=None):
    """Freeze or lock a subject, one of its visits or forms (``pk``), or the whole study."""
    subject = subject_for(request.user, pk) if pk is not None else None
    form = forms.HoldForm(request.POST)
    back = reverse("monitoring:subject", args=[pk]) if pk else reverse("monitoring:study")
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label or field}: {' '.join(errors)}")
        return redirect(_next(request, back))
    data = form.cleaned_data
    level = data["level"]
    if (level == Level.STUDY) != (subject is None):
        raise Http404(_("No such record."))
    visit = _visit_of(subject, data["visit"]) if level == Level.VISIT else None
    record = (
        _record_of(subject, data["record_type"], data["record_id"])
        if level == Level.RECORD
        else None
    )
    try:
        services.place_hold(
            by=request.user,
            kind=data["kind"],
            level=level,
            reason=data["reason"],
            subject=subject,
            visit=visit,
            record=record,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        done = _("Frozen.") if data["kind"] == Hold.Kind.FREEZE else _("Locked.")
        messages.success(request, done)
    return redirect(_next(request, back))


def _hold_visible(request, hold: Hold) -> Hold:
    if hold.subject_id is not None:
        subject_for(request.user, hold.subject_id)
    elif not get_access(request.user).all_sites:
        raise Http404(_("No such record."))
    return hold


@login_required
def lift_hold(request, hold_pk):
    """Unfreeze or unlock, with a reason; an unlock lists the signatures it voids."""
    hold = _hold_visible(
        request, get_object_or_404(Hold.objects.select_related("subject"), pk=hold_pk)
    )
    back = (
        reverse("monitoring:subject", args=[hold.subject_id])
        if hold.subject_id
        else reverse("monitoring:study")
    )
    voids = (
        list(services.signatures_covering(hold).select_related("subject", "visit"))
        if hold.kind == Hold.Kind.LOCK and hold.lifted_at is None
        else []
    )
    form = forms.LiftForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            response = call_service(
                request,
                form,
                lambda: services.lift_hold(
                    by=request.user,
                    hold=hold,
                    reason=form.cleaned_data["reason"],
                    confirm=form.cleaned_data["confirm"],
                ),
                success=lambda _r: redirect(_next(request, back)),
                message=_("Unfrozen.") if hold.kind == Hold.Kind.FREEZE else _("Unlocked."),
            )
            if response is not None:
                return response
        status = 422
    return render(
        request,
        "monitoring/lift.html",
        {"hold": hold, "form": form, "voids": voids, "back": back, "next": _next(request, back)},
        status=status,
    )


def _sheet(subject, visit):
    """The signing sheet: each form with its state, each visit's icons and open queries
    (a fixed number of queries however many visits the casebook holds)."""
    from crfs.registry import form_states
    from crfs.services import visit_forms

    level = Signature.Level.VISIT if visit is not None else Signature.Level.CASEBOOK
    sheet = services.signing_sheet(level, subject=subject, visit=visit)
    visits = sheet["visits"]
    states = form_states(visits)
    queries = selectors.open_queries_by_visit([subject.pk])
    cells = selectors.visit_cells([subject], visits)
    lines = []
    for v in visits:
        rows, completeness = visit_forms(v, states)
        lines.append(
            {
                "visit": v,
                "forms": rows,
                "completeness": completeness,
                "queries": queries.get(v.pk, 0),
                "icons": cells[v.pk],
            }
        )
    return {
        "level": level,
        "lines": lines,
        "missing": sheet["incomplete"],
        "hash": sheet["content_hash"],
        "attestation": sheet["attestation"],
        "records": sheet["records"],
    }


@login_required
def sign_page(request, pk, visit_pk=None):
    """The investigator signs a visit (``visit_pk``) or the subject's casebook."""
    subject = subject_for(request.user, pk)
    visit = _visit_of(subject, visit_pk) if visit_pk is not None else None
    sheet = _sheet(subject, visit)
    form = forms.SignForm(request.POST or None, initial={"shown_hash": sheet["hash"]})
    status = 200
    if request.method == "POST":
        if not _can(request, Action.SIGN, subject.site_id):
            raise PermissionDenied(_("Your role does not allow this."))
        if form.is_valid():
            response = call_service(
                request,
                form,
                lambda: services.sign(
                    by=request.user,
                    level=sheet["level"],
                    password=form.cleaned_data["password"],
                    request=request,
                    shown_hash=form.cleaned_data["shown_hash"],
                    subject=subject,
                    visit=visit,
                ),
                success=lambda _s: redirect("monitoring:subject", subject.pk),
                message=_("Signed."),
            )
            if response is not None:
                return response
        status = 422
    active = Signature.objects.filter(
        subject=subject, level=sheet["level"], visit=visit, voided_at__isnull=True
    ).first()
    return render(
        request,
        "monitoring/sign.html",
        {
            "subject": subject,
            "visit": visit,
            "form": form,
            "current": active,
            "can_sign": _can(request, Action.SIGN, subject.site_id),
            **sheet,
        },
        status=status,
    )


def _subjects_in_scope(request):
    return scope(Subject.objects.filter(site__in=current_sites(request)), request.user)


def _filtered_subjects(request):
    subjects = _subjects_in_scope(request)
    site = query_params.whole_number(request, "site")
    if site is not None:
        subjects = subjects.filter(site_id=site)
    subject = query_params.whole_number(request, "subject")
    if subject is not None:
        subjects = subjects.filter(pk=subject)
    number = query_params.text(request, "q").strip()[:20]
    if number:
        subjects = subjects.filter(screening_number__icontains=number)
    return subjects


@login_required
def worklist(request):
    """CRFs awaiting SDV, by site / subject / visit; bulk verify the ones ticked."""
    subjects = _filtered_subjects(request)
    visit = query_params.whole_number(request, "visit")
    if request.method == "POST":
        done = 0
        for token in request.POST.getlist("record")[:200]:
            label, _sep, rid = token.partition(":")
            try:
                record = services.get_record(label, rid)
                if not subjects.filter(pk=services.subject_id_of(record)).exists():
                    raise Http404
                services.verify(by=request.user, record=record)
                done += 1
            except ValidationError as exc:
                messages.error(request, f"{token}: {' '.join(exc.messages)}")
        if done:
            messages.success(request, _("%(n)s form(s) verified.") % {"n": done})
        return redirect(request.get_full_path())
    rows = selectors.worklist(subjects.values("pk"), visit_id=visit)
    page = web_page(request, rows)
    names = dict(
        Subject.objects.filter(pk__in={r[2] for r in page.object_list}).values_list(
            "pk", "screening_number"
        )
    )
    visits = dict(
        Visit.objects.filter(pk__in={r[3] for r in page.object_list if r[3]}).values_list(
            "pk", "code"
        )
    )
    data = services.data_models()
    lines = [
        {
            "label": r[0],
            "id": r[1],
            "subject_id": r[2],
            "subject": names.get(r[2], r[2]),
            "visit": visits.get(r[3], ""),
            "form": data[r[0]]._meta.verbose_name,
        }
        for r in page.object_list
    ]
    return render(
        request,
        "monitoring/worklist.html",
        {
            "page": page,
            "lines": lines,
            "sites": current_sites(request),
            "can_sdv": _can(request, Action.SDV),
        },
    )


@login_required
def dropped(request):
    """Verifications dropped by a later change: the monitor's to look at again."""
    marks = (
        SdvMark.objects.filter(subject__in=_filtered_subjects(request), state=SdvMark.State.CHANGED)
        .select_related("subject", "visit", "verified_by")
        .order_by("changed_at", "id")
    )
    page = web_page(request, marks)
    return render(request, "monitoring/dropped.html", {"page": page})


@login_required
def sdv_log(request):
    """Every SDV mark added, dropped (changed since verified) or removed, newest first."""
    events = AuditEvent.objects.filter(
        table_name="monitoring_sdvmark",
        chain_key__in=_filtered_subjects(request).values("pk"),
    ).order_by("-chain_seq")
    page = web_page(request, events)
    lines = []
    for e in page.object_list:
        new, old = e.new_data or {}, e.old_data or {}
        state = new.get("state")
        kind = {"verified": "added", "changed": "dropped", "unverified": "removed"}.get(
            state, state
        )
        if old.get("state") == state:
            continue
        lines.append({"event": e, "kind": kind, "data": new or old})
    return render(request, "monitoring/sdv_log.html", {"page": page, "lines": lines})


@login_required
def matrix(request):
    """Rows: the site's subjects; columns: visits; one icon per state (issue 14 §6)."""
    subjects = (
        _filtered_subjects(request)
        .select_related("site")
        .order_by("site__code", "screening_number")
    )
    page = web_page(request, subjects)
    matrix = selectors.subject_matrix(page.object_list)
    # a page holds thousands of cells but only a few distinct ones: each combination of
    # icons is rendered once, each link is the visit page's address filled in
    rendered: dict[tuple, str] = {}
    pattern = reverse("crfs:visit", args=[987654321, 123456789])
    for row in matrix["rows"]:
        tds = []
        for cell in row["cells"]:
            links = []
            for v, icons in cell:
                key = tuple(icons)
                if key not in rendered:
                    rendered[key] = render_to_string("monitoring/_icons.html", {"icons": icons})
                url = pattern.replace("987654321", str(v.subject_id)).replace(
                    "123456789", str(v.pk)
                )
                links.append(
                    format_html(
                        '<a href="{}" class="text-decoration-none" data-cell="{}">{}</a>',
                        url,
                        v.code,
                        rendered[key],  # render_to_string's output is safe already
                    )
                )
            tds.append(
                format_html(
                    '<td class="text-center text-nowrap">{}</td>',
                    format_html_join("", "{}", ((link,) for link in links)),
                )
            )
        row["cells_html"] = format_html_join("", "{}", ((td,) for td in tds))
    return render(
        request,
        "monitoring/matrix.html",
        {
            "page": page,
            "sites": current_sites(request),
            **matrix,
        },
    )


@login_required
def study(request):
    """The data manager's lock page: the study lock and each site's lock status."""
    if not get_access(request.user).all_sites:
        raise PermissionDenied(_("Only a data manager of the whole study may do this."))
    holds = list(
        Hold.objects.filter(lifted_at__isnull=True).select_related("subject__site", "placed_by")
    )
    study_holds = [h for h in holds if h.level == Level.STUDY]
    from django.db.models import Count

    per_site = (
        Subject.objects.values("site__code")
        .annotate(
            subjects=Count("id", distinct=True),
        )
        .order_by("site__code")
    )
    locked = {}
    for h in holds:
        if h.level == Level.SUBJECT and h.kind == Hold.Kind.LOCK:
            locked[h.subject.site.code] = locked.get(h.subject.site.code, 0) + 1
    sites = [{**row, "locked": locked.get(row["site__code"], 0)} for row in per_site]
    return render(
        request,
        "monitoring/study.html",
        {
            "sites": sites,
            "hold_form": forms.HoldForm(),
            **hold_context(request, None, study_holds, level=Level.STUDY),
            "can_lock": True,
            "can_freeze": True,
        },
    )


@login_required
def bulk_sign(request):
    """The investigator signs several subjects' visits at once: those complete and unsigned."""
    from crfs.services import completeness_of

    sites = [s for s in current_sites(request) if _can(request, Action.SIGN, s.pk)]
    if not sites:
        raise PermissionDenied(_("Your role does not allow this."))
    visits = list(
        Visit.objects.filter(subject__site__in=sites, actual_date__isnull=False)
        .exclude(
            pk__in=Signature.objects.filter(
                level=Signature.Level.VISIT, voided_at__isnull=True
            ).values("visit_id")
        )
        .select_related("subject__site")
        .order_by("subject__screening_number", "target_date")[:200]
    )
    complete = completeness_of(visits)
    from accounts.signatures import content_hash

    ready = [v for v in visits if complete[v.pk].state.value == "complete"]
    contents = services.rows_of_visits(ready)  # one query per table for the whole page
    for v in ready:
        v.shown_hash = content_hash(contents[v.pk])
    form = forms.BulkSignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # each ticked visit carries the hash of the data shown for it: "<visit id>:<hash>"
        chosen = {}
        for token in request.POST.getlist("visit")[:200]:
            vid, _sep, digest = token.partition(":")
            if vid.isdigit():
                chosen[int(vid)] = digest
        signed = 0
        for v in ready:
            if v.pk not in chosen:
                continue
            try:
                services.sign(
                    by=request.user,
                    level=Signature.Level.VISIT,
                    password=form.cleaned_data["password"],
                    request=request,
                    shown_hash=chosen[v.pk],
                    subject=v.subject,
                    visit=v,
                )
                signed += 1
            except ValidationError as exc:
                messages.error(request, f"{v.subject} {v.code}: {' '.join(exc.messages)}")
                break
        if signed:
            messages.success(request, _("%(n)s visit(s) signed.") % {"n": signed})
        return redirect("monitoring:bulk_sign")
    return render(request, "monitoring/bulk_sign.html", {"ready": ready, "form": form})


@login_required
@require_POST
def sign_record(request, pk, label, rid):
    """The investigator signs one form (its signature survives changes to other forms)."""
    subject = subject_for(request.user, pk)
    record = _record_of(subject, label, rid)
    back = reverse("monitoring:record", args=[subject.pk, label, record.pk])
    form = forms.SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter your password to sign."))
        return redirect(back)
    try:
        services.sign(
            by=request.user,
            level=Signature.Level.CRF,
            password=form.cleaned_data["password"],
            request=request,
            shown_hash=form.cleaned_data["shown_hash"],
            subject=subject,
            record=record,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Signed."))
    return redirect(back)

"""What the monitoring pages read: the subject matrix, the SDV worklist, dropped
verifications, signing sheets — each in a fixed number of queries however many rows."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import BigIntegerField, Exists, F, IntegerField, OuterRef, Value
from django.db.models.functions import Cast

from alter_s006 import protocol as P
from audit.triggers import chain_path
from monitoring import rules, services
from monitoring.models import Hold, Level, SdvMark, Signature
from monitoring.triggers import _visit_fk
from subjects.models import Subject, Visit

OPEN = services.OPEN_QUERY_STATES


def open_queries_by_visit(subject_ids) -> Counter:
    """visit id -> unresolved (open or answered) queries on the records of that visit."""
    from django.db.models import Count

    from queries.models import Query

    if not subject_ids:
        return Counter()
    return Counter(
        dict(
            Query.objects.filter(
                subject_id__in=list(subject_ids), visit__isnull=False, status__in=OPEN
            )
            .values_list("visit_id")
            .annotate(n=Count("id"))
            .values_list("visit_id", "n")
        )
    )


def _visit_sdv(subject_ids) -> dict[int, str]:
    states: dict[int, set] = defaultdict(set)
    for visit_id, state in (
        SdvMark.objects.filter(subject_id__in=subject_ids, visit_id__isnull=False)
        .exclude(state=SdvMark.State.UNVERIFIED)
        .values_list("visit_id", "state")
    ):
        states[visit_id].add(state)
    return {
        v: rules.SdvState.CHANGED if SdvMark.State.CHANGED in s else rules.SdvState.VERIFIED
        for v, s in states.items()
    }


def _holds(subject_ids):
    """Active holds on the study, these subjects and their visits."""
    by = {"study": [], "subject": defaultdict(list), "visit": defaultdict(list)}
    for hold in Hold.objects.filter(lifted_at__isnull=True).exclude(level=Level.RECORD):
        if hold.level == Level.STUDY:
            by["study"].append(hold)
        elif hold.subject_id in subject_ids:
            key = "subject" if hold.level == Level.SUBJECT else "visit"
            by[key][hold.subject_id if key == "subject" else hold.visit_id].append(hold)
    return by


def visit_cells(subjects, visits, complete=None) -> dict[int, list[rules.Icon]]:
    """visit id -> the icons of its cell (issue 14 §6); ``complete``: the visits'
    completeness when the caller has it already."""
    from crfs.services import completeness_of

    subject_ids = [s.pk for s in subjects]
    complete = completeness_of(visits) if complete is None else complete
    queries = open_queries_by_visit(subject_ids)
    sdv = _visit_sdv(subject_ids)
    signed = set(
        Signature.objects.filter(
            subject_id__in=subject_ids, level=Signature.Level.VISIT, voided_at__isnull=True
        ).values_list("visit_id", flat=True)
    )
    holds = _holds(set(subject_ids))
    cells = {}
    for v in visits:
        in_force = holds["study"] + holds["subject"][v.subject_id] + holds["visit"][v.pk]
        f = services.flags(in_force)
        state = complete[v.pk].state.value
        completeness = {"not_expected": "not_started"}.get(state, state)
        cells[v.pk] = rules.cell_icons(
            completeness=completeness,
            open_queries=queries.get(v.pk, 0),
            sdv=sdv.get(v.pk),
            signed=v.pk in signed,
            frozen=f["frozen"] is not None,
            locked=f["locked"] is not None,
        )
    return cells


def subject_matrix(subjects) -> dict:
    """Rows: ``subjects`` (a page of them); columns: their visits by code, in time order."""
    subjects = list(subjects)
    visits = list(
        Visit.objects.filter(subject__in=subjects).order_by("subject_id", "target_date", "id")
    )
    cells = visit_cells(subjects, visits)
    first: dict[int, object] = {}
    for v in visits:
        first.setdefault(v.subject_id, v.target_date)
    offset: dict[str, int] = {}
    for v in visits:
        day = (v.target_date - first[v.subject_id]).days
        offset[v.code] = min(day, offset.get(v.code, day))
    columns = sorted(offset, key=lambda c: (offset[c], c))
    by_subject: dict[int, dict[str, list]] = defaultdict(dict)
    for v in visits:
        by_subject[v.subject_id].setdefault(v.code, []).append((v, cells[v.pk]))
    casebook = set(
        Signature.objects.filter(
            subject__in=subjects, level=Signature.Level.CASEBOOK, voided_at__isnull=True
        ).values_list("subject_id", flat=True)
    )
    rows = [
        {
            "subject": s,
            "casebook_signed": s.pk in casebook,
            "cells": [by_subject[s.pk].get(code, []) for code in columns],
        }
        for s in subjects
    ]
    return {"columns": columns, "rows": rows}


# --- SDV worklist ---------------------------------------------------------------------


def _subject_path(model) -> str:
    path = chain_path(model)
    if path[0] == "column":
        return path[1]
    return f"{path[1].name}__{path[2].attname}"


def worklist(subject_ids_qs, *, visit_id=None, include_verified=False):
    """The CRFs needing SDV (protocol SDV_REQUIRED_PERCENT) of these subjects not yet verified
    as a form, as one union query: rows (record_type, record_id, subject_id, visit_id)."""
    parts = []
    for label, percent in sorted(P.SDV_REQUIRED_PERCENT.items()):
        if percent <= 0:
            continue
        model = services.data_models().get(label)
        if model is None:
            continue
        subject_path = _subject_path(model)
        fk = _visit_fk(model)
        visit = Cast(F(fk.attname), BigIntegerField()) if fk else Value(None, BigIntegerField())
        verified = SdvMark.objects.filter(
            record_type=label,
            record_id=OuterRef("pk"),
            field="",
            state=SdvMark.State.VERIFIED,
        )
        qs = model.objects.filter(**{f"{subject_path}__in": subject_ids_qs})
        if visit_id is not None:
            if fk is None:
                continue
            qs = qs.filter(**{fk.attname: visit_id})
        if not include_verified:
            qs = qs.filter(~Exists(verified))
        parts.append(
            qs.annotate(
                rtype=Value(label),
                rid=Cast(F("pk"), BigIntegerField()),
                sid=Cast(F(subject_path), IntegerField()),
                vid=visit,
            ).values_list("rtype", "rid", "sid", "vid")
        )
    if not parts:
        return SdvMark.objects.none().values_list("record_type")
    first, *rest = parts
    return first.union(*rest, all=True).order_by("sid", "rtype", "rid")


def hold_in_force(*, record=None, subject=None, visit=None) -> Hold | None:
    """The lock (else the freeze) in force on a saved form, or on a visit's new form."""
    holds = (
        services.holds_on_record(record)
        if record is not None
        else services.holds_on(subject=subject, visit=visit)
    )
    f = services.flags(holds)
    return f["locked"] or f["frozen"]


def record_status(record) -> dict:
    """What the monitoring bar of a form shows: hold in force, SDV state, where to act."""
    label = type(record)._meta.label_lower
    marks = list(SdvMark.objects.filter(record_type=label, record_id=record.pk))
    return {
        "hold": hold_in_force(record=record),
        "sdv": services.sdv_state_of(label, marks),
        "label": label,
        "subject_id": services.subject_id_of(record),
        "record": record,
    }


# --- dashboards (issue 14 §6) -------------------------------------------------------------


SHOWN = 8


def dashboard(user, sites) -> dict:
    """The monitoring cards of the dashboard, by what the user may do (a fixed number of
    queries per card)."""
    import datetime as dt

    from django.db.models import Count, Q
    from django.utils import timezone

    from accounts.access import Action, get_access
    from queries.models import Query

    access = get_access(user)
    site_ids = [s.pk for s in sites]
    out: dict = {}
    if access.can(Action.SDV):
        now = timezone.now()
        buckets = {}
        for i, (low, high) in enumerate(P.QUERY_AGE_BUCKETS):
            q = Q(raised_at__lte=now - dt.timedelta(days=low))
            if high is not None:
                q &= Q(raised_at__gt=now - dt.timedelta(days=high + 1))
            buckets[f"b{i}"] = Count("id", filter=q)
        out["queries_by_site"] = list(
            Query.objects.filter(subject__site__in=site_ids, status__in=OPEN)
            .values("subject__site__code")
            .annotate(**buckets)
            .order_by("subject__site__code")
        )
        subjects = Subject.objects.filter(site__in=site_ids).values("pk")
        out["awaiting_sdv"] = worklist(subjects).count()
        out["dropped"] = SdvMark.objects.filter(
            subject__site__in=site_ids, state=SdvMark.State.CHANGED
        ).count()
    if access.can(Action.ENTER_DATA):
        out["to_answer"] = list(
            Query.objects.filter(subject__site__in=site_ids, status="open")
            .select_related("subject")
            .order_by("raised_at", "id")[:SHOWN]
        )
        # the CRFs still incomplete days after their visit: the open queries of the
        # "CRF incomplete" edit check (crfs/edit_checks.py), oldest first, one query
        from crfs.edit_checks import INCOMPLETE_PREFIX

        out["incomplete"] = list(
            Query.objects.filter(
                subject__site__in=site_ids,
                status="open",
                edit_check__startswith=INCOMPLETE_PREFIX,
            )
            .select_related("subject")
            .order_by("raised_at", "id")[:SHOWN]
        )
    if access.all_sites:
        locked = dict(
            Hold.objects.filter(lifted_at__isnull=True, level=Level.SUBJECT, kind=Hold.Kind.LOCK)
            .values("subject__site__code")
            .annotate(n=Count("id"))
            .values_list("subject__site__code", "n")
        )
        out["study_held"] = Hold.objects.filter(lifted_at__isnull=True, level=Level.STUDY).first()
        out["locks_by_site"] = [(s.code, locked.get(s.code, 0)) for s in sites]
    return out


def form_cells(visit, rows) -> dict[str, list[rules.Icon]]:
    """form key -> the icons of one CRF of a visit (the visit page; issue 14 §6): its state,
    open queries, SDV, signature, hold. A fixed number of queries per CRF table."""
    from queries.models import Query

    records: dict[str, tuple[str, int]] = {}  # form key -> (label, record id)
    for row in rows:
        spec = row["spec"]
        if not spec.own:
            continue
        found = spec.model.objects.filter(visit_id=visit.pk)
        if spec.review_kind:
            found = found.filter(kind=spec.review_kind)
        pk = found.values_list("pk", flat=True).first()
        if pk is not None:
            records[row["key"]] = (spec.model._meta.label_lower, pk)
    ids = {pk for _label, pk in records.values()}
    labels = {label for label, _pk in records.values()}
    open_q = Counter(
        Query.objects.filter(
            record_type__in=labels, record_id__in=ids, status__in=OPEN
        ).values_list("record_type", "record_id")
    )
    marks: dict[tuple, list] = defaultdict(list)
    for m in SdvMark.objects.filter(record_type__in=labels, record_id__in=ids):
        marks[(m.record_type, m.record_id)].append(m)
    signed = set(
        Signature.objects.filter(
            level=Signature.Level.CRF,
            record_type__in=labels,
            record_id__in=ids,
            voided_at__isnull=True,
        ).values_list("record_type", "record_id")
    )
    above = services.holds_on(subject=visit.subject, visit=visit)
    own_holds = defaultdict(list)
    for h in Hold.objects.filter(
        lifted_at__isnull=True, level=Level.RECORD, record_type__in=labels, record_id__in=ids
    ):
        own_holds[(h.record_type, h.record_id)].append(h)
    out = {}
    for row in rows:
        key = row["key"]
        rec = records.get(key)
        f = services.flags(above + own_holds.get(rec, []))
        state = {"missing": "not_started"}.get(str(row["state"]), str(row["state"]))
        sdv = services.sdv_state_of(rec[0], marks[rec]) if rec and marks.get(rec) else None
        out[key] = rules.cell_icons(
            completeness=state,
            open_queries=open_q.get(rec, 0) if rec else 0,
            sdv=sdv,
            signed=rec in signed,
            frozen=f["frozen"] is not None,
            locked=f["locked"] is not None,
        )
    return out

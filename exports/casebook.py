"""A subject's casebook as an archival PDF/A-3b (issue 15 section 1): cover, table of contents
with page numbers, every visit and its forms in order (the per-CRF partial), the forms not tied
to a visit, then the queries with their threads, the SDV marks, the signatures and the audit
trail; the subject's ODM XML embedded as an attachment by the caller.

Queries stay few whatever the subject's size: one pass per table (``pdf_forms.build_forms``),
one query for each of the monitoring tables and one for the audit trail.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone
from django.utils.translation import gettext as _

from alter_s006 import protocol as P
from exports import pdf_forms
from exports.metadata import catalogue
from exports.pdf import PDF_VARIANT_ARCHIVE, render_pdf


def _forms(subject) -> tuple[list[dict], list]:
    """(visits in order, each {"visit", "forms"}; forms not tied to a visit)."""
    holds = pdf_forms._holds(subject.pk)
    visits = pdf_forms.visit_labels(subject.pk)
    by_visit: dict[int, list] = defaultdict(list)
    loose = []
    for ds in catalogue():
        if not pdf_forms.printable(ds) or pdf_forms.parent_of(ds) is not None:
            continue
        for form in pdf_forms.build_forms(
            ds, subject_id=subject.pk, holds=holds, tz=subject.site.tz
        ):
            form.visit = visits.get(form.visit_id)
            (by_visit[form.visit_id] if form.visit else loose).append(form)
    ordered = sorted(visits.values(), key=lambda v: (v.target_date or v.actual_date, v.pk))
    return [{"visit": v, "forms": by_visit.get(v.pk, [])} for v in ordered], loose


def _split_visits(visits: list[dict]) -> tuple[list[dict], list]:
    """(visits done or with a form: a section each; the others, planned or missed: one
    table), so a subject's future schedule does not fill pages with empty visits."""
    held = [v for v in visits if v["forms"] or v["visit"].actual_date]
    others = [v["visit"] for v in visits if not (v["forms"] or v["visit"].actual_date)]
    return held, others


def _queries(subject) -> list:
    """The subject's queries with their threads (two queries)."""
    from queries.models import Query, QueryMessage

    queries = list(
        Query.objects.filter(subject=subject).select_related("raised_by").order_by("raised_at")
    )
    threads = defaultdict(list)
    for m in (
        QueryMessage.objects.filter(query__subject=subject)
        .select_related("author")
        .order_by("created_at", "pk")
    ):
        threads[m.query_id].append(m)
    for q in queries:
        q.thread = threads.get(q.pk, [])
    return queries


def _monitoring(subject) -> dict:
    from monitoring.models import SdvMark, Signature

    return {
        "sdv_marks": list(
            SdvMark.objects.filter(subject=subject)
            .select_related("verified_by")
            .order_by("record_type", "record_id", "field")
        ),
        "signatures": list(Signature.objects.filter(subject=subject).order_by("signed_at", "pk")),
    }


AUDIT_VALUE_CHARS = 300  # a longer audited value is cut here (complete in the CSV and ODM)


def _audit_value(value) -> str:
    text = "" if value is None else str(value)
    if len(text) <= AUDIT_VALUE_CHARS:
        return text
    return _("%(start)s… (%(n)s characters)") % {"start": text[:AUDIT_VALUE_CHARS], "n": len(text)}


def audit_rows(subject) -> list[dict]:
    """Every audited change of the subject's records, one row per change with each changed
    field (who, when, old -> new, reason), in the order of the subject's audit chain (one
    query)."""
    from audit.models import AuditEvent

    rows = []
    events = AuditEvent.objects.filter(chain_key=subject.pk).order_by("chain_pos")
    for e in events.iterator(2000):
        changes = [
            {"field": name, "old": _audit_value(old), "new": _audit_value(new)}
            for name, old, new in e.changes()
        ]
        rows.append(
            {
                "at": e.occurred_at,
                "user": e.app_username or e.db_user,
                "table": e.table_name,
                "record": e.record_pk,
                "action": e.get_action_display(),
                "changes": changes,
                "reason": e.reason,
            }
        )
    return rows


def casebook_context(subject, *, user) -> dict:
    from exports.pdf_views import subject_context

    visits, loose = _forms(subject)
    visits, other_visits = _split_visits(visits)
    return {
        **subject_context(subject),
        "visits": visits,
        "other_visits": other_visits,
        "loose": loose,
        "queries": _queries(subject),
        **_monitoring(subject),
        "audit": audit_rows(subject),
        "audit_value_chars": AUDIT_VALUE_CHARS,
        "as_of": subject.site.today(),
        "generated_by": user.get_full_name() or user.get_username(),
    }


def casebook_pdf(subject, *, user, attachments=(), timeout=None) -> bytes:
    """The casebook of ``subject`` (who may see it is the caller's check) as PDF/A-3b with
    ``attachments`` [(file name, bytes, description)] embedded (the ODM XML)."""
    context = casebook_context(subject, user=user)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    return render_pdf(
        "exports/pdf/casebook.html",
        context,
        pdf_variant=PDF_VARIANT_ARCHIVE,
        pdf_identifier=f"{P.TRIAL_ID}-{subject}-{stamp}".encode(),
        attachments=attachments,
        title=_("Casebook of subject %(subject)s") % {"subject": subject},
        timeout=timeout,
    )


def subject_casebook(subject, *, user, timeout=None) -> bytes:
    """The casebook with the subject's CDISC ODM snapshot attached: what the page, the API and
    the archives hand out (one way)."""
    from exports.odm import subject_odm_bytes

    name = f"{P.TRIAL_ID}-{subject}-odm.xml"
    odm = subject_odm_bytes(subject.pk)
    attachments = [(name, odm, _("Subject data, CDISC ODM 1.3.2 snapshot"))]
    return casebook_pdf(subject, user=user, attachments=attachments, timeout=timeout)

"""What the ODM export reads from the database, streamed subject by subject (issue 15 §3).

Every source is one ordered query over all the exported subjects, read through a server-side
cursor (``QuerySet.iterator`` / ``connection.chunked_cursor``), in the subjects' order (site
code, screening number); ``Grouped.take(subject_id)`` returns the rows of the next subject.
Memory holds one subject's rows of each source, whatever the size of the study.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import connection

from alter_s006.sql import id_array
from exports.metadata import Dataset
from exports.odm_meta import items

CHUNK = 500


class Grouped:
    """Rows ordered by subject (the first value of each row is the subject's id)."""

    def __init__(self, rows: Iterable[tuple], name: str):
        self._it = iter(rows)
        self._next = next(self._it, None)
        self.name = name

    def take(self, subject_id: int) -> list[tuple]:
        out = []
        while self._next is not None and self._next[0] == subject_id:
            out.append(self._next)
            self._next = next(self._it, None)
        return out

    def check_done(self) -> None:
        """Every row was taken: a row left over would mean the orders disagreed."""
        if self._next is not None:
            raise RuntimeError(f"ODM export: {self.name} rows out of the subjects' order")


def _by_subject(qs, subject_path: str, ids):
    sp = f"{subject_path}__" if subject_path else ""
    if ids is not None:
        lookup = f"{subject_path}__in" if subject_path else "pk__in"
        qs = qs.filter(**{lookup: id_array(ids)})
    return qs, sp


def subjects(ids):
    from subjects.models import Subject

    qs, _sp = _by_subject(Subject.objects.all(), "", ids)
    return qs.order_by("site__code", "screening_number").values_list(
        "pk", "screening_number", "site__code"
    )


def records(d: Dataset, ids) -> Grouped:
    """(subject id, record id, visit id, *item values) of a CRF dataset."""
    qs, sp = _by_subject(d.model._default_manager.all(), d.subject_path, ids)
    subject = d.subject_path or "pk"
    fields = [subject, "pk", d.visit_path or subject, *[c.path for c in items(d)]]
    qs = qs.order_by(f"{sp}site__code", f"{sp}screening_number", "pk").values_list(*fields)
    rows = qs.iterator(chunk_size=CHUNK)
    if not d.visit_path:
        rows = ((r[0], r[1], None, *r[3:]) for r in rows)
    return Grouped(rows, d.key)


def visits(ids) -> Grouped:
    from subjects.models import Visit

    qs, sp = _by_subject(Visit.objects.all(), "subject", ids)
    qs = qs.order_by(f"{sp}site__code", f"{sp}screening_number", "target_date", "code", "pk")
    return Grouped(
        qs.values_list("subject", "pk", "kind", "code").iterator(chunk_size=CHUNK), "visits"
    )


def signatures(ids, *, current: bool) -> Grouped:
    from monitoring.models import Signature

    qs, sp = _by_subject(Signature.objects.all(), "subject", ids)
    if current:
        qs = qs.filter(voided_at__isnull=True)
    qs = qs.order_by(f"{sp}site__code", f"{sp}screening_number", "signed_at", "pk")
    fields = ("subject", "level", "visit", "record_type", "record_id", "signed_by__username")
    return Grouped(qs.values_list(*fields, "signed_at").iterator(chunk_size=CHUNK), "signatures")


def eligibility_signatures(ids, *, current: bool) -> Grouped:
    from eligibility.models import EligibilitySignature

    qs, sp = _by_subject(EligibilitySignature.objects.all(), "subject", ids)
    if current:
        qs = qs.filter(voided_at__isnull=True)
    qs = qs.order_by(f"{sp}site__code", f"{sp}screening_number", "signed_at", "pk")
    rows = qs.values_list("subject", "signed_by__username", "signed_at")
    return Grouped(rows.iterator(chunk_size=CHUNK), "eligibility signatures")


QUERY_FIELDS = (
    "subject",
    "pk",
    "record_type",
    "record_id",
    "field",
    "edit_check",
    "text",
    "status",
    "origin",
    "raised_by__username",
    "raised_at",
    "closed_at",
    "resolution",
)


def queries(ids) -> Grouped:
    from queries.models import Query

    qs, sp = _by_subject(Query.objects.all(), "subject", ids)
    qs = qs.order_by(f"{sp}site__code", f"{sp}screening_number", "raised_at", "pk")
    return Grouped(qs.values_list(*QUERY_FIELDS).iterator(chunk_size=CHUNK), "queries")


def query_messages(ids) -> Grouped:
    from queries.models import QueryMessage

    qs, sp = _by_subject(QueryMessage.objects.all(), "query__subject", ids)
    qs = qs.order_by(
        f"{sp}site__code", f"{sp}screening_number", "query__raised_at", "query", "created_at", "pk"
    )
    fields = ("query__subject", "query", "action", "author__username", "author_role", "text")
    rows = qs.values_list(*fields, "suggested_value", "created_at")
    return Grouped(rows.iterator(chunk_size=CHUNK), "query messages")


def sdv_marks(ids) -> Grouped:
    from monitoring.models import SdvMark

    qs, sp = _by_subject(SdvMark.objects.all(), "subject", ids)
    qs = qs.order_by(f"{sp}site__code", f"{sp}screening_number", "record_type", "record_id", "pk")
    fields = ("subject", "record_type", "record_id", "field", "state", "verified_by__username")
    rows = qs.values_list(*fields, "verified_at", "changed_at", "comment")
    return Grouped(rows.iterator(chunk_size=CHUNK), "SDV marks")


AUDIT_SQL = """
SELECT e.chain_key, e.chain_seq, e.occurred_at, e.table_name, e.record_pk, e.action,
       e.old_data::text, e.new_data::text, e.app_username, e.reason
  FROM audit_auditevent e
  JOIN subjects_subject s ON s.id = e.chain_key
  JOIN accounts_site t ON t.id = s.site_id
 WHERE e.action IN ('INSERT', 'UPDATE', 'DELETE') AND e.occurred_at <= %s {subjects}
 ORDER BY t.code, s.screening_number, e.chain_pos
"""


def audit_events(ids, until) -> Grouped:
    """The data changes on the exported subjects' audit chains, in chain order, up to
    ``until`` (the file's CreationDateTime)."""

    def rows() -> Iterator[tuple]:
        params: list = [until]
        where = ""
        if ids is not None:
            where = "AND s.id = ANY(%s::bigint[])"
            params.append(list(ids))
        with connection.chunked_cursor() as cursor:
            cursor.execute(AUDIT_SQL.format(subjects=where), params)
            while batch := cursor.fetchmany(CHUNK):
                yield from batch

    return Grouped(rows(), "audit events")


def study_locks() -> list[tuple]:
    """Locks of the whole study (on no subject's audit chain): a change made after one was
    placed is a database-audit edit. The locks of a subject, a visit or a form are read from
    the subject's own chain as it is replayed."""
    from monitoring.models import Hold

    qs = Hold.objects.filter(kind=Hold.Kind.LOCK, level="study")
    return list(qs.values_list("level", "visit", "record_type", "record_id", "placed_at"))

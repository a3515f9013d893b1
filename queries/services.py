"""Raise and close the queries of edit checks. Called inside the caller's transaction and
audit context, so the query is written (and audited) with the change that raised it."""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Now

from queries.models import Query

# Set on a record instance inserted in the current transaction (``mark_new``).
_NEW = "_queries_none_open"


def record_type(record) -> str:
    return record._meta.label_lower


def mark_new(record) -> None:
    """``record`` was just inserted (in the caller's transaction): no query can name it yet,
    so ``sync_check`` on this instance has nothing to look up and nothing to close (a query
    names its record by type and id, and a new row's id was never used before)."""
    setattr(record, _NEW, True)


def sync_check(*, record, subject, check: str, field: str, failing: bool, text: str) -> None:
    """Keep one open system query per (record, check) while the check fails; close it, with a
    note, once the data no longer fails it. On a record ``mark_new`` marked: only the INSERT
    of a failing check's query (no statement when it passes)."""
    new = getattr(record, _NEW, False)
    if new and not failing:
        return
    rows = Query.objects.filter(
        record_type=record_type(record),
        record_id=record.pk,
        edit_check=check,
        origin=Query.Origin.SYSTEM,
        status=Query.Status.OPEN,
    )
    if failing:
        if new or not rows.exists():
            Query.objects.create(
                subject=subject,
                record_type=record_type(record),
                record_id=record.pk,
                field=field,
                edit_check=check,
                text=text,
                origin=Query.Origin.SYSTEM,
            )
            setattr(record, _NEW, False)  # it has one now
        else:
            rows.exclude(text=text).update(text=text, version=F("version") + 1, updated_at=Now())
    else:
        rows.update(
            status=Query.Status.CLOSED,
            closed_at=Now(),
            resolution="Closed by the system: the data no longer fail the check.",
            version=F("version") + 1,
            updated_at=Now(),
        )


def open_queries(records) -> dict[int, list[Query]]:
    """Open queries of these records (one model), by record id."""
    records = list(records)
    if not records:
        return {}
    out: dict[int, list[Query]] = {}
    for query in Query.objects.filter(
        record_type=record_type(records[0]),
        record_id__in=[r.pk for r in records],
        status=Query.Status.OPEN,
    ).order_by("raised_at", "id"):
        out.setdefault(query.record_id, []).append(query)
    return out

"""Raise and close the queries of edit checks. Called inside the caller's transaction and
audit context, so the query is written (and audited) with the change that raised it."""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Now

from queries.models import Query

# On a record instance: the checks known to have no open system query on it within the
# current write ("all" for a row just inserted: ``mark_new``; those ``close_checks`` closed).
_CLOSED = "_queries_known_closed"
_ALL = "all"
_RESOLUTION = "Closed by the system: the data no longer fail the check."


def record_type(record) -> str:
    return record._meta.label_lower


def mark_new(record) -> None:
    """``record`` was just inserted (in the caller's transaction): no query can name it yet,
    so ``sync_check`` on this instance has nothing to look up and nothing to close (a query
    names its record by type and id, and a new row's id was never used before)."""
    setattr(record, _CLOSED, _ALL)


def end_write(record) -> None:
    """The write is over (committed or not): forget what ``mark_new`` and ``close_checks``
    knew, so the instance, used again later, is looked up as any other."""
    record.__dict__.pop(_CLOSED, None)


def _known_closed(record, check: str) -> bool:
    closed = getattr(record, _CLOSED, ())
    return closed == _ALL or check in closed


def _forget(record, check: str) -> None:
    """A query was opened for ``check``: nothing more is known closed for sure but the rest
    of the set (``all`` becomes nothing: the conservative answer)."""
    closed = getattr(record, _CLOSED, ())
    setattr(record, _CLOSED, set() if closed == _ALL else set(closed) - {check})


def _open_system_queries(record, checks):
    return Query.objects.filter(
        record_type=record_type(record),
        record_id=record.pk,
        edit_check__in=list(checks),
        origin=Query.Origin.SYSTEM,
        status=Query.Status.OPEN,
    )


def _close(rows) -> None:
    rows.update(
        status=Query.Status.CLOSED,
        closed_at=Now(),
        resolution=_RESOLUTION,
        version=F("version") + 1,
        updated_at=Now(),
    )


def close_checks(*, record, checks) -> None:
    """Several checks of one record pass: close their open system queries in one UPDATE (as
    ``sync_check`` with ``failing=False`` would, one by one); a later ``sync_check`` of one of
    them on this instance, still passing, then issues nothing."""
    checks = [c for c in checks if not _known_closed(record, c)]
    if not checks:
        return
    _close(_open_system_queries(record, checks))
    closed = getattr(record, _CLOSED, ())
    setattr(record, _CLOSED, set(closed) | set(checks))


def sync_check(*, record, subject, check: str, field: str, failing: bool, text: str) -> None:
    """Keep one open system query per (record, check) while the check fails; close it, with a
    note, once the data no longer fails it. A check known closed on this instance
    (``mark_new``, ``close_checks``): no statement while it passes, and no look-up before the
    INSERT of its query when it fails."""
    known_closed = _known_closed(record, check)
    if known_closed and not failing:
        return
    rows = _open_system_queries(record, [check])
    if failing:
        if known_closed or not rows.exists():
            Query.objects.create(
                subject=subject,
                record_type=record_type(record),
                record_id=record.pk,
                field=field,
                edit_check=check,
                text=text,
                origin=Query.Origin.SYSTEM,
            )
            _forget(record, check)  # it has one now
        else:
            rows.exclude(text=text).update(text=text, version=F("version") + 1, updated_at=Now())
    else:
        _close(rows)


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

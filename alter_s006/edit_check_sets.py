"""Keep the system queries of one subject's records in line with a whole set of failures at
once: the edit checks run over a subject (visits missed, CRFs incomplete, compliance) rather
than on one record as it is written (``queries.services.sync_check``).

A fixed number of statements whatever the number of records: one read of the open queries,
then a few per query opened, re-worded or closed (``sync_check`` / ``close_checks``, each in a
savepoint). Runs in the caller's transaction and audit context.

A record under a lock (``monitoring``: "locked: no new queries") refuses its query write in
the database; that one write is skipped (and logged), the others go on, so a locked visit or
subject never stops the periodic run.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import DatabaseError, transaction

from monitoring.errors import held_from
from queries.models import Query
from queries.services import close_checks, sync_check

log = logging.getLogger("alter_s006.edit_checks")


def _unless_held(write, **kwargs) -> None:
    try:
        with transaction.atomic():
            write(**kwargs)
    except DatabaseError as exc:
        held = held_from(exc)
        if held is None:
            raise
        log.info("Edit check %s not synced: the data are %s (%s)", kwargs, held.code, held.level)


def sync_set(*, subject, model, definitions, failing: dict) -> None:
    """``failing``: (record id, check id) -> (record, definition, text), every failure of
    ``definitions`` on ``model`` records of ``subject``. Opens (or re-words) the query of each;
    closes the open ones not in it. A query already open with the same text is left alone."""
    open_rows = Query.objects.filter(
        subject=subject,
        record_type=model._meta.label_lower,
        edit_check__in=[d.id for d in definitions],
        origin=Query.Origin.SYSTEM,
        status=Query.Status.OPEN,
    ).values_list("record_id", "edit_check", "text")
    current = {(rid, check): text for rid, check, text in open_rows}
    for key, (record, definition, text) in failing.items():
        if current.get(key) != text:
            _unless_held(
                sync_check,
                record=record,
                subject=subject,
                check=definition.id,
                field=definition.field,
                failing=True,
                text=text,
            )
    passing: dict[int, list[str]] = defaultdict(list)
    for rid, check in current:
        if (rid, check) not in failing:
            passing[rid].append(check)
    for rid, checks in passing.items():
        _unless_held(close_checks, record=model(pk=rid), checks=checks)

"""Verify the audit trail: its hash chain, and that no clinical row escaped it.

Each row's ``row_hash`` is SHA-256 over the previous row's hash followed by the row's
canonical text (``audit_canonical()`` in the database). A changed value, a deleted row
or a re-ordered row breaks the chain at the first row affected. A rewrite whose hashes
were recomputed, or a deleted tail, is caught against the checkpoints kept outside the
database (``audit.anchor``); a row of a clinical table written with the triggers
switched off (or whose INSERT event was deleted) is caught by ``unaudited_rows``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connection

from audit.triggers import AUDITED_MODELS, GENESIS_HASH


@dataclass(frozen=True)
class ChainBreak:
    chain_seq: int
    problem: str


def verify_chain(
    batch: int = 5000, start: tuple[int, str] | None = None
) -> tuple[int, ChainBreak | None]:
    """Return (rows checked, first break or None).

    ``start`` = (sequence, hash) of a row already trusted (a checkpoint): only the rows
    after it are checked, linked to it.
    """
    last_seq, expected_prev = start if start else (0, GENESIS_HASH)
    expected_seq, checked = last_seq + 1, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.chain_seq, e.prev_hash, e.row_hash, audit_canonical(e) "
                "FROM audit_auditevent e WHERE e.chain_seq > %s ORDER BY e.chain_seq LIMIT %s",
                [last_seq, batch],
            )
            rows = cursor.fetchall()
        if not rows:
            return checked, None
        for seq, prev_hash, row_hash, canonical in rows:
            if seq != expected_seq:
                return checked, ChainBreak(seq, f"row {expected_seq} is missing")
            if prev_hash != expected_prev:
                return checked, ChainBreak(seq, "previous-hash link does not match")
            digest = hashlib.sha256((prev_hash + canonical).encode()).hexdigest()
            if digest != row_hash:
                return checked, ChainBreak(seq, "content does not match its hash")
            expected_prev, expected_seq, checked = row_hash, seq + 1, checked + 1
            last_seq = seq


@dataclass(frozen=True)
class UnauditedRow:
    table: str
    pk: str
    problem: str


# For one audited table: rows without an INSERT event, and rows whose columns differ
# from their last audited state (changed with the trigger off). Only columns present
# in both are compared, so a column added by a later migration is not a difference; the
# audited state is read back through the table's own types, so a timestamp written by a
# session in another time zone compares as the same instant.
UNAUDITED_SQL = """
SELECT t.id::text,
       ins.id IS NULL AS no_insert,
       last.new_data IS NULL AS deleted_in_trail
  FROM {table} t
  LEFT JOIN LATERAL (
       SELECT e.id FROM audit_auditevent e
        WHERE e.table_name = %(table)s AND e.record_pk = t.id::text AND e.action = 'INSERT'
        LIMIT 1) ins ON true
  LEFT JOIN LATERAL (
       SELECT e.new_data FROM audit_auditevent e
        WHERE e.table_name = %(table)s AND e.record_pk = t.id::text
          AND e.action IN ('INSERT', 'UPDATE', 'DELETE')
        ORDER BY e.chain_seq DESC LIMIT 1) last ON true
 WHERE ins.id IS NULL OR last.new_data IS NULL
    OR EXISTS (SELECT 1 FROM jsonb_each(to_jsonb(t)) cur
                 JOIN jsonb_each(to_jsonb(jsonb_populate_record(NULL::{table}, last.new_data)))
                      rec USING (key)
                WHERE last.new_data ? cur.key AND cur.value IS DISTINCT FROM rec.value)
 ORDER BY t.id
 LIMIT %(limit)s
"""


def unaudited_rows(limit: int = 20) -> list[UnauditedRow]:
    """Clinical rows the trail does not account for (at most ``limit`` per table)."""
    found: list[UnauditedRow] = []
    tables = set(connection.introspection.table_names())
    for model in AUDITED_MODELS:
        table = model._meta.db_table
        if table not in tables or model._meta.pk.column != "id":
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                UNAUDITED_SQL.format(table=connection.ops.quote_name(table)),
                {"table": table, "limit": limit},
            )
            for pk, no_insert, deleted in cursor.fetchall():
                if no_insert:
                    problem = "has no INSERT event on the audit trail"
                elif deleted:
                    problem = "is deleted on the audit trail but still in the table"
                else:
                    problem = "differs from its last audited state (changed unaudited)"
                found.append(UnauditedRow(table, pk, problem))
    return found

"""Verify the audit trail: its hash chains, and that no clinical row escaped it.

The trail is one hash chain per subject (``chain_key`` = the subject's id) plus the
study-level chain (key 0). On each chain the events are numbered 1, 2, 3...
(``chain_pos``), and each ``row_hash`` is SHA-256 over the previous event's hash on the
same chain followed by the event's canonical text (``audit_canonical()`` in the
database, which covers the chain, the position and the global ``chain_seq``). A changed
value, a deleted, inserted or re-ordered event breaks its chain at the first event
affected; an event moved to another chain (both chains re-hashed) is on the wrong chain
for the subject its row names. A rewrite whose hashes were recomputed, or a deleted
tail, is caught against the checkpoints kept outside the database (``audit.anchor``),
which sign every chain's head; a row of a clinical table written with the triggers
switched off (or whose INSERT event was deleted) is caught by ``unaudited_rows``.

Events written before the per-subject chains also keep their hash on the old global
chain (``legacy_hash``, covered by the new hash); ``verify_legacy_chain`` re-walks it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connection

from audit.triggers import AUDITED_MODELS, GENESIS_HASH, STUDY_CHAIN, chain_key_of


def chain_label(chain_key: int) -> str:
    return "the study-level chain" if chain_key == STUDY_CHAIN else f"subject {chain_key}'s chain"


@dataclass(frozen=True)
class ChainBreak:
    chain_key: int
    chain_pos: int
    chain_seq: int
    problem: str

    @property
    def where(self) -> str:
        return f"event #{self.chain_seq} ({chain_label(self.chain_key)}, position {self.chain_pos})"


@dataclass(frozen=True)
class ChainReport:
    events: int  # events verified
    chains: int  # chains walked
    broken: ChainBreak | None = None


def verify_chain(
    batch: int = 5000,
    *,
    chains: list[int] | None = None,
    start: dict[int, tuple[int, str]] | None = None,
) -> ChainReport:
    """Walk every chain (or only ``chains``) in order; stop at the first break.

    ``start`` maps a chain to (position, hash) of an event already trusted (its head at
    the last checkpoint): only the events after it are checked, linked to it.
    """
    start = start or {}
    where = "" if chains is None else "AND e.chain_key = ANY(%(chains)s)"
    last_key, last_pos = -1, 0
    current, expected_pos, expected_prev = None, 1, GENESIS_HASH
    checked, walked = 0, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.chain_key, e.chain_pos, e.chain_seq, e.prev_hash, e.row_hash, "
                "audit_canonical(e), audit_event_chain_key(e) FROM audit_auditevent e "
                f"WHERE (e.chain_key, e.chain_pos) > (%(key)s, %(pos)s) {where} "
                "ORDER BY e.chain_key, e.chain_pos LIMIT %(batch)s",
                {"key": last_key, "pos": last_pos, "batch": batch, "chains": chains},
            )
            rows = cursor.fetchall()
        if not rows:
            return ChainReport(checked, walked)
        for key, pos, seq, prev_hash, row_hash, canonical, derived in rows:
            last_key, last_pos = key, pos
            if key != current:
                current, walked = key, walked + 1
                trusted_pos, expected_prev = start.get(key, (0, GENESIS_HASH))
                expected_pos = trusted_pos + 1
            if pos < expected_pos:
                continue  # before the trusted head (checked against the checkpoint)
            if pos != expected_pos:
                return ChainReport(
                    checked,
                    walked,
                    ChainBreak(key, pos, seq, f"position {expected_pos} is missing"),
                )
            if prev_hash != expected_prev:
                return ChainReport(
                    checked, walked, ChainBreak(key, pos, seq, "previous-hash link does not match")
                )
            digest = hashlib.sha256((prev_hash + canonical).encode()).hexdigest()
            if digest != row_hash:
                return ChainReport(
                    checked, walked, ChainBreak(key, pos, seq, "content does not match its hash")
                )
            if derived and derived != key:  # 0: not known now (a parent row since deleted)
                problem = f"is on the wrong chain: its row belongs to {chain_label(derived)}"
                return ChainReport(checked, walked, ChainBreak(key, pos, seq, problem))
            expected_prev, expected_pos, checked = row_hash, pos + 1, checked + 1


def verify_legacy_chain(batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Re-walk the single global chain of the events written before the per-subject ones.

    Their ``legacy_hash`` is the hash they had there (what the old checkpoints name);
    a pre-migration rewrite stays visible here even though the migration re-hashed them.
    """
    last_seq, expected_prev, checked = 0, GENESIS_HASH, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.chain_key, e.chain_pos, e.chain_seq, e.legacy_hash, "
                "audit_canonical_v1(e) FROM audit_auditevent e "
                "WHERE e.legacy_hash <> '' AND e.chain_seq > %s ORDER BY e.chain_seq LIMIT %s",
                [last_seq, batch],
            )
            rows = cursor.fetchall()
        if not rows:
            return checked, None
        for key, pos, seq, legacy_hash, canonical in rows:
            if seq != last_seq + 1:
                problem = f"event #{last_seq + 1} of the chain before the per-subject chains"
                return checked, ChainBreak(key, pos, seq, problem + " is missing")
            digest = hashlib.sha256((expected_prev + canonical).encode()).hexdigest()
            if digest != legacy_hash:
                problem = (
                    "content does not match its hash on the chain before the per-subject chains"
                )
                return checked, ChainBreak(key, pos, seq, problem)
            expected_prev, last_seq, checked = legacy_hash, seq, checked + 1


@dataclass(frozen=True)
class SubjectChainReport:
    chain_key: int
    events: int
    broken: ChainBreak | None  # a break in the chain itself
    anchor: object | None  # audit.anchor.AnchorProblem on this chain, if any
    anchored_pos: int  # the chain's position the latest checkpoint signs (0: none yet)

    @property
    def intact(self) -> bool:
        return self.broken is None and self.anchor is None


def verify_subject_chain(subject) -> SubjectChainReport:
    """Verify one subject's chain (a casebook's own trail) and its anchored head.

    ``subject``: a Subject or its id.
    """
    from audit.anchor import anchored_heads, check_anchor

    key = chain_key_of(subject)
    report = verify_chain(chains=[key])
    heads = anchored_heads()
    problem = check_anchor(chains=[key])
    return SubjectChainReport(
        key, report.events, report.broken, problem, heads.get(key, (0, ""))[0]
    )


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

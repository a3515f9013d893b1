"""Verify the audit trail's hash chain.

Each row's ``row_hash`` is SHA-256 over the previous row's hash followed by the row's
canonical text (``audit_canonical()`` in the database). A changed value, a deleted row
or a re-ordered row breaks the chain at the first row affected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import connection

from audit.triggers import GENESIS_HASH


@dataclass(frozen=True)
class ChainBreak:
    chain_seq: int
    problem: str


def verify_chain(batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Return (rows checked, first break or None)."""
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    last_seq = 0
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

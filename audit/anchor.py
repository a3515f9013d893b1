"""Anchor the audit chain outside the database (21 CFR 11.10(c), (e)).

The hash chain alone shows a row changed by anyone who did not recompute the hashes
after it; a superuser can recompute them, or delete the newest rows, and the chain is
whole again. A *checkpoint* pins the chain down from outside: the position and hash of
its newest row, signed with an HMAC whose key (``AUDIT_HMAC_KEY``) comes from the
environment and never reaches the database, appended as one JSON line to a file outside
it (``AUDIT_CHECKPOINT_FILE``) and written to the log. Whoever rewrites the trail cannot
sign a new checkpoint, so ``verify_audit_chain`` catches

- a recomputed chain: the row at a checkpoint's position has another hash;
- a deleted tail: a checkpoint names a position the trail no longer reaches.

Rows newer than the last checkpoint are covered by the other check of
``verify_audit_chain`` (every clinical row has its INSERT event). Celery beat writes a
checkpoint every ``AUDIT_CHECKPOINT_MINUTES``; ``manage.py audit_checkpoint`` writes one
by hand (``./run backup`` does, before the dump). A checkpoint is written only after the
rows since the previous one verified: a tampered trail is never anchored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

from audit.chain import verify_chain

log = logging.getLogger("audit.checkpoint")


@dataclass(frozen=True)
class Checkpoint:
    chain_seq: int
    row_hash: str
    written_at: str  # ISO 8601, UTC
    hmac: str = ""

    def message(self) -> bytes:
        return f"alter-s006-audit|{self.chain_seq}|{self.row_hash}|{self.written_at}".encode()


@dataclass(frozen=True)
class AnchorProblem:
    chain_seq: int
    problem: str


def _sign(checkpoint: Checkpoint, key: str) -> str:
    return hmac.new(key.encode(), checkpoint.message(), hashlib.sha256).hexdigest()


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint in the file, oldest first (a missing file has none)."""
    path = path or checkpoint_file()
    if not path.exists():
        return []
    checkpoints = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            checkpoints.append(
                Checkpoint(
                    chain_seq=int(data["chain_seq"]),
                    row_hash=str(data["row_hash"]),
                    written_at=str(data["written_at"]),
                    hmac=str(data["hmac"]),
                )
            )
        except (ValueError, KeyError, TypeError):
            checkpoints.append(Checkpoint(-number, "", "", "unreadable"))
    return checkpoints


def check_anchor(key: str | None = None) -> AnchorProblem | None:
    """Does the trail still hold every checkpoint? The first problem, or None."""
    key = key or settings.AUDIT_HMAC_KEY
    checkpoints = read_checkpoints()
    for cp in checkpoints:
        if cp.chain_seq < 0 or not hmac.compare_digest(cp.hmac, _sign(cp, key)):
            return AnchorProblem(
                abs(cp.chain_seq),
                "checkpoint signature is not valid (forged checkpoint, or another key)",
            )
    if not checkpoints:
        return None
    wanted = {cp.chain_seq for cp in checkpoints}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_seq, row_hash FROM audit_auditevent WHERE chain_seq = ANY(%s)",
            [sorted(wanted)],
        )
        stored = dict(cursor.fetchall())
    for cp in checkpoints:
        if cp.chain_seq not in stored:
            return AnchorProblem(
                cp.chain_seq,
                f"row {cp.chain_seq}, anchored at {cp.written_at}, is gone "
                "(rows deleted from the end of the trail)",
            )
        if stored[cp.chain_seq] != cp.row_hash:
            return AnchorProblem(
                cp.chain_seq,
                f"row {cp.chain_seq} no longer has the hash anchored at {cp.written_at} "
                "(the chain was rewritten and its hashes recomputed)",
            )
    return None


class AnchorRefused(Exception):
    """The trail did not verify, so it was not anchored."""


def write_checkpoint(key: str | None = None) -> Checkpoint | None:
    """Verify the rows since the last checkpoint, then anchor the newest row.

    Returns the checkpoint written, or None when the trail is empty or has not grown.
    Raises ``AnchorRefused`` when the trail does not verify against the last checkpoint.
    """
    key = key or settings.AUDIT_HMAC_KEY
    problem = check_anchor(key)
    if problem is not None:
        raise AnchorRefused(f"row {problem.chain_seq}: {problem.problem}")
    previous = next(
        (cp for cp in reversed(read_checkpoints()) if cp.chain_seq > 0),
        None,
    )
    start = (previous.chain_seq, previous.row_hash) if previous else None
    checked, broken = verify_chain(start=start)
    if broken is not None:
        raise AnchorRefused(f"row {broken.chain_seq}: {broken.problem}")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_seq, row_hash FROM audit_auditevent ORDER BY chain_seq DESC LIMIT 1"
        )
        newest = cursor.fetchone()
    if newest is None or (previous and newest[0] == previous.chain_seq):
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    unsigned = Checkpoint(chain_seq=newest[0], row_hash=newest[1], written_at=stamp)
    checkpoint = Checkpoint(**{**asdict(unsigned), "hmac": _sign(unsigned, key)})
    _append(checkpoint)
    log.info("AUDIT CHECKPOINT %s", json.dumps(asdict(checkpoint), sort_keys=True))
    return checkpoint


def _append(checkpoint: Checkpoint) -> None:
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(asdict(checkpoint), sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)

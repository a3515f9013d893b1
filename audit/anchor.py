"""Anchor the audit chains outside the database (21 CFR 11.10(c), (e)).

The hash chains alone show an event changed by anyone who did not recompute the hashes
after it; a superuser can recompute them, or delete the newest events of a chain, and
the chain is whole again. A *checkpoint* pins every chain down from outside: the head
(position and hash of the newest event) of each chain that grew since the previous
checkpoint, and a digest over the heads of all the chains, signed with an HMAC whose key
(``AUDIT_HMAC_KEY``) comes from the environment and never reaches the database, appended
as one JSON line to a file outside it (``AUDIT_CHECKPOINT_FILE``) and written to the log.
Replaying the file gives every chain's latest anchored head; the digest of each line
must match the heads replayed so far, so a line removed from the file is caught too.
Whoever rewrites the trail cannot sign a new checkpoint, so ``verify_audit_chain``
catches

- a recomputed chain: the event at an anchored head has another hash;
- a deleted tail (or a whole chain deleted, or the table truncated): an anchored head's
  position is gone.

Events newer than the last checkpoint are covered by the other check of
``verify_audit_chain`` (every clinical row has its INSERT event). Celery beat writes a
checkpoint every ``AUDIT_CHECKPOINT_MINUTES``; ``manage.py audit_checkpoint`` writes one
by hand (``./run backup`` does, before the dump). A checkpoint is written only after the
events since the previous one verified: a tampered trail is never anchored.

Checkpoints written before the per-subject chains (one global chain: its newest row's
sequence and hash) are still read and checked against the hashes those rows kept
(``legacy_hash``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from audit.chain import chain_label, verify_chain, verify_legacy_chain

log = logging.getLogger("audit.checkpoint")


@dataclass(frozen=True)
class Checkpoint:
    """Every chain's head, signed: ``heads`` holds the chains that grew since the last."""

    written_at: str  # ISO 8601, UTC
    chains: int  # how many chains the trail had
    digest: str  # SHA-256 over every chain's head (``heads_digest``)
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    hmac: str = ""

    def message(self) -> bytes:
        heads = json.dumps(_heads_json(self.heads), sort_keys=True, separators=(",", ":"))
        return (
            f"alter-s006-audit-v2|{self.written_at}|{self.chains}|{self.digest}|{heads}"
        ).encode()

    def as_json(self) -> dict:
        return {
            "version": 2,
            "written_at": self.written_at,
            "chains": self.chains,
            "digest": self.digest,
            "heads": _heads_json(self.heads),
            "hmac": self.hmac,
        }


@dataclass(frozen=True)
class LegacyCheckpoint:
    """A checkpoint of the single global chain (before the per-subject chains)."""

    chain_seq: int
    row_hash: str
    written_at: str
    hmac: str = ""

    def message(self) -> bytes:
        return f"alter-s006-audit|{self.chain_seq}|{self.row_hash}|{self.written_at}".encode()


@dataclass(frozen=True)
class Unreadable:
    line: int


@dataclass(frozen=True)
class AnchorProblem:
    where: str
    problem: str


def _heads_json(heads: dict[int, tuple[int, str]]) -> dict[str, list]:
    return {str(key): [pos, digest] for key, (pos, digest) in heads.items()}


def heads_digest(heads: dict[int, tuple[int, str]]) -> str:
    """SHA-256 over the sorted (chain, position, hash) of every chain's head."""
    text = "".join(f"{key}:{pos}:{digest}\n" for key, (pos, digest) in sorted(heads.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _sign(checkpoint, key: str) -> str:
    return hmac.new(key.encode(), checkpoint.message(), hashlib.sha256).hexdigest()


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def _parse(data: dict) -> Checkpoint | LegacyCheckpoint:
    if data.get("version") == 2:
        return Checkpoint(
            written_at=str(data["written_at"]),
            chains=int(data["chains"]),
            digest=str(data["digest"]),
            heads={int(k): (int(v[0]), str(v[1])) for k, v in dict(data["heads"]).items()},
            hmac=str(data["hmac"]),
        )
    return LegacyCheckpoint(
        chain_seq=int(data["chain_seq"]),
        row_hash=str(data["row_hash"]),
        written_at=str(data["written_at"]),
        hmac=str(data["hmac"]),
    )


def read_checkpoints(path: Path | None = None) -> list:
    """Every checkpoint in the file, oldest first (a missing file has none)."""
    path = path or checkpoint_file()
    if not path.exists():
        return []
    checkpoints = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(_parse(json.loads(line)))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            checkpoints.append(Unreadable(number))
    return checkpoints


def anchored_heads(checkpoints: list | None = None) -> dict[int, tuple[int, str]]:
    """Every chain's latest anchored head, (position, hash), replayed from the file."""
    heads: dict[int, tuple[int, str]] = {}
    for cp in checkpoints if checkpoints is not None else read_checkpoints():
        if isinstance(cp, Checkpoint):
            heads.update(cp.heads)
    return heads


def _replay(checkpoints: list, key: str):
    """(heads, when each was anchored, legacy checkpoints) or the first AnchorProblem."""
    heads: dict[int, tuple[int, str]] = {}
    anchored_at: dict[int, str] = {}
    legacy: list[LegacyCheckpoint] = []
    for number, cp in enumerate(checkpoints, start=1):
        if isinstance(cp, Unreadable) or not hmac.compare_digest(cp.hmac, _sign(cp, key)):
            where = f"event #{cp.chain_seq}" if isinstance(cp, LegacyCheckpoint) else None
            return AnchorProblem(
                where or f"checkpoint {number}",
                "checkpoint signature is not valid (forged checkpoint, or another key)",
            )
        if isinstance(cp, LegacyCheckpoint):
            legacy.append(cp)
            continue
        heads.update(cp.heads)
        anchored_at.update(dict.fromkeys(cp.heads, cp.written_at))
        if len(heads) != cp.chains or heads_digest(heads) != cp.digest:
            return AnchorProblem(
                f"checkpoint {number}",
                f"the checkpoints before the one written at {cp.written_at} are not all "
                "there (a checkpoint was removed from the file)",
            )
    return heads, anchored_at, legacy


def check_anchor(key: str | None = None, chains: list[int] | None = None) -> AnchorProblem | None:
    """Does the trail still hold every anchored head? The first problem, or None.

    ``chains``: check only these chains' heads (and skip the old global checkpoints).
    """
    key = key or settings.AUDIT_HMAC_KEY
    replayed = _replay(read_checkpoints(), key)
    if isinstance(replayed, AnchorProblem):
        return replayed
    heads, anchored_at, legacy = replayed
    if chains is not None:
        heads = {k: v for k, v in heads.items() if k in set(chains)}
        legacy = []
    if heads:
        keys = sorted(heads)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.chain_key, e.row_hash FROM audit_auditevent e "
                "JOIN unnest(%s::bigint[], %s::bigint[]) AS h(k, p) "
                "ON e.chain_key = h.k AND e.chain_pos = h.p",
                [keys, [heads[k][0] for k in keys]],
            )
            stored = dict(cursor.fetchall())
        for chain in keys:
            pos, digest = heads[chain]
            where = f"{chain_label(chain)}, position {pos}"
            if chain not in stored:
                return AnchorProblem(
                    where,
                    f"the event anchored at {anchored_at[chain]} is gone "
                    "(events deleted from the end of the chain)",
                )
            if stored[chain] != digest:
                return AnchorProblem(
                    where,
                    f"the event no longer has the hash anchored at {anchored_at[chain]} "
                    "(the chain was rewritten and its hashes recomputed)",
                )
    if legacy:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT chain_seq, legacy_hash FROM audit_auditevent "
                "WHERE chain_seq = ANY(%s) AND legacy_hash <> ''",
                [sorted({cp.chain_seq for cp in legacy})],
            )
            stored = dict(cursor.fetchall())
        for cp in legacy:
            where = f"event #{cp.chain_seq}"
            if cp.chain_seq not in stored:
                return AnchorProblem(
                    where,
                    f"the event anchored at {cp.written_at} is gone "
                    "(rows deleted from the end of the trail)",
                )
            if stored[cp.chain_seq] != cp.row_hash:
                return AnchorProblem(
                    where,
                    f"the event no longer has the hash anchored at {cp.written_at} "
                    "(the chain was rewritten and its hashes recomputed)",
                )
    return None


class AnchorRefused(Exception):
    """The trail did not verify, so it was not anchored."""


def current_heads() -> dict[int, tuple[int, str]]:
    """Every chain's newest event, (position, hash), as the database holds it now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT ON (chain_key) chain_key, chain_pos, row_hash "
            "FROM audit_auditevent ORDER BY chain_key, chain_pos DESC"
        )
        return {k: (pos, digest) for k, pos, digest in cursor.fetchall()}


def write_checkpoint(key: str | None = None) -> Checkpoint | None:
    """Verify the events since the last checkpoint, then anchor every chain's head.

    Returns the checkpoint written, or None when the trail is empty or has not grown.
    Raises ``AnchorRefused`` when the trail does not verify against the last checkpoint.
    """
    key = key or settings.AUDIT_HMAC_KEY
    problem = check_anchor(key)
    if problem is not None:
        raise AnchorRefused(f"{problem.where}: {problem.problem}")
    previous = anchored_heads()
    now = current_heads()
    changed = {chain: head for chain, head in now.items() if previous.get(chain) != head}
    if not changed:
        return None
    start = {chain: previous[chain] for chain in changed if chain in previous}
    report = verify_chain(chains=sorted(changed), start=start)
    if report.broken is not None:
        raise AnchorRefused(f"{report.broken.where}: {report.broken.problem}")
    if not previous:  # the first checkpoint: the events of the old global chain too
        _, broken = verify_legacy_chain()
        if broken is not None:
            raise AnchorRefused(f"{broken.where}: {broken.problem}")
    heads = {**previous, **changed}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    unsigned = Checkpoint(
        written_at=stamp, chains=len(heads), digest=heads_digest(heads), heads=changed
    )
    checkpoint = Checkpoint(
        written_at=stamp,
        chains=unsigned.chains,
        digest=unsigned.digest,
        heads=changed,
        hmac=_sign(unsigned, key),
    )
    _append(checkpoint)
    log.info(
        "AUDIT CHECKPOINT %s",
        json.dumps(
            {k: v for k, v in checkpoint.as_json().items() if k != "heads"}
            | {"chains_changed": len(changed)},
            sort_keys=True,
        ),
    )
    return checkpoint


def _append(checkpoint: Checkpoint) -> None:
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.as_json(), sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)

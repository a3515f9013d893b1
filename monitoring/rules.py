"""Freeze, lock, source-data verification and signature rules (pure: no Django import).

Source: issue 14 "Monitoring" §3–§6, which takes its definitions from Veeva Vault EDC,
MACRO and InForm:

- **Frozen** (monitor or data manager): the data cannot change; queries, answers, SDV and
  signatures still can. Answering a query on frozen data does not unfreeze it.
- **Locked** (data manager only): nothing changes — no data, no new queries or answers, no
  SDV, no signatures. Frozen data may be locked; locked data cannot be frozen.
- Unfreeze and unlock need a reason; the two flags are independent.
- SDV states: not verified → verified (who, when) → changed since verified.
- A visit or casebook is not signed while one of its required forms is incomplete (the
  schedule's completeness rule, ``crfs.soa.visit_completeness``).

The database enforces the same table (``monitoring/triggers.py``); this module is what the
pages and the API ask first, so the user gets the reason before trying.
"""

from __future__ import annotations

from enum import StrEnum


class Op(StrEnum):
    CHANGE_DATA = "change_data"
    RAISE_QUERY = "raise_query"
    ANSWER_QUERY = "answer_query"  # also close, send back, reopen, cancel
    VERIFY = "verify"  # also unverify
    SIGN = "sign"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    LOCK = "lock"
    UNLOCK = "unlock"


class Refusal(StrEnum):
    FROZEN = "frozen"
    LOCKED = "locked"
    ALREADY_FROZEN = "already_frozen"
    ALREADY_LOCKED = "already_locked"
    NOT_FROZEN = "not_frozen"
    NOT_LOCKED = "not_locked"


def refusal(op: Op, *, frozen: bool, locked: bool) -> Refusal | None:
    """Why ``op`` is refused on data with these flags, or None when it is allowed.

    ``frozen`` / ``locked``: the flags in force on the data (its own, its visit's, its
    subject's or the study's).
    """
    if op is Op.UNLOCK:
        return None if locked else Refusal.NOT_LOCKED
    if locked:
        return Refusal.ALREADY_LOCKED if op is Op.LOCK else Refusal.LOCKED
    if op is Op.UNFREEZE:
        return None if frozen else Refusal.NOT_FROZEN
    if op is Op.FREEZE:
        return Refusal.ALREADY_FROZEN if frozen else None
    if op is Op.CHANGE_DATA and frozen:
        return Refusal.FROZEN
    return None


class SdvState(StrEnum):
    NOT_VERIFIED = "not_verified"
    VERIFIED = "verified"
    CHANGED = "changed"  # changed since verified


def sdv_required(label: str, percent: dict[str, int]) -> bool:
    """Does the CRF type ``label`` need SDV (``percent``: protocol SDV_REQUIRED_PERCENT)?"""
    return percent.get(label, 0) > 0


def form_sdv_state(form_state: str | None, item_states: dict[str, str], critical: tuple) -> str:
    """The SDV state of one CRF instance shown to the monitor.

    ``form_state``: the state of the whole-form mark (None: never verified);
    ``item_states``: field -> state of the item-level marks; ``critical``: the CRF type's
    critical fields. Changed since verified wins (it needs the monitor's eye again);
    verified means the form mark and every critical item are verified.
    """
    states = [s for s in [form_state, *item_states.values()] if s is not None]
    if SdvState.CHANGED in states:
        return SdvState.CHANGED
    if form_state == SdvState.VERIFIED and all(
        item_states.get(f) == SdvState.VERIFIED for f in critical
    ):
        return SdvState.VERIFIED
    return SdvState.NOT_VERIFIED


class Icon(StrEnum):
    """What the subject matrix and the timeline show per visit and per CRF (issue 14 §6)."""

    NOT_STARTED = "not_started"
    INCOMPLETE = "incomplete"
    COMPLETE = "complete"
    OPEN_QUERIES = "open_queries"
    VERIFIED = "verified"
    CHANGED = "changed_since_verified"
    SIGNED = "signed"
    FROZEN = "frozen"
    LOCKED = "locked"


def cell_icons(
    *,
    completeness: str,
    open_queries: int,
    sdv: str | None,
    signed: bool,
    frozen: bool,
    locked: bool,
) -> list[Icon]:
    """The icons of one cell, in a fixed order: completeness first, then what needs work
    (open queries, changed since verified), then what is done (verified, signed), then the
    flags. ``completeness``: not_started / incomplete / complete; ``sdv``: an SdvState or
    None when the cell needs no SDV."""
    icons = [Icon(completeness)]
    if open_queries:
        icons.append(Icon.OPEN_QUERIES)
    if sdv == SdvState.CHANGED:
        icons.append(Icon.CHANGED)
    elif sdv == SdvState.VERIFIED:
        icons.append(Icon.VERIFIED)
    if signed:
        icons.append(Icon.SIGNED)
    if locked:
        icons.append(Icon.LOCKED)
    elif frozen:
        icons.append(Icon.FROZEN)
    return icons

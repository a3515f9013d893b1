"""Subject status lifecycle of ALTER-S006: which status changes are allowed, and when.

Source: ``docs/PROTOCOL.md``, section "Schedule" (screening, treatment cycles, end of
treatment, safety and survival follow-up until death, withdrawal or 24 months; the follow-up
rules are marked ``[default]`` there). The path is

    screening -> enrolled -> on treatment -> off treatment -> in follow-up -> completed

with screen failure out of screening, and withdrawal or death out of any active status.
Statuses that end participation or treatment need a reason.

Pure Python: no Django import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType


class SubjectStatus(StrEnum):
    SCREENING = "screening"
    SCREEN_FAILED = "screen_failed"
    ENROLLED = "enrolled"
    ON_TREATMENT = "on_treatment"
    OFF_TREATMENT = "off_treatment"
    IN_FOLLOW_UP = "in_follow_up"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    DIED = "died"


S = SubjectStatus

LABELS: Mapping[SubjectStatus, str] = MappingProxyType(
    {
        S.SCREENING: "screening",
        S.SCREEN_FAILED: "screen failed",
        S.ENROLLED: "enrolled",
        S.ON_TREATMENT: "on treatment",
        S.OFF_TREATMENT: "off treatment",
        S.IN_FOLLOW_UP: "in follow-up",
        S.COMPLETED: "completed",
        S.WITHDRAWN: "withdrawn",
        S.DIED: "deceased",
    }
)

ACTIVE_STATUSES = frozenset(
    {S.SCREENING, S.ENROLLED, S.ON_TREATMENT, S.OFF_TREATMENT, S.IN_FOLLOW_UP}
)
TERMINAL_STATUSES = frozenset({S.SCREEN_FAILED, S.COMPLETED, S.WITHDRAWN, S.DIED})

_FORWARD: Mapping[SubjectStatus, frozenset[SubjectStatus]] = {
    S.SCREENING: frozenset({S.SCREEN_FAILED, S.ENROLLED}),
    S.ENROLLED: frozenset({S.ON_TREATMENT}),
    S.ON_TREATMENT: frozenset({S.OFF_TREATMENT}),
    S.OFF_TREATMENT: frozenset({S.IN_FOLLOW_UP}),
    S.IN_FOLLOW_UP: frozenset({S.COMPLETED}),
}
_ALWAYS_FROM_ACTIVE = frozenset({S.WITHDRAWN, S.DIED})

ALLOWED_TRANSITIONS: Mapping[SubjectStatus, frozenset[SubjectStatus]] = MappingProxyType(
    {
        status: (_FORWARD[status] | _ALWAYS_FROM_ACTIVE)
        if status in ACTIVE_STATUSES
        else frozenset()
        for status in SubjectStatus
    }
)

REASON_REQUIRED = frozenset({S.SCREEN_FAILED, S.OFF_TREATMENT, S.WITHDRAWN, S.DIED})


class TransitionError(ValueError):
    """A status change that the lifecycle refuses, tied to the form field at fault, with a
    stable ``code`` for programs (the API answers it; tests assert it)."""

    def __init__(self, field: str, message: str, *, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def allowed_targets(current: SubjectStatus) -> list[SubjectStatus]:
    """List the statuses reachable from ``current``, in declaration order."""
    allowed = ALLOWED_TRANSITIONS[current]
    return [status for status in SubjectStatus if status in allowed]


def _check_status(current: SubjectStatus, target: SubjectStatus) -> None:
    """Refuse a status change that the lifecycle does not allow."""
    if target in ALLOWED_TRANSITIONS[current]:
        return
    if target == current:
        raise TransitionError(
            "status", f"The subject is already {LABELS[current]}.", code="already_in_status"
        )
    raise TransitionError(
        "status",
        f"A subject who is {LABELS[current]} cannot become {LABELS[target]}.",
        code="transition_not_allowed",
    )


def _check_date(on_date: date, last_change: date | None, today: date) -> None:
    """Refuse a date in the future or before the previous status change."""
    if on_date > today:
        raise TransitionError("on_date", "The date cannot be in the future.", code="future_date")
    if last_change is not None and on_date < last_change:
        raise TransitionError(
            "on_date",
            f"The date cannot be before the previous status change ({last_change.isoformat()}).",
            code="before_previous_change",
        )


def _check_reason(target: SubjectStatus, reason: str) -> None:
    """Refuse a blank reason when the target status needs one."""
    if target in REASON_REQUIRED and not (reason or "").strip():
        raise TransitionError(
            "reason",
            f"A reason is required when a subject becomes {LABELS[target]}.",
            code="reason_required",
        )


def check_transition(
    *,
    current: SubjectStatus,
    target: SubjectStatus,
    on_date: date,
    reason: str,
    last_change: date | None,
    today: date,
) -> None:
    """Raise TransitionError unless ``current`` may become ``target`` on ``on_date``."""
    _check_status(current, target)
    _check_date(on_date, last_change, today)
    _check_reason(target, reason)

"""Tests of subjects.lifecycle: allowed status changes, dates and reasons."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from subjects.lifecycle import (
    ACTIVE_STATUSES,
    ALLOWED_TRANSITIONS,
    LABELS,
    REASON_REQUIRED,
    TERMINAL_STATUSES,
    SubjectStatus,
    TransitionError,
    allowed_targets,
    check_transition,
)

S = SubjectStatus
TODAY = date(2026, 3, 10)
LAST_CHANGE = date(2026, 3, 1)

ALLOWED = sorted(
    (current, target) for current, targets in ALLOWED_TRANSITIONS.items() for target in targets
)
REFUSED = [
    pair
    for pair in product(SubjectStatus, SubjectStatus)
    if pair[1] not in ALLOWED_TRANSITIONS[pair[0]]
]


def check(current, target, *, on_date=TODAY, reason="reason given", last_change=LAST_CHANGE):
    """Call check_transition with sensible defaults for the arguments a test does not vary."""
    check_transition(
        current=current,
        target=target,
        on_date=on_date,
        reason=reason,
        last_change=last_change,
        today=TODAY,
    )


# --- the tables ------------------------------------------------------------------------------


def test_active_and_terminal_statuses_partition_all_statuses():
    assert set(ACTIVE_STATUSES) == {
        S.SCREENING,
        S.ENROLLED,
        S.ON_TREATMENT,
        S.OFF_TREATMENT,
        S.IN_FOLLOW_UP,
    }
    assert set(TERMINAL_STATUSES) == {S.SCREEN_FAILED, S.COMPLETED, S.WITHDRAWN, S.DIED}
    assert set(ACTIVE_STATUSES | TERMINAL_STATUSES) == set(SubjectStatus)
    assert not ACTIVE_STATUSES & TERMINAL_STATUSES


def test_allowed_transitions_written_out():
    expected = {
        S.SCREENING: {S.SCREEN_FAILED, S.ENROLLED, S.WITHDRAWN, S.DIED},
        S.ENROLLED: {S.ON_TREATMENT, S.WITHDRAWN, S.DIED},
        S.ON_TREATMENT: {S.OFF_TREATMENT, S.WITHDRAWN, S.DIED},
        S.OFF_TREATMENT: {S.IN_FOLLOW_UP, S.WITHDRAWN, S.DIED},
        S.IN_FOLLOW_UP: {S.COMPLETED, S.WITHDRAWN, S.DIED},
        S.SCREEN_FAILED: set(),
        S.COMPLETED: set(),
        S.WITHDRAWN: set(),
        S.DIED: set(),
    }
    assert dict(ALLOWED_TRANSITIONS) == expected


def test_reason_required_statuses():
    assert set(REASON_REQUIRED) == {S.SCREEN_FAILED, S.OFF_TREATMENT, S.WITHDRAWN, S.DIED}


def test_every_status_has_a_label():
    assert set(LABELS) == set(SubjectStatus)
    assert LABELS[S.SCREEN_FAILED] == "screen failed"
    assert LABELS[S.ON_TREATMENT] == "on treatment"
    assert LABELS[S.IN_FOLLOW_UP] == "in follow-up"


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (S.SCREENING, [S.SCREEN_FAILED, S.ENROLLED, S.WITHDRAWN, S.DIED]),
        (S.ENROLLED, [S.ON_TREATMENT, S.WITHDRAWN, S.DIED]),
        (S.IN_FOLLOW_UP, [S.COMPLETED, S.WITHDRAWN, S.DIED]),
        (S.COMPLETED, []),
        (S.DIED, []),
    ],
)
def test_allowed_targets_in_declaration_order(current, expected):
    assert allowed_targets(current) == expected


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transition_is_accepted(current, target):
    check(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_other_transition_is_refused(current, target):
    with pytest.raises(TransitionError) as info:
        check(current, target)
    assert info.value.field == "status"
    message = str(info.value)
    assert LABELS[current] in message
    assert LABELS[target] in message


def test_refused_transition_message_reads_well():
    with pytest.raises(TransitionError) as info:
        check(S.SCREEN_FAILED, S.ON_TREATMENT)
    assert str(info.value) == "A subject who is screen failed cannot become on treatment."


def test_status_is_checked_before_date_and_reason():
    with pytest.raises(TransitionError) as info:
        check(S.COMPLETED, S.WITHDRAWN, on_date=date(2026, 3, 11), reason="")
    assert info.value.field == "status"


def test_transition_error_is_a_value_error():
    with pytest.raises(ValueError):
        check(S.DIED, S.SCREENING)


# --- date ------------------------------------------------------------------------------------


def test_future_date_is_refused():
    with pytest.raises(TransitionError) as info:
        check(S.ENROLLED, S.ON_TREATMENT, on_date=date(2026, 3, 11))
    assert info.value.field == "on_date"
    assert str(info.value) == "The date cannot be in the future."


def test_today_is_accepted():
    check(S.ENROLLED, S.ON_TREATMENT, on_date=TODAY)


def test_date_before_last_change_is_refused():
    with pytest.raises(TransitionError) as info:
        check(S.ENROLLED, S.ON_TREATMENT, on_date=date(2026, 2, 28))
    assert info.value.field == "on_date"
    assert str(info.value) == "The date cannot be before the previous status change (2026-03-01)."


def test_same_day_as_last_change_is_accepted():
    check(S.ENROLLED, S.ON_TREATMENT, on_date=LAST_CHANGE)


def test_no_previous_change_accepts_any_past_date():
    check(S.SCREENING, S.ENROLLED, on_date=date(2020, 1, 1), last_change=None)


# --- reason ----------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   ", "\t\n "])
@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in ALLOWED if pair[1] in REASON_REQUIRED]
)
def test_reason_required(current, target, blank):
    with pytest.raises(TransitionError) as info:
        check(current, target, reason=blank)
    assert info.value.field == "reason"
    assert str(info.value) == f"A reason is required when a subject becomes {LABELS[target]}."


def test_reason_message_for_withdrawal():
    with pytest.raises(TransitionError) as info:
        check(S.ON_TREATMENT, S.WITHDRAWN, reason=" ")
    assert str(info.value) == "A reason is required when a subject becomes withdrawn."


@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in ALLOWED if pair[1] not in REASON_REQUIRED]
)
def test_reason_not_required(current, target):
    check(current, target, reason="")

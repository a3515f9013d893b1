"""The schedule of assessments: which CRFs a visit needs, and when a visit is complete.

Source: ``docs/PROTOCOL.md``, section "Schedule of assessments" (issue 13), written out as
``alter_s006.protocol.SCHEDULE_OF_ASSESSMENTS``: for each visit kind the CRFs expected, each
"required", "optional" or conditional ("if:<condition>", required when the condition holds for
that visit and not expected otherwise). A visit is complete when every required CRF is complete
(PROTOCOL.md: "A visit is complete when every required CRF is complete"); a missed visit expects
nothing. The one condition of the protocol: the 12-lead ECG and thyroid function at cycle 1 and
every ``ECG_THYROID_EVERY_N_CYCLES`` cycles after it (C1, C3, C5, ... with 2) [default].

Pure Python: no Django import. Plain values in (visit kind, cycle number, form states), plain
values out, so the table can be read beside the protocol and tested by the hundred.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from alter_s006 import protocol as P


class Need(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


class FormState(StrEnum):
    """One CRF at one visit: not started, saved with something still missing, or complete."""

    MISSING = "missing"
    INCOMPLETE = "incomplete"
    COMPLETE = "complete"


class VisitState(StrEnum):
    """A visit's CRFs taken together (the timeline's icon)."""

    NOT_STARTED = "not_started"  # no required CRF saved yet
    INCOMPLETE = "incomplete"  # some saved, some required still missing or incomplete
    COMPLETE = "complete"  # every required CRF complete
    NOT_EXPECTED = "not_expected"  # a missed visit: no CRF is expected


def ecg_thyroid_cycle(cycle_number: int, every: int = P.ECG_THYROID_EVERY_N_CYCLES) -> bool:
    """Cycle 1, then every ``every`` cycles: with 2, cycles 1, 3, 5, ... (not 2, 4, 6)."""
    return cycle_number >= 1 and (cycle_number - 1) % every == 0


CONDITIONS = {"ecg_thyroid_cycle": ecg_thyroid_cycle}


class ScheduleError(ValueError):
    """The schedule table names a visit kind, need or condition this module does not know."""


def expected_forms(
    kind: str,
    number: int = 0,
    *,
    schedule: Mapping[str, tuple[tuple[str, str], ...]] = P.SCHEDULE_OF_ASSESSMENTS,
) -> list[tuple[str, Need]]:
    """The CRFs a visit of ``kind`` (and cycle ``number``) expects, in the table's order.

    A conditional CRF whose condition does not hold for this visit is left out (not expected);
    one whose condition holds is required. An unknown kind expects nothing."""
    out: list[tuple[str, Need]] = []
    for form, need in schedule.get(kind, ()):
        if need.startswith("if:"):
            condition = CONDITIONS.get(need[3:])
            if condition is None:
                raise ScheduleError(f"Unknown condition {need[3:]!r} for {form} at {kind}.")
            if condition(number):
                out.append((form, Need.REQUIRED))
            continue
        try:
            out.append((form, Need(need)))
        except ValueError:
            raise ScheduleError(f"Unknown need {need!r} for {form} at {kind}.") from None
    return out


def forms_of_kind(
    kind: str, *, schedule: Mapping[str, tuple[tuple[str, str], ...]] = P.SCHEDULE_OF_ASSESSMENTS
) -> list[str]:
    """Every CRF a visit of ``kind`` may expect (conditions ignored): which forms the visit
    page may open at all."""
    return [form for form, _need in schedule.get(kind, ())]


@dataclass(frozen=True)
class Completeness:
    state: VisitState
    required: int  # required CRFs
    complete: int  # of which complete
    missing: tuple[str, ...]  # required CRFs not started
    incomplete: tuple[str, ...]  # required CRFs saved but not complete


def visit_completeness(
    expected: list[tuple[str, Need]], states: Mapping[str, FormState], *, missed: bool = False
) -> Completeness:
    """Complete when every required CRF is complete; not started when none of them is saved.

    An optional CRF never holds a visit back. A missed visit expects nothing."""
    if missed:
        return Completeness(VisitState.NOT_EXPECTED, 0, 0, (), ())
    required = [form for form, need in expected if need is Need.REQUIRED]
    missing = tuple(f for f in required if states.get(f, FormState.MISSING) is FormState.MISSING)
    incomplete = tuple(f for f in required if states.get(f) is FormState.INCOMPLETE)
    done = len(required) - len(missing) - len(incomplete)
    if not missing and not incomplete:
        state = VisitState.COMPLETE
    elif len(missing) == len(required):
        state = VisitState.NOT_STARTED
    else:
        state = VisitState.INCOMPLETE
    return Completeness(state, len(required), done, missing, incomplete)


def days_incomplete(
    visit_date: dt.date | None,
    state: VisitState,
    today: dt.date,
    allowed: int = P.CRF_COMPLETION_EXPECTED_DAYS,
) -> int | None:
    """Days past the allowed entry time a held visit's CRFs are still not complete, or None.

    PROTOCOL.md: "a CRF left incomplete more than 5 days after the visit date is listed for the
    monitors" [default]: on day ``visit_date + allowed`` it is not late yet (None); the day after
    it is 1 day late. A visit not held (no date), complete, or missed is never late."""
    if visit_date is None or state in (VisitState.COMPLETE, VisitState.NOT_EXPECTED):
        return None
    late = (today - visit_date).days - allowed
    return late if late > 0 else None

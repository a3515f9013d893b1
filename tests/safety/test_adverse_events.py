"""Pure rules of the AE log, worked out by hand (PROTOCOL.md "Outcomes": AEs from the first dose
to the last dose + 21 days; an SAE report is due 24 hours after the site learned of it).

Days at a grade count both ends: a grade from 02-01 followed by a change on 02-10 held
02-01..02-09 = 9 days."""

from __future__ import annotations

import datetime as dt

import pytest

from safety.adverse_events import (
    GradeStep,
    ReportingWindow,
    in_reporting_window,
    is_overdue,
    reporting_window,
    sae_report_due,
    summarise_grades,
)

D = dt.date
TODAY = D(2026, 3, 2)


def test_one_grade_ongoing_counts_to_today_inclusive():
    summary = summarise_grades([GradeStep(2, D(2026, 2, 1))], end=None, today=TODAY)
    # 02-01..02-28 = 28 days, + 03-01, 03-02 = 30
    assert (summary.current, summary.worst, dict(summary.days_at_grade)) == (2, 2, {2: 30})
    assert summary.total_days == 30


def test_a_rise_and_a_fall_give_the_worst_and_the_days_at_each_grade():
    steps = [
        GradeStep(1, D(2026, 1, 10)),  # 01-10..01-14: 5 days
        GradeStep(3, D(2026, 1, 15)),  # 01-15..01-19: 5 days
        GradeStep(2, D(2026, 1, 20)),  # 01-20..01-31: 12 days (end 01-31)
    ]
    summary = summarise_grades(steps, end=D(2026, 1, 31), today=TODAY)
    assert summary.worst == 3
    assert summary.current == 2
    assert dict(summary.days_at_grade) == {1: 5, 2: 12, 3: 5}
    assert summary.total_days == 22  # 01-10..01-31


def test_a_grade_held_twice_adds_up_and_order_of_input_does_not_matter():
    steps = [
        GradeStep(2, D(2026, 2, 5)),  # 02-05..02-06: 2 days
        GradeStep(1, D(2026, 2, 1)),  # 02-01..02-04: 4 days
        GradeStep(1, D(2026, 2, 7)),  # 02-07..02-07: 1 day (ends 02-07)
    ]
    summary = summarise_grades(steps, end=D(2026, 2, 7), today=TODAY)
    assert dict(summary.days_at_grade) == {1: 5, 2: 2}
    assert (summary.current, summary.worst) == (1, 2)


def test_an_event_starting_and_ending_the_same_day_lasted_one_day():
    summary = summarise_grades([GradeStep(4, D(2026, 2, 3))], end=D(2026, 2, 3), today=TODAY)
    assert dict(summary.days_at_grade) == {4: 1}


def test_an_empty_history_is_refused():
    with pytest.raises(ValueError, match="at least the grade at onset"):
        summarise_grades([], end=None, today=TODAY)


C1D1 = D(2026, 1, 5)
LAST_DOSE = D(2026, 2, 8)  # + 21 days = 2026-03-01


@pytest.mark.parametrize(
    ("onset", "inside"),
    [
        (D(2026, 1, 4), False),  # the day before the first dose
        (D(2026, 1, 5), True),  # the first dose
        (D(2026, 3, 1), True),  # last dose + 21
        (D(2026, 3, 2), False),  # last dose + 22
    ],
)
def test_reporting_window_first_dose_to_last_dose_plus_21_days(onset, inside):
    assert in_reporting_window(onset, C1D1, LAST_DOSE) is inside


def test_while_dosing_the_window_is_open_ended_and_before_dosing_there_is_none():
    assert reporting_window(C1D1, None) == ReportingWindow(start=C1D1, end=None)
    assert in_reporting_window(D(2027, 6, 1), C1D1, None)
    assert reporting_window(None, None) is None
    assert not in_reporting_window(D(2026, 1, 10), None, None)
    assert reporting_window(C1D1, LAST_DOSE).end == D(2026, 3, 1)


UTC = dt.UTC


def test_sae_report_is_due_24_hours_after_the_site_learned_of_it():
    learned = dt.datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    assert sae_report_due(learned) == dt.datetime(2026, 3, 3, 2, 30, tzinfo=UTC)


def test_overdue_is_past_due_and_not_submitted():
    due = dt.datetime(2026, 3, 3, 2, 30, tzinfo=UTC)
    assert not is_overdue(due, None, due)  # due exactly now: not yet late
    assert is_overdue(due, None, due + dt.timedelta(seconds=1))
    assert not is_overdue(due, due, due + dt.timedelta(days=5))  # submitted (on time or not)


def test_an_ae_covers_a_day_from_its_onset_to_its_end_both_included():
    from safety.adverse_events import covers

    onset, end = dt.date(2026, 2, 10), dt.date(2026, 2, 20)
    assert not covers(onset, end, False, dt.date(2026, 2, 9))  # the day before onset
    assert covers(onset, end, False, dt.date(2026, 2, 10))  # onset day
    assert covers(onset, end, False, dt.date(2026, 2, 20))  # end day
    assert not covers(onset, end, False, dt.date(2026, 2, 21))  # the day after the end
    assert covers(onset, None, True, dt.date(2027, 1, 1))  # ongoing: any later day
    assert not covers(onset, None, False, dt.date(2026, 2, 11))  # neither ended nor ongoing

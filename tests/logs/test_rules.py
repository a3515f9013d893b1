"""logs.rules: date limits, dose plausibility, grade at baseline, baseline conditions,
interruptions and on-treatment medications; every boundary on both sides, by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from alter_s006 import protocol as P
from logs import rules

D = dt.date
TODAY = D(2026, 3, 2)


def codes(problems):
    return {p.field: p.code for p in problems}


@pytest.mark.parametrize(
    ("start", "stop", "ongoing", "expected"),
    [
        (D(2026, 1, 1), None, True, {}),
        (D(2026, 1, 1), D(2026, 1, 1), False, {}),  # stop on the start day
        (D(2026, 1, 2), D(2026, 1, 1), False, {"stop_date": "stop_before_start"}),
        (D(2026, 1, 1), D(2026, 1, 5), True, {"stop_date": "stop_and_ongoing"}),
        (D(2026, 1, 1), None, False, {"stop_date": "stop_or_ongoing"}),
        (None, None, True, {"start_date": "required"}),
        (D(1900, 1, 1), None, True, {}),  # the earliest plausible date
        (D(1899, 12, 31), None, True, {"start_date": "date_implausible"}),
        (TODAY, None, True, {}),  # the site's today
        (D(2026, 3, 3), None, True, {"start_date": "future_date"}),
        (D(2026, 1, 1), TODAY, False, {}),
        (D(2026, 1, 1), D(2026, 3, 3), False, {"stop_date": "future_date"}),
    ],
)
def test_a_period_is_a_start_then_a_stop_or_ongoing(start, stop, ongoing, expected):
    assert codes(rules.check_period(start, stop, ongoing, TODAY)) == expected


def test_the_stop_field_can_be_named():
    found = rules.check_period(D(2026, 1, 2), D(2026, 1, 1), False, TODAY, stop_field="end_date")
    assert codes(found) == {"end_date": "stop_before_start"}
    assert found[0].text() == "The stop date cannot be before the start (2026-01-02)."


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(1900, 1, 1), {}),
        (D(1899, 12, 31), {"occurred_on": "date_implausible"}),
        (TODAY, {}),
        (D(2026, 3, 3), {"occurred_on": "future_date"}),
        (None, {"occurred_on": "required"}),
    ],
)
def test_one_date_lies_from_1900_to_the_sites_today(day, expected):
    assert codes(rules.check_date(day, TODAY, "occurred_on")) == expected


@pytest.mark.parametrize(
    ("dose", "expected"),
    [
        (Decimal("0"), {"dose": "dose_implausible"}),  # not above 0
        (Decimal("-1"), {"dose": "dose_implausible"}),
        (Decimal("0.0001"), {}),  # the smallest the column keeps
        (Decimal("100000"), {}),  # the plausible maximum
        (Decimal("100000.0001"), {"dose": "dose_implausible"}),
        (Decimal("NaN"), {"dose": "dose_implausible"}),
        (None, {"dose": "required"}),
    ],
)
def test_the_dose_is_above_0_and_at_most_the_plausible_maximum(dose, expected):
    assert codes(rules.check_dose(dose)) == expected


def test_the_dose_limits_are_the_protocol_configuration():
    assert (Decimal("0"), Decimal("100000")) == (P.CONMED_DOSE_MIN_EXCLUSIVE, P.CONMED_DOSE_MAX)
    assert rules.check_dose(Decimal("0"))[0].text() == (
        "The dose must be above 0 and at most 100000."
    )


@pytest.mark.parametrize(
    ("grade", "ok"), [(None, True), (0, False), (1, True), (4, True), (5, False)]
)
def test_the_grade_at_baseline_is_1_to_4_or_none(grade, ok):
    assert (rules.check_baseline_grade(grade) == []) is ok


# --- baseline conditions ------------------------------------------------------------------------

HTN2 = rules.BaselineCondition(key=1, term="Hypertension", ongoing=True, grade=2)


@pytest.mark.parametrize(
    ("term", "grade", "matched"),
    [
        ("Hypertension", 1, True),  # lower than at baseline
        ("Hypertension", 2, True),  # the same grade
        ("Hypertension", 3, False),  # worse: a new AE
        ("hypertension ", 2, True),  # case and spacing aside
        ("Hypotension", 1, False),  # another term
    ],
)
def test_an_ae_at_or_below_the_baseline_grade_matches(term, grade, matched):
    found = rules.matches_baseline_condition(term, grade, [HTN2])
    assert (found == HTN2) is matched


def test_an_ended_condition_never_matches():
    ended = rules.BaselineCondition(key=1, term="Hypertension", ongoing=False, grade=2)
    assert rules.matches_baseline_condition("Hypertension", 1, [ended]) is None


def test_an_ungraded_condition_matches_any_grade():
    ungraded = rules.BaselineCondition(key=3, term="Fatigue", ongoing=True, grade=None)
    assert rules.matches_baseline_condition("Fatigue", 4, [ungraded]) == ungraded


def test_of_several_the_highest_baseline_grade_is_named():
    g1 = rules.BaselineCondition(key=1, term="Fatigue", ongoing=True, grade=1)
    g3 = rules.BaselineCondition(key=2, term="Fatigue", ongoing=True, grade=3)
    ungraded = rules.BaselineCondition(key=3, term="Fatigue", ongoing=True, grade=None)
    assert rules.matches_baseline_condition("Fatigue", 1, [g1, ungraded, g3]) == g3
    assert rules.matches_baseline_condition("Fatigue", 2, [g1, ungraded]) == ungraded


# --- deviations ---------------------------------------------------------------------------------


def test_an_open_interruption_lasts_until_the_day_before_the_next_event():
    spans = rules.interruption_spans(
        [
            rules.Interruption(D(2026, 2, 1), None),
            rules.Interruption(D(2026, 2, 20), D(2026, 2, 22)),
        ],
        [D(2026, 2, 1), D(2026, 2, 10), D(2026, 2, 20)],
    )
    assert spans == [(D(2026, 2, 1), D(2026, 2, 9)), (D(2026, 2, 20), D(2026, 2, 22))]
    assert rules.inside_interruption(D(2026, 2, 9), spans) == spans[0]
    assert rules.inside_interruption(D(2026, 2, 10), spans) is None
    assert rules.inside_interruption(D(2026, 2, 19), spans) is None
    assert rules.inside_interruption(D(2026, 2, 20), spans) == spans[1]
    assert rules.inside_interruption(D(2026, 2, 22), spans) == spans[1]
    assert rules.inside_interruption(D(2026, 2, 23), spans) is None


def test_an_interruption_still_open_lasts_for_good():
    spans = rules.interruption_spans([rules.Interruption(D(2026, 2, 1), None)], [D(2026, 2, 1)])
    assert rules.inside_interruption(D(2030, 1, 1), spans) is not None


C1D1 = D(2026, 1, 5)


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (D(2025, 12, 1), D(2026, 1, 4), False),  # stopped the day before the first dose
        (D(2025, 12, 1), D(2026, 1, 5), True),  # still taken on the first dose day
        (D(2025, 12, 1), None, True),  # ongoing
        (D(2026, 1, 5), D(2026, 1, 6), True),
        (D(2026, 2, 1), None, True),
    ],
)
def test_a_medication_is_taken_on_treatment_from_c1d1(start, stop, expected):
    assert rules.taken_on_treatment(start, stop, C1D1) is expected


def test_nothing_is_on_treatment_before_a_first_dose():
    assert rules.taken_on_treatment(D(2026, 1, 5), None, None) is False

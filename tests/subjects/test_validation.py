"""The subject CRFs' edit checks with plain dicts (``subjects.validation``), codes asserted.

No database: the same function the services run (registration and correction through
``Subject.clean``, visits and status changes directly) is called with typed values.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from alter_s006 import protocol as P
from subjects import validation
from tests.subjects.codes import codes

D = dt.date
TODAY = D(2026, 3, 2)
ADULT = {"date_of_birth": D(1980, 5, 17), "year_of_birth": None, "consent_date": D(2026, 2, 27)}


def refused(check, values, **kwargs) -> dict:
    with pytest.raises(ValidationError) as info:
        check(values, **kwargs)
    return codes(info.value)


# --- demographics ------------------------------------------------------------------------------


def test_plausible_demographics_pass():
    validation.validate_demographics(ADULT, today=TODAY)
    validation.validate_demographics(
        {**ADULT, "date_of_birth": None, "year_of_birth": 1980}, today=TODAY
    )
    validation.validate_demographics({**ADULT, "year_of_birth": 1980}, today=TODAY)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"date_of_birth": D(2026, 3, 3)},
            # born tomorrow is also after consent: that check names the consent date
            {"date_of_birth": ["future_date"], "consent_date": ["consent_before_birth"]},
            id="born-in-the-future",
        ),
        pytest.param({"consent_date": D(2026, 3, 3)}, {"consent_date": ["future_date"]}, id="fc"),
        pytest.param(
            {"date_of_birth": D(2026, 2, 28)},
            {"consent_date": ["consent_before_birth"]},
            id="consent-before-birth",
        ),
        pytest.param(
            {"date_of_birth": None, "year_of_birth": None},
            {"date_of_birth": ["birth_date_required"]},
            id="no-birth-date-nor-year",
        ),
        pytest.param({"year_of_birth": 1981}, {"year_of_birth": ["year_mismatch"]}, id="mismatch"),
        pytest.param(
            {"date_of_birth": None, "year_of_birth": 2027},
            {"year_of_birth": ["birth_year_after_consent"]},
            id="year-after-consent",
        ),
        pytest.param(
            {"date_of_birth": D(1, 1, 1)}, {"date_of_birth": ["date_implausible"]}, id="year-1"
        ),
        pytest.param(
            {
                "date_of_birth": None,
                "year_of_birth": P.EARLIEST_PLAUSIBLE_DATE.year - 50,
                "consent_date": P.EARLIEST_PLAUSIBLE_DATE - dt.timedelta(days=1),
            },
            {"consent_date": ["date_implausible"]},
            id="consent-before-the-plausible-dates",
        ),
        pytest.param(
            {"date_of_birth": D(2024, 1, 1)},
            {"date_of_birth": ["age_implausible"]},
            id="age-2",
        ),
        pytest.param(
            {"date_of_birth": None, "year_of_birth": 1910},
            {"year_of_birth": ["age_implausible"]},
            id="year-only-age-116",
        ),
    ],
)
def test_implausible_demographics_are_refused_with_a_code(changes, expected):
    assert refused(validation.validate_demographics, {**ADULT, **changes}, today=TODAY) == expected


def test_the_plausible_ages_are_the_protocols_bounds():
    low, high = P.PLAUSIBLE_AGE_AT_CONSENT_YEARS
    consent = ADULT["consent_date"]
    for age in (low, high):
        born = consent.replace(year=consent.year - age)
        validation.validate_demographics({**ADULT, "date_of_birth": born}, today=TODAY)
    too_old = consent.replace(year=consent.year - high - 1)
    assert refused(
        validation.validate_demographics, {**ADULT, "date_of_birth": too_old}, today=TODAY
    ) == {"date_of_birth": ["age_implausible"]}


# --- visits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"actual_date": D(2026, 3, 3), "missed": False}, {"actual_date": ["future_date"]}),
        ({"actual_date": TODAY, "missed": True}, {"missed": ["missed_with_date"]}),
        ({"actual_date": None, "missed": False}, {"actual_date": ["date_or_missed_required"]}),
    ],
    ids=["future", "dated-and-missed", "neither"],
)
def test_a_visit_is_dated_or_missed_and_not_in_the_future(values, expected):
    assert refused(validation.validate_visit, values, today=TODAY) == expected


def test_a_visit_dated_today_or_missed_passes():
    validation.validate_visit({"actual_date": TODAY, "missed": False}, today=TODAY)
    validation.validate_visit({"actual_date": None, "missed": True}, today=TODAY)


# --- status changes ----------------------------------------------------------------------------


def test_enrolment_needs_a_c1d1_not_before_it():
    on = D(2026, 1, 19)
    validation.validate_enrolment({"on_date": on, "c1d1": on})
    assert refused(validation.validate_enrolment, {"on_date": on, "c1d1": None}) == {
        "c1d1": ["c1d1_required"]
    }
    assert refused(validation.validate_enrolment, {"on_date": on, "c1d1": D(2026, 1, 18)}) == {
        "c1d1": ["c1d1_before_enrolment"]
    }


@pytest.mark.parametrize(
    ("last_dose", "code"),
    [
        (None, "last_dose_required"),
        (D(2026, 2, 21), "last_dose_after_decision"),
        (D(2026, 1, 25), "before_c1d1"),
    ],  # fmt: skip
)
def test_stopping_treatment_dates_the_last_dose_between_c1d1_and_the_decision(last_dose, code):
    values = {"on_date": D(2026, 2, 20), "last_dose": last_dose}
    assert refused(validation.validate_stop, values, c1d1_date=D(2026, 1, 26)) == {
        "last_dose": [code]
    }


def test_a_last_dose_on_c1d1_or_on_the_decision_day_passes():
    for last_dose in (D(2026, 1, 26), D(2026, 2, 20)):
        validation.validate_stop(
            {"on_date": D(2026, 2, 20), "last_dose": last_dose}, c1d1_date=D(2026, 1, 26)
        )

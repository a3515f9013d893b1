"""The outcome forms' subject (tests/dosing/conftest.py): clock frozen at 2026-03-02 10:00 in
Guangzhou; consent 2025-12-20, enrolled 2026-01-03, first dose (C1D1) 2026-01-05, on
treatment. Cycles by hand: C1 01-05, C2 01-26, C3 02-16 (days 1-14: 02-16 to 03-01), so the
dosing calendar's last dose so far is 2026-03-01 and today (03-02) is cycle 3 day 15, a rest
day; C4 would start 03-09."""

import datetime as dt

import pytest

from safety.services import record_ae
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import ensure_ctcae, term

D = dt.date
LAST_DOSE = D(2026, 3, 1)
TODAY = D(2026, 3, 2)


@pytest.fixture(autouse=True)
def _ctcae(request):
    names = request.fixturenames
    database = next((n for n in ("transactional_db", "db") if n in names), None)
    if database is not None:
        request.getfixturevalue(database)
        ensure_ctcae()


@pytest.fixture
def subject(treated):  # noqa: F811
    return treated


def hypertension(subject, by, **overrides):
    """Hypertension grade 3 from 2026-02-20, ongoing (a toxicity that stops treatment)."""
    data = {
        "term": term("Hypertension"),
        "grade": 3,
        "onset_date": D(2026, 2, 20),
        "ongoing": True,
        "outcome": "not_recovered",
        **overrides,
    }
    return record_ae(subject=subject, by=by, **data)

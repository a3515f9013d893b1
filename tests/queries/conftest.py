"""The dosing subject (clock frozen 2026-03-02 10:00 in Guangzhou, C1D1 2026-01-05) and its
adverse event (grade 1 hypertension since 2026-02-20)."""

import datetime as dt

import pytest

from safety.services import aes
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import ensure_ctcae, term


@pytest.fixture
def ae(treated, coordinator_a):  # noqa: F811 -- the fixture imported above
    ensure_ctcae()
    return aes.record_ae(
        subject=treated,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=1,
        onset_date=dt.date(2026, 2, 20),
        outcome="not_recovered",
        ongoing=True,
        treatment_given="none",
    )

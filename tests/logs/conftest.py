"""The treated subject of site A (clock frozen 2026-03-02 10:00 in Guangzhou; consent
2025-12-20, C1D1 2026-01-05) and the CTCAE dictionary."""

import datetime as dt
from decimal import Decimal

import pytest

from logs import services
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import ensure_ctcae

D = dt.date


@pytest.fixture(autouse=True)
def _ctcae(request):
    if "db" in request.fixturenames or "transactional_db" in request.fixturenames:
        request.getfixturevalue("db")
        ensure_ctcae()


def con_med(subject, by, **overrides):
    data = {
        "name": "Paracetamol",
        "indication": "Headache",
        "dose": Decimal("500"),
        "unit": "mg",
        "route": "oral",
        "frequency": "prn",
        "start_date": D(2026, 1, 10),
        "ongoing": True,
    }
    return services.record_con_med(subject=subject, by=by, **(data | overrides))


def history(subject, by, **overrides):
    data = {"condition": "Hypertension", "start_date": D(2020, 5, 1), "ongoing": True}
    return services.record_history(subject=subject, by=by, **(data | overrides))

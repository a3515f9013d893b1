"""Monitoring tests share the treated subject of the dosing tests (clock frozen 2026-03-02
10:00 in Guangzhou; C1D1 2026-01-05) and the CTCAE dictionary."""

import datetime as dt
from decimal import Decimal

import pytest

from crfs import services as crfs
from subjects.models import Visit
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import _ctcae  # noqa: F401

DAY = dt.date(2026, 1, 5)  # C1D1


def vitals(**over):
    data = {
        "assessed_on": DAY,
        "systolic": 128,
        "diastolic": 82,
        "heart_rate": 76,
        "temperature": Decimal("36.8"),
        "weight": Decimal("72.0"),
        "height": None,
        "not_done_reason": "",
    }
    return data | over


@pytest.fixture
def visit(treated):  # noqa: F811
    return lambda code: Visit.objects.select_related("subject__site").get(
        subject=treated, code=code
    )


@pytest.fixture
def c1_vitals(visit, coordinator_a):
    """The C1D1 vital signs CRF, saved by the site."""
    return crfs.save_crf(
        visit=visit("C1D1"), form_key="vital_signs", by=coordinator_a, values=vitals()
    )


def correct_vitals(record, by, **over):
    record.refresh_from_db()
    return crfs.save_crf(
        visit=Visit.objects.get(pk=record.visit_id),
        form_key="vital_signs",
        by=by,
        values=vitals(**over),
        expected_version=record.version,
        reason="transcription error",
    )

"""Edit-check tests share the dosing subject (clock frozen 2026-03-02 10:00 in Guangzhou,
site A's time zone Asia/Shanghai; consent 2025-12-20, enrolled 2026-01-03, C1D1 2026-01-05)
and the CTCAE dictionary.

Its visits, by hand from the schedule (cycle visits every 21 days from C1D1 +/- 3 days,
tumour assessments every 42 days +/- 7, the screening window up to 28 days before C1D1):
SCR window closes 2026-01-17, C1D1 01-08, C2D1 01-29, C3D1 02-19, TA1 02-23, C4D1 window
03-06 to 03-12, C5D1 03-27 to 04-02. Nothing is recorded yet."""

import pytest

from queries.models import Query
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import _ctcae  # noqa: F401


def open_queries(check, record=None):
    rows = Query.objects.filter(
        edit_check=check, origin=Query.Origin.SYSTEM, status=Query.Status.OPEN
    )
    if record is not None:
        rows = rows.filter(record_type=record._meta.label_lower, record_id=record.pk)
    return rows


@pytest.fixture
def subject(investigator_a, treated):  # noqa: F811
    return treated

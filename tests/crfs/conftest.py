"""Visit CRF tests share the dosing subject (clock frozen 2026-03-02 10:00 in Guangzhou;
consent 2025-12-20, enrolled 2026-01-03, C1D1 2026-01-05; cycles C2 01-26, C3 02-16) and the
CTCAE dictionary."""

import pytest

from subjects.models import Visit
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import _ctcae  # noqa: F401


@pytest.fixture
def visit(treated):  # noqa: F811
    """Visits of the treated subject by code: visit("C1D1"), visit("SCR")."""
    return lambda code: Visit.objects.select_related("subject__site").get(
        subject=treated, code=code
    )

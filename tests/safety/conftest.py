"""The dosing subject (clock frozen 2026-03-02 10:00 in Guangzhou, C1D1 2026-01-05), the
CTCAE dictionary, and the site's laboratory reference ranges (``eligibility.demo.RANGES``:
ANC 1.8-6.3 x10^9/L, ALT ULN 40 U/L, albumin LLN 40 g/L, Hb 115-175 g/L, ...)."""

import pytest

from safety.models import CtcaeTerm
from safety.services import load_ctcae
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401


def ensure_ctcae() -> None:
    """The migration loads the dictionary; a browser test's flush empties it: load it again."""
    if not CtcaeTerm.objects.exists():
        load_ctcae()


@pytest.fixture(autouse=True)
def _ctcae(request):
    """Tests with a database see the dictionary (pure tests start no database)."""
    names = request.fixturenames
    database = next((n for n in ("transactional_db", "db") if n in names), None)
    if database is not None:
        request.getfixturevalue(database)
        ensure_ctcae()


def term(name: str) -> CtcaeTerm:
    return CtcaeTerm.objects.get(term=name)


@pytest.fixture
def subject(investigator_a, treated):  # noqa: F811
    """The treated subject of site A, whose investigator is ``inv_a`` (asked for first)."""
    return treated

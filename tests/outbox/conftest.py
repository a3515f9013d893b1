"""The safety tests' treated subject (clock frozen 2026-03-02 10:00 in Guangzhou)."""

from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.safety.conftest import _ctcae, subject  # noqa: F401

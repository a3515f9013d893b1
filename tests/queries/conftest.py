"""The dosing subject (clock frozen 2026-03-02 10:00 in Guangzhou, C1D1 2026-01-05)."""

from tests.dosing.conftest import frozen_clock, treated  # noqa: F401

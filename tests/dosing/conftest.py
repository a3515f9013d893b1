"""Dosing tests share one subject: clock frozen at 2026-03-02 10:00 in Guangzhou; enrolled
2026-01-03, first dose (C1D1) 2026-01-05. Cycles by hand: C1 01-05, C2 01-26, C3 02-16,
C4 03-09."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from subjects import services as subject_services
from tests.factories import enrol, make_subject

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def treated(frozen_clock, site_a, coordinator_a):
    D = dt.date
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=D(2025, 12, 20))
    subject = enrol(subject, by=coordinator_a, on_date=D(2026, 1, 3), c1d1=D(2026, 1, 5))
    return subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=D(2026, 1, 5),
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )

"""Benchmark, run by hand (not collected by the suite):

    .venv/bin/pytest tests/bench/bench_monitoring_triggers.py -s -p no:cacheprovider

What the monitoring triggers (issue 14: ``monitoring_guard`` before, ``monitoring_effects``
after every write to a clinical table) cost a CRF correction through its service: blocks of
saves with the triggers on and off (the owner's login disables them between blocks),
interleaved so the machine's noise falls on both; the median of each and their ratio. Run with
one hold, one SDV mark and one signature in the database, as in a monitored study.
"""

import datetime as dt
import statistics
import time
from decimal import Decimal

import pytest

from audit.db_roles import owner_connection
from crfs import services as crfs
from monitoring import services
from monitoring.models import Signature
from tests.factories import enrol, make_subject

BLOCKS, SAVES = 6, 15


def _triggers(enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute(f"ALTER TABLE crfs_vitalsigns {verb} TRIGGER monitoring_guard")
        cursor.execute(f"ALTER TABLE crfs_vitalsigns {verb} TRIGGER monitoring_effects")


@pytest.mark.django_db(transaction=True)
def test_bench_trigger_cost(site_a, coordinator_a, monitor_a, investigator_a, data_manager):
    today = site_a.today()
    subject = make_subject(site_a, coordinator_a, consent_date=today - dt.timedelta(days=6))
    subject = enrol(
        subject,
        by=coordinator_a,
        on_date=today - dt.timedelta(days=1),
        c1d1=today + dt.timedelta(days=3),
    )
    other = make_subject(site_a, coordinator_a, initials="OTH")
    scr = subject.visits.get(code="SCR")
    values = {
        "assessed_on": today - dt.timedelta(days=2),
        "systolic": 120,
        "diastolic": 80,
        "heart_rate": 70,
        "temperature": Decimal("36.5"),
        "weight": Decimal("60.0"),
        "height": Decimal("165.0"),
        "not_done_reason": "",
    }
    record = crfs.save_crf(visit=scr, form_key="vital_signs", by=coordinator_a, values=values)
    services.verify(by=monitor_a, record=record, fields=[""])
    services.place_hold(by=data_manager, kind="freeze", level="subject", reason="r", subject=other)
    Signature.objects.create(
        level="casebook",
        subject=other,
        signed_by=investigator_a,
        printed_name="Dr",
        meaning="m",
        content_hash="0" * 64,
    )

    def block() -> list[float]:
        times = []
        for i in range(SAVES):
            record.refresh_from_db()
            start = time.perf_counter()
            crfs.save_crf(
                visit=scr,
                form_key="vital_signs",
                by=coordinator_a,
                values={**values, "systolic": 110 + (i + record.version) % 40},
                expected_version=record.version,
                reason="bench",
            )
            times.append(time.perf_counter() - start)
        return times

    on, off = [], []
    try:
        block()  # warm up
        for _ in range(BLOCKS):
            _triggers(False)
            off += block()
            _triggers(True)
            on += block()
    finally:
        _triggers(True)
    m_on, m_off = statistics.median(on) * 1000, statistics.median(off) * 1000
    print()
    print(f"CRF correction, monitoring triggers off: {m_off:6.2f} ms median of {len(off)}  x1.00")
    ratio = m_on / m_off
    print(
        f"CRF correction, monitoring triggers on:  {m_on:6.2f} ms median of {len(on)}  x{ratio:.2f}"
    )

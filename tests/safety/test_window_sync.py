"""The AE reporting window moves with the treatment: stored flags and queries follow it.

Clock 2026-03-02 in Guangzhou; C1D1 2026-01-05. Stopping on 2026-03-01 with the last dose on
2026-02-01 ends the window on 2026-02-22 (last dose + 21 days): an AE with onset 2026-02-27,
inside the open window while dosing, falls outside it.
"""

import datetime as dt

import pytest

from queries.models import Query
from safety import services
from subjects import services as subject_services
from tests.safety.conftest import term

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


def open_window_queries(ae):
    return Query.objects.filter(
        record_type="safety.adverseevent",
        record_id=ae.pk,
        edit_check="safety.ae_outside_window",
        status="open",
    ).count()


def test_stopping_treatment_reflags_an_ae_after_the_new_window(subject, coordinator_a):
    late = services.record_ae(
        subject=subject,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=2,
        onset_date=D(2026, 2, 27),
        outcome="not_recovered",
        ongoing=True,
    )
    inside = services.record_ae(
        subject=subject,
        by=coordinator_a,
        term=term("Fatigue"),
        grade=1,
        onset_date=D(2026, 2, 22),  # the last day of the new window
        outcome="not_recovered",
        ongoing=True,
    )
    assert not late.out_of_window and open_window_queries(late) == 0
    subject.refresh_from_db()
    subject_services.change_status(
        subject=subject,
        target="off_treatment",
        on_date=D(2026, 3, 1),
        reason="Progressive disease",
        last_dose=D(2026, 2, 1),
        by=coordinator_a,
        expected_version=subject.version,
    )
    late.refresh_from_db()
    inside.refresh_from_db()
    assert late.out_of_window and open_window_queries(late) == 1
    assert not inside.out_of_window and open_window_queries(inside) == 0

"""A CxD1 visit date must keep the cycles in order (PROTOCOL.md "Schedule": a cycle starts on
its CxD1 visit date; subjects.schedule.cycle_visit_date_bounds), on real records, page and API.

Subject (tests/dosing/conftest.py): C1D1 2026-01-05, clock 2026-03-02. Planned C2 01-26,
C3 02-16, C4 03-09.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from subjects import services
from tests.api_errors import error_codes
from tests.dosing.conftest import NOW
from tests.factories import enrol, make_subject
from tests.subjects.test_api import Api

D = dt.date


@pytest.fixture
def treated(site_a, coordinator_a):
    """On treatment from C1D1 2026-01-05, the clock at 2026-03-02 (as tests/dosing/conftest)."""
    with time_machine.travel(NOW, tick=False):
        subject = make_subject(site_a, coordinator_a, sex="M", consent_date=D(2025, 12, 20))
        subject = enrol(subject, by=coordinator_a, on_date=D(2026, 1, 3), c1d1=D(2026, 1, 5))
        yield services.change_status(
            subject=subject,
            target="on_treatment",
            on_date=D(2026, 1, 5),
            reason="",
            by=coordinator_a,
            expected_version=subject.version,
        )


def record(subject, code, on, by, reason=""):
    visit = subject.visits.get(code=code)
    return services.record_visit(
        visit=visit,
        expected_version=visit.version,
        actual_date=on,
        missed=False,
        note="",
        by=by,
        reason=reason,
    )


@pytest.mark.parametrize(
    ("on", "accepted"),
    [
        ("2026-01-26", False),  # C3 on C2's start (01-26)
        ("2026-01-25", False),
        ("2026-01-27", True),  # the day after
        ("2026-02-23", True),  # a week late
    ],
)
def test_c3d1_must_come_after_c2s_start(treated, coordinator_a, on, accepted):
    if accepted:
        saved = record(treated, "C3D1", D.fromisoformat(on), coordinator_a)
        assert saved.actual_date == D.fromisoformat(on)
        return
    with pytest.raises(ValidationError) as caught:
        record(treated, "C3D1", D.fromisoformat(on), coordinator_a)
    assert [e.code for e in caught.value.error_dict["actual_date"]] == ["cycle_out_of_order"]
    assert "on or before cycle 2 (started 2026-01-26)" in caught.value.messages[0]
    assert treated.visits.get(code="C3D1").actual_date is None


def test_a_cycle_cannot_be_dated_on_or_after_a_later_recorded_cxd1(treated, coordinator_a):
    record(treated, "C3D1", D(2026, 2, 16), coordinator_a)
    with pytest.raises(ValidationError) as caught:
        record(treated, "C2D1", D(2026, 2, 16), coordinator_a)  # = C3D1
    assert [e.code for e in caught.value.error_dict["actual_date"]] == ["cycle_out_of_order"]
    assert "(2026-02-16)" in caught.value.messages[0]
    assert record(treated, "C2D1", D(2026, 2, 15), coordinator_a).actual_date == D(2026, 2, 15)


def test_a_correction_is_judged_without_the_visits_own_date(treated, coordinator_a):
    record(treated, "C3D1", D(2026, 2, 16), coordinator_a)
    saved = record(treated, "C3D1", D(2026, 2, 23), coordinator_a, reason="typo")
    assert saved.actual_date == D(2026, 2, 23)
    # C4 planned from the corrected date: 02-23 + 21 = 03-16
    assert treated.visits.get(code="C4D1").target_date == D(2026, 3, 16)


def test_a_missed_visit_is_not_checked(treated, coordinator_a):
    visit = treated.visits.get(code="C2D1")
    saved = services.record_visit(
        visit=visit, expected_version=visit.version, actual_date=None, missed=True, note="",
        by=coordinator_a,
    )  # fmt: skip
    assert saved.missed


def test_the_api_answers_422_on_the_date(treated, client, coordinator_a):
    visit = treated.visits.get(code="C3D1")
    response = Api(client, coordinator_a).patch(
        f"/visits/{visit.pk}", {"version": visit.version, "actual_date": "2026-01-20"}
    )
    assert error_codes(response) == {"actual_date": ["cycle_out_of_order"]}


def test_the_page_shows_the_message_by_the_date(treated, client, coordinator_a):
    visit = treated.visits.get(code="C3D1")
    client.force_login(coordinator_a)
    url = reverse("subjects:visit", args=[treated.pk, visit.pk])
    response = client.post(url, {"version": visit.version, "actual_date": "2026-01-20"})
    assert response.status_code == 422
    assert "cannot start on or before cycle 2" in response.content.decode()

"""Dosing on real records: modifications, calendar page, diary PDF, accountability, access.

Clock frozen at 2026-03-02 10:00 in Guangzhou. Subject: enrolled 2026-01-03, C1D1 (first dose)
2026-01-05. Cycles by hand: C1 01-05 (dose 01-05..01-18, rest 01-19..01-25), C2 01-26
(dose to 02-08), C3 02-16 (dose to 03-01), C4 03-09.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from dosing import services
from dosing.models import Dispensing, DoseEvent
from tests.subjects.codes import codes

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """Every test here runs at 2026-03-02 10:00 in Guangzhou (conftest)."""


def stored():
    return DoseEvent.objects.count(), Dispensing.objects.count(), AuditEvent.objects.count()


def test_a_reduction_mid_cycle_changes_the_calendar_from_its_date(treated, coordinator_a):
    # C2 day 8 = 2026-02-02: days 1-7 (01-26..02-01) at 12 mg, 8-14 (02-02..02-08) at 10 mg
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="reduction",
        start=D(2026, 2, 2),
        dose_mg=10,
        reason="toxicity",
        detail="Hypertension grade 3",
    )
    days = {d.day: d for d in services.calendar_for(treated, D(2026, 1, 26), D(2026, 2, 8))}
    assert days[D(2026, 2, 1)].dose_mg == 12
    assert days[D(2026, 2, 2)].dose_mg == 10
    assert days[D(2026, 2, 8)].dose_mg == 10
    event = DoseEvent.objects.get()
    audit = AuditEvent.objects.get(table_name="dosing_doseevent", action="INSERT")
    assert (audit.app_username, audit.reason) == ("coord_a", "Dose reduction: toxicity")
    assert event.detail == "Hypertension grade 3"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # before C1D1 (2026-01-05)
        (
            {"kind": "interruption", "start": D(2026, 1, 4), "end": D(2026, 1, 6)},
            {"start": ["before_c1d1"]},
        ),
        # in the future (today 2026-03-02)
        (
            {"kind": "interruption", "start": D(2026, 3, 3), "end": D(2026, 3, 4)},
            {"start": ["future_date"]},
        ),
        # 12 -> 8 skips a level
        (
            {"kind": "reduction", "start": D(2026, 2, 2), "dose_mg": 8},
            {"dose_mg": ["not_one_level_down"]},
        ),
        # a dose that is not a level at all: the model's choices refuse it first
        (
            {"kind": "reduction", "start": D(2026, 2, 2), "dose_mg": 11},
            {"dose_mg": ["invalid_choice"]},
        ),
        # a reduction without its new dose
        ({"kind": "reduction", "start": D(2026, 2, 2)}, {"dose_mg": ["dose_required"]}),
        # re-escalation is not allowed in this protocol
        (
            {"kind": "reescalation", "start": D(2026, 2, 2), "dose_mg": 12},
            {"kind": ["reescalation_not_allowed"]},
        ),
        # a kind of event the model does not know never reaches the calendar
        ({"kind": "pause", "start": D(2026, 2, 2)}, {"kind": ["invalid_choice"]}),
        # cycle 1 is C1D1 itself
        (
            {"kind": "delay", "start": D(2026, 1, 4), "cycle": 1, "days": 2},
            {"cycle": ["first_cycle_not_delayable"]},
        ),
    ],
    ids=[
        "before-c1d1",
        "future",
        "12-to-8",
        "11-mg",
        "no-dose",
        "re-escalation",
        "kind",
        "delay-c1",
    ],  # fmt: skip
)
def test_an_invalid_modification_is_refused_with_a_code_and_nothing_stored(
    treated, coordinator_a, data, expected
):
    before = stored()
    with pytest.raises(ValidationError) as refused:
        services.add_event(subject=treated, by=coordinator_a, reason="toxicity", **data)
    assert codes(refused.value) == expected
    assert stored() == before


def test_overlapping_interruptions_and_events_after_discontinuation_are_refused(
    treated, coordinator_a
):
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=D(2026, 1, 16),
        end=D(2026, 1, 28),
        reason="toxicity",
    )
    before = stored()
    with pytest.raises(ValidationError) as overlap:
        services.add_event(
            subject=treated,
            by=coordinator_a,
            kind="interruption",
            start=D(2026, 1, 27),
            end=D(2026, 1, 29),
            reason="toxicity",
        )
    assert codes(overlap.value) == {"start": ["overlaps_interruption"]}
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="discontinuation",
        start=D(2026, 2, 20),
        reason="progression",
    )
    with pytest.raises(ValidationError) as after_stop:
        services.add_event(
            subject=treated,
            by=coordinator_a,
            kind="reduction",
            start=D(2026, 2, 25),
            dose_mg=10,
            reason="toxicity",
        )
    assert codes(after_stop.value) == {"start": ["after_discontinuation"]}
    assert stored()[0] == before[0] + 1  # only the discontinuation was added


def test_the_calendar_page_colours_days_and_monitors_only_read(
    client, treated, coordinator_a, monitor_a, coordinator_b
):
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=D(2026, 2, 16),
        end=D(2026, 2, 18),
        reason="toxicity",
    )
    url = reverse("dosing:calendar", args=[treated.pk])
    client.force_login(monitor_a)
    page = client.get(url + "?month=2026-02").content.decode()
    # C3 day 1-3 (02-16..02-18) interrupted; 02-19 back to 12 mg; today 03-02 is C3 day 15 (rest)
    assert 'class="dd-interrupted" data-date="2026-02-16"' in page
    assert 'class="dd-on" data-date="2026-02-19"' in page
    assert "Record a modification" not in page
    response = client.post(
        url,
        {
            "event-kind": "interruption",
            "event-start": "2026-02-20",
            "event-end": "2026-02-21",
            "event-reason": "toxicity",
        },
    )
    assert response.status_code == 403
    client.force_login(coordinator_b)
    assert client.get(url).status_code == 404


def test_the_diary_pdf_lists_the_doses_of_the_next_cycle(client, treated, coordinator_a):
    # reduction to 10 mg from 2026-02-20; next cycle C4 starts 2026-03-09: days 1-14 at 10 mg
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="reduction",
        start=D(2026, 2, 20),
        dose_mg=10,
        reason="toxicity",
    )
    client.force_login(coordinator_a)
    response = client.get(reverse("dosing:diary", args=[treated.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "cycle 4" in text.lower()
    assert "2026-03-09" in text and "2026-03-22" in text  # C4 day 1 and day 14
    assert text.count("10 mg") == 14
    assert "12 mg" not in text
    assert text.count("rest day") == 7  # days 15-21: 03-23..03-29
    assert "page 1 of 1" in text


def test_compliance_from_dispensed_and_returned_capsules(treated, coordinator_a):
    # 28 x 12 mg dispensed 01-05, returned 01-26 (C2 day 1): planned doses 01-05..01-18 = 14.
    row = services.record_dispensing(
        subject=treated,
        by=coordinator_a,
        dispensed_on=D(2026, 1, 5),
        strength_mg=12,
        lot_number="A2311",
        expiry=D(2027, 6, 30),
        capsules=28,
    )
    services.record_return(
        dispensing=row,
        expected_version=row.version,
        by=coordinator_a,
        returned_on=D(2026, 1, 26),
        returned=16,
        reported_missed=2,
    )
    ((_, taken, result),) = services.compliance_rows(treated)
    assert taken == 12  # 28 - 16
    assert result.planned_doses == 14
    assert str(result.percent) == "85.7"  # 12 / 14 = 85.71 %
    assert result.flag == ""


def test_accountability_refuses_impossible_returns_and_expired_lots(treated, coordinator_a):
    row = services.record_dispensing(
        subject=treated,
        by=coordinator_a,
        dispensed_on=D(2026, 1, 5),
        strength_mg=12,
        lot_number="A2311",
        expiry=D(2027, 6, 30),
        capsules=28,
    )
    before = stored()
    with pytest.raises(ValidationError) as more:  # more back than were given
        services.record_return(
            dispensing=row,
            expected_version=row.version,
            by=coordinator_a,
            returned_on=D(2026, 1, 26),
            returned=29,
            reported_missed=0,
        )
    assert codes(more.value) == {"returned": ["more_returned_than_dispensed"]}
    with pytest.raises(ValidationError) as negative:  # the model's own bound, its code
        services.record_return(
            dispensing=row,
            expected_version=row.version,
            by=coordinator_a,
            returned_on=D(2026, 1, 26),
            returned=-1,
            reported_missed=0,
        )
    assert codes(negative.value) == {"returned": ["min_value"]}
    with pytest.raises(ValidationError) as expired:  # lot expired before it was dispensed
        services.record_dispensing(
            subject=treated,
            by=coordinator_a,
            dispensed_on=D(2026, 1, 26),
            strength_mg=12,
            lot_number="OLD1",
            expiry=D(2026, 1, 1),
            capsules=28,
        )
    assert codes(expired.value) == {"expiry": ["expired_lot"]}
    with pytest.raises(ValidationError) as future:  # dispensed in the future
        services.record_dispensing(
            subject=treated,
            by=coordinator_a,
            dispensed_on=D(2026, 3, 3),
            strength_mg=12,
            lot_number="A2311",
            expiry=D(2027, 6, 30),
            capsules=28,
        )
    assert codes(future.value) == {"dispensed_on": ["future_date"]}
    assert stored() == before


def test_a_cycle_delay_moves_later_cycle_visits_but_not_the_assessment_grid(treated, coordinator_a):
    before = {v.code: v.target_date for v in treated.visits.all()}
    # C4 (day 1 2026-03-09, not started) delayed 3 days, decided today 2026-03-02
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="delay",
        start=D(2026, 3, 2),
        cycle=4,
        days=3,
        reason="toxicity",
        detail="Neutropenia grade 3",
    )
    after = {v.code: v.target_date for v in treated.visits.all()}
    assert before["C4D1"] == D(2026, 3, 9)
    assert after["C4D1"] == D(2026, 3, 12)
    assert after["C5D1"] == D(2026, 4, 2)  # 03-12 + 21
    assert after["C3D1"] == before["C3D1"] == D(2026, 2, 16)
    assert all(after[c] == before[c] for c in before if c.startswith("TA"))
    days = {d.day: d for d in services.calendar_for(treated, D(2026, 3, 9), D(2026, 3, 12))}
    assert days[D(2026, 3, 9)].kind == "delayed" and days[D(2026, 3, 12)].dose_mg == 12


def test_stopping_treatment_offers_the_last_dose_from_the_dosing_calendar(
    client, treated, coordinator_a
):
    # Discontinued 2026-02-20 (C3 day 5): the last dose was 2026-02-19 (C3 day 4).
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="discontinuation",
        start=D(2026, 2, 20),
        reason="progression",
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("subjects:detail", args=[treated.pk])).content.decode()
    assert 'name="last_dose" value="2026-02-19"' in page


def test_the_diary_speaks_the_patients_language(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.get(reverse("dosing:diary", args=[treated.pk]))
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    ).stdout.decode()
    assert "服药日记" in text  # "dosing diary", rendered with a CJK font and extractable
    assert "第 1 页，共 1 页" in text  # the page counter of the @page box, translated too
    assert "page 1 of" not in text
    assert text.count("12 mg") == 14  # C4 (2026-03-09..03-22) at the starting dose


def test_the_subject_audit_trail_shows_screening_signature_and_dosing_rows(
    client, treated, coordinator_a
):
    services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="reduction",
        start=D(2026, 2, 2),
        dose_mg=10,
        reason="toxicity",
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("subjects:history", args=[treated.pk])).content.decode()
    for label in ("Screening", "Eligibility signature", "Dose modification · Created"):
        assert label in page
    assert "Dose reduction: toxicity" in page  # the reason written with it

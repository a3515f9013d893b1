"""The dosing pages and the subject page agree (issue 11 C.17: one last dose)."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from dosing import services as dosing_services
from subjects import services as subject_services

pytestmark = pytest.mark.django_db


def _shown_last_dose(client, url) -> str:
    page = client.get(url).content.decode()
    found = re.search(r"Last dose</dt>\s*<dd[^>]*>([^<]*)</dd>", page)
    return found.group(1).strip()


def test_the_subject_page_and_the_dosing_page_show_one_last_dose(
    client, treated, coordinator_a, frozen_clock
):
    client.force_login(coordinator_a)
    subject_url = reverse("subjects:detail", args=[treated.pk])
    dosing_url = reverse("dosing:calendar", args=[treated.pk])
    # on treatment, 2026-03-02 is C3 day 15 (C3 starts 02-16): the last dose was 03-01
    assert _shown_last_dose(client, subject_url) == "2026-03-01"
    assert _shown_last_dose(client, dosing_url) == "2026-03-01"

    # stopped, the last dose recorded (02-20, C3 day 5) is the one both pages show, and
    # the dosing page's exposure ends there too
    subject_services.change_status(
        subject=treated,
        target="off_treatment",
        on_date=dt.date(2026, 3, 2),
        last_dose=dt.date(2026, 2, 20),
        reason="Toxicity",
        by=coordinator_a,
        expected_version=treated.version,
    )
    assert _shown_last_dose(client, subject_url) == "2026-02-20"
    assert _shown_last_dose(client, dosing_url) == "2026-02-20"
    treated.refresh_from_db()
    assert dosing_services.exposure_for(treated).last_dose == dt.date(2026, 2, 20)


# --- the modifications list links the adverse events behind them (issue 11) -----------------


def _toxicity_reduction_with_ae(subject, by, start, dose_mg, onset):
    from safety.services import record_ae
    from tests.safety.conftest import ensure_ctcae, term

    ensure_ctcae()
    event = dosing_services.add_event(
        subject=subject,
        by=by,
        kind="reduction",
        start=start,
        dose_mg=dose_mg,
        reason="toxicity",
        detail="BP 170/105 on two readings",
    )
    ae = record_ae(
        subject=subject,
        by=by,
        term=term("Hypertension"),
        grade=3,
        onset_date=onset,
        outcome="not_recovered",
        ongoing=True,
        action_taken="reduced",
        dose_event=event,
    )
    return event, ae


def _events_list(page: str) -> str:
    return re.search(r'<ul[^>]*id="events">(.*?)</ul>', page, re.S).group(1)


def test_a_toxicity_modification_links_its_adverse_event_and_keeps_the_notes(
    client, treated, coordinator_a, investigator_a, frozen_clock
):
    event, ae = _toxicity_reduction_with_ae(
        treated, coordinator_a, dt.date(2026, 2, 2), 10, dt.date(2026, 2, 1)
    )
    dosing_services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=dt.date(2026, 2, 20),
        end=dt.date(2026, 2, 22),
        reason="toxicity",
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("dosing:calendar", args=[treated.pk])).content.decode()
    events = _events_list(page)
    ae_url = reverse("safety:ae", args=[treated.pk, ae.pk])
    item = re.search(rf'<li[^>]*id="event-{event.pk}">(.*?)</li>', events, re.S).group(1)
    assert f'href="{ae_url}"' in item
    assert "Hypertension, grade 3 (2026-02-01)" in item
    assert "Notes:</span> BP 170/105 on two readings" in item
    # the interruption for toxicity has no AE yet: the list says so instead of a link
    assert "No adverse event linked yet" in events
    assert events.count('class="ae-link"') == 1


def test_the_calendar_page_makes_as_many_queries_for_three_linked_modifications_as_for_one(
    client, treated, coordinator_a, frozen_clock
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(coordinator_a)
    url = reverse("dosing:calendar", args=[treated.pk])
    _toxicity_reduction_with_ae(
        treated, coordinator_a, dt.date(2026, 1, 12), 10, dt.date(2026, 1, 11)
    )
    client.get(url)  # warm the session and the caches
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    _toxicity_reduction_with_ae(treated, coordinator_a, dt.date(2026, 2, 2), 8, dt.date(2026, 2, 1))
    dosing_services.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=dt.date(2026, 2, 20),
        end=dt.date(2026, 2, 22),
        reason="toxicity",
    )
    with CaptureQueriesContext(connection) as three:
        page = client.get(url).content.decode()
    assert _events_list(page).count('class="ae-link"') == 2
    assert len(three) == len(one)


# --- the pages show the service's refusals beside the field (issue 11 A1) -------------------


def test_a_refused_modification_is_shown_beside_its_field_with_422_and_nothing_stored(
    client, treated, coordinator_a, frozen_clock
):
    client.force_login(coordinator_a)
    url = reverse("dosing:calendar", args=[treated.pk])
    body = {
        "event-kind": "reduction",
        "event-start": "2026-02-02",
        "event-dose_mg": "8",
        "event-reason": "toxicity",
    }
    response = client.post(url, body)
    assert response.status_code == 422
    assert "Reduce one level at a time: 12 → 10 mg (not 12 → 8 mg)." in response.content.decode()
    assert not treated.dose_events.exists()


def test_a_return_of_more_capsules_than_dispensed_is_shown_beside_returned(
    client, treated, coordinator_a, frozen_clock
):
    row = dosing_services.record_dispensing(
        subject=treated,
        by=coordinator_a,
        dispensed_on=dt.date(2026, 1, 5),
        strength_mg=12,
        lot_number="A2311",
        expiry=dt.date(2027, 6, 30),
        capsules=28,
    )
    client.force_login(coordinator_a)
    url = reverse("dosing:return", args=[treated.pk, row.pk])
    body = {"version": row.version, "returned_on": "2026-01-26", "returned": "29"}
    response = client.post(url, body)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="error_\d+_id_returned"><strong>29 capsules returned, but only 28', html)
    row.refresh_from_db()
    assert row.returned is None

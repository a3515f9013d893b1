"""A query's badge beside its record on the list pages too (issue 14 §1 "on every CRF page"):
dose modifications on the dosing page, lab values on the labs page, target lesions on the
tumour page, any form on its monitoring page — read in one query per list, whatever its length."""

import datetime as dt

from django.urls import reverse

from dosing import services as dosing
from queries import services as queries
from safety.services import record_lab_panel
from tests.factories import add_reference_ranges

D = dt.date


def raise_on(monitor, subject, label, pk, field):
    return queries.raise_query(
        user=monitor,
        subject=subject,
        record_type=label,
        record_id=pk,
        field=field,
        text="Please check against the source.",
    )


def test_badges_on_dosing_labs_and_monitoring_pages(client, treated, coordinator_a, monitor_a):
    subject = treated
    add_reference_ranges(subject.site)
    event = dosing.add_event(
        subject=subject,
        by=coordinator_a,
        kind="interruption",
        start=D(2026, 2, 20),
        end=D(2026, 2, 22),
        reason="other",
        detail="Travel",
    )
    panel = record_lab_panel(
        subject=subject,
        by=coordinator_a,
        sample_date=D(2026, 2, 16),
        values={"anc": ("1.6", "10^9/L")},
    )
    result = panel.results.get()
    raise_on(monitor_a, subject, "dosing.doseevent", event.pk, "start")
    raise_on(monitor_a, subject, "safety.labresult", result.pk, "value")
    client.force_login(coordinator_a)
    dosing_page = client.get(reverse("dosing:calendar", args=[subject.pk])).content.decode()
    assert f"qthread-dosing-doseevent-{event.pk}-start" in dosing_page
    labs = client.get(reverse("safety:labs", args=[subject.pk])).content.decode()
    assert f"qthread-safety-labresult-{result.pk}-value" in labs
    client.force_login(monitor_a)
    record = client.get(
        reverse("monitoring:record", args=[subject.pk, "dosing.doseevent", event.pk])
    ).content.decode()
    assert f"qthread-dosing-doseevent-{event.pk}-start" in record
    assert f"/queries/raise/dosing.doseevent/{event.pk}/" in record

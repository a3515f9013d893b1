"""The AE <-> dose modification link, checked both ways by system queries (issue 11 C15).

Before: an AE "dose reduced" with no dose modification linked, and a reduction for toxicity no
AE links to, were stored without any query. Clock 2026-03-02 in Guangzhou; C1D1 2026-01-05."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from dosing import services as dosing
from dosing.models import DoseEvent
from queries.models import Query
from safety import services
from safety.services.dose_link import AE_CHECK, DOSE_CHECK
from tests.safety.conftest import term

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


def open_queries(record, check):
    return Query.objects.filter(
        record_type=record._meta.label_lower,
        record_id=record.pk,
        edit_check=check,
        status=Query.Status.OPEN,
    )


FEB_2 = D(2026, 2, 2)


def modification(subject, by, kind="reduction", reason="toxicity", start=FEB_2, **extra):
    fields = {"dose_mg": 10} if kind == "reduction" else {}
    fields.update(extra)
    return dosing.add_event(subject=subject, by=by, kind=kind, start=start, reason=reason, **fields)


def hypertension(subject, by, **extra):
    return services.record_ae(
        subject=subject,
        by=by,
        term=term("Hypertension"),
        grade=3,
        onset_date=D(2026, 2, 1),
        outcome="not_recovered",
        ongoing=True,
        **extra,
    )


def test_a_toxicity_dose_modification_no_ae_links_to_gets_a_query_when_stored(
    subject, coordinator_a
):
    reduction = modification(subject, coordinator_a)
    [query] = open_queries(reduction, DOSE_CHECK)
    assert query.subject == subject and query.field == "reason"
    assert "for toxicity but no adverse event is linked" in query.text

    hypertension(subject, coordinator_a, action_taken="reduced", dose_event=reduction)
    assert not open_queries(reduction, DOSE_CHECK).exists()
    assert Query.objects.get(edit_check=DOSE_CHECK).status == Query.Status.CLOSED


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("reduction", "investigator"), ("delay", "toxicity")],
    ids=["not-for-toxicity", "a-delay-no-ae-action-links-to"],
)
def test_other_dose_modifications_get_no_query(subject, coordinator_a, kind, reason):
    extra = {"cycle": 4, "days": 7} if kind == "delay" else {}
    start = D(2026, 3, 2) if kind == "delay" else D(2026, 2, 2)
    event = modification(subject, coordinator_a, kind=kind, reason=reason, start=start, **extra)
    assert not open_queries(event, DOSE_CHECK).exists()


@pytest.mark.parametrize("action", ["interrupted", "reduced", "withdrawn"])
def test_an_ae_whose_action_changed_the_dose_needs_the_modification_linked(
    subject, coordinator_a, action
):
    ae = hypertension(subject, coordinator_a, action_taken=action)
    [query] = open_queries(ae, AE_CHECK)
    assert query.field == "dose_event" and "no dose modification" in query.text

    kind = {"interrupted": "interruption", "reduced": "reduction", "withdrawn": "discontinuation"}
    extra = {"end": D(2026, 2, 5)} if action == "interrupted" else {}
    event = modification(subject, coordinator_a, kind=kind[action], **extra)
    updated = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Dose modification linked",
        changes={"dose_event": event},
    )
    assert updated.dose_event == event
    assert not open_queries(ae, AE_CHECK).exists()
    assert not open_queries(event, DOSE_CHECK).exists()


def test_no_action_means_no_query(subject, coordinator_a):
    ae = hypertension(subject, coordinator_a)
    assert not open_queries(ae, AE_CHECK).exists()


def test_unlinking_reopens_the_query_of_the_old_modification(subject, coordinator_a):
    first = modification(subject, coordinator_a)
    second = modification(subject, coordinator_a, start=D(2026, 2, 16), dose_mg=8)
    ae = hypertension(subject, coordinator_a, action_taken="reduced", dose_event=first)
    assert not open_queries(first, DOSE_CHECK).exists()
    assert open_queries(second, DOSE_CHECK).exists()

    services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Linked to the wrong reduction",
        changes={"dose_event": second},
    )
    assert open_queries(first, DOSE_CHECK).exists()  # the old one has no AE again
    assert not open_queries(second, DOSE_CHECK).exists()


def test_the_ae_page_shows_the_linked_dose_modification(client, subject, coordinator_a):
    reduction = modification(subject, coordinator_a)
    ae = hypertension(subject, coordinator_a, action_taken="reduced", dose_event=reduction)
    client.force_login(coordinator_a)
    page = client.get(reverse("safety:ae", args=[subject.pk, ae.pk])).content.decode()
    assert 'id="linked-dose-event"' in page
    assert "Dose reduction</a> from 2026-02-02" in page and "10 mg" in page
    assert reverse("dosing:calendar", args=[subject.pk]) in page

    unlinked = hypertension(subject, coordinator_a, action_taken="interrupted")
    page = client.get(reverse("safety:ae", args=[subject.pk, unlinked.pk])).content.decode()
    assert 'id="dose-event-missing"' in page
    assert DoseEvent.objects.count() == 1


def test_safety_listens_to_the_dose_modifications_dosing_stores():
    from dosing.services import dose_event_recorded

    assert dose_event_recorded.has_listeners(DoseEvent)

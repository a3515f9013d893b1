"""The query list: open edit-check queries of the user's sites, each linked to its record."""

import datetime as dt

import pytest
from django.urls import reverse

from assessments import services
from tests.assessments.test_services import NON_TARGETS, TARGETS, scan


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou (tests/dosing/conftest.py)."""


@pytest.fixture
def flagged(treated, coordinator_a):
    """A scan on 2026-01-30, outside every tumour-assessment window: one open query."""
    services.record_baseline(
        subject=treated, by=coordinator_a, targets=TARGETS, non_targets=NON_TARGETS
    )
    scan(treated, coordinator_a, dt.date(2026, 1, 30), 40, 30, 30)
    return treated


def test_monitor_sees_the_query_with_a_link_to_the_record(client, flagged, monitor_a):
    client.force_login(monitor_a)
    page = client.get(reverse("queries:list")).content.decode()
    assert 'data-check="recist.out_of_window"' in page
    assert "outside every tumour-assessment window" in page
    assert reverse("assessments:overview", args=[flagged.pk]) in page
    closed = client.get(reverse("queries:list"), {"status": "closed"}).content.decode()
    assert "No query." in closed


def test_another_site_does_not_see_it(client, flagged, coordinator_b):
    client.force_login(coordinator_b)
    page = client.get(reverse("queries:list")).content.decode()
    assert "No query." in page and "recist.out_of_window" not in page

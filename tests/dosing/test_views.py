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

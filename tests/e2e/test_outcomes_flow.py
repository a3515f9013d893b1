"""End to end in headless Chromium: a coordinator ends treatment (a refused date shown beside
its field first), the dosing calendar stops at the last dose, and a survival follow-up with a
subsequent therapy is recorded at the first survival visit."""

import datetime as dt

import pytest

from subjects import services as subject_services
from tests.e2e.conftest import login, screenshot
from tests.factories import PASSWORD, enrol, make_subject

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_coordinator_ends_treatment_and_follows_survival(page, site_a, coordinator_a):
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=3)  # C1 day 4 is today: the last dose so far is today
    subject = make_subject(site_a, coordinator_a, sex="M", consent_date=today - dt.timedelta(10))
    subject = enrol(subject, by=coordinator_a, on_date=today - dt.timedelta(days=5), c1d1=c1d1)
    subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/end-of-treatment/")
    assert today.isoformat() in page.inner_text("#facts")

    page.fill("#id_decision_date", (today - dt.timedelta(days=1)).isoformat())
    page.select_option("#id_stop_reason", "progression")
    page.click("#save")
    error = page.inner_text("#error_1_id_decision_date")
    assert today.isoformat() in error  # the last dose is after that date
    screenshot(page, "e2e-outcomes-eot-refused")

    page.fill("#id_decision_date", today.isoformat())
    page.click("#save")
    page.wait_for_selector("text=End of treatment saved.")

    page.goto(f"{page.base}/subjects/{subject.pk}/dosing/")
    tomorrow = page.locator(
        f'#cycle-view td[data-date="{(today + dt.timedelta(days=1)).isoformat()}"]'
    )
    assert tomorrow.get_attribute("data-dose") == "0"  # cycle 1 day 5: no dose after the stop

    surv1 = subject.visits.get(code="SURV1")
    page.goto(f"{page.base}/subjects/{subject.pk}/visits/{surv1.pk}/survival-follow-up/")
    page.fill("#id_contact_date", today.isoformat())
    page.select_option("#id_mode", "telephone")
    page.check("#id_status_0")
    page.fill("#id_last_known_alive", today.isoformat())
    page.fill("#id_therapies-0-regimen", "Trabectedin 1.5 mg/m2")
    page.fill("#id_therapies-0-start_date", today.isoformat())
    page.fill("#id_therapies-0-line", "2")
    screenshot(page, "e2e-outcomes-survival-form")
    page.click("#save")
    page.wait_for_selector("text=Survival follow-up saved.")
    surv1.refresh_from_db()
    assert surv1.actual_date == today
    assert surv1.survival_follow_up.therapies.get().line == 2

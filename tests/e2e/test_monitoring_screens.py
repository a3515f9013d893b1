"""The monitoring pages in Chromium, English and Chinese, at 1,280 and 1,920 px (issue 14 §6):
nothing wider than the window, every page in the layout, and screenshots to look at — the
subject matrix, a subject's monitoring page, the visit page's CRF icons, a form's SDV page,
the SDV worklist, the casebook signing page and the monitor's dashboard."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crfs import services as crfs
from monitoring import services
from tests.e2e.conftest import screenshot
from tests.e2e.sessions import signed_in
from tests.factories import enrol, make_subject

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_monitoring_pages(
    browser, live_server, lang, site_a, coordinator_a, monitor_a, data_manager
):
    today = site_a.today()
    subjects = []
    for initials in ("MAA", "MBB", "MCC"):
        s = make_subject(
            site_a, coordinator_a, initials=initials, consent_date=today - dt.timedelta(days=8)
        )
        subjects.append(
            enrol(
                s,
                by=coordinator_a,
                on_date=today - dt.timedelta(days=1),
                c1d1=today + dt.timedelta(days=4),
            )
        )
    first = subjects[0]
    scr = first.visits.get(code="SCR")
    vitals = crfs.save_crf(
        visit=scr,
        form_key="vital_signs",
        by=coordinator_a,
        values={
            "assessed_on": today - dt.timedelta(days=2),
            "systolic": 122,
            "diastolic": 78,
            "heart_rate": 70,
            "temperature": Decimal("36.5"),
            "weight": Decimal("60.0"),
            "height": Decimal("165.0"),
            "not_done_reason": "",
        },
    )
    services.verify(by=monitor_a, record=vitals, fields=[""])
    services.place_hold(
        by=monitor_a, kind="freeze", level="visit", reason="SDV visit", subject=first, visit=scr
    )
    services.place_hold(
        by=data_manager, kind="lock", level="subject", reason="Interim", subject=subjects[1]
    )
    pages = {
        "matrix": "/monitoring/matrix/",
        "subject": f"/monitoring/subjects/{first.pk}/",
        "visit": f"/subjects/{first.pk}/visits/{scr.pk}/crfs/",
        "record": f"/monitoring/subjects/{first.pk}/forms/crfs.vitalsigns/{vitals.pk}/",
        "worklist": "/monitoring/sdv/",
        "dashboard": "/",
    }
    for width in (1280, 1920):
        context, page = signed_in(browser, live_server.url, monitor_a, lang=lang, width=width)
        try:
            for name, path in pages.items():
                response = page.goto(page.base + path)
                assert response.status == 200, (name, response.status)
                expect(page.locator("html")).to_have_attribute("lang", lang)
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, (name, width, overflow)
                screenshot(page, f"monitoring-{name}-{lang}-{width}")
            page.goto(page.base + pages["matrix"])
            locked = page.locator(
                f'#subject-matrix [data-subject="{subjects[1].pk}"] [data-cell="SCR"] .mon-icons'
            )
            expect(locked).to_have_attribute("data-icons", "incomplete locked")
            cells = page.locator(
                f'#subject-matrix [data-subject="{first.pk}"] [data-cell="SCR"] .mon-icons'
            )
            expect(cells).to_have_attribute("data-icons", "incomplete verified frozen")
        finally:
            context.close()

"""Accessibility in headless Chromium (issue 11.C20): axe-core finds no serious or critical
violation on each role's dashboard and on every CRF form, and a coordinator records an adverse
event with the keyboard alone.

axe-core comes from axe-playwright-python, injected into each page by Playwright (an init
script, which the CSP does not govern); the pages keep their CSP.
"""

import datetime as dt
from decimal import Decimal

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from assessments.services import record_baseline
from eligibility import services as eligibility
from safety import services as safety
from safety.models import AdverseEvent, CtcaeTerm
from subjects import services as subject_services
from tests.e2e.conftest import screenshot
from tests.e2e.sessions import signed_in
from tests.factories import add_reference_ranges, eligible_screening_data, enrol, make_subject
from tests.safety.conftest import ensure_ctcae

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")


@pytest.fixture
def study(site_a, coordinator_a, investigator_a):
    """A subject awaiting the investigator's signature, one enrolled without a tumour baseline,
    one on treatment with a baseline, a lab panel and a serious adverse event."""
    ensure_ctcae()  # a browser test's flush empties the dictionary the migration loaded
    add_reference_ranges(site_a)
    today = site_a.today()
    waiting = make_subject(site_a, coordinator_a, initials="WTS")
    eligibility.save_screening(
        subject=waiting,
        changes=eligible_screening_data(waiting),
        expected_version=None,
        by=coordinator_a,
    )
    enrolled = make_subject(site_a, coordinator_a, initials="ENR")
    enrolled = enrol(enrolled, by=coordinator_a)

    c1d1 = today - dt.timedelta(days=20)
    treated = make_subject(
        site_a, coordinator_a, initials="TRT", consent_date=c1d1 - dt.timedelta(9)
    )
    treated = enrol(treated, by=coordinator_a, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    treated = subject_services.change_status(
        subject=treated,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=treated.version,
    )
    scan = c1d1 - dt.timedelta(days=7)
    record_baseline(
        subject=treated,
        by=coordinator_a,
        targets=[
            {
                "lesion_id": "T1",
                "organ": "liver",
                "location": "segment VII",
                "method": "CT",
                "slice_thickness_mm": 5,
                "is_node": False,
                "baseline_date": scan,
                "diameter_mm": Decimal("52"),
            }
        ],
        non_targets=[],
    )
    safety.record_lab_panel(
        subject=treated,
        by=coordinator_a,
        sample_date=today - dt.timedelta(days=1),
        values={"anc": ("1.2", "10^9/L"), "hb": ("118", "g/L")},
    )
    sae = safety.record_ae(
        subject=treated,
        by=coordinator_a,
        term=CtcaeTerm.objects.get(term="Hypertension"),
        grade=3,
        onset_date=today - dt.timedelta(days=3),
        ongoing=True,
        outcome="not_recovered",
        serious=True,
        sae_hospitalisation=True,
    )
    return {"waiting": waiting, "enrolled": enrolled, "treated": treated, "sae": sae}


def browse(browser, live_server, user):
    """A signed-in page with axe-core loaded into every document it opens."""
    context, page = signed_in(browser, live_server.url, user)
    context.add_init_script(AXE_SCRIPT)
    return context, page


def blocking_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']}: "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


def audit(browser, live_server, user, paths: list[str]) -> list[str]:
    context, page = browse(browser, live_server, user)
    found = []
    try:
        for path in paths:
            response = page.goto(live_server.url + path)
            assert response.status == 200, (path, response.status)
            found += blocking_violations(page)
    finally:
        context.close()
    return found


def test_every_roles_dashboard(browser, live_server, study, cast):
    found = []
    for role in ("coordinator_a", "investigator_a", "monitor_a", "data_manager"):
        found += audit(browser, live_server, cast[role], ["/"])
    assert found == [], "\n".join(found)


def test_every_crf_form(browser, live_server, study, coordinator_a, investigator_a):
    waiting, enrolled, treated = study["waiting"], study["enrolled"], study["treated"]
    visit = treated.visits.filter(actual_date__isnull=True).order_by("target_date").first()
    found = audit(
        browser,
        live_server,
        coordinator_a,
        [
            "/subjects/register/",
            f"/subjects/{waiting.pk}/",  # the status change form
            f"/subjects/{waiting.pk}/edit/",
            f"/subjects/{waiting.pk}/screening/",
            f"/subjects/{treated.pk}/visits/{visit.pk}/",
            f"/subjects/{treated.pk}/dosing/",  # dose modification
            f"/subjects/{treated.pk}/dosing/accountability/",  # dispensing
            f"/subjects/{enrolled.pk}/tumour/baseline/",
            f"/subjects/{treated.pk}/tumour/new/",
            f"/subjects/{treated.pk}/labs/",
            f"/subjects/{treated.pk}/adverse-events/{study['sae'].pk}/",  # the SAE
        ],
    )
    found += audit(
        browser, live_server, investigator_a, [f"/subjects/{waiting.pk}/screening/sign/"]
    )
    # the AE form with its term chosen and a grade pressed (the panel comes with htmx)
    context, page = browse(browser, live_server, coordinator_a)
    try:
        page.goto(f"{live_server.url}/subjects/{treated.pk}/adverse-events/new/")
        page.fill("#term-search", "hypertens")
        page.locator("#term-results .term-option", has_text="Hypertension").first.click()
        page.click("#grade-2")
        expect(page.locator("#grade-2")).to_have_attribute("aria-pressed", "true")
        found += blocking_violations(page)
    finally:
        context.close()
    assert found == [], "\n".join(found)


def tab_to(page, selector: str, most: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} not reached with {most} Tab presses")


def test_an_adverse_event_recorded_with_the_keyboard_alone(
    browser, live_server, study, coordinator_a
):
    treated = study["treated"]
    onset = treated.site.today() - dt.timedelta(days=2)
    context, page = signed_in(browser, live_server.url, coordinator_a)
    try:
        page.goto(f"{live_server.url}/subjects/{treated.pk}/adverse-events/new/")
        tab_to(page, "#term-search")
        # the results of the whole word: under load a pause in the typing sends a search for
        # part of it, whose list the last answer replaces (taking the focus with it)
        with page.expect_response(lambda r: r.url.endswith("?q=hypertens")):
            page.keyboard.type("hypertens")
        expect(page.locator("#term-results .term-option").first).to_be_visible()
        tab_to(page, "#term-results .term-option")
        while page.evaluate("document.activeElement.querySelector('strong').textContent") != (
            "Hypertension"
        ):
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(page.locator("#chosen-term")).to_have_text("Hypertension")
        tab_to(page, "#grade-2")
        page.keyboard.press("Space")
        expect(page.locator("#grade-2")).to_have_attribute("aria-pressed", "true")
        tab_to(page, "#id_onset_date")
        # headless Chromium's date field takes month, day, year (its own locale, not the page's)
        page.keyboard.type(onset.strftime("%m%d%Y"))
        expect(page.locator("#id_onset_date")).to_have_value(onset.isoformat())
        tab_to(page, "#id_ongoing")
        if not page.locator("#id_ongoing").is_checked():  # ticked by default on a new event
            page.keyboard.press("Space")
        expect(page.locator("#id_ongoing")).to_be_checked()
        tab_to(page, "#id_outcome")
        page.keyboard.type("Not recovered")
        expect(page.locator("#id_outcome")).to_have_value("not_recovered")
        screenshot(page, "a11y-ae-keyboard")
        tab_to(page, "#save-ae")
        page.keyboard.press("Enter")
        expect(page.locator("#ae-title")).to_contain_text("Hypertension")
        expect(page.locator("#ae-title")).to_contain_text("grade 2")
    finally:
        context.close()
    ae = AdverseEvent.objects.filter(subject=treated).latest("pk")
    assert (ae.term.term, ae.grade, ae.onset_date, ae.ongoing) == ("Hypertension", 2, onset, True)

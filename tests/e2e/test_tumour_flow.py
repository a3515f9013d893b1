"""End to end in headless Chromium: a coordinator records the RECIST baseline (3 targets and a
non-target) and two follow-ups; the responses are computed as the values are typed, and the
confirmed best overall response appears on the page.

By hand: baseline T1 liver 40 + T2 lung 30 + T3 node (short axis) 30 = 100 mm.
TA1 (C1D1 + 42): 28 + 21 + 21 = 70 mm, -30.00 % -> PR. TA2 (C1D1 + 84): 25 + 20 + 15 = 60 mm,
-40.00 % -> PR, 42 days after the first PR (>= 28) -> best overall response PR, confirmed.
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from alter_s006.templatetags.edc_format import MINUS, NBSP
from assessments import services as assessment_services
from subjects import services as subject_services
from tests.e2e.conftest import login, screenshot
from tests.e2e.sessions import signed_in
from tests.factories import PASSWORD, enrol, make_subject

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def fill_target(page, i, lesion_id, organ, mm, scan, node=False):
    page.fill(f"#id_targets-{i}-lesion_id", lesion_id)
    page.fill(f"#id_targets-{i}-organ", organ)
    page.select_option(f"#id_targets-{i}-method", "CT")
    page.fill(f"#id_targets-{i}-slice_thickness_mm", "5")
    if node:
        page.check(f"#id_targets-{i}-is_node")
    page.fill(f"#id_targets-{i}-baseline_date", scan.isoformat())
    page.fill(f"#id_targets-{i}-diameter_mm", str(mm))


def follow_up(page, on, t1, t2, t3):
    page.click("#new-timepoint-link")
    page.fill("#id_scan_date", on.isoformat())
    for lesion_id, mm in (("T1", t1), ("T2", t2), ("T3", t3)):
        page.fill(f"#id_measurements-{lesion_id}-mm", str(mm))
    page.select_option("#id_non_target_status", "non-CR/non-PD")
    page.select_option("#id_new_lesion", "no")


def settle(page):
    """Let the live preview's delayed requests finish before the form is submitted."""
    page.wait_for_timeout(800)
    expect(page.locator("#timepoint-form.htmx-request")).to_have_count(0)


def test_baseline_two_follow_ups_response_and_bor_on_the_page(page, site_a, coordinator_a):
    today = site_a.today()
    c1d1 = today - dt.timedelta(days=88)
    subject = make_subject(site_a, coordinator_a, sex="F", consent_date=c1d1 - dt.timedelta(20))
    subject = enrol(subject, by=coordinator_a, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=coordinator_a,
        expected_version=subject.version,
    )
    baseline_scan = c1d1 - dt.timedelta(days=7)
    ta1, ta2 = c1d1 + dt.timedelta(days=42), c1d1 + dt.timedelta(days=84)

    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/")
    page.click("#tumour-link")
    page.click("#baseline-link")

    # A 12 mm node as a target is refused beside the field, nothing stored.
    fill_target(page, 0, "T1", "lymph node", 12, baseline_scan, node=True)
    page.click("#save-baseline")
    expect(page.locator("#form-errors")).to_be_visible()
    assert "15" in page.locator("#id_targets-0-diameter_mm ~ .invalid-feedback").inner_text()
    screenshot(page, "e2e-tumour-baseline-error")

    page.uncheck("#id_targets-0-is_node")
    fill_target(page, 0, "T1", "liver", 40, baseline_scan)
    fill_target(page, 1, "T2", "lung", 30, baseline_scan)
    fill_target(page, 2, "T3", "lymph node", 30, baseline_scan, node=True)
    page.fill("#id_non_targets-0-lesion_id", "NT1")
    page.fill("#id_non_targets-0-organ", "bone")
    page.fill("#id_non_targets-0-location", "L3 vertebra")
    page.select_option("#id_non_targets-0-method", "CT")
    page.fill("#id_non_targets-0-baseline_date", baseline_scan.isoformat())
    page.click("#save-baseline")
    expect(page.locator("#baseline-row")).to_contain_text("100")
    assert "100.0" not in page.locator("#baseline-row").inner_text()  # no trailing zeros

    # Follow-up 1: the response appears as the values are typed, before saving.
    follow_up(page, ta1, 28, 21, 21)
    expect(page.locator("#d-sum")).to_contain_text("70")
    expect(page.locator("#d-baseline-pct")).to_have_text(f"{MINUS}30.00{NBSP}%")
    expect(page.locator("#d-overall")).to_have_text("PR")
    # the investigator says SD: the page asks for a reason
    page.select_option("#id_investigator_response", "SD")
    expect(page.locator("#d-disagree")).to_be_visible()
    page.select_option("#id_investigator_response", "")
    expect(page.locator("#d-disagree")).to_have_count(0)
    screenshot(page, "e2e-tumour-live-response")
    settle(page)
    page.click("#save-timepoint")
    expect(page.locator(f'#history tr[data-scan="{ta1.isoformat()}"]')).to_contain_text("PR")

    # Follow-up 2: 60 mm, -40 % -> PR again, 42 days later: confirmed.
    follow_up(page, ta2, 25, 20, 15)
    expect(page.locator("#d-overall")).to_have_text("PR")
    expect(page.locator("#d-nadir")).to_contain_text("70")
    settle(page)
    page.click("#save-timepoint")
    row = page.locator(f'#history tr[data-scan="{ta2.isoformat()}"]')
    expect(row.locator("td.fw-semibold")).to_have_text("60")
    expect(row).to_contain_text(f"{MINUS}40.00{NBSP}%")
    expect(page.locator("#bor")).to_have_text("PR")
    expect(page.locator("#bor-card")).to_contain_text(f"confirmed {ta2.isoformat()}")
    expect(page.locator("#first-pd")).to_have_text("—")
    expect(page.locator("#spider circle")).to_have_count(3)
    screenshot(page, "e2e-tumour-overview")


# The tumour history page in both languages and at both widths (issue 11 C10, C13): the notes
# are worded in the page's language, the numbers written one way.
NOTE = {
    "en": "Sum \u221240.00\u00a0% from the baseline sum (100 mm)",
    "zh-hans": "\u76f4\u5f84\u603b\u548c\u76f8\u5bf9\u57fa\u7ebf\u603b\u548c\uff08100 mm\uff09",
}
BOR_LABEL = {
    "en": "Best overall response (confirmed)",
    "zh-hans": "\u6700\u4f73\u603b\u4f53\u7597\u6548",
}


def _assessed_subject(site, coordinator):
    """Baseline 100 mm, then 70 mm (PR) on day 42 and 60 mm (PR, confirmed) on day 84."""
    today = site.today()
    c1d1 = today - dt.timedelta(days=88)
    subject = make_subject(site, coordinator, sex="F", consent_date=c1d1 - dt.timedelta(20))
    subject = enrol(subject, by=coordinator, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    scan = c1d1 - dt.timedelta(days=7)
    lesion = {"method": "CT", "slice_thickness_mm": 5, "baseline_date": scan}
    assessment_services.record_baseline(
        subject=subject,
        by=coordinator,
        targets=[
            {**lesion, "lesion_id": "T1", "organ": "liver", "diameter_mm": 40},
            {**lesion, "lesion_id": "T2", "organ": "lung", "diameter_mm": 30},
            {
                **lesion,
                "lesion_id": "T3",
                "organ": "lymph node",
                "is_node": True,
                "diameter_mm": 30,
            },
        ],
        non_targets=[{**lesion, "lesion_id": "NT1", "organ": "bone", "location": "L3"}],
    )
    for day, sizes in ((42, (28, 21, 21)), (84, (25, 20, 15))):
        assessment_services.record_timepoint(
            subject=subject,
            by=coordinator,
            scan_date=c1d1 + dt.timedelta(days=day),
            measurements={f"T{i}": ("measured", mm) for i, mm in enumerate(sizes, 1)},
            non_target_status="non-CR/non-PD",
            new_lesion="no",
        )
    return subject


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_history_page_in_both_languages_and_widths(
    browser, live_server, site_a, coordinator_a, lang
):
    subject = _assessed_subject(site_a, coordinator_a)
    for width in (1280, 1920):
        context, page = signed_in(browser, live_server.url, coordinator_a, lang=lang, width=width)
        try:
            page.goto(f"{live_server.url}/subjects/{subject.pk}/tumour/")
            notes = page.locator("tr.recist-notes")
            expect(notes).to_have_count(2)
            expect(notes.last).to_contain_text(NOTE[lang])
            expect(page.locator("#bor-card")).to_contain_text(BOR_LABEL[lang])
            expect(page.locator("#bor")).to_have_text("PR")
            expect(page.locator("#baseline-row td.fw-semibold")).to_have_text("100")
            if lang != "en":
                assert "from the baseline" not in page.locator("#history").inner_text()
            screenshot(page, f"tumour-history-{lang}-{width}")
        finally:
            context.close()

"""The reference-range pages in headless Chromium (issue 11 B): a data manager supersedes a
range and reads its audit trail beside it, at 1,280 and 1,920 px, in English and Chinese;
the pages never scroll sideways. Screenshots: test-artifacts/ranges-*.png."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from eligibility import ranges
from eligibility.models import ReferenceRange
from tests.e2e.conftest import screenshot
from tests.e2e.sessions import signed_in
from tests.factories import add_reference_ranges, member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dm_with_ranges(site_a, site_b):
    dm = member("dm", Role.DATA_MANAGER, None)
    dm.first_name, dm.last_name = "Dana", "Manager"
    dm.save()
    add_reference_ranges(site_a)
    add_reference_ranges(site_b)
    alt = ReferenceRange.objects.get(site=site_a, analyte="alt")
    ranges.correct_range(
        reference_range=alt,
        expected_version=1,
        changes={"uln": Decimal("45")},
        by=dm,
        reason="ULN misread from the laboratory sheet",
    )
    return dm


def no_sideways_scroll(page, width):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways at {width} px ({scroll_width})"


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_a_data_manager_supersedes_a_range_and_reads_its_trail(
    browser, live_server, dm_with_ranges, site_a, lang
):
    context, page = signed_in(browser, live_server.url, dm_with_ranges, lang=lang, width=1280)
    try:
        alt = ReferenceRange.objects.get(site=site_a, analyte="alt")
        for width in (1280, 1920):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{page.base}/reference-ranges/?site={site_a.pk}")
            expect(page.locator("#range-table tbody tr")).to_have_count(16)
            no_sideways_scroll(page, width)
            screenshot(page, f"ranges-list-{lang}-{width}")
            page.goto(f"{page.base}/reference-ranges/{alt.pk}/")
            expect(page.locator("#trail-table tbody tr")).to_have_count(2)
            no_sideways_scroll(page, width)
            screenshot(page, f"ranges-detail-{lang}-{width}")

        page.set_viewport_size({"width": 1280, "height": 900})
        page.click("#range-supersede")
        page.fill("#id_valid_from", "2020-01-01")  # not after the old start: refused
        page.fill("#id_uln", "50")
        page.fill("#id_reason", "Laboratory sent its 2026 ranges")
        page.click("#range-form button[type=submit]")
        expect(page.locator("#error_1_id_valid_from")).to_be_visible()
        no_sideways_scroll(page, 1280)
        screenshot(page, f"ranges-supersede-error-{lang}-1280")

        page.fill("#id_valid_from", "2026-02-01")
        page.click("#range-form button[type=submit]")
        expect(page.locator("#range-summary")).to_contain_text("2026-02-01")
        screenshot(page, f"ranges-superseded-{lang}-1280")
        alt.refresh_from_db()
        assert alt.valid_to == dt.date(2026, 1, 31)

        page.click("#range-correct")
        page.fill("#id_valid_to", "2026-01-15")  # before it starts: refused
        page.click("#range-form button[type=submit]")
        expect(page.locator("#error_1_id_reason")).to_be_visible()  # the reason first
        page.fill("#id_reason", "End date from the laboratory letter")
        page.click("#range-form button[type=submit]")
        expect(page.locator("#error_1_id_valid_to")).to_be_visible()
        no_sideways_scroll(page, 1280)
        screenshot(page, f"ranges-correct-error-{lang}-1280")

        page.goto(f"{page.base}/reference-ranges/new/")
        page.click("#range-form button[type=submit]")
        expect(page.locator("#error_1_id_site")).to_be_visible()
        screenshot(page, f"ranges-new-error-{lang}-1280")
    finally:
        context.close()

"""Layout in headless Chromium: the navigation bar at common screen widths in English and
Chinese (issue 11.C1), the chosen CTCAE grade button (11.C5), the error pages (11.C8).

Below the width where every item fits, the bar collapses into Bootstrap's toggler; at any
width the sign-out control stays inside the bar and the viewport, and the page never
scrolls sideways.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, Role
from tests.e2e.conftest import ARTIFACTS, login, screenshot
from tests.e2e.sessions import signed_in
from tests.factories import PASSWORD, make_subject, member
from tests.safety.conftest import ensure_ctcae

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (1024, 1280, 1366, 1920)


@pytest.fixture
def widest_user(site_a, site_b):
    """The longest navigation of a site user: data entry at one site (Register subject),
    monitoring at another (Reference ranges), two roles and a long name."""
    user = member("coord_mon", Role.COORDINATOR, site_a)
    Membership.objects.create(user=user, site=site_b, role=Role.MONITOR)
    user.first_name, user.last_name = "Alexandra", "Konstantinopoulou-Whitfield"
    user.save()
    return user


def open_menu_if_collapsed(page) -> bool:
    """Open the collapsed navigation with its toggler; say whether it was collapsed."""
    toggler = page.locator("nav .navbar-toggler")
    if not toggler.is_visible():
        return False
    if page.locator("#nav.show").count() == 0:
        toggler.click()
    expect(page.locator("#nav.show")).to_be_visible()
    page.wait_for_function("!document.querySelector('#nav').classList.contains('collapsing')")
    return True


def assert_sign_out_reachable(page, width: int) -> None:
    sign_out = page.locator("#sign-out")
    expect(sign_out).to_be_visible()
    box = sign_out.bounding_box()
    bar = page.locator("nav.navbar").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, box)
    assert bar["y"] <= box["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"], (
        width,
        box,
        bar,
    )
    sign_out.click(trial=True)  # visible, stable, enabled and not covered by anything
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways at {width} px ({scroll_width})"


def check_widths(page, lang: str) -> dict[int, bool]:
    """Resize the page (the media queries follow, no reload) and check each width."""
    collapsed = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        collapsed[width] = open_menu_if_collapsed(page)
        page.mouse.move(1, 799)  # no hover colour in the picture
        screenshot(page, f"layout-nav-{lang}-{width}")
        assert_sign_out_reachable(page, width)
    return collapsed


def test_sign_out_stays_on_the_bar_at_every_width(
    browser, live_server, page, widest_user, data_manager
):
    login(page, "coord_mon", PASSWORD)
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#nav-links")).to_contain_text("Register subject")

    collapsed = check_widths(page, "en")
    assert collapsed[1024] and not collapsed[1920], collapsed

    page.select_option("#language-select", "zh-hans")  # submits itself
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert check_widths(page, "zh") == collapsed

    page.locator("#sign-out").click()
    expect(page.locator("#id_username")).to_be_visible()

    # the data manager's bar: Administration and Reference ranges instead of Register subject
    context, dm_page = signed_in(browser, live_server.url, data_manager)
    try:
        dm_page.goto(dm_page.base + "/")
        expect(dm_page.locator("#nav-links")).to_contain_text("Administration")
        assert check_widths(dm_page, "en-dm") == collapsed
    finally:
        context.close()


def test_the_chosen_ctcae_grade_is_marked_and_pressed(page, site_a, coordinator_a):
    """Issue 11.C5: each grade, once chosen, looks different from itself unchosen (filled,
    ringed, ticked) and is the one button with aria-pressed="true"."""
    ensure_ctcae()  # a browser test's flush empties the dictionary the migration loaded
    subject = make_subject(site_a, coordinator_a)
    login(page, "coord_a", PASSWORD)
    page.goto(f"{page.base}/subjects/{subject.pk}/adverse-events/new/")
    page.fill("#term-search", "hypertens")
    page.locator("#term-results .term-option", has_text="Hypertension").first.click()
    expect(page.locator("#chosen-term")).to_have_text("Hypertension")
    buttons = page.locator("#grade-buttons button[data-grade]")
    expect(buttons).to_have_count(5)
    style = "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.boxShadow]; }"
    unchosen = {g: page.locator(f"#grade-{g}").evaluate(style) for g in range(1, 6)}
    assert all(shadow == "none" for _, shadow in unchosen.values()), unchosen
    for g in range(1, 6):
        button = page.locator(f"#grade-{g}")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#grade-buttons [aria-pressed=true]")).to_have_count(1)
        expect(page.locator("#id_grade")).to_have_value(str(g))
        page.mouse.move(0, 0)  # no hover colour in the comparison
        background, shadow = button.evaluate(style)
        assert background != unchosen[g][0] and shadow != "none", (g, background, shadow)
        if g in (2, 4):
            page.locator("#term-card").screenshot(path=str(ARTIFACTS / f"layout-grade-{g}.png"))


def submit_post(page, url: str) -> None:
    """Post an empty form (with the page's CSRF token) to ``url``, as a browser would."""
    page.evaluate(
        """url => {
            const form = document.createElement("form");
            Object.assign(form, {method: "post", action: url});
            const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            form.append(Object.assign(document.createElement("input"),
                {type: "hidden", name: "csrfmiddlewaretoken", value: token}));
            document.body.append(form);
            form.submit();
        }""",
        url,
    )


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_error_pages_in_the_layout(browser, live_server, settings, lang, monitor_a, subject_a):
    """Issue 11.C8 in the browser: 403, 404, 405, 500 and a GET on a form's address."""
    settings.ROOT_URLCONF = "tests.test_error_pages"  # the site plus /boom/, which fails
    context, page = signed_in(browser, live_server.url, monitor_a, lang=lang)
    try:
        shots = {
            "404": "/no-such-page/",
            "403": "/subjects/register/",  # a monitor does not register subjects
            "500": "/boom/",
        }
        for status, path in shots.items():
            response = page.goto(page.base + path)
            assert response.status == int(status)
            expect(page.locator(f'#error-page[data-status="{status}"]')).to_be_visible()
            expect(page.locator("nav.navbar")).to_be_visible()
            assert "default-src 'self'" in response.headers["content-security-policy"]
            screenshot(page, f"error-{status}-{lang}")
        page.goto(page.base + "/")  # a page with a CSRF token (the 500 page has none)
        with page.expect_navigation():
            submit_post(page, "/safety/terms/")  # takes GET only
        expect(page.locator('#error-page[data-status="405"]')).to_be_visible()
        screenshot(page, f"error-405-{lang}")
        page.goto(f"{page.base}/subjects/{subject_a.pk}/status/")  # the status change's address
        assert page.url.endswith(f"/subjects/{subject_a.pk}/#change-status")
        expect(page.locator(".alert-info")).to_be_visible()
        screenshot(page, f"error-get-on-post-{lang}")
    finally:
        context.close()

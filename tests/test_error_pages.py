"""Error pages (issue 11.C8): 403, 404, 405 and 500 in the site's layout with a sentence saying
what happened, the security headers kept; a GET on a form's POST-only address goes to the form;
/api/ keeps its JSON errors."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse

from alter_s006 import errors
from alter_s006.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a bug")


# The site's addresses plus one that fails (used with @pytest.mark.urls, and by the browser test).
urlpatterns = [path("boom/", boom, name="boom"), *site_urlpatterns]
handler403 = "alter_s006.errors.permission_denied"
handler404 = "alter_s006.errors.page_not_found"
handler500 = "alter_s006.errors.server_error"

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def assert_secure(response):
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    for name, value in SECURITY_HEADERS.items():
        assert response[name] == value, name


def assert_error_page(response, status: int, sentence: str):
    assert response.status_code == status
    html = response.content.decode()
    assert f'id="error-page" data-status="{status}"' in html
    assert sentence in html
    assert 'class="navbar' in html  # in the layout, with the navigation
    assert "<style" not in html and "<script>" not in html and " style=" not in html  # CSP
    assert_secure(response)
    return html


def test_an_unknown_address_is_a_404_page_with_the_navigation(client, coordinator_a):
    client.force_login(coordinator_a)
    html = assert_error_page(client.get("/no-such-page/"), 404, "There is no page at this address")
    assert 'id="sign-out"' in html and 'id="nav-links"' in html


def test_another_sites_subject_is_the_same_404(client, coordinator_a, subject_b):
    client.force_login(coordinator_a)
    response = client.get(reverse("subjects:detail", args=[subject_b.pk]))
    assert_error_page(response, 404, "or it shows a record of a site you do not have access to")
    assert subject_b.initials not in response.content.decode()


def test_a_role_without_the_action_gets_the_403_page(client, monitor_a):
    client.force_login(monitor_a)
    html = assert_error_page(
        client.get(reverse("subjects:register")), 403, "its role at this site does not include"
    )
    assert "Your role: Monitor." in html


def test_a_form_without_its_csrf_token_gets_the_403_page(coordinator_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator_a)
    response = client.post(reverse("switch-site"), {"site": ""})
    assert_error_page(response, 403, "Its security token was missing or out of date")


def test_a_get_on_the_status_change_address_goes_to_the_subjects_form(
    client, coordinator_a, subject_a
):
    client.force_login(coordinator_a)
    response = client.get(reverse("subjects:transition", args=[subject_a.pk]))
    assert response.status_code == 302
    assert response.url == reverse("subjects:detail", args=[subject_a.pk]) + "#change-status"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "That address only takes a submitted form, so nothing was saved: "
        "here is the page with the form."
    ]
    page = client.get(response.url).content.decode()
    assert 'id="change-status"' in page and "That address only takes a submitted form" in page


def test_a_get_on_sign_out_goes_to_the_dashboard(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(reverse("logout"))
    assert (response.status_code, response.url) == (302, reverse("home"))
    assert client.get(reverse("home")).status_code == 200  # still signed in


def _named_patterns(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace in ("admin",) or str(p.pattern).startswith("api/"):
                continue
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _named_patterns(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{prefix}{p.name}", list(p.pattern.converters)


def test_no_page_address_answers_a_get_with_a_bare_405(client, coordinator_a):
    """Every POST-only address of the pages has its form in errors.FORM_OF (ids need not exist:
    the method is checked before the record is fetched)."""
    client.force_login(coordinator_a)
    redirected = set()
    for name, args in _named_patterns(get_resolver().url_patterns):
        url = reverse(name, kwargs=dict.fromkeys(args, 987654))
        response = client.get(url)
        assert response.status_code != 405, f"GET {url} ({name}) is a 405"
        if name in errors.FORM_OF:
            assert response.status_code == 302, name
            redirected.add(name)
    assert redirected == set(errors.FORM_OF) - {"admin:logout"}


def test_any_other_405_is_a_page_that_keeps_the_allow_header(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(reverse("safety:term_search"), {"q": "x"})
    html = assert_error_page(response, 405, "The browser sent a POST request")
    assert response["Allow"] == "GET"
    assert "It accepts: GET." in html


def test_the_api_keeps_its_json_errors(client, coordinator_a):
    client.force_login(coordinator_a)
    for response in (client.get("/api/v1/no-such-endpoint"), client.get("/api/no-such-version/")):
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {
            "errors": [{"field": None, "code": "not_found", "message": "Not Found"}]
        }
    response = client.delete("/api/v1/subjects")
    assert response.status_code == 405 and not response["Content-Type"].startswith("text/html")
    request = RequestFactory().get("/api/v1/subjects")
    assert errors.server_error(request).status_code == 500
    assert errors.server_error(request)["Content-Type"] == "application/json"


@pytest.mark.urls("tests.test_error_pages")
def test_a_failure_is_the_500_page_with_the_security_headers(client, coordinator_a):
    client.force_login(coordinator_a)
    client.raise_request_exception = False
    html = assert_error_page(
        client.get("/boom/"), 500, "The server failed while handling this request."
    )
    assert 'id="sign-out"' not in html  # rendered without the request: no user


def test_the_500_page_needs_neither_the_database_nor_context_processors(
    db, monkeypatch, django_assert_num_queries
):
    def broken(request):
        raise RuntimeError("context processors must not run for the 500 page")

    monkeypatch.setattr("accounts.context_processors.access", broken)
    with django_assert_num_queries(0):
        response = errors.server_error(RequestFactory().get("/subjects/1/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-status="500"' in html and reverse("subjects:list") in html

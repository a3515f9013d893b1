"""Every page that reads a query parameter (or a loose POST value): a bad value is a 400 that
names the parameter, or is ignored where a user expects that; never a 500 (issue 10.6).

Each 400 row below was a 500 before: PostgreSQL refusing a NUL character, ``int("abc")`` as a
primary key, ``date(1, 1, 1) - 1 day``, ``int("²")`` after ``"²".isdigit()``, ``redirect("foo")``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import unescape
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from safety.models import CtcaeTerm
from tests.accounts.test_access_urls import (
    on_treatment,
    with_ranges,
    with_timepoint,
)
from tests.factories import add_reference_ranges
from tests.safety.conftest import ensure_ctcae

BIGGER_THAN_BIGINT = str(2**63)


@dataclass(frozen=True)
class Case:
    url: str  # URL name
    query: dict | str  # query parameters, or a raw query string
    status: int
    says: str = ""  # words of the 400 page (the parameter it names)
    args: str = ""  # a key of ARGS
    method: str = "GET"
    body: dict = field(default_factory=dict)
    setup: object = None


ARGS = {
    "": lambda w: [],
    "s": lambda w: [w.subject.pk],  # the subject
    "t": lambda w: [CtcaeTerm.objects.get(term="Hypertension").pk],  # a CTCAE term
}


def failing_screening(w):
    from eligibility.services import save_screening
    from tests.factories import eligible_screening_data

    add_reference_ranges(w.site_a)
    save_screening(
        subject=w.subject,
        changes=eligible_screening_data(w.subject, prior_anlotinib=True),
        expected_version=None,
        by=w.subject.created_by,
    )


MONTH = "“month” must be a month written YYYY-MM from 1900-01 to 2100-12."
CASES = {
    # the CTCAE type-ahead
    "term search: NUL": Case("safety:term_search", {"q": "\x00"}, 400, "“q” contains a NUL"),
    "term search: NUL inside words": Case("safety:term_search", {"q": "hyper\x00t"}, 400, "NUL"),
    "term search: 10,000 characters": Case("safety:term_search", {"q": "a " * 5000}, 200),
    "term search: a UTF-8 surrogate": Case("safety:term_search", "q=%ED%A0%80", 200),
    "term search: bytes that are not UTF-8": Case("safety:term_search", "q=%FF%FE", 200),
    "subject list: raw NUL": Case("subjects:list", "q=%00", 400, "“q” contains a NUL"),
    "term grades: text grade is ignored": Case(
        "safety:term_grades", {"grade": "abc"}, 200, args="t"
    ),
    "term grades: NUL grade is ignored": Case(
        "safety:term_grades", {"grade": "\x00"}, 200, args="t"
    ),
    # the subject list
    "subject list: NUL": Case("subjects:list", {"q": "\x00"}, 400, "“q” contains a NUL"),
    "subject list: unknown status shows all": Case("subjects:list", {"status": "\x00"}, 200),
    # the query list
    "query list: unknown status": Case("queries:list", {"status": "zz"}, 400, "“status”"),
    "query list: NUL in a field": Case("queries:list", {"field": "a\x00"}, 400, "“field”"),
    "query list: unknown age bucket": Case("queries:list", {"age": "9-99"}, 400, "“age”"),
    "query CSV: subject not a number": Case("queries:csv", {"subject": "x"}, 400, "“subject”"),
    # the new AE page, pre-filled from a lab value
    "new AE: text lab result": Case(
        "safety:ae_new", {"lab_result": "abc"}, 400, "“lab_result” must be a whole number", "s"
    ),
    "new AE: lab result beyond bigint": Case(
        "safety:ae_new", {"lab_result": BIGGER_THAN_BIGINT}, 400, "“lab_result”", "s"
    ),
    "new AE: unknown lab result is dropped": Case(
        "safety:ae_new", {"lab_result": "999999"}, 200, args="s"
    ),
    "new AE: text term": Case("safety:ae_new", {"term": "x"}, 400, "“term” must be", "s"),
    "new AE: grade 9": Case(
        "safety:ae_new", {"grade": "9"}, 400, "“grade” must be a whole number from 1 to 5", "s"
    ),
    "new AE: onset in year 1": Case(
        "safety:ae_new", {"onset_date": "0001-01-01"}, 400, "“onset_date” must be a date", "s"
    ),
    "new AE: onset not a date": Case(
        "safety:ae_new", {"onset_date": "2026-02-30"}, 400, "“onset_date”", "s"
    ),
    "new AE: NUL in the verbatim": Case(
        "safety:ae_new", {"verbatim": "a\x00b"}, 400, "“verbatim” contains a NUL", "s"
    ),
    "new AE: the offer of a lab value": Case(
        "safety:ae_new",
        {"grade": "3", "onset_date": "2026-01-02", "verbatim": "ANC < 0.5", "term": "1"},
        200,
        args="s",
    ),
    "new AE: bad query on the POST too": Case(
        "safety:ae_new", {"lab_result": "abc"}, 400, "“lab_result”", "s", method="POST"
    ),
    # the dosing calendar
    "calendar: year 1": Case("dosing:calendar", {"month": "0001-01"}, 400, MONTH, "s"),
    "calendar: year 9999": Case("dosing:calendar", {"month": "9999-12"}, 400, MONTH, "s"),
    "calendar: before 1900": Case("dosing:calendar", {"month": "1899-12"}, 400, MONTH, "s"),
    "calendar: month 13": Case("dosing:calendar", {"month": "2026-13"}, 400, MONTH, "s"),
    "calendar: month 0": Case("dosing:calendar", {"month": "2026-00"}, 400, MONTH, "s"),
    "calendar: one-digit month": Case("dosing:calendar", {"month": "2026-1"}, 400, MONTH, "s"),
    "calendar: text": Case("dosing:calendar", {"month": "abc"}, 400, MONTH, "s"),
    "calendar: Arabic-Indic digits": Case(
        "dosing:calendar", {"month": "\u0662\u0660\u0662\u0666-\u0660\u0661"}, 400, MONTH, "s"
    ),
    "calendar: NUL": Case("dosing:calendar", {"month": "\x00"}, 400, MONTH, "s"),
    "calendar: first month shown": Case("dosing:calendar", {"month": "1900-01"}, 200, args="s"),
    "calendar: last month shown": Case("dosing:calendar", {"month": "2100-12"}, 200, args="s"),
    "calendar: empty is this month": Case("dosing:calendar", {"month": ""}, 200, args="s"),
    # the tumour preview (htmx, POST with the timepoint corrected in the query)
    "tumour preview: text timepoint": Case(
        "assessments:preview", {"timepoint": "abc"}, 400, "“timepoint” must be", "s", "POST"
    ),
    "tumour preview: NUL timepoint": Case(
        "assessments:preview", {"timepoint": "\x00"}, 400, "“timepoint”", "s", "POST"
    ),
    "tumour preview: timepoint beyond bigint": Case(
        "assessments:preview", {"timepoint": BIGGER_THAN_BIGINT}, 400, "“timepoint”", "s", "POST"
    ),
    "tumour preview: unknown timepoint": Case(
        "assessments:preview", {"timepoint": "999999"}, 404, args="s", method="POST"
    ),
    # loose POST values
    "site switch: superscript digit": Case(
        "switch-site", {}, 302, method="POST", body={"site": "²", "next": "/subjects/"}
    ),
    "site switch: next not a path": Case(
        "switch-site", {}, 302, method="POST", body={"site": "", "next": "foo"}
    ),
    "site switch: NUL in next": Case(
        "switch-site", {}, 302, method="POST", body={"site": "", "next": "/sub\x00jects/"}
    ),
    "screen failure: superscript version": Case(
        "eligibility:screen-fail",
        {},
        409,
        args="s",
        method="POST",
        body={"version": "²"},
        setup=failing_screening,
    ),
}
SETUP = {
    "safety:ae_new": on_treatment,
    "dosing:calendar": on_treatment,
    "assessments:preview": with_timepoint,
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_bad_query_parameter_is_a_400_that_says_which_never_a_500(
    case, client, coordinator_a, site_a, subject_a
):
    ensure_ctcae()
    world = SimpleNamespace(site_a=site_a, subject=subject_a, visit=None, today=site_a.today())
    setup = case.setup or SETUP.get(case.url)
    if setup is not None:
        setup(world)
    world.subject.refresh_from_db()
    client.force_login(coordinator_a)
    path = reverse(case.url, args=ARGS[case.args](world))

    query = case.query if isinstance(case.query, str) else urlencode(case.query)
    target = f"{path}?{query}" if query else path
    send = client.get if case.method == "GET" else client.post
    response = send(target, case.body)

    assert response.status_code == case.status, response.content.decode()[:500]
    if case.status == 400:
        html = unescape(response.content.decode())
        reason = re.search(r'id="bad-request">(.*?)</span>', html, re.S)
        assert reason is not None, html[:500]
        assert case.says in reason[1]
        assert "\x00" not in html


def test_the_calendar_offers_no_link_beyond_the_months_it_shows(
    client, coordinator_a, site_a, subject_a
):
    world = SimpleNamespace(site_a=site_a, subject=subject_a, visit=None, today=site_a.today())
    on_treatment(world)
    client.force_login(coordinator_a)
    url = reverse("dosing:calendar", args=[subject_a.pk])
    first = client.get(url, {"month": "1900-01"}).content.decode()
    assert "?month=1899-12" not in first and "?month=1900-02" in first
    last = client.get(url, {"month": "2100-12"}).content.decode()
    assert "?month=2101-01" not in last and "?month=2100-11" in last


def test_the_site_switch_never_redirects_off_the_site(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    for target in ("https://evil.example/", "//evil.example/", "foo", "/ok\x00"):
        response = client.post(reverse("switch-site"), {"site": site_a.pk, "next": target})
        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith("/") and not location.startswith("//"), target
    assert client.session["edc_site"] == site_a.pk


@pytest.mark.parametrize(
    "path",
    [
        f"/subjects/{BIGGER_THAN_BIGINT}/",
        f"/subjects/{BIGGER_THAN_BIGINT}/dosing/",
        f"/safety/terms/{BIGGER_THAN_BIGINT}/",
    ],
)
def test_an_id_in_the_path_beyond_bigint_is_404(path, client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get(path).status_code == 404


def test_the_offer_of_a_lab_value_fills_the_new_ae_form(client, coordinator_a, site_a, subject_a):
    ensure_ctcae()
    world = SimpleNamespace(site_a=site_a, subject=subject_a, visit=None, today=site_a.today())
    with_ranges(world)
    client.force_login(coordinator_a)
    url = reverse("safety:ae_new", args=[subject_a.pk])
    today = site_a.today().isoformat()
    response = client.get(url, {"grade": "3", "onset_date": today, "verbatim": "ANC < 0.5"})
    form = response.context["form"]
    assert form.initial["grade"] == 3
    assert form.initial["onset_date"] == dt.date.fromisoformat(today)
    assert form.initial["verbatim"] == "ANC < 0.5"
    assert "ANC &lt; 0.5" in response.content.decode()


def test_a_forged_host_is_a_plain_400(client):
    """Django's other 400s (here DisallowedHost) go through the same handler without a page
    context the request cannot give."""
    response = client.get("/subjects/", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "ALTER-S006" in response.content.decode()

"""The reference-range pages (issue 11 B) through the Django test client, on real PostgreSQL.

The clock is frozen at 2026-03-02 10:00 in Guangzhou. Site A (GZ01) and site B (SH02) each
have the ranges of ``add_reference_ranges`` (ALT 7-40 U/L from 2020-01-01, no end date).
Data managers read and write; monitors read the ranges of their sites; coordinators and
investigators are refused (403), and a range of a site one cannot see does not exist (404).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from eligibility import ranges
from eligibility.models import ReferenceRange
from tests.eligibility.test_ranges import NOW, REASON, TABLE
from tests.factories import add_reference_ranges

D = dt.date


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def both_sites(site_a, site_b):
    add_reference_ranges(site_a)
    add_reference_ranges(site_b)


def alt(site):
    return ReferenceRange.objects.get(site=site, analyte="alt")


def page(response) -> str:
    return unescape(response.content.decode())


def field_codes(response, field: str) -> list[str]:
    """The codes of the errors the page's form shows beside ``field``."""
    return [e.code for e in response.context["form"].errors.as_data().get(field, [])]


def field_errors(response, field: str) -> list[str]:
    """The error messages rendered beside the form field ``field`` (crispy's error ids)."""
    pattern = rf'id="error_\d+_id_{field}"><strong>(.*?)</strong>'
    return [unescape(m) for m in re.findall(pattern, response.content.decode(), re.S)]


def listed(response) -> list[str]:
    """The ranges listed, as "SITE analyte-label"."""
    rows = re.findall(r'<tr data-range="\d+">\s*<td>(.*?)</td><td>(.*?)</td>', page(response))
    return [f"{site} {analyte}" for site, analyte in rows]


def correction(reference_range, **values) -> dict:
    data = {
        "version": reference_range.version,
        "sex": reference_range.sex,
        "unit": reference_range.unit,
        "lln": str(reference_range.lln or ""),
        "uln": str(reference_range.uln or ""),
        "valid_from": reference_range.valid_from.isoformat(),
        "valid_to": "",
        "reason": "ULN misread from the laboratory sheet",
    }
    return {**data, **values}


# --- the list: role and site decide what is listed ----------------------------------------------


def test_a_data_manager_lists_the_ranges_of_every_site(client, data_manager, both_sites):
    client.force_login(data_manager)
    response = client.get(reverse("eligibility:ranges"), {"analyte": "alt"})
    assert response.status_code == 200
    assert listed(response) == ["GZ01 ALT", "SH02 ALT"]
    assert 'id="range-new"' in page(response)


def test_a_monitor_lists_only_the_ranges_of_their_sites_and_cannot_add_one(
    client, monitor_a, both_sites, site_b
):
    client.force_login(monitor_a)
    response = client.get(reverse("eligibility:ranges"), {"analyte": "alt"})
    assert listed(response) == ["GZ01 ALT"]
    assert 'id="range-new"' not in page(response)
    # another site's id is refused as a filter value: it is not offered to them
    refused = client.get(reverse("eligibility:ranges"), {"site": site_b.pk})
    assert refused.status_code == 400


def test_the_list_filters_by_site_and_analyte(client, data_manager, both_sites, site_b):
    client.force_login(data_manager)
    response = client.get(reverse("eligibility:ranges"), {"site": site_b.pk, "analyte": "anc"})
    assert listed(response) == ["SH02 Absolute neutrophil count"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"site": "abc"}, "site", "Choose one of the sites offered"),
        ({"site": "999999"}, "site", "Choose one of the sites offered"),
        ({"analyte": "vitamin_q"}, "analyte", "Select a valid choice."),
        ({"page": "0"}, "page", "Ensure this value is greater than or equal to 1."),
        ({"page": "x"}, "page", "Enter a whole number."),
        ({"site": "1\x00"}, "site", "Null characters are not allowed."),
    ],
)
def test_a_filter_the_page_cannot_use_is_a_400_saying_which(
    client, data_manager, both_sites, params, field, message
):
    client.force_login(data_manager)
    response = client.get(reverse("eligibility:ranges"), params)
    assert response.status_code == 400
    html = page(response)
    assert message in html
    if field == "page":
        assert 'id="page-error"' in html
    else:
        assert f'id="id_{field}"' in html and "is-invalid" in html


def test_the_list_pages_and_makes_as_many_queries_for_30_ranges_as_for_1(
    client, data_manager, site_a, site_b
):
    ReferenceRange.objects.create(
        site=site_b, analyte="alt", unit="U/L", uln=Decimal("40"), valid_from=D(2020, 1, 1)
    )
    for n in range(30):
        ReferenceRange.objects.create(
            site=site_a,
            analyte="alt",
            unit="U/L",
            uln=Decimal("40"),
            valid_from=D(2000 + n, 1, 1),
            valid_to=D(2000 + n, 12, 31),
        )
    client.force_login(data_manager)
    queries = {}
    for site, count in [(site_b, 1), (site_a, 30)]:
        url = reverse("eligibility:ranges") + f"?site={site.pk}"
        client.get(url)  # warm up
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert len(listed(response)) == count
        queries[count] = len(captured)
    assert queries[1] == queries[30]


def test_the_list_is_paginated(client, data_manager, site_a):
    for n in range(51):
        ReferenceRange.objects.create(
            site=site_a,
            analyte="alt",
            unit="U/L",
            uln=Decimal("40"),
            valid_from=D(1950 + n, 1, 1),
            valid_to=D(1950 + n, 12, 31),
        )
    client.force_login(data_manager)
    first = client.get(reverse("eligibility:ranges"))
    second = client.get(reverse("eligibility:ranges"), {"page": "2"})
    assert (len(listed(first)), len(listed(second))) == (50, 1)
    assert "1–50 of 51" in page(first)
    assert "?page=2" in page(first)


# --- one range with its audit trail beside it -----------------------------------------------------


def test_the_range_page_shows_who_changed_what_when_and_why(client, data_manager, site_a):
    add_reference_ranges(site_a)
    ranges.correct_range(
        reference_range=alt(site_a),
        expected_version=1,
        changes={"uln": Decimal("45")},
        by=data_manager,
        reason="ULN misread from the laboratory sheet",
    )
    client.force_login(data_manager)

    html = page(client.get(reverse("eligibility:range", args=[alt(site_a).pk])))

    trail = html[html.index('id="trail-table"') :]
    assert (
        'ULN</strong>: <span class="audit-old">40</span> → <span class="audit-new">45</span>'
        in (trail)
    )
    assert "ULN misread from the laboratory sheet" in trail
    assert "dm" in trail
    # the database's clock: the site's time zone, then UTC
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CST<br>.*?\d\d:\d\d UTC", trail, re.S)
    assert 'id="range-correct"' in html and 'id="range-supersede"' in html


def test_a_monitor_reads_the_trail_without_the_buttons_to_change(client, monitor_a, site_a):
    add_reference_ranges(site_a)
    client.force_login(monitor_a)
    response = client.get(reverse("eligibility:range", args=[alt(site_a).pk]))
    assert response.status_code == 200
    assert 'id="trail-table"' in page(response)
    assert 'id="range-correct"' not in page(response)


@pytest.mark.parametrize(
    ("member", "status"),
    [("coordinator_a", 403), ("investigator_a", 403), ("coordinator_b", 404)],
)
def test_site_staff_cannot_open_a_range(client, cast, site_a, member, status):
    add_reference_ranges(site_a)
    client.force_login(cast[member])
    assert client.get(reverse("eligibility:range", args=[alt(site_a).pk])).status_code == status
    assert client.get(reverse("eligibility:ranges")).status_code == 403


def test_the_trail_makes_as_many_queries_for_30_events_as_for_1(client, data_manager, site_a):
    one = ranges.create_range(
        site=site_a, analyte="ast", unit="U/L", lln=None, uln=Decimal("40"),
        valid_from=D(2020, 1, 1), by=data_manager, reason=REASON,
    )  # fmt: skip
    thirty = ranges.create_range(
        site=site_a, analyte="alt", unit="U/L", lln=None, uln=Decimal("40"),
        valid_from=D(2020, 1, 1), by=data_manager, reason=REASON,
    )  # fmt: skip
    for n in range(29):
        thirty = ranges.correct_range(
            reference_range=thirty,
            expected_version=thirty.version,
            changes={"uln": Decimal(41 + n)},
            by=data_manager,
            reason=f"Correction {n}",
        )
    client.force_login(data_manager)
    queries = {}
    for reference_range, count in [(one, 1), (thirty, 30)]:
        url = reverse("eligibility:range", args=[reference_range.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert page(response).count("<tr data-action=") == count
        queries[count] = len(captured)
    assert queries[1] == queries[30]


# --- correct: reason and version, message by the field, 409 on a stale version -------------------


def test_a_data_manager_corrects_a_range_with_a_reason(client, data_manager, site_a):
    add_reference_ranges(site_a)
    client.force_login(data_manager)
    url = reverse("eligibility:range-correct", args=[alt(site_a).pk])
    assert client.get(url).status_code == 200

    response = client.post(url, correction(alt(site_a), uln="45"))

    assert response.status_code == 302
    assert response.url == reverse("eligibility:range", args=[alt(site_a).pk])
    assert (alt(site_a).uln, alt(site_a).version) == (Decimal("45"), 2)
    event = AuditEvent.objects.filter(table_name=TABLE, action="UPDATE").get()
    assert event.reason == "ULN misread from the laboratory sheet"


def test_a_correction_without_a_reason_is_refused_beside_the_reason(client, data_manager, site_a):
    add_reference_ranges(site_a)
    client.force_login(data_manager)
    url = reverse("eligibility:range-correct", args=[alt(site_a).pk])

    response = client.post(url, correction(alt(site_a), uln="45", reason=""))

    assert response.status_code == 422
    assert field_codes(response, "reason") == ["required"]
    assert alt(site_a).version == 1


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"lln": "50", "uln": "40"}, "uln", "lln_not_below_uln"),
        ({"lln": "", "uln": ""}, "uln", "limits_required"),
        ({"unit": "mg/dL"}, "unit", "unit_not_for_analyte"),
        ({"valid_to": "2019-12-31"}, "valid_to", "ends_before_start"),
        ({"uln": "1e999"}, "uln", "not_a_plain_number"),
        ({"valid_to": "0001-01-01"}, "valid_to", "date_implausible"),
    ],
)
def test_a_correction_breaking_a_rule_is_a_422_with_the_message_by_the_field(
    client, data_manager, site_a, values, field, code
):
    add_reference_ranges(site_a)
    client.force_login(data_manager)
    url = reverse("eligibility:range-correct", args=[alt(site_a).pk])

    response = client.post(url, correction(alt(site_a), **values))

    assert response.status_code == 422
    assert field_codes(response, field) == [code]
    assert len(field_errors(response, field)) == 1  # shown beside the field
    assert alt(site_a).version == 1


def test_a_correction_from_a_page_opened_before_another_is_a_409(client, data_manager, site_a):
    add_reference_ranges(site_a)
    opened = correction(alt(site_a), uln="50")
    ranges.correct_range(
        reference_range=alt(site_a),
        expected_version=1,
        changes={"uln": Decimal("45")},
        by=data_manager,
        reason="Someone else first",
    )
    client.force_login(data_manager)

    response = client.post(reverse("eligibility:range-correct", args=[alt(site_a).pk]), opened)

    assert response.status_code == 409
    assert alt(site_a).uln == Decimal("45")


def test_a_correction_sent_without_its_version_is_refused(client, data_manager, site_a):
    add_reference_ranges(site_a)
    client.force_login(data_manager)
    data = correction(alt(site_a), uln="45")
    del data["version"]
    response = client.post(reverse("eligibility:range-correct", args=[alt(site_a).pk]), data)
    assert response.status_code == 422
    assert "sent without the version of the record" in page(response)
    assert alt(site_a).version == 1


# --- create and supersede -----------------------------------------------------------------------


def new_range(site, **values) -> dict:
    data = {
        "site": site.pk,
        "analyte": "alt",
        "sex": "F",
        "unit": "U/L",
        "lln": "7",
        "uln": "35",
        "valid_from": "2026-01-01",
        "valid_to": "",
        "reason": REASON,
    }
    return {**data, **values}


def test_a_data_manager_adds_a_range(client, data_manager, site_a):
    add_reference_ranges(site_a)
    client.force_login(data_manager)

    response = client.post(reverse("eligibility:range-new"), new_range(site_a))

    created = ReferenceRange.objects.get(site=site_a, analyte="alt", sex="F")
    assert response.status_code == 302
    assert response.url == reverse("eligibility:range", args=[created.pk])
    assert AuditEvent.objects.get(table_name=TABLE, record_pk=str(created.pk)).reason == REASON


def test_an_overlapping_new_range_is_a_422_beside_its_start_date(client, data_manager, site_a):
    add_reference_ranges(site_a)  # ALT for both sexes from 2020-01-01, no end
    client.force_login(data_manager)

    response = client.post(reverse("eligibility:range-new"), new_range(site_a, sex=""))

    assert response.status_code == 422
    [message] = field_errors(response, "valid_from")
    assert message.startswith("GZ01 already has a range for ALT (both sexes) in force from 2020-")
    assert ReferenceRange.objects.filter(site=site_a, analyte="alt").count() == 1


def test_supersede_ends_the_old_range_and_opens_the_new_one(client, data_manager, site_a):
    add_reference_ranges(site_a)
    old = alt(site_a)
    client.force_login(data_manager)
    url = reverse("eligibility:range-supersede", args=[old.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "version": 1,
            "valid_from": "2026-02-01",
            "unit": "U/L",
            "lln": "7",
            "uln": "45",
            "reason": REASON,
        },
    )

    new = ReferenceRange.objects.get(site=site_a, analyte="alt", valid_from=D(2026, 2, 1))
    assert response.status_code == 302
    assert response.url == reverse("eligibility:range", args=[new.pk])
    old.refresh_from_db()
    assert old.valid_to == D(2026, 1, 31)


@pytest.mark.parametrize("member", ["monitor_a", "coordinator_a", "investigator_a"])
def test_nobody_but_a_data_manager_writes(client, cast, site_a, member):
    add_reference_ranges(site_a)
    client.force_login(cast[member])
    pk = alt(site_a).pk
    assert client.post(reverse("eligibility:range-new"), new_range(site_a)).status_code == 403
    correct = reverse("eligibility:range-correct", args=[pk])
    assert client.post(correct, correction(alt(site_a), uln="45")).status_code == 403
    supersede = reverse("eligibility:range-supersede", args=[pk])
    assert client.post(supersede, {"version": 1}).status_code == 403
    assert ReferenceRange.objects.filter(site=site_a, analyte="alt").get().version == 1


def test_the_navigation_links_the_page_for_data_managers_and_monitors_only(client, cast, site_a):
    for member, shown in [("data_manager", True), ("monitor_a", True), ("coordinator_a", False)]:
        client.force_login(cast[member])
        assert ('id="nav-ranges"' in page(client.get(reverse("home")))) is shown, member

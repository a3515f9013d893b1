"""No query per row in safety and tumour assessments (issue 12 goals 3, 4 and 5).

Every list answers in the same number of SQL queries for 1 row and for 30 (pages and API):
the AE log, the lab panels, the SAE listing, the tumour assessments. Lists are paginated
(``alter_s006.pagination``): a garbled ``?page=`` is a 400 page / a 422 API answer, never a
500. A safety write reads only what it changes: recording an AE costs the same number of
queries whether the subject has 5 or 60 lab results.

Clock frozen at 2026-03-02 10:00 in Guangzhou; subjects on treatment from C1D1 2026-01-05.
"""

# The fixtures imported from tests.dosing.conftest are the tests' parameters:
# ruff: noqa: F811
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments import services as assessments
from queries.models import Query
from safety import services
from safety.models import LabResult
from subjects import services as subject_services
from tests.assessments.test_services import NON_TARGETS, TARGETS, scan
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.factories import add_reference_ranges, enrol, make_subject
from tests.safety.conftest import ensure_ctcae, term
from tests.subjects.test_api import Api

D = dt.date
pytestmark = pytest.mark.django_db

TERMS = ["Hypertension", "Diarrhea", "Fatigue", "Nausea", "Proteinuria"]


@pytest.fixture(autouse=True)
def _setup(frozen_clock, db):
    ensure_ctcae()


def counted(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured.captured_queries), result


def record_aes(subject, by, start, stop, every=3):
    """AEs ``start``..``stop - 1`` (onset one a day from 2026-01-06): terms in turn, every
    ``every``-th one serious (an SAE report)."""
    for i in range(start, stop):
        services.record_ae(
            subject=subject,
            by=by,
            term=term(TERMS[i % len(TERMS)]),
            grade=2,
            onset_date=D(2026, 1, 6) + dt.timedelta(days=i),
            ongoing=True,
            outcome="not_recovered",
            serious=i % every == 0,
            sae_hospitalisation=i % every == 0,
        )


def record_panels(subject, by, start, stop, **values):
    """Panels ``start``..``stop - 1`` (one a day from 2026-01-06): ANC 0.8 (grade 3) and Hb."""
    values = values or {"anc": ("0.8", "10^9/L"), "hb": ("130", "g/L")}
    for i in range(start, stop):
        services.record_lab_panel(
            subject=subject,
            by=by,
            sample_date=D(2026, 1, 6) + dt.timedelta(days=i),
            values=values,
            systolic=120,
            diastolic=80,
        )


def page_and_api(client, user, url, api_path):
    client.force_login(user)
    page_count, page = counted(lambda: client.get(url))
    assert page.status_code == 200
    api_count, answer = counted(lambda: Api(client, user).get(api_path))
    assert answer.status_code == 200, answer.content
    return page_count, api_count, page, answer


# --- goal 4: the same number of queries for 1 and for 30 rows ----------------------------------


def test_the_ae_log_and_api_list_do_not_query_per_event(client, treated, coordinator_a):
    url = reverse("safety:ae_list", args=[treated.pk])
    path = f"/subjects/{treated.pk}/adverse-events"
    record_aes(treated, coordinator_a, 0, 1)
    page_1, api_1, _, one = page_and_api(client, coordinator_a, url, path)
    record_aes(treated, coordinator_a, 1, 30)
    page_30, api_30, page, thirty = page_and_api(client, coordinator_a, url, path)
    assert len(one.json()) == 1 and len(thirty.json()) == 30
    assert page.content.decode().count("data-ae=") == 30
    listed = thirty.json()
    assert sum(1 for ae in listed if ae["sae_reports"]) == 10
    assert all(ae["worst_grade"] == 2 and ae["in_window"] for ae in listed)
    assert (page_30, api_30) == (page_1, api_1)


def test_the_sae_listing_page_and_api_do_not_query_per_report(
    client, treated, coordinator_a, coordinator_b
):
    url = reverse("safety:sae_list")
    record_aes(treated, coordinator_a, 0, 1, every=1)
    page_1, api_1, _, one = page_and_api(client, coordinator_a, url, "/sae-reports")
    record_aes(treated, coordinator_a, 1, 30, every=1)
    page_30, api_30, page, thirty = page_and_api(client, coordinator_a, url, "/sae-reports")
    assert len(one.json()) == 1 and len(thirty.json()) == 30
    assert thirty["X-Total-Count"] == "30"
    assert page.content.decode().count("data-state=") == 30
    assert (page_30, api_30) == (page_1, api_1)
    # another site's coordinator sees none of them
    _, _, page, other = page_and_api(client, coordinator_b, url, "/sae-reports")
    assert other.json() == [] and "data-state=" not in page.content.decode()


def test_the_lab_panels_page_and_api_do_not_query_per_panel(client, treated, site_a, coordinator_a):
    add_reference_ranges(site_a)
    url = reverse("safety:labs", args=[treated.pk])
    path = f"/subjects/{treated.pk}/lab-panels"
    record_panels(treated, coordinator_a, 0, 1)
    page_1, api_1, _, one = page_and_api(client, coordinator_a, url, path)
    record_panels(treated, coordinator_a, 1, 30)
    page_30, api_30, page, thirty = page_and_api(client, coordinator_a, url, path)
    assert len(one.json()) == 1 and len(thirty.json()) == 30
    assert all(len(p["offered_aes"]) == 1 for p in thirty.json())  # ANC 0.8: grade 3
    assert page.content.decode().count('class="card mb-3 lab-panel"') == 30
    assert (page_30, api_30) == (page_1, api_1)


def test_the_tumour_page_and_timepoints_api_do_not_query_per_assessment(
    client, treated, coordinator_a
):
    assessments.record_baseline(
        subject=treated, by=coordinator_a, targets=TARGETS, non_targets=NON_TARGETS
    )
    url = reverse("assessments:overview", args=[treated.pk])
    path = f"/subjects/{treated.pk}/timepoints"
    day = D(2026, 1, 6)
    scan(treated, coordinator_a, day, 40, 30, 30)
    page_1, api_1, _, one = page_and_api(client, coordinator_a, url, path)
    for i in range(1, 30):
        scan(treated, coordinator_a, day + dt.timedelta(days=i), 40 - i % 3, 30, 30)
    page_30, api_30, _, thirty = page_and_api(client, coordinator_a, url, path)
    assert len(one.json()) == 1 and len(thirty.json()) == 30
    assert all(len(tp["measurements"]) == len(TARGETS) for tp in thirty.json())
    assert (page_30, api_30) == (page_1, api_1)


# --- goal 3: paginated, bad page numbers refused -----------------------------------------------


def test_lists_are_paginated_with_the_filter_kept(client, treated, coordinator_a):
    record_aes(treated, coordinator_a, 0, 7)  # 3 serious
    api = Api(client, coordinator_a)
    first = api.get(f"/subjects/{treated.pk}/adverse-events?page_size=5")
    assert len(first.json()) == 5 and first["X-Total-Count"] == "7"
    assert 'rel="next"' in first["Link"] and "page=2" in first["Link"]
    second = api.get(f"/subjects/{treated.pk}/adverse-events?page_size=5&page=2")
    assert not {ae["id"] for ae in second.json()} & {ae["id"] for ae in first.json()}
    assert len(second.json()) == 2
    reports = api.get("/sae-reports?overdue=false&page_size=2")
    assert reports["X-Total-Count"] == "3" and "overdue=false" in reports["Link"]
    too_far = api.get(f"/subjects/{treated.pk}/lab-panels?page=9")
    assert too_far.status_code == 200 and too_far.json() == []


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "99999999999"])
def test_a_bad_page_number_is_400_on_pages_and_422_in_the_api(client, treated, coordinator_a, bad):
    client.force_login(coordinator_a)
    for name, args in [
        ("safety:ae_list", [treated.pk]),
        ("safety:labs", [treated.pk]),
        ("safety:sae_list", []),
    ]:
        assert client.get(reverse(name, args=args), {"page": bad}).status_code == 400, name
    api = Api(client, coordinator_a)
    for path in [
        f"/subjects/{treated.pk}/adverse-events",
        f"/subjects/{treated.pk}/lab-panels",
        f"/subjects/{treated.pk}/timepoints",
        "/sae-reports",
    ]:
        assert api.get(f"{path}?page={bad}").status_code == 422, path
        assert api.get(f"{path}?page_size=101").status_code == 422, path


def test_another_sites_user_gets_404_on_the_subject_lists(client, treated, coordinator_b):
    client.force_login(coordinator_b)
    for name in ("safety:ae_list", "safety:labs", "assessments:overview"):
        assert client.get(reverse(name, args=[treated.pk])).status_code == 404, name
    api = Api(client, coordinator_b)
    for tail in ("adverse-events", "lab-panels", "timepoints"):
        assert api.get(f"/subjects/{treated.pk}/{tail}?page=1").status_code == 404, tail


# --- goal 5: a safety write reads only what it changes -----------------------------------------


def second_subject(site, by):
    subject = make_subject(site, by, sex="M", consent_date=D(2025, 12, 21))
    subject = enrol(subject, by=by, on_date=D(2026, 1, 3), c1d1=D(2026, 1, 5))
    return subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=D(2026, 1, 5),
        reason="",
        by=by,
        expected_version=subject.version,
    )


FIVE = {  # with the blood pressure: five results a panel
    "anc": ("0.8", "10^9/L"),
    "hb": ("130", "g/L"),
    "wbc": ("5", "10^9/L"),
    "plt": ("200", "10^9/L"),
}


def open_anc_queries(subject):
    anc = LabResult.objects.filter(panel__subject=subject, analyte="anc").values("pk")
    return Query.objects.filter(
        subject=subject,
        record_type="safety.labresult",
        record_id__in=anc,
        status=Query.Status.OPEN,
        origin="system",
    ).count()


def test_ae_and_lab_writes_cost_the_same_with_5_or_60_lab_results(
    treated, site_a, coordinator_a, investigator_a
):
    add_reference_ranges(site_a)
    small, large = treated, second_subject(site_a, coordinator_a)
    record_panels(small, coordinator_a, 0, 1, **FIVE)
    record_panels(large, coordinator_a, 0, 12, **FIVE)
    assert LabResult.objects.filter(panel__subject=small).count() == 5
    assert LabResult.objects.filter(panel__subject=large).count() == 60
    assert (open_anc_queries(small), open_anc_queries(large)) == (1, 12)

    def neutropenia(subject):
        return lambda: services.record_ae(
            subject=subject,
            by=coordinator_a,
            term=term("Neutrophil count decreased"),
            grade=3,
            onset_date=D(2026, 1, 6),
            ongoing=True,
            outcome="not_recovered",
        )

    small_ae, small_event = counted(neutropenia(small))
    large_ae, large_event = counted(neutropenia(large))
    assert small_ae == large_ae
    # the AE covers every ANC value of its subject: each query closed
    assert (open_anc_queries(small), open_anc_queries(large)) == (0, 0)

    def ended(event):  # ended before the first sample: every ANC value is open again
        return lambda: services.update_ae(
            ae=event,
            by=coordinator_a,
            expected_version=event.version,
            reason="Onset corrected from the source",
            changes={"onset_date": D(2026, 1, 2), "end_date": D(2026, 1, 3), "ongoing": False},
        )

    small_update, _ = counted(ended(small_event))
    large_update, _ = counted(ended(large_event))
    assert small_update == large_update
    assert (open_anc_queries(small), open_anc_queries(large)) == (1, 12)

    def panel(subject):
        return lambda: record_panels(subject, coordinator_a, 40, 41, **FIVE)

    small_panel, _ = counted(panel(small))
    large_panel, _ = counted(panel(large))
    assert small_panel == large_panel

"""The log pages: forms post to the services (errors beside the field, 422), corrections
need a reason and the version (409 page on a stale one), the prohibited-medication flag is
shown, the site's names are offered, the AE form warns of a baseline condition, and the
lists answer in the same number of queries for 1 and 30 rows."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from logs import services
from logs.models import ConMed, Deviation
from safety.models import CtcaeTerm
from tests.logs.conftest import con_med, history

D = dt.date
pytestmark = pytest.mark.django_db


def con_med_post(**overrides):
    data = {
        "name": "Amlodipine",
        "indication": "Hypertension",
        "dose": "5",
        "unit": "mg",
        "route": "oral",
        "frequency": "qd",
        "start_date": "2026-01-10",
        "ongoing": "on",
    }
    return data | overrides


def test_a_coordinator_records_a_con_med_on_the_page(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(reverse("logs:con_med_new", args=[treated.pk]), con_med_post())
    assert response.status_code == 302
    assert response.url == reverse("logs:con_meds", args=[treated.pk])
    assert ConMed.objects.get().dose == Decimal("5")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"dose": "0"}, "dose", "The dose must be above 0 and at most 100000."),
        ({"start_date": "2026-03-03"}, "start_date", "The date cannot be in the future."),
        ({"start_date": "1899-12-31"}, "start_date", "Enter a date between 1900-01-01"),
        ({"stop_date": "2026-02-01"}, "stop_date", "not both"),
        ({"dose": "abc"}, "dose", "Enter a number."),
    ],
)
def test_a_refused_con_med_shows_the_error_beside_the_field(
    client, treated, coordinator_a, overrides, field, message
):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("logs:con_med_new", args=[treated.pk]), con_med_post(**overrides)
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert not ConMed.objects.exists()


def test_the_page_shows_the_prohibited_flag(client, treated, coordinator_a):
    cm = con_med(treated, coordinator_a, name="Sunitinib")
    client.force_login(coordinator_a)
    page = client.get(reverse("logs:con_meds", args=[treated.pk])).content.decode()
    assert 'data-flag="vegfr_tki"' in page
    form = client.get(reverse("logs:con_med", args=[treated.pk, cm.pk])).content.decode()
    assert 'id="con-med-flag"' in form and "VEGFR" in form


def test_a_correction_needs_a_reason_and_a_stale_version_gets_the_conflict_page(
    client, treated, coordinator_a
):
    cm = con_med(treated, coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("logs:con_med", args=[treated.pk, cm.pk])
    body = con_med_post(name="Paracetamol", dose="1000", indication="Headache", frequency="prn")
    no_reason = client.post(url, body | {"version": "1", "reason": ""})
    assert no_reason.status_code == 422 and no_reason.context["form"].errors["reason"]
    stale = client.post(url, body | {"version": "0", "reason": "Dose"})
    assert stale.status_code == 409
    done = client.post(url, body | {"version": "1", "reason": "Dose misread"})
    assert done.status_code == 302
    cm.refresh_from_db()
    assert (cm.dose, cm.version) == (Decimal("1000"), 2)


def test_the_names_already_used_at_the_site_are_offered(
    client, treated, coordinator_a, subject_b, coordinator_b
):
    con_med(treated, coordinator_a, name="Omeprazole")
    con_med(subject_b, coordinator_b, name="Ondansetron", start_date=D(2026, 1, 1))
    client.force_login(coordinator_a)
    url = reverse("logs:con_med_names", args=[treated.pk])
    page = client.get(url, {"name": "O"}).content.decode()
    assert 'value="Omeprazole"' in page and "Ondansetron" not in page  # the other site's
    assert client.get(url, {"name": ""}).content.decode().strip() == ""


def test_a_coordinator_records_medical_history_by_ctcae_term(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("logs:history_new", args=[treated.pk])
    assert 'value="Hypertension"' in client.get(url).content.decode()  # the term list
    bad = client.post(url, {"term": "Hypertensionn", "start_date": "2020-01-01", "ongoing": "on"})
    assert bad.status_code == 422 and "not a CTCAE" in " ".join(bad.context["form"].errors["term"])
    done = client.post(
        url,
        {
            "term": "hypertension",
            "start_date": "2020-01-01",
            "ongoing": "on",
            "baseline_grade": "2",
        },
    )
    assert done.status_code == 302
    assert treated.medical_history.get().term.term == "Hypertension"


def test_the_ae_form_asks_whether_a_baseline_condition_worsened(client, treated, coordinator_a):
    term = CtcaeTerm.objects.get(term="Hypertension")
    history(treated, coordinator_a, term=term, condition="", baseline_grade=2)
    client.force_login(coordinator_a)
    url = reverse("logs:baseline_match", args=[treated.pk])
    same = client.get(url, {"term": term.pk, "grade": 2}).content.decode()
    assert 'id="baseline-match-warning"' in same and "Has it worsened?" in same
    worse = client.get(url, {"term": term.pk, "grade": 3}).content.decode()
    assert "baseline-match-warning" not in worse
    assert client.get(url, {"grade": "x"}).status_code == 400
    prefilled = client.get(
        reverse("safety:ae_new", args=[treated.pk]), {"term": term.pk, "grade": 1}
    ).content.decode()
    assert 'id="baseline-match-warning"' in prefilled
    fresh = client.get(reverse("safety:ae_new", args=[treated.pk])).content.decode()
    assert 'id="baseline-match"' in fresh and "baseline-match-warning" not in fresh


def test_the_site_confirms_and_dismisses_a_deviation_on_the_page(client, treated, coordinator_a):
    dev = services.record_deviation(
        subject=treated,
        by=coordinator_a,
        category="dosing",
        description="x",
        occurred_on=D(2026, 2, 1),
    )
    client.force_login(coordinator_a)
    url = reverse("logs:deviation_decide", args=[treated.pk, dev.pk])
    no_reason = client.post(url, {"version": "1", "decision": "dismiss", "reason": ""})
    assert no_reason.status_code == 422
    done = client.post(url, {"version": "1", "decision": "dismiss", "reason": "Duplicate entry"})
    assert done.status_code == 302
    assert Deviation.objects.get().status == "dismissed"
    assert client.post(url, {"version": "1", "decision": "confirm"}).status_code == 409
    page = client.get(reverse("logs:deviations", args=[treated.pk])).content.decode()
    assert 'data-status="dismissed"' in page and "Duplicate entry" in page


def test_a_monitor_reads_the_lists_without_links_to_edit(client, treated, coordinator_a, monitor_a):
    con_med(treated, coordinator_a)
    client.force_login(monitor_a)
    page = client.get(reverse("logs:con_meds", args=[treated.pk])).content.decode()
    assert "Paracetamol" in page and "new-con-med-link" not in page


# --- the same number of queries for 1 and 30 rows ---------------------------------------------


def counted(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response


def test_the_log_lists_do_not_query_per_row(client, treated, coordinator_a):
    ae_term = CtcaeTerm.objects.get(term="Fatigue")
    mh = history(treated, coordinator_a, term=ae_term, condition="")
    client.force_login(coordinator_a)
    urls = {
        name: reverse(f"logs:{name}", args=[treated.pk])
        for name in ("con_meds", "history", "deviations")
    }

    def add(i):
        con_med(
            treated,
            coordinator_a,
            name="Sorafenib" if i % 2 else "Paracetamol",
            indication_history=mh,
            start_date=D(2026, 1, 6) + dt.timedelta(days=i),
        )
        history(treated, coordinator_a, term=ae_term, condition="", start_date=D(2020, 1, 1 + i))
        services.record_deviation(
            subject=treated,
            by=coordinator_a,
            category="dosing",
            description=f"d{i}",
            occurred_on=D(2026, 1, 6) + dt.timedelta(days=i),
        )

    add(0)
    one = {name: counted(client, url)[0] for name, url in urls.items()}
    for i in range(1, 30):
        add(i)
    thirty = {}
    for name, url in urls.items():
        thirty[name], response = counted(client, url)
        assert response.content.decode().count("data-") >= 30
    assert thirty == one

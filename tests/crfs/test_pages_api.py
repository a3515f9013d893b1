"""Visit CRF pages and API: the visit page lists what the schedule asks, a form page records
and corrects through the one service (errors beside the fields, 422, nothing stored), another
site's user gets 404, a monitor reads but may not write; the API returns the derived values
and the AE offers, refuses with codes; a subject with 35 cycles of complete visits costs as
many SQL queries as one with 1."""

import datetime as dt
import time
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crfs import services
from crfs.models import DIPSTICK_READINGS, Ecog, PhysicalExam, Review, Urinalysis, VitalSigns
from dosing.models import Dispensing
from safety.models import AdverseEvent, CtcaeTerm, LabPanel
from tests.api_errors import error_codes
from tests.subjects.test_api import Api

D = dt.date
DAY = D(2026, 1, 5)


def vitals_post(**over):
    data = {
        "assessed_on": "2026-01-05",
        "systolic": "165",
        "diastolic": "95",
        "heart_rate": "80",
        "temperature": "36.9",
        "weight": "70.0",
        "height": "",
        "not_done_reason": "",
    }
    return data | over


def form_url(visit, key):
    return reverse("crfs:form", args=[visit.subject_id, visit.pk, key])


def test_visit_page_lists_the_crfs_the_schedule_asks(client, coordinator_a, visit):
    client.force_login(coordinator_a)
    c2 = visit("C2D1")
    page = client.get(reverse("crfs:visit", args=[c2.subject_id, c2.pk])).content.decode()
    for key in ("vital_signs", "ecog", "lab_panel", "dispensing", "ae_review"):
        assert f'data-form="{key}"' in page
    assert 'data-form="ecg"' not in page  # C2: no ECG (C1, C3, C5...)
    assert 'data-state="not_started"' in page
    c3 = visit("C3D1")
    page = client.get(reverse("crfs:visit", args=[c3.subject_id, c3.pk])).content.decode()
    assert 'data-form="ecg"' in page and 'data-form="thyroid_function"' in page


def test_form_page_records_then_corrects_with_a_reason(client, coordinator_a, visit):
    client.force_login(coordinator_a)
    c1 = visit("C1D1")
    bad = client.post(form_url(c1, "vital_signs"), vitals_post(systolic="350"))
    assert bad.status_code == 422
    assert "expected 50–300" in bad.content.decode()
    assert not VitalSigns.objects.exists()
    ok = client.post(form_url(c1, "vital_signs"), vitals_post())
    assert ok.status_code == 302
    row = VitalSigns.objects.get()
    assert row.hypertension_grade == 3  # 165/95: SBP >= 160 is grade 3
    page = client.get(form_url(c1, "vital_signs")).content.decode()
    assert 'id="ae-offers"' in page and "Hypertension" in page
    assert "onset_date=2026-01-05" in page
    # the correction needs a reason: refused beside the field, nothing changed
    no_reason = client.post(form_url(c1, "vital_signs"), vitals_post(systolic="150", version="1"))
    assert no_reason.status_code == 422
    assert VitalSigns.objects.get().systolic == 165
    fixed = client.post(
        form_url(c1, "vital_signs"),
        vitals_post(systolic="150", version="1", reason="Transcription error"),
    )
    assert fixed.status_code == 302
    row = VitalSigns.objects.get()
    assert (row.systolic, row.version, row.hypertension_grade) == (150, 2, 2)


def test_the_ae_offer_goes_once_the_ae_is_recorded(client, coordinator_a, visit):
    c1 = visit("C1D1")
    services.save_crf(
        visit=c1,
        form_key="vital_signs",
        by=coordinator_a,
        values={
            "assessed_on": DAY,
            "systolic": 165,
            "diastolic": 95,
            "heart_rate": 80,
            "temperature": Decimal("36.9"),
            "weight": Decimal("70"),
            "height": None,
            "not_done_reason": "",
        },
    )
    from crfs.selectors import offered_aes
    from queries.models import Query
    from safety.services import record_ae

    row = VitalSigns.objects.get()
    assert [o["term"].term for o in offered_aes(row)] == ["Hypertension"]
    query = Query.objects.get(edit_check=services.GRADE_CHECK, record_id=row.pk)
    assert query.status == "open" and "Hypertension grade 3" in query.text
    record_ae(
        subject=c1.subject,
        by=coordinator_a,
        term=CtcaeTerm.objects.get(term="Hypertension"),
        grade=3,
        onset_date=DAY,
        outcome=AdverseEvent.Outcome.NOT_RECOVERED,
        ongoing=True,
    )
    assert offered_aes(row) == []
    query.refresh_from_db()
    assert query.status == "closed"  # the AE now covers the reading


def test_preview_computes_without_saving(client, coordinator_a, visit):
    client.force_login(coordinator_a)
    c1 = visit("C1D1")
    url = reverse("crfs:preview", args=[c1.subject_id, c1.pk, "ecg"])
    answer = client.post(
        url,
        {
            "assessed_on": "2026-01-05",
            "qt": "400",
            "rr": "800",
            "heart_rate": "",
            "interpretation": "normal",
        },
    )
    assert answer.status_code == 200
    assert "431" in answer.content.decode()  # 400 / 0.8^(1/3)
    assert not services.current_record(c1, services.FORMS["ecg"])


def test_other_site_404_and_monitor_reads_only(
    client, coordinator_b, monitor_a, coordinator_a, visit
):
    c1 = visit("C1D1")
    client.force_login(coordinator_b)
    assert client.get(reverse("crfs:visit", args=[c1.subject_id, c1.pk])).status_code == 404
    assert client.get(form_url(c1, "ecog")).status_code == 404
    client.force_login(monitor_a)
    page = client.get(form_url(c1, "ecog"))
    assert page.status_code == 200 and "Read only" in page.content.decode()
    refused = client.post(form_url(c1, "ecog"), {"assessed_on": "2026-01-05", "score": "1"})
    assert refused.status_code == 403
    assert not Ecog.objects.exists()
    # a CRF the visit does not have is not a page
    client.force_login(coordinator_a)
    assert client.get(form_url(visit("SCR"), "ecog")).status_code == 404
    assert client.get(form_url(c1, "no_such_form")).status_code == 404


def test_api_records_reads_and_corrects(client, coordinator_a, monitor_a, visit):
    api = Api(client, coordinator_a)
    c1 = visit("C1D1")
    path = f"/visits/{c1.pk}/crfs/urinalysis"
    refused = api.post(path, {"assessed_on": "2026-01-05", "protein_dipstick": "3+"})
    assert error_codes(refused) == {"protein_24h": ["required"]}
    implausible = api.post(
        path, {"assessed_on": "2026-01-05", "protein_dipstick": "3+", "protein_24h": "51"}
    )
    assert error_codes(implausible) == {"protein_24h": ["implausible_value"]}
    created = api.post(
        path, {"assessed_on": "2026-01-05", "protein_dipstick": "3+", "protein_24h": "3.5"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["derived"]["proteinuria_grade"] == 3  # >= 3.5 g/24 h
    assert [o["term"] for o in body["ae_offers"]] == ["Proteinuria"]
    assert api.get(path).json()["version"] == 1
    again = api.post(path, {"assessed_on": "2026-01-05", "protein_dipstick": "1+"})
    assert error_codes(again) == {None: ["already_recorded"]}
    stale = api.send(
        "PUT",
        path,
        {"assessed_on": "2026-01-05", "protein_dipstick": "1+", "version": 9, "reason": "x"},
    )
    assert stale.status_code == 409
    fixed = api.send(
        "PUT",
        path,
        {"assessed_on": "2026-01-05", "protein_dipstick": "1+", "version": 1, "reason": "Misread"},
    )
    assert fixed.status_code == 200 and fixed.json()["derived"]["proteinuria_grade"] == 1
    assert Urinalysis.objects.get().version == 2
    forms = api.get(f"/visits/{c1.pk}/crfs").json()
    assert forms["state"] == "incomplete"
    # C1D1 not held (no date): never late; the clock is 2026-03-02
    assert forms["days_late"] is None
    assert {f["form"]: f["state"] for f in forms["forms"]}["urinalysis"] == "complete"
    monitor = Api(client, monitor_a)
    assert monitor.get(path).status_code == 200
    assert (
        monitor.send(
            "PUT",
            path,
            {"assessed_on": "2026-01-05", "protein_dipstick": "2+", "version": 2, "reason": "x"},
        ).status_code
        == 403
    )
    bad_choice = api.post(f"/visits/{c1.pk}/crfs/ecog", {"assessed_on": "2026-01-05", "score": 7})
    assert bad_choice.status_code == 422


# --- 35 cycles of complete visits cost what 1 costs -------------------------------------------


def complete_cycles(subject, user, upto: int) -> None:
    """Every CRF of cycles 1..upto, written in bulk (the state only reads their existence)."""
    from crfs.soa import expected_forms

    visits = list(
        subject.visits.filter(kind="cycle", number__lte=upto).exclude(
            pk__in=VitalSigns.objects.values("visit_id")
        )
    )
    common = {"subject": subject, "recorded_by": user}
    rows = {model: [] for model in (VitalSigns, Ecog, PhysicalExam, Urinalysis, Review)}
    panels, dispensed = [], []
    for v in visits:
        day = v.target_date
        v.actual_date = day
        v.save(update_fields=["actual_date"])
        base = common | {"visit": v, "assessed_on": day}
        rows[VitalSigns].append(VitalSigns(**base, systolic=120, diastolic=80, weight=70))
        rows[Ecog].append(Ecog(**base, score=0))
        rows[PhysicalExam].append(PhysicalExam(**base, result="normal"))
        rows[Urinalysis].append(Urinalysis(**base, protein_dipstick=DIPSTICK_READINGS[0]))
        for kind in ("con_med_review", "ae_review"):
            rows[Review].append(Review(**base, kind=kind, answer="none"))
        panels.append(LabPanel(subject=subject, visit=v, sample_date=day, recorded_by=user))
        dispensed.append(
            Dispensing(
                subject=subject,
                dispensed_on=day,
                strength_mg=12,
                lot_number="L1",
                expiry=D(2030, 1, 1),
                capsules=28,
            )
        )
        keys = [k for k, _n in expected_forms("cycle", v.number)]
        if "ecg" in keys:
            from crfs.models import Ecg, ThyroidFunction

            rows.setdefault(Ecg, []).append(
                Ecg(**base, qt=400, rr=1000, interpretation="normal", qtcf=400)
            )
            rows.setdefault(ThyroidFunction, []).append(
                ThyroidFunction(**base, tsh=Decimal("2"), ft4=Decimal("15"))
            )
    for model, objs in rows.items():
        model.objects.bulk_create(objs)
    LabPanel.objects.bulk_create(panels)
    Dispensing.objects.bulk_create(dispensed)


def measured(client, url):
    client.get(url)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return len(captured), elapsed, response.content.decode()


def test_35_complete_cycles_cost_the_queries_of_1(client, coordinator_a, visit, treated, capsys):
    client.force_login(coordinator_a)
    subject = treated
    detail = reverse("subjects:detail", args=[subject.pk])
    c1 = visit("C1D1")
    page = reverse("crfs:visit", args=[subject.pk, c1.pk])
    complete_cycles(subject, coordinator_a, 1)
    one_detail, t1, html = measured(client, detail)
    one_page, p1, visit_html = measured(client, page)
    assert 'data-crf-state="complete"' in html
    assert 'data-state="complete"' in visit_html
    complete_cycles(subject, coordinator_a, 35)
    many_detail, t35, html = measured(client, detail)
    many_page, p35, _ = measured(client, page)
    assert html.count('data-crf-state="complete"') >= 3  # the rows the timeline shows
    assert (one_detail, one_page) == (many_detail, many_page)
    with capsys.disabled():
        print(
            f"\n[issue 13] subject timeline: {one_detail} SQL, {t1 * 1000:.0f} ms with 1 cycle; "
            f"{many_detail} SQL, {t35 * 1000:.0f} ms with 35. Visit page: {one_page} SQL, "
            f"{p1 * 1000:.0f} ms / {many_page} SQL, {p35 * 1000:.0f} ms"
        )
    states = services.completeness_of(subject.visits.filter(kind="cycle", number__lte=35))
    assert {s.state.value for s in states.values()} == {"complete"}


def test_a_crf_list_costs_the_same_queries_for_1_and_30_visits(client, coordinator_a, treated):
    """Each row's AE offers too: Urinalysis 3+ (proteinuria grade 2) at every visit."""
    api = Api(client, coordinator_a)
    visits = list(treated.visits.filter(kind="cycle").order_by("number")[:30])
    rows = [
        Urinalysis(
            subject=treated,
            visit=v,
            assessed_on=DAY,
            recorded_by=coordinator_a,
            protein_dipstick="3+",
            proteinuria_grade=2,
        )
        for v in visits
    ]
    Urinalysis.objects.bulk_create(rows[:1])
    path = f"/subjects/{treated.pk}/crfs/urinalysis?page_size=30"
    api.get(path)
    with CaptureQueriesContext(connection) as one:
        first = api.get(path)
    Urinalysis.objects.bulk_create(rows[1:])
    with CaptureQueriesContext(connection) as thirty:
        answer = api.get(path)
    assert len(first.json()) == 1 and len(answer.json()) == 30
    assert answer.json()[0]["ae_offers"][0]["term"] == "Proteinuria"
    assert len(one) == len(thirty)


def test_a_query_on_a_visit_crf_links_to_its_page(client, coordinator_a, visit):
    """The "grade without an AE" query of a vital signs CRF opens that CRF from the list."""
    c1 = visit("C1D1")
    client.force_login(coordinator_a)
    client.post(form_url(c1, "vital_signs"), vitals_post())
    page = client.get(reverse("queries:list")).content.decode()
    assert form_url(c1, "vital_signs") in page

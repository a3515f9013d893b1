"""Safety pages on real records (clock 2026-03-02 10:00 in Guangzhou; C1D1 2026-01-05).

Values by hand from CTCAE 4.03: ANC 0.8 x10^9/L is "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L":
grade 3 of Neutrophil count decreased; Neutrophil count decreased has no grade 5 ("-").
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from dosing import services as dosing_services
from queries.models import Query
from safety import services
from safety.models import AdverseEvent, GradeChange, LabPanel, SaeReport
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, add_reference_ranges
from tests.safety.conftest import term
from tests.subjects.test_api import Api

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


def stored():
    return (
        AdverseEvent.objects.count(),
        GradeChange.objects.count(),
        SaeReport.objects.count(),
        LabPanel.objects.count(),
        AuditEvent.objects.count(),
    )


def hypertension(subject, by, *, grade, onset, **extra):
    """An ongoing hypertension recorded through the service."""
    return services.record_ae(
        subject=subject,
        by=by,
        term=term("Hypertension"),
        grade=grade,
        onset_date=onset,
        outcome="not_recovered",
        ongoing=True,
        **extra,
    )


SERIOUS = {"serious": True, "sae_hospitalisation": True}


def ae_post(t, grade, **extra):
    data = {
        "term": t.pk,
        "grade": grade,
        "onset_date": "2026-02-20",
        "ongoing": "on",
        "action_taken": "none",
        "outcome": "not_recovered",
    }
    data.update(extra)
    return data


def test_term_search_by_words_soc_and_code(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:term_search")
    page = client.get(url, {"q": "hypertens"}).content.decode()
    assert "Hypertension" in page and "Vascular disorders" in page
    page = client.get(url, {"q": str(term("Hypertension").meddra_code)}).content.decode()
    assert "Hypertension" in page
    assert "No CTCAE 4.03 term matches" in client.get(url, {"q": "zzzq"}).content.decode()


def test_grade_buttons_only_for_grades_the_term_has(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    anc = term("Neutrophil count decreased")
    page = client.get(reverse("safety:term_grades", args=[anc.pk])).content.decode()
    for g in (1, 2, 3, 4):
        assert f'id="grade-{g}"' in page
    assert 'id="grade-5"' not in page  # "-" in the dictionary: cannot be chosen
    assert "&lt;1.0 - 0.5 x 10e9 /L" in page  # the wording of grade 3 beside its button


def test_record_ae_from_the_page(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("safety:ae_new", args=[subject.pk]), ae_post(term("Hypertension"), 3)
    )
    assert response.status_code == 302
    ae = AdverseEvent.objects.get()
    assert ae.grade == 3 and ae.term.term == "Hypertension" and ae.ongoing
    assert ae.grade_changes.count() == 1
    page = client.get(response.url).content.decode()
    assert "Hypertension" in page and 'id="causality-missing"' in page


@pytest.mark.parametrize(
    ("name", "grade", "extra", "field"),
    [
        ("Neutrophil count decreased", 5, {}, "grade"),  # no grade 5 for this term
        ("Vascular disorders - Other, specify", 2, {}, "verbatim"),  # verbatim needed
        ("Hypertension", 2, {"ongoing": "", "end_date": "2026-02-19"}, "end_date"),  # < onset
        ("Hypertension", 2, {"onset_date": "2025-12-19"}, "onset_date"),  # before consent 12-20
        ("Hypertension", 3, {"serious": "on"}, "serious"),  # SAE without a criterion
    ],
    ids=["grade-not-allowed", "other-specify", "end-before-onset", "before-consent", "sae"],
)
def test_invalid_ae_shows_the_error_by_the_field(
    client, subject, coordinator_a, name, grade, extra, field
):
    client.force_login(coordinator_a)
    before = stored()
    response = client.post(
        reverse("safety:ae_new", args=[subject.pk]), ae_post(term(name), grade, **extra)
    )
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert stored() == before


def test_serious_ae_opens_the_24_hour_report_and_the_pdf(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    data = ae_post(
        term("Hypertension"),
        3,
        serious="on",
        sae_hospitalisation="on",
        learned_on="2026-03-02T09:00",
        treatment_given="Amlodipine 5 mg",
    )
    response = client.post(reverse("safety:ae_new", args=[subject.pk]), data)
    assert response.status_code == 302
    ae = AdverseEvent.objects.get()
    report = ae.sae_reports.get()
    # learned 09:00 Guangzhou (01:00 UTC) -> due 24 h later, 2026-03-03 01:00 UTC
    assert report.due_at == dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)
    pdf = client.get(reverse("safety:sae_pdf", args=[subject.pk, ae.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "sae-form.pdf").write_bytes(pdf.content)  # looked at as PNG (pdftoppm)
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "Serious adverse event report" in text
    assert "Hypertension" in text and "requires or prolongs hospitalisation" in text
    assert "2026-03-03 01:00 UTC" in text and "Amlodipine 5 mg" in text


SCRIPT = "<script>alert(1)</script>"


def test_clinical_text_with_angle_brackets_is_kept_and_shown_escaped(
    client, subject, coordinator_a
):
    """Issue 10.9: "ANC < 0.5" is stored as typed; the page and the SAE PDF show it as text."""
    client.force_login(coordinator_a)
    data = ae_post(
        term("Hypertension"),
        3,
        serious="on",
        sae_hospitalisation="on",
        verbatim=f"BP > 180/110 {SCRIPT}",
        treatment_given="Held while ANC < 0.5 and Platelets < 50",
    )
    response = client.post(reverse("safety:ae_new", args=[subject.pk]), data)
    assert response.status_code == 302
    ae = AdverseEvent.objects.get()
    assert ae.verbatim == f"BP > 180/110 {SCRIPT}"
    assert ae.treatment_given == "Held while ANC < 0.5 and Platelets < 50"

    html = client.get(response.url).content.decode()
    assert "Held while ANC &lt; 0.5 and Platelets &lt; 50" in html
    assert "BP &gt; 180/110 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT not in html

    pdf = client.get(reverse("safety:sae_pdf", args=[subject.pk, ae.pk]))
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "Held while ANC < 0.5 and Platelets < 50" in text
    assert SCRIPT in text  # printed as the text it is, never run as markup


def test_grade_change_is_kept_as_history(client, subject, coordinator_a):
    ae = hypertension(subject, coordinator_a, grade=2, onset=D(2026, 2, 10))
    client.force_login(coordinator_a)
    url = reverse("safety:ae", args=[subject.pk, ae.pk])
    data = ae_post(term("Hypertension"), 3, onset_date="2026-02-10", version=ae.version)
    data |= {"grade_from": "2026-02-24", "reason": "BP 165/100 on 2026-02-24"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    steps = list(ae.grade_changes.order_by("from_date").values_list("grade", "from_date"))
    assert steps == [(2, D(2026, 2, 10)), (3, D(2026, 2, 24))]
    page = client.get(url).content.decode()
    # grade 2 from 02-10 to 02-23 (14 days), grade 3 from 02-24 to today 03-02 (7 days)
    assert "grade 2: 14 days" in page and "grade 3: 7 days" in page


def test_a_correction_without_its_version_says_why_instead_of_a_conflict(
    client, subject, coordinator_a
):
    """Issue 10.11: without the version the AE page answered with the conflict page (409) as
    if someone else had saved; now it says the version is missing and saves nothing."""
    ae = hypertension(subject, coordinator_a, grade=2, onset=D(2026, 2, 10))
    client.force_login(coordinator_a)
    data = ae_post(term("Hypertension"), 3, onset_date="2026-02-10")
    data |= {"grade_from": "2026-02-24", "reason": "BP 165/100 on 2026-02-24"}
    before = stored()

    response = client.post(reverse("safety:ae", args=[subject.pk, ae.pk]), data)

    assert response.status_code == 422
    codes = [e.code for e in response.context["form"].non_field_errors().as_data()]
    assert codes == ["version_missing"]
    assert "sent without the version of the record" in response.content.decode()
    assert stored() == before


def test_causality_is_signed_by_the_investigator_only(
    client, subject, coordinator_a, investigator_a
):
    ae = hypertension(subject, coordinator_a, grade=3, onset=D(2026, 2, 20))
    url = reverse("safety:causality", args=[subject.pk, ae.pk])
    body = {"version": ae.version, "relationship": "probable", "password": PASSWORD}
    client.force_login(coordinator_a)
    assert client.post(url, body).status_code == 403
    client.force_login(investigator_a)
    wrong = client.post(url, body | {"password": "not-it"})
    assert wrong.status_code == 422
    assert "password" in wrong.context["causality_form"].errors
    ae.refresh_from_db()
    assert not ae.causality_signed
    assert client.post(url, body).status_code == 302
    ae.refresh_from_db()
    assert ae.relationship == "probable" and ae.causality_signed_by == investigator_a


def test_monitor_reads_but_cannot_write(client, subject, coordinator_a, monitor_a):
    ae = hypertension(subject, coordinator_a, grade=2, onset=D(2026, 2, 20))
    client.force_login(monitor_a)
    assert client.get(reverse("safety:ae_list", args=[subject.pk])).status_code == 200
    detail = client.get(reverse("safety:ae", args=[subject.pk, ae.pk]))
    assert detail.status_code == 200 and 'id="ae-form"' not in detail.content.decode()
    assert client.get(reverse("safety:ae_new", args=[subject.pk])).status_code == 403
    before = stored()
    response = client.post(
        reverse("safety:ae_new", args=[subject.pk]), ae_post(term("Hypertension"), 2)
    )
    assert response.status_code == 403
    assert stored() == before


def test_other_site_gets_404(client, subject, coordinator_a, coordinator_b):
    ae = hypertension(subject, coordinator_a, grade=2, onset=D(2026, 2, 20))
    client.force_login(coordinator_b)
    for name, args in (
        ("ae_list", [subject.pk]),
        ("ae_new", [subject.pk]),
        ("ae", [subject.pk, ae.pk]),
        ("labs", [subject.pk]),
    ):
        assert client.get(reverse(f"safety:{name}", args=args)).status_code == 404


def test_lab_panel_grades_anc_and_offers_the_ae(client, subject, site_a, coordinator_a):
    add_reference_ranges(site_a)
    client.force_login(coordinator_a)
    url = reverse("safety:labs", args=[subject.pk])
    data = {
        "sample_date": "2026-03-02",
        "anc-value": "0.8",
        "anc-unit": "10^9/L",
        "hb-value": "120",
        "hb-unit": "g/L",
        "tsh-value": "9.5",
        "tsh-unit": "mIU/L",
        "systolic": "150",
        "diastolic": "85",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    page = client.get(url).content.decode()
    # ANC 0.8 < 1.0 -> grade 3, coloured, offered as an AE; Hb 120 >= LLN 115: grade 0;
    # TSH by clinical judgement: no grade; 150/85: SBP 140-159 -> hypertension grade 2
    assert 'data-analyte="anc" data-grade="3" class="graded graded-3"' in page
    assert 'data-analyte="hb" data-grade="0"' in page
    assert 'data-analyte="tsh" data-grade=""' in page
    assert 'data-analyte="blood_pressure" data-grade="2"' in page
    assert page.count('class="btn btn-sm btn-warning offer-ae text-nowrap"') == 2  # ANC 3 and BP 2
    panel = LabPanel.objects.get()
    anc = panel.results.get(analyte="anc")
    offer = services.offered_aes(panel)
    prefill = next(o.prefill for o in offer if o.result == anc)
    form_page = client.get(
        reverse("safety:ae_new", args=[subject.pk]),
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in prefill.items()},
    ).content.decode()
    assert 'id="chosen-term">Neutrophil count decreased<' in form_page
    assert 'id="grade-3" data-grade="3" aria-pressed="true"' in form_page
    body = ae_post(term("Neutrophil count decreased"), 3, onset_date="2026-03-02")
    body["lab_result"] = anc.pk
    assert client.post(reverse("safety:ae_new", args=[subject.pk]), body).status_code == 302
    page = client.get(url).content.decode()
    assert page.count('class="btn btn-sm btn-warning offer-ae text-nowrap"') == 1  # only BP left


def test_lab_unit_not_offered_refused_by_the_field(client, subject, site_a, coordinator_a):
    add_reference_ranges(site_a)
    client.force_login(coordinator_a)
    before = stored()
    response = client.post(
        reverse("safety:labs", args=[subject.pk]),
        {"sample_date": "2026-03-02", "anc-value": "0.8", "anc-unit": "mg/dL"},
    )
    assert response.status_code == 422
    assert "anc-unit" in response.context["form"].errors
    assert stored() == before


def test_sae_listing_overdue_first_and_scoped(
    client, subject, coordinator_a, coordinator_b, data_manager
):
    def sae(onset, learned):
        return hypertension(
            subject, coordinator_a, grade=3, onset=onset, learned_on=learned, **SERIOUS
        )

    tz = dt.timezone(dt.timedelta(hours=8))
    sae(D(2026, 3, 2), dt.datetime(2026, 3, 2, 9, 0, tzinfo=tz))  # due tomorrow 09:00
    late = sae(D(2026, 2, 25), dt.datetime(2026, 2, 26, 8, 0, tzinfo=tz))  # due 02-27: overdue
    client.force_login(data_manager)
    page = client.get(reverse("safety:sae_list")).content.decode()
    first_row = page.index('data-state="overdue"')
    assert first_row < page.index('data-state="due"')
    assert f'href="/subjects/{subject.pk}/adverse-events/{late.pk}/"' in page
    client.force_login(coordinator_b)
    page = client.get(reverse("safety:sae_list")).content.decode()
    assert "No serious adverse event reported." in page


def test_action_links_to_the_dose_reduction(client, subject, coordinator_a):
    reduction = dosing_services.add_event(
        subject=subject,
        by=coordinator_a,
        kind="reduction",
        start=D(2026, 2, 16),
        dose_mg=10,
        reason="toxicity",
        detail="Hypertension grade 3",
    )
    client.force_login(coordinator_a)
    data = ae_post(term("Hypertension"), 3, action_taken="reduced", dose_event=reduction.pk)
    response = client.post(reverse("safety:ae_new", args=[subject.pk]), data)
    assert response.status_code == 302
    assert AdverseEvent.objects.get().dose_event == reduction
    wrong = ae_post(term("Hypertension"), 3, action_taken="interrupted", dose_event=reduction.pk)
    response = client.post(reverse("safety:ae_new", args=[subject.pk]), wrong)
    assert response.status_code == 422 and "dose_event" in response.context["form"].errors


def test_dashboard_counts_pending_and_overdue_sae_reports(client, subject, coordinator_a):
    tz = dt.timezone(dt.timedelta(hours=8))
    for learned in (dt.datetime(2026, 3, 2, 9, 0, tzinfo=tz), dt.datetime(2026, 2, 26, tzinfo=tz)):
        hypertension(
            subject, coordinator_a, grade=3, onset=learned.date(), learned_on=learned, **SERIOUS
        )
    client.force_login(coordinator_a)
    page = client.get(reverse("home")).content.decode()
    # two initial reports pending; the one learned 02-26 was due 02-27: overdue
    assert 'id="stat-sae"' in page and "2 <span" in page and "(1 overdue)" in page


def test_lab_page_queries_do_not_grow_with_panels(client, subject, site_a, coordinator_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_reference_ranges(site_a)
    client.force_login(coordinator_a)
    url = reverse("safety:labs", args=[subject.pk])
    counts = []
    for day in (D(2026, 2, 1), D(2026, 2, 8), D(2026, 2, 15)):
        services.record_lab_panel(
            subject=subject,
            by=coordinator_a,
            sample_date=day,
            values={"anc": ("0.8", "10^9/L"), "hb": ("118", "g/L")},
            systolic=150,
            diastolic=85,
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] == counts[2]


# --- an inconsistent record (issue 10.12) ----------------------------------------------------


def without_grade_history(ae: AdverseEvent) -> AdverseEvent:
    """A copy of ``ae`` stored with no grade-history row (no write path does that)."""
    broken = AdverseEvent.objects.get(pk=ae.pk)
    broken.pk = broken.id = None
    broken._state.adding = True
    broken.save()
    assert not broken.grade_changes.exists()
    return broken


def test_an_ae_without_its_grade_history_is_listed_flagged_and_reported(
    client, subject, coordinator_a, data_manager, caplog
):
    """One AE without its grade-history row made the whole AE list a 500 (page and API)."""
    good = hypertension(subject, coordinator_a, grade=2, onset=D(2026, 2, 10))
    worse = hypertension(subject, coordinator_a, grade=3, onset=D(2026, 2, 20))
    broken = without_grade_history(worse)
    client.force_login(coordinator_a)

    with caplog.at_level("ERROR", logger="safety.services"):
        response = client.get(reverse("safety:ae_list", args=[subject.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    rows = dict(re.findall(r'<tr data-ae="(\d+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {str(good.pk), str(worse.pk), str(broken.pk)}
    assert "inconsistent-record" in rows[str(broken.pk)]
    assert "inconsistent-record" not in rows[str(good.pk)] + rows[str(worse.pk)]
    assert "query" in rows[str(broken.pk)]  # its open query, shown on the row
    assert any(str(broken.pk) in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    query = Query.objects.get(record_id=broken.pk, edit_check=services.GRADE_HISTORY_CHECK)
    assert (query.status, query.origin, query.field) == ("open", "system", "grade")

    # shown again: still one query; the AE page, its PDF and the API list and detail answer too
    assert client.get(reverse("safety:ae_list", args=[subject.pk])).status_code == 200
    detail = client.get(reverse("safety:ae", args=[subject.pk, broken.pk]))
    assert detail.status_code == 200 and "inconsistent-record" in detail.content.decode()
    api = Api(client, coordinator_a)
    listed = api.get(f"/subjects/{subject.pk}/adverse-events")
    assert listed.status_code == 200
    worst = {row["id"]: row["worst_grade"] for row in listed.json()}
    assert worst == {good.pk: 2, worse.pk: 3, broken.pk: 3}
    assert api.get(f"/adverse-events/{broken.pk}").status_code == 200
    assert Query.objects.filter(record_id=broken.pk, status="open").count() == 1

    # the data manager sees it in the query list, linked to the event
    client.force_login(data_manager)
    queries = client.get(reverse("queries:list")).content.decode()
    assert reverse("safety:ae", args=[subject.pk, broken.pk]) in queries
    assert "no grade history" in queries


def test_term_search_page_finds_synonyms_and_abbreviations(client, subject, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("safety:term_search")
    assert "Palmar-plantar erythrodysesthesia syndrome" in (
        client.get(url, {"q": "hand-foot"}).content.decode()
    )
    assert "Alanine aminotransferase increased" in client.get(url, {"q": "ALT"}).content.decode()

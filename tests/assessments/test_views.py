"""Tumour-assessment pages on real records (clock 2026-03-02 in Guangzhou, C1D1 2026-01-05).

Baseline 2026-01-02: T1 liver 40, T2 lung 30, T3 node 30 (sum 100 mm); NT1 bone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from assessments.models import Lesion, Timepoint
from tests.assessments.test_services import NON_TARGETS, TARGETS, scan, stored

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


@pytest.fixture
def baseline(treated, coordinator_a):
    from assessments import services

    services.record_baseline(
        subject=treated, by=coordinator_a, targets=TARGETS, non_targets=NON_TARGETS
    )
    return treated


def row(prefix, lesion_id, organ, mm, *, node=False, method="CT", slice_mm="5"):
    return {
        f"{prefix}-lesion_id": lesion_id,
        f"{prefix}-organ": organ,
        f"{prefix}-location": f"{organ} lesion",
        f"{prefix}-method": method,
        f"{prefix}-slice_thickness_mm": slice_mm,
        f"{prefix}-baseline_date": "2026-01-02",
        f"{prefix}-diameter_mm": str(mm),
        **({f"{prefix}-is_node": "on"} if node else {}),
    }


def baseline_post(*rows):
    data = {}
    for r in rows:
        data.update(r)
    return data


def timepoint_post(on, t1, t2, t3, **extra):
    data = {
        "scan_date": on,
        "measurements-T1": "measured",
        "measurements-T1-mm": str(t1),
        "measurements-T2": "measured",
        "measurements-T2-mm": str(t2),
        "measurements-T3": "measured",
        "measurements-T3-mm": str(t3),
        "non_target_status": "non-CR/non-PD",
        "new_lesion": "no",
    }
    data.update(extra)
    return data


def test_overview_offers_the_baseline_first(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    page = client.get(reverse("assessments:overview", args=[treated.pk])).content.decode()
    assert 'id="baseline-link"' in page
    assert "No baseline lesions recorded." in page


def test_baseline_page_records_three_targets(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    data = baseline_post(
        row("targets-0", "T1", "liver", 40),
        row("targets-1", "T2", "lung", 30),
        row("targets-2", "T3", "lymph node", 30, node=True),
        {"non_targets-0-lesion_id": "NT1", "non_targets-0-organ": "bone"}
        | {"non_targets-0-method": "CT", "non_targets-0-baseline_date": "2026-01-02"},
    )
    response = client.post(reverse("assessments:baseline", args=[treated.pk]), data)
    assert response.status_code == 302
    lesions = {x.lesion_id: x for x in Lesion.objects.filter(subject=treated)}
    assert sorted(lesions) == ["NT1", "T1", "T2", "T3"]
    assert lesions["T3"].is_node and lesions["T3"].baseline_diameter_mm == 30
    page = client.get(response.url).content.decode()
    assert 'id="baseline-row"' in page and ">100<" in page  # baseline sum 100 mm, no trailing zero


@pytest.mark.parametrize(
    ("rows", "field", "code"),
    [
        (  # 9 mm on CT with 5 mm slices: RECIST 3.1.1 needs >= 10 mm
            [row("targets-0", "T1", "liver", 9)],
            "targets-0-diameter_mm",
            "not_measurable",
        ),
        (  # a third target in the liver (RECIST 4.2: 2 per organ)
            [row(f"targets-{i}", f"T{i + 1}", "liver", 20) for i in range(3)],
            "targets-2-organ",
            "too_many_targets_in_organ",
        ),
        (  # a 12 mm node as target: needs a short axis >= 15 mm
            [row("targets-0", "T1", "lymph node", 12, node=True)],
            "targets-0-diameter_mm",
            "node_not_measurable",
        ),
    ],
    ids=["9mm-ct", "third-in-liver", "12mm-node"],
)
def test_invalid_baseline_shows_the_error_by_the_field(
    client, treated, coordinator_a, rows, field, code
):
    client.force_login(coordinator_a)
    before = stored()
    response = client.post(reverse("assessments:baseline", args=[treated.pk]), baseline_post(*rows))
    assert response.status_code == 422
    errors = response.context["form"].errors.as_data()
    assert [e.code for e in errors[field]] == [code]
    assert stored() == before


def test_rows_must_be_filled_from_the_top(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("assessments:baseline", args=[treated.pk]),
        baseline_post(row("targets-1", "T2", "lung", 30)),
    )
    assert response.status_code == 422
    assert "targets-1-organ" in response.context["form"].errors
    assert not Lesion.objects.exists()


def test_new_assessment_page_records_and_overview_shows_response(client, baseline, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("assessments:new", args=[baseline.pk])
    response = client.post(url, timepoint_post("2026-02-16", 28, 21, 21))
    assert response.status_code == 302
    tp = Timepoint.objects.get(subject=baseline)
    assert tp.overall_response == "PR" and tp.sum_mm == Decimal("70")
    page = client.get(response.url).content.decode()
    assert "\u221230.00\u00a0%" in page
    assert 'id="bor"' in page  # one unconfirmed PR at day 42: BOR SD
    assert 'id="spider"' in page


def test_preview_computes_live_and_stores_nothing(client, baseline, coordinator_a):
    client.force_login(coordinator_a)
    before = stored()
    response = client.post(
        reverse("assessments:preview", args=[baseline.pk]),
        timepoint_post("2026-02-16", 28, 21, 21, investigator_response="SD"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="d-sum">70' in page
    assert "\u221230.00\u00a0%" in page
    assert 'id="d-overall">PR<' in page
    assert 'id="d-disagree"' in page  # SD entered against the computed PR
    assert stored() == before


def test_preview_waits_for_the_new_lesion_answer(client, baseline, coordinator_a):
    client.force_login(coordinator_a)
    data = timepoint_post("2026-02-16", 28, 21, 21, new_lesion="")
    page = client.post(reverse("assessments:preview", args=[baseline.pk]), data).content
    page = page.decode()
    assert 'id="d-target">PR<' in page
    assert 'id="d-pending"' in page and 'id="d-overall"' not in page


def test_disagreement_without_reason_refused_by_the_field(client, baseline, coordinator_a):
    client.force_login(coordinator_a)
    before = stored()
    response = client.post(
        reverse("assessments:new", args=[baseline.pk]),
        timepoint_post("2026-02-16", 28, 21, 21, investigator_response="SD"),
    )
    assert response.status_code == 422
    errors = response.context["form"].errors.as_data()
    assert [e.code for e in errors["disagreement_reason"]] == ["reason_required"]
    assert stored() == before


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"measurements-T1-mm": "-1"}, "measurements-T1", "diameter_negative"),
        ({"measurements-T1-mm": "501"}, "measurements-T1", "diameter_implausible"),
        ({"scan_date": "2026-01-01"}, "scan_date", "before_baseline"),  # baseline of 01-02
    ],
    ids=["negative", "over-500", "before-baseline"],
)
def test_bad_assessment_entries_refused(client, baseline, coordinator_a, change, field, code):
    client.force_login(coordinator_a)
    before = stored()
    data = timepoint_post("2026-02-16", 28, 21, 21) | change
    response = client.post(reverse("assessments:new", args=[baseline.pk]), data)
    assert response.status_code == 422
    assert [e.code for e in response.context["form"].errors.as_data()[field]] == [code]
    assert stored() == before


def test_correcting_an_assessment_from_its_page(client, baseline, coordinator_a):
    first, _ = scan(baseline, coordinator_a, D(2026, 1, 30), 28, 21, 21)
    first.refresh_from_db()
    client.force_login(coordinator_a)
    url = reverse("assessments:edit", args=[baseline.pk, first.pk])
    assert "Save correction" in client.get(url).content.decode()
    data = timepoint_post("2026-01-30", 38, 21, 21, version=first.version)
    response = client.post(url, data)  # no reason
    assert response.status_code == 422 and "reason" in response.context["form"].errors
    response = client.post(url, data | {"reason": "T1 misread: 38 mm"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.sum_mm == Decimal("80") and first.overall_response == "SD"
    # a second save with the version read before is a conflict, not an overwrite
    stale = client.post(url, data | {"reason": "again", "measurements-T1-mm": "28"})
    assert stale.status_code == 409


def test_correcting_a_baseline_lesion_from_its_page(client, baseline, coordinator_a):
    tp, _ = scan(baseline, coordinator_a, D(2026, 2, 16), 28, 21, 21)
    t1 = baseline.lesions.get(lesion_id="T1")
    client.force_login(coordinator_a)
    url = reverse("assessments:lesion", args=[baseline.pk, t1.pk])
    data = {
        "organ": "liver",
        "location": t1.location,
        "method": "CT",
        "slice_thickness_mm": "5",
        "baseline_date": "2026-01-02",
        "baseline_diameter_mm": "50",
        "version": t1.version,
        "reason": "re-measured on the reference slice",
    }
    assert client.post(url, data).status_code == 302
    tp.refresh_from_db()
    assert tp.change_from_baseline_pct == Decimal("-36.36")  # 70 of 110


def test_monitor_reads_but_cannot_enter(client, baseline, monitor_a, coordinator_a):
    scan(baseline, coordinator_a, D(2026, 2, 16), 28, 21, 21)
    client.force_login(monitor_a)
    page = client.get(reverse("assessments:overview", args=[baseline.pk])).content.decode()
    assert "PR" in page and 'id="new-timepoint-link"' not in page
    before = stored()
    response = client.post(
        reverse("assessments:new", args=[baseline.pk]), timepoint_post("2026-03-01", 28, 21, 21)
    )
    assert response.status_code == 403
    assert stored() == before


def test_other_site_gets_404(client, baseline, coordinator_b):
    client.force_login(coordinator_b)
    for name in ("overview", "baseline", "new"):
        assert client.get(reverse(f"assessments:{name}", args=[baseline.pk])).status_code == 404
    assert client.post(reverse("assessments:preview", args=[baseline.pk]), {}).status_code == 404


def test_non_target_only_disease_through_the_pages(client, treated, coordinator_a):
    # I06 allows evaluable, non-measurable disease: no target, one non-target lesion.
    client.force_login(coordinator_a)
    data = {"non_targets-0-lesion_id": "NT1", "non_targets-0-organ": "peritoneum"} | {
        "non_targets-0-method": "CT",
        "non_targets-0-baseline_date": "2026-01-02",
    }
    assert client.post(reverse("assessments:baseline", args=[treated.pk]), data).status_code == 302
    form = {"scan_date": "2026-02-16", "non_target_status": "non-CR/non-PD", "new_lesion": "no"}
    live = client.post(reverse("assessments:preview", args=[treated.pk]), form).content.decode()
    assert 'id="d-overall">non-CR/non-PD<' in live  # RECIST table 2
    response = client.post(reverse("assessments:new", args=[treated.pk]), form)
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "non-CR/non-PD" in page and 'id="spider"' not in page  # no sums to plot


def test_two_bad_baseline_rows_are_both_shown_in_one_answer(client, treated, coordinator_a):
    """Issue 11 C6: the page showed the first refused row only, one per save."""
    client.force_login(coordinator_a)
    before = stored()
    rows = (
        row("targets-0", "T1", "liver", 9),  # not measurable on CT (>= 10 mm)
        row("targets-1", "T2", "lung", 25),
        row("targets-2", "T3", "lymph node", 12, node=True),  # a target node needs >= 15 mm
    )

    response = client.post(reverse("assessments:baseline", args=[treated.pk]), baseline_post(*rows))

    assert response.status_code == 422
    errors = response.context["form"].errors.as_data()
    codes = {field: [e.code for e in found] for field, found in errors.items()}
    assert codes == {
        "targets-0-diameter_mm": ["not_measurable"],
        "targets-2-diameter_mm": ["node_not_measurable"],
    }
    html = response.content.decode()
    assert "9 mm is not measurable" in html and "12 mm" in html
    assert stored() == before


def test_rows_filled_with_a_gap_are_refused_with_a_code(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("assessments:baseline", args=[treated.pk]),
        baseline_post(row("targets-1", "T2", "lung", 30)),
    )
    errors = response.context["form"].errors.as_data()
    assert [e.code for e in errors["targets-1-organ"]] == ["row_gap"]


# --- Notes in the reader's language (issue 11 C13) ---------------------------------------------


def test_notes_are_worded_in_chinese_on_the_chinese_pages(client, baseline, coordinator_a):
    """The RECIST notes were English text in the Chinese UI; now codes worded by gettext."""
    client.force_login(coordinator_a)
    client.post(
        reverse("assessments:new", args=[baseline.pk]), timepoint_post("2026-02-16", 28, 21, 21)
    )
    tp = Timepoint.objects.get(subject=baseline)
    assert tp.notes == [
        {
            "code": "pr_from_baseline",
            "params": {"percent": "-30", "baseline_mm": "100", "limit_pct": "30"},
        }
    ]

    english = client.get(reverse("assessments:overview", args=[baseline.pk])).content.decode()
    chinese = client.get(
        reverse("assessments:overview", args=[baseline.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    preview = client.post(
        reverse("assessments:preview", args=[baseline.pk]),
        timepoint_post("2026-03-30", 28, 21, 21),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()

    assert "Sum \u221230.00\u00a0% from the baseline sum (100 mm)" in english
    assert "\u76f8\u5bf9\u57fa\u7ebf" in chinese  # 相对基线
    assert "from the baseline sum" not in chinese
    assert "\u221230.00\u00a0%" in chinese and "100 mm" in chinese
    # the same values again 03-30: still -30 % from the baseline, PR
    assert "\u57fa\u7ebf" in preview and "from the baseline" not in preview


def test_notes_stored_as_english_text_before_codes_show_as_they_were(
    client, baseline, coordinator_a
):
    client.force_login(coordinator_a)
    client.post(
        reverse("assessments:new", args=[baseline.pk]), timepoint_post("2026-02-16", 28, 21, 21)
    )
    Timepoint.objects.filter(subject=baseline).update(
        notes=[{"code": "text", "params": {"text": "A note of the old kind."}}]
    )
    page = client.get(reverse("assessments:overview", args=[baseline.pk])).content.decode()
    assert "A note of the old kind." in page


def test_a_refused_baseline_row_is_explained_in_chinese(client, treated, coordinator_a):
    """The RECIST refusals were English on the Chinese page; now worded from their codes."""
    client.force_login(coordinator_a)
    response = client.post(
        reverse("assessments:baseline", args=[treated.pk]),
        baseline_post(row("targets-0", "T1", "liver", 9)),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 422
    (error,) = response.context["form"].errors.as_data()["targets-0-diameter_mm"]
    assert error.code == "not_measurable"
    assert "\u4e0d\u53ef\u6d4b\u91cf" in error.message  # 不可测量
    assert "not measurable" not in response.content.decode()

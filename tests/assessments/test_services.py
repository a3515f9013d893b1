"""RECIST 1.1 assessments on real records, values worked out by hand.

Clock frozen at 2026-03-02 10:00 in Guangzhou; C1D1 2026-01-05 (tests/dosing/conftest.py).
TA1 is C1D1 + 42 = 2026-02-16, window +/- 7: 02-09..02-23; TA2 2026-03-30 (03-23..04-06).
Baseline 2026-01-02: T1 liver 40 mm, T2 lung 30 mm, T3 node short axis 30 mm (sum 100 mm),
NT1 bone (non-target).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from assessments import services
from assessments.models import Lesion, LesionMeasurement, Timepoint
from audit.models import AuditEvent

D = dt.date
BASELINE = D(2026, 1, 2)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """Every test here runs at 2026-03-02 10:00 in Guangzhou (tests/dosing/conftest.py)."""


def target(lesion_id, organ, mm, *, is_node=False, method="CT", slice_mm=5):
    return {
        "lesion_id": lesion_id,
        "organ": organ,
        "location": f"{organ} lesion",
        "method": method,
        "slice_thickness_mm": slice_mm,
        "is_node": is_node,
        "baseline_date": BASELINE,
        "diameter_mm": mm,
    }


TARGETS = [
    target("T1", "liver", 40),
    target("T2", "lung", 30),
    target("T3", "lymph node", 30, is_node=True),
]
NON_TARGETS = [
    {
        "lesion_id": "NT1",
        "organ": "bone",
        "location": "L3 vertebra",
        "method": "CT",
        "is_node": False,
        "baseline_date": BASELINE,
    }
]


def stored():
    return (
        Lesion.objects.count(),
        Timepoint.objects.count(),
        LesionMeasurement.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def baseline(treated, coordinator_a):
    services.record_baseline(
        subject=treated, by=coordinator_a, targets=TARGETS, non_targets=NON_TARGETS
    )
    return treated


def scan(subject, by, on, t1, t2, t3, **kwargs):
    measured = "measured"
    data = {
        "subject": subject,
        "by": by,
        "scan_date": on,
        "measurements": {"T1": (measured, t1), "T2": (measured, t2), "T3": (measured, t3)},
        "non_target_status": "non-CR/non-PD",
        "new_lesion": "no",
    }
    data.update(kwargs)
    return services.record_timepoint(**data)


def test_baseline_with_three_targets_is_stored(baseline):
    lesions = {x.lesion_id: x for x in baseline.lesions.all()}
    assert sorted(lesions) == ["NT1", "T1", "T2", "T3"]
    assert lesions["T1"].role == "target" and lesions["T1"].baseline_diameter_mm == 40
    assert lesions["T3"].is_node and lesions["T3"].baseline_diameter_mm == 30
    assert lesions["NT1"].role == "non_target" and lesions["NT1"].baseline_diameter_mm is None
    assert AuditEvent.objects.filter(table_name="assessments_lesion").count() == 4


def test_second_baseline_refused(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        services.record_baseline(
            subject=baseline, by=coordinator_a, targets=TARGETS, non_targets=[]
        )
    assert exc.value.code == "baseline_recorded"
    assert stored() == before


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        (  # 6 targets in 6 organs: RECIST 4.2 allows 5
            [target(f"T{i}", organ, 20) for i, organ in enumerate("abcdef", 1)],
            {"targets-5": ["too_many_targets"]},
        ),
        (  # a third target in the liver
            [target("T1", "liver", 20), target("T2", "liver", 20), target("T3", "Liver", 20)],
            {"targets-2-organ": ["too_many_targets_in_organ"]},
        ),
        (  # a node of 12 mm short axis is pathological but not measurable (needs >= 15)
            [target("T1", "lymph node", 12, is_node=True)],
            {"targets-0-diameter_mm": ["node_not_measurable"]},
        ),
        (  # 9 mm on CT with 5 mm slices: below 10 mm
            [target("T1", "liver", 9)],
            {"targets-0-diameter_mm": ["not_measurable"]},
        ),
    ],
    ids=["sixth-target", "third-in-organ", "12mm-node", "9mm-ct"],
)
def test_invalid_baseline_refused_nothing_stored(treated, coordinator_a, targets, field):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        services.record_baseline(subject=treated, by=coordinator_a, targets=targets, non_targets=[])
    assert codes_by_field(exc.value) == field
    assert stored() == before


def test_baseline_more_than_28_days_before_c1d1_refused(treated, coordinator_a):
    early = dict(TARGETS[0], baseline_date=D(2025, 12, 7))  # C1D1 - 29 days
    before = stored()
    with pytest.raises(ValidationError) as exc:
        services.record_baseline(subject=treated, by=coordinator_a, targets=[early], non_targets=[])
    assert codes_by_field(exc.value)["targets-0-baseline_date"] == ["baseline_out_of_window"]
    assert stored() == before


def test_partial_response_computed_and_stored(baseline, coordinator_a):
    # 28 + 21 + 21 = 70 mm against 100 mm: -30.00 % exactly, PR (RECIST 4.3.1)
    tp, out_of_window = scan(baseline, coordinator_a, D(2026, 2, 16), 28, 21, 21)
    tp.refresh_from_db()
    assert tp.sum_mm == Decimal("70")
    assert tp.change_from_baseline_pct == Decimal("-30.00")
    assert tp.nadir_mm == Decimal("100")
    assert tp.change_from_nadir_mm == Decimal("-30")
    assert tp.target_response == "PR"
    assert tp.non_target_response == "non-CR/non-PD"
    assert tp.overall_response == "PR"
    assert not out_of_window and tp.visit.code == "TA1"
    assert tp.measurements.count() == 3


def test_progression_by_20_percent_and_5_mm_from_nadir(baseline, coordinator_a):
    scan(baseline, coordinator_a, D(2026, 2, 16), 28, 21, 21)  # 70 mm: the nadir
    # 34 + 25 + 25 = 84 mm: +14 mm and +20.00 % over the nadir of 70: PD (still -16 % baseline)
    tp, _ = scan(baseline, coordinator_a, D(2026, 3, 1), 34, 25, 25)
    tp.refresh_from_db()
    assert tp.sum_mm == Decimal("84")
    assert tp.nadir_mm == Decimal("70")
    assert tp.change_from_nadir_mm == Decimal("14")
    assert tp.change_from_nadir_pct == Decimal("20.00")
    assert tp.change_from_baseline_pct == Decimal("-16.00")
    assert tp.target_response == "PD" and tp.overall_response == "PD"


def test_measurement_of_unknown_lesion_refused(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        services.record_timepoint(
            subject=baseline,
            by=coordinator_a,
            scan_date=D(2026, 2, 16),
            measurements={"T1": ("measured", 28), "T9": ("measured", 10)},
            non_target_status="non-CR/non-PD",
            new_lesion="no",
        )
    assert codes_by_field(exc.value) == {"measurements-T9": ["unknown_lesion"]}
    assert stored() == before


@pytest.mark.parametrize(("mm", "code"), [(-1, "diameter_negative"), (501, "diameter_implausible")])
def test_diameter_out_of_range_refused(baseline, coordinator_a, mm, code):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        scan(baseline, coordinator_a, D(2026, 2, 16), mm, 21, 21)
    assert codes_by_field(exc.value) == {"measurements-T1": [code]}
    assert stored() == before


def test_scan_before_baseline_refused(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        scan(baseline, coordinator_a, D(2026, 1, 1), 28, 21, 21)
    assert codes_by_field(exc.value) == {"scan_date": ["before_baseline"]}
    assert stored() == before


def test_scan_in_the_future_refused(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        scan(baseline, coordinator_a, D(2026, 3, 3), 28, 21, 21)
    assert codes_by_field(exc.value) == {"scan_date": ["date_in_future"]}
    assert stored() == before


def test_disagreement_needs_a_reason(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:  # computed PR, investigator says SD
        scan(baseline, coordinator_a, D(2026, 2, 16), 28, 21, 21, investigator_response="SD")
    assert codes_by_field(exc.value) == {"disagreement_reason": ["reason_required"]}
    assert stored() == before

    tp, _ = scan(
        baseline,
        coordinator_a,
        D(2026, 2, 16),
        28,
        21,
        21,
        investigator_response="SD",
        disagreement_reason="T2 re-read by radiology as 24 mm",
    )
    tp.refresh_from_db()
    assert tp.investigator_response == "SD"
    assert tp.disagreement_reason == "T2 re-read by radiology as 24 mm"
    assert tp.overall_response == "PR"  # the computed response is kept


def test_scan_outside_every_ta_window_is_flagged(baseline, coordinator_a):
    # 2026-01-30: TA1's window opens 02-09
    tp, out_of_window = scan(baseline, coordinator_a, D(2026, 1, 30), 40, 30, 30)
    assert out_of_window
    assert tp.visit is None
    assert tp.overall_response == "SD"


def test_best_overall_response_confirmed_pr(baseline, coordinator_a):
    scan(baseline, coordinator_a, D(2026, 1, 30), 28, 21, 21)  # 70 mm: PR
    scan(baseline, coordinator_a, D(2026, 2, 27), 26, 20, 19)  # 65 mm: PR, 28 days later
    bor = services.best_response(baseline)
    assert bor.response == "PR"
    assert bor.response_date == D(2026, 1, 30)
    assert bor.confirmed_on == D(2026, 2, 27)
    assert bor.first_pd_date is None


def test_pr_27_days_apart_is_not_confirmed(baseline, coordinator_a):
    scan(baseline, coordinator_a, D(2026, 1, 30), 28, 21, 21)
    scan(baseline, coordinator_a, D(2026, 2, 26), 26, 20, 19)  # 27 days
    bor = services.best_response(baseline)
    assert bor.response == "SD"  # PR on day 52 counts as SD (>= 35 days after C1D1)
    assert bor.confirmed_on is None


def test_stored_out_of_window_flag(baseline, coordinator_a):
    tp, _ = scan(baseline, coordinator_a, D(2026, 1, 30), 40, 30, 30)
    tp.refresh_from_db()
    assert tp.out_of_window
    tp2, _ = scan(baseline, coordinator_a, D(2026, 2, 9), 40, 30, 30)  # TA1 window opens 02-09
    tp2.refresh_from_db()
    assert not tp2.out_of_window and tp2.visit.code == "TA1"


def test_preview_computes_without_storing(baseline, coordinator_a):
    scan(baseline, coordinator_a, D(2026, 1, 30), 28, 21, 21)  # 70 mm: the nadir
    before = stored()
    result = services.preview_timepoint(
        subject=baseline,
        scan_date=D(2026, 2, 16),
        measurements={"T1": ("measured", 34), "T2": ("measured", 25), "T3": ("measured", 25)},
        non_target_status="non-CR/non-PD",
        new_lesion="no",
    )
    # 84 mm: +14 mm, +20 % over the nadir of 70 -> PD
    assert result.sum_mm == Decimal("84")
    assert result.nadir_mm == Decimal("70")
    assert result.overall == "PD"
    assert stored() == before


def test_correcting_an_assessment_derives_the_later_ones_again(baseline, coordinator_a):
    first, _ = scan(baseline, coordinator_a, D(2026, 1, 30), 28, 21, 21)  # 70 mm PR
    second, _ = scan(baseline, coordinator_a, D(2026, 2, 27), 34, 25, 25)  # 84: +20 % PD
    second.refresh_from_db()
    assert second.overall_response == "PD"
    first.refresh_from_db()
    # T1 was 38 mm, not 28: the first sum is 80 mm (-20 %, SD); the nadir for the second is
    # then 80 and 84 is +5 % -> SD
    corrected = services.correct_timepoint(
        timepoint=first,
        by=coordinator_a,
        expected_version=first.version,
        reason="Transcription error: T1 38 mm on the radiology report",
        scan_date=D(2026, 1, 30),
        measurements={"T1": ("measured", 38), "T2": ("measured", 21), "T3": ("measured", 21)},
        non_target_status="non-CR/non-PD",
        new_lesion="no",
    )
    assert corrected.sum_mm == Decimal("80")
    assert corrected.overall_response == "SD"
    assert corrected.version == first.version + 1
    second.refresh_from_db()
    assert second.nadir_mm == Decimal("80")
    assert second.change_from_nadir_pct == Decimal("5.00")
    assert second.overall_response == "SD"
    events = AuditEvent.objects.filter(
        table_name="assessments_timepoint", reason__startswith="Transcription error"
    )
    assert events.count() == 2  # the corrected row, then the later one derived again
    assert LesionMeasurement.objects.get(timepoint=first, lesion__lesion_id="T1").diameter_mm == 38


def test_correction_needs_a_reason_and_the_version_read(baseline, coordinator_a):
    from audit.versioning import EditConflict

    first, _ = scan(baseline, coordinator_a, D(2026, 1, 30), 28, 21, 21)
    first.refresh_from_db()
    kwargs = {
        "timepoint": first,
        "by": coordinator_a,
        "scan_date": D(2026, 1, 30),
        "measurements": {"T1": ("measured", 38), "T2": ("measured", 21), "T3": ("measured", 21)},
        "non_target_status": "non-CR/non-PD",
        "new_lesion": "no",
    }
    before = stored()
    with pytest.raises(ValidationError) as exc:
        services.correct_timepoint(expected_version=first.version, reason=" ", **kwargs)
    assert "reason" in exc.value.message_dict
    with pytest.raises(EditConflict):
        services.correct_timepoint(expected_version=first.version - 1, reason="x", **kwargs)
    assert stored() == before


def test_correcting_a_baseline_lesion_derives_every_assessment_again(baseline, coordinator_a):
    tp, _ = scan(baseline, coordinator_a, D(2026, 2, 16), 28, 21, 21)  # 70 of 100: -30 % PR
    t1 = baseline.lesions.get(lesion_id="T1")
    # T1 was 50 mm at baseline: 110 mm, and 70 is -36.36 % -> still PR
    services.correct_lesion(
        lesion=t1,
        by=coordinator_a,
        expected_version=t1.version,
        reason="Baseline T1 re-measured on the reference slice",
        changes={"baseline_diameter_mm": 50},
    )
    tp.refresh_from_db()
    assert tp.nadir_mm == Decimal("110")
    assert tp.change_from_baseline_pct == Decimal("-36.36")
    assert tp.overall_response == "PR"


def test_baseline_correction_breaking_measurability_refused(baseline, coordinator_a):
    t1 = baseline.lesions.get(lesion_id="T1")
    before = stored()
    with pytest.raises(ValidationError) as exc:  # 9 mm on CT with 5 mm slices
        services.correct_lesion(
            lesion=t1,
            by=coordinator_a,
            expected_version=t1.version,
            reason="re-measured",
            changes={"baseline_diameter_mm": 9},
        )
    assert codes_by_field(exc.value) == {"baseline_diameter_mm": ["not_measurable"]}
    assert stored() == before


def test_equivocal_new_lesion_confirmed_later_dates_pd_back(baseline, coordinator_a):
    # 02-16: sums steady, an equivocal new lesion -> SD on that date (RECIST 4.3.4)
    tp1, _ = scan(baseline, coordinator_a, D(2026, 2, 16), 40, 30, 30, new_lesion="equivocal")
    tp1.refresh_from_db()
    assert tp1.overall_response == "SD"
    # 03-01: the lesion is unequivocal and is the one seen on 02-16 -> PD dated 02-16
    scan(
        baseline,
        coordinator_a,
        D(2026, 3, 1),
        40,
        30,
        30,
        new_lesion="yes",
        confirms_equivocal=True,
    )
    bor = services.best_response(baseline)
    assert bor.first_pd_date == D(2026, 2, 16)
    assert bor.response == "PD"  # the SD of 02-16 is day 42 but that date is now PD


def test_confirming_without_an_earlier_equivocal_lesion_refused(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:
        scan(
            baseline,
            coordinator_a,
            D(2026, 2, 16),
            40,
            30,
            30,
            new_lesion="yes",
            confirms_equivocal=True,
        )
    assert codes_by_field(exc.value) == {"confirms_equivocal": ["no_equivocal_before"]}
    assert stored() == before


def open_queries(tp):
    from queries.models import Query

    return sorted(
        Query.objects.filter(
            record_type="assessments.timepoint", record_id=tp.pk, status="open"
        ).values_list("edit_check", flat=True)
    )


def test_disagreement_raises_a_query_closed_once_the_data_agree(baseline, coordinator_a):
    tp, _ = scan(
        baseline,
        coordinator_a,
        D(2026, 2, 16),
        28,
        21,
        21,
        investigator_response="SD",
        disagreement_reason="T2 re-read by radiology as 24 mm",
    )
    assert open_queries(tp) == ["recist.investigator_disagrees"]
    from queries.models import Query

    query = Query.objects.get(record_id=tp.pk)
    assert "SD differs" in query.text and "PR" in query.text and query.origin == "system"
    tp.refresh_from_db()
    # T2 24 mm as radiology said: 28 + 24 + 21 = 73 mm, -27 % -> SD: the investigator agrees
    services.correct_timepoint(
        timepoint=tp,
        by=coordinator_a,
        expected_version=tp.version,
        reason="T2 per radiology re-read",
        scan_date=D(2026, 2, 16),
        measurements={"T1": ("measured", 28), "T2": ("measured", 24), "T3": ("measured", 21)},
        non_target_status="non-CR/non-PD",
        new_lesion="no",
        investigator_response="SD",
    )
    assert open_queries(tp) == []
    query.refresh_from_db()
    assert query.status == "closed" and query.resolution.startswith("Closed by the system")


def test_out_of_window_scan_raises_a_query(baseline, coordinator_a):
    tp, _ = scan(baseline, coordinator_a, D(2026, 1, 30), 40, 30, 30)  # TA1 opens 02-09
    assert open_queries(tp) == ["recist.out_of_window"]
    inside, _ = scan(baseline, coordinator_a, D(2026, 2, 16), 40, 30, 30)
    assert open_queries(inside) == []


def test_merged_and_split_lesions_stored_and_refused_by_the_lesion(baseline, coordinator_a):
    before = stored()
    with pytest.raises(ValidationError) as exc:  # T2 merged into a lesion not measured
        services.record_timepoint(
            subject=baseline,
            by=coordinator_a,
            scan_date=D(2026, 2, 16),
            measurements={
                "T1": ("not assessed", None),
                "T2": ("merged", None, "T1"),
                "T3": ("measured", 30),
            },
            non_target_status="non-CR/non-PD",
            new_lesion="no",
        )
    assert codes_by_field(exc.value) == {"measurements-T2-into": ["merged_into_required"]}
    assert stored() == before
    # T1 (40) and T2 (30) coalesced into one 60 mm lesion recorded on T1 (split fragments on
    # none); T3 node 30: 90 of 100 -> -10 %, SD
    tp = services.record_timepoint(
        subject=baseline,
        by=coordinator_a,
        scan_date=D(2026, 2, 16),
        measurements={
            "T1": ("split", 60),
            "T2": ("merged", None, "T1"),
            "T3": ("measured", 30),
        },
        non_target_status="non-CR/non-PD",
        new_lesion="no",
    ).timepoint
    tp.refresh_from_db()
    assert tp.sum_mm == Decimal("90") and tp.overall_response == "SD"
    merged = LesionMeasurement.objects.get(timepoint=tp, lesion__lesion_id="T2")
    assert merged.kind == "merged" and merged.merged_into.lesion_id == "T1"


def codes_by_field(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def test_every_bad_baseline_row_is_refused_at_once(treated, coordinator_a):
    """Issue 11 C6: one error per save made the coordinator save once per mistake."""
    rows = [
        target("T1", "liver", 9),  # 9 mm on CT with 5 mm slices: not measurable
        target("T2", "lung", 20),
        target("T3", "lymph node", 12, is_node=True),  # a target node needs >= 15 mm
        dict(target("T4", "bone", 30), baseline_date=D(2025, 12, 7)),  # C1D1 - 29 days
    ]
    before = stored()

    with pytest.raises(ValidationError) as caught:
        services.record_baseline(subject=treated, by=coordinator_a, targets=rows, non_targets=[])

    assert codes_by_field(caught.value) == {
        "targets-0-diameter_mm": ["not_measurable"],
        "targets-2-diameter_mm": ["node_not_measurable"],
        "targets-3-baseline_date": ["baseline_out_of_window"],
    }
    assert stored() == before


def test_a_row_that_cannot_be_read_does_not_shift_the_others_errors(treated, coordinator_a):
    rows = [
        dict(target("T1", "liver", 20), method="ultrasound"),  # not a RECIST method
        target("T2", "lung", 9),
        target("T3", "lung", 8),
    ]

    with pytest.raises(ValidationError) as caught:
        services.record_baseline(subject=treated, by=coordinator_a, targets=rows, non_targets=[])

    assert codes_by_field(caught.value) == {
        "targets-0-method": ["required"],
        "targets-1-diameter_mm": ["not_measurable"],
        "targets-2-diameter_mm": ["not_measurable"],
    }

"""Tests of assessments.recist against cases worked out by hand from RECIST 1.1 (Eisenhauer et
al., Eur J Cancer 2009;45:228-247) and PROTOCOL.md ("Outcomes": confirmation >= 4 weeks).

Every expected number is worked in the comments; none was copied from what the code prints.

Reference baseline (``TWO``): target A, liver, 60 mm + target B, lung, 40 mm, both on CT with
5 mm slices: baseline sum 100 mm, so 1 mm = 1 % of baseline. With no history the nadir is the
baseline (100 mm): PR needs sum <= 70 (100 x 0.70); PD needs sum >= 120 (100 x 1.20, and
120 - 100 = 20 >= 5 mm).

Reference dates: C1D1 = Monday 2026-01-05. Day 42 = Jan 5 + 42 = Jan 47 = Feb 16; day 84 =
Feb 16 + 42 = Feb 58 = Mar 30 (February 2026 has 28 days); Feb 16 + 28 = Feb 44 = Mar 16;
Feb 16 + 21 = Feb 37 = Mar 9; day 35 = Jan 40 = Feb 9; day 34 = Feb 8; day 28 = Feb 2.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from assessments.recist import (
    SD_MIN_DAYS_AFTER_C1D1,
    Lesion,
    Measurement,
    MeasurementKind,
    Method,
    NewLesion,
    NonTargetStatus,
    Note,
    RecistError,
    Response,
    ScanResponse,
    baseline_problems,
    best_overall_response,
    evaluate_timepoint,
    validate_baseline,
)

MK = MeasurementKind
NT = NonTargetStatus
R = Response
C1D1 = date(2026, 1, 5)
DAY28 = date(2026, 2, 2)
DAY34 = date(2026, 2, 8)
DAY35 = date(2026, 2, 9)
DAY42 = date(2026, 2, 16)
DAY42_PLUS21 = date(2026, 3, 9)
DAY42_PLUS28 = date(2026, 3, 16)
DAY84 = date(2026, 3, 30)
DAY126 = date(2026, 5, 11)  # Mar 30 + 42 = Mar 72 = Apr 41 = May 11


def ct(lesion_id: str, organ: str, mm, node: bool = False, slice_mm=5) -> Lesion:
    return Lesion(lesion_id, organ, Method.CT, mm, is_node=node, slice_thickness_mm=slice_mm)


TWO = (ct("A", "liver", 60), ct("B", "lung", 40))


def meas(a, b) -> tuple[Measurement, ...]:
    """A and B measured (a value), or given as a MeasurementKind."""
    out = []
    for lid, v in (("A", a), ("B", b)):
        out.append(
            Measurement(lid, v)
            if isinstance(v, MeasurementKind)
            else Measurement(lid, MK.MEASURED, v)
        )
    return tuple(out)


# Target-lesion presets on TWO (no history, nadir = baseline 100 mm):
TARGET_PRESETS = {
    R.CR: meas(MK.DISAPPEARED, MK.DISAPPEARED),  # 0 + 0 = 0, all non-nodal gone
    R.PR: meas(42, 28),  # 70 = -30 % exactly
    R.SD: meas(50, 30),  # 80 = -20 %, not >= +20 % from nadir 100
    R.PD: meas(72, 48),  # 120 = +20 % and +20 mm from nadir 100
    R.NE: meas(50, MK.NOT_ASSESSED),  # B missing; A alone 50 < 120: no evident PD
}


def tp(measurements, non_target=None, new=NewLesion.NO, history=(), targets=TWO):
    return evaluate_timepoint(targets, history, measurements, non_target, new)


# --- Target-lesion response presets ----------------------------------------------------------


@pytest.mark.parametrize("expected", list(TARGET_PRESETS))
def test_target_presets(expected):
    assert tp(TARGET_PRESETS[expected]).target_response == expected


# --- RECIST table 1: every row ------------------------------------------------------------------

TABLE_1 = [
    # target, non-target, new lesion, overall
    (R.CR, NT.CR, NewLesion.NO, R.CR),
    (R.CR, None, NewLesion.NO, R.CR),  # no non-target lesions at baseline
    (R.CR, NT.NON_CR_NON_PD, NewLesion.NO, R.PR),
    (R.CR, NT.NOT_EVALUATED, NewLesion.NO, R.PR),
    (R.PR, NT.CR, NewLesion.NO, R.PR),  # "non-PD or not all evaluated"
    (R.PR, NT.NON_CR_NON_PD, NewLesion.NO, R.PR),
    (R.PR, NT.NOT_EVALUATED, NewLesion.NO, R.PR),
    (R.PR, None, NewLesion.NO, R.PR),
    (R.SD, NT.CR, NewLesion.NO, R.SD),
    (R.SD, NT.NON_CR_NON_PD, NewLesion.NO, R.SD),
    (R.SD, NT.NOT_EVALUATED, NewLesion.NO, R.SD),
    (R.NE, NT.CR, NewLesion.NO, R.NE),  # "not all evaluated / non-PD / no"
    (R.NE, NT.NON_CR_NON_PD, NewLesion.NO, R.NE),
    (R.NE, NT.NOT_EVALUATED, NewLesion.NO, R.NE),
    (R.PD, NT.CR, NewLesion.NO, R.PD),  # "PD / any / yes or no"
    (R.PD, NT.NOT_EVALUATED, NewLesion.NO, R.PD),
    (R.PD, NT.PD, NewLesion.YES, R.PD),
    (R.CR, NT.PD, NewLesion.NO, R.PD),  # "any / PD / yes or no"
    (R.PR, NT.PD, NewLesion.NO, R.PD),
    (R.SD, NT.PD, NewLesion.NO, R.PD),  # non-target PD with stable targets
    (R.NE, NT.PD, NewLesion.NO, R.PD),
    (R.CR, NT.CR, NewLesion.YES, R.PD),  # "any / any / yes"
    (R.PR, NT.NON_CR_NON_PD, NewLesion.YES, R.PD),
    (R.SD, None, NewLesion.YES, R.PD),
    (R.NE, NT.NOT_EVALUATED, NewLesion.YES, R.PD),
]


@pytest.mark.parametrize(("target", "non_target", "new", "overall"), TABLE_1)
def test_table_1(target, non_target, new, overall):
    result = tp(TARGET_PRESETS[target], non_target, new)
    assert result.target_response == target
    assert result.overall == overall


# --- RECIST table 2 (non-target only disease): every row -----------------------------------------

TABLE_2 = [
    (NT.CR, NewLesion.NO, R.CR),
    (NT.NON_CR_NON_PD, NewLesion.NO, R.NON_CR_NON_PD),
    (NT.NOT_EVALUATED, NewLesion.NO, R.NE),
    (NT.PD, NewLesion.NO, R.PD),
    (NT.PD, NewLesion.YES, R.PD),
    (NT.CR, NewLesion.YES, R.PD),
    (NT.NON_CR_NON_PD, NewLesion.YES, R.PD),
    (NT.NOT_EVALUATED, NewLesion.YES, R.PD),
]


@pytest.mark.parametrize(("non_target", "new", "overall"), TABLE_2)
def test_table_2_non_target_only(non_target, new, overall):
    result = tp((), non_target, new, targets=())
    assert result.target_response is None
    assert result.sum_mm is None and result.nadir_mm is None
    assert result.overall == overall


def test_non_target_only_needs_a_status():
    with pytest.raises(RecistError) as e:
        tp((), None, targets=())
    assert e.value.field == "non_target"


# --- Thresholds -----------------------------------------------------------------------------------


def test_exactly_30_percent_decrease_is_pr():
    # 42 + 28 = 70; (70 - 100) / 100 = -30.00 %
    r = tp(meas(42, 28))
    assert r.sum_mm == D(70)
    assert r.change_from_baseline_pct == D("-30.00")
    assert r.target_response == R.PR


def test_29_9_percent_decrease_is_sd():
    # 42 + 28.1 = 70.1; -29.9 % > -30 %: SD
    r = tp(meas(42, D("28.1")))
    assert r.sum_mm == D("70.1")
    assert r.change_from_baseline_pct == D("-29.90")
    assert r.target_response == R.SD


def test_29_99_percent_rounds_to_30_on_display_but_is_sd():
    # 70.01 mm: -29.99 % exactly; shown -29.99, SD (decision on exact value)
    r = tp(meas(42, D("28.01")))
    assert r.change_from_baseline_pct == D("-29.99")
    assert r.target_response == R.SD


def test_exactly_20_percent_increase_below_5_mm_is_not_pd():
    # Single liver lesion 20 mm: nadir 20; 24 mm = +4 mm = +20 %; 4 < 5 mm: not PD.
    # From baseline +20 %: not PR -> SD.
    one = (ct("A", "liver", 20),)
    r = tp((Measurement("A", MK.MEASURED, 24),), targets=one)
    assert r.change_from_nadir_pct == D("20.00")
    assert r.change_from_nadir_mm == D(4)
    assert r.target_response == R.SD


def test_exactly_20_percent_increase_of_5_mm_is_pd():
    # Single liver lesion 25 mm: 30 mm = +5 mm = +20 %: PD.
    one = (ct("A", "liver", 25),)
    r = tp((Measurement("A", MK.MEASURED, 30),), targets=one)
    assert r.change_from_nadir_pct == D("20.00")
    assert r.change_from_nadir_mm == D(5)
    assert r.target_response == R.PD
    assert r.overall == R.PD


def test_19_9_percent_increase_is_not_pd():
    # 72 + 47.9 = 119.9 = +19.9 % (+19.9 mm): SD
    r = tp(meas(72, D("47.9")))
    assert r.change_from_nadir_pct == D("19.90")
    assert r.target_response == R.SD


# --- Nadir ----------------------------------------------------------------------------------------


def test_nadir_on_study():
    # History 80, 60: nadir 60. Now 42 + 30 = 72 = -28 % from baseline (not PR) but
    # +12 mm = +20 % from the nadir 60 (60 x 1.2 = 72): PD.
    r = tp(meas(42, 30), history=(D(80), D(60)))
    assert r.nadir_mm == D(60)
    assert r.change_from_baseline_pct == D("-28.00")
    assert r.change_from_nadir_pct == D("20.00")
    assert r.change_from_nadir_mm == D(12)
    assert r.target_response == R.PD


def test_nadir_on_study_just_below_pd():
    # Nadir 60; 71 mm = +18.33 % (11/60): not PD; -29 % from baseline: SD
    r = tp(meas(41, 30), history=(D(80), D(60)))
    assert r.change_from_nadir_pct == D("18.33")
    assert r.target_response == R.SD


def test_nadir_at_baseline():
    # History 110, 105 are above baseline 100: nadir stays 100. 115 = +15 %: SD; 120 = PD.
    r = tp(meas(70, 45), history=(D(110), D(105)))
    assert r.nadir_mm == D(100)
    assert r.change_from_nadir_pct == D("15.00")
    assert r.target_response == R.SD
    assert tp(meas(72, 48), history=(D(110), D(105))).target_response == R.PD


def test_ne_history_entries_are_skipped():
    # History (None, 70): nadir 70. 84 = +20 %, +14 mm: PD.
    r = tp(meas(50, 34), history=(None, D(70)))
    assert r.nadir_mm == D(70)
    assert r.target_response == R.PD


def test_nadir_zero_and_reappearance():
    # After a CR (history 0), a lesion back at 5 mm: +5 mm, +"infinite" %: PD; % not computed.
    r = tp(meas(5, MK.DISAPPEARED), history=(D(0),))
    assert r.nadir_mm == D(0)
    assert r.change_from_nadir_pct is None
    assert r.change_from_nadir_mm == D(5)
    assert r.target_response == R.PD


# --- Lymph nodes, too small, disappeared ----------------------------------------------------------

NODAL = (ct("N", "axilla", 20, node=True), ct("L", "liver", 30))  # baseline sum 50


def test_nodal_cr_with_non_zero_sum():
    # Node short axis 8 mm (< 10), liver gone: CR with sum 8 mm (-84 %).
    r = tp(
        (Measurement("N", MK.MEASURED, 8), Measurement("L", MK.DISAPPEARED)),
        NT.CR,
        targets=NODAL,
    )
    assert r.sum_mm == D(8)
    assert r.change_from_baseline_pct == D("-84.00")
    assert r.target_response == R.CR
    assert r.overall == R.CR
    assert Note("cr_nodes_normal", (("sum_mm", D(8)), ("node_mm", D(10)))) in r.notes


def test_disappeared_node_keeps_its_short_axis():
    r = tp((Measurement("N", MK.DISAPPEARED, 7), Measurement("L", MK.DISAPPEARED)), targets=NODAL)
    assert r.sum_mm == D(7)
    assert r.target_response == R.CR


def test_disappeared_node_needs_its_short_axis():
    with pytest.raises(RecistError) as e:
        tp((Measurement("N", MK.DISAPPEARED), Measurement("L", MK.DISAPPEARED)), targets=NODAL)
    assert e.value.field == "measurements[0].diameter_mm"


def test_node_at_10_mm_is_not_cr():
    # Node 10 mm is not < 10: no CR. Sum 10 = -80 % from 50: PR.
    r = tp((Measurement("N", MK.MEASURED, 10), Measurement("L", MK.DISAPPEARED)), targets=NODAL)
    assert r.sum_mm == D(10)
    assert r.target_response == R.PR


def test_too_small_counts_5_mm():
    # A too small (5 mm) + B gone (0) = 5 mm: not CR (a non-nodal lesion remains); -95 %: PR.
    r = tp(meas(MK.TOO_SMALL, MK.DISAPPEARED))
    assert r.sum_mm == D(5)
    assert r.change_from_baseline_pct == D("-95.00")
    assert r.target_response == R.PR


def test_split_lesion_counts_the_sum_of_its_fragments():
    # RECIST 4.3.2: A (60 mm at baseline) fragmented into 25 + 17 = 42 mm; B 28 -> 70 mm:
    # -30 % exactly -> PR, the same as a single 42 mm lesion.
    r = tp((Measurement("A", MK.SPLIT, 42), Measurement("B", MK.MEASURED, 28)))
    assert r.sum_mm == D(70)
    assert r.target_response == R.PR


def test_split_needs_the_sum_and_no_node_splits():
    with pytest.raises(RecistError, match="sum of the fragments") as e:
        tp((Measurement("A", MK.SPLIT), Measurement("B", MK.MEASURED, 28)))
    assert e.value.field == "measurements[0].diameter_mm"
    nodes = (ct("A", "liver", 60), ct("N", "lymph node", 20, node=True))
    with pytest.raises(RecistError, match="non-nodal") as e:
        tp((Measurement("A", MK.MEASURED, 60), Measurement("N", MK.SPLIT, 20)), targets=nodes)
    assert e.value.field == "measurements[1].kind"


def test_merged_lesions_count_the_coalesced_diameter_once():
    # A (60) and B (40) coalesced: the coalesced lesion's longest diameter, 85 mm, is recorded
    # on A; B merged into A counts 0. Sum 85 of 100: -15 % -> SD (not 85 + 85).
    r = tp((Measurement("A", MK.MEASURED, 85), Measurement("B", MK.MERGED, merged_into="A")))
    assert r.sum_mm == D(85)
    assert r.change_from_baseline_pct == D("-15.00")
    assert r.target_response == R.SD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Measurement("A", MK.MEASURED, 85), Measurement("B", MK.MERGED)),  # into nothing
        (Measurement("A", MK.MEASURED, 85), Measurement("B", MK.MERGED, merged_into="B")),
        (Measurement("A", MK.NOT_ASSESSED), Measurement("B", MK.MERGED, merged_into="A")),
        (Measurement("A", MK.MEASURED, 85), Measurement("B", MK.MERGED, merged_into="Z")),
    ],
    ids=["no-target", "itself", "into-unmeasured", "unknown"],
)
def test_merged_needs_a_measured_other_target(a, b):
    with pytest.raises(RecistError) as e:
        tp((a, b))
    assert e.value.field == "measurements[1].merged_into"


def test_merged_lesion_takes_no_diameter():
    with pytest.raises(RecistError, match="0 mm"):
        tp((Measurement("A", MK.MEASURED, 85), Measurement("B", MK.MERGED, 40, merged_into="A")))


def test_disappeared_non_nodal_refuses_a_diameter():
    with pytest.raises(RecistError) as e:
        tp((Measurement("A", MK.DISAPPEARED, 3), Measurement("B", MK.MEASURED, 10)))
    assert e.value.field == "measurements[0].diameter_mm"


# --- Missing lesions ------------------------------------------------------------------------------


def test_missing_lesion_is_ne():
    # B not assessed; A 50 alone < 120: NE. Sum and % not given; assessed sum 50.
    r = tp(meas(50, MK.NOT_ASSESSED), NT.NON_CR_NON_PD)
    assert r.target_response == R.NE
    assert r.overall == R.NE
    assert r.sum_mm is None and r.change_from_baseline_pct is None
    assert r.assessed_sum_mm == D(50)


def test_omitted_lesion_counts_as_not_assessed():
    r = tp((Measurement("A", MK.MEASURED, 50),))
    assert r.target_response == R.NE


def test_missing_lesion_but_pd_evident():
    # History 50: nadir 50; PD threshold 60 (and >= 55). A alone 61: PD whatever B is.
    r = tp(meas(61, MK.NOT_ASSESSED), history=(D(50),))
    assert r.target_response == R.PD
    assert r.overall == R.PD
    # A alone 58 < 60: B could still be 0: NE
    assert tp(meas(58, MK.NOT_ASSESSED), history=(D(50),)).target_response == R.NE


# --- New lesions ----------------------------------------------------------------------------------


def test_new_lesion_overrides_a_shrinking_sum():
    # 70 mm = -30 % (PR) but a new lesion: PD
    r = tp(meas(42, 28), NT.NON_CR_NON_PD, NewLesion.YES)
    assert r.target_response == R.PR
    assert r.overall == R.PD


def test_equivocal_new_lesion_is_not_pd_yet():
    r = tp(meas(42, 28), NT.NON_CR_NON_PD, NewLesion.EQUIVOCAL)
    assert r.overall == R.PR
    assert "equivocal_new_lesion" in [n.code for n in r.notes]


# --- Timepoint input errors -----------------------------------------------------------------------


def test_unknown_and_duplicate_measurements():
    with pytest.raises(RecistError) as e:
        tp((Measurement("Z", MK.MEASURED, 5),))
    assert e.value.field == "measurements[0].lesion_id"
    with pytest.raises(RecistError) as e:
        tp((Measurement("A", MK.MEASURED, 5), Measurement("A", MK.MEASURED, 6)))
    assert e.value.field == "measurements[1].lesion_id"


def test_measured_without_value_and_out_of_range():
    with pytest.raises(RecistError):
        tp((Measurement("A", MK.MEASURED), Measurement("B", MK.MEASURED, 5)))
    with pytest.raises(RecistError):
        tp(meas(501, 5))
    with pytest.raises(RecistError):
        tp(meas(-1, 5))


# --- Baseline validation --------------------------------------------------------------------------


def test_valid_baseline():
    validate_baseline(
        (
            ct("A", "liver", 10),  # exactly 10 mm on 5 mm slices
            ct("B", "Liver ", 500),  # same organ (case and spaces), 500 mm is the limit
            ct("N", "neck", 15, node=True),  # exactly 15 mm short axis
            Lesion("C", "skin", Method.CALIPER, 10),
            Lesion("X", "lung", Method.CHEST_XRAY, 20),
        ),
        (ct("M", "mediastinum", 12, node=True), Lesion("P", "pleura", Method.CT)),
    )


def test_sixth_target_refused():
    six = (
        ct("T1", "liver", 20),
        ct("T2", "liver", 20),
        ct("T3", "lung", 20),
        ct("T4", "lung", 20),
        ct("T5", "kidney", 20),
        ct("T6", "adrenal", 20),
    )
    with pytest.raises(RecistError) as e:
        validate_baseline(six, ())
    assert e.value.field == "targets[5]"


def test_third_target_in_one_organ_refused():
    with pytest.raises(RecistError) as e:
        validate_baseline(
            (
                ct("T1", "liver", 20),
                ct("T2", "lung", 20),
                ct("T3", "liver", 20),
                ct("T4", "LIVER", 20),
            ),
            (),
        )
    assert e.value.field == "targets[3].organ"


def test_all_lymph_nodes_are_one_organ():
    nodes = (
        ct("N1", "axilla", 20, node=True),
        ct("N2", "groin", 20, node=True),
        ct("N3", "neck", 20, node=True),
    )
    with pytest.raises(RecistError) as e:
        validate_baseline(nodes, ())
    assert e.value.field == "targets[2].organ"


def test_12_mm_node_as_target_refused():
    with pytest.raises(RecistError) as e:
        validate_baseline((ct("N", "axilla", 12, node=True),), ())
    assert e.value.field == "targets[0].diameter_mm"
    assert "non-target" in e.value.message


def test_node_below_10_mm_is_not_a_lesion():
    with pytest.raises(RecistError) as e:
        validate_baseline((), (ct("N", "axilla", 9, node=True),))
    assert e.value.field == "non_targets[0].diameter_mm"


def test_9_mm_lesion_on_ct_refused():
    with pytest.raises(RecistError) as e:
        validate_baseline((ct("A", "liver", 9),), ())
    assert e.value.field == "targets[0].diameter_mm"


def test_thick_slices_need_twice_the_slice():
    # 8 mm slices: minimum 16 mm
    with pytest.raises(RecistError):
        validate_baseline((ct("A", "liver", 15, slice_mm=8),), ())
    validate_baseline((ct("A", "liver", 16, slice_mm=8),), ())


def test_caliper_and_chest_xray_minimums():
    with pytest.raises(RecistError):
        validate_baseline((Lesion("C", "skin", Method.CALIPER, 9),), ())
    with pytest.raises(RecistError):
        validate_baseline((Lesion("X", "lung", Method.CHEST_XRAY, 19),), ())


def test_ct_target_needs_slice_thickness():
    with pytest.raises(RecistError) as e:
        validate_baseline((Lesion("A", "liver", Method.CT, 20),), ())
    assert e.value.field == "targets[0].slice_thickness_mm"


def test_over_500_mm_refused():
    with pytest.raises(RecistError) as e:
        validate_baseline((ct("A", "liver", 501),), ())
    assert e.value.field == "targets[0].diameter_mm"


def test_negative_refused():
    with pytest.raises(RecistError) as e:
        validate_baseline((ct("A", "liver", -5),), ())
    assert e.value.field == "targets[0].diameter_mm"
    with pytest.raises(RecistError):
        validate_baseline((), (Lesion("P", "pleura", Method.CT, -1),))


def test_empty_baseline_and_duplicate_ids_refused():
    with pytest.raises(RecistError) as e:
        validate_baseline((), ())
    assert e.value.field == "targets"
    with pytest.raises(RecistError) as e:
        validate_baseline((ct("A", "liver", 20),), (ct("A", "lung", 20),))
    assert e.value.field == "non_targets[0].lesion_id"


def test_every_baseline_problem_is_listed_with_its_code():
    """Issue 11 C6: RECIST 3.1.1 / 4.2 refusals of several lesions at once, one per field."""
    problems = baseline_problems(
        (
            ct("A", "liver", 9),  # < 10 mm on CT, 5 mm slices
            ct("B", "lung", -1),  # negative: refused once, not again as "not measurable"
            ct("C", "", 20),  # no organ
            ct("N", "lymph node", 14, node=True),  # a target node needs >= 15 mm
        ),
        (ct("P", "lymph node", 9, node=True),),  # a node < 10 mm is not pathological
    )
    assert [(p.field, p.code) for p in problems] == [
        ("targets[1].diameter_mm", "diameter_negative"),
        ("targets[2].organ", "organ_required"),
        ("targets[0].diameter_mm", "not_measurable"),
        ("targets[3].diameter_mm", "node_not_measurable"),
        ("non_targets[0].diameter_mm", "node_not_pathological"),
    ]


def test_a_valid_baseline_has_no_problem():
    assert baseline_problems((ct("A", "liver", 10), ct("N", "lymph node", 15, node=True)), ()) == []


def test_float_diameter_refused():
    with pytest.raises(RecistError):
        validate_baseline((ct("A", "liver", 20.5),), ())


# --- Best overall response (RECIST table 3 with confirmation) -------------------------------------


def scans(*pairs, non_target_only=False):
    return [ScanResponse(d, r, non_target_only=non_target_only) for d, r in pairs]


# Minimum SD met: first scan day 42 (>= 35). Not met: first scan day 28, second day 34 (both
# < 35) -- unscheduled early scans.
MET = (DAY42, DAY84)
NOT_MET = (DAY28, DAY34)

TABLE_3 = [
    # first, subsequent, dates, BOR
    (R.CR, R.CR, MET, R.CR),
    (R.CR, R.PR, MET, R.PR),  # footnote a: first CR read as PR, confirmed 42 days later
    (R.CR, R.SD, MET, R.SD),
    (R.CR, R.PD, MET, R.SD),
    (R.CR, R.PD, NOT_MET, R.PD),
    (R.CR, R.NE, MET, R.SD),
    (R.CR, R.NE, NOT_MET, R.NE),
    (R.PR, R.CR, MET, R.PR),
    (R.PR, R.PR, MET, R.PR),
    (R.PR, R.SD, MET, R.SD),
    (R.PR, R.PD, MET, R.SD),
    (R.PR, R.PD, NOT_MET, R.PD),
    (R.PR, R.NE, MET, R.SD),
    (R.PR, R.NE, NOT_MET, R.NE),
    (R.NE, R.NE, MET, R.NE),
]


@pytest.mark.parametrize(("first", "then", "dates", "bor"), TABLE_3)
def test_table_3(first, then, dates, bor):
    result = best_overall_response(C1D1, scans((dates[0], first), (dates[1], then)))
    assert result.response == bor


def test_cr_then_sd_before_sd_minimum_is_ne_with_note():
    # Table 3 reads PD; no PD timepoint to date it: NE plus a note (documented deviation).
    result = best_overall_response(C1D1, scans((DAY28, R.CR), (DAY34, R.SD)))
    assert result.response == R.NE
    assert [n.code for n in result.notes] == ["response_not_confirmed", "unconfirmed_cr_then_worse"]


def test_pr_confirmed_at_28_days():
    # Feb 16 -> Mar 16 = 28 days: confirmed PR
    result = best_overall_response(C1D1, scans((DAY42, R.PR), (DAY42_PLUS28, R.PR)))
    assert result.response == R.PR
    assert result.response_date == DAY42
    assert result.confirmed_on == DAY42_PLUS28


def test_pr_not_confirmed_at_21_days():
    # Feb 16 -> Mar 9 = 21 days < 28: not confirmed; day 42 >= 35: SD
    result = best_overall_response(C1D1, scans((DAY42, R.PR), (DAY42_PLUS21, R.PR)))
    assert result.response == R.SD
    assert result.confirmed_on is None


def test_pr_confirmed_across_ne_and_an_early_repeat():
    # PR Feb 16, PR Mar 9 (21 d, too early), NE Mar 16, PR Mar 30 (42 d): confirmed PR
    result = best_overall_response(
        C1D1,
        scans((DAY42, R.PR), (DAY42_PLUS21, R.PR), (DAY42_PLUS28, R.NE), (DAY84, R.PR)),
    )
    assert result.response == R.PR
    assert result.confirmed_on == DAY84


def test_pr_not_confirmed_across_sd():
    # PR, SD, PR: the SD in between breaks the confirmation; BOR SD
    result = best_overall_response(C1D1, scans((DAY42, R.PR), (DAY84, R.SD), (DAY126, R.PR)))
    assert result.response == R.SD


def test_pr_then_pd_is_sd_when_minimum_met():
    result = best_overall_response(C1D1, scans((DAY42, R.PR), (DAY84, R.PD)))
    assert result.response == R.SD
    assert result.first_pd_date == DAY84


def test_pr_then_pd_is_pd_when_minimum_not_met():
    result = best_overall_response(C1D1, scans((DAY28, R.PR), (DAY84, R.PD)))
    assert result.response == R.PD
    assert result.first_pd_date == DAY84


def test_sd_too_early_to_count():
    # SD at day 34 (< 35), PD at day 84: PD
    result = best_overall_response(C1D1, scans((DAY34, R.SD), (DAY84, R.PD)))
    assert result.response == R.PD
    # SD at day 35 exactly counts
    assert SD_MIN_DAYS_AFTER_C1D1 == 35
    assert best_overall_response(C1D1, scans((DAY35, R.SD), (DAY84, R.PD))).response == R.SD


def test_confirmed_cr_beats_earlier_pr():
    # PR Feb 16, CR Mar 30, CR May 11 (42 d): CR, first CR on Mar 30
    result = best_overall_response(C1D1, scans((DAY42, R.PR), (DAY84, R.CR), (DAY126, R.CR)))
    assert result.response == R.CR
    assert result.response_date == DAY84


def test_scans_after_pd_are_ignored():
    # PD Feb 16 then "PR, PR": BOR PD
    result = best_overall_response(C1D1, scans((DAY42, R.PD), (DAY84, R.PR), (DAY126, R.PR)))
    assert result.response == R.PD
    assert result.first_pd_date == DAY42


def test_non_target_only_bor_is_non_cr_non_pd():
    result = best_overall_response(
        C1D1, scans((DAY42, R.NON_CR_NON_PD), (DAY84, R.NON_CR_NON_PD), non_target_only=True)
    )
    assert result.response == R.NON_CR_NON_PD


def test_no_timepoints_is_ne():
    assert best_overall_response(C1D1, []).response == R.NE


def test_equivocal_new_lesion_dates_pd_back():
    # SD Feb 16; SD with equivocal new lesion Mar 30; PD May 11 confirms it: PD dated Mar 30.
    # BOR: SD (Feb 16 is day 42 >= 35).
    tps = [
        ScanResponse(DAY42, R.SD),
        ScanResponse(DAY84, R.SD, NewLesion.EQUIVOCAL),
        ScanResponse(DAY126, R.PD, NewLesion.YES, confirms_equivocal=True),
    ]
    result = best_overall_response(C1D1, tps)
    assert result.first_pd_date == DAY84
    assert result.response == R.SD


def test_equivocal_back_dating_removes_a_response():
    # PR Feb 16 with equivocal lesion, PR Mar 30 still equivocal, PD May 11 confirming: PD from
    # Feb 16, so neither PR counts; nothing SD-or-better before it: PD.
    tps = [
        ScanResponse(DAY42, R.PR, NewLesion.EQUIVOCAL),
        ScanResponse(DAY84, R.PR, NewLesion.EQUIVOCAL),
        ScanResponse(DAY126, R.PD, NewLesion.YES, confirms_equivocal=True),
    ]
    result = best_overall_response(C1D1, tps)
    assert result.first_pd_date == DAY42
    assert result.response == R.PD


def test_confirms_equivocal_without_an_equivocal_scan_refused():
    tps = [
        ScanResponse(DAY42, R.SD),
        ScanResponse(DAY84, R.PD, NewLesion.YES, confirms_equivocal=True),
    ]
    with pytest.raises(RecistError) as e:
        best_overall_response(C1D1, tps)
    assert e.value.field == "timepoints[1].confirms_equivocal"


def test_bor_date_errors():
    with pytest.raises(RecistError) as e:
        best_overall_response(C1D1, scans((C1D1, R.SD)))
    assert e.value.field == "timepoints[0].scan_date"
    with pytest.raises(RecistError) as e:
        best_overall_response(C1D1, scans((DAY84, R.SD), (DAY42, R.SD)))
    assert e.value.field == "timepoints[1].scan_date"


def test_end_to_end_from_timepoint_results():
    # Baseline 100. Feb 16: 70 (PR, -30 %). Mar 30: 60 (PR; nadir 70). May 11: 72 (+20 % of
    # nadir 60, +12 mm: PD). BOR: PR confirmed Feb 16 -> Mar 30 (42 days); first PD May 11.
    r1 = tp(meas(42, 28), NT.NON_CR_NON_PD)
    r2 = tp(meas(36, 24), NT.NON_CR_NON_PD, history=(r1.sum_mm,))
    r3 = tp(meas(42, 30), NT.NON_CR_NON_PD, history=(r1.sum_mm, r2.sum_mm))
    assert (r1.overall, r2.overall, r3.overall) == (R.PR, R.PR, R.PD)
    assert r3.nadir_mm == D(60)
    result = best_overall_response(
        C1D1,
        [
            ScanResponse.from_result(DAY42, r1),
            ScanResponse.from_result(DAY84, r2),
            ScanResponse.from_result(DAY126, r3),
        ],
    )
    assert result.response == R.PR
    assert (result.response_date, result.confirmed_on, result.first_pd_date) == (
        DAY42,
        DAY84,
        DAY126,
    )


# --- baseline window and equivocal confirmation ------------------------------------------------


@pytest.mark.parametrize(
    ("scan", "inside"),
    [
        (date(2025, 12, 8), True),  # C1D1 2026-01-05 - 28 days: the first day allowed
        (date(2025, 12, 7), False),  # - 29 days
        (date(2026, 1, 5), True),  # on C1D1
        (date(2026, 1, 6), False),  # after C1D1: not a baseline
    ],
)
def test_baseline_scan_window(scan, inside):
    from assessments.recist import baseline_scan_in_window

    assert baseline_scan_in_window(scan, date(2026, 1, 5)) is inside


def test_confirming_an_equivocal_lesion():
    from assessments.recist import check_confirms_equivocal

    N = NewLesion
    check_confirms_equivocal(True, N.YES, N.EQUIVOCAL)  # accepted
    check_confirms_equivocal(False, N.NO, None)  # nothing claimed
    with pytest.raises(RecistError, match="unequivocal"):
        check_confirms_equivocal(True, N.EQUIVOCAL, N.EQUIVOCAL)
    with pytest.raises(RecistError, match="no equivocal"):
        check_confirms_equivocal(True, N.YES, N.NO)
    with pytest.raises(RecistError, match="no equivocal"):
        check_confirms_equivocal(True, N.YES, None)


# --- Notes: codes and parameters, no wording (issue 11 C13) -------------------------------------


def _notes(result):
    return [(n.code, n.values) for n in result.notes]


def test_pr_note_gives_the_change_and_the_baseline():
    # 42 + 28 = 70 of 100: (70 - 100) / 100 = -30.00 %
    assert _notes(tp(meas(42, 28))) == [
        ("pr_from_baseline", {"percent": D("-30.00"), "baseline_mm": D(100), "limit_pct": D(30)})
    ]


def test_pd_note_gives_the_rise_over_the_nadir():
    # history 80 -> nadir 80; 60 + 40 = 100: +20 mm, 20 / 80 = +25.00 %
    result = tp(meas(60, 40), history=[D(80)])
    assert result.target_response == R.PD
    assert _notes(result) == [
        (
            "pd_from_nadir",
            {
                "percent": D("25.00"),
                "increase_mm": D(20),
                "nadir_mm": D(80),
                "limit_pct": D(20),
                "limit_mm": D(5),
            },
        )
    ]


def test_pd_over_a_zero_nadir_is_in_mm_only():
    # a CR (sum 0) before: 6 + 0 = 6 mm over 0 is PD; no percentage of 0
    result = tp(meas(6, MK.DISAPPEARED), history=[D(0)])
    assert result.target_response == R.PD
    assert _notes(result) == [("pd_from_zero_nadir", {"increase_mm": D(6), "limit_mm": D(5)})]


def test_sd_note_gives_the_change_and_both_limits():
    # 50 + 30 = 80 of 100: -20.00 %
    assert _notes(tp(meas(50, 30))) == [
        (
            "sd_between_limits",
            {"percent": D("-20.00"), "pr_pct": D(30), "pd_pct": D(20), "pd_mm": D(5)},
        )
    ]


def test_not_assessed_and_new_lesion_notes():
    assert _notes(tp(meas(50, MK.NOT_ASSESSED))) == [("target_not_assessed", {})]
    # A alone 130 mm over the nadir 100: evident PD without B
    assert _notes(tp(meas(130, MK.NOT_ASSESSED))) == [
        (
            "pd_assessed_targets_alone",
            {"assessed_sum_mm": D(130), "nadir_mm": D(100), "limit_pct": D(20), "limit_mm": D(5)},
        )
    ]
    codes = [n.code for n in tp(meas(50, 30), new=NewLesion.YES).notes]
    assert codes == ["sd_between_limits", "new_lesion_pd"]


def test_bor_notes_are_codes():
    not_confirmed = best_overall_response(C1D1, scans((DAY42, R.PR), (DAY42_PLUS21, R.PR)))
    assert [(n.code, n.values) for n in not_confirmed.notes] == [
        ("response_not_confirmed", {"days": 28})
    ]
    early = best_overall_response(C1D1, scans((DAY28, R.SD), (DAY42, R.PD)))
    assert [(n.code, n.values) for n in early.notes] == [("sd_too_early", {"day": 35})]


def _two(a: Measurement, b: Measurement | None = None) -> tuple[Measurement, ...]:
    return (a, b or Measurement("B", MK.MEASURED, 4))


@pytest.mark.parametrize(
    ("measurements", "code"),
    [
        (
            _two(Measurement("A", MK.MEASURED, 40), Measurement("A", MK.MEASURED, 40)),
            "measured_twice",
        ),
        ((Measurement("Z", MK.MEASURED, 40),), "unknown_lesion"),
        (_two(Measurement("A", MK.MEASURED)), "diameter_required"),
        (_two(Measurement("A", MK.TOO_SMALL, 5)), "too_small_with_diameter"),
        (_two(Measurement("A", MK.DISAPPEARED, 3)), "disappeared_with_diameter"),
        (_two(Measurement("A", MK.MERGED)), "merged_into_required"),
    ],
)
def test_refused_measurements_carry_a_code(measurements, code):
    with pytest.raises(RecistError) as refused:
        tp(measurements)
    assert refused.value.code == code

"""Tests of safety.grading against grades worked out by hand from the CTCAE v4.03 wording (NCI,
14 June 2010), quoted in the comment of each table row; none was copied from what the code prints.

Boundary reading (see the module docstring): "<A - B" contains B, not A; ">A - B" contains B, not
A; grade 1 needs value < LLN (or > ULN); thresholds beyond grade 1 apply whatever the LLN/ULN.

Reference ranges used throughout (same unit as the value):
Hb 130-175 g/L, 13.0-17.5 g/dL, 8.1-10.9 mmol/L; WBC LLN 4.0 x 10^9/L = 4000/mm3; ANC LLN
2.0 x 10^9/L = 2000/mm3; platelets LLN 100 x 10^9/L = 100,000/mm3; ALT ULN 40 U/L; AST ULN 35 U/L;
bilirubin ULN 21 umol/L, 1.2 mg/dL; creatinine ULN 100 umol/L, 1.1 mg/dL; albumin LLN 35 g/L,
3.5 g/dL; glucose 3.9-6.1 mmol/L, 70-100 mg/dL; cholesterol ULN 5.2 mmol/L, 200 mg/dL; 24-h urine
protein ULN 0.15 g = 150 mg.
"""

from __future__ import annotations

import ast
import csv
import subprocess
import sys
from dataclasses import FrozenInstanceError
from decimal import Decimal as D
from pathlib import Path

import pytest

from safety.grading import (
    ANALYTES,
    TERM_LIMITS,
    WORDING,
    GradeResult,
    GradingError,
    grade,
    grade_blood_pressure,
)

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "safety" / "grading.py"
_SHIPPED = ROOT / "safety" / "data" / "ctcae_v4.03.csv"
CSV_PATH = _SHIPPED if _SHIPPED.exists() else Path("/work/shared/data/ctcae_v4.03.csv")
with CSV_PATH.open(newline="", encoding="utf-8") as _file:
    CTCAE = {row["term"]: row for row in csv.DictReader(_file)}

ANEMIA = "Anemia"
HB_UP = "Hemoglobin increased"
WBC = "White blood cell decreased"
ANC = "Neutrophil count decreased"
PLT = "Platelet count decreased"
ALT = "Alanine aminotransferase increased"
AST = "Aspartate aminotransferase increased"
BILI = "Blood bilirubin increased"
CREAT = "Creatinine increased"
ALB = "Hypoalbuminemia"
HYPO = "Hypoglycemia"
HYPER = "Hyperglycemia"
TG = "Hypertriglyceridemia"
CHOL = "Cholesterol high"
PROT = "Proteinuria"
QTC = "Electrocardiogram QT corrected interval prolonged"
HTN = "Hypertension"


def ctcae(term: str, grade_: int | None) -> str:
    """The dictionary's wording of that grade of that term ("" for grade 0 / None)."""
    return CTCAE[term][f"grade_{grade_}"] if term and grade_ else ""


def check(result: GradeResult, term: str, expected: int | None) -> None:
    assert (result.term, result.grade) == (term, expected)
    assert result.definition == ctcae(term, expected)


# --- Hemoglobin: Anemia / Hemoglobin increased -------------------------------------------------
HB_RANGE = {"g/L": ("130", "175"), "g/dL": ("13.0", "17.5"), "mmol/L": ("8.1", "10.9")}


@pytest.mark.parametrize(
    ("value", "unit", "term", "expected"),
    [
        # Anemia g/L: 1 "<LLN - 100 g/L"; 2 "<100 - 80g/L"; 3 "<80 g/L"; 4 clinical.
        ("150", "g/L", "", 0),  # inside 130-175
        ("130", "g/L", "", 0),  # = LLN: not "<LLN"
        ("129", "g/L", ANEMIA, 1),  # <LLN
        ("100", "g/L", ANEMIA, 1),  # 100 is the end of "<LLN - 100"
        ("99.9", "g/L", ANEMIA, 2),  # "<100"
        ("99", "g/L", ANEMIA, 2),  # "<100 - 80"
        ("80", "g/L", ANEMIA, 2),  # 80 is the end of "<100 - 80"
        ("79.9", "g/L", ANEMIA, 3),  # "<80"
        ("0", "g/L", ANEMIA, 3),  # grade 4 is clinical: never from a value
        # Anemia g/dL: 1 "<LLN - 10.0 g/dL"; 2 "<10.0 - 8.0 g/dL"; 3 "<8.0 g/dL".
        ("13.0", "g/dL", "", 0),  # = LLN
        ("12.9", "g/dL", ANEMIA, 1),
        ("10.0", "g/dL", ANEMIA, 1),  # exactly 10.0 is not "<10.0"
        ("9.9", "g/dL", ANEMIA, 2),
        ("8.0", "g/dL", ANEMIA, 2),  # exactly 8.0 is grade 2
        ("7.9", "g/dL", ANEMIA, 3),
        # Anemia mmol/L: 1 "<LLN - 6.2 mmol/L"; 2 "<6.2 - 4.9 mmol/L"; 3 "<4.9 mmol/L".
        ("8.1", "mmol/L", "", 0),  # = LLN
        ("8.0", "mmol/L", ANEMIA, 1),
        ("6.2", "mmol/L", ANEMIA, 1),
        ("6.1", "mmol/L", ANEMIA, 2),
        ("4.9", "mmol/L", ANEMIA, 2),
        ("4.8", "mmol/L", ANEMIA, 3),
        # Hemoglobin increased: "Increase in >0 - 2 gm/dL above ULN" (g/L: 2 gm/dL = 20 g/L);
        # 2 ">2 - 4 gm/dL" (40 g/L); 3 ">4 gm/dL".
        ("175", "g/L", "", 0),  # = ULN: no increase
        ("176", "g/L", HB_UP, 1),  # +1 g/L = +0.1 gm/dL
        ("195", "g/L", HB_UP, 1),  # +20 g/L = +2 gm/dL, end of ">0 - 2"
        ("196", "g/L", HB_UP, 2),  # +21 g/L = +2.1 gm/dL
        ("215", "g/L", HB_UP, 2),  # +40 g/L = +4 gm/dL, end of ">2 - 4"
        ("216", "g/L", HB_UP, 3),  # +4.1 gm/dL: ">4"
        ("17.5", "g/dL", "", 0),  # = ULN
        ("17.6", "g/dL", HB_UP, 1),  # +0.1
        ("19.5", "g/dL", HB_UP, 1),  # +2.0
        ("19.6", "g/dL", HB_UP, 2),  # +2.1
        ("21.5", "g/dL", HB_UP, 2),  # +4.0
        ("21.6", "g/dL", HB_UP, 3),  # +4.1
        ("10.9", "mmol/L", "", 0),  # = ULN
        ("11.0", "mmol/L", HB_UP, None),  # wording in gm/dL only: no molar conversion
    ],
)
def test_hemoglobin(value, unit, term, expected):
    lln, uln = HB_RANGE[unit]
    result = grade("hb", value, unit, lln=lln, uln=uln)
    check(result, term, expected)
    assert result.analyte == "hb"


@pytest.mark.parametrize(
    ("value", "lln", "term", "expected"),
    [
        ("95", "90", ANEMIA, 2),  # "<100 - 80 g/L": grade 2 although not below the LLN
        ("90", "90", ANEMIA, 2),  # = LLN, still <100
        ("99", "99", ANEMIA, 2),
        ("100", "100", "", 0),  # = LLN and not <100: nothing applies
        ("79", "75", ANEMIA, 3),  # "<80 g/L" whatever the LLN
    ],
)
def test_hemoglobin_absolute_thresholds_apply_whatever_the_lln(value, lln, term, expected):
    result = grade("hb", value, "g/L", lln=lln, uln="175")
    check(result, term, expected)
    assert ("absolute threshold" in result.note) == (expected > 0)


@pytest.mark.parametrize(
    ("value", "baseline", "term", "expected"),
    [
        # "... above ULN or above baseline if baseline is above ULN"; ULN 175 g/L.
        ("180", "180", HB_UP, 0),  # baseline 180 > ULN: reference 180, no increase
        ("178", "180", HB_UP, 0),  # above ULN but below that baseline
        ("181", "180", HB_UP, 1),  # +1 g/L above baseline
        ("200", "180", HB_UP, 1),  # +20 g/L = 2 gm/dL: end of ">0 - 2"
        ("201", "180", HB_UP, 2),  # +2.1 gm/dL
        ("176", "150", HB_UP, 1),  # baseline 150 <= ULN: reference stays the ULN, +1 g/L
        ("196", "150", HB_UP, 2),  # +21 g/L above ULN
    ],
)
def test_hemoglobin_increased_from_a_baseline_above_uln(value, baseline, term, expected):
    result = grade("hb", value, "g/L", lln="130", uln="175", baseline=baseline)
    check(result, term, expected)


def test_hemoglobin_increased_in_mmol_is_not_converted():
    result = grade("hb", "12", "mmol/L", lln="8.1", uln="10.9")
    assert "gm/dL" in result.note


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11.5", 0),  # = baseline 11.5 (> ULN 10.9): no increase, nothing to convert
        ("11.2", 0),  # above the ULN, below that baseline
        ("11.6", None),  # above the baseline: wording in gm/dL only
    ],
)
def test_hemoglobin_increased_in_mmol_against_a_high_baseline(value, expected):
    result = grade("hb", value, "mmol/L", lln="8.1", uln="10.9", baseline="11.5")
    check(result, HB_UP, expected)


def test_hemoglobin_baseline_equal_to_uln_is_not_above_it():
    # "above baseline if baseline is above ULN": a baseline equal to the ULN changes nothing.
    result = grade("hb", "176", "g/L", lln="130", uln="175", baseline="175")
    check(result, HB_UP, 1)
    assert "ULN (175)" in result.note


# --- Counts: WBC, ANC, platelets ---------------------------------------------------------------
COUNT_LLN = {
    ("wbc", "10^9/L"): "4.0",
    ("wbc", "/mm3"): "4000",
    ("anc", "10^9/L"): "2.0",
    ("anc", "/mm3"): "2000",
    ("plt", "10^9/L"): "100",
    ("plt", "/mm3"): "100000",
}


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "term", "expected"),
    [
        # WBC 10^9/L: 1 "<LLN - 3.0 x 10e9 /L"; 2 "<3.0 - 2.0"; 3 "<2.0 - 1.0"; 4 "<1.0".
        ("wbc", "4.0", "10^9/L", WBC, 0),  # = LLN
        ("wbc", "3.9", "10^9/L", WBC, 1),
        ("wbc", "3.0", "10^9/L", WBC, 1),
        ("wbc", "2.9", "10^9/L", WBC, 2),
        ("wbc", "2.0", "10^9/L", WBC, 2),
        ("wbc", "1.9", "10^9/L", WBC, 3),
        ("wbc", "1.0", "10^9/L", WBC, 3),
        ("wbc", "0.9", "10^9/L", WBC, 4),
        ("wbc", "0", "10^9/L", WBC, 4),
        # WBC /mm3: 1 "<LLN - 3000/mm3"; 2 "<3000 - 2000"; 3 "<2000 - 1000"; 4 "<1000".
        ("wbc", "4000", "/mm3", WBC, 0),
        ("wbc", "3999", "/mm3", WBC, 1),
        ("wbc", "3000", "/mm3", WBC, 1),
        ("wbc", "2999", "/mm3", WBC, 2),
        ("wbc", "2000", "/mm3", WBC, 2),
        ("wbc", "1999", "/mm3", WBC, 3),
        ("wbc", "1000", "/mm3", WBC, 3),
        ("wbc", "999", "/mm3", WBC, 4),
        # ANC 10^9/L: 1 "<LLN - 1.5 x 10e9 /L"; 2 "<1.5 - 1.0"; 3 "<1.0 - 0.5"; 4 "<0.5".
        ("anc", "2.0", "10^9/L", ANC, 0),
        ("anc", "1.99", "10^9/L", ANC, 1),
        ("anc", "1.5", "10^9/L", ANC, 1),
        ("anc", "1.49", "10^9/L", ANC, 2),
        ("anc", "1.0", "10^9/L", ANC, 2),
        ("anc", "0.99", "10^9/L", ANC, 3),
        ("anc", "0.8", "10^9/L", ANC, 3),  # required example: "<1.0 - 0.5"
        ("anc", "0.5", "10^9/L", ANC, 3),
        ("anc", "0.49", "10^9/L", ANC, 4),
        # ANC /mm3: 1 "<LLN - 1500/mm3"; 2 "<1500 - 1000"; 3 "<1000 - 500"; 4 "<500".
        ("anc", "2000", "/mm3", ANC, 0),
        ("anc", "1999", "/mm3", ANC, 1),
        ("anc", "1500", "/mm3", ANC, 1),
        ("anc", "1499", "/mm3", ANC, 2),
        ("anc", "1000", "/mm3", ANC, 2),
        ("anc", "999", "/mm3", ANC, 3),
        ("anc", "800", "/mm3", ANC, 3),
        ("anc", "500", "/mm3", ANC, 3),
        ("anc", "499", "/mm3", ANC, 4),
        # Platelets 10^9/L: 1 "<LLN - 75.0 x 10e9 /L"; 2 "<75.0 - 50.0"; 3 "<50.0 - 25.0";
        # 4 "<25.0".
        ("plt", "100", "10^9/L", PLT, 0),  # = LLN
        ("plt", "99", "10^9/L", PLT, 1),
        ("plt", "75", "10^9/L", PLT, 1),  # required example
        ("plt", "74.9", "10^9/L", PLT, 2),
        ("plt", "74", "10^9/L", PLT, 2),  # required example
        ("plt", "50", "10^9/L", PLT, 2),
        ("plt", "49.9", "10^9/L", PLT, 3),
        ("plt", "25", "10^9/L", PLT, 3),
        ("plt", "24.9", "10^9/L", PLT, 4),
        # Platelets /mm3: 1 "<LLN - 75,000/mm3"; 2 "<75,000 - 50,000"; 3 "<50,000 - 25,000";
        # 4 "<25,000".
        ("plt", "100000", "/mm3", PLT, 0),
        ("plt", "99999", "/mm3", PLT, 1),
        ("plt", "75000", "/mm3", PLT, 1),
        ("plt", "74999", "/mm3", PLT, 2),
        ("plt", "50000", "/mm3", PLT, 2),
        ("plt", "49999", "/mm3", PLT, 3),
        ("plt", "25000", "/mm3", PLT, 3),
        ("plt", "24999", "/mm3", PLT, 4),
    ],
)
def test_blood_counts(analyte, value, unit, term, expected):
    result = grade(analyte, value, unit, lln=COUNT_LLN[analyte, unit])
    check(result, term, expected)
    assert result.note == ""  # grade 4 is a value here, not a clinical judgement


def test_count_below_grade_2_threshold_is_graded_whatever_the_lln():
    # ANC LLN 1.4 (an odd laboratory): 1.45 is not <LLN but is "<1.5 - 1.0" -> grade 2.
    check(grade("anc", "1.45", "10^9/L", lln="1.4"), ANC, 2)


# --- Multiples of the ULN: ALT, AST, bilirubin, creatinine -------------------------------------
@pytest.mark.parametrize(
    ("analyte", "value", "unit", "uln", "term", "expected"),
    [
        # ALT/AST: 1 ">ULN - 3.0 x ULN"; 2 ">3.0 - 5.0 x ULN"; 3 ">5.0 - 20.0"; 4 ">20.0".
        ("alt", "40", "U/L", "40", ALT, 0),  # = ULN
        ("alt", "41", "U/L", "40", ALT, 1),
        ("alt", "120", "U/L", "40", ALT, 1),  # required: 3.0 x ULN is grade 1
        ("alt", "121", "U/L", "40", ALT, 2),  # 3.025 x ULN
        ("alt", "124", "U/L", "40", ALT, 2),  # required: 3.1 x ULN is grade 2
        ("alt", "200", "U/L", "40", ALT, 2),  # 5.0 x
        ("alt", "201", "U/L", "40", ALT, 3),
        ("alt", "800", "U/L", "40", ALT, 3),  # 20.0 x
        ("alt", "801", "U/L", "40", ALT, 4),
        ("ast", "35", "U/L", "35", AST, 0),
        ("ast", "35.1", "U/L", "35", AST, 1),
        ("ast", "105", "U/L", "35", AST, 1),  # 3.0 x
        ("ast", "105.1", "U/L", "35", AST, 2),
        ("ast", "175", "U/L", "35", AST, 2),  # 5.0 x
        ("ast", "175.1", "U/L", "35", AST, 3),
        ("ast", "700", "U/L", "35", AST, 3),  # 20.0 x
        ("ast", "700.1", "U/L", "35", AST, 4),
        # Bilirubin: 1 ">ULN - 1.5 x ULN"; 2 ">1.5 - 3.0"; 3 ">3.0 - 10.0"; 4 ">10.0 x ULN".
        ("bilirubin", "21", "umol/L", "21", BILI, 0),
        ("bilirubin", "21.1", "umol/L", "21", BILI, 1),
        ("bilirubin", "31.5", "umol/L", "21", BILI, 1),  # 1.5 x
        ("bilirubin", "31.6", "umol/L", "21", BILI, 2),
        ("bilirubin", "63", "umol/L", "21", BILI, 2),  # 3.0 x
        ("bilirubin", "63.1", "umol/L", "21", BILI, 3),
        ("bilirubin", "210", "umol/L", "21", BILI, 3),  # 10.0 x
        ("bilirubin", "210.1", "umol/L", "21", BILI, 4),
        ("bilirubin", "1.2", "mg/dL", "1.2", BILI, 0),
        ("bilirubin", "1.21", "mg/dL", "1.2", BILI, 1),
        ("bilirubin", "1.8", "mg/dL", "1.2", BILI, 1),  # 1.5 x
        ("bilirubin", "1.81", "mg/dL", "1.2", BILI, 2),
        ("bilirubin", "3.6", "mg/dL", "1.2", BILI, 2),  # 3.0 x
        ("bilirubin", "3.61", "mg/dL", "1.2", BILI, 3),
        ("bilirubin", "12.0", "mg/dL", "1.2", BILI, 3),  # 10.0 x
        ("bilirubin", "12.01", "mg/dL", "1.2", BILI, 4),
        # Creatinine by ULN: 1 ">ULN - 1.5 x ULN"; 2 ">1.5 - 3.0"; 3 ">3.0 - 6.0"; 4 ">6.0".
        ("creatinine", "100", "umol/L", "100", CREAT, 0),
        ("creatinine", "101", "umol/L", "100", CREAT, 1),
        ("creatinine", "150", "umol/L", "100", CREAT, 1),  # 1.5 x
        ("creatinine", "151", "umol/L", "100", CREAT, 2),
        ("creatinine", "300", "umol/L", "100", CREAT, 2),  # 3.0 x
        ("creatinine", "301", "umol/L", "100", CREAT, 3),
        ("creatinine", "600", "umol/L", "100", CREAT, 3),  # 6.0 x
        ("creatinine", "601", "umol/L", "100", CREAT, 4),
        ("creatinine", "1.1", "mg/dL", "1.1", CREAT, 0),
        ("creatinine", "1.11", "mg/dL", "1.1", CREAT, 1),
        ("creatinine", "1.65", "mg/dL", "1.1", CREAT, 1),  # 1.5 x
        ("creatinine", "1.66", "mg/dL", "1.1", CREAT, 2),
        ("creatinine", "3.3", "mg/dL", "1.1", CREAT, 2),  # 3.0 x
        ("creatinine", "3.31", "mg/dL", "1.1", CREAT, 3),
        ("creatinine", "6.6", "mg/dL", "1.1", CREAT, 3),  # 6.0 x
        ("creatinine", "6.61", "mg/dL", "1.1", CREAT, 4),
    ],
)
def test_multiples_of_uln(analyte, value, unit, uln, term, expected):
    check(grade(analyte, value, unit, uln=uln), term, expected)


@pytest.mark.parametrize(
    ("value", "unit", "uln", "baseline", "expected"),
    [
        # Baseline: 1 ">1 - 1.5 x baseline"; 2 ">1.5 - 3.0 x baseline"; 3 ">3.0 baseline";
        # the higher of the baseline grade and the ULN grade.
        ("60", "umol/L", "100", "60", 0),  # 1.0 x baseline (not >1), <= ULN
        ("61", "umol/L", "100", "60", 1),  # 1.017 x baseline; ULN grade 0
        ("90", "umol/L", "100", "60", 1),  # 1.5 x baseline
        ("91", "umol/L", "100", "60", 2),  # 1.517 x baseline; ULN grade 0
        ("180", "umol/L", "100", "60", 2),  # 3.0 x baseline; 1.8 x ULN also 2
        ("181", "umol/L", "100", "60", 3),  # 3.017 x baseline (3) beats 1.81 x ULN (2)
        ("601", "umol/L", "100", "60", 4),  # 6.01 x ULN (4) beats baseline (3, its maximum)
        ("150", "umol/L", "100", "200", 1),  # below baseline (0); 1.5 x ULN (1)
        ("200", "umol/L", "100", "200", 2),  # 1.0 x baseline (0); 2.0 x ULN (2)
        ("160", "umol/L", "100", "150", 2),  # 1.07 x baseline (1); 1.6 x ULN (2)
        ("0.8", "mg/dL", "1.1", "0.8", 0),  # 1.0 x baseline
        ("0.81", "mg/dL", "1.1", "0.8", 1),  # 1.0125 x baseline
        ("1.2", "mg/dL", "1.1", "0.8", 1),  # 1.5 x baseline; 1.09 x ULN (1)
        ("1.21", "mg/dL", "1.1", "0.8", 2),  # 1.5125 x baseline (2); 1.1 x ULN (1)
        ("2.4", "mg/dL", "1.1", "0.8", 2),  # 3.0 x baseline; 2.18 x ULN (2)
        ("2.41", "mg/dL", "1.1", "0.8", 3),  # 3.0125 x baseline (3); 2.19 x ULN (2)
    ],
)
def test_creatinine_higher_of_baseline_and_uln(value, unit, uln, baseline, expected):
    check(grade("creatinine", value, unit, uln=uln, baseline=baseline), CREAT, expected)


def test_creatinine_note_says_when_the_baseline_decided():
    assert "baseline criterion" in grade("creatinine", "91", "umol/L", uln=100, baseline=60).note
    assert (
        "baseline criterion" not in grade("creatinine", "160", "umol/L", uln=100, baseline=150).note
    )


def test_ratio_in_the_note_never_hides_a_value_above_the_threshold():
    # 120.1 / 40 = 3.0025 x ULN is grade 2: shown rounded up as 3.01, not 3.00.
    result = grade("alt", "120.1", "U/L", uln="40")
    check(result, ALT, 2)
    assert result.note.startswith("3.01 x ULN")


# --- Albumin -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "unit", "lln", "expected"),
    [
        # g/L: 1 "<LLN - 30 g/L"; 2 "<30 - 20 g/L"; 3 "<20 g/L"; 4 clinical.
        ("35", "g/L", "35", 0),  # = LLN
        ("34.9", "g/L", "35", 1),
        ("30", "g/L", "35", 1),
        ("29.9", "g/L", "35", 2),
        ("20", "g/L", "35", 2),
        ("19.9", "g/L", "35", 3),
        ("0", "g/L", "35", 3),  # grade 4 is clinical
        # g/dL: 1 "<LLN - 3 g/dL"; 2 "<3 - 2 g/dL"; 3 "<2 g/dL".
        ("3.5", "g/dL", "3.5", 0),
        ("3.4", "g/dL", "3.5", 1),
        ("3.0", "g/dL", "3.5", 1),
        ("2.9", "g/dL", "3.5", 2),
        ("2.0", "g/dL", "3.5", 2),
        ("1.9", "g/dL", "3.5", 3),
    ],
)
def test_albumin(value, unit, lln, expected):
    result = grade("albumin", value, unit, lln=lln)
    check(result, ALB, expected)
    assert ("clinical" in result.note) == (expected == 3)


# --- Glucose -----------------------------------------------------------------------------------
GLUCOSE_RANGE = {"mmol/L": ("3.9", "6.1"), "mg/dL": ("70", "100")}


@pytest.mark.parametrize(
    ("value", "unit", "term", "expected"),
    [
        ("3.9", "mmol/L", "", 0),  # = LLN
        ("5.0", "mmol/L", "", 0),
        ("6.1", "mmol/L", "", 0),  # = ULN
        # Hypoglycemia mmol/L: 1 "<LLN - 3.0"; 2 "<3.0 - 2.2"; 3 "<2.2 - 1.7"; 4 "<1.7 mmol/L".
        ("3.8", "mmol/L", HYPO, 1),
        ("3.0", "mmol/L", HYPO, 1),
        ("2.9", "mmol/L", HYPO, 2),
        ("2.2", "mmol/L", HYPO, 2),
        ("2.1", "mmol/L", HYPO, 3),
        ("1.7", "mmol/L", HYPO, 3),
        ("1.6", "mmol/L", HYPO, 4),
        # Hyperglycemia mmol/L: 1 ">ULN - 8.9"; 2 ">8.9 - 13.9"; 3 ">13.9 - 27.8"; 4 ">27.8".
        ("6.2", "mmol/L", HYPER, 1),
        ("8.9", "mmol/L", HYPER, 1),
        ("9.0", "mmol/L", HYPER, 2),
        ("13.9", "mmol/L", HYPER, 2),
        ("14.0", "mmol/L", HYPER, 3),
        ("27.8", "mmol/L", HYPER, 3),
        ("27.9", "mmol/L", HYPER, 4),
        ("70", "mg/dL", "", 0),  # = LLN
        ("100", "mg/dL", "", 0),  # = ULN
        # Hypoglycemia mg/dL: 1 "<LLN - 55"; 2 "<55 - 40"; 3 "<40 - 30"; 4 "<30 mg/dL".
        ("69", "mg/dL", HYPO, 1),
        ("55", "mg/dL", HYPO, 1),
        ("54", "mg/dL", HYPO, 2),
        ("40", "mg/dL", HYPO, 2),
        ("39", "mg/dL", HYPO, 3),
        ("30", "mg/dL", HYPO, 3),
        ("29", "mg/dL", HYPO, 4),
        # Hyperglycemia mg/dL: 1 ">ULN - 160"; 2 ">160 - 250"; 3 ">250 - 500"; 4 ">500".
        ("101", "mg/dL", HYPER, 1),
        ("160", "mg/dL", HYPER, 1),
        ("161", "mg/dL", HYPER, 2),
        ("250", "mg/dL", HYPER, 2),
        ("251", "mg/dL", HYPER, 3),
        ("500", "mg/dL", HYPER, 3),
        ("501", "mg/dL", HYPER, 4),
    ],
)
def test_glucose(value, unit, term, expected):
    lln, uln = GLUCOSE_RANGE[unit]
    check(grade("glucose", value, unit, lln=lln, uln=uln), term, expected)


def test_hyperglycemia_grades_1_2_say_they_assume_a_fasting_value():
    assert "fasting" in grade("glucose", "9.0", "mmol/L", lln="3.9", uln="6.1").note
    assert "fasting" not in grade("glucose", "14.0", "mmol/L", lln="3.9", uln="6.1").note


def test_hyperglycemia_above_160_is_grade_2_whatever_the_uln():
    # ULN 180 mg/dL (odd): 170 is not >ULN but is ">160 - 250 mg/dL".
    check(grade("glucose", "170", "mg/dL", lln="70", uln="180"), HYPER, 2)


# --- Lipids ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        # 1 "150 mg/dL - 300 mg/dL" (inclusive, no ULN); 2 ">300 - 500"; 3 ">500 - 1000";
        # 4 ">1000 mg/dL".
        ("149", "mg/dL", 0),
        ("149.9", "mg/dL", 0),
        ("150", "mg/dL", 1),
        ("300", "mg/dL", 1),
        ("301", "mg/dL", 2),
        ("500", "mg/dL", 2),
        ("501", "mg/dL", 3),
        ("1000", "mg/dL", 3),
        ("1001", "mg/dL", 4),
        # 1 "1.71 mmol/L - 3.42 mmol/L"; 2 ">3.42 - 5.7"; 3 ">5.7 - 11.4"; 4 ">11.4 mmol/L".
        ("1.70", "mmol/L", 0),
        ("1.71", "mmol/L", 1),
        ("3.42", "mmol/L", 1),
        ("3.43", "mmol/L", 2),
        ("5.7", "mmol/L", 2),
        ("5.71", "mmol/L", 3),
        ("11.4", "mmol/L", 3),
        ("11.41", "mmol/L", 4),
    ],
)
def test_triglycerides(value, unit, expected):
    check(grade("triglycerides", value, unit), TG, expected)


@pytest.mark.parametrize(
    ("value", "unit", "uln", "expected"),
    [
        # mg/dL: 1 ">ULN - 300"; 2 ">300 - 400"; 3 ">400 - 500"; 4 ">500 mg/dL".
        ("200", "mg/dL", "200", 0),
        ("201", "mg/dL", "200", 1),
        ("300", "mg/dL", "200", 1),
        ("301", "mg/dL", "200", 2),
        ("400", "mg/dL", "200", 2),
        ("401", "mg/dL", "200", 3),
        ("500", "mg/dL", "200", 3),
        ("501", "mg/dL", "200", 4),
        # mmol/L: 1 ">ULN - 7.75"; 2 ">7.75 - 10.34"; 3 ">10.34 - 12.92"; 4 ">12.92 mmol/L".
        ("5.2", "mmol/L", "5.2", 0),
        ("5.21", "mmol/L", "5.2", 1),
        ("7.75", "mmol/L", "5.2", 1),
        ("7.76", "mmol/L", "5.2", 2),
        ("10.34", "mmol/L", "5.2", 2),
        ("10.35", "mmol/L", "5.2", 3),
        ("12.92", "mmol/L", "5.2", 3),
        ("12.93", "mmol/L", "5.2", 4),
    ],
)
def test_cholesterol(value, unit, uln, expected):
    check(grade("cholesterol", value, unit, uln=uln), CHOL, expected)


# --- Proteinuria -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        ("negative", 0),
        ("trace", 0),  # not named in the wording; grade 1 is "1+ proteinuria"
        ("1+", 1),  # 1 "1+ proteinuria"
        ("2+", 2),  # 2 "Adults: 2+ proteinuria"
        ("3+", 2),  # no reading named above 2+; grade 3 is by 24-h protein only
        ("4+", 2),
        (" Negative ", 0),  # case and spaces are forgiven
        ("TRACE", 0),
    ],
)
def test_proteinuria_dipstick(reading, expected):
    check(grade("urine_protein_dipstick", reading, "dipstick"), PROT, expected)


@pytest.mark.parametrize("reading", ["3+", "4+"])
def test_dipstick_cannot_give_grade_3_and_says_so(reading):
    note = grade("urine_protein_dipstick", reading, "dipstick").note
    assert "grade 3" in note
    assert "24-hour" in note


@pytest.mark.parametrize(
    ("value", "unit", "uln", "expected"),
    [
        # 1 "urinary protein <1.0 g/24 hrs" (above the ULN); 2 "1.0 - 3.4 g/24 hrs";
        # 3 ">=3.5 g/24 hrs".
        ("0", "g/24 h", "0.15", 0),
        ("0.15", "g/24 h", "0.15", 0),  # = ULN: not excessive
        ("0.16", "g/24 h", "0.15", 1),
        ("0.99", "g/24 h", "0.15", 1),  # required example
        ("1.0", "g/24 h", "0.15", 2),  # required example
        ("3.4", "g/24 h", "0.15", 2),
        ("3.45", "g/24 h", "0.15", 2),  # between 3.4 and 3.5: >=3.5 not reached
        ("3.49", "g/24 h", "0.15", 2),
        ("3.5", "g/24 h", "0.15", 3),
        ("12", "g/24 h", "0.15", 3),
        # mg/24 h: the same limits x 1000 (1.0 g = 1000 mg, 3.5 g = 3500 mg).
        ("150", "mg/24 h", "150", 0),
        ("151", "mg/24 h", "150", 1),
        ("999", "mg/24 h", "150", 1),  # required example
        ("1000", "mg/24 h", "150", 2),  # required example
        ("3400", "mg/24 h", "150", 2),
        ("3499", "mg/24 h", "150", 2),
        ("3500", "mg/24 h", "150", 3),
    ],
)
def test_proteinuria_24h(value, unit, uln, expected):
    check(grade("urine_protein_24h", value, unit, uln=uln), PROT, expected)


# --- Thyroid: clinical judgement ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("analyte", "value", "unit"),
    [
        ("tsh", "5.0", "mIU/L"),  # required example
        ("tsh", "0.01", "mIU/L"),
        ("tsh", "80", "mIU/L"),
        ("ft4", "5", "pmol/L"),
        ("ft4", "40", "pmol/L"),
        ("ft4", "0.5", "ng/dL"),
    ],
)
def test_thyroid_is_not_graded_from_a_value(analyte, value, unit):
    result = grade(analyte, value, unit, lln="0.4", uln="4.0")
    check(result, "", None)
    assert "clinical judgement" in result.note


# --- QTc ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "confirmed", "expected"),
    [
        # 1 "QTc 450 - 480 ms"; 2 "QTc 481 - 500 ms"; 3 "QTc >= 501 ms on at least two separate
        # ECGs"; 4 clinical.
        ("449", False, 0),
        ("449.9", False, 0),
        ("450", False, 1),
        ("480", False, 1),
        ("480.5", False, 1),  # 481 not reached
        ("481", False, 2),
        ("500", False, 2),
        ("500.9", False, 2),  # 501 not reached
        ("501", False, 2),  # one ECG: grade 3 needs a second one
        ("560", False, 2),
        ("501", True, 3),  # confirmed by a second ECG >= 501 ms
        ("560", True, 3),
        ("500", True, 2),  # confirmation does not lift a value below 501
        ("450", True, 1),
    ],
)
def test_qtc(value, confirmed, expected):
    check(grade("qtc", value, "ms", confirmed=confirmed), QTC, expected)


def test_unconfirmed_qtc_above_500_says_a_second_ecg_is_needed():
    assert "second ECG" in grade("qtc", "505", "ms").note


# --- Blood pressure ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [
        # 1 "systolic BP 120 - 139 mm Hg or diastolic BP 80 - 89"; 2 "systolic BP 140 - 159 or
        # diastolic BP 90 - 99"; 3 "systolic BP >=160 or diastolic BP >=100"; higher of the two.
        ("119", "79", 0),
        ("90", "60", 0),
        ("120", "79", 1),
        ("119", "80", 1),
        ("139", "89", 1),
        ("139.5", "89.5", 1),  # 140 / 90 not reached
        ("140", "85", 2),  # required example: systolic 2, diastolic 1
        ("139", "90", 2),
        ("159", "99", 2),
        ("160", "90", 3),
        ("150", "100", 3),
        ("220", "130", 3),  # grade 4 is clinical
    ],
)
def test_hypertension(systolic, diastolic, expected):
    result = grade_blood_pressure(systolic, diastolic)
    check(result, HTN, expected)
    assert ("clinical" in result.note) == (expected > 0)


# --- Input forms -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [D("75"), 75, "75", " 75 ", D("75.000")])
def test_value_may_be_decimal_int_or_text(value):
    check(grade("plt", value, "10^9/L", lln=D("100")), PLT, 1)


def test_lln_uln_baseline_accept_int_decimal_text():
    assert grade("alt", 124, "U/L", uln=D(40)) == grade("alt", D("124"), "U/L", uln="40")
    assert grade("creatinine", "181", "umol/L", uln=100, baseline=D(60)).grade == 3


def test_blank_optional_range_counts_as_absent():
    check(grade("alt", "41", "U/L", lln="", uln="40"), ALT, 1)


def test_result_is_frozen():
    result = grade("qtc", "450", "ms")
    with pytest.raises(FrozenInstanceError):
        result.grade = 2


# --- Errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "kwargs", "field", "message"),
    [
        (("ldh", "1", "U/L"), {}, "analyte", "'ldh' is not a gradable analyte."),
        (
            ("anc", "1.0", "mg/dL"),
            {"lln": "2"},
            "unit",
            "mg/dL is not a unit for ANC; use 10^9/L or /mm3.",
        ),
        (("hb", "90", "g/l"), {"lln": "130", "uln": "175"}, "unit", None),  # case matters
        (("alt", "40", "IU/L"), {"uln": "40"}, "unit", "IU/L is not a unit for ALT; use U/L."),
        (
            ("hb", "9", "mg/dL"),
            {"lln": "13", "uln": "17"},
            "unit",
            "mg/dL is not a unit for Hemoglobin; use g/L, g/dL or mmol/L.",
        ),
        (("tsh", "2", "pmol/L"), {}, "unit", None),
        (("anc", "-0.1", "10^9/L"), {"lln": "2"}, "value", "The value cannot be negative."),
        (("anc", "abc", "10^9/L"), {"lln": "2"}, "value", "The value must be a number."),
        (("anc", "1,5", "10^9/L"), {"lln": "2"}, "value", "The value must be a number."),
        (("anc", "NaN", "10^9/L"), {"lln": "2"}, "value", "The value must be a number."),
        (("anc", "Infinity", "10^9/L"), {"lln": "2"}, "value", "The value must be a number."),
        # issue 10.8: Decimal() reads these, a person never writes them on a report
        (("anc", "1e999", "10^9/L"), {"lln": "2"}, "value", "The value must be a number."),
        (("anc", "5e-1", "10^9/L"), {"lln": "2"}, "value", "The value must be a number."),
        (
            ("anc", "\u0660.\u0668", "10^9/L"),  # Arabic-Indic 0.8
            {"lln": "2"},
            "value",
            "The value must be written with the digits 0-9.",
        ),
        (
            ("anc", D("1e999"), "10^9/L"),
            {"lln": "2"},
            "value",
            "The value is too large to be a reading.",
        ),
        (("alt", "50", "U/L"), {"uln": "1e999"}, "uln", "The ULN must be a number."),
        (("anc", "", "10^9/L"), {"lln": "2"}, "value", "Enter the value."),
        (("anc", None, "10^9/L"), {"lln": "2"}, "value", "Enter the value."),
        (("anc", 1.5, "10^9/L"), {"lln": "2"}, "value", None),  # float refused
        (("anc", True, "10^9/L"), {"lln": "2"}, "value", None),  # bool is not a number
        (
            ("anc", "1.5", "10^9/L"),  # 1.5 is not "<1.5": grade 0 or 1, the LLN decides
            {},
            "lln",
            "The laboratory's LLN is needed to grade ANC.",
        ),
        (("hb", "120", "g/L"), {"uln": "175"}, "lln", None),
        (("glucose", "5", "mmol/L"), {"uln": "6.1"}, "lln", None),
        (("alt", "50", "U/L"), {}, "uln", "The laboratory's ULN is needed to grade ALT."),
        (("hb", "140", "g/L"), {"lln": "130"}, "uln", None),  # not anemic: 0 or Hb increased
        (("glucose", "5", "mmol/L"), {"lln": "3.9"}, "uln", None),
        (("cholesterol", "5", "mmol/L"), {}, "uln", None),
        (("urine_protein_24h", "0.5", "g/24 h"), {}, "uln", None),
        (("creatinine", "90", "umol/L"), {}, "uln", None),
        (
            ("glucose", "5", "mmol/L"),
            {"lln": "6.1", "uln": "6.1"},
            "uln",
            "The ULN must be greater than the LLN.",
        ),
        (("glucose", "5", "mmol/L"), {"lln": "7", "uln": "6.1"}, "uln", None),
        (("hb", "120", "g/L"), {"lln": "-1", "uln": "175"}, "lln", None),
        (("hb", "120", "g/L"), {"lln": "x", "uln": "175"}, "lln", None),
        (("alt", "50", "U/L"), {"uln": "0"}, "uln", "The ULN must be greater than zero."),
        (("alt", "50", "U/L"), {"uln": 40.0}, "uln", None),
        (
            ("creatinine", "90", "umol/L"),
            {"uln": "100", "baseline": "0"},
            "baseline",
            "The baseline must be greater than zero.",
        ),
        (("creatinine", "90", "umol/L"), {"uln": "100", "baseline": "n/a"}, "baseline", None),
        (("urine_protein_dipstick", "5+", "dipstick"), {}, "value", None),
        (("urine_protein_dipstick", 1, "dipstick"), {}, "value", None),
        (("urine_protein_dipstick", "1+", "g/24 h"), {}, "unit", None),
    ],
)
def test_grading_errors(args, kwargs, field, message):
    with pytest.raises(GradingError) as caught:
        grade(*args, **kwargs)
    assert caught.value.field == field
    assert caught.value.message
    assert str(caught.value) == caught.value.message
    if message is not None:
        assert caught.value.message == message


@pytest.mark.parametrize(
    ("systolic", "diastolic", "field"),
    [
        ("-120", "80", "systolic"),
        ("abc", "80", "systolic"),
        (None, "80", "systolic"),
        ("120", "", "diastolic"),
        ("120", "x", "diastolic"),
        ("120", 80.0, "diastolic"),
        ("80", "120", "diastolic"),  # swapped fields
        ("100", "100", "diastolic"),
    ],
)
def test_blood_pressure_errors(systolic, diastolic, field):
    with pytest.raises(GradingError) as caught:
        grade_blood_pressure(systolic, diastolic)
    assert caught.value.field == field


def test_grading_error_is_a_value_error():
    assert issubclass(GradingError, ValueError)


# --- The dictionary and the interface ----------------------------------------------------------
def test_analytes_in_panel_order():
    assert list(ANALYTES) == [
        "hb",
        "wbc",
        "anc",
        "plt",
        "alt",
        "ast",
        "bilirubin",
        "creatinine",
        "albumin",
        "glucose",
        "triglycerides",
        "cholesterol",
        "urine_protein_dipstick",
        "urine_protein_24h",
        "tsh",
        "ft4",
        "qtc",
    ]
    assert all(key == analyte.key for key, analyte in ANALYTES.items())


def test_units_offered_canonical_first():
    assert {key: analyte.units for key, analyte in ANALYTES.items()} == {
        "hb": ("g/L", "g/dL", "mmol/L"),
        "wbc": ("10^9/L", "/mm3"),
        "anc": ("10^9/L", "/mm3"),
        "plt": ("10^9/L", "/mm3"),
        "alt": ("U/L",),
        "ast": ("U/L",),
        "bilirubin": ("umol/L", "mg/dL"),
        "creatinine": ("umol/L", "mg/dL"),
        "albumin": ("g/L", "g/dL"),
        "glucose": ("mmol/L", "mg/dL"),
        "triglycerides": ("mmol/L", "mg/dL"),
        "cholesterol": ("mmol/L", "mg/dL"),
        "urine_protein_dipstick": ("dipstick",),
        "urine_protein_24h": ("g/24 h", "mg/24 h"),
        "tsh": ("mIU/L",),
        "ft4": ("pmol/L", "ng/dL"),
        "qtc": ("ms",),
    }


def test_ranges_each_analyte_needs():
    needs = {key: (a.needs_lln, a.needs_uln) for key, a in ANALYTES.items()}
    # LLN for the "<LLN" terms, ULN for the ">ULN" terms (and Proteinuria's grade 1, see module).
    assert [key for key, (lln, _uln) in needs.items() if lln] == [
        "hb",
        "wbc",
        "anc",
        "plt",
        "albumin",
        "glucose",
    ]
    assert [key for key, (_lln, uln) in needs.items() if uln] == [
        "hb",
        "alt",
        "ast",
        "bilirubin",
        "creatinine",
        "glucose",
        "cholesterol",
        "urine_protein_24h",
    ]


def test_every_term_named_is_a_ctcae_term_and_quoted_verbatim():
    terms = {term for analyte in ANALYTES.values() for term in analyte.terms} | {HTN}
    assert terms <= set(WORDING)
    for term, wording in WORDING.items():
        assert wording == tuple(CTCAE[term][f"grade_{n}"] for n in range(1, 6)), term


def test_module_imports_only_the_standard_library():
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    assert "django" not in imported


def test_module_loads_without_django():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('grading', {str(MODULE)!r})\n"
        "module = sys.modules['grading'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert module.grade('plt', '74', '10^9/L', lln='100').grade == 2\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'\n"
    )
    subprocess.run([sys.executable, "-I", "-c", code], check=True, timeout=30)


# --- Only the limits a term's wording uses, and only when the grade depends on them (C12) -----
# Worked out by hand from the CTCAE v4.03 grade cells (the CSV):
# Proteinuria: grade 1 "urinary protein <1.0 g/24 hrs" (read ">ULN - <1.0"), grade 2
# "1.0 - 3.4 g/24 hrs", grade 3 ">=3.5 g/24 hrs". Anemia: "<LLN - 100 g/L", "<100 - 80g/L",
# "<80 g/L". Hyperglycemia: ">ULN - 160 mg/dL", ">160 - 250 mg/dL", ">250 - 500 mg/dL",
# ">500 mg/dL". Hypoglycemia: "<LLN - 55 mg/dL", "<55 - 40", "<40 - 30", "<30 mg/dL".
# ANC: "<LLN - 1.5 x 10e9 /L", "<1.5 - 1.0", ...
@pytest.mark.parametrize(
    ("args", "kwargs", "term", "expected", "used"),
    [
        # 24-h protein >= 1.0 g is grade 2 or 3 whatever the ULN
        (("urine_protein_24h", "1.0", "g/24 h"), {}, PROT, 2, ()),
        (("urine_protein_24h", "3.4", "g/24 h"), {}, PROT, 2, ()),
        (("urine_protein_24h", "3.5", "g/24 h"), {}, PROT, 3, ()),
        (("urine_protein_24h", "1000", "mg/24 h"), {}, PROT, 2, ()),
        (("urine_protein_24h", "3500", "mg/24 h"), {}, PROT, 3, ()),
        # below 1.0 g the ULN decides grade 1 against grade 0
        (("urine_protein_24h", "0.99", "g/24 h"), {"uln": "0.15"}, PROT, 1, ("uln",)),
        (("urine_protein_24h", "0.15", "g/24 h"), {"uln": "0.15"}, PROT, 0, ("uln",)),
        # Anemia from Hb: the LLN only, and only between grades 0 and 1
        (("hb", "99", "g/L"), {"term": ANEMIA}, ANEMIA, 2, ()),
        (("hb", "80", "g/L"), {"term": ANEMIA}, ANEMIA, 2, ()),
        (("hb", "79", "g/L"), {"term": ANEMIA}, ANEMIA, 3, ()),
        (("hb", "9.9", "g/dL"), {"term": ANEMIA}, ANEMIA, 2, ()),
        (("hb", "100", "g/L"), {"term": ANEMIA, "lln": "120"}, ANEMIA, 1, ("lln",)),
        (("hb", "119", "g/L"), {"term": ANEMIA, "lln": "120"}, ANEMIA, 1, ("lln",)),
        (("hb", "120", "g/L"), {"term": ANEMIA, "lln": "120"}, ANEMIA, 0, ("lln",)),
        (("hb", "200", "g/L"), {"term": ANEMIA, "lln": "120"}, ANEMIA, 0, ("lln",)),
        # Hemoglobin increased: the ULN only ("Increase in >0 - 2 gm/dL above ULN")
        (("hb", "195", "g/L"), {"term": HB_UP, "uln": "175"}, HB_UP, 1, ("uln",)),
        (("hb", "196", "g/L"), {"term": HB_UP, "uln": "175"}, HB_UP, 2, ("uln",)),
        (("hb", "50", "g/L"), {"term": HB_UP, "uln": "175"}, HB_UP, 0, ("uln",)),
        # Hyperglycemia: the ULN only, and only between grades 0 and 1
        (("glucose", "161", "mg/dL"), {"term": HYPER}, HYPER, 2, ()),
        (("glucose", "250", "mg/dL"), {"term": HYPER}, HYPER, 2, ()),
        (("glucose", "251", "mg/dL"), {"term": HYPER}, HYPER, 3, ()),
        (("glucose", "500", "mg/dL"), {"term": HYPER}, HYPER, 3, ()),
        (("glucose", "501", "mg/dL"), {"term": HYPER}, HYPER, 4, ()),
        (("glucose", "9.0", "mmol/L"), {"term": HYPER}, HYPER, 2, ()),
        (("glucose", "160", "mg/dL"), {"term": HYPER, "uln": "100"}, HYPER, 1, ("uln",)),
        (("glucose", "100", "mg/dL"), {"term": HYPER, "uln": "100"}, HYPER, 0, ("uln",)),
        (("glucose", "40", "mg/dL"), {"term": HYPER, "uln": "100"}, HYPER, 0, ("uln",)),
        # Hypoglycemia: the LLN only
        (("glucose", "54", "mg/dL"), {"term": HYPO}, HYPO, 2, ()),
        (("glucose", "39", "mg/dL"), {"term": HYPO}, HYPO, 3, ()),
        (("glucose", "29", "mg/dL"), {"term": HYPO}, HYPO, 4, ()),
        (("glucose", "55", "mg/dL"), {"term": HYPO, "lln": "70"}, HYPO, 1, ("lln",)),
        # an analyte of one term: below the absolute threshold no LLN is needed
        (("anc", "1.4", "10^9/L"), {}, ANC, 2, ()),
        (("anc", "1.6", "10^9/L"), {"lln": "1.8"}, ANC, 1, ("lln",)),
        # Hb without a term: anemia grade 1 needs the LLN, not the ULN
        (("hb", "110", "g/L"), {"lln": "120"}, ANEMIA, 1, ("lln",)),
        (("alt", "41", "U/L"), {"uln": "40"}, ALT, 1, ("uln",)),
        (("qtc", "481", "ms"), {}, QTC, 2, ()),
    ],
)
def test_grades_without_a_limit_the_grade_does_not_depend_on(args, kwargs, term, expected, used):
    result = grade(*args, **kwargs)
    assert (result.term, result.grade, result.limits_used) == (term, expected, used)


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("urine_protein_24h", "0.99", "g/24 h"), {}, "uln"),  # grade 0 or 1: the ULN decides
        (("urine_protein_24h", "999", "mg/24 h"), {}, "uln"),
        (("hb", "100", "g/L"), {"term": ANEMIA}, "lln"),  # "<LLN - 100": 0 or 1
        (("hb", "10.0", "g/dL"), {"term": ANEMIA}, "lln"),
        (("hb", "195", "g/L"), {"term": HB_UP}, "uln"),
        (("glucose", "160", "mg/dL"), {"term": HYPER, "lln": "70"}, "uln"),
        (("glucose", "8.9", "mmol/L"), {"term": HYPER}, "uln"),
        (("glucose", "55", "mg/dL"), {"term": HYPO, "uln": "100"}, "lln"),
        (("alt", "500", "U/L"), {}, "uln"),  # "x ULN": every grade needs it
        (("hb", "99", "g/L"), {"term": ALT}, "term"),
    ],
)
def test_refuses_a_missing_limit_only_when_the_grade_depends_on_it(args, kwargs, field):
    with pytest.raises(GradingError) as caught:
        grade(*args, **kwargs)
    assert caught.value.field == field


def _csv_cells() -> dict[str, str]:
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        return {
            row["term"]: " ".join(row[f"grade_{g}"] for g in range(1, 6))
            for row in csv.DictReader(handle)
        }


def test_the_limits_of_each_term_are_those_its_grade_wording_names():
    cells = _csv_cells()
    for term, limits in TERM_LIMITS.items():
        if term == PROT:  # grade 1 "<1.0 g/24 hrs" read as ">ULN - <1.0" (module docstring)
            assert limits == ("uln",)
            continue
        if term == HTN:  # only its pediatric wording ("BP >ULN") names a limit; adults graded
            assert limits == ()
            continue
        named = tuple(name for name in ("lln", "uln") if name.upper() in cells[term])
        assert limits == named, term


def test_an_analyte_may_use_the_limits_of_its_terms():
    for spec in ANALYTES.values():
        if spec.key == "urine_protein_dipstick":
            continue
        used = {name for term in spec.terms for name in TERM_LIMITS[term]}
        assert (spec.needs_lln, spec.needs_uln) == ("lln" in used, "uln" in used), spec.key


def test_notes_write_stored_limits_by_their_significant_digits():
    """Issue 11 C10: a ULN stored as 40.000 U/L was written "1.30 x ULN (40.000 U/L)"."""
    result = grade("alt", "52", "U/L", uln=D("40.000"))
    assert result.grade == 1  # 52 / 40 = 1.3: ">ULN - 3.0 x ULN"
    assert "1.30 x ULN (40 U/L)" in result.note
    assert "40.000" not in result.note

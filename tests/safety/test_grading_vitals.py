"""safety.grading: Fever and Weight loss / Weight gain (issue 13, vital signs), graded by hand.

Wording (CTCAE v4.03, safety/data/ctcae_v4.03.csv):
Fever: 1 "38.0 - 39.0 degrees C"; 2 ">39.0 - 40.0 degrees C"; 3 ">40.0 degrees C ... for <=24 hrs";
4 ">40.0 degrees C ... for >24 hrs".
Weight loss: 1 "5 to <10% from baseline"; 2 "10 - <20%"; 3 ">=20%". Weight gain: 1 "5 - <10%";
2 "10 - <20%"; 3 ">=20%". Percent of the baseline weight.
"""

from __future__ import annotations

import csv
from decimal import Decimal as D
from pathlib import Path

import pytest

from safety.grading import TERM_LIMITS, WORDING, GradingError, grade_fever, grade_weight_change

CSV_PATH = Path(__file__).resolve().parents[2] / "safety" / "data" / "ctcae_v4.03.csv"
with CSV_PATH.open(newline="", encoding="utf-8") as _file:
    CTCAE = {row["term"]: row for row in csv.DictReader(_file)}

FEVER = "Fever"
LOSS = "Weight loss"
GAIN = "Weight gain"


def check(result, term: str, expected: int) -> None:
    assert (result.term, result.grade) == (term, expected)
    assert result.definition == (CTCAE[term][f"grade_{expected}"] if expected else "")


# --- Fever -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("temperature", "expected"),
    [
        ("36.8", 0),
        ("37.9", 0),  # 38.0 not reached
        ("37.99", 0),
        ("38.0", 1),  # "38.0 - 39.0": 38.0 included
        ("38", 1),
        ("38.5", 1),
        ("39.0", 1),  # 39.0 still grade 1 (grade 2 is ">39.0")
        ("39.01", 2),
        ("39.1", 2),
        ("40.0", 2),  # ">39.0 - 40.0": 40.0 included
        ("40.01", 3),  # ">40.0": one reading, duration unknown -> 3
        ("40.1", 3),
        ("42.0", 3),
        (D("38.0"), 1),
        (38, 1),
    ],
)
def test_fever(temperature, expected):
    result = grade_fever(temperature)
    check(result, FEVER, expected)
    assert result.analyte == "temperature"


def test_fever_above_40_says_more_than_24_hrs_is_grade_4():
    result = grade_fever("40.1")
    assert "grade 4" in result.note
    assert ">24 hrs" in WORDING[FEVER][3]  # the wording grade 4 is told from grade 3 by
    assert "24 hrs" in result.note
    assert grade_fever("40.0").note == ""


@pytest.mark.parametrize(
    ("temperature", "code"),
    [("", "required"), (None, "required"), ("abc", "not_a_number"), ("-1", "negative")],
)
def test_fever_refuses_bad_readings(temperature, code):
    with pytest.raises(GradingError) as caught:
        grade_fever(temperature)
    assert (caught.value.field, caught.value.code) == ("temperature", code)


def test_fever_refuses_a_float():
    with pytest.raises(GradingError) as caught:
        grade_fever(38.5)
    assert caught.value.code == "not_a_number"


# --- Weight loss / gain --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("baseline", "current", "term", "expected"),
    [
        # Baseline 100 kg: 1 % of it is 1 kg, so the percentage is the kilograms lost or gained.
        ("100", "100", "", 0),
        ("100", "95.1", "", 0),  # 100 - 95.1 = 4.9 kg = 4.9 % -> below 5
        ("100", "95.01", "", 0),  # 4.99 %
        ("100", "95.0", LOSS, 1),  # 5.0 kg = exactly 5 % -> "5 to <10%"
        ("100", "90.1", LOSS, 1),  # 9.9 %
        ("100", "90.01", LOSS, 1),  # 9.99 %
        ("100", "90.0", LOSS, 2),  # exactly 10 % -> "10 - <20%"
        ("100", "80.1", LOSS, 2),  # 19.9 %
        ("100", "80.0", LOSS, 3),  # exactly 20 % -> ">=20%"
        ("100", "60", LOSS, 3),  # 40 %
        ("100", "104.9", "", 0),  # +4.9 %
        ("100", "105.0", GAIN, 1),  # +5 % exactly
        ("100", "109.9", GAIN, 1),  # +9.9 %
        ("100", "110.0", GAIN, 2),  # +10 %
        ("100", "119.9", GAIN, 2),  # +19.9 %
        ("100", "120.0", GAIN, 3),  # +20 %
        ("100", "150", GAIN, 3),
        # Baseline 72.5 kg: 5 % = 3.625 kg -> 68.875 kg is exactly 5 % lost (grade 1);
        # 68.876 is 3.624 kg = 4.9986 % (grade 0). 10 % = 7.25 kg -> 65.25 (2), 65.26 (1);
        # 20 % = 14.5 kg -> 58.0 (3), 58.01 (2). Gains: 76.125 (+5 %, 1), 76.124 (0),
        # 79.75 (+10 %, 2), 79.74 (1), 87.0 (+20 %, 3), 86.99 (2).
        ("72.5", "68.875", LOSS, 1),
        ("72.5", "68.876", "", 0),
        ("72.5", "65.25", LOSS, 2),
        ("72.5", "65.26", LOSS, 1),
        ("72.5", "58.0", LOSS, 3),
        ("72.5", "58.01", LOSS, 2),
        ("72.5", "76.125", GAIN, 1),
        ("72.5", "76.124", "", 0),
        ("72.5", "79.75", GAIN, 2),
        ("72.5", "79.74", GAIN, 1),
        ("72.5", "87.0", GAIN, 3),
        ("72.5", "86.99", GAIN, 2),
        (D("100"), D("95.0"), LOSS, 1),
        (100, 110, GAIN, 2),
    ],
)
def test_weight_change(baseline, current, term, expected):
    result = grade_weight_change(baseline, current)
    check(result, term, expected)
    assert result.analyte == "weight"


def test_weight_note_gives_the_percentage_cut_not_rounded():
    # 100 -> 90.01 kg: 9.99 % lost; cut to 0.1 -> "9.9 %" (rounding would show an unreached 10.0)
    assert "90.01 kg is 9.9 % below the baseline weight (100 kg)." in (
        grade_weight_change("100", "90.01").note
    )
    # 100 -> 95.0: exactly 5 % -> "5.0 %"
    assert "95 kg is 5.0 % below" in grade_weight_change("100", "95.0").note
    # 72.5 -> 87.0: 14.5 / 72.5 = 20 % -> "20.0 %" above
    assert "87 kg is 20.0 % above the baseline weight (72.5 kg)." in (
        grade_weight_change("72.5", "87.0").note
    )
    assert "investigator" in grade_weight_change("100", "90").note  # loss: nutritional criteria
    assert grade_weight_change("100", "100").note == ""


@pytest.mark.parametrize(
    ("baseline", "current", "field", "code"),
    [
        ("0", "70", "baseline_weight", "not_positive"),
        ("70", "0", "weight", "not_positive"),
        ("-70", "70", "baseline_weight", "negative"),
        ("70", "-1", "weight", "negative"),
        ("", "70", "baseline_weight", "required"),
        ("70", None, "weight", "required"),
        ("70", 70.5, "weight", "not_a_number"),
        ("70", "abc", "weight", "not_a_number"),
    ],
)
def test_weight_change_refuses_bad_input(baseline, current, field, code):
    with pytest.raises(GradingError) as caught:
        grade_weight_change(baseline, current)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_new_terms_quoted_verbatim_and_need_no_limit():
    for term in (FEVER, LOSS, GAIN):
        assert WORDING[term] == tuple(CTCAE[term][f"grade_{n}"] for n in range(1, 6))
        assert TERM_LIMITS[term] == ()

"""Tests of eligibility.units against conversions worked out by hand.

Factors used in the working (eligibility/units.py docstring): Hb/albumin g/dL x 10 = g/L;
creatinine mg/dL x 88.4 = umol/L; bilirubin mg/dL x 17.1 = umol/L; BUN mg/dL x 0.357 =
mmol/L; glucose mg/dL / 18.016 = mmol/L. Every expected value was multiplied out on paper; the
working is in the comments.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from eligibility.units import CANONICAL, UNITS, UnitError, convert

D = Decimal


def test_every_analyte_has_its_units_canonical_first():
    assert UNITS == {
        "hb": ("g/L", "g/dL"),
        "anc": ("10^9/L",),
        "plt": ("10^9/L",),
        "creatinine": ("umol/L", "mg/dL"),
        "creatinine_clearance": ("mL/min",),
        "bun": ("mmol/L", "mg/dL"),
        "bilirubin": ("umol/L", "mg/dL"),
        "ast": ("U/L",),
        "alt": ("U/L",),
        "albumin": ("g/L", "g/dL"),
        "glucose": ("mmol/L", "mg/dL"),
    }


@pytest.mark.parametrize(
    ("analyte", "canonical"),
    [
        ("hb", "g/L"),
        ("anc", "10^9/L"),
        ("plt", "10^9/L"),
        ("creatinine", "umol/L"),
        ("creatinine_clearance", "mL/min"),
        ("bun", "mmol/L"),
        ("bilirubin", "umol/L"),
        ("ast", "U/L"),
        ("alt", "U/L"),
        ("albumin", "g/L"),
        ("glucose", "mmol/L"),
    ],
)
def test_canonical_unit_and_identity(analyte, canonical):
    assert CANONICAL[analyte] == canonical
    # Same unit: the value comes back untouched, trailing zeros and all.
    assert convert(D("12.30"), canonical, canonical, analyte=analyte) == D("12.30")


@pytest.mark.parametrize(
    ("analyte", "value", "from_unit", "to_unit", "expected"),
    [
        # Hb: 7.5 x 10 = 75; 8.0 x 10 = 80; 7.9 x 10 = 79; back 75 / 10 = 7.5.
        ("hb", "7.5", "g/dL", "g/L", "75"),
        ("hb", "8.0", "g/dL", "g/L", "80"),
        ("hb", "7.9", "g/dL", "g/L", "79"),
        ("hb", "75", "g/L", "g/dL", "7.5"),
        # Albumin: 2.5 x 10 = 25; 2.4 x 10 = 24; back 25 / 10 = 2.5.
        ("albumin", "2.5", "g/dL", "g/L", "25"),
        ("albumin", "2.4", "g/dL", "g/L", "24"),
        ("albumin", "25", "g/L", "g/dL", "2.5"),
        # Creatinine: 1 x 88.4 = 88.4; 1.2 x 88.4 = 88.4 + 17.68 = 106.08;
        # 1.8 x 88.4 = 88.4 + 70.72 = 159.12; back 159.12 / 88.4 = 1.8.
        ("creatinine", "1", "mg/dL", "umol/L", "88.4"),
        ("creatinine", "1.2", "mg/dL", "umol/L", "106.08"),
        ("creatinine", "1.8", "mg/dL", "umol/L", "159.12"),
        ("creatinine", "159.12", "umol/L", "mg/dL", "1.8"),
        ("creatinine", "88.4", "umol/L", "mg/dL", "1"),
        # Bilirubin: 1 x 17.1 = 17.1; 1.2 x 17.1 = 17.1 + 3.42 = 20.52;
        # 1.75 x 17.1 = 17.1 + 12.825 = 29.925; back 34.2 / 17.1 = 2.
        ("bilirubin", "1", "mg/dL", "umol/L", "17.1"),
        ("bilirubin", "1.2", "mg/dL", "umol/L", "20.52"),
        ("bilirubin", "1.75", "mg/dL", "umol/L", "29.925"),
        ("bilirubin", "34.2", "umol/L", "mg/dL", "2"),
        # BUN: 20 x 0.357 = 7.14; 56 x 0.357 = 17.85 + 2.142 = 19.992;
        # 14 x 0.357 = 3.57 + 1.428 = 4.998; back 7.14 / 0.357 = 20.
        ("bun", "20", "mg/dL", "mmol/L", "7.14"),
        ("bun", "56", "mg/dL", "mmol/L", "19.992"),
        ("bun", "14", "mg/dL", "mmol/L", "4.998"),
        ("bun", "7.14", "mmol/L", "mg/dL", "20"),
        # Glucose: 18.016 mg/dL / 18.016 = 1; 180.16 / 18.016 = 10 (exactly: 18.016 x 10);
        # back 10 mmol/L x 18.016 = 180.16 mg/dL; 5 x 18.016 = 90.08.
        ("glucose", "18.016", "mg/dL", "mmol/L", "1"),
        ("glucose", "180.16", "mg/dL", "mmol/L", "10"),
        ("glucose", "10", "mmol/L", "mg/dL", "180.16"),
        ("glucose", "5", "mmol/L", "mg/dL", "90.08"),
    ],
)
def test_conversions_both_ways(analyte, value, from_unit, to_unit, expected):
    assert convert(D(value), from_unit, to_unit, analyte=analyte) == D(expected)


@pytest.mark.parametrize(
    ("mg_dl", "mmol_l_2dp"),
    [
        # 180 / 18.016: 18.016 x 10 = 180.16, 0.16 short, 0.16 / 18.016 = 0.0089 -> 9.9911 -> 9.99
        ("180", "9.99"),
        # 181 / 18.016: 0.84 over 180.16, 0.84 / 18.016 = 0.0466 -> 10.0466 -> 10.05
        ("181", "10.05"),
        # 90 / 18.016: 18.016 x 5 = 90.08, 0.08 short, 0.08 / 18.016 = 0.0044 -> 4.9956 -> 5.00
        ("90", "5.00"),
    ],
)
def test_glucose_division_by_hand(mg_dl, mmol_l_2dp):
    value = convert(D(mg_dl), "mg/dL", "mmol/L", analyte="glucose")
    assert value.quantize(D("0.01")) == D(mmol_l_2dp)


def test_glucose_round_trip_is_close():
    there = convert(D("180"), "mg/dL", "mmol/L", analyte="glucose")
    back = convert(there, "mmol/L", "mg/dL", analyte="glucose")
    assert abs(back - D("180")) < D("1e-20")


@pytest.mark.parametrize("micro", ["\u00b5mol/L", "\u03bcmol/L", " umol/L "])
def test_micro_sign_spellings_are_umol(micro):
    # 1 mg/dL creatinine = 88.4 umol/L, whichever way "micro" is typed.
    assert convert(D("88.4"), micro, "mg/dL", analyte="creatinine") == D("1")


@pytest.mark.parametrize(
    ("analyte", "from_unit", "to_unit", "message"),
    [
        ("anc", "mg/dL", "10^9/L", "mg/dL is not a unit for ANC; use 10^9/L."),
        ("anc", "10^9/L", "mg/dL", "mg/dL is not a unit for ANC; use 10^9/L."),
        ("plt", "10^3/uL", "10^9/L", "10^3/uL is not a unit for PLT; use 10^9/L."),
        ("alt", "U/L", "ukat/L", "ukat/L is not a unit for ALT; use U/L."),
        ("ast", "IU/mL", "U/L", "IU/mL is not a unit for AST; use U/L."),
        ("hb", "mmol/L", "g/L", "mmol/L is not a unit for Hb; use g/L or g/dL."),
        (
            "creatinine",
            "mg/L",
            "umol/L",
            "mg/L is not a unit for creatinine; use umol/L or mg/dL.",
        ),
        (
            "creatinine_clearance",
            "mL/s",
            "mL/min",
            "mL/s is not a unit for creatinine clearance; use mL/min.",
        ),
        ("glucose", "g/L", "mmol/L", "g/L is not a unit for glucose; use mmol/L or mg/dL."),
        ("bun", "umol/L", "mmol/L", "umol/L is not a unit for BUN; use mmol/L or mg/dL."),
    ],
)
def test_wrong_unit_is_refused(analyte, from_unit, to_unit, message):
    with pytest.raises(UnitError) as caught:
        convert(D("1"), from_unit, to_unit, analyte=analyte)
    assert str(caught.value) == message


def test_unit_error_is_a_value_error_and_unknown_analyte_is_refused():
    assert issubclass(UnitError, ValueError)
    with pytest.raises(UnitError, match="not a known analyte"):
        convert(D("1"), "g/L", "g/L", analyte="ferritin")

"""The number, percentage and unit filters (issue 11 C10): one way of writing them everywhere."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from alter_s006.templatetags.edc_format import (
    MINUS,
    NBSP,
    format_number,
    format_signed_pct,
    format_unit,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("3.500"), "3.5"),
        (Decimal("3.000"), "3"),
        (Decimal("12"), "12"),
        (12, "12"),
        (0, "0"),
        (2.0, "2"),
        (0.1 + 0.2, "0.3"),  # 0.30000000000000004 -> three places at most
        (Decimal("1.25"), "1.25"),
        (Decimal("123.4567"), "123.457"),  # rounded half away from zero at three places
        (Decimal("0.0005"), "0.001"),
        (Decimal("0.0004"), "0"),
        (Decimal("1E+2"), "100"),  # no exponent notation
        (Decimal("-4.50"), f"{MINUS}4.5"),
        (-7, f"{MINUS}7"),
        (Decimal("-0.0001"), "0"),  # never "−0"
        ("3.50", "3.5"),
        (None, "—"),
        ("", "—"),
        ("n/a", "n/a"),
    ],
)
def test_num_drops_trailing_zeros_and_keeps_significant_digits(value, expected):
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Decimal("2.25"), 1, "2.3"),
        (Decimal("2.24"), 1, "2.2"),
        (Decimal("2.04"), 1, "2"),
        (Decimal("-2.25"), 1, f"{MINUS}2.3"),  # half away from zero
        (Decimal("2.5"), 0, "3"),
        (Decimal("0.12345"), 4, "0.1235"),
    ],
)
def test_num_takes_the_number_of_places(value, places, expected):
    assert format_number(value, places) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (25.666, f"+25.67{NBSP}%"),
        (-30, f"{MINUS}30.00{NBSP}%"),
        (Decimal("-29.995"), f"{MINUS}30.00{NBSP}%"),
        (Decimal("-29.994"), f"{MINUS}29.99{NBSP}%"),
        (Decimal("20"), f"+20.00{NBSP}%"),
        (0, f"0.00{NBSP}%"),
        (Decimal("-0.001"), f"0.00{NBSP}%"),  # rounds to zero: no sign
        (None, "—"),
    ],
)
def test_signed_pct_has_a_sign_two_places_and_a_no_break_space(value, expected):
    assert format_signed_pct(value) == expected


def test_signed_pct_takes_the_number_of_places():
    assert format_signed_pct(Decimal("12.345"), 1) == f"+12.3{NBSP}%"
    assert format_signed_pct(Decimal("-12.5"), 0) == f"{MINUS}13{NBSP}%"


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("10^9/L", "10⁹/L"),
        ("10^12/L", "10¹²/L"),
        ("umol/L", "µmol/L"),
        ("μmol/L", "µmol/L"),  # Greek mu -> micro sign
        ("µmol/L", "µmol/L"),
        ("mcg", "µg"),
        ("g/L", "g/L"),
        ("mmol/L", "mmol/L"),
        ("mmol/l", "mmol/L"),
        ("g/dl", "g/dL"),
        ("ml/min", "mL/min"),
        ("mL/min", "mL/min"),
        ("U/L", "U/L"),
        ("mIU/L", "mIU/L"),
        ("pmol/L", "pmol/L"),
        ("x ULN", "×ULN"),
        ("xULN", "×ULN"),
        ("1.5 x ULN", "1.5 ×ULN"),
        (">=", "≥"),
        ("<=", "≤"),
        ("<= 3 x ULN", "≤ 3 ×ULN"),
        (">= 60 ml/min", "≥ 60 mL/min"),
        ("mg/m2", "mg/m²"),
        ("mm", "mm"),
        ("mg", "mg"),
        ("", ""),
        (None, ""),
    ],
)
def test_unit_label_writes_units_with_their_symbols(unit, expected):
    assert format_unit(unit) == expected


def test_the_three_filters_in_a_template():
    template = Template(
        "{% load edc_format %}{{ v|num }} {{ v|num:0 }}|{{ p|signed_pct }}|{{ u|unit_label }}"
    )
    html = template.render(Context({"v": Decimal("3.500"), "p": Decimal("-30"), "u": "10^9/L"}))
    assert html == f"3.5 4|{MINUS}30.00{NBSP}%|10⁹/L"


def test_unit_label_output_is_escaped_like_any_text():
    html = Template("{% load edc_format %}{{ u|unit_label }}").render(Context({"u": "<b>mg</b>"}))
    assert html == "&lt;b&gt;mg&lt;/b&gt;"


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("ANC 3.1 10^9/L; needs >= 1.5 10^9/L", "ANC 3.1 10⁹/L; needs ≥ 1.5 10⁹/L"),
        ("bilirubin 10 umol/L <= 1.5 × ULN", "bilirubin 10 µmol/L ≤ 1.5 × ULN"),
        ("总胆红素 10 umol/L；需 ≤ 1.5 × ULN", "总胆红素 10 µmol/L；需 ≤ 1.5 × ULN"),
        ("normal, html and mL stay as written", "normal, html and mL stay as written"),
        (None, ""),
    ],
)
def test_units_inside_a_sentence_are_printed_properly(text, printed):
    from alter_s006.templatetags.edc_format import format_units_in_text

    assert format_units_in_text(text) == printed


# --- choice labels (issue 12 goal 3) -----------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_label_says_what_get_display_says_in_each_language(language):
    from django.utils import translation

    from alter_s006.templatetags.edc_format import label
    from safety.models import AdverseEvent
    from subjects.models import Subject

    with translation.override(language):
        for model, field in [
            (Subject, "status"),
            (Subject, "sex"),
            (AdverseEvent, "outcome"),
            (AdverseEvent, "action_taken"),
            (AdverseEvent, "relationship"),
        ]:
            for value, _label in model._meta.get_field(field).flatchoices:
                obj = model(**{field: value})
                assert label(obj, field) == getattr(obj, f"get_{field}_display")()
        assert label(Subject(status="no_such_status"), "status") == "no_such_status"
    with translation.override("zh-hans"):
        zh = label(Subject(sex="F"), "sex")
    with translation.override("en"):
        assert label(Subject(sex="F"), "sex") == "Female" != zh  # not cached across languages

"""Numbers, percentages and units written one way on every page (issue 11 C10).

Use in a template::

    {% load edc_format %}
    {{ value|num }}          3.500 -> "3.5", 12 -> "12", 0.1 + 0.2 -> "0.3", -4 -> "−4"
    {{ value|num:1 }}        at most one decimal place (2.25 -> "2.3", 2.0 -> "2")
    {{ pct|signed_pct }}     25.666 -> "+25.67 %", -30 -> "−30.00 %", 0 -> "0.00 %"
    {{ unit|unit_label }}    "10^9/L" -> "10⁹/L", "umol/L" -> "µmol/L", "x ULN" -> "×ULN",
                             ">=" -> "≥", "<=" -> "≤"

The convention (the same in Python and templates; the live previews are rendered on the
server through these filters, so no page formats numbers in JavaScript):

* **Numbers** (``num``) show the value's significant digits and no trailing zeros: integers
  stay integers, a Decimal keeps its precision up to ``places`` decimal places (default
  :data:`MAX_PLACES`), rounded half away from zero. No thousands separator.
* **Negative values** are written with the minus sign U+2212 (−), never the hyphen-minus.
* **Percentages** (``signed_pct``) always carry two decimal places (the RECIST thresholds
  are compared to the hundredth, so −30.00 % and −29.99 % must look different), an explicit
  sign (+ or U+2212; none for zero) and a no-break space U+00A0 before the per-cent sign,
  so that the number and its sign never wrap apart.
* **Units** (``unit_label``) are stored in plain ASCII ("10^9/L", "umol/L", "x ULN", ">=")
  and written with their proper symbols only when shown.

Display only: never put these strings in a form field's value (the parsers expect ASCII).
``None`` and the empty string become an em dash "—" (``num``, ``signed_pct``) or ""
(``unit_label``).
"""

from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.translation import get_language

register = template.Library()

__all__ = ["MAX_PLACES", "MINUS", "NBSP", "format_number", "format_signed_pct", "format_unit"]

MAX_PLACES = 3
PCT_PLACES = 2
MINUS = "\u2212"
NBSP = "\u00a0"
EMPTY = "—"

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _decimal(value) -> Decimal | None:
    """``value`` as a Decimal, or None if it is not a finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest decimal that reads back as the float
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(MINUS, "-"))
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _rounded(number: Decimal, places: int) -> Decimal:
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _plain(number: Decimal) -> str:
    """Fixed-point text of ``number`` (never exponent notation), sign written as U+2212."""
    text = f"{abs(number):f}"
    return (MINUS + text) if number < 0 else text


def format_number(value, places: int = MAX_PLACES) -> str:
    """The value with its significant digits, at most ``places`` decimals, no trailing zeros."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value is None or value == "" else str(value)
    number = _rounded(number, max(int(places), 0))
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    else:
        number = number.normalize()
    if number == 0:
        number = abs(number)  # no "−0"
    return _plain(number)


def format_signed_pct(value, places: int = PCT_PLACES) -> str:
    """A percentage with an explicit sign and fixed decimals: "+25.67 %", "−30.00 %"."""
    number = _decimal(value)
    if number is None:
        return EMPTY if value is None or value == "" else str(value)
    number = _rounded(number, max(int(places), 0))
    if number == 0:
        return f"{abs(number):f}{NBSP}%"
    sign = "+" if number > 0 else MINUS
    return f"{sign}{abs(number):f}{NBSP}%"


_UNIT_RULES: tuple[tuple[re.Pattern[str], object], ...] = (
    (re.compile(r">="), "≥"),
    (re.compile(r"<="), "≤"),
    (re.compile(r"!="), "≠"),
    (re.compile(r"10\s*(?:\^|\*\*|E)\s*(-?\d+)"), lambda m: "10" + m[1].translate(_SUPERSCRIPT)),
    # "x ULN", "X ULN", "*ULN", "× ULN" -> "×ULN"
    (re.compile(r"(?:^|(?<=[\s\d]))[xX*×]\s*ULN\b"), "×ULN"),
    # micro: "umol/L", "ug", "uL", "uIU/mL", "mcg" -> µ (the micro sign U+00B5)
    (re.compile(r"(?<![A-Za-z])[uμ](?=(?:mol|g|L|l|IU|kat)\b)"), "µ"),
    (re.compile(r"(?<![A-Za-z])mc(?=g\b)"), "µ"),
    # litre is a capital L: "ml/min" -> "mL/min", "mmol/l" -> "mmol/L"
    (re.compile(r"(?<=[mµdpn/])l\b"), "L"),
    (re.compile(r"(?<![A-Za-z0-9^])l(?=/)"), "L"),
    # square and cubic metres: "mg/m2" -> "mg/m²", "mm2" -> "mm²"
    (
        re.compile(r"(?<![A-Za-z])(mm|cm|m)([23])(?![0-9])"),
        lambda m: m[1] + m[2].translate(_SUPERSCRIPT),
    ),
)


def format_unit(unit) -> str:
    """A unit or comparator as it is written in print: "10⁹/L", "µmol/L", "×ULN", "≥"."""
    if unit is None:
        return ""
    text = str(unit).strip()
    for pattern, replacement in _UNIT_RULES:
        text = pattern.sub(replacement, text)
    return text


# The rules safe inside a sentence: no word of prose looks like "10^9", "umol" or ">=".
_TEXT_RULES = tuple(_UNIT_RULES[i] for i in (0, 1, 3, 5))  # "× ULN" stays spaced


def format_units_in_text(text) -> str:
    """Units and comparators inside a sentence written as in print ("Hb 120 g/L; ANC 3.1
    10^9/L >= 1.5" -> "... 10⁹/L ≥ 1.5"), for reasons the rules word with plain units."""
    if text is None:
        return ""
    text = str(text)
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


@register.filter
def units_in_text(text) -> str:
    """``{{ reason|units_in_text }}``: the units and comparators of a sentence as printed."""
    return format_units_in_text(text)


@register.filter(is_safe=True)
def num(value, places=MAX_PLACES) -> str:
    """``{{ value|num }}``: 3.500 -> "3.5", 12 -> "12", -4 -> "−4"; ``|num:1`` for one place."""
    return format_number(value, places)


@register.filter(is_safe=True)
def signed_pct(value, places=PCT_PLACES) -> str:
    """``{{ pct|signed_pct }}``: 25.666 -> "+25.67 %", -30 -> "−30.00 %" (no-break space)."""
    return format_signed_pct(value, places)


@register.filter
def unit_label(unit) -> str:
    """``{{ unit|unit_label }}``: "10^9/L" -> "10⁹/L", "umol/L" -> "µmol/L", ">=" -> "≥"."""
    return format_unit(unit)


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal that cannot end the ``<style>`` element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ")
    return '"' + escaped + '"'


@register.simple_tag
def pdf_page_counter() -> str:
    """The CSS ``content`` of a PDF's page counter in the page's language ("page 2 of 5",
    "第 2 页，共 5 页"): the translated sentence cut around its two placeholders, which
    become ``counter(page)`` and ``counter(pages)``. For a ``@page`` margin box, whose text
    CSS writes and ``{% translate %}`` cannot reach by itself."""
    from django.utils.html import mark_safe
    from django.utils.translation import gettext

    marker = "\x00"
    sentence = gettext("page %(page)s of %(pages)s") % {"page": marker + "1", "pages": marker + "2"}
    parts = []
    for i, chunk in enumerate(sentence.split(marker)):
        if i:
            parts.append("counter(page)" if chunk[0] == "1" else "counter(pages)")
            chunk = chunk[1:]
        if chunk:
            parts.append(_css_string(chunk))
    return mark_safe(" ".join(parts))  # noqa: S308 -- CSS strings escaped by _css_string


# --- choice labels ---------------------------------------------------------------------------


@functools.cache
def _choice_labels(model: type, field_name: str, language: str | None) -> dict:
    field = model._meta.get_field(field_name)
    return {value: str(label) for value, label in field.flatchoices}


@register.filter
def label(obj, field_name: str) -> str:
    """``{{ s|label:"status" }}``: what ``s.get_status_display`` says, from a table built
    once per model field and language.

    ``get_FOO_display`` rebuilds the field's choices dict and translates its label on every
    call (~0.1 ms): on a list of 50 rows with two such columns that was most of the page's
    time (issue 12 goal 3). A value outside the choices shows as itself, as Django does."""
    value = getattr(obj, field_name)
    return _choice_labels(type(obj), field_name, get_language()).get(value, value)
